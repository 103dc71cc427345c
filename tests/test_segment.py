"""Cleaning and segmentation on the seed article, on tricky sentences and on BBC gold."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from stancekit.clean import CleaningRules
from stancekit.segment import segment_article, split_sentences

from conftest import SHARED, needs_shared

SEED_DROPPED = {
    "credit": ["Anadolu Agency via Getty Images", "Parliament", "LEON NEAL via Getty Images",
               "Christopher Furlong via Getty Images"],
    "caption": ["Labour Women's PLP chair Jess Phillips"] * 2 + ["Labour MP Luciana Berger"] * 2
    + ["A huge Corbyn rally in Liverpool in August 2016"] * 2,
    "tweet": ["All the mayors can go on an actual man date now. We can serve the tea",
              "— Jess Phillips MP (@jessphillips) August 10, 2016"],
    "furniture": ["Close", "What's Hot"],
}


@needs_shared
def test_seed_article_comes_out_clean() -> None:
    text = (SHARED / "seed-article.txt").read_text(encoding="utf-8")
    sents, report = segment_article(text)
    texts = [s.text for s in sents]
    assert texts[0] == "Jeremy Corbyn Under Attack From Women MPs Over Momentum 'Threats'"
    assert texts[1] == "Also pressed on lack of women selected for Metro Mayor races"
    assert "“No one has threatened to rape Jeremy Corbyn, have they?” one MP told HuffPost UK." in texts
    assert "Just two of its 13 PCCs are women." in texts
    assert texts[-1].startswith("A Momentum source added: “Rather than undermine")
    assert len(texts) == 29
    for s in sents:
        assert text[s.start:s.end] == s.text
        assert s.text.strip('"“”\' ') != ""
    assert {k for k, n in report.dropped.items() if n} == {k for k, v in SEED_DROPPED.items() if v}
    for reason, n in report.dropped.items():
        assert n == len(SEED_DROPPED[reason])
    assert report.examples["credit"] == SEED_DROPPED["credit"]
    assert report.examples["tweet"] == SEED_DROPPED["tweet"]
    assert report.examples["furniture"] == SEED_DROPPED["furniture"]
    assert not any(t in ("Close", "What's Hot", "Parliament") for t in texts)


@pytest.mark.parametrize("text, expected", [
    ("Mr Smith met Dr. Jones. They spoke.", ["Mr Smith met Dr. Jones.", "They spoke."]),
    ("The U.S. Army said so. It was late.", ["The U.S. Army said so.", "It was late."]),
    ("J. K. Rowling wrote it. Then she left.", ["J. K. Rowling wrote it.", "Then she left."]),
    ("Profits hit £1.4bn, up 5.5% on 2,000 sales. Shares rose.",
     ["Profits hit £1.4bn, up 5.5% on 2,000 sales.", "Shares rose."]),
    ('"We will not go," he said. "Never."', ['"We will not go," he said.', '"Never."']),
    ('He said: "It is over." Then he left.', ['He said: "It is over."', "Then he left."]),
    ("“No one has threatened me, have they?” one MP said.",
     ["“No one has threatened me, have they?” one MP said."]),
    ("She called it ‘absurd.’ He did not.", ["She called it ‘absurd.’", "He did not."]),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in split_sentences(text)] == expected


@needs_shared
def test_boundaries_match_bbc_gold() -> None:
    """Sentence-level precision and recall against the gold segmentation of 345 articles."""
    articles = {}
    with open(SHARED / "bbc-news.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            articles[r["id"]] = r
    gold = defaultdict(list)
    with open(SHARED / "bbc-politics-gold.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            gold[r["article_id"]].append(r["text"])
    tp = fp = fn = 0
    for aid, sents in gold.items():
        a = articles[aid]
        pred, _ = segment_article(a["title"] + "\n\n" + a["text"], CleaningRules(enabled=False))
        p, g = {s.text for s in pred}, set(sents)
        tp, fp, fn = tp + len(p & g), fp + len(p - g), fn + len(g - p)
    assert tp / (tp + fp) >= 0.99 and tp / (tp + fn) >= 0.99
