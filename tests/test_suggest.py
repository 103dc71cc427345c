"""`stancekit suggest`: the next sentences worth labelling, pre-annotated for Label Studio,
doccano and Prodigy, and read back through the config as the same sentences with the same
ids (a round trip through each tool's export shape, annotated as an annotator would)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import stancekit
from stancekit.config import config_from_dict, load_config
from stancekit.dataset import build_dataset
from stancekit.suggest import margin, select, uncertainty

from conftest import ROOT, run_cli

HELD_OUT = ("council-tax-row", "hospital-waiting-times", "factory-closure")


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory where three articles of the sample have lost their gold: the
    rest is `labelled.jsonl`, and all 16 raw articles are in data/articles."""
    d = tmp_path_factory.mktemp("loop")
    rows = [json.loads(l) for l in (ROOT / "data/gold.jsonl").read_text().splitlines()]
    (d / "labelled.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows
                                              if r["article_id"] not in HELD_OUT))
    return d


def _suggest(d: Path, model: Path, *args: str) -> list[Any]:
    res = run_cli("suggest", str(model), "--articles", str(ROOT / "data/articles"),
                  "--labelled", "labelled.jsonl", *args, cwd=d)
    assert res.returncode == 0, res.stderr
    out = Path(d / res.stdout.splitlines()[0])
    text = out.read_text()
    return json.loads(text) if text.startswith("[") else [json.loads(l) for l in text.splitlines()]


def _build(d: Path, **sources: Any) -> dict[tuple[str, int], dict[str, Any]]:
    """Build the dataset of labelled.jsonl plus an annotated export; records by id."""
    base = load_config(ROOT / "configs/default.yaml").to_dict()
    data = dict(base["data"], articles=[{"path": str(ROOT / "data/articles")}],
                gold=[str(d / "labelled.jsonl")], **sources)
    ds = build_dataset(config_from_dict(dict(base, data=data), "t", d))
    return {(r["article_id"], r["index"]): dict(r) for r in ds.records}


def _annotate_label_studio(tasks: list[dict[str, Any]], first: list[str]) -> list[dict[str, Any]]:
    """What Label Studio exports once an annotator accepted each pre-annotation (the
    first one corrected to `first`): tasks with an id and `annotations`."""
    out = []
    for k, t in enumerate(tasks):
        result = json.loads(json.dumps(t["predictions"][0]["result"]))
        if k == 0:
            result = [{"from_name": "label", "to_name": "text", "type": "choices",
                       "value": {"choices": first}}]
        out.append({"id": 100 + k, "data": t["data"], "predictions": t["predictions"],
                    "annotations": [{"id": 900 + k, "completed_by": 1, "was_cancelled": False,
                                     "result": result}]})
    return out


def _annotate_doccano(rows: list[dict[str, Any]], first: list[str]) -> list[dict[str, Any]]:
    """doccano's text classification export: the imported fields, an id, the labels."""
    return [dict(r, id=k + 1, label=first if k == 0 else r["label"]) for k, r in enumerate(rows)]


def _annotate_prodigy(rows: list[dict[str, Any]], first: list[str]) -> list[dict[str, Any]]:
    """`prodigy db-out` of a choice task: the options accepted, with an answer."""
    return [dict(r, accept=first if k == 0 else r["accept"], answer="accept",
                 _input_hash=k, _task_hash=k) for k, r in enumerate(rows)]


def _ids(fmt: str, record: dict[str, Any]) -> tuple[str, int]:
    fields = {"label-studio": record.get("data"), "prodigy": record.get("meta")}.get(fmt, record)
    assert fields is not None
    return fields["article_id"], fields["index"]


