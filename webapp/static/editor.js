// The rubric editor, enhanced. Without this script every action still works: a removal's link
// opens its confirmation page (rubrics/templates/rubrics/confirm_remove.html). With it:
// - leaving the page with unsaved changes asks first;
// - a removal's confirmation opens in a <dialog> over the editor, read from that same page
//   (the same words, counts and form: the POST and its CSRF token are the page's).
(function () {
  "use strict";
  var form = document.getElementById("rubric-editor");
  if (!form) { return; }
  var changed = false;
  form.addEventListener("input", function () { changed = true; });
  form.addEventListener("submit", function () { changed = false; });
  window.addEventListener("beforeunload", function (event) {
    if (changed) { event.preventDefault(); event.returnValue = ""; }
  });
  if (typeof HTMLDialogElement !== "function" || !window.fetch || !window.DOMParser) { return; }

  function confirmIn(dialog, link, page) {
    var title = page.querySelector("main h1");
    var parts = page.querySelectorAll("main .confirm-box, main .error-summary, main form.confirm-actions, main p > a.button");
    if (!title || !parts.length) { return false; }
    var heading = document.createElement("h2");
    heading.id = "confirm-dialog-title";
    heading.textContent = title.textContent;
    dialog.replaceChildren(heading);
    parts.forEach(function (part) { dialog.appendChild(document.importNode(part, true)); });
    var confirm = dialog.querySelector("form.confirm-actions");
    if (confirm) { confirm.setAttribute("action", link.href); }
    dialog.querySelectorAll("a.button").forEach(function (back) {
      back.setAttribute("autofocus", "");  // the safe choice has the focus first
      back.addEventListener("click", function (event) { event.preventDefault(); dialog.close(); });
    });
    return true;
  }

  var dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
  document.body.appendChild(dialog);
  dialog.addEventListener("close", function () {
    if (dialog.opener) { dialog.opener.focus(); }
  });

  form.querySelectorAll("a.button.danger").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      fetch(link.href, {credentials: "same-origin"})
        .then(function (response) { return response.text(); })
        .then(function (text) {
          var page = new DOMParser().parseFromString(text, "text/html");
          if (!confirmIn(dialog, link, page)) { window.location.href = link.href; return; }
          dialog.opener = link;
          dialog.showModal();
        })
        .catch(function () { window.location.href = link.href; });
    });
  });
})();
