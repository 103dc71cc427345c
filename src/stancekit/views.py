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
