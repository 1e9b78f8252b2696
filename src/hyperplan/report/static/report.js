/* The HTML report's behaviour: draw the charts once the page is laid out, keep each chart as
 * wide as its box (window resize, a grid that goes from one column to two, printing), and open
 * the collapsed tables for printing.
 *
 * Each chart's own inline script calls hpReport.chart(plotId, draw) while the page is parsed;
 * the draws wait for DOMContentLoaded, when every box exists and the two-column grids hold both
 * of their charts. Drawn earlier, the first chart of a grid took the width of the whole row and
 * overflowed into its neighbour (issue 13: 4 of 8 quarters visible). */
(function () {
  'use strict';
  var queue = [];
  var ready = false;

  function plots() {
    return Array.prototype.slice.call(document.querySelectorAll('.hp-chart .js-plotly-plot'));
  }

  /* Redraw a plot at its box's width when they differ by a pixel or more. */
  function fit(gd) {
    var layout = gd && gd._fullLayout;
    if (!window.Plotly || !layout) { return; }
    var width = gd.getBoundingClientRect().width;
    if (width > 0 && Math.abs(layout.width - width) >= 1) { window.Plotly.Plots.resize(gd); }
  }

  function fitAll() { plots().forEach(fit); }

  var pending = false;
  /* One refit per animation frame, however many boxes changed (no ResizeObserver loop). */
  function schedule() {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; fitAll(); });
  }

  var observer = window.ResizeObserver ? new window.ResizeObserver(schedule) : null;

  function draw(item) {
    var gd = document.getElementById(item.id);
    if (!gd) { return; }
    item.draw(gd);
    if (observer) { observer.observe(gd.parentNode); }
  }

  function drawAll() {
    ready = true;
    queue.splice(0).forEach(draw);
    schedule();  // a box that changed while the others were drawn
  }

  window.hpReport = {
    /* Queue the draw of plot ``id`` (``draw(gd)`` calls Plotly) until the page is laid out. */
    chart: function (id, drawFn) {
      var item = {id: id, draw: drawFn};
      if (ready) { draw(item); } else { queue.push(item); }
    }
  };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', drawAll);
  } else {
    window.setTimeout(drawAll, 0);
  }
  window.addEventListener('resize', schedule);

  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('details').forEach(function (d) { d.setAttribute('data-was-open', d.open ? '1' : '0'); d.open = true; });
    plots().forEach(function (d) { if (window.Plotly) { window.Plotly.Plots.resize(d); } });
  });
  window.addEventListener('afterprint', function () {
    document.querySelectorAll('details').forEach(function (d) { d.open = d.getAttribute('data-was-open') === '1'; });
    plots().forEach(function (d) { if (window.Plotly) { window.Plotly.Plots.resize(d); } });
  });
  document.addEventListener('toggle', function () { schedule(); }, true);
})();
