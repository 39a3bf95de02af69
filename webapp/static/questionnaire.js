// Progressive enhancement for the questionnaire: questions show and hide as answers change.
// The page works without this script (the server re-evaluates relevance on every save).
// Relevance trees come from rubrics.relevance.parse_relevance (see its docstring for the format).
(function () {
  "use strict";
  var form = document.querySelector("form.questionnaire");
  if (!form) { return; }
  var trees = JSON.parse(form.getAttribute("data-relevance") || "{}");
  var stored = JSON.parse(form.getAttribute("data-values") || "{}");
  var MISSING = { "__na__": true, "__dk__": true };
  // Tells the server that questions showed and hid live, so it need not stop on a page whose
  // answers make more questions apply (which it does for browsers without this script).
  var js = form.querySelector("input[name='js']");
  if (js) { js.value = "1"; }

  function valueOf(id) {
    var inputs = form.querySelectorAll("[name='q_" + CSS.escape(id) + "']");
    var box = document.getElementById("q-" + id);
    if (box && box.hidden) { return null; }
    if (!inputs.length) {
      // An evidence question is answered by its files: those attached, or those just chosen.
      var files = form.querySelector("input[type=file][name='f_" + CSS.escape(id) + "']");
      if (files && files.files && files.files.length) {
        return Array.prototype.map.call(files.files, function (f) { return f.name; });
      }
      return stored[id] === undefined ? null : stored[id];
    }
    var first = inputs[0];
    if (first.type === "radio") {
      var checked = form.querySelector("[name='q_" + CSS.escape(id) + "']:checked");
      // "Not applicable" and "don't know" read as blank, as on the server.
      return checked && !MISSING[checked.value] ? checked.value : null;
    }
    if (first.type === "checkbox") {
      return Array.prototype.filter.call(inputs, function (i) { return i.checked; })
        .map(function (i) { return i.value; });
    }
    return first.value === "" ? null : first.value;
  }

  function num(v) {
    if (v === null || v === "" || Array.isArray(v)) { return NaN; }
    return Number(v);
  }

  function evaluate(node) {
    var op = node[0];
    switch (op) {
      case "num": return Number(node[1]);
      case "str": return String(node[1]);
      case "ref": return valueOf(node[1]);
      case "and": return truthy(evaluate(node[1])) && truthy(evaluate(node[2]));
      case "or": return truthy(evaluate(node[1])) || truthy(evaluate(node[2]));
      case "not": return !truthy(evaluate(node[1]));
      case "neg": return -num(evaluate(node[1]));
      case "cmp": return compare(node[1], evaluate(node[2]), evaluate(node[3]));
      case "arith": {
        var a = num(evaluate(node[2])), b = num(evaluate(node[3]));
        switch (node[1]) {
          case "+": return a + b;
          case "-": return a - b;
          case "*": return a * b;
          case "div": return a / b;
          case "mod": return a % b;
        }
        return NaN;
      }
      case "call": return call(node[1], node.slice(2));
    }
    throw new Error("unknown relevance node " + op);
  }

  function call(name, args) {
    switch (name) {
      case "true": return true;
      case "false": return false;
      case "not": return !truthy(evaluate(args[0]));
      case "selected": {
        var v = evaluate(args[0]);
        var opt = String(evaluate(args[1]));
        return Array.isArray(v) ? v.indexOf(opt) >= 0 : v !== null && String(v) === opt;
      }
      case "count-selected": {
        var s = evaluate(args[0]);
        return Array.isArray(s) ? s.length : (blank(s) ? 0 : 1);
      }
    }
    throw new Error("unknown function " + name);
  }

  function truthy(v) {
    if (Array.isArray(v)) { return v.length > 0; }
    if (typeof v === "number") { return !isNaN(v) && v !== 0; }
    return v !== null && v !== "" && v !== false;
  }

  function blank(v) { return v === null || v === "" || (Array.isArray(v) && v.length === 0); }

  function compare(op, left, right) {
    if (op === "=" || op === "==" || op === "!=") {
      var equal;
      if (Array.isArray(left)) { left = left.slice().sort().join(" "); }
      if (Array.isArray(right)) { right = right.slice().sort().join(" "); }
      if (blank(left) || blank(right)) {
        equal = blank(left) && blank(right);
      } else if (!isNaN(num(left)) && !isNaN(num(right))) {
        equal = num(left) === num(right);
      } else {
        equal = String(left) === String(right);
      }
      return op === "!=" ? !equal : equal;
    }
    var a = num(left), b = num(right);
    if (isNaN(a) || isNaN(b)) {
      // Two texts are ordered only for dates (YYYY-MM-DD, the one kind of text the server lets
      // a rubric order), which sort as text; anything else compares false, like NaN.
      if (typeof left !== "string" || typeof right !== "string" || blank(left) || blank(right)) {
        return false;
      }
      a = left;
      b = right;
    }
    switch (op) {
      case "<": return a < b;
      case "<=": return a <= b;
      case ">": return a > b;
      case ">=": return a >= b;
    }
    return false;
  }

  function update() {
    // Relevance can chain: repeat until nothing changes (a hidden question counts as blank).
    for (var pass = 0; pass < 10; pass++) {
      var changed = false;
      Object.keys(trees).forEach(function (id) {
        var box = document.getElementById("q-" + id);
        if (!box) { return; }
        var show;
        try { show = truthy(evaluate(trees[id])); } catch (e) { show = true; }
        if (box.hidden === show) { box.hidden = !show; changed = true; }
      });
      if (!changed) { break; }
    }
  }

  // Files over the size limit are refused before the page is sent (the server checks again):
  // a request over the limit could not be saved at all.
  function checkFiles(input) {
    var limit = Number(input.getAttribute("data-max-bytes") || "0");
    var box = input.parentNode.querySelector(".file-error");
    var big = Array.prototype.filter.call(input.files || [], function (f) {
      return limit && f.size > limit;
    });
    if (box) {
      box.hidden = big.length === 0;
      box.textContent = big.map(function (f) {
        return (input.getAttribute("data-too-large") || "").replace("{name}", f.name);
      }).join(" ");
    }
    if (big.length) { input.value = ""; }
  }

  form.addEventListener("change", function (event) {
    if (event.target.type === "file") { checkFiles(event.target); }
    update();
  });
  form.addEventListener("input", update);
  update();
  var summary = document.getElementById("error-summary") ||
    document.getElementById("conflict-summary");
  if (summary) { summary.focus(); }
})();
