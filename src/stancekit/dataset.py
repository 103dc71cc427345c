"""Dataset building: articles + annotations -> labelled sentence records, split by story
(an article and any copies of it republished under another id).

Each record carries its article id, sentence index (0 = headline), paragraph,
character offsets (when the raw article is known), labels, source (gold or rules),
its article context (neighbours, open quotation), its story and its split and CV fold.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .annotations import (GoldSentence, ImportCounts, project_spans, read_doccano, read_gold,
                          read_label_studio, read_prodigy, resolve_labels)
from .clean import CleaningReport
from .config import ArticleSource, Config
from .errors import DataError, LabelError, TrainingError
from .read import Article, ReadReport, iter_articles, read_sources
from .rules import weak_labels
from .runtime.records import SentenceRecord, add_context, fully_labelled
from .segment import Segmenter, Sentence

SPLITS = ("train", "validation", "test")
UNLABELLED = "unlabelled"   # the split of a dataset built without annotations


def label_matrix(records: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> np.ndarray:
    """0/1 matrix (n_records, n_labels) of each record's `labels` in the order given;
    labels outside `labels` are ignored."""
    index = {l: j for j, l in enumerate(labels)}
    Y = np.zeros((len(records), len(labels)), dtype=np.int8)
    for i, r in enumerate(records):
        for l in r["labels"]:
            if l in index:
                Y[i, index[l]] = 1
    return Y


@dataclass
class SentenceDataset:
    """Sentence records plus what the dataset card reports about how they were made."""

    records: list[SentenceRecord]
    labels: tuple[str, ...]
    cleaning: CleaningReport = field(default_factory=CleaningReport)
    reading: ReadReport = field(default_factory=ReadReport)
    fingerprint: str = ""
    name: str = "stancekit-dataset"    # the config's output.name
    sources: tuple[str, ...] = ()      # the files it was built from

    def split(self, name: str) -> list[SentenceRecord]:
        """The records of one split, in article order."""
        return [r for r in self.records if r["split"] == name]

    def matrix(self, records: Sequence[SentenceRecord], labels: Sequence[str] | None = None
               ) -> np.ndarray:
        """0/1 label matrix (n_records, n_labels) in the order of `labels` (default: all)."""
        return label_matrix(records, self.labels if labels is None else labels)


def _record(aid: str, index: int, text: str, labels: Iterable[str], source: str,
            sent: Sentence | None, known: Iterable[str] | None = None) -> SentenceRecord:
    rec: SentenceRecord = {
        "article_id": aid, "index": index, "text": text, "labels": sorted(labels),
        "source": source, "paragraph": sent.paragraph if sent else None,
        "start": sent.start if sent else None, "end": sent.end if sent else None}
    if known is not None:
        rec["known"] = sorted(known)
    return rec


def _align_gold(article: Article, gold: list[GoldSentence], sentences: list[Sentence]
                ) -> list[SentenceRecord]:
    """Attach offsets from the raw article to gold sentences (located by text, in order)."""
    out, cursor = [], 0
    para_of = [(s.start, s.end, s.paragraph) for s in sentences]
    for g in gold:
        pos = article.text.find(g.text, cursor)
        if pos < 0:
            raise DataError(f"sentence not found in article {article.id!r} ({article.path}) "
                            "after the previous one", g.path, g.line, "text")
        end = pos + len(g.text)
        para = next((p for s, e, p in para_of if s <= pos < e), None)
        out.append(_record(g.article_id, g.index, g.text, g.labels, "gold",
                           Sentence(g.index, para if para is not None else -1, pos, end, g.text),
                           g.known))
        cursor = end
    return out


def _partial_gold(article: Article, gold: list[GoldSentence], sentences: list[Sentence]
                  ) -> list[SentenceRecord]:
    """An article annotated in part: every sentence of it (for context), the annotated ones
    with their labels, the others known for no label (they train nothing)."""
    by_index = {g.index: g for g in gold}
    for g in gold:
        if g.index >= len(sentences) or " ".join(sentences[g.index].text.split()) != \
                " ".join(g.text.split()):
            found = sentences[g.index].text[:60] if g.index < len(sentences) else "nothing"
            raise DataError(f"sentence {g.index} of article {article.id!r} is {found!r}, the "
                            f"annotation says {g.text[:60]!r}: the article or its cleaning rules "
                            "changed since the sentences were chosen", g.path, g.line, "index")
    return [_record(article.id, s.index, s.text, by_index[s.index].labels if s.index in by_index
                    else (), "gold", s, by_index[s.index].known if s.index in by_index else ())
            for s in sentences]


def _segment(article: Article, segmenter: Segmenter, report: CleaningReport) -> list[Sentence]:
    sents, rep = segmenter(article.text)
    report.merge(rep)
    return sents


def _articles(cfg: Config, sources: Iterable[ArticleSource], reading: ReadReport
              ) -> dict[str, Article]:
    return {art.id: art for art in read_sources(sources, Path(cfg.base_dir), cfg.data.on_error,
                                                reading)}


def _gold_records(cfg: Config, articles: dict[str, Article], segmenter: Segmenter,
                  cleaning: CleaningReport, reading: ReadReport) -> list[list[SentenceRecord]]:
    """Records of every annotated article: sentence-level gold (JSONL, and tool exports
    whose units name an article and sentence), then span and text-level annotations."""
    labels = cfg.labels.names
    policy = cfg.annotation.annotators
    out: list[list[SentenceRecord]] = []
    seen: dict[str, str] = {}

    def claim(aid: str, where: str) -> None:
        if aid in seen:
            raise DataError(f"article {aid!r} is annotated twice (also in {seen[aid]})", where)
        seen[aid] = where

    sentence_gold: dict[str, list[GoldSentence]] = {}
    for path in cfg.data.gold:
        for aid, gold in read_gold(cfg.resolve(path), labels).items():
            claim(aid, f"{gold[0].path}:{gold[0].line}")
            sentence_gold[aid] = gold
    counts = ImportCounts()
    units = []
    for reader, sources in ((read_label_studio, cfg.data.label_studio),
                            (read_doccano, cfg.data.doccano), (read_prodigy, cfg.data.prodigy)):
        for src in sources:
            units.extend(reader(cfg.resolve(src.path), labels, src.text_field, counts))
    for key, n in counts.left_out.items():
        reading.skipped[key] += n
    sentence_units: dict[str, list[GoldSentence]] = {}
    for u in units:
        if u.index is not None:  # one sentence of an article
            got = resolve_labels(u.labels, policy) if u.labels is not None else None
            if got is None:
                raise DataError("a sentence unit with spans: annotate sentences with choices, "
                                "or whole articles with spans", u.path, u.where)
            if u.article_id not in sentence_units:
                claim(u.article_id, f"{u.path}:{u.where}")
            sentence_units.setdefault(u.article_id, []).append(GoldSentence(
                u.article_id, u.index, u.text, got, u.path, u.where, _known(u.known, labels)))
            continue
        claim(u.article_id, f"{u.path}:{u.where}")
        if u.spans is not None:
            art = Article(u.article_id, u.text, u.path, u.where)
            sents = _segment(art, segmenter, cleaning)
            projected = project_spans(u.spans, u.text, sents, cfg.annotation.min_overlap,
                                      policy, u.path, u.where)
            out.append([_record(u.article_id, s.index, s.text, lab, "gold", s)
                        for s, lab in zip(sents, projected)])
        else:  # labels of the whole text: one unit, as annotated
            known = _known(u.known, labels)
            out.append([_record(u.article_id, 0, u.text, resolve_labels(u.labels or (), policy),
                                "gold", None, list(known) if known is not None else None)])
    for aid, gold in sentence_units.items():
        gold.sort(key=lambda g: g.index)
        for a, b in zip(gold, gold[1:]):
            if a.index == b.index:
                raise DataError(f"sentence {a.index} of article {aid!r} is annotated twice "
                                f"(also at {a.path}:{a.line})", b.path, b.line, "index")
        sentence_gold[aid] = gold
    for aid, gold in sentence_gold.items():
        out.append(_article_records(cfg, aid, gold, articles.get(aid), segmenter, cleaning,
                                    whole=aid not in sentence_units))
    return out


def _known(known: frozenset[str] | None, labels: Sequence[str]) -> tuple[str, ...] | None:
    """The labels an annotation speaks about, sorted; None when that is every label."""
    return None if known is None or set(labels) <= known else tuple(sorted(known))


def _article_records(cfg: Config, aid: str, gold: list[GoldSentence], art: Article | None,
                     segmenter: Segmenter, cleaning: CleaningReport, whole: bool
                     ) -> list[SentenceRecord]:
    """One article's records from its sentence-level gold: complete (offsets from the raw
    article when there is one) or annotated in part (the raw article gives the rest).
    `whole`: gold in the annotation guide's format, which annotates whole articles, so
    sentences 0..n-1 are the article (their own segmentation, located in the raw text)."""
    indices = [g.index for g in gold]
    contiguous = indices == list(range(len(gold)))
    complete = contiguous and all(g.known is None for g in gold)
    if art is not None:
        sents = _segment(art, segmenter, cleaning)
        if complete and (whole or len(gold) == len(sents) or not _matches(gold, sents)):
            return _align_gold(art, gold, sents)
        return _partial_gold(art, gold, sents)
    if cfg.data.gold_requires_article:
        raise DataError(f"no raw article with id {aid!r}", gold[0].path, gold[0].line, "article_id")
    if not contiguous:
        raise DataError(f"article {aid!r} is annotated in part (sentences "
                        f"{', '.join(map(str, indices[:8]))}{' ...' if len(indices) > 8 else ''}): "
                        "its other sentences come from the raw article; list it under "
                        "data.articles", gold[0].path, gold[0].line, "index")
    return [_record(aid, g.index, g.text, g.labels, "gold", None, g.known) for g in gold]


def _matches(gold: list[GoldSentence], sents: list[Sentence]) -> bool:
    """Whether gold sentences are this segmentation's sentences at their indices."""
    return all(g.index < len(sents) and " ".join(sents[g.index].text.split()) ==
               " ".join(g.text.split()) for g in gold)


