"""Article collections in, labelled sentences out: every source format, HTML pages, the one
context path (evaluate and predict agree), parquet output, and bad records."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import stancekit
from stancekit.evaluation import evaluate, read_eval_data

from conftest import FIXTURES, ROOT, run_cli

ARTICLES = sorted((ROOT / "data/articles").glob("*.txt"))


def _rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample articles in every source format (the same ids and texts in each)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    d = tmp_path_factory.mktemp("sources")
    records = [{"id": p.stem, "text": p.read_text(encoding="utf-8")} for p in ARTICLES]
    (d / "txt").mkdir()
    for p in ARTICLES:
        shutil.copy(p, d / "txt" / p.name)
    with open(d / "a.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    (d / "a.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
    with open(d / "a.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, ["id", "text"])
        w.writeheader()
        w.writerows(records)
    pq.write_table(pa.Table.from_pylist(records), d / "a.parquet", row_group_size=5)
    (d / "split").mkdir()
    for i in range(0, len(records), 6):
        with open(d / "split" / f"part-{i:02d}.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in records[i:i + 6])
    return {"txt": d / "txt", "jsonl": d / "a.jsonl", "json": d / "a.json", "csv": d / "a.csv",
            "parquet": d / "a.parquet", "glob": d / "split" / "part-*.jsonl"}


def test_every_source_format_gives_the_same_rows(trained: Path, sources: dict[str, Path],
                                                 tmp_path: Path) -> None:
    outputs = {}
    for name, src in sources.items():
        res = run_cli("predict", str(trained), "--articles", str(src), "--title-field", "")
        assert res.returncode == 0, (name, res.stderr)
        outputs[name] = _rows(res.stdout)
    first = outputs["txt"]
    assert [r["article_id"] for r in first] == sorted(r["article_id"] for r in first)  # input order
    assert {r["article_id"] for r in first} == {p.stem for p in ARTICLES}
    assert set(first[0]) == {"article_id", "index", "start", "end", "text", "labels", "scores"}
    for name, rows in outputs.items():
        assert rows == first, name
    # the rows equal predicting each article on its own, as --article does
    one = _rows(run_cli("predict", str(trained), "--article", str(ARTICLES[0])).stdout)
    assert [r for r in first if r["article_id"] == ARTICLES[0].stem] == one


def test_offsets_point_into_the_written_texts_and_parquet_equals_jsonl(
        trained: Path, sources: dict[str, Path], tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    jl, pa_out, texts = tmp_path / "o.jsonl", tmp_path / "o.parquet", tmp_path / "t.jsonl"
    args = ["predict", str(trained), "--articles", str(sources["jsonl"]), "--title-field", ""]
    assert run_cli(*args, "--output", str(jl), "--text-output", str(texts)).returncode == 0
    assert run_cli(*args, "--output", str(pa_out)).returncode == 0
    rows = _rows(jl.read_text())
    doc = {r["article_id"]: r["text"] for r in _rows(texts.read_text())}
    assert all(doc[r["article_id"]][r["start"]:r["end"]] == r["text"] for r in rows)
    table = pq.read_table(pa_out).to_pylist()
    assert len(table) == len(rows)
    for a, b in zip(table, rows):
        assert {k: a[k] for k in ("article_id", "index", "start", "end", "text", "labels")} == \
            {k: b[k] for k in ("article_id", "index", "start", "end", "text", "labels")}
        assert a["scores"] == b["scores"]


def test_html_pages_are_read_as_articles(trained: Path, tmp_path: Path) -> None:
    page = FIXTURES / "html" / "salon.com.emissions.html"
    texts = tmp_path / "t.jsonl"
    res = run_cli("predict", str(trained), "--article", str(page), "--text-output", str(texts))
    assert res.returncode == 0, res.stderr
    rows = _rows(res.stdout)
    assert rows[0]["text"] == "Despite everything, U.S. emissions dipped in 2019"  # the headline
    assert any("Rhodium Group" in r["text"] for r in rows) and len(rows) > 15
    joined = " ".join(r["text"] for r in rows)
    for junk in ("<", "var salon_config", "@context", "Terms of Service", "DMCA Policy",
                 "Go Ad Free", "Economy & Innovation", "Up Next", "Melanie McFarland"):
        assert junk not in joined, junk
    doc = json.loads(texts.read_text())["text"]
    assert all(doc[r["start"]:r["end"]] == r["text"] for r in rows)
    # detected by content as well as by suffix, and read by --articles and by build
    disguised = tmp_path / "page.txt"
    disguised.write_bytes(page.read_bytes())
    again = _rows(run_cli("predict", str(trained), "--article", str(disguised)).stdout)
    assert [r["text"] for r in again] == [r["text"] for r in rows]
    many = _rows(run_cli("predict", str(trained), "--articles", str(FIXTURES / "html")).stdout)
    assert {r["article_id"] for r in many} == {"salon.com.emissions", "theverge.com.ios13"}
    assert not any("<" in r["text"] for r in many)


def test_build_reads_html_articles(workdir: Path, tmp_path: Path) -> None:
    from stancekit.config import config_from_dict
    from stancekit.dataset import build_dataset
    from stancekit.segment import segment_article
    from stancekit.streaming import read_article_file
    page = FIXTURES / "html" / "salon.com.emissions.html"
    gold = tmp_path / "g.jsonl"
    sents, _ = segment_article(read_article_file(page).text)
    gold.write_text("".join(json.dumps({"article_id": "salon.com.emissions", "index": s.index,
                                        "text": s.text, "labels": ["statistic"] if "percent" in s.text else []}) + "\n"
                            for s in sents))
    cfg = config_from_dict({"data": {"articles": [{"path": str(page.parent), "format": "html"}],
                                     "gold": [str(gold)], "gold_requires_article": True},
                            "labels": {"names": ["statistic"]}, "split": {"same_story": 0}},
                           "t", tmp_path)
    ds = build_dataset(cfg)
    assert len(ds.records) == len(sents) and all(r["start"] is not None for r in ds.records)


def test_evaluate_and_predict_input_score_a_built_dataset_identically(
        workdir: Path, trained: Path, tmp_path: Path) -> None:
    res = run_cli("build", "configs/default.yaml", "--set", f"output.dir={tmp_path}", cwd=workdir)
    assert res.returncode == 0, res.stderr
    built = Path(res.stdout.strip())
    model = stancekit.load(trained)
    data = read_eval_data(built, model.labels, "test")
    scores = evaluate(model, data, n_boot=1)["_scores"]
    out = tmp_path / "pred.jsonl"
    res = run_cli("predict", str(trained), "--input", str(built / "sentences.jsonl"),
                  "--output", str(out))
    assert res.returncode == 0, res.stderr
    predicted = {(r["article_id"], r["index"]): r for r in _rows(out.read_text())}
    got = np.array([[predicted[(r["article_id"], r["index"])]["scores"][l] for l in model.labels]
                    for r in data.records])
    assert np.array_equal(got, np.round(scores, 6))
    # and the context matters: the same sentences scored bare differ
    bare = model.predict_scores([r["text"] for r in data.records])
    assert np.abs(bare - scores).max() > 0.01
    # the Python API takes the same path
    rows = [dict(r) for r in _rows((built / "sentences.jsonl").read_text())]
    api = {(r["article_id"], r["index"]): r["scores"] for r in model.predict_rows(rows)}
    assert all(api[k] == v["scores"] for k, v in predicted.items())


def test_csv_input_with_article_columns_gets_context(trained: Path, tmp_path: Path) -> None:
    model = stancekit.load(trained)
    sentences = model.segment((ROOT / "data/articles/council-tax-row.txt").read_text(), "c")
    path = tmp_path / "s.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, ["article_id", "index", "text"])
        w.writeheader()
        w.writerows({"article_id": s["article_id"], "index": s["index"], "text": s["text"]}
                    for s in sentences)
    rows = _rows(run_cli("predict", str(trained), "--input", str(path)).stdout)
    whole = model.predict_article((ROOT / "data/articles/council-tax-row.txt").read_text(), "c")
    assert [r["scores"] for r in rows] == [r["scores"] for r in whole]


def test_bad_article_records_follow_on_error(trained: Path, tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text('{"id": "a", "text": "Headline\\n\\nThe mayor denied it."}\n'
                   '{"id": "b"}\n'
                   '{"id": "c", "text": "Another\\n\\nSales rose 5%."}\n')
    res = run_cli("predict", str(trained), "--articles", str(src))
    assert res.returncode == 2 and "a.jsonl:2: field 'text': missing field" in res.stderr
    assert res.stdout == ""
    res = run_cli("predict", str(trained), "--articles", str(src), "--on-error", "skip")
    assert res.returncode == 0 and "skipped 1 records: unreadable record 1" in res.stderr
    assert {r["article_id"] for r in _rows(res.stdout)} == {"a", "c"}
    out = tmp_path / "out.jsonl"
    res = run_cli("predict", str(trained), "--articles", str(src), "--output", str(out))
    assert res.returncode == 2 and not out.exists()  # nothing half written
    res = run_cli("predict", str(trained), "--articles", str(tmp_path / "none-*.jsonl"))
    assert res.returncode == 2 and "no files match" in res.stderr


def test_rows_of_an_article_must_be_together(trained: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (
        {"article_id": "a", "index": 0, "text": "Head"}, {"article_id": "b", "index": 0, "text": "X"},
        {"article_id": "a", "index": 1, "text": "Back again."})))
    res = run_cli("predict", str(trained), "--input", str(path))
    assert res.returncode == 2 and "s.jsonl:3: field 'article_id': the rows of article 'a'" in res.stderr
