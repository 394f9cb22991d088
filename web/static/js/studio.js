/* OneThing studio page: opens a diagram in the modeler (window.OneThingModeler, bundled
 * from npm by `make assets`), saves it as the analyst's draft, validates it with the same
 * checks as `onething deploy` and marks each problem on its element, previews a task's form
 * as the clerk will see it, and deploys the saved draft as a new version.
 * The server decides everything; this script only carries the diagram back and forth. */
(function () {
  'use strict';

  var root = document.getElementById('studio');
  if (!root || typeof window.OneThingModeler !== 'function' || !window.fetch) { return; }

  var T = JSON.parse(root.getAttribute('data-i18n') || '{}');
  var csrf = document.getElementById('studio-csrf').value;
  var message = document.getElementById('studio-message');
  var dirtyBadge = document.getElementById('studio-dirty');
  var problemsCard = document.getElementById('studio-problems');
  var problemList = document.getElementById('studio-problem-list');
  var previewCard = document.getElementById('studio-preview-card');
  var previewBody = document.getElementById('studio-preview-body');
  var previewSelect = document.getElementById('studio-preview-element');
  var modeler = window.OneThingModeler(document.getElementById('studio-canvas'),
                                       document.getElementById('studio-panel'),
                                       root.getAttribute('data-language'));
  var dirty = false;
  var marked = [];

  // For people driving the page from the browser console or a test: the modeler's API.
  window.studioModeler = modeler;

  function say(text, kind) {
    message.textContent = text || '';
    message.className = 'studio-message' + (kind ? ' ' + kind : '');
  }

  function setDirty(value) {
    dirty = value;
    dirtyBadge.hidden = !value;
  }

  function currentXml() {
    return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
  }

  function post(url, fields) {
    var body = new URLSearchParams();
    body.set('csrf_token', csrf);
    Object.keys(fields || {}).forEach(function (name) { body.set(name, fields[name]); });
    return fetch(url, {
      method: 'POST', credentials: 'same-origin', body: body,
      headers: { Accept: 'application/json', 'X-CSRFToken': csrf }
    });
  }

  function json(response) {
    return response.json().catch(function () { return { message: T.failed + ' (' + response.status + ')' }; })
      .then(function (data) { data.httpOk = response.ok; return data; });
  }

  // -- problems on the diagram -------------------------------------------------------

  function clearProblems() {
    var canvas = modeler.get('canvas');
    var overlays = modeler.get('overlays');
    marked.forEach(function (id) { canvas.removeMarker(id, 'studio-problem'); });
    overlays.remove({ type: 'studio-problem' });
    marked = [];
    problemList.innerHTML = '';
    problemsCard.hidden = true;
  }

  function showProblems(data) {
    clearProblems();
    var registry = modeler.get('elementRegistry');
    var canvas = modeler.get('canvas');
    var overlays = modeler.get('overlays');
    var own = data.problems || [];
    var elsewhere = data.elsewhere || [];
    var counts = {};
    own.forEach(function (problem) {
      var element = problem.element && registry.get(problem.element);
      var item = document.createElement('li');
      item.className = 'studio-problem-item';
      if (element) {
        item.setAttribute('data-element', problem.element);
        var link = document.createElement('button');
        link.type = 'button';
        link.className = 'link';
        link.textContent = problem.name || problem.element;
        link.addEventListener('click', function () {
          modeler.get('selection').select(element);
          canvas.scrollToElement(element);
        });
        item.appendChild(link);
        item.appendChild(document.createTextNode('：' + problem.message));
        if (!counts[problem.element]) {
          canvas.addMarker(problem.element, 'studio-problem');
          marked.push(problem.element);
          counts[problem.element] = [];
        }
        counts[problem.element].push(problem.message);
      } else {
        item.textContent = (problem.element ? problem.element + '：' : '') + problem.message;
      }
      problemList.appendChild(item);
    });
    Object.keys(counts).forEach(function (id) {
      var badge = document.createElement('div');
      badge.className = 'studio-problem-badge';
      badge.textContent = String(counts[id].length);
      badge.title = counts[id].join('\n');
      overlays.add(id, 'studio-problem', { position: { top: -10, right: 10 }, html: badge });
    });
    elsewhere.forEach(function (problem) {
      var item = document.createElement('li');
      item.className = 'studio-problem-elsewhere';
      item.textContent = T.elsewhere + '（' + (problem.file || '') + ' ' + (problem.element || '') + '）：' + problem.message;
      problemList.appendChild(item);
    });
    problemsCard.hidden = !(own.length || elsewhere.length);
  }

  // -- actions ---------------------------------------------------------------------

  function save() {
    say(T.saving);
    return currentXml().then(function (xml) {
      return post(root.getAttribute('data-save-url'),
                  { xml: xml, base_version: root.getAttribute('data-base-version') });
    }).then(json).then(function (data) {
      if (!data.httpOk) { say(data.message || T.failed, 'error'); throw new Error('save'); }
      setDirty(false);
      say(data.message || T.saved, 'success');
      return data;
    });
  }

  function validate() {
    say(T.validating);
    return currentXml().then(function (xml) {
      return post(root.getAttribute('data-validate-url'), { xml: xml });
    }).then(json).then(function (data) {
      showProblems(data);
      say(data.message || (data.ok ? T.ok : T.failed), data.ok ? 'success' : 'error');
      return data;
    });
  }

  function preview() {
    var element = previewSelect.value;
    if (!element) { say(T.noElement, 'error'); return Promise.resolve(); }
    return currentXml().then(function (xml) {
      return post(root.getAttribute('data-preview-url'), { xml: xml, element: element });
    }).then(json).then(function (data) {
      if (!data.httpOk) { say(data.message || T.failed, 'error'); return; }
      previewBody.innerHTML = data.html; // rendered and escaped by the server's form templates
      previewCard.hidden = false;
      say('');
      previewCard.scrollIntoView({ block: 'nearest' });
    });
  }

  function deploy(event) {
    event.preventDefault();
    if (!window.confirm(T.confirmDeploy)) { return; }
    var overNewer = document.getElementById('studio-over-newer');
    save().then(function () {
      say(T.deploying);
      return post(root.getAttribute('data-deploy-url'),
                  overNewer && overNewer.checked ? { over_newer: '1' } : {});
    }).then(json).then(function (data) {
      if (data.httpOk) {
        setDirty(false);
        window.location.assign(data.redirect);
        return;
      }
      showProblems(data);
      say(data.message || T.failed, 'error');
    }).catch(function () { /* the message says why */ });
  }

  // -- the preview picker follows the diagram ----------------------------------------

  function refreshPicker() {
    var chosen = previewSelect.value;
    var registry = modeler.get('elementRegistry');
    var items = registry.filter(function (element) {
      var type = element.type;
      var parent = element.parent && element.parent.type;
      return (type === 'bpmn:UserTask' || type === 'bpmn:StartEvent') &&
        (parent === 'bpmn:Process' || parent === 'bpmn:Participant' || parent === 'bpmn:Lane');
    });
    previewSelect.innerHTML = '';
    items.forEach(function (element) {
      var option = document.createElement('option');
      option.value = element.id;
      var kind = element.type === 'bpmn:StartEvent' ? T.start : T.task;
      option.textContent = (element.businessObject.name || element.id) + ' · ' + kind;
      previewSelect.appendChild(option);
    });
    if (chosen && registry.get(chosen)) { previewSelect.value = chosen; }
  }

  modeler.on('commandStack.changed', function () { setDirty(true); refreshPicker(); });
  modeler.on('selection.changed', function (event) {
    var element = event.newSelection && event.newSelection[0];
    if (element && (element.type === 'bpmn:UserTask' || element.type === 'bpmn:StartEvent')) {
      refreshPicker();
      previewSelect.value = element.id;
    }
  });

  document.getElementById('studio-save').addEventListener('click', function () { save().catch(function () {}); });
  document.getElementById('studio-validate').addEventListener('click', function () { validate(); });
  document.getElementById('studio-preview').addEventListener('click', function () { preview(); });
  document.getElementById('studio-deploy-form').addEventListener('submit', deploy);
  previewBody.addEventListener('submit', function (event) { event.preventDefault(); });
  var discard = document.getElementById('studio-discard-form');
  if (discard) {
    discard.addEventListener('submit', function (event) {
      if (!window.confirm(discard.getAttribute('data-confirm'))) { event.preventDefault(); }
      else { setDirty(false); }
    });
  }
  window.addEventListener('beforeunload', function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = T.unsaved; }
  });

  fetch(root.getAttribute('data-source'), { credentials: 'same-origin', headers: { Accept: 'application/xml' } })
    .then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      modeler.get('canvas').zoom('fit-viewport');
      refreshPicker();
      root.setAttribute('data-ready', 'true');
    })
    .catch(function (error) { say(T.loadFailed + '：' + error.message, 'error'); });
}());
