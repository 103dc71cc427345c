"""The runtime: everything a loaded model needs to score text, NumPy only.

`load` reads a verified artifact (`artifact`) into a `Model`, which turns sentences
into feature ids (`features`, `vectorize`), scores them with the linear weights and
the number model (`numbers`), and decides labels at its thresholds (`decisions`).
Nothing here imports scikit-learn, SciPy, datasets, pandas or matplotlib (a test in a
fresh interpreter keeps it so).
"""

from .model import Model, load

__all__ = ["Model", "load"]
