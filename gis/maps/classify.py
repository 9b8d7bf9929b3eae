"""Class breaks for choropleths (mapclassify), so maps and reports class numbers the same way."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from gis.palette import CHOROPLETH_REDS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Numba not installed": the pure-Python path is fine here
    import mapclassify

# Sequential light-to-dark reds, one per class (ColorBrewer Reds, 5 classes).
REDS = CHOROPLETH_REDS


@dataclass
class Classes:
    """Upper bounds of each class and the class index of every value."""

    method: str
    bins: list[float]
    index: list[int]
    colours: list[str]


def classify(values: list[float], *, k: int = 5, method: str = "fisher_jenks") -> Classes:
    """Class ``values`` into at most ``k`` classes; few distinct values give fewer classes."""
    y = np.asarray(values, dtype=float)
    distinct = np.unique(y)
    if y.size == 0:
        return Classes(method, [], [], [])
    if distinct.size <= k:
        bins = [float(v) for v in distinct]
        index = [int(np.searchsorted(distinct, v)) for v in y]
        picks = np.linspace(0, len(REDS) - 1, len(bins)).round().astype(int)
        return Classes("unique_values", bins, index, [REDS[i] for i in picks])
    scheme = {"fisher_jenks": mapclassify.FisherJenks, "quantiles": mapclassify.Quantiles,
              "natural_breaks": mapclassify.NaturalBreaks}[method](y, k=k)
    bins = [float(b) for b in scheme.bins]
    return Classes(method, bins, [int(i) for i in scheme.yb], list(REDS[:len(bins)]))
