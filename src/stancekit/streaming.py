"""Streaming prediction over files: input rows in, scored rows out, in input order, in
batches so memory stays bounded, optionally over worker processes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from .errors import ConfigError, DataError
from .runtime.model import Model


def _lines(fh: IO[bytes], name: str) -> Iterator[tuple[int, str]]:
    """(line number, text without its newline) per line; bytes that are not UTF-8 are an error."""
    for n, raw in enumerate(fh, 1):
        try:
            yield n, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise DataError("not valid UTF-8", name, n) from None


def is_jsonl(path: str) -> bool:
    """Whether an --input file is read as JSONL (by its suffix)."""
    return path.endswith((".jsonl", ".ndjson"))


def input_rows(path: str, text_field: str = "text") -> Iterator[dict[str, Any]]:
    """One row per line of a file ("-" is stdin), streamed.

    A .jsonl or .ndjson file holds one JSON object a line with the text in `text_field`
    (the object passes through to the output); any other file is one sentence a line,
    read as {"text": line} (an empty line stays, as an empty sentence).
    """
    fh = sys.stdin.buffer if path == "-" else open(path, "rb")
    name = "<stdin>" if path == "-" else path
    jsonl = is_jsonl(path)
    try:
        for n, line in _lines(fh, name):
            if not jsonl:
                yield {"text": line}
                continue
            if not line.strip():
                raise DataError("empty line in JSONL input", name, n)
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"invalid JSON ({exc.msg})", name, n) from None
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
        if fh is not sys.stdin.buffer:
            fh.close()


def _batches(items: Iterable, n: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= n:
            yield batch
            batch = []
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
    batches = _batches(rows, batch_size)
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
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not valid UTF-8 (byte {exc.start})", path) from None
    return model.predict_article(text, path.stem, explain)
