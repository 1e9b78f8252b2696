/* The console's progressive enhancement (no library): follow a running job, read an uploaded
 * scenario into the editor, jump to a located problem's line, draw the plotly figures whose
 * JSON sits in <script type="application/json"> elements. Every page works without it. */
(function () {
  'use strict';

  /* Poll a job's status every second; update the phase and the bar; reload once it ends. */
  function follow(box) {
    var url = box.getAttribute('data-poll');
    var stateEl = document.getElementById('job-state');
    var phaseEl = document.getElementById('job-phase');
    var bar = document.getElementById('job-progress');
    var delay = 1000;
    function tick() {
      window.fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
        .then(function (r) {
          if (r.status === 401) { window.location.reload(); return null; }
          return r.ok ? r.json() : null;
        })
        .then(function (job) {
          if (!job) { delay = Math.min(delay * 2, 10000); window.setTimeout(tick, delay); return; }
          delay = 1000;
          if (stateEl) { stateEl.textContent = job.state; stateEl.className = 'state ' + job.state; }
          if (phaseEl && phaseEl.textContent !== job.text) { phaseEl.textContent = job.text; }
          if (bar) {
            if (job.max === null) { bar.removeAttribute('value'); }
            else { bar.max = job.max; bar.value = job.value; }
          }
          if (job.state === 'queued' || job.state === 'running') { window.setTimeout(tick, delay); }
          else { window.location.reload(); }
        })
        .catch(function () { delay = Math.min(delay * 2, 10000); window.setTimeout(tick, delay); });
    }
    window.setTimeout(tick, delay);
  }

  /* <input type=file data-into=ID data-name=ID>: the file's text into the textarea. */
  function upload(input) {
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      if (!file) { return; }
      var reader = new window.FileReader();
      reader.onload = function () {
        var area = document.getElementById(input.getAttribute('data-into'));
        var name = document.getElementById(input.getAttribute('data-name'));
        if (area) { area.value = String(reader.result); }
        if (name) { name.value = file.name; }
        if (area) { area.focus(); }
      };
      reader.readAsText(file);
    });
  }

  /* A problem's link also puts the editor's caret on its line. */
  function jump(link) {
    link.addEventListener('click', function () {
      var area = document.getElementById('scenario');
      var line = parseInt(link.getAttribute('data-line'), 10);
      if (!area || !(line > 0)) { return; }
      var lines = area.value.split('\n');
      var start = 0;
      for (var i = 0; i < line - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
      var end = start + (lines[line - 1] || '').length;
      area.setSelectionRange(start, end);
      var height = area.scrollHeight / Math.max(lines.length, 1);
      area.scrollTop = Math.max(0, (line - 4) * height);
    });
  }

  function draw(box) {
    var src = document.getElementById(box.getAttribute('data-figure'));
    if (!src || !window.Plotly) { return; }
    var fig = JSON.parse(src.textContent);
    var layout = fig.layout || {};
    layout.autosize = true;
    delete layout.width;
    window.Plotly.newPlot(box, fig.data || [], layout,
      {responsive: true, displaylogo: false, modeBarButtonsToRemove: ['sendDataToCloud']});
  }

  function start() {
    document.querySelectorAll('[data-poll]').forEach(follow);
    document.querySelectorAll('input[type=file][data-into]').forEach(upload);
    document.querySelectorAll('a[data-line]').forEach(jump);
    document.querySelectorAll('[data-figure]').forEach(draw);
  }

  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); }
  else { start(); }
})();
