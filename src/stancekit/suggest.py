"""The next sentences worth labelling, pre-annotated for the annotation tool.

A model scores the candidates (sentences of articles, or input rows, with their context);
a strategy picks N of them (or N whole articles): `uncertainty` (default: the summed
entropy of every label's score, each measured from its own threshold), `margin` (the
label closest to its threshold, in log-odds), `diverse` (uncertainty, with no story taking
more than its share and near-duplicates of chosen sentences pushed down) or `random`.
A sentence already labelled (gold in the input, or in an `exclude` file) is never chosen.
The chosen ones are written in the import format of Label Studio (tasks with
`predictions`, plus the label config XML it needs), doccano or Prodigy, or as stancekit
JSONL; every input field passes through, so importing the annotated file back gives the
same sentences with the same ids.

Selection streams: candidates are scored in batches and only the best few (a heap, or a
seeded reservoir for `random`) are kept, so a corpus of millions needs memory for N.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence
from xml.sax.saxutils import quoteattr

import numpy as np

from .atomic import open_atomic, write_file
from .errors import ConfigError
from .inputs import json_array_items, jsonl_objects, read_text
from .read import Article
from .runtime.model import Model

STRATEGIES = ("uncertainty", "margin", "diverse", "random")
FORMATS = ("label-studio", "doccano", "prodigy", "jsonl")
UNITS = ("sentence", "article")
_WORD = re.compile(r"\w+")
_BATCH = 4096


# -- how useful a label would be ----------------------------------------------------------

def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def uncertainty(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per row, the summed binary entropy of each label's score re-centred on its threshold
    (a score at its threshold is a coin toss): higher is more uncertain."""
    z = _logit(scores) - _logit(np.asarray(thresholds)[None, :])
    p = np.clip(1 / (1 + np.exp(-z)), 1e-12, 1 - 1e-12)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p)).sum(axis=1)


def margin(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per row, minus the smallest distance of a label's score from its threshold, in
    log-odds: higher is closer to a decision flipping."""
    return -np.abs(_logit(scores) - _logit(np.asarray(thresholds)[None, :])).min(axis=1)


def value_of(strategy: str, scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """What a strategy ranks by (random: nothing, zeros)."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if strategy == "random":
        return np.zeros(len(scores))
    return margin(scores, thresholds) if strategy == "margin" else uncertainty(scores, thresholds)


def focus_columns(labels: Sequence[str], focus: Sequence[str] | None) -> list[int]:
    """The score columns a strategy looks at: every label, or only the `focus` ones (the
    labels where more annotation still pays)."""
    if not focus:
        return list(range(len(labels)))
    unknown = [l for l in focus if l not in labels]
    if unknown:
        raise ConfigError(f"focus label {unknown[0]!r} is not one of the model's labels "
                          f"({', '.join(labels)})")
    return [list(labels).index(l) for l in dict.fromkeys(focus)]


# -- choosing ------------------------------------------------------------------------------

def select(rows: Sequence[Mapping[str, Any]], value: np.ndarray, n: int,
           strategy: str = "uncertainty", seed: int = 0) -> list[int]:
    """Positions of the `n` rows to annotate next, most useful first. `value` is
    `value_of(strategy, ...)`; ties keep input order, `random` draws with `seed`."""
    n = max(0, min(n, len(rows)))
    if strategy == "random":
        return random.Random(seed).sample(range(len(rows)), n)
    order = np.lexsort((np.arange(len(rows)), -np.asarray(value)))
    if strategy != "diverse":
        return [int(i) for i in order[:n]]
    return _diverse(rows, np.asarray(value), order, n)


def _words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


def _diverse(rows: Sequence[Mapping[str, Any]], value: np.ndarray, order: np.ndarray,
             n: int) -> list[int]:
    """Uncertainty with coverage: from the most uncertain candidates, greedily take the one
    whose uncertainty, discounted by its word overlap with those taken, is highest; no
    story (or article) gives more than a twentieth of the batch (at least one)."""
    pool = [int(i) for i in order[:pool_size("diverse", n)]]
    if not pool:
        return []
    cap = max(1, math.ceil(n / 20))
    words = {i: _words(str(rows[i].get("text", ""))) for i in pool}
    lo, hi = float(value[pool].min()), float(value[pool].max())
    gain = {i: (float(value[i]) - lo) / ((hi - lo) or 1.0) + 1e-6 for i in pool}
    overlap = dict.fromkeys(pool, 0.0)
    per_story: dict[Any, int] = defaultdict(int)
    taken: list[int] = []
    left = set(pool)
    while len(taken) < n and left:
        pick = max(left, key=lambda i: (gain[i] * (1 - overlap[i]), -i))
        left.discard(pick)
        story = rows[pick].get("story", rows[pick].get("article_id", pick))
        if per_story[story] >= cap:
            continue
        per_story[story] += 1
        taken.append(pick)
        for i in left:
            union = len(words[i] | words[pick]) or 1
            overlap[i] = max(overlap[i], len(words[i] & words[pick]) / union)
    chosen = set(taken)  # when the cap left too few, the next most uncertain fill the batch
    taken += [int(i) for i in order if int(i) not in chosen][:n - len(taken)]
    return taken


def pool_size(strategy: str, n: int) -> int:
    """How many of the best candidates `select` looks at: `n`, or for `diverse` a wider
    pool to trade uncertainty for coverage in."""
    return max(5 * n, 200) if strategy == "diverse" else n


class _Best:
    """The `k` best items of a stream by value (ties: the earlier), or for `random` a
    uniform sample of `k` (reservoir, seeded): memory for `k` items, whatever the stream."""

    def __init__(self, k: int, strategy: str, seed: int) -> None:
        self.k, self.random = k, strategy == "random"
        self.rng = random.Random(seed)
        self.heap: list[tuple[float, int, Any]] = []
        self.seen = 0

    def offer(self, value: float, item: Any) -> None:
        seq, self.seen = self.seen, self.seen + 1
        if self.k <= 0:
            return
        if self.random:
            if len(self.heap) < self.k:
                self.heap.append((0.0, -seq, item))
            else:
                j = self.rng.randrange(seq + 1)
                if j < self.k:
                    self.heap[j] = (0.0, -seq, item)
            return
        entry = (value, -seq, item)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, entry)
        elif entry[:2] > self.heap[0][:2]:
            heapq.heapreplace(self.heap, entry)

    def items(self) -> list[tuple[float, Any]]:
        """The kept items in stream order, with their values."""
        return [(v, item) for v, _, item in sorted(self.heap, key=lambda e: -e[1])]


