"""Run configuration: one YAML file holds every setting; `--set a.b=value` overrides it.

The config is a tree of frozen dataclasses. Loading checks every key and value
before any work starts; a typo is answered with the nearest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
import errno
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .clean import CleaningRules, Pattern
from .errors import ConfigError, DataError, PatternError, StancekitError
from .inputs import read_text
from .runtime.artifact import check_name
from .runtime.features import FeatureSpec

DEFAULT_LABELS = ("accusation", "denial", "quote", "statistic")
MAX_SEED = 2**32 - 1          # what NumPy and scikit-learn accept as a random state
MAX_CONFIG_BYTES = 1 << 20    # a config is a page of YAML, not a data file
MAX_DEPTH = 32                # nesting of mappings and lists in a config
MAX_NODES = 100_000


class _YamlLimit(Exception):
    """A YAML document uses an alias or goes past the depth or size limits."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases (an alias chain can grow a few lines into
    gigabytes), with nesting and node counts capped."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _YamlLimit(f"YAML aliases (*{event.anchor}) are not accepted; write the "
                             "value out", event.start_mark.line + 1)
        self._depth += 1
        self._nodes += 1
        if self._depth > MAX_DEPTH or self._nodes > MAX_NODES:
            mark = self.peek_event().start_mark
            raise _YamlLimit(f"nested deeper than {MAX_DEPTH} levels" if self._depth > MAX_DEPTH
                             else f"more than {MAX_NODES} values", mark.line + 1)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _yaml(text: str, compose: bool = False) -> Any:
    """Parse (or only compose) YAML with `_Loader`; _YamlLimit, yaml.YAMLError or
    ValueError (an integer of thousands of digits) on bad input."""
    loader = _Loader(text)
    try:
        return loader.get_single_node() if compose else loader.get_single_data()
    finally:
        loader.dispose()


@dataclass(frozen=True)
class ArticleSource:
    """Raw articles: a file, a directory (its .txt and .html files) or a glob, local or an
    fsspec URL; txt and html files are one article each, jsonl/csv/json/parquet one a record."""

    path: str
    format: Literal["auto", "txt", "html", "jsonl", "csv", "json", "parquet"] = "auto"
    id_field: str = "id"
    title_field: str | None = "title"
    text_field: str = "text"


@dataclass(frozen=True)
class AnnotationSource:
    """An annotation tool's export, and the field that holds each task's text (Label
    Studio: a key of `data`; doccano and Prodigy: a key of each record)."""

    path: str
    text_field: str = "text"


@dataclass(frozen=True)
class DataConfig:
    """Where articles and annotations come from, and what to do with bad records."""

    articles: tuple[ArticleSource, ...] = ()
    gold: tuple[str, ...] = ()
    label_studio: tuple[AnnotationSource, ...] = ()
    doccano: tuple[AnnotationSource, ...] = ()
    prodigy: tuple[AnnotationSource, ...] = ()
    on_error: Literal["raise", "skip"] = "raise"
    gold_requires_article: bool = False


@dataclass(frozen=True)
class LabelsConfig:
    """The label set: names, and whether exactly one label applies (exclusive)."""

    names: tuple[str, ...] = DEFAULT_LABELS
    exclusive: bool = False
    missing_positive: Literal["error", "skip"] = "error"


@dataclass(frozen=True)
class SegmentationConfig:
    """Extra abbreviations (without the dot) that never end a sentence."""

    abbreviations: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnnotationConfig:
    """How span annotations become sentence labels."""

    min_overlap: float = 0.5
    annotators: Literal["union", "majority", "first"] = "union"


@dataclass(frozen=True)
class WeakLabelsConfig:
    """Rule-based labels for unlabelled articles (off by default)."""

    enabled: bool = False
    articles: tuple[ArticleSource, ...] = ()
    max_articles: int | None = None
    rules: tuple[str, ...] = ("accusation", "denial")
    weight: float = 0.03


