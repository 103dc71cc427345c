"""Atomic writes: the one way stancekit puts a file or a directory on disk.

A file is written to a fresh temporary beside its target (`tempfile.mkstemp`:
`O_CREAT | O_EXCL`, so a symlink planted under the temporary's name is never followed)
and renamed over the target only once complete; on any error the temporary is removed
and the target is untouched. A directory (a dataset, an artifact version) is assembled
in a `.incomplete-*` directory and renamed into place. The assembling process holds an
exclusive `flock` on that directory while it works, so the next writer can tell a
directory left by a killed run (lock free) from one still being written (lock held)
and removes only the former. Files and directories get the permissions of the
user's umask, as `open()` and `mkdir` would give them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from .errors import OutputError

INCOMPLETE = ".incomplete-"


def _umask() -> int:
    """The process umask, read without changing it (Linux), else by the set-and-restore dance."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fail(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write ({exc.strerror or exc})")


class _Output:
    """The file object `open_atomic` yields: a failed write names the real target."""

    def __init__(self, fh: IO, path: Path) -> None:
        self._fh, self._path = fh, path

    def write(self, data: str | bytes) -> int:
        try:
            return self._fh.write(data)
        except OSError as exc:
            raise _fail(self._path, exc) from None

    def writelines(self, lines: Iterable[str | bytes]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._fh.flush()
        except OSError as exc:
            raise _fail(self._path, exc) from None

    def fileno(self) -> int:
        return self._fh.fileno()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh temporary file beside `path` (made with O_EXCL, never a planted link), for
    a library that writes by file name; renamed over `path` when the block completes,
    removed if it fails."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())
        os.close(fd)
    except OSError as exc:
        raise _fail(path, exc) from None
    try:
        yield Path(tmp)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise _fail(path, exc) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str], mode: str = "w") -> Iterator[_Output]:
    """A file object whose content replaces `path` only if the block completes.

    `mode` is "w" (text, UTF-8) or "wb". On an error inside the block, or while
    writing, the temporary is removed and `path` keeps its old content (or stays
    absent); write errors name `path`, never the temporary.
    """
    with atomic_path(path) as tmp:
        try:  # O_NOFOLLOW: the temporary swapped for a link meanwhile is refused
            fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        except OSError as exc:
            raise _fail(Path(path), exc) from None
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            out = _Output(fh, Path(path))
            yield out
            out.flush()
            try:
                os.fsync(fh.fileno())
            except OSError as exc:
                raise _fail(Path(path), exc) from None


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail now, naming `path`, when no file can be written there: before a long job, not
    after it (a temporary is made beside `path` and removed)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise _fail(path, exc) from None
    os.close(fd)
    _unlink_quietly(tmp)


def write_file(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write `data` to `path` atomically; return the path."""
    with open_atomic(path, "wb" if isinstance(data, bytes) else "w") as fh:
        fh.write(data)
    return Path(path)


def _unlink_quietly(path: str | os.PathLike[str]) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def clean_stale(parent: Path) -> list[Path]:
    """Remove `.incomplete-*` directories in `parent` that no live process is writing
    (their lock is free: the run that made them was killed). Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for d in entries:
        if not d.name.startswith(INCOMPLETE):
            continue
        try:
            fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue  # gone already, or not a real directory: not ours to touch
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live writer holds it
        try:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        finally:
            os.close(fd)
    return removed


class Scratch:
    """A `.incomplete-*` directory beside a final directory, locked while it is filled."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            clean_stale(parent)
            self.path = Path(tempfile.mkdtemp(prefix=INCOMPLETE, dir=parent))
            os.chmod(self.path, 0o777 & ~_umask())
            self._fd: int | None = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise _fail(parent, exc) from None

    def write(self, name: str, data: str | bytes) -> Path:
        """Write one file into the scratch directory (its own name, no subpaths)."""
        target = self.path / name
        try:
            mode = "wb" if isinstance(data, bytes) else "w"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            fd = os.open(target, flags, 0o666)
            with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
                fh.write(data)
        except OSError as exc:
            raise _fail(target, exc) from None
        return target

    def commit(self, final: Path) -> bool:
        """Rename into `final`; False (scratch kept) when `final` exists already."""
        try:
            os.rename(self.path, final)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) or final.exists():
                return False
            raise _fail(final, exc) from None
        self.release()
        return True

    def discard(self) -> None:
        """Remove the scratch directory and release its lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Fill a scratch directory, then rename it to `final` (which must not exist)."""
    final = Path(final)
    scratch = Scratch(final.parent)
    try:
        yield scratch.path
        if not scratch.commit(final):
            raise OutputError(f"{final}: exists already; choose another output directory")
    except BaseException:
        scratch.discard()
        raise