@pytest.mark.parametrize("fmt, key, annotate, suffix", [
    ("label-studio", "label_studio", _annotate_label_studio, "json"),
    ("doccano", "doccano", _annotate_doccano, "jsonl"),
    ("prodigy", "prodigy", _annotate_prodigy, "jsonl"),
])
def test_round_trip_gives_back_the_same_sentences(
        loop: Path, trained: Path, fmt: str, key: str, suffix: str,
        annotate: Callable[[list[dict[str, Any]], list[str]], list[dict[str, Any]]]) -> None:
    tasks = _suggest(loop, trained, "--n", "6", "--format", fmt, "--output", f"tasks.{suffix}")
    assert len(tasks) == 6
    model = stancekit.load(trained)
    held = {a: model.segment((ROOT / f"data/articles/{a}.txt").read_text(), a) for a in HELD_OUT}
    chosen = [_ids(fmt, t) for t in tasks]
    # only sentences nobody labelled, with every field of the input passed through
    assert {a for a, _ in chosen} <= set(HELD_OUT)
    for t, (aid, index) in zip(tasks, chosen):
        fields = t.get("data") or t.get("meta") or t
        assert {k: fields[k] for k in ("start", "end")} == \
            {k: held[aid][index][k] for k in ("start", "end")}
    if fmt == "label-studio":
        assert (loop / "label-config.xml").read_text().count("<Choice value=") == 4
        pred = tasks[0]["predictions"][0]
        assert pred["model_version"] == "default@" + trained.name and 0 <= pred["score"] <= 1
    exported = annotate(tasks, ["denial"])
    path = loop / f"export-{fmt}.{suffix}"
    path.write_text(json.dumps(exported) if suffix == "json"
                    else "".join(json.dumps(r) + "\n" for r in exported))
    records = _build(loop, **{key: [{"path": str(path)}]})
    expected = {(aid, i): list(model.predict_article(
        (ROOT / f"data/articles/{aid}.txt").read_text(), aid)[i]["labels"])
        for aid, i in chosen}
    expected[chosen[0]] = ["denial"]
    for (aid, index), text in zip(chosen, [t.get("text") or t["data"]["text"] for t in tasks]):
        rec = records[(aid, index)]
        assert rec["text"] == text == held[aid][index]["text"]
        assert rec["labels"] == sorted(expected[(aid, index)]) and rec.get("known") is None
    # the held-out articles' other sentences are there for context, known for nothing
    others = [r for (a, i), r in records.items() if a in HELD_OUT and (a, i) not in chosen]
    assert others and all(r["known"] == [] for r in others)
    touched = {a for a, _ in chosen}  # a held-out article nobody annotated is not in it
    assert sorted(k for k in records if k[0] in HELD_OUT) == \
        sorted((a, r["index"]) for a in touched for r in held[a])


@pytest.mark.parametrize("fmt, key", [("label-studio", "label_studio"), ("doccano", "doccano"),
                                      ("prodigy", "prodigy")])
def test_whole_articles_round_trip_as_spans(loop: Path, trained: Path, fmt: str, key: str) -> None:
    suffix = "json" if fmt == "label-studio" else "jsonl"
    tasks = _suggest(loop, trained, "--n", "2", "--unit", "article", "--format", fmt,
                     "--output", f"articles.{suffix}")
    model = stancekit.load(trained)
    aids = [(t.get("data") or t.get("meta") or t)["article_id"] for t in tasks]
    assert len(aids) == 2 and set(aids) <= set(HELD_OUT)
    if fmt == "label-studio":
        assert "<Label value=\"accusation\"/>" in (loop / "label-config.xml").read_text()
        exported: list[dict[str, Any]] = [
            {"id": k, "data": t["data"], "annotations": [{"result": t["predictions"][0]["result"]}]}
            for k, t in enumerate(tasks)]
    elif fmt == "doccano":
        exported = [dict(t, id=k) for k, t in enumerate(tasks)]
    else:
        exported = [dict(t, answer="accept") for t in tasks]
    path = loop / f"articles-export.{suffix}"
    path.write_text(json.dumps(exported) if suffix == "json"
                    else "".join(json.dumps(r) + "\n" for r in exported))
    records = _build(loop, **{key: [{"path": str(path)}]})
    for aid in aids:
        predicted = model.predict_article((ROOT / f"data/articles/{aid}.txt").read_text(), aid)
        got = [records[(aid, r["index"])] for r in predicted]
        assert [g["text"] for g in got] == [p["text"] for p in predicted]
        assert [g["labels"] for g in got] == [sorted(p["labels"]) for p in predicted]
        assert any(g["labels"] for g in got)


