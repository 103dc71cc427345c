"""Streaming prediction: input rows or article collections in, scored rows out, in input
order, in batches so memory stays bounded whatever the input's size.

Sentence inputs (`predict --input`) are JSONL, CSV or plain text; article collections
(`predict --articles`) are whatever `read` reads. Either way every row goes through
`runtime.records.with_context`, the one path from input rows to scored records, before
it is batched.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from .atomic import atomic_path, open_atomic
from .errors import ConfigError, DataError
from .inputs import lines, open_input, parse_json, read_text
from .config import ArticleSource
from .read import (CSV_FIELD_LIMIT, Article, ReadReport, html_document, looks_like_html,
                   read_sources)
from .runtime.model import Model
from .runtime.records import with_context

INPUT_FORMATS = ("jsonl", "csv", "text")
# A batch also ends at this many characters of text, so a file of very long lines is
# scored a few lines at a time, not `batch_size` of them at once.
MAX_BATCH_CHARS = 8 << 20


def input_format(path: str, fmt: str = "auto") -> str:
    """The format of a `--input` file: as given, else by suffix (.jsonl/.ndjson, .csv;
    anything else is one sentence a line)."""
    if fmt != "auto":
        return fmt
    lower = path.lower()
    return "jsonl" if lower.endswith((".jsonl", ".ndjson")) else \
        "csv" if lower.endswith(".csv") else "text"


def _check_row(row: Any, text_field: str, name: object, n: int) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise DataError(f"expected a JSON object, got {type(row).__name__}", name, n)
    if text_field not in row:
        raise DataError("missing field", name, n, text_field)
    if not isinstance(row[text_field], str):
        raise DataError(f"must be a string, got {type(row[text_field]).__name__}", name, n,
                        text_field)
    row.pop("context", None)  # context is the model's to compute, never the input's
    return row


def input_rows(path: str, text_field: str = "text", fmt: str = "auto") -> Iterator[dict[str, Any]]:
    """One row per record of a `--input` file ("-" is stdin; a pipe or FIFO is fine), streamed.

    JSONL: one JSON object a line with the text in `text_field` (the object passes
    through to the output). CSV: a header, then one row a line (`text_field` a column).
    Text: one sentence a line, read as {"text": line} (an empty line stays, as an empty
    sentence); a text file that plainly holds JSON objects is an error, not 'sentences'.
    """
    name = "<stdin>" if path == "-" else path
    fmt = input_format(path, fmt)
    fh = open_input(path, stream=True)
    try:
        if fmt == "csv":
            yield from _csv_rows(fh, name, text_field)
            return
        for n, line in lines(fh, name):
            if fmt == "text":
                if n == 1 and line.lstrip().startswith("{") and _is_json_object(line):
                    raise DataError("this looks like JSONL (a JSON object a line), not one "
                                    "sentence a line: use --input-format jsonl, or name the "
                                    "file .jsonl", name, n)
                yield {"text": line}
                continue
            if not line.strip():
                raise DataError("empty line in JSONL input", name, n)
            yield _check_row(parse_json(line, name, n), text_field, name, n)
    finally:
        if path != "-":
            fh.close()


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _csv_rows(fh: IO[bytes], name: object, text_field: str) -> Iterator[dict[str, Any]]:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)  # module-wide, only ever raised
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
    reader = csv.DictReader(text, strict=True)
    try:
        for row in reader:
            if None in row:
                raise DataError(f"more fields than the header's {len(reader.fieldnames or [])}",
                                name, reader.line_num)
            yield _check_row(dict(row), text_field, name, reader.line_num)
    except UnicodeDecodeError:
        raise DataError("not valid UTF-8", name, reader.line_num + 1) from None
    except csv.Error as exc:
        raise DataError(f"malformed CSV ({exc})", name, reader.line_num) from None
    finally:
        text.detach()


def _batches(items: Iterable[Any], n: int, size: Callable[[Any], int] = lambda _: 0
             ) -> Iterator[list[Any]]:
    """Lists of up to `n` items, each list also ending once the items' sizes sum to
    MAX_BATCH_CHARS."""
    batch: list[Any] = []
    total = 0
    for item in items:
        batch.append(item)
        total += size(item)
        if len(batch) >= n or total >= MAX_BATCH_CHARS:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def _score(model: Model, batch: list[dict[str, Any]], text_field: str,
           explain: bool) -> list[dict[str, Any]]:
    return model.score_rows(batch, text_field, explain)


def predict_rows(model: Model, rows: Iterable[dict[str, Any]], text_field: str = "text",
                 explain: bool = False, jobs: int = 1, batch_size: int = 4096,
                 name: object = None, first_line: int = 1) -> Iterator[dict[str, Any]]:
    """Yield one output row per input row, in input order; memory is bounded by the batch
    size. Rows with `article_id` and `index` get their article's context first."""
    if batch_size < 1 or jobs < 1:
        raise ConfigError(f"batch_size and jobs must be at least 1, got {batch_size} and {jobs}")
    batches = _batches(with_context(rows, text_field, name, first_line), batch_size,
                       lambda row: len(row[text_field]))
    if jobs <= 1:
        for batch in batches:
            yield from model.score_rows(batch, text_field, explain)
        return
    from joblib import Parallel, delayed
    # Groups of `jobs` batches go to worker processes together; results come back in order.
    for group in _batches(batches, jobs):
        results = Parallel(n_jobs=jobs)(delayed(_score)(model, b, text_field, explain)
                                        for b in group)
        for out in results:
            yield from out