# -- what is labelled already -------------------------------------------------------------

@dataclass
class Labelled:
    """What must not be handed out again: sentences by (article id, index) and by text,
    and whole articles."""

    sentences: set[tuple[str, int]] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)
    articles: set[str] = field(default_factory=set)
    in_part: set[str] = field(default_factory=set)   # articles with a labelled sentence

    def has_sentence(self, row: Mapping[str, Any]) -> bool:
        if row.get("source") == "gold" and row.get("known") != []:
            return True  # a gold sentence of a built dataset's sentences.jsonl
        aid = row.get("article_id")
        return (aid is not None and (str(aid) in self.articles
                                     or (str(aid), row.get("index")) in self.sentences)) \
            or _norm(row.get("text")) in self.texts

    def has_article(self, aid: str) -> bool:
        return aid in self.articles or aid in self.in_part


def _norm(text: Any) -> str:
    return " ".join(text.split()) if isinstance(text, str) else ""


def _records_of(path: Path) -> Iterator[dict[str, Any]]:
    """The objects of a JSONL file, or of a JSON list (a Label Studio export)."""
    head = read_text(path)[:4096].lstrip() if path.suffix.lower() == ".json" else ""
    if head.startswith("["):
        for _, item in json_array_items(read_text(path), path):
            if isinstance(item, dict):
                yield item
        return
    for _, row in jsonl_objects(path):
        yield row


def read_labelled(paths: Iterable[Path]) -> Labelled:
    """What the files name as labelled or handed out: sentence gold JSONL, a built
    dataset's sentences.jsonl (its gold sentences), earlier `suggest` output and the
    tools' exports of it (ids in `data`, `meta` or at the top)."""
    out = Labelled()
    for path in paths:
        for row in _records_of(path):
            if row.get("source") not in (None, "gold") or row.get("known") == []:
                continue  # unlabelled, rule-labelled or context-only sentences
            fields = dict(row)
            for nested in ("meta", "data"):  # Prodigy's meta, Label Studio's task data
                if isinstance(row.get(nested), dict):
                    fields.update(row[nested])
            aid, index = fields.get("article_id"), fields.get("index")
            if aid is not None and isinstance(index, int) and not isinstance(index, bool):
                out.sentences.add((str(aid), index))
                out.in_part.add(str(aid))
            elif aid is not None:
                out.articles.add(str(aid))  # a whole article handed out
            if index is not None or aid is None:
                text = _norm(fields.get("text"))
                if text:
                    out.texts.add(text)
    return out


@dataclass
class Tally:
    """What a suggestion looked at: candidates scored, and those left out as labelled."""

    candidates: int = 0
    labelled: int = 0


# -- scoring streams ------------------------------------------------------------------------

