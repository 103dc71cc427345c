"""Reading raw articles from the sources a user names: files, directories and globs, local
or fsspec URLs (`s3://...`), as txt, HTML, JSONL, CSV, JSON or parquet.

Every article becomes one document string; a title, when present, is its first line
(the headline), so sentence offsets always point into that document. HTML pages go
through trafilatura, the field's standard extractor: navigation, scripts, cookie
banners and link lists are left out, and offsets point into the extracted text.
Every reader streams (a parquet file by record batches, JSONL and CSV line by line), so
memory does not grow with the size of a source. A record that cannot be read is
reported with its file, line and field; whether that stops the run or is counted and
skipped is the caller's `on_error`.
"""

from __future__ import annotations

import csv
import glob
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, MutableMapping

from .config import ArticleSource
from .errors import DataError
from .inputs import json_array_items, jsonl_objects, lines, open_input, parse_json, read_bytes

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "json",
            ".parquet": "parquet", ".txt": "txt", ".html": "html", ".htm": "html"}
SOURCE_FORMATS = ("auto", "txt", "html", "jsonl", "csv", "json", "parquet")
# Formats whose file is one article (a directory of them is a collection).
ONE_PER_FILE = ("txt", "html")
# A CSV field holds a whole article: far past the csv module's 131,072-character default.
CSV_FIELD_LIMIT = 256 << 20


@dataclass(frozen=True)
class Article:
    """A raw article: its id, its full text, and where it came from (file, line)."""

    id: str
    text: str
    path: str
    line: int | None = None


@dataclass(frozen=True)
class Unreadable:
    """A record that could not be read: what a reader yields instead of raising, so the
    caller can skip it (`on_error: skip`) and the reader go on with the next record."""

    error: DataError


@dataclass
class ReadReport:
    """Records skipped (only where the config allows skipping), by reason, and unlabelled
    articles left out because they repeat a gold story (`split.same_story`)."""

    skipped: Counter = field(default_factory=Counter)
    same_story: int = 0

    def as_dict(self) -> dict:
        return {"skipped": dict(self.skipped), "total": sum(self.skipped.values()),
                "unlabelled_same_story": self.same_story}


# -- where the files are ------------------------------------------------------------------

def is_url(path: str) -> bool:
    """Whether a source is an fsspec URL (`s3://bucket/key`, `gs://...`, `file://...`)."""
    return "://" in path


def _fs(url: str) -> Any:
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec comes with datasets
        raise DataError("reading URLs needs fsspec: pip install fsspec", url) from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise DataError(f"cannot open this URL ({str(exc).splitlines()[0][:120]}; for s3:// "
                        "install 'stancekit[s3]', for gs:// 'stancekit[gcs]')", url) from None


def source_files(path: str, fmt: str, base: Path = Path(".")) -> list[tuple[str, str, str]]:
    """(file, format, article id prefix) for every file a source names, in a stable order:
    one file; a directory (its .txt and .html files, recursively, sorted); or a glob."""
    if is_url(path):
        fs, root = _fs(path)
        protocol = path.split("://", 1)[0]
        names = sorted(fs.glob(root)) if glob.has_magic(root) else [root]
        if not names:
            raise DataError("no files match", path)
        out = []
        for name in names:
            url = f"{protocol}://{name}" if not name.startswith(f"{protocol}://") else name
            if fs.isdir(name):
                raise DataError("a directory URL: name its files with a glob (.../*.jsonl)", url)
            out.append((url, detect_format(url, fmt), ""))
        return out
    p = Path(path) if Path(path).is_absolute() else base / path
    if glob.has_magic(str(p)):
        names = sorted(glob.glob(str(p), recursive=True))
        files = [n for n in names if not os.path.isdir(n)]
        if not files:
            raise DataError("no files match", p)
        return [(f, detect_format(f, fmt), "") for f in files]
    if p.is_dir():
        wanted = (fmt,) if fmt in ONE_PER_FILE else ONE_PER_FILE
        suffixes = tuple(s for s, f in SUFFIXES.items() if f in wanted)
        files = _walk(p, suffixes)
        return [(str(f), SUFFIXES[f.suffix.lower()] if fmt == "auto" else fmt,
                 f.relative_to(p).with_suffix("").as_posix()) for f in files]
    if not p.exists():
        raise DataError("article source not found", p)
    return [(str(p), detect_format(str(p), fmt), "")]


def _walk_error(exc: OSError) -> None:
    raise DataError(f"cannot read directory ({exc.strerror})", exc.filename) from None


