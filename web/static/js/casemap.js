/* OneThing case page: draws the pinned BPMN diagram of the case (bpmn-js NavigatedViewer,
 * served from web/static/vendor/, installed by `make assets`) and marks what has been
 * done, what is being worked on and what is overdue, from /cases/<id>/map.json.
 * Without this script the page shows the same marks as tables. */
(function () {
  'use strict';

  var root = document.getElementById('casemap');
  if (!root) { return; }
  var T = JSON.parse(root.getAttribute('data-i18n') || '{}');
  var names = JSON.parse(root.getAttribute('data-names') || '{}');
  var canvasEl = root.querySelector('.casemap-canvas');
  var stage = root.querySelector('.casemap-stage');
  var legend = document.querySelector('ul.legend');
  var info = root.querySelector('.casemap-info');
  var select = document.getElementById('map-process');
  var table = document.getElementById('element-table');
  var top = root.getAttribute('data-top');

  if (typeof window.BpmnJS !== 'function' || !window.fetch) {
    return; // no viewer installed (or an old browser): the tables below say it all
  }
  root.hidden = false;
  Array.prototype.forEach.call(document.querySelectorAll('.js-hide'), function (el) {
    el.hidden = true;
  });

  var viewer = new window.BpmnJS({ container: canvasEl });
  var xmlCache = {};
  var map = null;
  var current = null;

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    el.textContent = value;
    return el;
  }

  function who(username) { return username ? (names[username] || username) : ''; }

  // Times come in Beijing time (ISO 8601 with +08:00): show "YYYY-MM-DD HH:MM".
  function when(iso) { return iso ? iso.slice(0, 16).replace('T', ' ') : ''; }

  function fetchOk(url, accept) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: accept } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return accept === 'application/json' ? response.json() : response.text();
      });
  }

  function xmlOf(key) {
    if (!xmlCache[key]) {
      var url = root.getAttribute('data-xml-url') + '?process=' + encodeURIComponent(key);
      xmlCache[key] = fetchOk(url, 'application/xml');
    }
    return xmlCache[key];
  }

  function processOf(key) {
    return map.processes.filter(function (p) { return p.key === key; })[0] || null;
  }

  function taskUrl(id) {
    return root.getAttribute('data-task-url').replace('TASK_ID', encodeURIComponent(id));
  }

  function summary(mark) {
    var parts = [T[mark.state] || T.unknown];
    if (mark.completed > 0) { parts.push(mark.completed + ' ' + T.times); }
    if (mark.overdue) { parts.push(T.overdue); }
    var last = mark.completions[mark.completions.length - 1];
    if (last) { parts.push(who(last.actor) + ' ' + when(last.at)); }
    return parts.join(' · ');
  }

  function addMarks(process) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var overlays = viewer.get('overlays');
    Object.keys(process.elements).forEach(function (id) {
      var mark = process.elements[id];
      var shape = registry.get(id);
      if (!shape) { return; }
      mark.markers.forEach(function (m) { canvas.addMarker(id, 'ot-' + m); });
      var gfx = registry.getGraphics(id);
      if (gfx) { gfx.setAttribute('data-state', mark.state || ''); }
      // How often it was done, where that is more than the colour says (a loop).
      if (mark.completed > 1 || (mark.completed > 0 && mark.active > 0)) {
        var badge = text('span', String(mark.completed), 'ot-count');
        badge.title = summary(mark);
        overlays.add(id, 'ot-count', { position: { top: -10, right: 10 }, html: badge });
      }
    });
  }

  function showInfo(element) {
    info.textContent = '';
    var process = processOf(current);
    var mark = process && process.elements[element.id];
    var name = (element.businessObject && element.businessObject.name) || element.id;
    var head = text('strong', name);
    info.appendChild(head);
    info.appendChild(text('span', ' · ' + (mark ? summary(mark) : T.unknown), 'muted'));
    if (mark) {
      var list = document.createElement('ul');
      mark.completions.forEach(function (c) {
        list.appendChild(text('li', T.completed + '：' + who(c.actor) + ' ' + when(c.at)));
      });
      mark.open_tasks.forEach(function (t) {
        var li = document.createElement('li');
        li.appendChild(document.createTextNode(T.open + '：'));
        var a = text('a', t.name);
        a.href = taskUrl(t.id);
        li.appendChild(a);
        var extra = ' · ' + (t.assignee ? T.claimed + ' ' + who(t.assignee) : T.unclaimed);
        if (t.due_at) { extra += ' · ' + T.due + ' ' + when(t.due_at); }
        li.appendChild(text('span', extra, t.overdue ? 'error' : 'muted'));
        list.appendChild(li);
      });
      if (list.children.length) { info.appendChild(list); }
    }
    var called = calledProcess(element.id);
    if (called) {
      var open = text('button', T.openItem + '：' + called.name, 'link');
      open.type = 'button';
      open.addEventListener('click', function () { show(called.key, true); });
      info.appendChild(open);
    }
  }

  function calledProcess(elementId) {
    if (current !== top) { return null; }
    return map.processes.filter(function (p) { return p.call_activity === elementId; })[0] || null;
  }

  function showPanel(key) {
    Array.prototype.forEach.call(document.querySelectorAll('.map-panel'), function (panel) {
      panel.hidden = panel.getAttribute('data-process') !== key;
    });
    if (select) { select.value = key; }
  }

  // The whole diagram if it is legible that way; else (a tall one-thing) a legible scale,
  // centred, from the top — the "全图" button still shows all of it.
  var MIN_SCALE = 0.7;
  function fit(whole) {
    var canvas = viewer.get('canvas');
    canvas.zoom('fit-viewport', 'auto');
    var box = canvas.viewbox();
    if (whole || box.scale >= MIN_SCALE) { return; }
    var inner = box.inner;
    var width = box.outer.width / MIN_SCALE;
    var height = box.outer.height / MIN_SCALE;
    canvas.viewbox({ x: inner.x + inner.width / 2 - width / 2, y: inner.y - 10,
                     width: width, height: height });
  }

  function zoomBy(step) {
    var canvas = viewer.get('canvas');
    canvas.zoom(Math.min(4, Math.max(0.2, canvas.zoom() * step)), 'auto');
  }

  Array.prototype.forEach.call(root.querySelectorAll('[data-zoom]'), function (button) {
    button.addEventListener('click', function () {
      var how = button.getAttribute('data-zoom');
      if (how === 'in') { zoomBy(1.25); } else if (how === 'out') { zoomBy(0.8); } else { fit(true); }
    });
  });

  function failed(message) {
    stage.hidden = true;
    if (legend) { legend.hidden = true; }
    info.textContent = '';
    info.appendChild(text('p', message, 'muted'));
    if (table) { table.open = true; }
  }

  function show(key, remember) {
    current = key;
    showPanel(key);
    info.textContent = '';
    return xmlOf(key).then(function (xml) {
      if (current !== key) { return; }
      return viewer.importXML(xml).then(function () {
        if (current !== key) { return; }
        var canvas = viewer.get('canvas');
        var drawn = viewer.get('elementRegistry').filter(function (e) {
          return e.type !== 'bpmn:Process' && e.type !== 'bpmn:Collaboration';
        });
        if (!drawn.length) {
          failed(T.nodi);
          return;
        }
        stage.hidden = false;
        if (legend) { legend.hidden = false; }
        fit();
        addMarks(processOf(key));
        info.appendChild(text('p', T.hint, 'muted'));
        if (remember && window.history && window.history.replaceState) {
          var url = new URL(window.location.href);
          url.searchParams.set('process', key);
          url.hash = 'diagram';
          window.history.replaceState(null, '', url.toString());
        }
      });
    }).catch(function (error) {
      if (current !== key) { return; }
      failed(/no diagram/i.test(String(error && error.message)) ? T.nodi : T.failed);
    });
  }

  viewer.get('eventBus').on('element.click', function (event) {
    var element = event.element;
    if (!element || element.type === 'bpmn:Process' || element.type === 'bpmn:Collaboration'
        || element.type === 'bpmn:Participant' || element.type === 'bpmn:Lane') {
      return;
    }
    showInfo(element);
  });
  viewer.get('eventBus').on('element.dblclick', function (event) {
    var called = event.element && calledProcess(event.element.id);
    if (called) { show(called.key, true); }
  });

  if (select) {
    select.addEventListener('change', function () { show(select.value, true); });
  }

  fetchOk(root.getAttribute('data-map-url'), 'application/json').then(function (data) {
    map = data;
    var wanted = root.getAttribute('data-process');
    if (table) { table.open = false; }
    return show(processOf(wanted) ? wanted : top, false);
  }).catch(function () { failed(T.failed); });
}());
