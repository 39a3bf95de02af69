// The rubric editor, enhanced: a warning before leaving with unsaved changes. The editor works
// without it (every action is a link or a form), see rubrics/templates/rubrics/edit.html.
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
})();