def _walk(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The files with one of `suffixes` under a directory, sorted; an unreadable
    subdirectory is an error, never a silently smaller corpus."""
    out: list[Path] = []
    for top, dirs, files in os.walk(path, onerror=_walk_error):
        dirs.sort()
        out.extend(Path(top) / f for f in files if f.lower().endswith(suffixes))
    return sorted(out)


def detect_format(path: str, fmt: str = "auto") -> str:
    """The format of one file: as configured, else by suffix, else by its first bytes
    (an HTML page, a JSON array, JSON lines; plain text otherwise)."""
    if fmt != "auto":
        return fmt
    suffix = os.path.splitext(path.split("?")[0])[1].lower()
    if suffix in SUFFIXES and suffix != ".txt":
        return SUFFIXES[suffix]
    head = _head(path)
    if looks_like_html(head):
        return "html"
    if suffix == ".txt" or not head.strip():
        return "txt"
    first = head.lstrip()[:1]
    return "json" if first == b"[" else "jsonl" if first == b"{" else "txt"


def _head(path: str, size: int = 2048) -> bytes:
    if is_url(path):
        fs, name = _fs(path)
        with fs.open(name, "rb") as fh:
            return bytes(fh.read(size))
    with open_input(path) as fh:
        return fh.read(size)


def looks_like_html(head: bytes | str) -> bool:
    """Whether a document's first bytes are an HTML page's."""
    text = (head.decode("utf-8", "replace") if isinstance(head, bytes) else head)[:4096].lower()
    start = text.lstrip("\ufeff \t\r\n")
    return start.startswith(("<!doctype html", "<html")) or \
        (start.startswith("<") and ("<html" in text or "<body" in text))


# -- records to articles -------------------------------------------------------------------

def _field_text(row: dict[str, Any], name: str, where: tuple[object, int | None]) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DataError(f"must be a string, got {type(value).__name__}", where[0], where[1], name)
    return value


def document(row: dict[str, Any], src: ArticleSource, path: object, line: int | None) -> Article:
    """An Article from a record, checking the configured fields (the title, when there is
    one, becomes the headline)."""
    for name in (src.id_field, src.text_field):
        if name not in row or row[name] is None:
            raise DataError("missing field", path, line, name)
    ident = row[src.id_field]
    if not isinstance(ident, (str, int)) or isinstance(ident, bool):
        raise DataError(f"must be a string or an integer, got {type(ident).__name__}", path, line,
                        src.id_field)
    text = _field_text(row, src.text_field, (path, line)) or ""
    title = _field_text(row, src.title_field, (path, line)) if src.title_field else None
    doc = f"{title.strip()}\n\n{text}" if title and title.strip() else text
    return Article(str(ident), doc, str(path), line)


def html_document(html: str, ident: str, path: object) -> Article:
    """The article of an HTML page: trafilatura's title (as the headline) and main text."""
    try:
        import trafilatura
    except ImportError:  # pragma: no cover - a dependency of stancekit
        raise DataError("reading HTML needs trafilatura: pip install trafilatura", path) from None
    try:
        doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                          include_tables=False)
    except (ValueError, TypeError, RecursionError) as exc:
        raise DataError(f"cannot parse the HTML ({exc.__class__.__name__})", path) from None
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise DataError("no article text found in the HTML page", path)
    title = (getattr(doc, "title", None) or "").strip()
    return Article(ident, f"{title}\n\n{text}" if title else text, str(path), 1)


def _open(path: str) -> IO[bytes]:
    if is_url(path):
        fs, name = _fs(path)
        return fs.open(name, "rb")
    return open_input(path)


def _read_whole(path: str) -> str:
    if is_url(path):
        with _open(path) as fh:
            data = fh.read()
    else:
        data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"not valid UTF-8 (byte {exc.start})", path, line) from None


def _records_jsonl(path: str, src: ArticleSource) -> Iterator[Article | Unreadable]:
    fh = _open(path)
    with fh:
        for n, text in lines(fh, path):
            if not text.strip():
                continue
            try:
                row = parse_json(text, path, n)
                if not isinstance(row, dict):
                    raise DataError(f"expected a JSON object, got {type(row).__name__}", path, n)
                yield document(row, src, path, n)
            except DataError as exc:
                yield Unreadable(exc)


def _records_json(path: str, src: ArticleSource) -> Iterator[Article | Unreadable]:
    text = _read_whole(path)
    if not text.lstrip().startswith("["):  # JSON lines in a .json file, as `datasets` reads them
        yield from _records_jsonl(path, src)
        return
    for n, row in json_array_items(text, path):
        if not isinstance(row, dict):
            yield Unreadable(DataError(f"expected a JSON object, got {type(row).__name__}", path, n))
            continue
        try:
            yield document(row, src, path, n)
        except DataError as exc:
            yield Unreadable(exc)


