/* Studio version diff: draws the old and the new version side by side (bpmn-js
 * NavigatedViewer from web/static/vendor/) and marks what was removed and changed on the
 * old one, what was added and changed on the new one. Without it, the table says it all. */
(function () {
  'use strict';

  var root = document.getElementById('diff-diagrams');
  if (!root || typeof window.BpmnJS !== 'function' || !window.fetch) { return; }
  var markers = JSON.parse(root.getAttribute('data-markers') || '{}');
  var T = JSON.parse(root.getAttribute('data-i18n') || '{}');
  var views = root.querySelector('.diff-views');
  views.hidden = false;

  var shown = { old: ['removed', 'changed'], 'new': ['added', 'changed'] };

  function draw(canvasEl, url, side) {
    var viewer = new window.BpmnJS({ container: canvasEl });
    return fetch(url, { credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get('canvas');
        var overlays = viewer.get('overlays');
        var registry = viewer.get('elementRegistry');
        canvas.zoom('fit-viewport');
        Object.keys(markers).forEach(function (id) {
          var status = markers[id];
          if (shown[side].indexOf(status) < 0 || !registry.get(id)) { return; }
          canvas.addMarker(id, 'ot-diff-' + status);
          if (registry.get(id).waypoints) { return; }
          var badge = document.createElement('span');
          badge.className = 'ot-diff-badge ' + status;
          badge.textContent = T[status] || status;
          overlays.add(id, 'ot-diff', { position: { top: -12, left: 0 }, html: badge });
        });
        canvasEl.setAttribute('data-drawn', 'true');
      })
      .catch(function () {
        canvasEl.textContent = T.failed || 'failed';
      });
  }

  Array.prototype.forEach.call(root.querySelectorAll('.diff-canvas'), function (el) {
    var side = el.getAttribute('data-side');
    draw(el, root.getAttribute(side === 'old' ? 'data-old-url' : 'data-new-url'), side);
  });
}());
