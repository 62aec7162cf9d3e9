"""Privacy models evaluated per equivalence class, vectorized over all classes.

k-anonymity, l-diversity (distinct, entropy, recursive (c,l)) and t-closeness
(EMD with equal, ordered or hierarchical ground distance), as ARX defines them.
Each model returns, per class, whether it holds and the value reached.

Sensitive values of the classes come as *pairs*: one row per distinct
(class, sensitive value) with its count, sorted by class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from deid.policy import LDiversitySpec, PrivacySpec, TClosenessSpec

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_EPS = 1e-12


@dataclass(frozen=True)
class Pairs:
    """Distinct (class, sensitive value) combinations with counts, sorted by class."""

    cls: IntArray
    value: IntArray
    count: IntArray
    n_classes: int
    n_values: int

    def dense(self) -> FloatArray:
        """Class x value count matrix (float64)."""
        m = np.zeros((self.n_classes, self.n_values), dtype=np.float64)
        np.add.at(m, (self.cls, self.value), self.count)
        return m


@dataclass(frozen=True)
class SensitiveDomain:
    """The protected sensitive attribute: global distribution, order, hierarchy tree."""

    labels: tuple[str | None, ...]
    overall: FloatArray  # q: distribution over all input records
    order: IntArray  # value codes in ascending order (ordered distance)
    # hierarchical EMD: for each inner node (level >= 1), its height and member leaves
    tree_levels: tuple[int, ...] = ()
    tree_children: tuple[tuple[int, ...], ...] = ()  # children node ids (leaves are 0..n-1)
    tree_height: int = 0


class ClassModel(ABC):
    """A privacy model checked class by class."""

    name: ClassVar[str]
    #: a class that holds has at least this many distinct sensitive values
    implied_distinct: float = 0.0
    #: the node predicate "all classes hold" is monotone under generalization
    monotone: ClassVar[bool] = True
    #: with suppression, "records in failing classes <= limit" is monotone too
    monotone_with_suppression: ClassVar[bool] = False

    @abstractmethod
    def evaluate(self, sizes: IntArray, pairs: Pairs | None) -> tuple[BoolArray, FloatArray]:
        """(holds, value reached) per class."""


class KAnonymity(ClassModel):
    name = "k-anonymity"
    monotone_with_suppression = True

    def __init__(self, k: int) -> None:
        self.k = k

    def evaluate(self, sizes: IntArray, pairs: Pairs | None) -> tuple[BoolArray, FloatArray]:
        return sizes >= self.k, sizes.astype(np.float64)


def _per_class_distinct(pairs: Pairs) -> FloatArray:
    return np.bincount(pairs.cls, minlength=pairs.n_classes).astype(np.float64)


def _per_class_entropy(pairs: Pairs, sizes: IntArray) -> FloatArray:
    p = pairs.count / sizes[pairs.cls]
    h = np.bincount(pairs.cls, weights=-p * np.log(p), minlength=pairs.n_classes)
    return np.asarray(h, dtype=np.float64)


class DistinctL(ClassModel):
    name = "distinct-l-diversity"
    monotone_with_suppression = True

    def __init__(self, l: float) -> None:  # noqa: E741
        self.l = l

    def evaluate(self, sizes: IntArray, pairs: Pairs | None) -> tuple[BoolArray, FloatArray]:
        assert pairs is not None
        d = _per_class_distinct(pairs)
        return d >= self.l, d


class EntropyL(ClassModel):
    """Entropy of the sensitive values in each class >= log(l); value reached = exp(entropy)."""

    name = "entropy-l-diversity"

    def __init__(self, l: float) -> None:  # noqa: E741
        self.l = l
        self.implied_distinct = l  # entropy >= log(l) needs >= l distinct values

    def evaluate(self, sizes: IntArray, pairs: Pairs | None) -> tuple[BoolArray, FloatArray]:
        assert pairs is not None
        h = _per_class_entropy(pairs, sizes)
        return h >= np.log(self.l) - _EPS, np.exp(h)


class RecursiveCL(ClassModel):
    """r_1 < c * (r_l + ... + r_m), counts sorted descending; value = largest l that holds."""

    name = "recursive-(c,l)-diversity"

    def __init__(self, c: float, l: int) -> None:  # noqa: E741
        self.c = c
        self.l = l
        self.implied_distinct = float(l)  # r_l must exist

    def evaluate(self, sizes: IntArray, pairs: Pairs | None) -> tuple[BoolArray, FloatArray]:
        assert pairs is not None
        order = np.lexsort((-pairs.count, pairs.cls))
        cls = pairs.cls[order]
        cnt = pairs.count[order].astype(np.float64)
        starts = np.flatnonzero(np.r_[True, cls[1:] != cls[:-1]])
        lens = np.diff(np.r_[starts, len(cls)])
        cs = np.cumsum(cnt)
        before = cs - cnt - np.repeat(cs[starts] - cnt[starts], lens)
        rank = np.arange(len(cls)) - np.repeat(starts, lens)
        tail = sizes[cls].astype(np.float64) - before  # counts at this rank and after
        r1 = np.repeat(cnt[starts], lens)
        ok = (r1 < self.c * tail - _EPS) & (rank >= 1)
        best = np.ones(pairs.n_classes)
        np.maximum.at(best, cls[ok], (rank[ok] + 1).astype(np.float64))
        holds = np.zeros(pairs.n_classes, dtype=bool)
        sel = rank == self.l - 1
        holds[cls[sel]] = ok[sel]
        return holds, best


class TCloseness(ClassModel):
    """EMD between each class's sensitive distribution and the overall one <= t."""

    name = "t-closeness"

    def __init__(self, t: float, distance: str, domain: SensitiveDomain) -> None:
        self.t = t
        self.distance = distance
        self.domain = domain

    def emd(self, sizes: IntArray, pairs: Pairs) -> FloatArray:
        q = self.domain.overall
        if self.distance == "equal":
            p = pairs.count / sizes[pairs.cls]
            diff = np.abs(p - q[pairs.value]) - q[pairs.value]
            s = np.bincount(pairs.cls, weights=diff, minlength=pairs.n_classes)
            return np.asarray(0.5 * (s + 1.0), dtype=np.float64)
        out = np.empty(pairs.n_classes, dtype=np.float64)
        chunk = max(1, 4_000_000 // max(pairs.n_values, 1))
        bounds = np.searchsorted(pairs.cls, np.arange(0, pairs.n_classes + chunk, chunk))
        for ci, lo in enumerate(range(0, pairs.n_classes, chunk)):
            hi = min(lo + chunk, pairs.n_classes)
            a, b = bounds[ci], bounds[ci + 1]
            m = np.zeros((hi - lo, pairs.n_values))
            np.add.at(m, (pairs.cls[a:b] - lo, pairs.value[a:b]), pairs.count[a:b])
            m /= sizes[lo:hi, None]
            d = m - q[None, :]
            if self.distance == "ordered":
                cum = np.cumsum(d[:, self.domain.order], axis=1)
                denom = max(pairs.n_values - 1, 1)
                out[lo:hi] = np.abs(cum).sum(axis=1) / denom
            else:
                out[lo:hi] = self._hierarchical(d)
        return out

    def _hierarchical(self, d: FloatArray) -> FloatArray:
        # Li et al. / ARX: sum over inner nodes of level/height * min(pos extra, neg extra)
        n_leaves = d.shape[1]
        extras: list[FloatArray] = [d[:, i] for i in range(n_leaves)]
        cost = np.zeros(d.shape[0])
        height = float(self.domain.tree_height)
        for level, children in zip(self.domain.tree_levels, self.domain.tree_children, strict=True):
            ch = np.stack([extras[c] for c in children], axis=1)
            pos = np.where(ch > 0, ch, 0.0).sum(axis=1)
            neg = np.where(ch < 0, -ch, 0.0).sum(axis=1)
            cost += (level / height) * np.minimum(pos, neg)
            extras.append(pos - neg)
        return cost

    def evaluate(self, sizes: IntArray, pairs: Pairs | None) -> tuple[BoolArray, FloatArray]:
        assert pairs is not None
        e = self.emd(sizes, pairs)
        return e <= self.t + _EPS, e


def build_models(spec: PrivacySpec, domain: SensitiveDomain | None) -> list[ClassModel]:
    """The class models of a privacy spec (k first)."""
    models: list[ClassModel] = [KAnonymity(spec.k)]
    lspec: LDiversitySpec | None = spec.l_diversity
    if lspec is not None:
        if lspec.variant == "distinct":
            models.append(DistinctL(lspec.l))
        elif lspec.variant == "entropy":
            models.append(EntropyL(lspec.l))
        else:
            assert lspec.c is not None
            models.append(RecursiveCL(lspec.c, int(lspec.l)))
    tspec: TClosenessSpec | None = spec.t_closeness
    if tspec is not None:
        assert domain is not None
        models.append(TCloseness(tspec.t, tspec.distance, domain))
    return models


def monotone_part(models: list[ClassModel]) -> list[ClassModel]:
    """Models whose failing records only shrink under generalization, implied by ``models``.

    A node where these alone fail on more records than the limit is infeasible, and so is
    its whole down-set, even when the full predicate is not monotone.
    """
    part = [m for m in models if m.monotone_with_suppression]
    implied = max(
        (m.implied_distinct for m in models if not m.monotone_with_suppression), default=0.0
    )
    if implied > 1:
        part.append(DistinctL(implied))
    return part


def predicate_is_monotone(models: list[ClassModel], suppression_allowed: bool) -> bool:
    """Whether "feasible" is monotone over the lattice (pruning by anonymity is exact)."""
    if suppression_allowed:
        return all(m.monotone_with_suppression for m in models)
    return all(m.monotone for m in models)