_WORDS = re.compile(r"\w+")


def story_key(text: str) -> str | None:
    """A sentence's identity across republished copies of a story: its lower-cased words.
    None under 8 words, where stock phrases ("He told the BBC.") repeat across stories."""
    words = _WORDS.findall(text.lower())
    return " ".join(words) if len(words) >= 8 else None


def _story_keys(texts: Iterable[str]) -> set[str]:
    return {k for k in map(story_key, texts) if k is not None}


# The most copies of one story expected under different ids (the BBC gold has at most 4).
MAX_STORY_COPIES = 8


def story_groups(articles: Sequence[Sequence[str]], min_shared: int) -> list[int]:
    """For each article (its sentence texts), the position of the first article of its story.

    Articles sharing at least `min_shared` long sentences are one story, transitively:
    a story republished under a new headline and id would otherwise sit on both sides
    of a split and flatter every held-out score. `min_shared` 0: every article alone.
    """
    parent = list(range(len(articles)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if min_shared > 0:
        holders: dict[str, list[int]] = {}
        for i, texts in enumerate(articles):
            for k in _story_keys(texts):
                holders.setdefault(k, []).append(i)
        # A sentence in more than MAX_STORY_COPIES articles is boilerplate ("Sign up for
        # our newsletter"), not a republished story; skipping it keeps the pairs counted
        # below linear in the number of articles.
        shared = Counter((a, b) for hs in holders.values() if 1 < len(hs) <= MAX_STORY_COPIES
                         for n, a in enumerate(hs) for b in hs[n + 1:])
        for (a, b), count in sorted(shared.items()):
            if count >= min_shared:
                ra, rb = root(a), root(b)
                parent[max(ra, rb)] = min(ra, rb)  # a story's root is its first article
    return [root(i) for i in range(len(articles))]


def _weak_records(cfg: Config, exclude: set[str], gold_keys: set[str], segmenter: Segmenter,
                  cleaning: CleaningReport,
                  reading: ReadReport, progress: Callable[[Iterable], Iterable]
                  ) -> list[list[SentenceRecord]]:
    """Rule-labelled records for unlabelled articles (streamed; one article at a time).

    Articles in `exclude`, or sharing `split.same_story` long sentences with the gold
    (`gold_keys`), are left out and counted in `reading.same_story`."""
    wl = cfg.weak_labels
    min_shared = cfg.split.same_story
    out: list[list[SentenceRecord]] = []
    count = 0
    for src in wl.articles:
        for art in progress(iter_articles(src, Path(cfg.base_dir), cfg.data.on_error, reading)):
            if art.id in exclude:
                continue
            if wl.max_articles is not None and count >= wl.max_articles:
                return out
            sents = _segment(art, segmenter, cleaning)
            if min_shared and len(_story_keys(s.text for s in sents) & gold_keys) >= min_shared:
                reading.same_story += 1
                continue
            count += 1
            recs = [_record(art.id, s.index, s.text, (), "rules", s) for s in sents]
            add_context(recs)
            for r in recs:
                r["labels"] = list(weak_labels(r["text"], r["context"], wl.rules, cfg.labels.names))
            out.append(recs)
    return out


def assign_groups(profiles: list[np.ndarray], fractions: Sequence[float], seed: int) -> list[int]:
    """Assign each article (a vector of label counts + sentence count) to a group.

    Greedy iterative stratification: articles in seeded random order, rarest-label
    articles first, each to the group furthest below its target share of the labels
    that article carries. Deterministic for a given seed.
    """
    if not profiles:
        return []
    P = np.array(profiles, dtype=float)
    totals = P.sum(axis=0)
    desired = np.outer(np.asarray(fractions, dtype=float), totals)
    have = np.zeros_like(desired)
    rng = random.Random(seed)
    order = list(range(len(P)))
    rng.shuffle(order)
    rarity = P[:, :-1] / np.maximum(totals[:-1], 1)
    order.sort(key=lambda i: -float(rarity[i].max()) if P[i, :-1].any() else 0.0)
    out = [0] * len(P)
    for i in order:
        need = (desired - have) / np.maximum(desired, 1e-9)
        weights = np.where(P[i] > 0, 1.0, 0.0)
        score = (need * weights).sum(axis=1) + 1e-6 * np.array(fractions)
        score[np.asarray(fractions) == 0] = -np.inf
        best = np.flatnonzero(score == score.max())
        g = int(best[rng.randrange(len(best))]) if len(best) > 1 else int(best[0])
        out[i] = g
        have[g] += P[i]
    return out


def assign_splits(articles: list[list[SentenceRecord]], cfg: Config) -> None:
    """Set `story`, `split` and `fold` on every gold record, by story (`story_groups`:
    an article and its republished copies); rule records are train-only."""
    labels = cfg.labels.names
    gold = [a for a in articles if a[0]["source"] == "gold"]
    first = story_groups([[r["text"] for r in recs] for recs in gold], cfg.split.same_story)
    stories = sorted(set(first))
    profiles = {g: np.zeros(len(labels) + 1) for g in stories}
    for recs, g in zip(gold, first):
        c = Counter(l for r in recs for l in r["labels"])
        profiles[g] += np.array([c[l] for l in labels] + [len(recs)], dtype=float)
    s = cfg.split
    ordered = [profiles[g] for g in stories]
    splits = dict(zip(stories, assign_groups(
        ordered, (1 - s.validation - s.test, s.validation, s.test), cfg.seed)))
    folds = dict(zip(stories, assign_groups(ordered, [1.0 / s.folds] * s.folds, cfg.seed + 1)))
    for recs, g in zip(gold, first):
        for r in recs:
            r["story"] = gold[g][0]["article_id"]
            r["split"], r["fold"] = SPLITS[splits[g]], folds[g]
    for recs in articles:
        if recs[0]["source"] == "rules":
            for r in recs:
                r["story"], r["split"], r["fold"] = r["article_id"], "train", -1


def fingerprint(records: Sequence[SentenceRecord]) -> str:
    """sha256 over every record's identity, text, labels, source and split assignment."""
    h = hashlib.sha256()
    for r in records:
        items: list[Any] = [r["article_id"], r["index"], r["text"], r["labels"], r["source"],
                            r["split"], r["fold"]]
        if r.get("known") is not None:  # only then: datasets of complete gold keep their prints
            items.append(r["known"])
        h.update(json.dumps(items, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def _check_label_support(records: list[SentenceRecord], cfg: Config) -> None:
    counts = Counter(l for r in records if r["source"] == "gold" for l in r["labels"])
    for label in cfg.labels.names:
        if counts[label] == 0 and cfg.labels.missing_positive == "error":
            raise LabelError(f"label {label!r} has no positive example in the gold data; "
                             "remove it from labels.names or set labels.missing_positive: skip")
    if cfg.labels.exclusive:
        for r in records:
            if fully_labelled(r) and len(r["labels"]) != 1:
                raise LabelError(f"exclusive label sets need exactly one label per sentence; "
                                 f"{r['article_id']}#{r['index']} has {r['labels']}")


def _identity(items: Iterable) -> Iterable:
    return items


def build_dataset(cfg: Config, progress: Callable[[Iterable], Iterable] = _identity,
                  allow_unlabelled: bool = False) -> SentenceDataset:
    """Read, clean, segment, label and split everything the config names. With
    `allow_unlabelled`, a config with articles and no annotations gives an unlabelled
    sentence dataset (split "unlabelled"), for `suggest` and annotation tools."""
    cleaning, reading = CleaningReport(), ReadReport()
    articles = _articles(cfg, cfg.data.articles, reading)
    segmenter = Segmenter(cfg.cleaning, cfg.segmentation.abbreviations)
    per_article = _gold_records(cfg, articles, segmenter, cleaning, reading)
    if not per_article and allow_unlabelled and articles:
        return _unlabelled(cfg, articles, segmenter, cleaning, reading)
    if not per_article:
        raise TrainingError("the config names no annotated data (data.gold, data.label_studio, "
                            "data.doccano or data.prodigy)")
    for recs in per_article:
        add_context(recs)
    if cfg.weak_labels.enabled:
        gold_ids = {recs[0]["article_id"] for recs in per_article}
        gold_keys = _story_keys(r["text"] for recs in per_article for r in recs)
        per_article.extend(_weak_records(cfg, gold_ids, gold_keys, segmenter, cleaning, reading,
                                         progress))
    assign_splits(per_article, cfg)
    records = [r for recs in per_article for r in recs]
    _check_label_support(records, cfg)
    ds = SentenceDataset(records, tuple(cfg.labels.names), cleaning, reading,
                         name=cfg.output.name, sources=_sources(cfg))
    ds.fingerprint = fingerprint(records)
    return ds


def _sources(cfg: Config) -> tuple[str, ...]:
    exports = (*cfg.data.label_studio, *cfg.data.doccano, *cfg.data.prodigy)
    return tuple(cfg.data.gold) + tuple(s.path for s in exports) + \
        tuple(s.path for s in cfg.data.articles)


def _unlabelled(cfg: Config, articles: dict[str, Article], segmenter: Segmenter,
                cleaning: CleaningReport, reading: ReadReport) -> SentenceDataset:
    """Every sentence of the articles, with context and no label known."""
    records: list[SentenceRecord] = []
    for art in articles.values():
        recs = [_record(art.id, s.index, s.text, (), "unlabelled", s, ())
                for s in _segment(art, segmenter, cleaning)]
        add_context(recs)
        for r in recs:
            r["story"], r["split"], r["fold"] = art.id, "unlabelled", -1
        records.extend(recs)
    ds = SentenceDataset(records, tuple(cfg.labels.names), cleaning, reading,
                         name=cfg.output.name, sources=_sources(cfg))
    ds.fingerprint = fingerprint(records)
    return ds
