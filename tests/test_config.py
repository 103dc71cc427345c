"""Config loading, overrides and validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stancekit.config import ConfigError, Config, dump_config, load_config

from conftest import ROOT


@pytest.mark.parametrize("override, key, value", [
    ("model.C=0.5", ("model", "C"), 0.5),
    ("model.C=2", ("model", "C"), 2.0),
    ("output.dir=/tmp/x", ("output", "dir"), "/tmp/x"),
    ("features.word_ngrams=[1, 3]", ("features", "word_ngrams"), (1, 3)),
    ("thresholds.tune=validation", ("thresholds", "tune"), "validation"),
    ("features.max_features=null", ("features", "max_features"), None),
    ("seed=7", ("seed",), 7),
])
def test_overrides(override: str, key: tuple[str, ...], value: object) -> None:
    cfg = load_config(ROOT / "configs/default.yaml", [override])
    node = cfg
    for k in key:
        node = getattr(node, k)
    assert node == value


@pytest.mark.parametrize("override, message", [
    ("model.CC=1", r"unknown key 'model.CC'; did you mean 'model.C'\?"),
    ("modle.C=1", r"did you mean 'model'"),
    ("model.C=abc", r"'model.C' must be float, got 'abc'"),
    ("model.C=-1", r"'model.C' must be positive, got -1"),
    ("model.type=forest", r"'model.type' must be one of 'logreg', 'svm', 'sgd', got 'forest'"),
    ("split.folds=1", r"'split.folds' must be at least 2"),
    ("split.same_story=-1", r"'split.same_story' must be 0 \(off\) or a number of sentences, got -1"),
    ("split.same_story=two", r"'split.same_story' must be int, got 'two'"),
    ("numbers.labels=[stats]", r"'numbers.labels' must name labels from labels.names .* got 'stats'"),
    ("numbers.weight=1.5", r"'numbers.weight' must be in \[0, 1\], got 1.5"),
    ("numbers.window=0", r"'numbers.window' must be in 1..6, got 0"),
    ("nodot", r"must look like section.key=value"),
])
def test_bad_overrides(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(ROOT / "configs/default.yaml", [override])


def test_unknown_key_in_file(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  typ: svm\n")
    with pytest.raises(ConfigError, match=r"c.yaml:2: unknown key 'model.typ'; did you mean 'model.type'"):
        load_config(p)


@pytest.mark.parametrize("text, message", [
    ("seed: 1\nmodel:\n  type: logreg\n  C: -3\n", r"c.yaml:4: 'model.C' must be positive, got -3"),
    ("features:\n  word_ngrams: [1,\n    x]\n", r"c.yaml:3: 'features.word_ngrams\[1\]' must be int"),
    ("data:\n  articles:\n    - path: a\n    - path: b\n      format: docx\n",
     r"c.yaml:5: 'data.articles\[1\].format' must be one of"),
    ("labels:\n  names: [a, b]\nnumbers:\n  labels: [statistic]\n",
     r"c.yaml:4: 'numbers.labels' must name labels from labels.names"),
    # a check over two keys names their section
    ("split:\n  validation: 0.5\n  test: 0.45\n", r"c.yaml:1: 'split.validation \+ split.test' must leave"),
])
def test_bad_value_names_its_line(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(p)


def test_bad_override_value_names_the_override(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  C: 2.0\n")
    with pytest.raises(ConfigError, match=r"^--set model.C=-1: 'model.C' must be positive, got -1"):
        load_config(p, ["model.C=-1"])
    item = "data.articles=[{path: a, format: docx}]"
    with pytest.raises(ConfigError, match=r"^--set data.articles=.*: 'data.articles\[0\].format' must be"):
        load_config(p, [item])


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  C: [1,\n")
    with pytest.raises(ConfigError, match=r"c.yaml:\d+: invalid YAML"):
        load_config(p)


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    cfg = load_config(ROOT / "configs/default.yaml", ["model.C=1.5"])
    p = tmp_path / "resolved.yaml"
    p.write_text(dump_config(cfg))
    again = load_config(p)
    assert again.to_dict() == cfg.to_dict()
    assert isinstance(again, Config)