def _records_csv(path: str, src: ArticleSource) -> Iterator[Article | Unreadable]:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)  # module-wide, only ever raised
    fh = io.TextIOWrapper(_open(path), encoding="utf-8", newline="")
    with fh:
        reader = csv.DictReader(fh, strict=True)
        try:
            for row in reader:
                if None in row:
                    width = len(reader.fieldnames or [])
                    yield Unreadable(DataError(f"{len(row[None]) + width} fields, the header "
                                               f"names {width}", path, reader.line_num))
                    continue
                try:
                    yield document(row, src, path, reader.line_num)
                except DataError as exc:
                    yield Unreadable(exc)
        except UnicodeDecodeError:
            raise DataError("not valid UTF-8", path, reader.line_num + 1) from None
        except csv.Error as exc:  # the file's structure is broken: nothing after it is sure
            raise DataError(f"malformed CSV ({exc})", path, reader.line_num) from None


def _records_parquet(path: str, src: ArticleSource) -> Iterator[Article | Unreadable]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow comes with datasets
        raise DataError("reading parquet needs pyarrow: pip install pyarrow", path) from None
    try:
        pf = pq.ParquetFile(_open(path))
    except Exception as exc:  # pyarrow raises several types for a file it cannot read
        raise DataError(f"cannot read as parquet ({str(exc).splitlines()[0][:160]})", path) from None
    names = set(pf.schema_arrow.names)
    for name in (src.id_field, src.text_field):
        if name not in names:
            raise DataError("missing column", path, None, name)
    columns = [c for c in (src.id_field, src.title_field, src.text_field) if c and c in names]
    n = 0
    for batch in pf.iter_batches(batch_size=1024, columns=columns):
        for row in batch.to_pylist():
            n += 1
            try:
                yield document(row, src, path, n)
            except DataError as exc:
                yield Unreadable(exc)


def _records_one_file(path: str, fmt: str, ident: str) -> Iterator[Article | Unreadable]:
    try:
        text = _read_whole(path)
        yield html_document(text, ident, path) if fmt == "html" else Article(ident, text, path, 1)
    except DataError as exc:
        yield Unreadable(exc if exc.path is not None else DataError(exc.detail, path))


_READERS = {"jsonl": _records_jsonl, "json": _records_json, "csv": _records_csv,
            "parquet": _records_parquet}


def file_records(path: str, fmt: str, src: ArticleSource, ident: str = ""
                 ) -> Iterator[Article | Unreadable]:
    """The articles of one file, or an `Unreadable` for each record that cannot be read."""
    if fmt in ONE_PER_FILE:
        yield from _records_one_file(path, fmt, ident or Path(path.split("://")[-1]).stem)
    elif fmt in _READERS:
        yield from _READERS[fmt](path, src)
    else:
        raise DataError(f"unknown format {fmt!r} (one of {', '.join(sorted(set(SUFFIXES.values())))})",
                        path)


def screen(items: Iterable[Article | Unreadable], on_error: str,
           skipped: MutableMapping[str, int]) -> Iterator[Article]:
    """The readable articles of `items`, checked for empty texts and repeated ids; an
    unreadable or failing record raises (`on_error: raise`) or is counted in `skipped`."""
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Unreadable):
            if on_error != "skip":
                raise item.error
            skipped["unreadable record"] = skipped.get("unreadable record", 0) + 1
            continue
        problem = "empty article" if not item.text.strip() else \
            "duplicate article" if item.id in seen else None
        if problem:
            if on_error == "skip":
                skipped[problem] = skipped.get(problem, 0) + 1
                continue
            raise DataError(problem + (f" id {item.id!r}" if "duplicate" in problem else ""),
                            item.path, item.line)
        seen.add(item.id)
        yield item


def iter_articles(src: ArticleSource, base: Path, on_error: str = "raise",
                  report: ReadReport | None = None) -> Iterator[Article]:
    """Yield the articles of one source in order, screened (`screen`)."""
    report = report if report is not None else ReadReport()
    yield from screen((item for path, fmt, ident in source_files(src.path, src.format, base)
                       for item in file_records(path, fmt, src, ident)), on_error, report.skipped)


def read_jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file, with located errors."""
    return jsonl_objects(path)


def read_sources(sources: Iterable[ArticleSource], base: Path = Path("."), on_error: str = "raise",
                 report: ReadReport | None = None) -> Iterator[Article]:
    """The articles of several sources, in the order given (ids unique across all)."""
    seen: dict[str, str] = {}
    for src in sources:
        for art in iter_articles(src, base, on_error, report):
            if art.id in seen:
                if on_error == "skip" and report is not None:
                    report.skipped["duplicate article"] += 1
                    continue
                raise DataError(f"duplicate article id {art.id!r} (also in {seen[art.id]})",
                                art.path, art.line)
            seen[art.id] = art.path
            yield art
