/* The console's progressive enhancement (no library): follow a running job, read an uploaded
 * scenario into the editor, jump to a located problem's line, explain the key under the caret
 * (from the scenario's JSON Schema), draw the plotly figures whose
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

  /* The key on the caret's line, explained from the scenario's JSON Schema (every model that has
   * a field of that name: its description, unit and an example). */
  function hints(area) {
    var src = document.getElementById(area.getAttribute('data-hints'));
    var out = document.getElementById('field-hint');
    if (!src || !out) { return; }
    var table = JSON.parse(src.textContent);
    var shown = null;
    function show() {
      var before = area.value.slice(0, area.selectionStart);
      var start = before.lastIndexOf('\n') + 1;
      var end = area.value.indexOf('\n', start);
      var line = area.value.slice(start, end < 0 ? area.value.length : end);
      var m = /^\s*(?:-\s+)?\{?\s*([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(line);
      var key = m ? m[1] : null;
      if (key === shown) { return; }
      shown = key;
      var found = key && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : null;
      if (!found) { out.textContent = key ? key + ': not a field of the scenario language' : ''; return; }
      out.textContent = found.map(function (h) {
        return h.model + '.' + key + ': ' + h.description +
          (h.unit ? ' [' + h.unit + ']' : '') + (h.example ? '; e.g. ' + h.example : '');
      }).join(' | ');
    }
    ['keyup', 'click', 'focus', 'input'].forEach(function (ev) { area.addEventListener(ev, show); });
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
    document.querySelectorAll('textarea[data-hints]').forEach(hints);
    document.querySelectorAll('[data-figure]').forEach(draw);
  }

  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); }
  else { start(); }
})();