@dataclass(frozen=True)
class SplitConfig:
    """Article-level split fractions and the number of cross-validation folds.

    `refit`: once the validation split has served (tuned thresholds, held-out
    metrics), fit the final model again on train + validation with those thresholds:
    15% more annotated articles, worth +0.012 macro-F1 in article-grouped CV.

    `same_story`: articles that share at least this many sentences (of 8+ words) are
    one story republished under another id; they share a split and fold, and an
    unlabelled article sharing that many with the gold gets no weak labels, so no
    held-out text is trained on. 0 splits by article id alone.
    """

    validation: float = 0.15
    test: float = 0.15
    folds: int = 5
    refit: bool = True
    same_story: int = 3


@dataclass(frozen=True)
class FeaturesConfig:
    """TF-IDF features: word and character n-grams, number shapes, article context."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (0, 0)
    number_shapes: bool = True
    context: bool = True
    neighbours: bool = False
    # labels whose model also reads the previous and next sentences' word n-grams, as
    # two more copies of the TF-IDF space scaled by neighbour_weight
    neighbour_labels: tuple[str, ...] = ()
    neighbour_weight: float = 0.5
    min_df: int = 2
    max_features: int | None = None
    sublinear_tf: bool = True

    def spec(self) -> FeatureSpec:
        """The feature spec these settings describe (min_df and max_features, which only
        choose the vocabulary at training time, are the estimator's)."""
        return FeatureSpec.from_config(self)


@dataclass(frozen=True)
class ModelConfig:
    """The linear model fitted per label (one-vs-rest) or across labels (exclusive)."""

    type: Literal["logreg", "svm", "sgd"] = "logreg"
    C: float = 4.0
    class_weight: Literal["balanced", "none"] = "balanced"
    max_iter: int = 2000


@dataclass(frozen=True)
class NumbersConfig:
    """A per-number model for labels a figure carries (statistic): each number is
    scored from the words around it; a sentence's best number is blended with the
    sentence model (`weight` is the number model's share; `floor` its score for a
    sentence with no number)."""

    labels: tuple[str, ...] = ()
    weight: float = 0.7
    window: int = 3
    C: float = 1.0
    floor: float = -6.0


@dataclass(frozen=True)
class ThresholdsConfig:
    """Per-label decision thresholds: tuned on validation, on grouped CV, or fixed."""

    tune: Literal["validation", "cv", "none"] = "cv"
    default: float = 0.5
    grid: int = 99


@dataclass(frozen=True)
class SearchConfig:
    """Optional grid/random search over config keys with story-grouped CV."""

    enabled: bool = False
    method: Literal["grid", "random"] = "grid"
    params: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    n_iter: int = 10
    folds: int = 3


@dataclass(frozen=True)
class MlflowConfig:
    """Where to log runs in MLflow as well (the `mlflow` extra): a tracking URI (`file:...`,
    `sqlite:///...`, `http://...`) and an experiment name."""

    uri: str | None = None
    experiment: str = "stancekit"


@dataclass(frozen=True)
class TrackingConfig:
    """Experiment tracking beyond the run log every run writes under the artifact root."""

    mlflow: MlflowConfig = MlflowConfig()


@dataclass(frozen=True)
class OutputConfig:
    """Where artifacts go: <dir>/<name>/v<N>/."""

    dir: str = "artifacts"
    name: str = "default"


@dataclass(frozen=True)
class Config:
    """Every setting of one run."""

    seed: int = 13
    data: DataConfig = DataConfig()
    labels: LabelsConfig = LabelsConfig()
    cleaning: CleaningRules = CleaningRules()  # the cleaning rules are the config section
    segmentation: SegmentationConfig = SegmentationConfig()
    annotation: AnnotationConfig = AnnotationConfig()
    weak_labels: WeakLabelsConfig = WeakLabelsConfig()
    split: SplitConfig = SplitConfig()
    features: FeaturesConfig = FeaturesConfig()
    model: ModelConfig = ModelConfig()
    numbers: NumbersConfig = NumbersConfig()
    thresholds: ThresholdsConfig = ThresholdsConfig()
    search: SearchConfig = SearchConfig()
    tracking: TrackingConfig = TrackingConfig()
    output: OutputConfig = OutputConfig()
    base_dir: str = "."

    def resolve(self, path: str) -> Path:
        """A data path from the config, relative to the directory it was run from."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def to_dict(self) -> dict:
        """Plain, YAML-ready nested dict (base_dir left out: it belongs to the run)."""
        d = _plain(self)
        d.pop("base_dir", None)
        return d


def _plain(obj: Any) -> Any:
    """Dataclasses and tuples to dicts and lists."""
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, where: str, source: str | None) -> Any:
    """Check `value` against annotation `tp`, converting lists to tuples."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where, source)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"'{where}' must be one of {', '.join(map(repr, args))}, got {value!r}",
                              source, key=where)
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{where}' must be a list, got {value!r}", source, key=where)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{where}[{i}]", source) for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"'{where}' must have {len(args)} items, got {value!r}", source, key=where)
        return tuple(_convert(v, a, f"{where}[{i}]", source) for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"'{where}' must be a mapping, got {value!r}", source, key=where)
        return {str(k): _convert(v, args[1], f"{where}.{k}", source) for k, v in value.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp in (ArticleSource, AnnotationSource) and isinstance(value, str):
            value = {"path": value}
        return _build(tp, value, where, source)
    if tp is Any:
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ConfigError(f"'{where}' must be a finite number, got {value!r}", source, key=where)
        return float(value)
    if tp in (int, float, str, bool) and (type(value) is not tp):
        raise ConfigError(f"'{where}' must be {_type_name(tp)}, got {value!r}", source, key=where)
    return value


def _build(cls: type, data: Any, where: str, source: str | None) -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"'{where or 'config'}' must be a mapping, got {data!r}", source, key=where)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "base_dir"]
    kwargs = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean '{(where + '.') if where else ''}{close[0]}'?" if close else \
                f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown key '{path}'{hint}", source, key=path)
        kwargs[key] = _convert(value, hints[key], path, source)
    return cls(**kwargs)