def test_never_hands_out_a_labelled_sentence_twice(loop: Path, trained: Path) -> None:
    first = _suggest(loop, trained, "--n", "10", "--output", "round1.jsonl")
    second = _suggest(loop, trained, "--n", "10", "--output", "round2.jsonl",
                      "--labelled", "round1.jsonl")
    ids1 = {(r["article_id"], r["index"]) for r in first}
    ids2 = {(r["article_id"], r["index"]) for r in second}
    assert len(ids1) == len(ids2) == 10 and not ids1 & ids2
    # a Label Studio file (a JSON list, ids under data) excludes its sentences as well
    ls = _suggest(loop, trained, "--n", "5", "--format", "label-studio", "--output", "ls.json")
    third = _suggest(loop, trained, "--n", "5", "--output", "round3.jsonl", "--labelled", "ls.json")
    assert not {_ids("label-studio", t) for t in ls} & {_ids("jsonl", r) for r in third}
    assert {a for a, _ in ids1 | ids2} <= set(HELD_OUT)
    # asking for more than is left gives what is left, and says how many it looked at
    res = run_cli("suggest", str(trained), "--articles", str(ROOT / "data/articles"), "--n", "999",
                  "--labelled", "labelled.jsonl", "--output", "all.jsonl", cwd=loop)
    n_left = sum(len(stancekit.load(trained).segment(
        (ROOT / f"data/articles/{a}.txt").read_text(), a)) for a in HELD_OUT)
    assert len((loop / "all.jsonl").read_text().splitlines()) == n_left
    assert f"chosen by uncertainty from {n_left} " in res.stderr


def test_strategies_rank_as_documented(trained: Path) -> None:
    thresholds = np.array([0.5, 0.2])
    scores = np.array([[0.5, 0.01], [0.5, 0.2], [0.99, 0.01], [0.6, 0.25]])
    u = uncertainty(scores, thresholds)
    # a score at its label's threshold is a coin toss: one bit per such label
    assert u[1] == pytest.approx(2.0, abs=1e-9) and 1.0 < u[0] < u[3] < u[1]
    assert list(np.argsort(-u, kind="stable")) == [1, 3, 0, 2]
    assert list(np.argsort(-margin(scores, thresholds), kind="stable")) == [0, 1, 3, 2]
    rows = [{"text": t, "article_id": a} for t, a in
            [("tax rise row", "a"), ("tax rise row again", "a"), ("floods in town", "b"),
             ("tax rise row", "a"), ("a quiet day", "c")]]
    value = np.array([0.9, 0.95, 0.5, 0.9, 0.1])
    assert select(rows, value, 3, "uncertainty") == [1, 0, 3]
    diverse = select(rows, value, 3, "diverse")
    assert diverse[0] == 1 and len(set(diverse)) == 3 and 2 in diverse  # one story cannot fill it
    assert select(rows, value, 3, "random", seed=4) == select(rows, value, 3, "random", seed=4)


def test_seeded_and_deterministic(loop: Path, trained: Path) -> None:
    runs = {s: [(r["article_id"], r["index"]) for r in _suggest(
        loop, trained, "--n", "5", "--strategy", "random", "--seed", s, "--output", f"r{s}.jsonl")]
        for s in ("1", "2")}
    again = [(r["article_id"], r["index"]) for r in _suggest(
        loop, trained, "--n", "5", "--strategy", "random", "--seed", "1", "--output", "r1b.jsonl")]
    assert runs["1"] == again and runs["1"] != runs["2"]
    for strategy in ("margin", "diverse"):
        a = _suggest(loop, trained, "--n", "5", "--strategy", strategy, "--output", "a.jsonl")
        b = _suggest(loop, trained, "--n", "5", "--strategy", strategy, "--output", "b.jsonl")
        assert a == b and len(a) == 5


