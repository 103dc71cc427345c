"""Scale out on Dask: the same prediction as `predict --articles`, partition by partition
on a cluster (the `dask` extra: `pip install 'stancekit[dask]'`).

`predict_to_directory` plans partitions from the sources (a file each; a large JSONL
file in newline-aligned byte blocks; a parquet file by row groups; a directory of txt or
HTML files in groups of files), sends the model to every worker once, and has each
partition write one part (`part-00000.jsonl` ...) atomically. When every part is
written and no article id repeats across partitions, `_SUCCESS` is written last; a
failed run leaves no `_SUCCESS`. Concatenated in order, the parts hold exactly the rows
the single-process run writes.

`predict_articles` does the same for a Dask DataFrame of articles a user already holds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .config import ArticleSource
from .errors import ConfigError, DataError, OutputError
from .read import (Article, Unreadable, document, file_records, is_url, screen,
                   source_files)
from .runtime.model import Model
from .streaming import JsonlSink, ParquetSink, predict_articles as _predict_articles, row_sink

BLOCK_BYTES = 64 << 20      # a JSONL file larger than this is split into blocks of this size
FILES_PER_PARTITION = 256   # txt or HTML files read by one partition
SUCCESS = "_SUCCESS"


@dataclass(frozen=True)
class Partition:
    """One unit of work: a file, or a byte block or row-group range of one."""

    number: int
    path: str
    fmt: str
    source: ArticleSource
    files: tuple[tuple[str, str], ...] = ()   # (file, article id) for txt/html groups
    start: int = 0                           # byte block [start, end) of a JSONL file
    end: int | None = None
    row_groups: tuple[int, ...] = ()


@dataclass
class PartResult:
    """What a partition reports back: its ids (checked for repeats across partitions),
    rows written, records skipped."""

    number: int
    ids: list[str] = field(default_factory=list)
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def client_for(address: str) -> Any:
    """A Dask client: `local:N` starts a local cluster of N worker processes (one thread
    each); anything else is a scheduler address (`tcp://host:8786`)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--scheduler needs the dask extra: pip install 'stancekit[dask]'") from None
    if address.startswith("local:"):
        n = address.split(":", 1)[1]
        if not n.isdigit() or not 1 <= int(n) <= 512:
            raise ConfigError(f"--scheduler {address}: local:N needs N in 1..512")
        cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)
        return Client(cluster)
    try:
        return Client(address, timeout="20s")
    except OSError as exc:
        raise ConfigError(f"--scheduler {address}: cannot reach the scheduler ({exc})") from None


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """`client_for(address)`, closed (with its local cluster) on exit without the chatter
    `distributed` logs while it shuts down."""
    client = client_for(address)
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.nanny",
                                           "distributed.scheduler", "distributed.core")]
    try:
        yield client
    finally:
        levels = [lg.level for lg in quiet]
        for lg in quiet:
            lg.setLevel(logging.ERROR)
        try:
            cluster = client.cluster
            client.close()
            if cluster is not None:
                cluster.close()
        finally:
            for lg, level in zip(quiet, levels):
                lg.setLevel(level)


def _size(path: str) -> int:
    if is_url(path):
        from .read import _fs
        fs, name = _fs(path)
        return int(fs.size(name))
    return os.path.getsize(path)


def plan(sources: Sequence[ArticleSource], base: Path = Path("."),
         block_bytes: int = BLOCK_BYTES) -> list[Partition]:
    """The partitions of the sources, in input order (JSONL files in blocks of
    `block_bytes`)."""
    if block_bytes < 1:
        raise ConfigError(f"partition size must be positive, got {block_bytes}")
    parts: list[Partition] = []
    for src in sources:
        group: list[tuple[str, str]] = []
        for path, fmt, ident in source_files(src.path, src.format, base):
            if fmt in ("txt", "html"):
                group.append((path, ident or Path(path.split("://")[-1]).stem))
                if len(group) >= FILES_PER_PARTITION:
                    parts.append(Partition(len(parts), path, fmt, src, tuple(group)))
                    group = []
                continue
            if group:
                parts.append(Partition(len(parts), group[0][0], "files", src, tuple(group)))
                group = []
            if fmt == "jsonl" and (size := _size(path)) > block_bytes:
                for start in range(0, size, block_bytes):
                    parts.append(Partition(len(parts), path, fmt, src, start=start,
                                           end=min(start + block_bytes, size)))
            elif fmt == "parquet":
                parts.extend(Partition(len(parts) + k, path, fmt, src, row_groups=groups)
                             for k, groups in enumerate(_row_group_ranges(path)))
            else:
                parts.append(Partition(len(parts), path, fmt, src))
        if group:
            parts.append(Partition(len(parts), group[0][0], "files", src, tuple(group)))
    return [Partition(i, p.path, p.fmt, p.source, p.files, p.start, p.end, p.row_groups)
            for i, p in enumerate(parts)]


