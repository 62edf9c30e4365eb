/* Draws each <figure class="chart" data-chart="bar|line"> with Chart.js, from the table in it.
 *
 * The table is the chart's data and stays in the page: screen readers read it, and the
 * print stylesheet prints it. Once the chart is drawn, the figure gets the class
 * "chart--drawn", which hides the table on screen only (visually; not from screen
 * readers). Without JavaScript, or if drawing fails, the table simply stays visible.
 * No inline script or style: the page's Content-Security-Policy allows neither.
 */
(function () {
  "use strict";
  if (typeof window.Chart !== "function") {
    return;
  }
  var palette = ["#1d4ed8", "#b91c1c", "#b45309", "#047857", "#6d28d9"];
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  window.Chart.defaults.color = "#1f2933";

  function number(text) {
    var value = parseFloat(String(text).replace(/[^0-9.-]/g, ""));
    return isNaN(value) ? 0 : value;
  }

  function readTable(table) {
    var series = [];
    var headers = table.querySelectorAll("thead th");
    for (var i = 1; i < headers.length; i += 1) {
      series.push({ label: headers[i].textContent.trim(), data: [] });
    }
    var labels = [];
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var cells = row.querySelectorAll("th, td");
      labels.push(cells[0].textContent.trim());
      for (var j = 1; j < cells.length; j += 1) {
        series[j - 1].data.push(number(cells[j].textContent));
      }
    });
    return { labels: labels, series: series };
  }

  document.querySelectorAll("figure.chart[data-chart]").forEach(function (figure) {
    var table = figure.querySelector("table");
    var canvas = figure.querySelector("canvas");
    if (!table || !canvas) {
      return;
    }
    var data = readTable(table);
    var type = figure.getAttribute("data-chart");
    try {
      new window.Chart(canvas, {
        type: type,
        data: {
          labels: data.labels,
          datasets: data.series.map(function (serie, index) {
            var colour = palette[index % palette.length];
            return {
              label: serie.label,
              data: serie.data,
              backgroundColor: type === "line" ? colour : colour + "cc",
              borderColor: colour,
              borderWidth: 2,
              tension: 0
            };
          })
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: reduceMotion ? false : { duration: 300 },
          plugins: { legend: { display: data.series.length > 1, position: "bottom" } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
      figure.classList.add("chart--drawn");
    } catch (error) {
      figure.classList.remove("chart--drawn");
    }
  });
}());
