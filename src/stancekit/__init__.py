"""stancekit: sentence classifiers for news articles (accusation, denial, statistic, quote).

The public API is imported lazily so `import stancekit` stays cheap: loading a model
and predicting never import scikit-learn.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["load", "Model", "train", "evaluate", "build_dataset", "load_config", "Config",
           "StancekitError", "ConfigError", "DataError", "LabelError", "TrainingError",
           "ArtifactError", "ModelNotFoundError", "__version__"]

_WHERE = {
    "load": "runtime.model", "Model": "runtime.model", "train": "training", "evaluate": "evaluation",
    "build_dataset": "dataset", "load_config": "config", "Config": "config",
    "StancekitError": "errors", "ConfigError": "errors", "DataError": "errors",
    "LabelError": "errors", "TrainingError": "errors", "ArtifactError": "errors",
    "ModelNotFoundError": "errors",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib
        return getattr(importlib.import_module(f"stancekit.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'stancekit' has no attribute {name!r}")
