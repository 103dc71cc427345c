"""Opening input files: the one place that decides what stancekit will read.

A file read whole (a config, an article, an annotation export) must be a regular file
of bounded size: a FIFO with no writer would block forever, `/dev/zero` never ends. A
stream read line by line (`predict --input`, JSONL) may also be a pipe or a FIFO, but
not a directory, a device or a socket, and no line may be longer than a bound, so
memory stays flat whatever arrives. JSON text is parsed by `parse_json`, which turns
every way `json` can fail (deep nesting, integers of thousands of digits, lone
surrogates) into a located DataError.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import IO, Any, Iterator

from .errors import DataError

MAX_LINE_BYTES = 64 << 20     # one line of a streamed input (a long article in JSONL)
MAX_FILE_BYTES = 1 << 30      # a file read whole
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_input(path: str | os.PathLike[str], stream: bool = False) -> IO[bytes]:
    """Open `path` for binary reading; "-" is standard input when `stream` is set.

    Refuses (DataError naming the path) what cannot be read as asked: a missing file, no
    permission, a directory or a device; a FIFO or pipe unless `stream`.
    """
    if stream and str(path) == "-":
        stdin = sys.stdin
        if stdin is None or stdin.closed:
            raise DataError("standard input is closed", "<stdin>")
        return stdin.buffer
    try:
        # Non-blocking, so that opening a FIFO with no writer returns at once and can be
        # refused (or reopened to wait for its writer, when a stream is wanted).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (FileNotFoundError, PermissionError) as exc:
        raise DataError(str(exc.strerror), path) from None
    except OSError as exc:
        raise DataError(f"cannot open ({exc.strerror})", path) from None
    kind = _kind(os.fstat(fd).st_mode)
    if kind is not None and not (stream and kind == "a FIFO"):
        os.close(fd)
        raise DataError(f"is {kind}, not a {'regular file or pipe' if stream else 'regular file'}",
                        path)
    if kind == "a FIFO":
        os.close(fd)
        return open(path, "rb")  # noqa: SIM115 - waits for the writer; the caller closes it
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bytes(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes."""
    with open_input(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"larger than {limit} bytes", path)
    return data


def read_text(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file; invalid bytes are an error naming their line."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"not valid UTF-8 (byte {exc.start})", path, line) from None


def lines(fh: IO[bytes], name: object, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """(line number, text without its line ending) for each line of a binary stream, each
    at most `limit` bytes; bytes that are not UTF-8 are an error naming the line."""
    n = 0
    while True:
        raw = fh.readline(limit + 1)
        if not raw:
            return
        n += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            raise DataError(f"line longer than {limit} bytes", name, n)
        try:
            yield n, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise DataError("not valid UTF-8", name, n) from None


def parse_json(text: str, name: object, line: int | None = None) -> Any:
    """`json.loads` with every failure a DataError naming the file and line: invalid JSON,
    nesting too deep, integers too long to convert, and lone surrogates (text that is
    not Unicode, which no output could encode)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON ({exc.msg})", name, line if line is not None else exc.lineno
                        ) from None
    except RecursionError:
        raise DataError("JSON nested too deeply", name, line) from None
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise DataError(f"invalid JSON value ({str(exc).split(';')[0]})", name, line) from None
    if _SURROGATE_ESCAPE.search(text):
        _no_lone_surrogates(value, name, line)
    return value


def _no_lone_surrogates(value: Any, name: object, line: int | None) -> None:
    """DataError if a parsed JSON value holds a lone surrogate (text no output can encode)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise DataError("holds a lone surrogate escape (\\ud800-\\udfff): not valid "
                        "Unicode text", name, line) from None
    except RecursionError:
        raise DataError("JSON nested too deeply", name, line) from None


def json_array_items(text: str, name: object) -> Iterator[tuple[int, Any]]:
    """The elements of a JSON array document, each with the line it starts on; anything
    but whitespace after the closing bracket, or a missing bracket, is an error."""
    decoder = json.JSONDecoder()
    seen, line = 0, 1  # lines are counted incrementally: one pass over the text

    def line_at(pos: int) -> int:
        nonlocal seen, line
        line += text.count("\n", seen, pos)
        seen = pos
        return line

    pos = _skip_space(text, 0)
    if text[pos:pos + 1] != "[":
        raise DataError("expected a JSON array ('[' ...)", name, line_at(pos))
    pos = _skip_space(text, pos + 1)
    first = True
    while True:
        if pos >= len(text):
            raise DataError("the JSON array is not closed (no final ']')", name, line_at(pos))
        if text[pos] == "]":
            break
        if not first:
            if text[pos] != ",":
                raise DataError("expected ',' or ']' between array items", name, line_at(pos))
            pos = _skip_space(text, pos + 1)
        start = pos
        at = line_at(pos)
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON ({exc.msg})", name, exc.lineno) from None
        except RecursionError:
            raise DataError("JSON nested too deeply", name, at) from None
        except ValueError as exc:
            raise DataError(f"invalid JSON value ({str(exc).split(';')[0]})", name, at) from None
        if _SURROGATE_ESCAPE.search(text, start, pos):
            _no_lone_surrogates(item, name, at)
        yield at, item
        first = False
        pos = _skip_space(text, pos)
    end = _skip_space(text, pos + 1)
    if end < len(text):
        raise DataError("unexpected text after the closing ']'", name, line_at(end))


_SPACE = re.compile(r"[ \t\r\n]*")


def _skip_space(text: str, pos: int) -> int:
    m = _SPACE.match(text, pos)
    return m.end() if m else pos


def jsonl_objects(path: str | os.PathLike[str], stream: bool = False
                  ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file, with located errors."""
    name = "<stdin>" if stream and str(path) == "-" else path
    fh = open_input(path, stream)
    try:
        for n, text in lines(fh, name):
            if not text.strip():
                continue
            row = parse_json(text, name, n)
            if not isinstance(row, dict):
                raise DataError(f"expected a JSON object, got {type(row).__name__}", name, n)
            yield n, row
    finally:
        if fh is not getattr(sys.stdin, "buffer", None):
            fh.close()


def is_regular(path: Path) -> bool:
    """Whether `path` is a regular file (following a symlink, as reading does)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False