def test_unlabelled_build_feeds_suggest(tmp_path: Path, trained: Path) -> None:
    """A config with articles and no annotations builds an unlabelled dataset (stated in
    its card); its sentences.jsonl is something to suggest from."""
    cfg = tmp_path / "unlabelled.yaml"
    cfg.write_text(f"data:\n  articles:\n    - path: {ROOT / 'data/articles'}\n"
                   "output:\n  dir: out\n  name: raw\n")
    res = run_cli("build", str(cfg), "--output", "ds", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    ds = tmp_path / "ds"
    rows = [json.loads(l) for l in (ds / "sentences.jsonl").read_text().splitlines()]
    assert {r["split"] for r in rows} == {"unlabelled"} and len(rows) > 100
    assert "unlabelled" in (ds / "README.md").read_text().lower()
    res = run_cli("suggest", str(trained), "--input", str(ds / "sentences.jsonl"), "--n", "4",
                  "--format", "doccano", "--output", "next.jsonl", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    got = [json.loads(l) for l in (tmp_path / "next.jsonl").read_text().splitlines()]
    by_id = {(r["article_id"], r["index"]): r for r in rows}
    assert len(got) == 4
    for g in got:
        assert g["text"] == by_id[(g["article_id"], g["index"])]["text"]
        assert g["start"] == by_id[(g["article_id"], g["index"])]["start"]


@pytest.mark.parametrize("args, message", [
    (["--input", "x.jsonl", "--unit", "article"], "--unit article hands out whole articles"),
    (["--n", "0"], "--n"),
    (["--strategy", "best"], "--strategy"),
    (["--labelled", "bad.jsonl"], "bad.jsonl:2"),
    (["--output", "missing/dir/tasks.json"], "missing/dir/tasks.json"),
    (["--focus", "sarcasm"], "focus label 'sarcasm' is not one of the model's labels"),
])
def test_bad_requests_are_one_line_errors(tmp_path: Path, trained: Path, args: list[str],
                                          message: str) -> None:
    (tmp_path / "bad.jsonl").write_text('{"article_id": "a", "index": 0, "text": "x"}\n{oops\n')
    (tmp_path / "x.jsonl").write_text('{"text": "x"}\n')
    base = ["suggest", str(trained)]
    if "--input" not in args:
        base += ["--articles", str(ROOT / "data/articles")]
    if "--n" not in args:
        base += ["--n", "3"]
    if "--output" not in args:
        base += ["--output", "out.jsonl"]
    res = run_cli(*base, *args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.jsonl").exists()


def test_an_unwritable_output_fails_before_scoring(tmp_path: Path, trained: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Hours of scoring are not spent on a corpus whose result has nowhere to go."""
    import stancekit.suggest as sg
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("scored before the output was checked")
    monkeypatch.setattr(sg, "suggest", never)
    (tmp_path / "ro").mkdir(mode=0o555)
    for out, message in (("missing/tasks.json", "No such file or directory"),
                         ("ro/tasks.json", "Permission denied"), ("ro", "is a directory")):
        res = run_cli("suggest", str(trained), "--articles", str(ROOT / "data/articles"),
                      "--n", "3", "--output", out, cwd=tmp_path)
        if out.startswith("ro/") and os.geteuid() == 0:
            continue  # root writes into a read-only folder
        assert res.returncode == 2 and f"{out}: " in res.stderr and message in res.stderr, res
        assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("strategy, focus", [("uncertainty", None), ("margin", None),
                                             ("diverse", None), ("uncertainty", ["denial"])])
def test_streamed_choice_equals_choosing_from_everything(
        trained: Path, monkeypatch: pytest.MonkeyPatch, strategy: str,
        focus: list[str] | None) -> None:
    """Candidates scored in small batches and kept in a bounded heap give the same
    choice as ranking every candidate at once (with --focus, on that label's scores)."""
    import stancekit.suggest as sg
    model = stancekit.load(trained)
    rows = [r for p in sorted((ROOT / "data/articles").glob("*.txt"))
            for r in model.segment(p.read_text(), p.stem)]
    scored = model.score_rows([dict(r) for r in rows])
    S = np.array([[r["scores"][l] for l in model.labels] for r in scored])
    cols = [model.labels.index(l) for l in focus] if focus else list(range(len(model.labels)))
    whole = [(scored[i]["article_id"], scored[i]["index"]) for i in
             select(scored, sg.value_of(strategy, S[:, cols], model.thresholds[cols]), 12,
                    strategy)]
    monkeypatch.setattr(sg, "_BATCH", 7)
    streamed = sg.choose_sentences(model, [dict(r) for r in rows], 12, strategy, focus=focus)
    assert [(r["article_id"], r["index"]) for r in streamed] == whole
