"""Hostile and careless input, kept together and table-driven: every case is a one-line
error with exit code 2 (1 for a failed check), names the file, line or setting at
fault, writes nothing outside where it was asked, and leaves nothing half written."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import stancekit
from stancekit.errors import ArtifactError, DataError

from conftest import ROOT, run_cli

DEEP_YAML = "seed: 13\nmodel: " + "[" * 5000 + "]" * 5000 + "\n"
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}]\n" for i in range(9)) + "unknown_key: *j\n"
HUGE_INT = "9" * 5000


def _assert_one_line_error(res: subprocess.CompletedProcess, code: int, *parts: str) -> None:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == code, res.stderr
    assert lines and lines[-1].startswith("stancekit: error: "), res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
    for part in parts:
        assert part in lines[-1], (part, lines[-1])


# -- config: values and YAML ---------------------------------------------------------

@pytest.mark.parametrize("override, message", [
    ("numbers.floor=.nan", "'numbers.floor' must be a finite number"),
    ("numbers.floor=.inf", "'numbers.floor' must be a finite number"),
    ("model.C=.nan", "'model.C' must be a finite number"),
    ("model.C=.inf", "'model.C' must be a finite number"),
    ("features.neighbour_weight=-.inf", "must be a finite number"),
    ("model.max_iter=-1", "'model.max_iter' must be in 1..1000000"),
    ("seed=-1", "'seed' must be in 0..4294967295"),
    ("seed=99999999999", "'seed' must be in 0..4294967295"),
    (f"seed={HUGE_INT}", "cannot parse value"),
    ("thresholds.grid=0", "'thresholds.grid' must be in 1..10000"),
    ("cleaning.extra_patterns=['(']", "invalid regular expression '('"),
    ("cleaning.credit_patterns=['[a-']", "invalid regular expression"),
    ("output.name=../../../../elsewhere/x", "must be letters, digits"),
    ("output.name=/tmp/elsewhere", "must be letters, digits"),
    ("search.folds=1", "'search.folds' must be at least 2"),
])
def test_bad_config_values(workdir: Path, tmp_path: Path, override: str, message: str) -> None:
    for command in ("train", "build"):
        res = run_cli(command, "configs/default.yaml", "--set", override,
                      "--set", f"output.dir={tmp_path}", cwd=workdir)
        _assert_one_line_error(res, 2, message, f"--set {override}"[:40])
    assert list(tmp_path.iterdir()) == []  # refused before any work


@pytest.mark.parametrize("text, message", [
    (ALIAS_BOMB, "x.yaml:2: YAML aliases (*a) are not accepted"),
    (DEEP_YAML, "nested deeper than 32 levels"),
    (f"seed: {HUGE_INT}\n", "x.yaml: invalid YAML value (Exceeds the limit"),
    ("seed: [\n", "x.yaml:2: invalid YAML"),
    ("x" * (2 << 20), "larger than 1048576 bytes"),
])
def test_hostile_yaml(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "x.yaml"
    cfg.write_text(text)
    res = run_cli("train", str(cfg), "--set", f"output.dir={tmp_path}/out")
    _assert_one_line_error(res, 2, message)


def test_cv_seeds_out_of_range(workdir: Path) -> None:
    for seeds in ("-1", "4294967296", f"13,{HUGE_INT}"):
        res = run_cli("train", "configs/default.yaml", "--cv", "--seeds", seeds, cwd=workdir)
        _assert_one_line_error(res, 2, "seed")


# -- data files ------------------------------------------------------------------------

def _jsonl_cases() -> list[tuple[str, str]]:
    good = {"article_id": "a", "index": 0, "text": "Hello there.", "labels": []}
    return [
        (json.dumps(good).replace('"index": 0', '"index": ' + HUGE_INT), ":1: invalid JSON value (Exceeds"),
        ('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}", ":1: JSON nested too deeply"),
        (json.dumps(good)[:-1] + ', "note": "\\ud800"}', ":1: holds a lone surrogate"),
        (json.dumps(dict(good, text="bad \\udfff end")).replace("\\\\udfff", "\\udfff"),
         ":1: holds a lone surrogate"),
    ]


@pytest.mark.parametrize("line, message", _jsonl_cases())
def test_hostile_jsonl_everywhere(workdir: Path, trained: Path, tmp_path: Path, line: str,
                                  message: str) -> None:
    """Gold for training, data for evaluation and input for prediction read JSON alike."""
    path = tmp_path / "in.jsonl"
    path.write_text(line + "\n")
    res = run_cli("train", "configs/default.yaml", "--set", f"data.gold=[{path}]",
                  "--set", "data.gold_requires_article=false", "--set", f"output.dir={tmp_path}/o",
                  cwd=workdir)
    _assert_one_line_error(res, 2, "in.jsonl" + message)
    _assert_one_line_error(run_cli("evaluate", str(trained), str(path)), 2, "in.jsonl" + message)
    _assert_one_line_error(run_cli("predict", str(trained), "--input", str(path)), 2,
                           "in.jsonl" + message)


def test_devices_fifos_and_directories_as_inputs(trained: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    _assert_one_line_error(run_cli("predict", str(trained), "--article", str(fifo)), 2,
                           "fifo.txt: is a FIFO, not a regular file")
    _assert_one_line_error(run_cli("predict", str(trained), "--input", "/dev/zero"), 2,
                           "/dev/zero: is a device")
    _assert_one_line_error(run_cli("predict", str(trained), "--input", str(tmp_path)), 2,
                           "is a directory")
    _assert_one_line_error(run_cli("train", "/dev/zero"), 2, "/dev/zero: is a device")


def test_fifo_streams_into_predict(trained: Path, tmp_path: Path) -> None:
    """A FIFO is a fine stream for --input (process substitution makes one)."""
    fifo = tmp_path / "feed"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("Turnout was 61%.\nHe denied it.\n"))
    writer.start()
    res = run_cli("predict", str(trained), "--input", str(fifo))
    writer.join()
    assert res.returncode == 0 and len(res.stdout.splitlines()) == 2


def test_closed_standard_streams(trained: Path) -> None:
    exe = Path(sys.executable).parent / "stancekit"
    res = subprocess.run([str(exe), "predict", str(trained), "--input", "-"], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout == ""  # empty stdin: nothing to do
    res = subprocess.run(f"{exe} predict {trained} --input - <&-", shell=True, capture_output=True,
                         text=True)
    _assert_one_line_error(res, 2, "<stdin>: standard input is closed")
    res = subprocess.run(f"{exe} predict {trained} 'He denied it.' >&-", shell=True,
                         capture_output=True, text=True)
    _assert_one_line_error(res, 2, "standard output is closed")


def test_unreadable_article_directory_is_an_error(workdir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A subdirectory the OS will not list is an error, not a smaller corpus. (The suite
    may run as root, whom permissions do not stop, so the OS's refusal is simulated.)"""
    arts = tmp_path / "arts"
    shutil.copytree(ROOT / "data/articles", arts / "a")
    (arts / "locked").mkdir()
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if str(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]
    monkeypatch.setattr(os, "scandir", scandir)
    res = run_cli("build", "configs/default.yaml", "--set", f"data.articles=[{arts}]",
                  "--set", f"output.dir={tmp_path}/out", cwd=workdir)
    _assert_one_line_error(res, 2, "locked: cannot read directory (Permission denied)")


