"""`predict --articles ... --scheduler` on 1 and on 2 local Dask workers (issue 18).

The articles of bbc-news.jsonl, repeated COPIES times under distinct ids (one JSONL
file, split into 2 MB partitions), scored by the same model on a local cluster of one
worker process and of two, one thread each. Cluster start-up is left out: each cluster
scores a warm-up run first, then the timed run. Prints one JSON object.

    python benchmarks/dask_scaling.py [MODEL] [--copies 4]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "bbc-news.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?")
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    if not CORPUS.is_file():
        sys.exit(f"{CORPUS} is absent: the benchmark needs ../shared/corpus")
    import stancekit
    from stancekit.config import ArticleSource, load_config
    from stancekit.dask import connect, predict_to_directory
    from stancekit.training import train
    tmp = Path(tempfile.mkdtemp())
    model = stancekit.load(args.model) if args.model else train(load_config(
        ROOT / "configs/bbc-politics.yaml", [f"output.dir={tmp}"])).model
    src = tmp / "articles.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for k in range(args.copies):
            for line in CORPUS.open(encoding="utf-8"):
                row = json.loads(line)
                row["id"] = f"{row['id']}#{k}"
                fh.write(json.dumps(row) + "\n")
    result: dict[str, object] = {"articles": 2095 * args.copies, "bytes": src.stat().st_size}
    for workers in (1, 2):
        with connect(f"local:{workers}") as client:
            for run in ("warm-up", "timed"):
                out = tmp / f"out-{workers}-{run}"
                t = time.perf_counter()
                summary = predict_to_directory(model, [ArticleSource(str(src))], str(out), client,
                                               block_bytes=2 << 20)
                elapsed = time.perf_counter() - t
                shutil.rmtree(out)
        result[f"{workers}_workers_s"] = round(elapsed, 2)
        result[f"{workers}_workers_sentences_per_s"] = round(summary["sentences"] / elapsed)
        result["partitions"] = summary["partitions"]
    result["speed-up"] = round(result["1_workers_s"] / result["2_workers_s"], 2)  # type: ignore[operator]
    print(json.dumps(result, indent=2))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