def _row_group_ranges(path: str, rows_per_partition: int = 50_000) -> list[tuple[int, ...]]:
    import pyarrow.parquet as pq
    from .read import _open
    meta = pq.ParquetFile(_open(path)).metadata
    out: list[tuple[int, ...]] = []
    current: list[int] = []
    rows = 0
    for g in range(meta.num_row_groups):
        current.append(g)
        rows += meta.row_group(g).num_rows
        if rows >= rows_per_partition:
            out.append(tuple(current))
            current, rows = [], 0
    if current or not out:
        out.append(tuple(current))
    return out


def _jsonl_block(part: Partition) -> Iterator[Article | Unreadable]:
    """The records of a JSONL byte block: the lines that start inside [start, end). A
    line's number is counted only when an error has to name it."""
    from .inputs import MAX_LINE_BYTES, parse_json
    from .read import _open
    with _open(part.path) as fh:
        if part.start:
            fh.seek(part.start - 1)
            if fh.read(1) != b"\n":
                fh.readline()  # the line that began in the block before belongs to it
        while fh.tell() < (part.end or 0):
            at = fh.tell()
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            try:
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    raise DataError(f"line longer than {MAX_LINE_BYTES} bytes", part.path)
                text = raw.decode("utf-8").rstrip("\r\n")
                if not text.strip():
                    continue
                row = parse_json(text, part.path)
                if not isinstance(row, dict):
                    raise DataError(f"expected a JSON object, got {type(row).__name__}", part.path)
                yield document(row, part.source, part.path, None)
            except UnicodeDecodeError:
                yield Unreadable(DataError("not valid UTF-8", part.path, _line_of(part.path, at)))
            except DataError as exc:
                yield Unreadable(DataError(exc.detail, part.path, _line_of(part.path, at),
                                           exc.field))


def _line_of(path: str, offset: int) -> int:
    """The line number at a byte offset (counted only when an error needs it)."""
    from .read import _open
    n, left = 1, offset
    with _open(path) as fh:
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            n += chunk.count(b"\n")
            left -= len(chunk)
    return n


def _parquet_groups(part: Partition) -> Iterator[Article | Unreadable]:
    import pyarrow.parquet as pq
    from .read import _open
    src = part.source
    pf = pq.ParquetFile(_open(part.path))
    meta = pf.metadata
    first = sum(meta.row_group(g).num_rows for g in range(part.row_groups[0])) if part.row_groups else 0
    names = set(pf.schema_arrow.names)
    columns = [c for c in (src.id_field, src.title_field, src.text_field) if c and c in names]
    n = first
    for g in part.row_groups:
        for row in pf.read_row_group(g, columns=columns).to_pylist():
            n += 1
            try:
                yield document(row, src, part.path, n)
            except DataError as exc:
                yield Unreadable(exc)


def partition_articles(part: Partition) -> Iterator[Article | Unreadable]:
    """The articles (or unreadable records) of one partition, in input order."""
    if part.fmt in ("txt", "html", "files"):
        for path, ident in part.files:
            fmt = part.fmt if part.fmt != "files" else ("html" if path.lower().endswith(
                (".html", ".htm")) else "txt")
            yield from file_records(path, fmt, part.source, ident)
    elif part.fmt == "jsonl" and part.end is not None:
        yield from _jsonl_block(part)
    elif part.fmt == "parquet" and part.row_groups:
        yield from _parquet_groups(part)
    else:
        yield from file_records(part.path, part.fmt, part.source)


def _part_name(out: str, number: int, fmt: str) -> str:
    return f"{out.rstrip('/')}/part-{number:05d}.{fmt}"


def run_partition(model: Model, part: Partition, out: str, fmt: str, on_error: str,
                  explain: bool) -> PartResult:
    """Score one partition and write its part file (atomically where the output is local)."""
    result = PartResult(part.number)
    skipped: dict[str, int] = {}

    def articles() -> Iterator[Article]:
        for item in screen(partition_articles(part), on_error, skipped):
            result.ids.append(item.id)
            yield item

    target = _part_name(out, part.number, fmt)
    with _part_sink(target, fmt, model.labels, explain) as sink:
        batch: list[dict[str, Any]] = []
        for row in _predict_articles(model, articles(), explain):
            batch.append(row)
            if len(batch) >= 1024:
                sink.write(batch)
                result.rows += len(batch)
                batch = []
        sink.write(batch)
        result.rows += len(batch)
    result.skipped = skipped
    return result


def _part_sink(target: str, fmt: str, labels: Sequence[str], explain: bool) -> Any:
    """Where a part's rows go: a local file written atomically, as `predict --output`
    writes one (parquet by its suffix), or an object-store file written in one PUT."""
    if is_url(target):
        return _remote_sink(target, fmt, labels, explain)
    return row_sink(target, fmt, labels, explain=explain)