def _scored_batches(model: Model, rows: Iterable[dict[str, Any]]
                    ) -> Iterator[tuple[list[dict[str, Any]], np.ndarray]]:
    """Rows (with their context set) scored in batches: (output rows, score matrix)."""
    batch: list[dict[str, Any]] = []

    def flush() -> tuple[list[dict[str, Any]], np.ndarray]:
        out = model.score_rows(batch, owned=True)
        S = np.array([[r["scores"][l] for l in model.labels] for r in out]).reshape(
            len(out), len(model.labels))
        return out, S

    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            yield flush()
            batch = []
    if batch:
        yield flush()


def choose_sentences(model: Model, rows: Iterable[dict[str, Any]], n: int,
                     strategy: str = "uncertainty", seed: int = 0,
                     labelled: Labelled | None = None, tally: Tally | None = None,
                     focus: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The `n` sentences to annotate next (scored output rows, most useful first), from
    rows whose context is set; labelled and empty ones are never chosen. With `focus`,
    only those labels' scores measure how useful a sentence is."""
    labelled, tally = labelled or Labelled(), tally if tally is not None else Tally()
    cols = focus_columns(model.labels, focus)
    thresholds = model.thresholds[cols]
    value_of(strategy, np.zeros((0, len(cols))), thresholds)  # checks the name
    best = _Best(pool_size(strategy, n), strategy, seed)

    def fresh() -> Iterator[dict[str, Any]]:
        for r in rows:
            if labelled.has_sentence(r):
                tally.labelled += 1
            elif str(r.get("text", "")).strip():
                tally.candidates += 1
                yield r

    for out, S in _scored_batches(model, fresh()):
        for row, v in zip(out, value_of(strategy, S[:, cols], thresholds)):
            best.offer(float(v), row)
    kept = best.items()
    pool = [r for _, r in kept]
    return [pool[i] for i in select(pool, np.array([v for v, _ in kept]), n, strategy, seed)]


def choose_articles(model: Model, articles: Iterable[Article], n: int,
                    strategy: str = "uncertainty", seed: int = 0,
                    labelled: Labelled | None = None, tally: Tally | None = None,
                    focus: Sequence[str] | None = None
                    ) -> list[tuple[Article, list[dict[str, Any]]]]:
    """The `n` whole articles to annotate next, by their sentences' mean value, each with
    its scored sentences; articles with a labelled sentence are never chosen."""
    labelled, tally = labelled or Labelled(), tally if tally is not None else Tally()
    cols = focus_columns(model.labels, focus)
    thresholds = model.thresholds[cols]
    value_of(strategy, np.zeros((0, len(cols))), thresholds)
    best = _Best(pool_size(strategy, n), strategy, seed)
    for art in articles:
        if labelled.has_article(art.id):
            tally.labelled += 1
            continue
        rows = [r for r in model.segment(art.text, art.id) if r["text"].strip()]
        if not rows:
            continue
        tally.candidates += 1
        out, S = next(_scored_batches(model, rows))  # one article fits in a batch's memory
        v = float(value_of(strategy if strategy != "diverse" else "uncertainty", S[:, cols],
                           thresholds).mean())
        best.offer(v, (art, out))
    kept = best.items()
    heads = [{"article_id": a.id, "text": " ".join(r["text"] for r in rows[:3])}
             for _, (a, rows) in kept]
    return [kept[i][1] for i in select(heads, np.array([v for v, _ in kept]), n, strategy, seed)]


# -- writing for the annotation tools -------------------------------------------------------

def label_config(labels: Sequence[str], unit: str = "sentence") -> str:
    """Label Studio's labelling interface for these labels: multiple choices on a sentence
    (with `article_id` and `index` kept in the task data), or labelled spans of an article."""
    if unit == "sentence":
        items = "".join(f"    <Choice value={quoteattr(l)}/>\n" for l in labels)
        return ('<View>\n  <Text name="text" value="$text"/>\n  <Choices name="label" '
                f'toName="text" choice="multiple" showInline="true">\n{items}  </Choices>\n'
                '</View>\n')
    items = "".join(f"    <Label value={quoteattr(l)}/>\n" for l in labels)
    return ('<View>\n  <Labels name="label" toName="text">\n' + items + '  </Labels>\n'
            '  <Text name="text" value="$text"/>\n</View>\n')


def _passed(row: Mapping[str, Any]) -> dict[str, Any]:
    """The input fields a record carries through (not what the model added)."""
    return {k: v for k, v in row.items() if k not in ("context", "labels", "scores", "text",
                                                       "explanation", "known")}


def _confidence(scores: Mapping[str, float], thresholds: np.ndarray,
                names: Sequence[str]) -> float:
    """0 (every label at its threshold) to 1 (every label far from it)."""
    z = np.abs(_logit(np.array([scores[l] for l in names])) - _logit(np.asarray(thresholds)))
    return round(float(np.mean(np.tanh(z / 2))), 4)


def sentence_record(row: Mapping[str, Any], fmt: str, model: Model) -> dict[str, Any]:
    """One chosen sentence (a scored row) in the import format of `fmt`."""
    version = f"{model.metadata.get('name')}@{model.metadata.get('version')}"
    labels, fields = list(row["labels"]), _passed(row)
    if fmt == "label-studio":
        score = _confidence(row["scores"], model.thresholds, model.labels)
        result = [{"from_name": "label", "to_name": "text", "type": "choices",
                   "value": {"choices": labels}}] if labels else []
        return {"data": {"text": row["text"], **fields},
                "predictions": [{"model_version": version, "score": score, "result": result}]}
    if fmt == "doccano":
        return {"text": row["text"], "label": labels, **fields}
    if fmt == "prodigy":
        return {"text": row["text"], "options": [{"id": l, "text": l} for l in model.labels],
                "accept": labels, "meta": {**fields, "model": version,
                                           "scores": dict(row["scores"])}}
    return {"text": row["text"], **fields, "labels": labels, "scores": row["scores"]}


def article_record(art: Article, rows: Sequence[Mapping[str, Any]], fmt: str, model: Model
                   ) -> dict[str, Any]:
    """One chosen article in the import format of `fmt`, every predicted label of a
    sentence a span over that sentence."""
    version = f"{model.metadata.get('name')}@{model.metadata.get('version')}"
    spans = [(r["start"], r["end"], l, float(r["scores"][l])) for r in rows for l in r["labels"]]
    if fmt == "label-studio":
        result = [{"id": f"s{k}", "from_name": "label", "to_name": "text", "type": "labels",
                   "value": {"start": s, "end": e, "text": art.text[s:e], "labels": [l]},
                   "score": round(p, 4)} for k, (s, e, l, p) in enumerate(spans)]
        score = round(float(np.mean([_confidence(r["scores"], model.thresholds, model.labels)
                                     for r in rows])), 4)
        return {"data": {"text": art.text, "article_id": art.id},
                "predictions": [{"model_version": version, "score": score, "result": result}]}
    if fmt == "doccano":
        return {"text": art.text, "article_id": art.id,
                "label": [[s, e, l] for s, e, l, _ in spans]}
    if fmt == "prodigy":
        return {"text": art.text, "spans": [{"start": s, "end": e, "label": l}
                                            for s, e, l, _ in spans],
                "meta": {"article_id": art.id, "model": version}}
    return {"article_id": art.id, "text": art.text,
            "sentences": [{k: r[k] for k in ("index", "start", "end", "text", "labels", "scores")}
                          for r in rows]}


def write_records(path: Path, records: Sequence[Mapping[str, Any]], fmt: str,
                  labels: Sequence[str], unit: str = "sentence") -> list[Path]:
    """Write the records where the user said, atomically: a JSON list for Label Studio
    (and `label-config.xml` beside it), JSONL for the others. Returns the files written."""
    if fmt not in FORMATS or unit not in UNITS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)} and unit one of "
                          f"{', '.join(UNITS)}")
    if fmt == "label-studio":
        config = path.parent / "label-config.xml"
        write_file(path, json.dumps(list(records), indent=1, ensure_ascii=False) + "\n")
        write_file(config, label_config(labels, unit))
        return [path, config]
    with open_atomic(path) as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return [path]


def suggest(model: Model, n: int, strategy: str = "uncertainty", fmt: str = "jsonl",
            rows: Iterable[dict[str, Any]] | None = None,
            articles: Iterable[Article] | None = None, unit: str = "sentence", seed: int = 0,
            labelled: Labelled | None = None, tally: Tally | None = None,
            focus: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The records to annotate next, in `fmt`: `n` sentences of `articles` (or of `rows`
    with their context set), or with `unit` "article" `n` whole articles."""
    if fmt not in FORMATS or unit not in UNITS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)} and unit one of "
                          f"{', '.join(UNITS)}")
    if unit == "article":
        if articles is None:
            raise ConfigError("whole articles (unit article) are suggested from articles "
                              "(--articles SOURCE...), not from sentence rows")
        return [article_record(a, rows_, fmt, model) for a, rows_ in
                choose_articles(model, articles, n, strategy, seed, labelled, tally, focus)]
    source: Iterable[dict[str, Any]] = rows if rows is not None else (
        r for a in articles or () for r in model.segment(a.text, a.id))
    return [sentence_record(r, fmt, model)
            for r in choose_sentences(model, source, n, strategy, seed, labelled, tally, focus)]

