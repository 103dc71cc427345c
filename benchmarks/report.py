"""Render benchmarks/README.md from benchmarks/results.json (run by run.py at its end).

    python benchmarks/report.py

The measured tables come from results.json; the table of modelling ideas is the
record of article-grouped CV experiments (see each commit message for the run).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

IDEAS = """\
## What each idea gained (grouped 5-fold CV on the BBC gold, macro-F1)

Each row changes one thing from the row before it. Every row but the last grouped the
folds by article id; the last groups them by story (an article with its copies
republished under other ids, `split.same_story`), which is the honest figure for
articles never seen: about 0.025 of the earlier figures was the model recalling a
held-out article's sentences from its copy on the training side.

| change | macro-F1 | accusation | denial | quote | statistic |
| --- | --- | --- | --- | --- | --- |
| word 1-2 grams + digit-masked numbers with class tokens + context features (open quotation, headline, quote marks) + neighbour unigrams, C=4 | 0.689 | 0.538 | 0.419 | 0.965 | 0.835 |
| without neighbour unigrams (prev/next sentence words) | 0.697 | 0.564 | 0.433 | 0.964 | 0.828 |
| C=10 | 0.703 | 0.557 | 0.445 | 0.963 | 0.844 |
| commas as tokens, class tokens on both sides of numbers | 0.703 | 0.552 | 0.447 | 0.964 | 0.849 |
| cue classes from the annotation guide after cue words (`<acc>`, `<den>`, `<neg>`, `<say>`) | 0.714 | 0.568 | 0.478 | 0.964 | 0.845 |
| C=30 | 0.717 | 0.568 | 0.483 | 0.964 | 0.852 |
| `<def>` and `<mult>` classes; tokenizer rewritten for speed (string methods) | 0.713 | 0.561 | 0.473 | 0.965 | 0.854 |
| + unlabelled BBC articles in the vocabulary and IDF (rule weight 0) | 0.718 | 0.578 | 0.484 | 0.965 | 0.845 |
| + rule labels for accusation and denial at weight 0.03 | 0.722 | 0.575 | 0.501 | 0.965 | 0.845 |
| + pence shaped as money (`80p` -> `<money> 00p <money>`) | 0.724 | 0.577 | 0.501 | 0.965 | 0.852 |
| + refit on train + validation after tuning the thresholds (`split.refit`) | 0.736 | 0.602 | 0.513 | 0.964 | 0.866 |
| + a number model for statistic (`numbers`): each number scored by its own logistic regression from its class, shape and 3 tokens each side; the sentence's best number blended 0.7 : 0.3 with the sentence model. Over three article splits (seeds 13, 14, 15): mean 0.735 -> 0.741, statistic 0.866 -> 0.891 | 0.744 | 0.602 | 0.513 | 0.964 | 0.897 |
| + numeric character references read as the characters they name (`F&#244;n` is not a number) | 0.744 | 0.599 | 0.513 | 0.964 | 0.899 |
| + denial also reads the previous and next sentences (`features.neighbour_labels: [denial]`): their word n-grams as two more TF-IDF blocks, each L2-normalised on its own and scaled by 0.5, seen by the denial model only. Over three article splits: mean 0.741 -> 0.746, denial 0.517 -> 0.536; at weights 0.3 / 0.7 denial still gains on every split | 0.748 | 0.599 | 0.528 | 0.964 | 0.899 |
| + folds (and the train / validation / test split) by story, not article id: 18 stories in the gold appear under two to four ids (43 articles). Over three splits: mean 0.746 -> 0.721 (seeds 13 / 14 / 15: 0.728 / 0.716 / 0.719); nothing about the model changed, only what counts as held out (**shipped config**) | {macro_f1:.3f} | {accusation:.3f} | {denial:.3f} | {quote:.3f} | {statistic:.3f} |

Tried and dropped, each measured against the row it would extend (rows marked "by story"
against the last row; the others by article id, against the row before it):