def test_long_csv_articles_are_read_and_bad_quoting_refused(tmp_path: Path) -> None:
    from stancekit.config import ArticleSource
    from stancekit.read import iter_articles
    body = "The council met again. " * 9000  # 207,000 characters in one field
    good = tmp_path / "a.csv"
    good.write_text('id,title,text\n1,Long,"' + body + '"\n2,Short,"Fine."\n')
    arts = list(iter_articles(ArticleSource(str(good)), tmp_path))
    assert [a.id for a in arts] == ["1", "2"] and arts[0].text.endswith(body)
    bad = tmp_path / "b.csv"
    bad.write_text('id,title,text\n1,T,"never closed\n2,U,fine\n')
    with pytest.raises(DataError, match=r"b.csv:\d+: malformed CSV \(unexpected end of data\)"):
        list(iter_articles(ArticleSource(str(bad)), tmp_path))
    extra = tmp_path / "c.csv"
    extra.write_text("id,title,text\n1,T,x,surplus\n")
    with pytest.raises(DataError, match="c.csv:2: 4 fields, the header names 3"):
        list(iter_articles(ArticleSource(str(extra)), tmp_path))


# -- artifacts -------------------------------------------------------------------------

def _rehash(path: Path) -> None:
    man = json.loads((path / "manifest.json").read_text())
    man["files"] = {f: hashlib.sha256((path / f).read_bytes()).hexdigest() for f in man["files"]}
    (path / "manifest.json").write_text(json.dumps(man))