def _check_values(cfg: Config, source: str | None) -> None:
    """Range checks that types alone cannot express."""
    def bad(key: str, value: Any, why: str) -> ConfigError:
        return ConfigError(f"'{key}' {why}, got {value!r}", source, key=key)
    if not cfg.labels.names:
        raise bad("labels.names", cfg.labels.names, "must name at least one label")
    if len(set(cfg.labels.names)) != len(cfg.labels.names):
        raise bad("labels.names", cfg.labels.names, "must not repeat a label")
    s = cfg.split
    for key in ("validation", "test"):
        v = getattr(s, key)
        if not 0 <= v < 1:
            raise bad(f"split.{key}", v, "must be in [0, 1)")
    if s.validation + s.test >= 0.9:
        raise bad("split.validation + split.test", s.validation + s.test, "must leave training data")
    if s.folds < 2:
        raise bad("split.folds", s.folds, "must be at least 2")
    if s.same_story < 0:
        raise bad("split.same_story", s.same_story, "must be 0 (off) or a number of sentences")
    lo, hi = cfg.features.word_ngrams
    if not 1 <= lo <= hi <= 4:
        raise bad("features.word_ngrams", [lo, hi], "must be [min, max] with 1 <= min <= max <= 4")
    lo, hi = cfg.features.char_ngrams
    if (lo, hi) != (0, 0) and not 1 <= lo <= hi <= 8:
        raise bad("features.char_ngrams", [lo, hi], "must be [0, 0] (off) or 1 <= min <= max <= 8")
    for label in cfg.features.neighbour_labels:
        if label not in cfg.labels.names:
            raise bad("features.neighbour_labels", label, f"must name labels from labels.names "
                      f"{list(cfg.labels.names)}")
    if cfg.features.neighbour_labels and cfg.labels.exclusive:
        raise bad("features.neighbour_labels", list(cfg.features.neighbour_labels),
                  "needs one-vs-rest labels (labels.exclusive: false)")
    if cfg.features.neighbour_weight <= 0:
        raise bad("features.neighbour_weight", cfg.features.neighbour_weight, "must be positive")
    if cfg.features.min_df < 1:
        raise bad("features.min_df", cfg.features.min_df, "must be at least 1")
    if cfg.model.C <= 0:
        raise bad("model.C", cfg.model.C, "must be positive")
    if not 1 <= cfg.model.max_iter <= 1_000_000:
        raise bad("model.max_iter", cfg.model.max_iter, "must be in 1..1000000")
    if not 0 <= cfg.seed <= MAX_SEED:
        raise bad("seed", cfg.seed, f"must be in 0..{MAX_SEED}")
    if not 1 <= cfg.thresholds.grid <= 10_000:
        raise bad("thresholds.grid", cfg.thresholds.grid, "must be in 1..10000")
    if cfg.features.max_features is not None and cfg.features.max_features < 1:
        raise bad("features.max_features", cfg.features.max_features, "must be at least 1")
    if cfg.weak_labels.max_articles is not None and cfg.weak_labels.max_articles < 0:
        raise bad("weak_labels.max_articles", cfg.weak_labels.max_articles, "must be at least 0")
    if cfg.search.n_iter < 1:
        raise bad("search.n_iter", cfg.search.n_iter, "must be at least 1")
    if cfg.search.folds < 2:
        raise bad("search.folds", cfg.search.folds, "must be at least 2")
    if cfg.tracking.mlflow.uri:
        import importlib.util
        if importlib.util.find_spec("mlflow") is None:
            raise ConfigError("'tracking.mlflow.uri' is set but MLflow is not installed: pip "
                              "install 'stancekit[mlflow]'", source, key="tracking.mlflow.uri")
    try:
        check_name(cfg.output.name)
    except StancekitError as exc:
        raise ConfigError(str(exc), source, key="output.name") from None
    for name in ("credit_patterns", "extra_patterns"):
        for i, pattern in enumerate(getattr(cfg.cleaning, name)):
            try:
                Pattern(pattern)
            except PatternError as exc:
                raise ConfigError(str(exc), source, key=f"cleaning.{name}[{i}]") from None
    n = cfg.numbers
    for label in n.labels:
        if label not in cfg.labels.names:
            raise bad("numbers.labels", label, f"must name labels from labels.names "
                      f"{list(cfg.labels.names)} (or be [] to turn the number model off)")
    if n.labels and not cfg.features.number_shapes:
        raise bad("numbers.labels", list(n.labels), "needs features.number_shapes: true")
    if not 0 <= n.weight <= 1:
        raise bad("numbers.weight", n.weight, "must be in [0, 1]")
    if not 1 <= n.window <= 6:
        raise bad("numbers.window", n.window, "must be in 1..6")
    if n.C <= 0:
        raise bad("numbers.C", n.C, "must be positive")
    if not 0 < cfg.thresholds.default < 1:
        raise bad("thresholds.default", cfg.thresholds.default, "must be in (0, 1)")
    if not 0 < cfg.annotation.min_overlap <= 1:
        raise bad("annotation.min_overlap", cfg.annotation.min_overlap, "must be in (0, 1]")
    if not 0 <= cfg.weak_labels.weight <= 1:
        raise bad("weak_labels.weight", cfg.weak_labels.weight, "must be in [0, 1]")
    from .rules import RULES
    for rule in cfg.weak_labels.rules:
        if rule not in RULES:
            raise bad("weak_labels.rules", rule, f"must name rules among {', '.join(RULES)}")
    for key in cfg.search.params:
        _lookup(cfg.to_dict(), key.split("."), key, source)


