"""Reading raw articles: a directory of .txt files, JSONL, CSV, or JSON/parquet via `datasets`.

Every article becomes one document string; a title field, when present, is its first
line (the headline), so sentence offsets always point into that document.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .config import ArticleSource
from .errors import DataError
from .inputs import jsonl_objects, open_input, read_text


@dataclass(frozen=True)
class Article:
    """A raw article: its id, its full text, and where it came from (file, line)."""

    id: str
    text: str
    path: str
    line: int | None = None


@dataclass
class ReadReport:
    """Records skipped (only where the config allows skipping), by reason, and unlabelled
    articles left out because they repeat a gold story (`split.same_story`)."""

    skipped: Counter = field(default_factory=Counter)
    same_story: int = 0

    def as_dict(self) -> dict:
        return {"skipped": dict(self.skipped), "total": sum(self.skipped.values()),
                "unlabelled_same_story": self.same_story}


def _detect(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    if path.is_dir():
        return "txt"
    suffix = path.suffix.lower()
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "json",
            ".parquet": "parquet", ".txt": "txt"}.get(suffix, "jsonl")


def _document(row: dict, src: ArticleSource, path: Path, line: int | None) -> Article:
    """Build an Article from a record, checking the configured fields."""
    for name in (src.id_field, src.text_field):
        if name not in row or row[name] is None:
            raise DataError("missing field", path, line, name)
    text = row[src.text_field]
    if not isinstance(text, str):
        raise DataError(f"must be a string, got {type(text).__name__}", path, line, src.text_field)
    title = row.get(src.title_field) if src.title_field else None
    if title is not None and not isinstance(title, str):
        raise DataError(f"must be a string, got {type(title).__name__}", path, line, src.title_field)
    doc = f"{title.strip()}\n\n{text}" if title and title.strip() else text
    return Article(str(row[src.id_field]), doc, str(path), line)


def _walk_error(exc: OSError) -> None:
    raise DataError(f"cannot read directory ({exc.strerror})", exc.filename) from None


def text_files(path: Path, suffixes: tuple[str, ...] = (".txt",)) -> list[Path]:
    """The files with one of `suffixes` under a directory, sorted; an unreadable
    subdirectory is an error, never a silently smaller corpus."""
    out: list[Path] = []
    for top, dirs, files in os.walk(path, onerror=_walk_error):
        dirs.sort()
        out.extend(Path(top) / f for f in files if f.lower().endswith(suffixes))
    return sorted(out)


def _read_txt(path: Path) -> Iterator[Article]:
    files = text_files(path) if path.is_dir() else [path]
    for f in files:
        rel = f.relative_to(path).with_suffix("") if path.is_dir() else Path(f.stem)
        yield Article(rel.as_posix(), read_text(f), str(f), 1)


def _read_jsonl(path: Path, src: ArticleSource) -> Iterator[Article]:
    for n, row in read_jsonl_rows(path):
        yield _document(row, src, path, n)


# A CSV field holds a whole article: far past the csv module's 131,072-character default.
CSV_FIELD_LIMIT = 256 << 20


def _read_csv(path: Path, src: ArticleSource) -> Iterator[Article]:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)  # module-wide, only ever raised
    fh = io.TextIOWrapper(open_input(path), encoding="utf-8", newline="")
    with fh:
        reader = csv.DictReader(fh, strict=True)
        try:
            for row in reader:
                if None in row:
                    raise DataError(f"{len(row[None]) + len(reader.fieldnames or [])} fields, the "
                                    f"header names {len(reader.fieldnames or [])}", path,
                                    reader.line_num)
                yield _document(row, src, path, reader.line_num)
        except UnicodeDecodeError:
            raise DataError("not valid UTF-8", path, reader.line_num + 1) from None
        except csv.Error as exc:
            raise DataError(f"malformed CSV ({exc})", path, reader.line_num) from None


def _read_with_datasets(path: Path, src: ArticleSource, fmt: str) -> Iterator[Article]:
    from datasets import load_dataset  # heavy import: only when such a file is used
    try:
        ds = load_dataset(fmt, data_files=str(path), split="train")
    except Exception as exc:  # datasets raises many types for unreadable files
        raise DataError(f"cannot read as {fmt}: {str(exc).splitlines()[0][:200]}", path) from None
    for i, row in enumerate(ds):
        yield _document(row, src, path, i + 1)


def iter_articles(src: ArticleSource, base: Path, on_error: str = "raise",
                  report: ReadReport | None = None) -> Iterator[Article]:
    """Yield the articles of one source, checking for empty texts and duplicate ids."""
    path = Path(src.path) if Path(src.path).is_absolute() else base / src.path
    if not path.exists():
        raise DataError("article source not found", path)
    fmt = _detect(path, src.format)
    if fmt == "txt":
        rows: Iterator[Article] = _read_txt(path)
    elif fmt == "jsonl":
        rows = _read_jsonl(path, src)
    elif fmt == "csv":
        rows = _read_csv(path, src)
    else:
        rows = _read_with_datasets(path, src, fmt)
    seen: set[str] = set()
    report = report if report is not None else ReadReport()
    while True:
        try:
            art = next(rows)
        except StopIteration:
            return
        except DataError:
            if on_error != "skip":
                raise
            report.skipped["unreadable record"] += 1
            continue
        problem = "empty article" if not art.text.strip() else \
            f"duplicate article id {art.id!r}" if art.id in seen else None
        if problem:
            if on_error == "skip":
                report.skipped[problem.split(" '")[0].split(" id")[0]] += 1
                continue
            raise DataError(problem, art.path, art.line)
        seen.add(art.id)
        yield art


def read_jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file, with located errors."""
    return jsonl_objects(path)
