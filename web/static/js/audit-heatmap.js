/* Auditor's analytics: the diagram of a process (bpmn-js NavigatedViewer, vendored) with
 * every element coloured by its average duration (five bands from the shortest to the
 * longest average) and a badge with how often it was done. The numbers come from the
 * page (engine/analytics.py); the table below the diagram holds the same figures. */
(function () {
  'use strict';

  var canvasEl = document.getElementById('heat-canvas');
  var dataEl = document.getElementById('heat-data');
  if (!canvasEl || !dataEl || typeof window.BpmnJS !== 'function' || !window.fetch) { return; }
  var T = JSON.parse(canvasEl.getAttribute('data-i18n') || '{}');
  var stats = JSON.parse(dataEl.textContent || '{}');
  Array.prototype.forEach.call(document.querySelectorAll('.js-hide'), function (el) { el.hidden = true; });

  function band(value, low, high) {
    if (high <= low) { return 2; }
    return Math.max(0, Math.min(4, Math.floor((value - low) / (high - low) * 5)));
  }

  canvasEl.hidden = false; // the viewer measures its container when it is created
  var viewer = new window.BpmnJS({ container: canvasEl });
  fetch(canvasEl.getAttribute('data-xml-url'), { credentials: 'same-origin' })
    .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
    .then(function (xml) { canvasEl.hidden = false; return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get('canvas');
      var registry = viewer.get('elementRegistry');
      var overlays = viewer.get('overlays');
      canvas.zoom('fit-viewport', 'auto');
      var box = canvas.viewbox();
      if (box.scale < 0.65) { // a tall one-thing: legible from the top, centred
        var w = box.outer.width / 0.65;
        canvas.viewbox({ x: box.inner.x + box.inner.width / 2 - w / 2, y: box.inner.y - 10,
                         width: w, height: box.outer.height / 0.65 });
      }
      var values = Object.keys(stats).map(function (id) { return stats[id].avg_hours; })
        .filter(function (v) { return v !== null && v !== undefined; });
      var low = Math.min.apply(null, values.concat([0]));
      var high = Math.max.apply(null, values.concat([0]));
      Object.keys(stats).forEach(function (id) {
        var s = stats[id];
        if (!registry.get(id)) { return; }
        if (s.avg_hours !== null && s.avg_hours !== undefined) {
          var b = band(s.avg_hours, low, high);
          canvas.addMarker(id, 'heat-' + b);
          var gfx = registry.getGraphics(id);
          if (gfx) { gfx.setAttribute('data-heat', String(b)); }
        }
        var badge = document.createElement('span');
        badge.className = 'heat-badge';
        badge.textContent = (s.avg_hours === null || s.avg_hours === undefined ? '—' : s.avg_hours.toFixed(1) + 'h') +
          ' · ' + s.completed + ' ' + T.times;
        badge.title = (s.name || id) + ': ' + T.hours + ' ' + (s.avg_hours === null ? '—' : s.avg_hours) +
          ', ' + s.completed + T.times + (s.open ? ', ' + T.open + ' ' + s.open : '');
        overlays.add(id, 'heat', { position: { bottom: 12, left: 0 }, html: badge });
      });
    })
    .catch(function () {
      canvasEl.hidden = true;
      var p = document.createElement('p');
      p.className = 'muted';
      p.textContent = T.failed;
      canvasEl.parentNode.insertBefore(p, canvasEl);
    });
}());
