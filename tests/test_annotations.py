"""Annotation tool exports, read completely or refused by name: real files from Label
Studio, label-studio-sdk's converter, doccano and Prodigy (tests/fixtures/exports,
sources in its README), and articles annotated in part."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stancekit.annotations import ImportCounts, read_doccano, read_label_studio, read_prodigy
from stancekit.config import config_from_dict
from stancekit.dataset import build_dataset
from stancekit.errors import DataError

from conftest import FIXTURES, ROOT

EX = FIXTURES / "exports"
NEWS = ["accusation", "denial", "quote", "statistic"]


def test_label_studio_full_export_with_choices() -> None:
    (unit,) = read_label_studio(EX / "label-studio-sdk-choices.json", ["positive", "negative"])
    assert unit.text == "This is a sample sentence" and unit.labels == (frozenset({"positive"}),)
    assert unit.spans is None and unit.article_id == "1"


def test_label_studio_json_min_equals_the_full_export(tmp_path: Path) -> None:
    """JSON-MIN as label-studio-sdk's converter writes it builds the same dataset as the
    full export it was converted from."""
    full = read_label_studio(FIXTURES / "label-studio.json", NEWS)
    small = read_label_studio(EX / "label-studio-json-min.json", NEWS)
    assert [(u.article_id, u.text, u.spans) for u in small] == \
        [(u.article_id, u.text, u.spans) for u in full]
    built = [build_dataset(config_from_dict({"data": {"label_studio": [str(p)]},
                                             "split": {"validation": 0, "test": 0}},
                                            "t", tmp_path)).records
             for p in (FIXTURES / "label-studio.json", EX / "label-studio-json-min.json")]
    assert [(r["text"], r["labels"]) for r in built[0]] == [(r["text"], r["labels"]) for r in built[1]]


def test_label_studio_hypertext_cancelled_and_empty_tasks() -> None:
    counts = ImportCounts()
    (unit,) = read_label_studio(EX / "label-studio-hypertext.json", ["Title"], counts=counts)
    assert unit.text.startswith("One of the other reviewers") and "<p>" not in unit.text
    assert unit.spans == (((8, 151, "Title"),), ((0, 154, "Title"),))  # two annotators
    assert counts.left_out == {"Label Studio: cancelled annotation (skipped task)": 1,
                               "Label Studio: task without annotation": 1}


def test_doccano_exports() -> None:
    ents = ["ORG", "MISC", "PERSON"]
    old = read_doccano(EX / "doccano-1x-spans.jsonl", ents)
    assert [u.spans for u in old] == [(((0, 2, "ORG"),),), (((0, 15, "PERSON"),),),
                                      (((10, 15, "PERSON"),),)]
    new = read_doccano(EX / "doccano-spans.jsonl", ents)
    assert new[0].spans == (((0, 2, "ORG"), (11, 17, "MISC")),)
    cats = read_doccano(EX / "doccano-textcat.jsonl", ["positive", "negative"])
    assert [u.labels for u in cats] == [(frozenset({"negative"}),), (frozenset({"positive"}),),
                                        (frozenset({"positive"}),)]
    with pytest.raises(DataError, match=r"doccano-1x-textcat-ids.jsonl:1: field 'annotations': "
                                        r"doccano 1.x export without label names"):
        read_doccano(EX / "doccano-1x-textcat-ids.jsonl", ["positive", "negative"])


def test_prodigy_exports() -> None:
    counts = ImportCounts()
    units = read_prodigy(EX / "prodigy-insult-textcat.jsonl", ["INSULT"], counts=counts)
    rows = [json.loads(l) for l in (EX / "prodigy-insult-textcat.jsonl").read_text().splitlines()]
    assert len(units) == sum(r["answer"] != "ignore" for r in rows)
    assert counts.left_out == {"Prodigy: ignored answer": 14}
    accepted = [u for u in units if u.labels == (frozenset({"INSULT"}),)]
    rejected = [u for u in units if u.labels == (frozenset(),)]
    assert len(accepted) == 9 and len(rejected) == 17
    assert all(u.known == frozenset({"INSULT"}) for u in units)
    spans = read_prodigy(EX / "prodigy-bio-spans.jsonl", ["GGP"])
    assert spans[0].spans == (((13, 16, "GGP"), (17, 20, "GGP"), (222, 252, "GGP"),
                               (254, 259, "GGP")),)


@pytest.mark.parametrize("reader, content, message", [
    (read_label_studio, '{"data": {"text": "x"}}', "expected a Label Studio JSON export (a list of tasks"),
    (read_label_studio, '[{"data": {"text": "x"}, "annotations": []}] trailing',
     "unexpected text after the closing ']'"),
    (read_label_studio, '[{"data": {"text": "x"}, "annotations": []}', "the JSON array is not closed"),
    (read_label_studio, '[{"data": {"body": "x"}, "annotations": [{"result": []}]}]',
     "expected the text in field 'text'"),
    (read_label_studio, '[{"data": {"text": "x"}, "annotations": [{"result": [7]}]}]',
     "each result must be an object"),
    (read_label_studio, '[{"data": {"text": "x"}, "annotations": [{"result": {"a": 1}}]}]',
     "'result' must be a list"),
    (read_label_studio, '[{"data": {"text": "x"}, "annotations": ["bad"]}]',
     "each annotation must be an object"),
    (read_label_studio, '[{"nothing": 1}]', "or JSON-MIN records with the text in 'text'"),
    (read_doccano, '{"text": "x", "meta": {}}\n', "expected a doccano export: 'label'"),
    (read_doccano, '{"text": "x", "label": [[0, 9, "quote"]]}\n', "span offsets 0-9 outside the text"),
    (read_prodigy, '{"text": "x", "answer": "maybe", "label": "quote"}\n', "'answer' must be accept"),
    (read_prodigy, '{"text": "x", "tokens": []}\n', "expected a Prodigy export"),
])
def test_shapes_refused_by_name(tmp_path: Path, reader, content: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.json"
    path.write_text(content)
    with pytest.raises(DataError, match="export.json:1") as info:
        reader(path, NEWS)
    assert message in str(info.value)


def test_image_projects_are_refused_by_name() -> None:
    with pytest.raises(DataError, match=r"result type 'rectanglelabels' is not one stancekit reads"):
        read_label_studio(EX / "label-studio-sdk-images.json", ["Car"])


def test_counts_reach_the_dataset_card(tmp_path: Path) -> None:
    from stancekit.dataset_io import card
    cfg = config_from_dict({"data": {"label_studio": [str(EX / "label-studio-hypertext.json")]},
                            "labels": {"names": ["Title"]},
                            "split": {"validation": 0, "test": 0}}, "t", tmp_path)
    c = card(build_dataset(cfg))
    assert c["reading"]["skipped"]["Label Studio: task without annotation"] == 1
    assert c["reading"]["skipped"]["Label Studio: cancelled annotation (skipped task)"] == 1


def test_an_article_annotated_in_part_trains(tmp_path: Path) -> None:
    """Sentences 1 and 4 of an article annotated (as `suggest` hands them out): every
    sentence of the article is in the dataset for context, the others known for nothing
    and weighted 0; metrics use fully annotated sentences only."""
    from stancekit.training import _weights, train
    from stancekit.config import load_config
    from stancekit.segment import segment_article
    art = (ROOT / "data/articles/council-tax-row.txt").read_text()
    sents, _ = segment_article(art)
    partial = tmp_path / "partial.jsonl"
    partial.write_text("".join(json.dumps({"article_id": "council-tax-row", "index": i,
                                           "text": sents[i].text, "labels": labs}) + "\n"
                               for i, labs in ((1, ["accusation"]), (4, ["quote", "denial"]))))
    base = load_config(ROOT / "configs/default.yaml")
    cfg = config_from_dict(dict(base.to_dict(), data=dict(
        base.to_dict()["data"], articles=[{"path": str(ROOT / "data/articles")}],
        gold=[str(ROOT / "data/gold.jsonl")])), "t", ROOT)
    gold_rows = [json.loads(l) for l in (ROOT / "data/gold.jsonl").read_text().splitlines()]
    # take council-tax-row out of the complete gold, and give it back annotated in part
    rest = tmp_path / "rest.jsonl"
    rest.write_text("".join(json.dumps(r) + "\n" for r in gold_rows if r["article_id"] != "council-tax-row"))
    cfg = config_from_dict(dict(cfg.to_dict(), data=dict(cfg.to_dict()["data"],
                                                          gold=[str(rest), str(partial)])), "t", ROOT)
    ds = build_dataset(cfg)
    recs = [r for r in ds.records if r["article_id"] == "council-tax-row"]
    assert [r["text"] for r in recs] == [s.text for s in sents]
    assert [r.get("known") for r in recs] == [None if i in (1, 4) else []  # None: all known
                                              for i in range(len(sents))]
    assert [r["labels"] for r in recs][1:5] == [["accusation"], [], [], ["denial", "quote"]]
    W = _weights(recs, cfg, tuple(cfg.labels.names))
    assert W is not None and W[0].sum() == 0 and list(W[1]) == [1, 1, 1, 1]
    assert recs[2]["context"]["prev"] == sents[1].text  # unknown sentences still give context
    res = train(cfg, write=False)
    assert res.model is not None and res.metrics
