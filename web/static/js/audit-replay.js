/* Auditor's step-through replay: draws the pinned diagram of the selected process with
 * bpmn-js (NavigatedViewer, vendored by `make assets`) and marks the elements completed,
 * active and waiting as of the chosen event, with token counts on parallel branches.
 * Stepping (buttons, ← →, the event list) fetches /audit/cases/<id>/state.json?seq=N.
 * Without this script the page works through plain links and shows the marks as lists. */
(function () {
  'use strict';

  var root = document.getElementById('replay');
  if (!root) { return; }
  var T = JSON.parse(root.getAttribute('data-i18n') || '{}');
  var total = parseInt(root.getAttribute('data-total'), 10) || 0;
  var seq = parseInt(root.getAttribute('data-seq'), 10) || 0;
  var current = root.getAttribute('data-process');
  var state = JSON.parse(document.getElementById('replay-state').textContent);
  var canvasEl = root.querySelector('.replay-canvas');
  var back = document.getElementById('step-back');
  var forward = document.getElementById('step-forward');
  var viewer = null;
  var xmlCache = {};

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function processState(key) {
    return state.processes.filter(function (p) { return p.key === key; })[0] || null;
  }

  function fetchText(url, accept) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: accept } })
      .then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return accept === 'application/json' ? r.json() : r.text();
      });
  }

  function xmlOf(key) {
    if (!xmlCache[key]) {
      xmlCache[key] = fetchText(root.getAttribute('data-xml-url') + '?process=' +
                                encodeURIComponent(key), 'application/xml');
    }
    return xmlCache[key];
  }

  // -- marks on the diagram ------------------------------------------------------------

  var MARKERS = ['ot-completed', 'ot-active', 'ot-waiting'];

  function clearMarks() {
    var canvas = viewer.get('canvas');
    var overlays = viewer.get('overlays');
    viewer.get('elementRegistry').forEach(function (element) {
      MARKERS.forEach(function (m) { canvas.removeMarker(element.id, m); });
      var gfx = viewer.get('elementRegistry').getGraphics(element.id);
      if (gfx) { gfx.removeAttribute('data-replay'); }
    });
    overlays.remove({ type: 'ot-token' });
  }

  function mark(ids, marker, registry, canvas) {
    ids.forEach(function (id) {
      if (!registry.get(id)) { return; }
      MARKERS.forEach(function (m) { canvas.removeMarker(id, m); });
      canvas.addMarker(id, marker);
      var gfx = registry.getGraphics(id);
      if (gfx) { gfx.setAttribute('data-replay', marker.slice(3)); }
    });
  }

  function applyMarks() {
    if (!viewer) { return; }
    var p = processState(current);
    clearMarks();
    if (!p) { return; }
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var overlays = viewer.get('overlays');
    mark(p.completed, 'ot-completed', registry, canvas);
    mark(p.waiting, 'ot-waiting', registry, canvas);
    mark(p.active, 'ot-active', registry, canvas);
    Object.keys(p.tokens || {}).forEach(function (id) {
      if (!registry.get(id) || !p.tokens[id]) { return; }
      var badge = el('span', String(p.tokens[id]), 'ot-token');
      badge.title = T.tokens + ' ' + p.tokens[id];
      overlays.add(id, 'ot-token', { position: { bottom: 8, left: -8 }, html: badge });
    });
  }

  // The whole diagram if it is legible that way; else (a tall one-thing) a legible
  // scale from the top, centred: the mouse wheel and dragging move around it.
  var MIN_SCALE = 0.65;
  function fit() {
    var canvas = viewer.get('canvas');
    canvas.zoom('fit-viewport', 'auto');
    var box = canvas.viewbox();
    if (box.scale >= MIN_SCALE) { return; }
    var inner = box.inner;
    var width = box.outer.width / MIN_SCALE;
    var height = box.outer.height / MIN_SCALE;
    canvas.viewbox({ x: inner.x + inner.width / 2 - width / 2, y: inner.y - 10,
                     width: width, height: height });
  }

  function draw(key) {
    current = key;
    root.setAttribute('data-process', key);
    var mine = xmlOf(key).then(function (xml) {
      if (current !== key) { return; }
      return viewer.importXML(xml).then(function () {
        if (current !== key) { return; }
        canvasEl.hidden = false;
        fit();
        applyMarks();
      });
    }).catch(function (error) {
      if (window.console) { window.console.error(error); }
      if (current !== key) { return; }
      canvasEl.hidden = true;
      canvasEl.parentNode.insertBefore(el('p', T.failed, 'muted'), canvasEl);
    });
    return mine;
  }

  // -- the rest of the page --------------------------------------------------------------

  function renderLists() {
    Array.prototype.forEach.call(document.querySelectorAll('.process-marks'), function (box) {
      var key = box.getAttribute('data-process');
      box.hidden = key !== current;
      var p = processState(key);
      if (!p) { return; }
      [['active', p.active], ['waiting', p.waiting], ['completed', p.completed]].forEach(function (pair) {
        var dd = box.querySelector('.marks-' + pair[0]);
        if (!dd) { return; }
        dd.textContent = '';
        if (!pair[1].length) { dd.textContent = T.none; return; }
        pair[1].forEach(function (id) {
          var code = el('code', id);
          code.setAttribute('data-element', id);
          dd.appendChild(code);
          var n = (p.tokens || {})[id];
          dd.appendChild(document.createTextNode((n > 1 ? '×' + n : '') + ' '));
        });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll('.process-tabs a'), function (a) {
      var key = a.getAttribute('data-process');
      if (key === current) { a.setAttribute('aria-current', 'page'); } else { a.removeAttribute('aria-current'); }
      var p = processState(key);
      var count = a.querySelector('.count');
      if (p && p.active.length) {
        if (!count) { count = el('span', '', 'count'); a.appendChild(document.createTextNode(' ')); a.appendChild(count); }
        count.textContent = String(p.active.length);
      } else if (count) { count.parentNode.removeChild(count); }
    });
  }

  function renderData() {
    var body = document.getElementById('replay-data');
    body.textContent = '';
    if (!state.data.length) {
      var empty = el('tr');
      var td = el('td', T.none, 'muted');
      td.colSpan = 2;
      empty.appendChild(td);
      body.appendChild(empty);
      return;
    }
    state.data.forEach(function (row) {
      var tr = el('tr');
      tr.setAttribute('data-field', row.id);
      tr.appendChild(el('th', row.label));
      tr.appendChild(el('td', row.value));
      body.appendChild(tr);
    });
  }

  function renderPosition() {
    document.getElementById('replay-seq').textContent = String(seq);
    document.getElementById('replay-at').textContent = state.at || '';
    document.getElementById('reexecute-seq').value = String(seq);
    root.setAttribute('data-seq', String(seq));
    back.setAttribute('aria-disabled', seq <= 0 ? 'true' : 'false');
    forward.setAttribute('aria-disabled', seq >= total ? 'true' : 'false');
    Array.prototype.forEach.call(document.querySelectorAll('.replay-events li'), function (li) {
      if (parseInt(li.getAttribute('data-seq'), 10) === seq) {
        li.setAttribute('aria-current', 'step');
        if (li.scrollIntoView) { li.scrollIntoView({ block: 'nearest' }); }
      } else {
        li.removeAttribute('aria-current');
      }
    });
    if (window.history && window.history.replaceState) {
      var url = new URL(window.location.href);
      url.searchParams.set('seq', String(seq));
      url.searchParams.set('process', current);
      window.history.replaceState(null, '', url.toString());
    }
  }

  // Where the auditor wants to be: moves at once with every key press, so pressing ←
  // five times goes back five events even while the first answer is still on its way.
  var wanted = seq;

  function go(target) {
    target = Math.max(0, Math.min(total, target));
    wanted = target;
    var url = root.getAttribute('data-state-url') + '?seq=' + target;
    root.setAttribute('aria-busy', 'true');
    return fetchText(url, 'application/json').then(function (data) {
      if (data.seq !== wanted) { return; } // a later step is on its way
      state = data;
      seq = data.seq;
      renderPosition();
      renderLists();
      renderData();
      applyMarks();
      root.removeAttribute('aria-busy');
    }).catch(function () {
      window.location.href = back.href.replace(/seq=\d+/, 'seq=' + target);
    });
  }

  if (typeof window.BpmnJS !== 'function' || !window.fetch) { return; }
  canvasEl.hidden = false; // the viewer measures its container when it is created
  viewer = new window.BpmnJS({ container: canvasEl });

  back.addEventListener('click', function (e) { e.preventDefault(); if (wanted > 0) { go(wanted - 1); } });
  forward.addEventListener('click', function (e) { e.preventDefault(); if (wanted < total) { go(wanted + 1); } });
  document.addEventListener('keydown', function (e) {
    var tag = (e.target && e.target.tagName) || '';
    if (/INPUT|TEXTAREA|SELECT/.test(tag) || e.altKey || e.ctrlKey || e.metaKey) { return; }
    if (e.key === 'ArrowLeft' && wanted > 0) { e.preventDefault(); go(wanted - 1); }
    if (e.key === 'ArrowRight' && wanted < total) { e.preventDefault(); go(wanted + 1); }
  });
  Array.prototype.forEach.call(document.querySelectorAll('.replay-events li a'), function (a) {
    a.addEventListener('click', function (e) {
      e.preventDefault();
      go(parseInt(a.parentNode.getAttribute('data-seq'), 10));
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('.process-tabs a'), function (a) {
    a.addEventListener('click', function (e) {
      e.preventDefault();
      draw(a.getAttribute('data-process'));
      renderLists();
      renderPosition();
    });
  });
  draw(current);
}());