| idea | effect on macro-F1 |
| --- | --- |
| character 2-5 grams | +0.005 before the cue classes, -0.009 after; 5x slower scoring |
| word 1-3 grams | -0.004 |
| stacking: a second model fed the first model's scores for the previous, next, earlier, later and headline sentences | +0.004 |
| neighbour cue classes only (prev/next `<acc>`, `<den>`, quote marks) | +0.000 |
| Naive-Bayes-weighted features (NB-LR) | -0.005 |
| LSA (100-300 SVD dimensions from all BBC sentences) appended | +0.003 |
| 5-character stems as extra features | -0.001 |
| conjunctions of class tokens within a sentence | -0.002 |
| self-training on confident predictions for unlabelled sentences, weight 0.3 | +0.001 |
| rule labels for all four labels (weight 0.3 / 0.1 / 0.03) | -0.026 / -0.017 / -0.007 (the statistic rule hurts) |
| rule labels for denial only; for accusation and denial at 0.05 or 0.1 | +0.001 / -0.001 / -0.004 |
| rule negatives weighted below rule positives | -0.003 |
| the claim a rebuttal answers: which cue classes (`<acc>`, `<den>`) occurred earlier in the article, alone or crossed with the sentence's own cues | -0.001 / +0.000 |
| thresholds tuned by grouped CV inside the training split instead of on validation | -0.003 |
| `<claim>` class (claims, allegations, reports) | -0.002 |
| classifier chain: the (predicted) quote label as a feature of the accusation and denial models | +0.000 / +0.001 |
| the claim a rebuttal answers, by overlap: share of the sentence's content words found in an earlier sentence with an accusation or claim cue (>= 0.25, >= 0.5; also crossed with `<den>`/`<neg>`) | -0.001 / -0.001 (denial -0.007) |
| linear SVM instead of logistic regression; no class weights; min_df 1; raw tf | within +-0.004 |
| words 2-3 tokens before and after each number (`q+2:ago`, `q-2:for`) | +0.002 (statistic +0.008, accusation -0.006) |
| all-MiniLM-L6-v2 sentence embeddings appended (x0.5), gold only, against 0.713 | **+0.025** (accusation +0.060, statistic +0.019), but the encoder scores ~250 sentences/s on these 2 cores: 400x slower than the target |
| distilling that embedding model: its labels for the 34k unlabelled BBC sentences as extra training data (weight 0.1 / 0.3, all four labels or accusation and denial only) | +0.002 / -0.002 / -0.001 |
| 90 more accusation and 50 more denial cue words in `<acc>` / `<den>` (slammed, branded, cover-up, rebuffed, groundless, ...) | +0.001 / -0.002 (both: +0.000) |
| class tokens and context flags also as unnormalised 0/1 features beside the L2-normalised TF-IDF (so a long sentence does not dilute `<pct>`), x0.1 / x0.3 / x0.5 | +0.003 / +0.003 / -0.001 (statistic +0.015, quote -0.003; gold only +0.011): not shipped, a second feature block in the scorer for a gain this small |
| L1-penalised logistic regression (C 30 / 100); L1 linear SVM | -0.017 / -0.016 / -0.021 (statistic up to +0.013, accusation -0.04) |
| no normalisation / L1 instead of L2 (same C) | -0.018 / -0.031 |
| static MiniLM vectors (each word encoded alone), averaged per sentence, appended | +0.003 (plain mean, which folds into per-word weights at no scoring cost) / +0.009 (L2-normalised mean, which does not fold) |
| with the refit: thresholds from grouped CV over train + validation instead of the validation split | -0.001 |
| with the refit: C 10 / 50 / 100 (all labels; per label, no C beats 30 by more than 0.006) | -0.004 / -0.001 / -0.002 |
| with the refit: rule weight 0.05; min_df 1 | -0.002 / -0.001 |
| with the refit: logistic regression and linear SVM decision values averaged (one linear model, free to score) | -0.002 |
| with the refit: number classes for the guide's exclusions: ages (`45-year-old`, `aged 45`) and digits of HTML entities (`&#244;`); also time placement (`30 years ago`) and numbers in names (`Number 10`, `Section 41`, `Radio 4`) | -0.000 / +0.001 (statistic +0.003 / +0.004) |
| with the refit: cue classes (or all words) tagged by whether they stand inside or outside a quotation (`qin:<den>`, `qout:<acc>`), also carrying an open quotation in from the previous sentence | -0.001 / -0.003 (classes with the carried-in state) / -0.006 (all words) |
| with the refit: skip-bigrams (`accused * of`), all or anchored on cue words (gaps 2-3) | -0.006 / -0.003 |
| with the refit: word clusters (1,024 k-means clusters of PPMI-SVD vectors from the BBC articles, or of static MiniLM vectors) as extra unigrams, or for the word after a number | -0.002 / -0.002 (PPMI); -0.002 / -0.004 (MiniLM) |
| with the refit: the accusation / denial rules OR-ed with the model's decision | -0.001 / +0.002 (denial only: +0.001 macro) |
| with the refit: chi-squared feature selection per label (top 20k / 5k n-grams; the others get weight 0) | -0.005 / -0.013 |
| with the refit: unnormalised 0/1 class tokens and context flags for the statistic model only (x0.3; also all unigrams x0.1) | +0.001 (statistic +0.005) / +0.000 |
| number model alone for statistic (no blend with the sentence model) | -0.003 against the blend (statistic 0.884) |
| number model: window 2; C 0.5 / 2; blend weight 0.6 / 0.8; floor -3 / -10 | -0.004; -0.003 / -0.003; -0.002 / -0.002; +0.000 / +0.000 |
| number model: bags of the words before / after besides their positions; a learned score for "no number" instead of the floor | -0.001; -0.004 |
| number model: time-unit flags after the number; inside-quotation flag; count of numbers in the sentence; the sentence's words at 0.3 | -0.000; -0.000; -0.002; -0.001 |
| number model: multiple-instance re-labelling (only the best number of a statistic sentence stays positive); log-sum-exp instead of max; no class weights | -0.001; -0.001; -0.001 |
| number model: self-training on the unlabelled BBC articles' numbers (weight 0.1 / 0.3, margin 1 / 2) | -0.001 / -0.001 |
| the same construction for accusation (windows around `<acc>` cues) and denial (around `<den>`, `<neg>`, `<def>`) | -0.001 / +0.001 |
| number model: number words generalised (`word`, digit count) beside the shape; neighbours with a plural s stripped | -0.006 / -0.005 (statistic) |
| number model: blend weight chosen per run on the validation split (0.5-0.9) instead of fixed 0.7 | +0.000 |
| statistic's sentence model trained only on sentences that have a number (the number model's floor covers the rest), blend 0.7 / 0.5 | -0.001 / +0.000 (three splits) |
| the same construction for quotes: each quoted span scored from its length, first and last word and the words around its marks (scare quotes and titles against partial quotes), blended 0.5 | +0.001 (quote +0.003) |
| sentence length buckets (8 or 12 tokens wide) as context features; position buckets (2-4, 5-9, 10+) | +0.001 (three splits; acc +0.005) / +0.000 |
| a `<neg_s>` class after the 2,168 words VADER's lexicon rates -1.5 or below (also `<pos_s>` at +-1.0) | +0.001 (three splits; denial +0.004, statistic -0.002) / -0.000 |
| length buckets and the VADER class together | +0.001 (three splits): the two do not add up |
| thresholds at the peak of the F1 curve smoothed over 7 or 13 grid steps, instead of its raw maximum | -0.001 / +0.000 (three splits) |
| a `zname` token after each run of capitalised words (names are lower-cased away otherwise) | -0.002 (three splits) |
| each article weighted equally-ish (sentence weight sqrt(20 / sentences in its article)) | -0.001 (three splits) |
| negation scope: the 4 / 8 words after a `<neg>` word (up to punctuation) also as `neg:word` features | -0.001 / +0.001 (three splits) |
| a second-stage model for accusation and denial over the first stage's scores of the sentence and its previous and next sentences, trained on inner 3-fold out-of-fold scores (adding the scores 2 away or the article mean: no better; for all four labels: +0.002, statistic -0.007) | +0.003 (three splits; denial +0.010): costs three more fits per training run, over the speed target, for a gain below the gap |
| a one-hidden-layer MLP (64 ReLU units, dropout 0.3, Adam with row-sparse updates, written in NumPy: 2 s a fit; scikit-learn's took 12 minutes) on the TF-IDF features, its logits added to the linear model's for accusation and denial (x0.5 / x1.0) | +0.000 / -0.003 (split seed 13); alone it reaches accusation 0.569 and denial 0.492 against the linear model's 0.598 / 0.518: interactions between n-grams add nothing the linear model misses |
| static MiniLM word vectors, L2-normalised mean per sentence appended (x0.5 / x1.0), on today's pipeline | +0.003 / +0.005 (three splits 0.747 / 0.747 / 0.745; accusation +0.02, statistic +0.000); needs PyTorch and the MiniLM model at training time and a 384-column dense block that makes the fit ~10x slower: not shipped, and still short of 0.75 on every split and of statistic 0.90 |
| 100-dimensional word vectors from the BBC articles themselves (PPMI over a +-3 word window, truncated SVD), L2-normalised mean per sentence appended (x1.0) | +0.004 (three splits 0.748 / 0.745 / 0.743; denial +0.009, statistic +0.003): no new dependency, but the mean's norm does not fold into per-word weights, so the scorer would sum 100 floats per token besides one weight per n-gram (not built, so not timed) and the fit slows with the dense block (several times slower in these runs); not shipped for a gain below the gap |
| the second-stage model and the PPMI-SVD vectors together | +0.005 (three splits 0.746 / 0.744 / 0.748; statistic 0.893): the two gains do not add up |
| 7-fold instead of 5-fold CV (the refit then sees 86% of the gold, as the shipped config's train + validation does, not 80%) | -0.002 (three splits): more training data does not close the gap |
| bagging: the linear weights averaged over the full fit and 8 fits on random 80% of the articles (free to score: still one linear model) | +0.001 (split seeds 13, 14: 0.745 / 0.740) |
| thresholds carried over to the refit model by the share of 8,000 unlabelled BBC sentences each flags before the refit (the refit model is more confident than the one they were tuned on) | -0.001 / +0.001 (split seeds 13, 14); denial's tuned threshold ranges from 0.23 to 0.74 across folds: its F1 curve is flat and noisy |
| the article's headline words as features of each of its body sentences (`h:word`), or only the headline's cue classes | +0.001 (three splits 0.747 / 0.741 / 0.740) / -0.002 (split seed 13) |
| a semantic projection that folds into the n-gram weights: ridge regression from each training sentence's TF-IDF to its MiniLM sentence embedding (32 principal components), the projected 32 values appended, then folded back into one weight per n-gram (free to score) | -0.007 (split seed 13; denial -0.023): the projection carries the encoder's view only where it is linear in the n-grams, which the linear model already has |
| all-MiniLM-L6-v2 sentence embeddings (64 principal components, x0.5) appended on today's pipeline, for all labels / for accusation only: what the slow encoder itself would buy | +0.007 / +0.001 (split seeds 13 / 14; accusation +0.04, denial -0.02) / accusation only 0.748 / 0.752 (seeds 14 / 15) with statistic 0.884 / 0.890: even at ~250 sentences/s it clears neither 0.75 on every split nor statistic 0.90 |
| the neighbour blocks for other labels: accusation and denial / denial and quote; also the sentences two away; also the headline | +0.000 (split seed 13) / +0.000 (three splits) / -0.002 / +0.000 (split seed 13), each against denial alone; accusation with the previous or the next sentence alone: accusation +0.002 / +0.001 (seed 13) |
| the same construction for accusation, with the rest of the article instead of the neighbours: the summed word n-gram vectors of the article's other sentences as one more block (x0.5) | -0.001 (split seed 13; accusation -0.002) on top of the shipped denial view |
| the sentence's own features as separately L2-normalised blocks (unigrams, bigrams, context and class features), weighted 1 : 1 : 1 / 1 : 0.7 : 0.5 | -0.006 / -0.010 (split seed 13; quote -0.008) |
| statistic also given the neighbour blocks | -0.001 (split seed 13; statistic -0.003) |
| neighbour blocks that keep the neighbour's context flags and quote marks (its whole feature vector rather than its word n-grams) | +0.000 (three splits): word n-grams alone score the same and let the scorer reuse each sentence's row |
| the claim a rebuttal answers, through the first stage: in the second-stage model, each sentence's largest (content-word overlap x first-stage accusation / denial probability) over the earlier and over the later sentences of its article | -0.002 / -0.001 against the second stage without it (split seed 13; accusation and denial only / all four labels) |
| the number model also reading ordinals and multiplicatives (`fourth`, `twelfth`, `doubled`, `sixfold`; all `<mult>` cue words / those alone) as number mentions | -0.001 / +0.000 (split seed 13; statistic -0.004 / +0.000) |
| by story: capitalised words after the first replaced by `zname` / followed by it (names are story-specific) | -0.009 / -0.005 (split seed 13) |
| by story: min_df 3; rule weight 0.1; neighbour weight 1.0 (each against denial-only neighbours) | +0.000 (three splits: +0.002 / -0.002 / +0.000); -0.002; -0.004 (split seed 13) |
| by story: C 10 / 100; neighbour weight 0.3; no class weights; raw instead of sublinear tf | -0.002 / +0.000; -0.002; -0.002; -0.001 (split seed 13) |
| by story: the 100-dimensional PPMI-SVD word vectors of the BBC articles, L2-normalised mean appended (x1.0) | +0.002 (split seed 13; accusation +0.007, quote -0.003): still not worth a 100-float sum per token in the scorer |
| by story: the second-stage model over the first stage's scores of each sentence and its neighbours, for accusation and denial | -0.005 / +0.004 (split seeds 13 / 14) |
| by story: thresholds from story-grouped 3-fold CV inside the training split (`thresholds.tune: cv`) instead of the validation split | -0.001 (split seed 13; three more fits per run) |
| by story: 5-character stems of words longer than 5 as extra unigrams | +0.002 (three splits: -0.002 / +0.006 / +0.001): too uneven to pay for a stem lookup in the scorer |
| by story: rule weight 0.01 / 0 (the unlabelled articles then only shape the vocabulary) | -0.001 (three splits: +0.001 / -0.004 / +0.001) / -0.003 (split seed 13) |
| by story: rule labels only from the unlabelled articles of the nearer sections (politics, business, tech; also entertainment), not sport | -0.000 / -0.001 (three splits: 0.729 / 0.721 / 0.722; 0.727 / 0.719 / 0.725) |
| by story, for scale: all-MiniLM-L6-v2 fine-tuned end to end (mean pooling and a linear head, BCE with sqrt-balanced positive weights, 3 epochs, lr 8e-5; ~7 minutes a fold on one core), trained on three folds, thresholds tuned on the fourth, no refit | split seed 13: 0.759 pooled over the five folds (accusation 0.632, denial 0.524, quote 0.958, statistic 0.920; folds 0.780 / 0.757 / 0.745 / 0.752 / 0.754) against the shipped model's 0.730 (0.745 / 0.723 / 0.718 / 0.740 / 0.728), which also refits on the fourth fold; split seed 14: 0.748 (accusation 0.626, denial 0.485, quote 0.957, statistic 0.922) against 0.719. By story the target sits at a fine-tuned transformer's level (mean 0.753), scoring ~250 sentences/s |
| by story: that transformer as a teacher: its labels for the 33,907 unlabelled BBC sentences (teacher trained without the held-out and validation folds) replace the rule labels, hard at weight 0.1 / 0.3 / 1.0, or soft at 0.3 | fold 0 of split seed 13 without the refit: 0.724 -> 0.726 / 0.732 / 0.727 / 0.719 (statistic +0.027 at 0.3, denial -0.005); with the refit, weight 0.3: 0.745 -> 0.736. The teacher's lead (+0.056 on that fold) does not carry into n-gram weights |
"""


def _row(name: str, x: dict) -> str:
    t = x["test"]
    return (f"| {name} | {t['macro_f1']:.3f} | {t['accusation']:.3f} | {t['denial']:.3f} | "
            f"{t['quote']:.3f} | {t['statistic']:.3f} | {x['train_s']:.2f} | "
            f"{x['throughput_sps']:,} | {x['latency_ms']:.4f} | {x['size_bytes'] / 1e6:.1f} | "
            f"{x['peak_rss_mb']:.0f} |")


def render(r: dict) -> str:
    """The README text for one results.json."""
    s, pl, ft, sp, sk = (r["stancekit"], r["stancekit-plain"], r["fasttext"], r["spacy-bow"],
                         r["sklearn-default"])
    g, b, cv = r["segmenters"], r["build-weak"], r["stancekit-cv"]["cv5"]
    t = pl["test"]
    ev0 = s.get("evaluate_cli", {})
    test_size = (f"{ev0['articles']} articles, {ev0['sentences']:,} sentences"
                 if "sentences" in ev0 else "its test split")
    rows = [_row("stancekit (configs/bbc-politics.yaml, with weak labels)", s),
            f"| stancekit, gold only (`--set weak_labels.enabled=false`) | {t['macro_f1']:.3f} | "
            f"{t['accusation']:.3f} | {t['denial']:.3f} | {t['quote']:.3f} | {t['statistic']:.3f} "
            f"| {pl['train_s']:.2f} | same scorer | | | {pl['peak_rss_mb']:.0f} |",
            _row("fastText (ova, bigrams, 25 epochs, 1 thread)", ft),
            _row("spaCy textcat_multilabel (bag of words, bigrams)", sp),
            _row("scikit-learn default (TF-IDF + OvR LR, 0.5)", sk)]
    ratios = [f"- vs {n}: macro-F1 x{s['test']['macro_f1'] / x['test']['macro_f1']:.2f}, gold-only "
              f"training time x{pl['train_s'] / x['train_s']:.2f}, throughput "
              f"x{s['throughput_sps'] / x['throughput_sps']:.2f}, one-sentence latency "
              f"x{s['latency_ms'] / x['latency_ms']:.2f}, artifact size "
              f"x{s['size_bytes'] / x['size_bytes']:.4f}"
              for n, x in (("fastText", ft), ("spaCy", sp), ("scikit-learn default", sk))]
    tp = r.get("throughput") or {"stancekit_sps": s["throughput_sps"],
                                  "fasttext_sps": ft["throughput_sps"],
                                  "fasttext_predict_only_sps": ft.get("throughput_predict_only_sps")}
    ratio = tp["stancekit_sps"] / tp["fasttext_sps"]
    if "throughput" in r:  # the fair comparison: the two alternated in one process
        ratios[0] += (f" (throughput x{ratio:.2f} when the two alternate in one process, "
                      "below: the table times each in its own process, minutes apart)")
    raw = tp.get("fasttext_predict_only_sps")
    throughput = (
        f"- {'**Met**' if ratio >= 1 else '**Not met**'}: stancekit "
        f"{tp['stancekit_sps']:,} sentences/s against fastText's {tp['fasttext_sps']:,} "
        f"(x{ratio:.2f}), both from the raw sentence strings, one thread, batch calls of "
        "the two alternated in one process (best of 7 each; the table above times each "
        "system in its own process, minutes apart, on a machine that drifts). fastText's "
        "figure includes the lower-casing and one-line normalisation its model was trained "
        "on, as stancekit's includes its own tokenizer.")
    if raw:
        throughput += (
            f"\n- fastText's C++ `predict` alone, on lines normalised beforehand and untimed: "
            f"{raw:,} sentences/s (stancekit x{tp['stancekit_sps'] / raw:.2f}). stancekit's "
            "remaining Python string work is lower-casing and the number-shaping regex (about "
            "a third of its time); tokens become ids at the byte level in NumPy.")
    met = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    throughput += (f"\n- One-sentence latency: {s['latency_ms']:.3f} ms against 0.1 ms, "
                   f"{met(s['latency_ms'] <= 0.1)}; cold start: {s['cold_start_s']:.2f} s against "
                   f"0.5 s, {met(s['cold_start_s'] <= 0.5)}.")
    t, ok = s["test"], lambda m: m["macro_f1"] >= 0.75 and m["statistic"] >= 0.90 and \
        m["quote"] >= 0.95
    ev = s.get("evaluate_cli")
    ci = (f" `stancekit evaluate` on the built dataset gives the same figures with "
          f"story-bootstrap 95% intervals: macro-F1 {ev['macro_f1']['low']:.3f}-"
          f"{ev['macro_f1']['high']:.3f}, statistic {ev['statistic']['low']:.3f}-"
          f"{ev['statistic']['high']:.3f}: one split of {ev['articles']} articles cannot "
          "settle a difference this small." if ev else "")
    mean = r["stancekit-cv"].get("cv5_mean")
    splits = r["stancekit-cv"].get("cv5_splits", {})
    cv_ok = ok(cv) and (mean is None or ok(mean))
    over = (f" Over {len(splits)} different story splits (seeds {', '.join(splits)}: "
            + ", ".join(f"{v['macro_f1']:.3f}" for v in splits.values())
            + f") the mean is {mean['macro_f1']:.3f} (quote {mean['quote']:.3f}, statistic "
            f"{mean['statistic']:.3f}): **{'met' if ok(mean) else 'not met'}**." if mean else "")
    quality = (
        f"- Target: macro-F1 0.75 with quote 0.95 and statistic 0.90 on held-out articles. "
        f"Test split: {t['macro_f1']:.3f} (quote {t['quote']:.3f}, statistic "
        f"{t['statistic']:.3f}): **{'met' if ok(t) else 'not met'}**.{ci} Story-grouped "
        f"5-fold CV: {cv['macro_f1']:.3f} (quote {cv['quote']:.3f}, statistic "
        f"{cv['statistic']:.3f}): **{'met' if ok(cv) else 'not met'}**.{over} CV averages five "
        "held-out folds (every gold article held out once) and is the better estimate for "
        "articles we have never seen; "
        f"{'all clear the target' if ok(t) and cv_ok else 'the target counts as met only when CV clears it on every split measured'}."
        " Every baseline is far behind on the same split.")
    return f"""# Benchmarks

Run on demand, never in the test suite:

```bash
pip install '.[bench]' && python benchmarks/run.py    # writes results.json and this README
```

Every system runs in its own subprocess with one thread (peak memory is its own
`ru_maxrss`, including training and its imports), on the same data in the same run:
trained on the train+validation articles of `configs/bbc-politics.yaml` (stancekit tunes
its thresholds on the validation articles with a model fitted on train, then fits
again on train + validation; the baselines see
gold sentences only), scored on its held-out **test articles** ({test_size}).
Throughput is batch prediction over all 41,118 sentences of `bbc-news.jsonl`
(segmented by stancekit), from the raw sentence strings to per-label output, fastest
of 5 calls for every system; latency is one sentence through each Python API, the
fastest of 5 rounds of 300-5,000 calls (for stancekit the slower of a sentence without
and one with figures); cold start is the wall clock of `stancekit predict MODEL "one
sentence"` (median of 5). This machine's timings vary by up to a third between runs;
the ratios below are from one run.

## Results, {r['date']} ({r['machine']}, 24 GiB; raw numbers in `results.json`)

| system | test macro-F1 | accusation | denial | quote | statistic | train s | sentences/s | 1-sentence ms | artifact MB | peak RSS MB |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Ratios, stancekit / other (same run):

{chr(10).join(ratios)}

- Cold start of `stancekit predict MODEL "one sentence"`: **{s['cold_start_s']:.2f} s** (target
  0.5 s; the inference path imports NumPy and click, never scikit-learn).
- Story-grouped 5-fold cross-validation of the shipped config (an article and its
  republished copies held out together; thresholds tuned on
  another fold inside each training set): **macro-F1 {cv['macro_f1']:.3f}** (accusation
  {cv['accusation']:.3f}, denial {cv['denial']:.3f}, quote {cv['quote']:.3f}, statistic
  {cv['statistic']:.3f}). This is the steadier figure; the single test split above is
  {s['test']['macro_f1']:.3f}. Reproduce it, and the other two splits, with
  `stancekit train configs/bbc-politics.yaml --cv --seeds 13,14,15` (~3 min a split).
- Training with weak labels takes {s['train_s']:.1f} s (rule labels for 1,750 articles, then a
  fit on 41k sentences, twice with the refit); the gold-only run the speed target speaks of takes
  {pl['train_s']:.2f} s against fastText's {ft['train_s']:.1f} s.
- Streaming prediction through the CLI (`predict --input FILE --output FILE`, one
  process, measured by hand with `/usr/bin/time`): 4.7 MB of sentences peaked at 99 MB
  RSS and 188 MB (1.64 million lines, 29 s) at 98 MB, so memory stays flat with input size.

### Quality (issue 4)

{quality}

### Batch throughput (issue 6)

{throughput}

{IDEAS.format(**cv)}
## Segmentation and dataset building

| what | result |
| --- | --- |
| stancekit cleaner + segmenter over bbc-news.jsonl ({g['megabytes']} MB) | {g['stancekit_mb_s']} MB/s |
| blingfire `text_to_sentences_and_offsets`, same text | {g['blingfire_mb_s']} MB/s: stancekit x{g['stancekit_mb_s'] / g['blingfire_mb_s']:.1f} |
| pysbd (first 100 articles) | {g['pysbd_mb_s']} MB/s: stancekit x{g['stancekit_mb_s'] / g['pysbd_mb_s']:.0f} |
| boundary agreement with the gold segmentation of 345 BBC politics articles | 99.7% precision, 99.6% recall of whole sentences (`tests/test_segment.py`) |
| build gold + weak labels over all {b['articles']:,} articles ({b['sentences']:,} sentences) | {b['build_s']} s, peak RSS {b['peak_rss_mb']:.0f} MB |
"""


def main() -> None:
    results = json.loads((HERE / "results.json").read_text())
    (HERE / "README.md").write_text(render(results))


if __name__ == "__main__":
    main()
