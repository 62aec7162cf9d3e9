"""Information-loss metrics as ARX defines them (default parameters, gs-factor 0.5).

- ``loss`` (ARX ``MetricMDNMLoss``): per attribute, each record costs
  (leaves under its generalized value - 1) / (leaves of the hierarchy - 1), a
  suppressed record 1; attribute loss = mean over all records; attributes
  combine by geometric mean ``prod(1 + l_i) ** (1/n) - 1``.
- ``precision`` (``MetricMDNMPrecision``): per attribute, level / max level per
  record, 1 when suppressed; arithmetic mean over attributes.
- ``height`` (``MetricMDHeight``): sum of the generalization levels.
- ``discernibility`` (``MetricSDNMDiscernability``): sum over classes of
  size^2, a suppressed class costs size * records.
- ``non_uniform_entropy`` (``MetricMDNUNMEntropy``): per attribute, sum over
  records of -log2(freq(original) / freq(generalized)) in the input, plus for
  suppressed records -log2(count of their generalized value among the
  suppressed / suppressed); attributes summed.

Each metric also has a *generalization-only* value computable from marginals,
which is a monotone lower bound of the metric (suppression only adds cost):
the search uses it to prune.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from deid.hierarchy import Materialized

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

METRICS = ("loss", "precision", "height", "discernibility", "non_uniform_entropy")


@dataclass(frozen=True)
class AttributeCosts:
    """Per quasi-identifier, per level: costs of generalized codes and marginal totals."""

    height: int
    loss_cost: tuple[FloatArray, ...]  # [level][code] -> ARX loss cost
    loss_gen: FloatArray  # [level] generalization-only loss (mean over records)
    nue_gen: FloatArray  # [level] generalization-only non-uniform entropy (sum over records)

    def precision(self, level: int) -> float:
        return 0.0 if self.height <= 1 else level / (self.height - 1)


def attribute_costs(mat: Materialized, leaf_idx: IntArray, counts: IntArray) -> AttributeCosts:
    n = float(counts.sum())
    leaf_freq = np.bincount(leaf_idx, weights=counts, minlength=len(mat.leaves))
    loss_cost = []
    loss_gen = np.zeros(mat.height)
    nue_gen = np.zeros(mat.height)
    for level in range(mat.height):
        cost = mat.loss_cost(level)
        loss_cost.append(cost)
        codes = mat.codes[level]
        # per leaf, weighted by its frequency: O(leaves), not O(rows)
        loss_gen[level] = float((cost[codes] * leaf_freq).sum() / n) if n else 0.0
        gen_freq = np.bincount(codes, weights=leaf_freq, minlength=len(mat.labels[level]))
        present = leaf_freq > 0
        a = leaf_freq[present]
        b = gen_freq[codes[present]]
        nue_gen[level] = float(-(a * np.log2(a / b)).sum())
    return AttributeCosts(mat.height, tuple(loss_cost), loss_gen, np.abs(nue_gen))


def _geo(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    return float(np.prod([1.0 + v for v in values]) ** (1.0 / len(values)) - 1.0)


def lower_bound_grid(metric: str, costs: Sequence[AttributeCosts], n_records: int) -> FloatArray:
    """Generalization-only value of ``metric`` for every lattice node (shape = heights)."""
    shape = tuple(c.height for c in costs)
    m = len(costs)
    if m == 0:
        return np.zeros(())

    def axis(vec: FloatArray, j: int) -> FloatArray:
        s = [1] * m
        s[j] = len(vec)
        return vec.reshape(s)

    if metric == "loss":
        grid = np.ones(shape)
        for j, c in enumerate(costs):
            grid = grid * axis(1.0 + c.loss_gen, j)
        return np.asarray(grid ** (1.0 / m) - 1.0, dtype=np.float64)
    if metric == "precision":
        grid = np.zeros(shape)
        for j, c in enumerate(costs):
            grid = grid + axis(np.array([c.precision(lv) for lv in range(c.height)]), j)
        return np.asarray(grid / m, dtype=np.float64)
    if metric == "height":
        grid = np.zeros(shape)
        for j, c in enumerate(costs):
            grid = grid + axis(np.arange(c.height, dtype=np.float64), j)
        return grid
    if metric == "non_uniform_entropy":
        grid = np.zeros(shape)
        for j, c in enumerate(costs):
            grid = grid + axis(c.nue_gen, j)
        return grid
    # discernibility: every record is in a class of size >= 1
    return np.full(shape, float(n_records))


def evaluate_metrics(
    levels: Sequence[int],
    costs: Sequence[AttributeCosts],
    sizes: IntArray,
    codes: Sequence[IntArray],
    bad: BoolArray,
    n_records: int,
    only: str | None = None,
) -> dict[str, float]:
    """Every metric (or ``only`` one) for a node's classes; ``bad`` classes are suppressed."""
    n = float(n_records)
    good = ~bad
    supp = float(sizes[bad].sum())
    out: dict[str, float] = {}
    m = len(costs)
    if only in (None, "loss"):
        per = []
        for j, c in enumerate(costs):
            cost = c.loss_cost[levels[j]][codes[j]]
            per.append(float(((cost * sizes)[good].sum() + supp) / n) if n else 0.0)
        out["loss"] = _geo(per)
    if only in (None, "precision"):
        vals = [
            ((n - supp) * c.precision(levels[j]) + supp) / n if n else 0.0
            for j, c in enumerate(costs)
        ]
        out["precision"] = float(np.mean(vals)) if m else 0.0
    if only in (None, "height"):
        out["height"] = float(sum(levels))
    if only in (None, "discernibility"):
        s = sizes.astype(np.float64)
        out["discernibility"] = float((s[good] ** 2).sum() + (s[bad] * n).sum())
    if only in (None, "non_uniform_entropy"):
        total = 0.0
        for j, c in enumerate(costs):
            total += float(c.nue_gen[levels[j]])
            if supp:
                cnt = np.bincount(codes[j][bad], weights=sizes[bad])
                cnt = cnt[cnt > 0]
                total += float(-(cnt * np.log2(cnt / supp)).sum())
        out["non_uniform_entropy"] = total
    return out


def discernibility_star(sizes: IntArray) -> float:
    """Sum of squared class sizes (no suppression): a monotone lower bound of discernibility."""
    s = sizes.astype(np.float64)
    return float((s * s).sum())