@contextlib.contextmanager
def _remote_sink(target: str, fmt: str, labels: Sequence[str], explain: bool) -> Iterator[Any]:
    from .read import _fs
    fs, name = _fs(target)
    with fs.open(name, "wb") as fh:  # an object store's PUT lands whole or not at all
        if fmt == "parquet":
            sink = ParquetSink(fh, labels, explain)
            try:
                yield sink
            finally:
                sink.close()
        else:
            import io
            text = io.TextIOWrapper(fh, encoding="utf-8")
            yield JsonlSink(text)
            text.flush()
            text.detach()


def _prepare(out: str) -> None:
    """The output directory must be new or empty: parts of two runs never mix."""
    if is_url(out):
        from .read import _fs
        fs, name = _fs(out)
        if fs.exists(name) and fs.ls(name):
            raise OutputError(f"{out}: exists and is not empty; choose a new output directory")
        fs.makedirs(name, exist_ok=True)
        return
    p = Path(out)
    if p.exists() and (not p.is_dir() or any(p.iterdir())):
        raise OutputError(f"{out}: exists and is not an empty directory; choose a new output "
                          "directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create ({exc.strerror})") from None


def _write_success(out: str, summary: dict[str, Any]) -> None:
    text = json.dumps(summary, indent=2) + "\n"
    if is_url(out):
        from .read import _fs
        fs, name = _fs(out)
        with fs.open(f"{name.rstrip('/')}/{SUCCESS}", "w") as fh:
            fh.write(text)
    else:
        from .atomic import write_file
        write_file(Path(out) / SUCCESS, text)


def predict_to_directory(model: Model, sources: Sequence[ArticleSource], out: str, client: Any,
                         fmt: str = "jsonl", on_error: str = "raise", explain: bool = False,
                         base: Path = Path("."), log: Callable[[str], None] = lambda m: None,
                         block_bytes: int = BLOCK_BYTES) -> dict[str, Any]:
    """Run `predict --articles` on a Dask cluster: one part file per partition in `out`,
    then `_SUCCESS`. Returns the summary written into `_SUCCESS`."""
    if fmt not in ("jsonl", "parquet"):
        raise ConfigError(f"parts are jsonl or parquet, not {fmt!r}")
    parts = plan(sources, base, block_bytes)
    _prepare(out)
    log(f"{len(parts)} partitions on {len(client.scheduler_info().get('workers', {}))} workers")
    shared = client.scatter(model, broadcast=True)  # sent once to each worker
    futures = client.map(run_partition, [shared] * len(parts), parts, [out] * len(parts),
                         [fmt] * len(parts), [on_error] * len(parts), [explain] * len(parts),
                         pure=False)
    try:
        results: list[PartResult] = client.gather(futures)
    except DataError:
        client.cancel(futures)
        raise
    except Exception as exc:  # a worker's error arrives re-raised; keep its message
        client.cancel(futures)
        raise DataError(f"a partition failed: {exc.__class__.__name__}: {exc}") from None
    first: dict[str, int] = {}
    for res in results:
        for ident in res.ids:
            if ident in first:
                raise DataError(f"duplicate article id {ident!r} (partitions {first[ident]} and "
                                f"{res.number}); no {SUCCESS} written")
            first[ident] = res.number
    skipped: dict[str, int] = {}
    for res in results:
        for k, v in res.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
    summary = {"partitions": len(parts), "articles": len(first),
               "sentences": sum(r.rows for r in results), "skipped": skipped,
               "parts": [os.path.basename(_part_name(out, p.number, fmt)) for p in parts]}
    _write_success(out, summary)
    return summary


def predict_articles(ddf: Any, model: Model, id_column: str = "id",
                     title_column: str | None = "title", text_column: str = "text") -> Any:
    """Sentence rows for a Dask DataFrame of articles: one output row per sentence
    (article_id, index, start, end, text, labels, scores), partition by partition, the
    model shipped to each worker once."""
    import dask
    import pandas as pd
    src = ArticleSource(path="<dataframe>", id_field=id_column, title_field=title_column,
                        text_field=text_column)
    meta = pd.DataFrame({"article_id": pd.Series(dtype=object), "index": pd.Series(dtype="int64"),
                         "start": pd.Series(dtype="int64"), "end": pd.Series(dtype="int64"),
                         "text": pd.Series(dtype=object), "labels": pd.Series(dtype=object),
                         "scores": pd.Series(dtype=object)})
    # one key for the model, sent to each worker once (pure=False: naming it by content
    # would hash every weight)
    return ddf.map_partitions(_score_frame, dask.delayed(model, pure=False), src, meta=meta)


def _score_frame(frame: Any, model: Model, src: ArticleSource) -> Any:
    import pandas as pd
    articles = [document(row, src, "<dataframe>", None) for row in frame.to_dict("records")]
    rows = list(_predict_articles(model, articles))
    return pd.DataFrame(rows, columns=["article_id", "index", "start", "end", "text", "labels",
                                       "scores"])