def _edit_model_json(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    meta = json.loads((path / "model.json").read_text())
    edit(meta)
    (path / "model.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["weights"].update(labels="accusation"), "field 'weights.labels': must be list"),
    (lambda m: m["weights"].update(thresholds=["x", 1, 1, 1]), "field 'weights.thresholds': must be 4 finite"),
    (lambda m: m["weights"].update(thresholds=[0.5, 0.5]), "field 'weights.thresholds': must be 4 finite"),
    (lambda m: m["weights"]["feature_spec"].update(word_ngrams=[1, "2"]), "'word_ngrams' must be"),
    (lambda m: m["weights"]["feature_spec"].update(nonsense=True), "unknown feature setting"),
    (lambda m: m["weights"]["numbers"].update(window="3"), "field 'weights.numbers.window': must be int"),
    (lambda m: m["weights"]["numbers"].update(floor=None), "field 'weights.numbers.floor': must be a number"),
    (lambda m: m["weights"].update(exclusive="no"), "field 'weights.exclusive': must be bool"),
    (lambda m: m["segmentation"]["cleaning"].update(extra_patterns=["("]), "invalid regular"),
    (lambda m: m["segmentation"]["cleaning"].update(furniture=[1]), "must be a list of strings"),
    (lambda m: m.update(weights=[]), "field 'weights': must be dict"),
])
def test_model_json_of_the_wrong_shape_is_refused(trained: Path, tmp_path: Path, edit,  # type: ignore[no-untyped-def]
                                                  message: str) -> None:
    copy = tmp_path / "m"
    shutil.copytree(trained, copy)
    _edit_model_json(copy, edit)
    _rehash(copy)  # a deliberate edit: the hashes agree, the content does not
    with pytest.raises(ArtifactError, match="model.json") as info:
        stancekit.load(copy)
    assert message in str(info.value)
    _assert_one_line_error(run_cli("predict", str(copy), "x"), 2, message)


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(files=[]), "field 'files': must be dict"),
    (lambda m: m.update(format_version="2"), "artifact format 2 was written"),
    (lambda m: m["files"].update({"coef.npy": 5}), "must be a sha256 hex digest"),
])
def test_manifest_of_the_wrong_shape_is_refused(trained: Path, tmp_path: Path, edit,  # type: ignore[no-untyped-def]
                                                message: str) -> None:
    copy = tmp_path / "m"
    shutil.copytree(trained, copy)
    man = json.loads((copy / "manifest.json").read_text())
    edit(man)
    (copy / "manifest.json").write_text(json.dumps(man))
    _assert_one_line_error(run_cli("predict", str(copy), "x"), 2, message)
    _assert_one_line_error(run_cli("info", str(copy)), 2, message)


