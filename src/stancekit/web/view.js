/* stancekit article view: renders labelled sentences into the page. One renderer for the
 * static page (`predict --format html`, data in #stancekit-data) and the service page
 * (data from POST /predict). Text is only ever set with textContent: untrusted article
 * text cannot become markup. */
(function () {
  "use strict";
  // Okabe-Ito: told apart with every common colour-vision deficiency.
  var PALETTE = ["#D55E00", "#0072B2", "#009E73", "#B07800", "#CC79A7", "#56B4E9", "#6E6E00", "#000000"];
  var state = { labels: [], colours: {}, shown: {}, data: null, root: null };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "style") { Object.keys(attrs.style).forEach(function (p) { node.style.setProperty(p, attrs.style[p]); }); }
      else { node.setAttribute(k, attrs[k]); }
    });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function tint(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function paint(span) {
    var labels = span.getAttribute("data-labels").split(" ").filter(function (l) { return l && state.shown[l]; });
    span.style.backgroundColor = labels.length ? tint(state.colours[labels[0]], 0.14) : "";
    span.style.boxShadow = labels.map(function (l, i) {
      return "inset 0 -" + (3 * (i + 1)) + "px 0 " + state.colours[l];
    }).join(", ");
    var chips = span.nextSibling;
    if (chips && chips.classList && chips.classList.contains("sk-chips")) {
      Array.prototype.forEach.call(chips.children, function (c) { c.hidden = !state.shown[c.getAttribute("data-label")]; });
    }
  }

  function repaint() {
    Array.prototype.forEach.call(document.querySelectorAll(".sk-s"), paint);
  }

  function scoreTable(sentence) {
    var table = el("table", { "class": "sk-scores" });
    state.labels.forEach(function (l) {
      var s = sentence.scores[l] || 0, t = (state.data.thresholds || {})[l];
      var tr = el("tr");
      var name = el("td"); name.appendChild(el("span", { "class": "sk-key", style: { "--c": state.colours[l] } }, l));
      var bar = el("td"); var bg = el("div", { "class": "sk-bar-bg" });
      bg.appendChild(el("div", { "class": "sk-bar-fg", style: { "--c": state.colours[l], width: (100 * s).toFixed(1) + "%" } }));
      if (typeof t === "number") { bg.appendChild(el("div", { "class": "sk-mark", title: "threshold " + t.toFixed(2), style: { left: (100 * t).toFixed(1) + "%" } })); }
      bar.appendChild(bg);
      tr.appendChild(name); tr.appendChild(bar); tr.appendChild(el("td", { "class": "sk-num" }, s.toFixed(3)));
      table.appendChild(tr);
    });
    return table;
  }

  var tip = null;
  function showTip(span, sentence) {
    if (!tip) { tip = el("div", { id: "sk-tip", role: "tooltip" }); tip.hidden = true; document.body.appendChild(tip); }
    tip.textContent = "";
    tip.appendChild(scoreTable(sentence));
    tip.hidden = false;
    var r = span.getBoundingClientRect();
    var top = r.bottom + 6; if (top + 180 > window.innerHeight) { top = Math.max(6, r.top - 186); }
    tip.style.top = top + "px";
    tip.style.left = Math.min(Math.max(6, r.left), window.innerWidth - 280) + "px";
    span.setAttribute("aria-describedby", "sk-tip");
  }
  function hideTip(span) { if (tip) { tip.hidden = true; } if (span) { span.removeAttribute("aria-describedby"); } }

  function explain(span, sentence) {
    Array.prototype.forEach.call(document.querySelectorAll(".sk-selected"), function (n) { n.classList.remove("sk-selected"); });
    span.classList.add("sk-selected");
    var panel = document.getElementById("sk-details");
    panel.textContent = "";
    panel.appendChild(el("h2", {}, "Sentence " + sentence.index));
    panel.appendChild(el("blockquote", {}, sentence.text));
    panel.appendChild(el("div", {}, sentence.labels.length ? "Labels: " + sentence.labels.join(", ") : "No label."));
    panel.appendChild(scoreTable(sentence));
    var why = sentence.explanation;
    if (!why) {
      panel.appendChild(el("p", { "class": "sk-note" }, "The n-grams behind each label are shown when the page is made with --explain."));
      return;
    }
    sentence.labels.forEach(function (l) {
      panel.appendChild(el("div", {}, "Why " + l + ":"));
      var list = el("ol", { "class": "sk-ngrams" });
      (why[l] || []).forEach(function (pair) {
        var li = el("li"); li.appendChild(el("code", {}, pair[0])); li.appendChild(document.createTextNode(" +" + Number(pair[1]).toFixed(3)));
        list.appendChild(li);
      });
      panel.appendChild(list);
    });
  }

  function sentenceNode(sentence) {
    var span = el("span", {
      "class": "sk-s", tabindex: "0", "data-index": String(sentence.index),
      "data-start": String(sentence.start), "data-end": String(sentence.end),
      "data-labels": sentence.labels.join(" "),
      "aria-label": sentence.text + (sentence.labels.length ? " (" + sentence.labels.join(", ") + ")" : "")
    }, sentence.text);
    span.addEventListener("mouseenter", function () { showTip(span, sentence); });
    span.addEventListener("mouseleave", function () { hideTip(span); });
    span.addEventListener("focus", function () { showTip(span, sentence); });
    span.addEventListener("blur", function () { hideTip(span); });
    span.addEventListener("click", function () { explain(span, sentence); });
    span.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); explain(span, sentence); } });
    return span;
  }

  function chipsNode(sentence) {
    var box = el("span", { "class": "sk-chips" });
    sentence.labels.forEach(function (l) { box.appendChild(el("span", { "class": "sk-chip", "data-label": l, style: { "--c": state.colours[l] } }, l)); });
    return box;
  }

  // Paragraphs: a sentence starts a new one when the article text between it and the
  // sentence before holds a line break (sentences without offsets run on).
  function paragraphs(article) {
    var out = [], current = [], prevEnd = null, text = article.text || "";
    article.sentences.forEach(function (s) {
      var gap = (prevEnd !== null && typeof s.start === "number") ? text.slice(prevEnd, s.start) : "";
      if (current.length && gap.indexOf("\n") >= 0) { out.push(current); current = []; }
      current.push(s); prevEnd = s.end;
    });
    if (current.length) { out.push(current); }
    return out;
  }

  function legend(container, counts) {
    var box = el("fieldset", { "class": "sk-legend" });
    box.appendChild(el("legend", {}, "Show"));
    state.labels.forEach(function (l) {
      var id = "sk-show-" + l.replace(/[^A-Za-z0-9_-]/g, "_");
      var lab = el("label", { "for": id, style: { "--c": state.colours[l] } });
      var box2 = el("input", { type: "checkbox", id: id, "data-label": l, style: { "--c": state.colours[l] } });
      box2.checked = state.shown[l] !== false;
      box2.addEventListener("change", function () { state.shown[l] = box2.checked; repaint(); });
      lab.appendChild(box2);
      lab.appendChild(el("span", { "class": "sk-key", style: { "--c": state.colours[l] } }, l));
      lab.appendChild(el("span", { "class": "sk-count" }, String(counts[l] || 0)));
      box.appendChild(lab);
    });
    container.appendChild(box);
  }

  /* Render data {model, labels, thresholds, article: {id, text, sentences}} into the
   * page's #sk-bar (model, legend), #sk-article and #sk-details. */
  function render(data) {
    state.data = data; state.labels = data.labels;
    data.labels.forEach(function (l, i) { state.colours[l] = PALETTE[i % PALETTE.length]; if (!(l in state.shown)) { state.shown[l] = true; } });
    var counts = {};
    data.article.sentences.forEach(function (s) { s.labels.forEach(function (l) { counts[l] = (counts[l] || 0) + 1; }); });
    var bar = document.getElementById("sk-bar");
    bar.textContent = "";
    var model = el("span", { "class": "sk-model" }, "Model ");
    model.appendChild(el("b", {}, (data.model.name || "?") + " " + (data.model.version || "")));
    bar.appendChild(model);
    legend(bar, counts);
    var art = document.getElementById("sk-article");
    art.textContent = "";
    var sentences = data.article.sentences;
    paragraphs(data.article).forEach(function (para, k) {
      var block = el(k === 0 && para.length === 1 && para[0].index === 0 ? "h1" : "p");
      para.forEach(function (s, i) {
        if (i) { block.appendChild(document.createTextNode(" ")); }
        block.appendChild(sentenceNode(s));
        if (s.labels.length) { block.appendChild(chipsNode(s)); }
      });
      art.appendChild(block);
      if (k === 0) {
        art.appendChild(el("div", { "class": "sk-meta" }, sentences.length + " sentences" +
          (data.article.id ? " · " + data.article.id : "") + " · hover or focus a sentence for its scores, click it for why"));
      }
    });
    var panel = document.getElementById("sk-details");
    panel.textContent = "";
    panel.appendChild(el("h2", {}, "Details"));
    panel.appendChild(el("p", { "class": "sk-note" }, "Click a sentence (or press Enter on it) to see its scores" +
      (data.explained ? " and the n-grams behind its labels." : ".")));
    repaint();
  }

  window.stancekit = { render: render };
  var embedded = document.getElementById("stancekit-data");
  if (embedded) { render(JSON.parse(embedded.textContent)); }
})();
