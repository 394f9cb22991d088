// 一表申请: when a field that decides which items apply (e.g. 工程造价, 建筑面积) changes,
// ask the server which questions the applicable items no longer need and hide them in
// place (nothing is reloaded, so nothing typed is lost). The server decides again on submit.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-deciding]");
  var style = document.getElementById("hidden-fields");
  if (!form || !style || !window.fetch) return;
  var names = (form.getAttribute("data-deciding") || "").split(" ").filter(Boolean);
  var url = form.getAttribute("data-applicable");
  if (!names.length || !url) return;

  function refresh() {
    var body = new URLSearchParams();
    body.append("csrf_token", form.elements.namedItem("csrf_token").value);
    names.forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (input && "value" in input) body.append(name, input.value);
    });
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer) return;
        var rules = answer.hidden.map(function (id) {
          return 'form[data-deciding] [data-field="' + id.replace(/[^\w-]/g, "") + '"]';
        });
        style.textContent = rules.length ? rules.join(", ") + " { display: none; }" : "";
      })
      .catch(function () { /* keep what is shown: the server checks on submit anyway */ });
  }

  names.forEach(function (name) {
    var input = form.elements.namedItem(name);
    if (input && input.addEventListener) input.addEventListener("change", refresh);
  });
});