def _lookup(tree: dict, parts: list[str], key: str, source: str | None) -> None:
    """Raise ConfigError unless dotted `key` names an existing setting."""
    node: Any = tree
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            options = list(node) if isinstance(node, dict) else []
            close = difflib.get_close_matches(part, options, n=1)
            prefix = ".".join(parts[:i])
            hint = f"; did you mean '{prefix + '.' if prefix else ''}{close[0]}'?" if close else ""
            raise ConfigError(f"unknown key '{key}'{hint}", source)
        node = node[part]


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split 'section.key=value' into its path and YAML-parsed value."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like section.key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    if "." not in key and key not in ("seed",):
        raise ConfigError(f"override key {key!r} must be a dotted path such as model.C")
    try:
        value = _yaml(raw) if raw.strip() else ""
    except (yaml.YAMLError, _YamlLimit, ValueError, RecursionError) as exc:
        why = str(exc) if isinstance(exc, _YamlLimit) else str(exc).split(";")[0][:80]
        shown = item if len(item) <= 80 else item[:77] + "..."
        raise ConfigError(f"cannot parse value ({why})", f"--set {shown}", key=key) from None
    return key.split("."), value


def apply_overrides(data: dict, overrides: typing.Iterable[str], source: str | None = None) -> dict:
    """Return a copy of the raw config mapping with each `--set` override applied."""
    import copy
    out = copy.deepcopy(data)
    defaults = Config().to_dict()
    for item in overrides:
        parts, value = parse_override(item)
        _lookup(defaults, parts, ".".join(parts), f"--set {item}")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: '{part}' is not a section", source)
        node[parts[-1]] = value
    return out


