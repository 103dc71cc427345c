"""Streaming prediction over files: input rows in, scored rows out, in input order, in
batches so memory stays bounded, optionally over worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .errors import ConfigError, DataError
from .inputs import lines, open_input, parse_json, read_text
from .runtime.model import Model


def is_jsonl(path: str) -> bool:
    """Whether an --input file is read as JSONL (by its suffix)."""
    return path.endswith((".jsonl", ".ndjson"))


def input_rows(path: str, text_field: str = "text") -> Iterator[dict[str, Any]]:
    """One row per line of a file ("-" is stdin; a pipe or FIFO is fine), streamed.

    A .jsonl or .ndjson file holds one JSON object a line with the text in `text_field`
    (the object passes through to the output); any other file is one sentence a line,
    read as {"text": line} (an empty line stays, as an empty sentence).
    """
    name = "<stdin>" if path == "-" else path
    fh = open_input(path, stream=True)
    jsonl = is_jsonl(path)
    try:
        for n, line in lines(fh, name):
            if not jsonl:
                yield {"text": line}
                continue
            if not line.strip():
                raise DataError("empty line in JSONL input", name, n)
            row = parse_json(line, name, n)
            if not isinstance(row, dict):
                raise DataError(f"expected a JSON object, got {type(row).__name__}", name, n)
            if text_field not in row:
                raise DataError("missing field", name, n, text_field)
            if not isinstance(row[text_field], str):
                raise DataError(f"must be a string, got {type(row[text_field]).__name__}",
                                name, n, text_field)
            row.pop("context", None)  # context is the model's to compute, never the input's
            yield row
    finally:
        if path != "-":
            fh.close()


# A batch also ends at this many bytes of text, so a file of very long lines is scored
# a few lines at a time, not `batch_size` of them at once.
MAX_BATCH_CHARS = 8 << 20


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
                 explain: bool = False, jobs: int = 1, batch_size: int = 4096
                 ) -> Iterator[dict[str, Any]]:
    """Yield one output row per input row, in input order; memory is bounded by the batch size."""
    if batch_size < 1 or jobs < 1:
        raise ConfigError(f"batch_size and jobs must be at least 1, got {batch_size} and {jobs}")
    batches = _batches(rows, batch_size, lambda row: len(row[text_field]))
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


def article_rows(model: Model, path: Path, explain: bool = False) -> list[dict[str, Any]]:
    """Rows for a raw article file: id (the file stem), index, text, offsets, labels, scores."""
    return model.predict_article(read_text(path), path.stem, explain)
