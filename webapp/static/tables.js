// A table wider than the screen scrolls inside itself (app.css); make that scrolling box
// reachable by keyboard, as WCAG asks of scrollable regions. Without JavaScript the table
// still scrolls by touch and mouse.
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll("main table:not(.stacked), main .table-scroll").forEach(function (el) {
      if (el.matches(".table-scroll table")) { return; }  // its wrapper scrolls, not it
      var scrolls = el.scrollWidth > el.clientWidth + 1;
      if (scrolls && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("data-scroll-focus", "");
        if (el.tagName !== "TABLE") {
          var caption = el.querySelector("caption");
          el.setAttribute("role", "region");
          el.setAttribute("aria-label", caption ? caption.textContent.trim() : document.title);
        }
      } else if (!scrolls && el.hasAttribute("data-scroll-focus")) {
        el.removeAttribute("tabindex");
        el.removeAttribute("data-scroll-focus");
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mark);
  } else {
    mark();
  }
  window.addEventListener("resize", mark);
})();