def article_sentences(model: Model, articles: Iterable[Article]) -> Iterator[dict[str, Any]]:
    """Each article cleaned and segmented as the dataset builder does: one row per
    sentence (article_id, index, start, end, text) with its context."""
    for art in articles:
        yield from model.segment(art.text, art.id)


def predict_articles(model: Model, articles: Iterable[Article], explain: bool = False,
                     batch_size: int = 4096) -> Iterator[dict[str, Any]]:
    """One output row per sentence of every article, in order; sentences of many articles
    are scored together (the batch path), so memory stays flat and speed high."""
    for batch in _batches(article_sentences(model, articles), batch_size,
                          lambda row: len(row["text"])):
        yield from model.score_rows(batch, "text", explain, owned=True)


def read_article_file(path: Path) -> Article:
    """A single `--article` file: HTML (by suffix or content) through trafilatura, else
    plain text; the id is the file name without its suffix."""
    text = read_text(path)
    if path.suffix.lower() in (".html", ".htm") or looks_like_html(text[:4096]):
        return html_document(text, path.stem, path)
    return Article(path.stem, text, str(path), 1)


def sources(paths: Iterable[str], fmt: str = "auto", id_field: str = "id",
            title_field: str | None = "title", text_field: str = "text") -> list[ArticleSource]:
    """Article sources for `predict --articles`, read as `build` reads `data.articles`."""
    return [ArticleSource(path=p, format=fmt, id_field=id_field,  # type: ignore[arg-type]
                          title_field=title_field or None, text_field=text_field) for p in paths]


def model_on_error(model: Model) -> str:
    """The `data.on_error` rule of the config a model was trained with ("raise" when the
    model carries no config)."""
    if model.path is None or not (model.path / "config.yaml").is_file():
        return "raise"
    from .config import load_config
    return load_config(model.path / "config.yaml").data.on_error


def model_articles(model: Model, paths: Iterable[str], report: ReadReport,
                   on_error: str | None = None, fmt: str = "auto", id_field: str = "id",
                   title_field: str | None = "title", text_field: str = "text"
                   ) -> Iterator[Article]:
    """The articles of the sources a command names, in order: read as `build` reads them,
    bad records handled by `on_error` (default: the model's `data.on_error`)."""
    return read_sources(sources(paths, fmt, id_field, title_field, text_field), Path("."),
                        on_error or model_on_error(model), report)


# -- writing rows -------------------------------------------------------------------------

def _table_line(row: dict[str, Any]) -> str:
    return f"{', '.join(row['labels']) or '-':<32} {row['text']}\n"


class JsonlSink:
    """Rows as JSON lines (or as a plain table) on an open text stream."""

    def __init__(self, out: IO[str], table: bool = False) -> None:
        self.out, self.table = out, table

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        self.out.write("".join(_table_line(r) if self.table else
                               json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


class ParquetSink:
    """Rows as a parquet file, written a batch at a time (flat memory)."""

    def __init__(self, where: Path | IO[bytes], labels: Sequence[str], explain: bool = False
                 ) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq
        self.pa = pa
        fields = [("article_id", pa.string()), ("index", pa.int32()), ("start", pa.int64()),
                  ("end", pa.int64()), ("text", pa.string()), ("labels", pa.list_(pa.string())),
                  ("scores", pa.struct([(l, pa.float64()) for l in labels]))]
        if explain:
            fields.append(("explanation", pa.string()))  # JSON: label -> [[n-gram, weight]]
        self.schema = pa.schema(fields)
        self.writer = pq.ParquetWriter(str(where) if isinstance(where, Path) else where,
                                       self.schema)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = {f.name: [r.get(f.name) for r in rows] for f in self.schema}
        if "explanation" in cols:
            cols["explanation"] = [json.dumps(e, ensure_ascii=False) for e in cols["explanation"]]
        self.writer.write_table(self.pa.Table.from_pydict(cols, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


@contextlib.contextmanager
def text_sink(output: str) -> Iterator[Callable[[Iterable[Article]], Iterator[Article]]]:
    """For `--text-output`: a pass-through for articles that writes each one's text (what
    the sentence offsets point into) as a JSONL line {"article_id", "text"} as it goes."""
    with open_atomic(output) as fh:
        def keep(articles: Iterable[Article]) -> Iterator[Article]:
            for art in articles:
                fh.write(json.dumps({"article_id": art.id, "text": art.text},
                                    ensure_ascii=False) + "\n")
                yield art
        yield keep


@contextlib.contextmanager
def row_sink(output: str, fmt: str, labels: Sequence[str],
             stdout: Callable[[], IO[str]] = lambda: sys.stdout,
             explain: bool = False) -> Iterator[JsonlSink | ParquetSink]:
    """Where output rows go: stdout ("-"), or a file written atomically (parquet when its
    name ends in .parquet, else JSONL or the table)."""
    if output == "-":
        yield JsonlSink(stdout(), fmt == "table")
        return
    if output.lower().endswith(".parquet"):
        with atomic_path(output) as tmp:
            sink = ParquetSink(tmp, labels, explain)
            try:
                yield sink
            finally:
                sink.close()
        return
    with open_atomic(output) as fh:
        yield JsonlSink(fh, fmt == "table")  # type: ignore[arg-type]
