// Draws every Plotly figure on the page from its JSON data block (no inline script: strict CSP).
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll(".plotly-chart[data-figure-id]").forEach(function (el) {
      var data = document.getElementById(el.getAttribute("data-figure-id"));
      if (!data || !window.Plotly) { return; }
      var fig = JSON.parse(data.textContent);
      window.Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false})
        .then(function () { el.setAttribute("data-drawn", "true"); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
