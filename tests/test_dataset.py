"""The dataset builder on real files: splits, context, span exports, weak labels, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stancekit.config import config_from_dict, load_config
from stancekit.dataset import build_dataset, story_groups, story_key
from stancekit.errors import DataError, LabelError

from conftest import FIXTURES, ROOT, needs_shared, run_cli, SHARED


def _cfg(tmp: Path, **data):
    return config_from_dict({"data": data, "split": {"validation": 0.0, "test": 0.0, "folds": 2},
                             "labels": {"missing_positive": "skip"}}, "test", tmp)


def test_default_build_splits_by_article() -> None:
    ds = build_dataset(load_config(ROOT / "configs/default.yaml"))
    assert len(ds.records) == 162
    split_of: dict[str, set] = {}
    for r in ds.records:
        split_of.setdefault(r["article_id"], set()).add(r["split"])
        if r["start"] is not None:
            text = (ROOT / "data/articles" / f"{r['article_id']}.txt").read_text()
            assert text[r["start"]:r["end"]] == r["text"]
    assert all(len(s) == 1 for s in split_of.values())
    assert {next(iter(s)) for s in split_of.values()} == {"train", "validation", "test"}
    assert all(0 <= r["fold"] < 4 for r in ds.records)


def test_fingerprint_is_stable_and_seeded() -> None:
    cfg = load_config(ROOT / "configs/default.yaml")
    assert build_dataset(cfg).fingerprint == build_dataset(cfg).fingerprint
    other = load_config(ROOT / "configs/default.yaml", ["seed=99"])
    assert build_dataset(other).fingerprint != build_dataset(cfg).fingerprint


def test_context_marks_sentences_inside_a_quotation() -> None:
    ds = build_dataset(load_config(ROOT / "configs/default.yaml"))
    recs = {(r["article_id"], r["index"]): r for r in ds.records}
    # 'They are getting the biggest rise...' continues 'She added: "People were promised...'
    assert recs[("council-tax-row", 6)]["context"]["in_quote"] is True
    assert recs[("council-tax-row", 9)]["context"]["in_quote"] is True
    # a new paragraph opening with a quote mark continues the open quotation (BBC style)
    assert recs[("hospital-waiting-times", 8)]["context"]["in_quote"] is True
    assert recs[("hospital-waiting-times", 7)]["context"]["in_quote"] is False
    assert recs[("hospital-waiting-times", 6)]["context"]["in_quote"] is False
    assert recs[("hospital-waiting-times", 9)]["context"]["in_quote"] is False
    assert recs[("hospital-waiting-times", 7)]["context"]["prev"].startswith('"This government')


@pytest.mark.parametrize("kind", ["label_studio", "doccano"])
def test_span_exports_project_onto_sentences(tmp_path: Path, kind: str) -> None:
    name = "label-studio.json" if kind == "label_studio" else "doccano.jsonl"
    cfg = _cfg(tmp_path, **{kind: [str(FIXTURES / name)]})
    ds = build_dataset(cfg)
    by_text = {r["text"]: r["labels"] for r in ds.records}
    assert by_text["Island Ferries will raise fares by 12% from May, the company has announced."] == ["statistic"]
    # union of annotators: only annotator 1 marked the accusation
    assert by_text["Islanders' council leader Morag Bell accused the operator of \"holding the islands to ransom\"."] == ["accusation", "quote"]
    assert by_text['"They are being punished for where they live.'] == ["quote"]
    assert by_text["Operator blames fuel costs"] == []  # that annotation was cancelled
    majority = config_from_dict({**cfg.to_dict(), "annotation": {"annotators": "majority"}}, "t", tmp_path)
    by_text = {r["text"]: r["labels"] for r in build_dataset(majority).records}
    assert by_text["Islanders' council leader Morag Bell accused the operator of \"holding the islands to ransom\"."] == ["quote"]


def test_span_text_mismatch_is_an_error(tmp_path: Path) -> None:
    tasks = json.loads((FIXTURES / "label-studio.json").read_text())
    tasks[0]["annotations"][0]["result"][0]["value"]["text"] = "13%"
    p = tmp_path / "ls.json"
    p.write_text(json.dumps(tasks, indent=1))
    with pytest.raises(DataError, match=r"ls.json:2: field 'text': span text '13%' does not match"):
        build_dataset(_cfg(tmp_path, label_studio=[str(p)]))


def _write(tmp: Path, name: str, content: str | bytes) -> Path:
    p = tmp / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


GOOD = '{"article_id": "a", "index": 0, "text": "Head", "labels": []}\n'


@pytest.mark.parametrize("content, message", [
    (GOOD + '{"article_id": "a", "index": 1, "text": "x", "labels": ["rumour"]}\n',
     r"g.jsonl:2: field 'labels': unknown label 'rumour'"),
    (GOOD + '{"article_id": "a", "index": 1, "labels": []}\n', r"g.jsonl:2: field 'text': missing field"),
    (GOOD + '{"article_id": "a", "index": 3, "text": "x", "labels": []}\n',
     r"g.jsonl:1: field 'index': article 'a' is annotated in part \(sentences 0, 3\)"),
    (GOOD + '{"article_id": "a", "index": 1, "text": "x", "labels": [}\n', r"g.jsonl:2: invalid JSON"),
    (GOOD.encode() + b'{"article_id": "a", "index": 1, "text": "\xff", "labels": []}\n',
     r"g.jsonl:2: not valid UTF-8"),
])
def test_bad_gold_lines(tmp_path: Path, content, message: str) -> None:
    p = _write(tmp_path, "g.jsonl", content)
    with pytest.raises(DataError, match=message):
        build_dataset(_cfg(tmp_path, gold=[str(p)]))


def test_bad_article_sources(tmp_path: Path) -> None:
    gold = _write(tmp_path, "g.jsonl", GOOD)
    dup = _write(tmp_path, "a.jsonl", '{"id": "a", "text": "Head\\n\\nBody."}\n{"id": "a", "text": "Head"}\n')
    with pytest.raises(DataError, match=r"a.jsonl:2: duplicate article id 'a'"):
        build_dataset(_cfg(tmp_path, gold=[str(gold)], articles=[str(dup)]))
    empty = _write(tmp_path, "e.jsonl", '{"id": "a", "text": "  "}\n')
    with pytest.raises(DataError, match=r"e.jsonl:1: empty article"):
        build_dataset(_cfg(tmp_path, gold=[str(gold)], articles=[str(empty)]))
    missing = _write(tmp_path, "m.jsonl", '{"id": "a"}\n')
    with pytest.raises(DataError, match=r"m.jsonl:1: field 'text': missing field"):
        build_dataset(_cfg(tmp_path, gold=[str(gold)], articles=[str(missing)]))
    cfg = config_from_dict({"data": {"gold": [str(gold)], "articles": [str(dup)], "on_error": "skip"},
                            "labels": {"missing_positive": "skip"}}, "t", tmp_path)
    ds = build_dataset(cfg)
    assert ds.reading.skipped["duplicate article"] == 1


def test_label_without_positive_is_an_error(tmp_path: Path) -> None:
    gold = _write(tmp_path, "g.jsonl", GOOD)
    cfg = config_from_dict({"data": {"gold": [str(gold)]}}, "t", tmp_path)
    with pytest.raises(LabelError, match="label 'accusation' has no positive example"):
        build_dataset(cfg)


def test_build_cli_writes_dataset_and_card(workdir: Path) -> None:
    res = run_cli("build", "configs/default.yaml", "--set", "output.dir=built", cwd=workdir)
    assert res.returncode == 0, res.stderr
    out = workdir / res.stdout.strip()
    card = json.loads((out / "card.json").read_text())
    assert card["sentences"] == 162 and card["labels"] == ["accusation", "denial", "quote", "statistic"]
    assert sum(s["sentences"] for s in card["splits"].values()) == 162
    assert card["cooccurrence"]["quote"]["denial"] > 0
    assert "\n# Dataset card\n" in (out / "README.md").read_text()
    from datasets import load_from_disk
    dd = load_from_disk(str(out / "hf"))
    assert dd["train"].features["labels"].feature.names == card["labels"]
    again = run_cli("build", "configs/default.yaml", "--set", "output.dir=built", cwd=workdir)
    assert again.returncode == 0 and again.stdout == res.stdout


def test_build_cli_bad_config_is_one_line(workdir: Path) -> None:
    res = run_cli("build", "configs/default.yaml", "--set", "model.C=x", cwd=workdir)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "model.C" in res.stderr
    assert "Traceback" not in res.stderr


@needs_shared
def test_weak_labels_on_bbc_articles(tmp_path: Path) -> None:
    cfg = config_from_dict({
        "data": {"gold": [str(SHARED / "bbc-politics-gold.jsonl")]},
        "weak_labels": {"enabled": True, "articles": [str(SHARED / "bbc-news.jsonl")],
                        "max_articles": 50,
                        "rules": ["quote", "statistic", "accusation", "denial"]}}, "t", tmp_path)
    ds = build_dataset(cfg)
    rules = [r for r in ds.records if r["source"] == "rules"]
    assert len({r["article_id"] for r in rules}) == 50
    assert all(r["split"] == "train" for r in rules)
    assert not {r["article_id"] for r in rules} & {r["article_id"] for r in ds.records if r["source"] == "gold"}
    assert any("quote" in r["labels"] for r in rules) and any("statistic" in r["labels"] for r in rules)


def _long(n: int, topic: str) -> str:
    return f"Sentence {n} about the {topic} has well over eight words in it."


def test_story_groups_join_republished_copies() -> None:
    a = [_long(n, "budget") for n in range(5)] + ["He said so."] * 4
    b = a[:3] + [_long(9, "vote")]               # three long sentences of a: a copy
    c = b[1:] + [_long(7, "rail")]                # three of b, two of a: joins through b
    d = a[:2] + ["He said so."] * 4               # two long ones and stock phrases: its own
    assert story_groups([a, b, c, d], 3) == [0, 0, 0, 3]
    assert story_groups([a, b, c, d], 2) == [0, 0, 0, 0]
    assert story_groups([a, b, c, d], 0) == [0, 1, 2, 3]
    assert story_key("He said so.") is None
    assert story_key(_long(1, "budget").upper()) == story_key(_long(1, "budget"))


@needs_shared
def test_republished_gold_stories_share_split_and_fold(tmp_path: Path) -> None:
    cfg = config_from_dict({
        "data": {"gold": [str(SHARED / "bbc-politics-gold.jsonl")]},
        "weak_labels": {"enabled": True, "articles": [str(SHARED / "bbc-news.jsonl")]}},
        "t", tmp_path)
    ds = build_dataset(cfg)
    gold = [r for r in ds.records if r["source"] == "gold"]
    placed: dict[str, set] = {}
    for r in gold:
        placed.setdefault(r["story"], set()).add((r["split"], r["fold"]))
    assert all(len(p) == 1 for p in placed.values())
    story = {r["article_id"]: r["story"] for r in gold}
    assert story["politics/child-access-law-shake-up-planned"] == \
        story["politics/child-access-laws-shake-up"]
    assert story["politics/labour-accused-of-eu-propaganda"] != \
        story["politics/child-access-laws-shake-up"]
    assert sum(1 for aid, s in story.items() if aid != s) >= 20
    from stancekit.dataset_io import card
    from stancekit.cards import dataset_card
    joined = card(ds)["same_story"]
    assert ["politics/child-access-law-shake-up-planned", "politics/child-access-laws-shake-up"] in joined
    assert "politics/child-access-laws-shake-up" in dataset_card(card(ds))
    # unlabelled copies of gold stories are left out of the weak labels, and counted
    keys = {story_key(r["text"]) for r in gold} - {None}
    weak: dict[str, int] = {}
    for r in ds.records:
        if r["source"] == "rules" and story_key(r["text"]) in keys:
            weak[r["article_id"]] = weak.get(r["article_id"], 0) + 1
    assert max(weak.values(), default=0) < 3
    assert ds.reading.same_story >= 3
    off = build_dataset(config_from_dict({
        "data": {"gold": [str(SHARED / "bbc-politics-gold.jsonl")]},
        "split": {"same_story": 0}}, "t", tmp_path))
    assert all(r["story"] == r["article_id"] for r in off.records)


def test_csv_parquet_and_txt_article_sources(tmp_path: Path) -> None:
    gold = _write(tmp_path, "g.jsonl", GOOD + '{"article_id": "a", "index": 1, "text": "Body one.", "labels": []}\n')
    csv_path = _write(tmp_path, "a.csv", 'id,title,text\na,Head,"Body one. Body two."\n')
    cfg = _cfg(tmp_path, gold=[str(gold)], articles=[str(csv_path)], gold_requires_article=True)
    recs = build_dataset(cfg).records
    assert [(r["start"], r["end"]) for r in recs] == [(0, 4), (6, 15)]
    bad_csv = _write(tmp_path, "b.csv", 'id,title\na,Head\n')
    with pytest.raises(DataError, match=r"b.csv:2: field 'text': missing field"):
        build_dataset(_cfg(tmp_path, gold=[str(gold)], articles=[str(bad_csv)]))
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"id": ["a"], "title": ["Head"], "text": ["Body one."]}), tmp_path / "a.parquet")
    cfg = _cfg(tmp_path, gold=[str(gold)], articles=[str(tmp_path / "a.parquet")], gold_requires_article=True)
    assert build_dataset(cfg).records[1]["start"] == 6
    d = tmp_path / "txt"
    d.mkdir()
    (d / "a.txt").write_bytes(b"Head\n\nBody \xff one.\n")
    with pytest.raises(DataError, match=r"a.txt:3: not valid UTF-8"):
        build_dataset(_cfg(tmp_path, gold=[str(gold)], articles=[str(d)]))