def config_from_dict(data: dict, source: str | None = None, base_dir: str = ".") -> Config:
    """Validate a raw mapping into a Config."""
    cfg = _build(Config, data or {}, "", source)
    cfg = dataclasses.replace(cfg, base_dir=str(base_dir))
    _check_values(cfg, source)
    return cfg


def load_config(path: str | Path, overrides: typing.Iterable[str] = ()) -> Config:
    """Read a YAML config file, apply overrides, validate. Paths in it are relative to the cwd."""
    path = Path(path)
    try:
        text = read_text(path, MAX_CONFIG_BYTES)
    except DataError as exc:
        detail = "config file not found" if exc.detail == os.strerror(errno.ENOENT) else exc.detail
        raise ConfigError(detail, path, exc.line) from None
    try:
        data = _yaml(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path,
                          mark.line + 1 if mark else None) from None
    except _YamlLimit as exc:
        raise ConfigError(str(exc), path, exc.line) from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"invalid YAML value ({str(exc).split(';')[0][:100]})", path) from None
    if not isinstance(data, dict):
        raise ConfigError("the config must be a YAML mapping", path)
    overrides = list(overrides)
    data = apply_overrides(data, overrides, str(path))
    try:
        return config_from_dict(data, str(path))
    except ConfigError as exc:
        raise _located(exc, path, _key_lines(text), overrides) from None


def _key_lines(text: str) -> dict[str, int]:
    """Map every dotted key path in YAML `text` (`model.C`, `data.articles[0].path`) to its line."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, where: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = f"{where}.{key.value}" if where else str(key.value)
                lines[path] = key.start_mark.line + 1
                walk(value, path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[f"{where}[{i}]"] = item.start_mark.line + 1
                walk(item, f"{where}[{i}]")

    root = _yaml(text, compose=True)  # parsed once already: cannot fail
    if root is not None:
        walk(root, "")
    return lines


def _located(exc: ConfigError, path: Path, lines: dict[str, int],
             overrides: list[str]) -> ConfigError:
    """Point a validation error at the `--set` or the config line that gave its key."""
    key = exc.key
    if key is None:
        return exc

    def covers(prefix: str) -> bool:
        return key == prefix or key.startswith((prefix + ".", prefix + "["))
    for item in reversed(overrides):
        if covers(".".join(parse_override(item)[0])):
            return ConfigError(exc.detail, f"--set {item}", key=key)
    best = max((k for k in lines if covers(k)), key=len, default=None)
    return ConfigError(exc.detail, path, lines[best] if best else None, key=key)


def dump_config(cfg: Config) -> str:
    """The resolved config as YAML that `load_config` reads back unchanged."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True)
