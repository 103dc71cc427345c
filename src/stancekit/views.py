"""Pages people look at: the labelled article (`predict --format html`), an index of many,
the service's own page, and the evaluation report.

Every page is self-contained: styles, script and data are inline, and a
Content-Security-Policy forbids any request beyond the page (the service page may talk
to its own service). The article view is one renderer (`web/view.js`) for the static
page and the service page alike; untrusted text only ever reaches the page as JSON data
and is set with `textContent`, so an article containing `<script>` shows it as text.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .atomic import atomic_dir, write_file

CSP_STATIC = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
              "img-src data:; base-uri 'none'; form-action 'none'")
CSP_SERVICE = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
               "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'")


def _asset(name: str) -> str:
    return resources.files("stancekit").joinpath("web", name).read_text(encoding="utf-8")


def script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' survive as such."""
    return (json.dumps(data, ensure_ascii=True, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _page(title: str, body: str, csp: str = CSP_STATIC, scripts: Sequence[str] = ()) -> str:
    inline = "".join(f"<script>{_asset(s)}</script>" for s in scripts)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f'<meta name="generator" content="stancekit">'
            f"<title>{html.escape(title)}</title><style>{_asset('view.css')}</style></head>"
            f"<body>{body}{inline}</body></html>\n")


def model_info(model: Any) -> dict[str, Any]:
    """What pages show of a model: its name and version."""
    meta = getattr(model, "metadata", {}) or {}
    return {"name": meta.get("name"), "version": meta.get("version")}


_SHELL = ('<header class="sk-bar" id="sk-bar"></header><div class="sk-layout">'
          '<main><article class="sk-article" id="sk-article"></article></main>'
          '<aside class="sk-details" id="sk-details" aria-live="polite"></aside></div>')


def article_page(model: Any, article_id: str | None, text: str, rows: Sequence[Mapping[str, Any]],
                 explained: bool = False) -> str:
    """The labelled article: headline first, each sentence highlighted by its labels."""
    data = {"model": model_info(model), "labels": list(model.labels),
            "thresholds": dict(zip(model.labels, map(float, model.thresholds))),
            "explained": explained,
            "article": {"id": article_id, "text": text, "sentences": [
                {k: r.get(k) for k in ("index", "start", "end", "text", "labels", "scores",
                                       "explanation")} for r in rows]}}
    headline = rows[0]["text"] if rows else (article_id or "article")
    body = (_SHELL + f'<script type="application/json" id="stancekit-data">{script_json(data)}'
            "</script>")
    return _page(f"{headline} · stancekit", body, scripts=("view.js",))


def page_name(article_id: str) -> str:
    """A file name for an article's page: its id made safe, plus a short hash so that
    ids differing only in unsafe characters never collide."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", article_id).strip("._")[:80] or "article"
    return f"{safe}-{hashlib.sha256(article_id.encode('utf-8')).hexdigest()[:8]}.html"


def index_page(model: Any, entries: Sequence[Mapping[str, Any]]) -> str:
    """A table of article pages: headline (linked), sentences, and sentences per label."""
    labels = list(model.labels)
    info = model_info(model)
    head = "".join(f"<th>{html.escape(l)}</th>" for l in labels)
    rows = []
    for e in entries:
        counts = "".join(f'<td class="sk-num">{e["counts"].get(l, 0)}</td>' for l in labels)
        rows.append(f'<tr><td><a href="{html.escape(e["page"])}">{html.escape(e["headline"])}</a>'
                    f'<div class="sk-note">{html.escape(e["id"])}</div></td>'
                    f'<td class="sk-num">{e["sentences"]}</td>{counts}</tr>')
    body = (f'<header class="sk-bar"><span class="sk-model">Model <b>{html.escape(str(info["name"]))} '
            f'{html.escape(str(info["version"]))}</b></span><span>{len(entries)} articles</span></header>'
            f'<div class="sk-report"><table class="sk-index"><thead><tr><th>article</th>'
            f"<th>sentences</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
    return _page(f"{len(entries)} articles · stancekit", body)


def write_article_pages(out_dir: Path, model: Any,
                        articles: Iterable[tuple[str, str, Sequence[Mapping[str, Any]]]],
                        explained: bool = False) -> int:
    """One page per (article id, text, rows) plus `index.html`, into a new directory
    (written atomically). Returns the number of articles."""
    entries = []
    with atomic_dir(out_dir) as tmp:
        for aid, text, rows in articles:
            name = page_name(aid)
            (tmp / name).write_text(article_page(model, aid, text, rows, explained), encoding="utf-8")
            counts: dict[str, int] = {}
            for r in rows:
                for l in r["labels"]:
                    counts[l] = counts.get(l, 0) + 1
            entries.append({"id": aid, "page": name, "headline": rows[0]["text"] if rows else aid,
                            "sentences": len(rows), "counts": counts})
        (tmp / "index.html").write_text(index_page(model, entries), encoding="utf-8")
    return len(entries)


def write_article_page(path: Path, model: Any, article_id: str | None, text: str,
                       rows: Sequence[Mapping[str, Any]], explained: bool = False) -> Path:
    """One article's page, written atomically."""
    return write_file(path, article_page(model, article_id, text, rows, explained))


def service_page(model: Any) -> str:
    """The service's page: paste an article, see it labelled (through POST /predict)."""
    meta = {"model": model_info(model), "labels": list(model.labels),
            "thresholds": dict(zip(model.labels, map(float, model.thresholds)))}
    info = model_info(model)
    form = ('<div class="sk-report"><h1 style="font:600 22px system-ui,sans-serif;margin:0 0 6px">'
            "Label an article</h1><p class=\"sk-note\" style=\"margin:0 0 12px\">"
            f"Model <b>{html.escape(str(info['name']))} {html.escape(str(info['version']))}</b> "
            f"labels each sentence: {html.escape(', '.join(model.labels))}. Paste the article "
            "(headline on the first line) or open a saved text or HTML file; nothing leaves "
            'this service. The API is described at <a href="docs">docs</a>.</p>'
            '<form class="sk-form" id="sk-form"><label for="sk-text" class="sk-note">Article'
            '</label><textarea id="sk-text" name="article" spellcheck="false"></textarea>'
            '<div class="sk-row"><button type="submit">Label it</button>'
            '<label>or open a file <input type="file" id="sk-file" accept=".txt,.html,.htm,text/plain,text/html"></label>'
            '<span class="sk-error" id="sk-error" role="alert"></span></div></form></div>')
    body = (form + f'<div id="sk-result" hidden>{_SHELL}</div>'
            f'<script type="application/json" id="stancekit-service">{script_json(meta)}</script>')
    return _page(f"{info['name']} · stancekit", body, CSP_SERVICE, scripts=("view.js", "service.js"))


def _figures_html(pngs: Mapping[str, bytes]) -> str:
    import base64
    alt = {"pr_curves.png": "Precision-recall curve per label, with average precision, the "
                            "prevalence baseline and the tuned threshold",
           "confusion.png": "Confusion matrix per label, each gold row as shares",
           "score_densities.png": "Score densities per label for gold yes and gold no, with the threshold",
           "comparison.png": "F1 per label for both models and the paired difference with its interval"}
    return "".join(f'<figure><img alt="{html.escape(alt.get(n, n))}" src="data:image/png;base64,'
                   f'{base64.b64encode(b).decode()}"><figcaption class="sk-note">{html.escape(n)}'
                   "</figcaption></figure>" for n, b in pngs.items())


def _metrics_rows(m: Mapping[str, Any], labels: Sequence[str], extra: Mapping[str, Sequence[str]]
                  ) -> str:
    rows = []
    for l in labels:
        p = m["per_label"][l]
        cells = [f"{p['precision']:.3f}", f"{p['recall']:.3f}", f"<b>{p['f1']:.3f}</b>",
                 str(p["support"]), *extra.get(l, ())]
        rows.append(f"<tr><td>{html.escape(l)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "".join(rows)


def report_page(result: Mapping[str, Any], labels: Sequence[str], pngs: Mapping[str, bytes],
                errors: Sequence[Mapping[str, Any]], n_errors: int) -> str:
    """report.html: the evaluation report with its figures inside (one file to send)."""
    m, iv, d, mod = result["at_thresholds"], result["intervals"], result["data"], result["model"]
    title = f"Evaluation of {mod.get('name')} {mod.get('version') or ''}"
    split = f", {d['split']} split" if d.get("split") else ""
    extra = {l: (f"{iv[f'f1/{l}']['low']:.3f}-{iv[f'f1/{l}']['high']:.3f}",
                 f"{result['thresholds'][l]:.2f}", f"{result['average_precision'][l]:.3f}")
             for l in labels}
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p><b>macro-F1 {m['macro_f1']:.3f}</b> (95% interval {iv['macro_f1']['low']:.3f}-"
             f"{iv['macro_f1']['high']:.3f}, bootstrap over {d['stories']} stories), micro-F1 "
             f"{m['micro_f1']:.3f}, on {d['sentences']} sentences of "
             f"<code>{html.escape(str(d['source']))}</code>{html.escape(split)}.</p>",
             "<h2>At the model's thresholds</h2><table><tr><th>label</th><th>precision</th>"
             "<th>recall</th><th>F1</th><th>support</th><th>F1 95% interval</th><th>threshold</th>"
             f"<th>average precision</th></tr>{_metrics_rows(m, labels, extra)}</table>",
             "<h2>At 0.5</h2><table><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th>"
             f"<th>support</th></tr>{_metrics_rows(result['at_0.5'], labels, {})}</table>"]
    if "against" in result:
        a = result["against"]
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{x['difference']:+.3f}</td><td>{x['low']:+.3f} to "
            f"{x['high']:+.3f}</td><td class=\"{'sk-better' if x['verdict'] == 'better' else 'sk-worse' if x['verdict'] == 'worse' else ''}\">"
            f"{html.escape(x['verdict'])}</td></tr>" for k, x in a["difference"].items())
        parts.append(f"<h2>Against {html.escape(str(a.get('name')))}</h2><table><tr><th>figure</th>"
                     f"<th>difference</th><th>95% paired interval</th><th>verdict</th></tr>{rows}</table>")
    parts.append(f"<h2>Figures</h2>{_figures_html(pngs)}")
    if errors:
        items = "".join(
            f"<tr><td>{html.escape(str(e['article_id']))}#{e['index']}</td><td>{html.escape(e['text'])}</td>"
            f"<td>{html.escape(', '.join(e['gold']) or '-')}</td><td>{html.escape(', '.join(e['predicted']) or '-')}</td></tr>"
            for e in errors)
        parts.append(f"<h2>Misclassified sentences</h2><p class=\"sk-note\">The first {len(errors)} "
                     f"of {n_errors}; all are in <code>errors.jsonl</code>, with the n-grams behind "
                     "each label.</p><table><tr><th>sentence</th><th>text</th><th>gold</th>"
                     f"<th>predicted</th></tr>{items}</table>")
    return _page(title, f'<div class="sk-report">{"".join(parts)}</div>')