def test_npy_header_declaring_a_trillion_rows(trained: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(trained, copy)
    coef = np.load(copy / "coef.npy")
    with open(copy / "coef.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**12, coef.shape[1])})
        fh.write(coef.tobytes())
    _rehash(copy)
    _assert_one_line_error(run_cli("predict", str(copy), "x"), 2,
                           "coef.npy: header declares shape (1000000000000, 4)")


def test_model_references_cannot_leave_the_root(workdir: Path, trained: Path) -> None:
    outside = workdir.parent / "evil"
    shutil.copytree(trained, outside / "v1", dirs_exist_ok=True)
    for ref in ("default@v1/../../../evil/v1", "default@../../evil/v1", "../evil", "default@v1/.."):
        res = run_cli("predict", ref, "x", cwd=workdir)
        _assert_one_line_error(res, 2)
        assert "evil" not in res.stdout


def test_check_repro_refuses_tampered_artifacts(workdir: Path, trained: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(trained, copy)
    with open(copy / "config.yaml", "a") as fh:
        fh.write("# edited\n")
    _assert_one_line_error(run_cli("train", "--check-repro", str(copy), cwd=workdir), 2,
                           "config.yaml: sha256 mismatch")
    shutil.rmtree(copy)
    shutil.copytree(trained, copy)
    with open(copy / "ngram_table.npy", "r+b") as fh:
        fh.truncate(200)
    _assert_one_line_error(run_cli("train", "--check-repro", str(copy), cwd=workdir), 2,
                           "ngram_table.npy: sha256 mismatch")
    shutil.rmtree(copy)
    shutil.copytree(trained, copy)  # edited and rehashed: verified, but not what retraining makes
    tokens = json.loads((copy / "ngram_tokens.json").read_text())
    (copy / "ngram_tokens.json").write_text(json.dumps(tokens[::-1]))
    _rehash(copy)
    res = run_cli("train", "--check-repro", str(copy), cwd=workdir)
    assert res.returncode == 1 and "differs: ngram_tokens.json differs" in res.stdout


# -- writes ----------------------------------------------------------------------------

def test_planted_symlinks_are_never_followed(trained: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out.jsonl"
    for name in ("out.jsonl.partial", ".out.jsonl.partial", ".out.jsonl.tmp"):
        (tmp_path / name).symlink_to(victim)
    res = run_cli("predict", str(trained), "He denied it.", "--output", str(out))
    assert res.returncode == 0 and victim.read_text() == "precious\n"
    assert json.loads(out.read_text())["text"] == "He denied it."
    out.unlink()
    out.symlink_to(victim)  # the named output itself a planted link: replaced, not followed
    assert run_cli("predict", str(trained), "Hi.", "--output", str(out)).returncode == 0
    assert victim.read_text() == "precious\n" and not out.is_symlink()


def test_failed_write_leaves_nothing_and_names_the_target(trained: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk (ENOSPC on flush) leaves no temporary and no output, and the message
    names the file the user asked for."""
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "out.jsonl"
    res = run_cli("predict", str(trained), "He denied it.", "--output", str(out))
    _assert_one_line_error(res, 2, f"{out}: cannot write (No space left on device)")
    assert list(tmp_path.iterdir()) == []


def test_stale_scratch_directories_are_cleaned_live_ones_kept(workdir: Path, tmp_path: Path) -> None:
    root = tmp_path / "arts"
    stale = root / "default" / ".incomplete-killed"
    live = root / "default" / ".incomplete-live"
    stale.mkdir(parents=True)
    (stale / "coef.npy").write_bytes(b"half")
    live.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(live)!r}, os.O_RDONLY)\nfcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\ntime.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        res = run_cli("train", "configs/default.yaml", "--set", f"output.dir={root}", cwd=workdir)
        assert res.returncode == 0, res.stderr
        assert not stale.exists() and live.exists()
        assert sorted(p.name for p in (root / "default").iterdir()) == [".incomplete-live", "v1"]
    finally:
        holder.kill()
        holder.wait()


def test_story_grouping_ignores_boilerplate_shared_by_many() -> None:
    from stancekit.dataset import story_groups
    boiler = "Sign up for our free daily newsletter to get the news first every morning."
    arts = [[boiler, f"Article {i} says something entirely its own about topic {i} today."]
            for i in range(20_000)]
    arts.append(list(arts[7]))  # one real republished copy: still joined
    groups = story_groups(arts, 1)
    assert len(set(groups)) == 20_000 and groups[-1] == 7
