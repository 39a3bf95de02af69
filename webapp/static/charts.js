// Draws every Plotly figure on the page from its JSON data block (no inline script: strict CSP).
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll(".plotly-chart[data-figure-id]").forEach(function (el) {
      var data = document.getElementById(el.getAttribute("data-figure-id"));
      if (!data || !window.Plotly) { return; }
      var fig = JSON.parse(data.textContent);
      // The server's configuration (reports.figures.chart_config): no mode bar, the page's
      // language; the defaults below only if a figure comes without one.
      var config = fig.config || {responsive: true, displaylogo: false, displayModeBar: false};
      window.Plotly.newPlot(el, fig.data, fig.layout, config)
        .then(function () {
          el.setAttribute("data-drawn", "true");
          // A mark whose customdata is a page of this site (a scorecard) opens it on click.
          el.on("plotly_click", function (event) {
            var url = event && event.points && event.points[0] && event.points[0].customdata;
            if (Array.isArray(url)) { url = url[0]; }
            if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
              window.location.assign(url);
            }
          });
        });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
