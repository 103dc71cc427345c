"""End-to-end article throughput against batch throughput on pre-split sentences (issue 18).

One thread, one model, one run: the model's batch speed on the sentence strings of
bbc-news.jsonl (`Model.predict`, the figure `benchmarks/run.py` compares with fastText),
and the speed of `predict_articles` from raw article text to labelled output rows
(cleaning, segmentation, context, scoring, rows). The two alternate round by round and
each keeps its fastest round, so a slow spell of the machine hits both alike.

    python benchmarks/articles.py [MODEL] [--rounds 7]

MODEL defaults to a fresh training of configs/bbc-politics.yaml in a temporary directory.
Prints one JSON object; `benchmarks/README.md` records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "bbc-news.jsonl"


def _model(path: str | None):  # noqa: ANN202 - a stancekit.Model
    import stancekit
    if path:
        return stancekit.load(path)
    from stancekit.config import load_config
    from stancekit.training import train
    out = tempfile.mkdtemp()
    cfg = load_config(ROOT / "configs/bbc-politics.yaml", [f"output.dir={out}"])
    return train(cfg).model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not CORPUS.is_file():
        sys.exit(f"{CORPUS} is absent: the benchmark needs ../shared/corpus")
    from stancekit.read import Article
    from stancekit.streaming import article_sentences, predict_articles
    model = _model(args.model)
    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    articles = [Article(r["id"], f"{r['title']}\n\n{r['text']}", str(CORPUS)) for r in rows]
    sentences = [s["text"] for s in article_sentences(model, articles)]
    batch, e2e = [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        model.predict(sentences)
        batch.append(time.perf_counter() - t)
        t = time.perf_counter()
        n = sum(1 for _ in predict_articles(model, articles))
        e2e.append(time.perf_counter() - t)
        assert n == len(sentences)
    b, e = min(batch), min(e2e)
    print(json.dumps({"articles": len(articles), "sentences": len(sentences),
                      "batch_sentences_per_s": round(len(sentences) / b),
                      "articles_end_to_end_sentences_per_s": round(len(sentences) / e),
                      "ratio": round(b / e, 3), "rounds": args.rounds}, indent=2))


if __name__ == "__main__":
    main()
