/* The service page: paste an article (or open a text or HTML file), label it with
 * POST /predict, and show it with the same view as `predict --format html`. */
(function () {
  "use strict";
  var form = document.getElementById("sk-form");
  var area = document.getElementById("sk-text");
  var file = document.getElementById("sk-file");
  var error = document.getElementById("sk-error");
  var meta = JSON.parse(document.getElementById("stancekit-service").textContent);

  file.addEventListener("change", function () {
    var f = file.files[0];
    if (!f) { return; }
    f.text().then(function (t) { area.value = t; });
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    error.textContent = "";
    var text = area.value;
    if (!text.trim()) { error.textContent = "Paste an article first."; return; }
    var button = form.querySelector("button");
    button.disabled = true;
    fetch("predict", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ article: text, explain: true })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (!res.ok) { throw new Error(res.body.error || "the service refused the article"); }
      document.getElementById("sk-result").hidden = false;
      window.stancekit.render({
        model: meta.model, labels: meta.labels, thresholds: meta.thresholds, explained: true,
        article: { id: null, text: res.body.text, sentences: res.body.sentences }
      });
      document.getElementById("sk-article").scrollIntoView();
    }).catch(function (err) {
      error.textContent = String(err.message || err);
    }).finally(function () { button.disabled = false; });
  });
})();
