"""Anonymization API over Arrow: count, search, generalize, report.

The two-pass flow, the same locally and in Spark:

1. ``count_batch`` per batch -> ``FrequencyTable``; ``merge`` them (or build
   one with ``FrequencyTable.from_arrow`` from a Spark group-by);
2. ``search(freq, policy)`` -> ``Anonymization`` (levels, the approved classes,
   suppressed classes, report; JSON-serialisable, shipped to executors);
3. ``generalize_batch(batch, policy, anonymization)`` per batch: pure. Only records
   whose generalized class the search approved are released (an allow-list), so a
   record the count pass never saw cannot leave in a class smaller than k.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from deid.errors import DataError, PrivacyTargetNotMet
from deid.frequency import FrequencyTable, dict_column, key_strings
from deid.hierarchy import FlatHierarchy, Hierarchy
from deid.metrics import evaluate_metrics
from deid.policy import Policy
from deid.report import PrivacyReport, class_size_histogram
from deid.risk import population_risk, prosecutor_risk
from deid.search import NodeEval, Problem, SearchStats, evaluate_node, optimal_node, prepare

__all__ = [
    "Anonymization",
    "FrequencyTable",
    "PrivacyReport",
    "anonymize_table",
    "count_batch",
    "count_table",
    "generalize_batch",
    "measure_risk",
    "released_class_sizes",
    "search",
]

IntArray = npt.NDArray[np.int64]


def _count_keys(policy: Policy) -> list[str]:
    sens = policy.protected_sensitive
    return [*policy.quasi_identifiers, *([sens] if sens else [])]


def _encode_level0(col: pa.Array, h: Hierarchy | None, name: str) -> tuple[pa.Array, pa.Array]:
    """(int32 codes with nulls, string dictionary) of a column's level-0 values.

    The raw column is dictionary-encoded first, so normalization (``leaf``) runs on
    distinct values only.
    """
    enc = pc.dictionary_encode(col)
    try:
        labels = h.leaf(enc.dictionary) if h is not None else _strings(enc.dictionary)
    except DataError as exc:
        raise DataError(exc.message, field=name) from None
    lab = pc.dictionary_encode(labels)
    codes = lab.indices.take(enc.indices)
    return codes, lab.dictionary


def _strings(arr: pa.Array) -> pa.Array:
    out = key_strings(arr)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _take_codes(dictionary: pa.Array, codes: npt.NDArray[np.int64]) -> pa.Array:
    """Dictionary values by code; the code ``len(dictionary)`` stands for null."""
    null = codes == len(dictionary)
    idx = pa.array(np.where(null, 0, codes), mask=null if null.any() else None)
    return dictionary.take(idx)


def count_batch(batch: pa.RecordBatch | pa.Table, policy: Policy) -> FrequencyTable:
    """Distinct level-0 QI (+ protected sensitive) combinations of a batch with counts.

    Each column becomes integer codes; the codes of a row are packed into one
    int64 key and counted with a single-column hash group-by.
    """
    hier = policy.hierarchies()
    names = _count_keys(policy)
    codes: list[npt.NDArray[np.int64]] = []
    dicts: list[pa.Array] = []
    space = 1
    for name in names:
        if name not in batch.schema.names:
            raise DataError(f"column {name!r} of the policy is not in the data", field=name)
        col = batch.column(name)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        idx, dictionary = _encode_level0(col, hier.get(name), name)
        null_code = len(dictionary)
        codes.append(
            np.asarray(pc.fill_null(idx, null_code).to_numpy(zero_copy_only=False), dtype=np.int64)
        )
        dicts.append(dictionary)
        space *= null_code + 1
    if not names or space >= 1 << 62:
        cols0 = [_take_codes(dicts[j], codes[j]) for j in range(len(names))]
        return FrequencyTable.count(pa.table(cols0, names=names) if names else batch, names)
    key = np.zeros(batch.num_rows, dtype=np.int64)
    strides = []
    for j in range(len(names)):
        radix = len(dicts[j]) + 1
        key = key * radix + codes[j]
        strides.append(radix)
    # sort-based: high-cardinality hash group-bys are slower than one int64 sort
    keys, counts_np = np.unique(key, return_counts=True)
    cols: list[pa.Array] = []
    for j in reversed(range(len(names))):
        radix = strides[j]
        part = keys % radix
        keys = keys // radix
        cols.append(dict_column(dicts[j], part))
    cols.reverse()
    counts = pa.array(counts_np.astype(np.int64))
    return FrequencyTable(pa.table([*cols, counts], names=[*names, "count"]))


def count_table(batches: Iterable[pa.RecordBatch | pa.Table], policy: Policy) -> FrequencyTable:
    """``count_batch`` over many batches, merged."""
    tables = [count_batch(b, policy) for b in batches]
    if not tables:
        raise DataError("no input batches")
    return tables[0].merge(tables[1:]) if len(tables) > 1 else tables[0]


Class = tuple[str | None, ...]


@dataclass(frozen=True)
class Anonymization:
    """The chosen transformation: levels per QI, the approved and the suppressed classes.

    ``kept_classes`` is the allow-list: the generalized QI combinations the search
    approved (each met the privacy model in the count pass). ``generalize_batch``
    releases only records of these classes, so a record of any other class (one the
    count pass did not see) is dropped, never released below k. ``search`` always
    sets it; ``None`` (hand-built, e.g. to look at a generalization without
    suppression) falls back to dropping ``suppressed_classes`` only, and the release
    engine (``deid.transform``) refuses it. ``kept_sizes[i]`` is the number of
    records of ``kept_classes[i]`` the count pass saw: the executor checks that it
    released exactly these (else the source changed between the passes).
    """

    quasi_identifiers: tuple[str, ...]
    levels: dict[str, int]
    suppressed_classes: tuple[Class, ...]
    report: PrivacyReport
    policy_digest: str
    kept_classes: tuple[Class, ...] | None = None
    kept_sizes: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        kept = self.kept_classes
        return {
            "quasi_identifiers": list(self.quasi_identifiers),
            "levels": dict(self.levels),
            "suppressed_classes": [list(c) for c in self.suppressed_classes],
            "kept_classes": None if kept is None else [list(c) for c in kept],
            "kept_sizes": None if self.kept_sizes is None else list(self.kept_sizes),
            "report": self.report.to_dict(),
            "policy_digest": self.policy_digest,
        }

    @cached_property
    def _kept_index(self) -> _ClassIndex | None:
        """The allow-list encoded once (not per batch); None without an allow-list."""
        if self.kept_classes is None:
            return None
        return _ClassIndex(len(self.quasi_identifiers), self.kept_classes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Anonymization:
        try:
            return cls(
                quasi_identifiers=tuple(data["quasi_identifiers"]),
                levels={str(k): int(v) for k, v in data["levels"].items()},
                suppressed_classes=tuple(tuple(c) for c in data["suppressed_classes"]),
                report=PrivacyReport.from_dict(data["report"]),
                policy_digest=str(data["policy_digest"]),
                # required: an executor must not fall back to the deny-list silently
                kept_classes=(
                    None
                    if data["kept_classes"] is None
                    else tuple(tuple(c) for c in data["kept_classes"])
                ),
                kept_sizes=(
                    None
                    if data["kept_sizes"] is None
                    else tuple(int(n) for n in data["kept_sizes"])
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"not a serialized Anonymization: {exc}") from None


def _labels(p: Problem, ev: NodeEval, mask: npt.NDArray[np.bool_]) -> list[tuple[str | None, ...]]:
    cols = []
    for j, lv in enumerate(ev.levels):
        labels = p.mats[j].labels[lv]
        cols.append([labels[c] for c in ev.codes[j][mask].tolist()])
    return list(zip(*cols, strict=True)) if cols else ([()] if mask.any() else [])


def _report(
    p: Problem,
    ev: NodeEval,
    policy: Policy,
    stats: SearchStats | None,
    population: pa.Table | None = None,
) -> PrivacyReport:
    good = ~ev.bad
    kept = ev.sizes[good]
    n_out = int(kept.sum())
    data: dict[str, Any] = {
        "levels": {q: int(lv) for q, lv in zip(p.qi, ev.levels, strict=True)},
        "records_in": p.n_records,
        "records_out": n_out,
        "suppressed": ev.suppressed,
        "suppressed_share": ev.suppressed / p.n_records if p.n_records else 0.0,
        "max_suppressed": p.max_outliers,
        "k": int(kept.min()) if len(kept) else 0,
        "classes": int(good.sum()),
        "suppressed_classes": int(ev.bad.sum()),
        "class_size_histogram": class_size_histogram(kept),
        "info_loss": evaluate_metrics(ev.levels, p.costs, ev.sizes, ev.codes, ev.bad, p.n_records),
        "privacy": policy.privacy.to_dict(),
        "policy_digest": policy.digest(),
    }
    for name, vals in ev.model_values.items():
        if not len(vals[good]):
            continue
        if name.endswith("l-diversity") or name.startswith("recursive"):
            data["l"] = float(vals[good].min())
        elif name == "t-closeness":
            data["t"] = float(vals[good].max())
    risk: dict[str, Any] = {"prosecutor": prosecutor_risk(kept, policy.privacy.risk_threshold)}
    if population is not None:
        risk.update(_population_risk(p, ev, policy, population))
    data["risk"] = risk
    if stats is not None:
        data["search"] = {
            "lattice_size": stats.lattice_size,
            "checked": stats.checked,
            "seconds": round(stats.seconds, 6),
            "monotone": stats.monotone,
        }
    return PrivacyReport(data)


def _population_risk(
    p: Problem, ev: NodeEval, policy: Policy, population: pa.Table
) -> dict[str, Any]:
    names = list(p.qi)
    gen = []
    for j, name in enumerate(names):
        if name not in population.column_names:
            raise DataError(f"population table has no column {name!r}", field=name)
        gen.append(p.hierarchies[j].generalize(population[name], ev.levels[j]))
    pop = (
        pa.table(gen, names=names).group_by(names, use_threads=False).aggregate([([], "count_all")])
    )
    lookup = {tuple(r[n] for n in names): int(r["count_all"]) for r in pop.to_pylist()}
    good = ~ev.bad
    labels = _labels(p, ev, good)
    sizes = ev.sizes[good]
    pop_sizes = np.array([lookup.get(lab, 0) for lab in labels], dtype=np.int64)
    return population_risk(sizes, pop_sizes, policy.privacy.risk_threshold)


def search(
    freq: FrequencyTable,
    policy: Policy,
    *,
    population: pa.Table | None = None,
    levels: Mapping[str, int] | None = None,
    problem: Problem | None = None,
) -> Anonymization:
    """The optimal transformation for the policy; raises PrivacyTargetNotMet when none exists.

    ``levels`` fixes the node instead of searching it (the longitudinal search chooses
    the demographic levels jointly with the events); it must meet the privacy model.
    """
    p = problem if problem is not None else prepare(freq, policy)
    if levels is not None:
        node = tuple(int(levels[q]) for q in p.qi)
        ev = evaluate_node(p, node, decode=True)
        stats = SearchStats(lattice_size=1, checked=1)
        best, infeasible = (ev, []) if ev.feasible else (None, [ev])
    else:
        best, stats, infeasible = optimal_node(p, max_nodes=policy.privacy.max_lattice_nodes)
    if best is None:
        candidates = sorted(infeasible, key=lambda e: (e.suppressed, sum(e.levels)))[:5]
        needed = candidates[0].suppressed if candidates else None
        report = {
            "privacy": policy.privacy.to_dict(),
            "records_in": p.n_records,
            "max_suppressed": p.max_outliers,
            "lattice_size": stats.lattice_size,
            "checked": stats.checked,
            "best_nodes": [
                {
                    "levels": {q: int(lv) for q, lv in zip(p.qi, e.levels, strict=True)},
                    "suppressed": e.suppressed,
                    "suppression_needed": e.suppressed / p.n_records if p.n_records else 0.0,
                    "failing_classes": int(e.bad.sum()),
                }
                for e in candidates
            ],
        }
        raise PrivacyTargetNotMet(
            f"no generalization meets the privacy target: the best node found still needs "
            f"{needed} of {p.n_records} records suppressed, the limit allows {p.max_outliers}",
            report,
        )
    rep = _report(p, best, policy, stats, population)
    kept = sorted(
        zip(_labels(p, best, ~best.bad), best.sizes[~best.bad].tolist(), strict=True),
        key=lambda pair: _class_order(pair[0]),
    )
    return Anonymization(
        quasi_identifiers=p.qi,
        levels={q: int(lv) for q, lv in zip(p.qi, best.levels, strict=True)},
        suppressed_classes=tuple(_labels(p, best, best.bad)),
        report=rep,
        policy_digest=policy.digest(),
        kept_classes=tuple(c for c, _ in kept),
        kept_sizes=tuple(int(n) for _, n in kept),
    )


def _class_order(c: Class) -> tuple[tuple[bool, str], ...]:
    """A total order on classes (None last per position): canonical JSON."""
    return tuple((v is None, v or "") for v in c)


class _ClassIndex:
    """A set of classes as sorted packed int64 keys over per-QI label ids (built once).

    ``positions`` / ``mask`` match a batch's generalized (indices, labels) against it
    with one vectorized lookup per QI; when the packed key space would overflow int64
    (very many distinct labels), they fall back to slower exact matching.
    """

    def __init__(self, n_qi: int, classes: Sequence[Class]) -> None:
        self.classes = classes
        self.ids: list[dict[str | None, int]] = []
        space = 1
        for j in range(n_qi):
            ids: dict[str | None, int] = {}
            for c in classes:
                ids.setdefault(c[j], len(ids))
            self.ids.append(ids)
            space *= len(ids) + 1
        self.keys: npt.NDArray[np.int64] | None = None  # sorted
        self.order: npt.NDArray[np.int64] | None = None  # keys[i] is classes[order[i]]
        if space < 1 << 62:
            key = np.zeros(len(classes), dtype=np.int64)
            for j, ids in enumerate(self.ids):
                radix = len(ids) + 1
                key = key * radix + np.array([ids[c[j]] for c in classes], dtype=np.int64)
            self.order = np.argsort(key, kind="stable").astype(np.int64)
            self.keys = key[self.order]

    def mask(self, encoded: Sequence[tuple[pa.Array, pa.Array]], n: int) -> npt.NDArray[np.bool_]:
        """Rows whose generalized class is in the set."""
        if self.keys is None:
            return _suppressed_mask(encoded, self.classes, n)
        hit: npt.NDArray[np.bool_] = self.positions(encoded, n) >= 0
        return hit

    def positions(
        self, encoded: Sequence[tuple[pa.Array, pa.Array]], n: int
    ) -> npt.NDArray[np.int64]:
        """Per row, the index of its class in ``classes``, or -1 when not in the set."""
        if not self.classes:
            return np.full(n, -1, dtype=np.int64)
        if not encoded:
            return np.zeros(n, dtype=np.int64)  # the one class ()
        if self.keys is None or self.order is None:  # rare: match label tuples row by row
            lookup = {c: i for i, c in enumerate(self.classes)}
            cols = [labels.take(indices).to_pylist() for indices, labels in encoded]
            return np.array(
                [lookup.get(tuple(c[r] for c in cols), -1) for r in range(n)], dtype=np.int64
            )
        key = np.zeros(n, dtype=np.int64)
        valid = np.ones(n, dtype=bool)
        for (indices, labels), ids in zip(encoded, self.ids, strict=True):
            label_ids = np.array(
                [ids.get(v, -1) for v in labels.to_pylist()] + [ids.get(None, -1)], dtype=np.int64
            )
            idx = np.asarray(
                pc.fill_null(indices, len(labels)).to_numpy(zero_copy_only=False), dtype=np.int64
            )
            row_ids = label_ids[idx]
            valid &= row_ids >= 0
            key = key * (len(ids) + 1) + np.maximum(row_ids, 0)
        pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hit = valid & (self.keys[pos] == key)
        found: npt.NDArray[np.int64] = np.where(hit, self.order[pos], -1)
        return found


def released_class_sizes(
    batch: pa.RecordBatch | pa.Table, anonymization: Anonymization
) -> npt.NDArray[np.int64]:
    """Records per approved class (``kept_classes`` order) in a batch ``generalize_batch`` returned.

    Summed over the transform pass, this must equal ``kept_sizes`` (what the count pass
    saw); an executor checks it to detect a source that changed between the passes.
    A record of a class that is not approved raises ``DataError``.
    """
    index = anonymization._kept_index
    if index is None:
        raise DataError("the anonymization has no approved classes (kept_classes)")
    encoded: list[tuple[pa.Array, pa.Array]] = []
    for q in anonymization.quasi_identifiers:
        if q not in batch.schema.names:
            raise DataError(f"column {q!r} of the anonymization is not in the data", field=q)
        col = batch.column(q)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        enc = pc.dictionary_encode(col)
        encoded.append((enc.indices, enc.dictionary))
    pos = index.positions(encoded, batch.num_rows)
    outside = int((pos < 0).sum())
    if outside:
        raise DataError(f"{outside} records are of classes the search did not approve")
    sizes: npt.NDArray[np.int64] = np.bincount(pos, minlength=len(index.classes)).astype(np.int64)
    return sizes


def _suppressed_mask(
    encoded: Sequence[tuple[pa.Array, pa.Array]], classes: Sequence[Sequence[str | None]], n: int
) -> npt.NDArray[np.bool_]:
    """Rows whose generalized class is one of ``classes``; ``encoded`` = (indices, labels) per QI."""
    if not classes:
        return np.zeros(n, dtype=bool)
    if not encoded:
        return np.ones(n, dtype=bool)
    key = np.zeros(n, dtype=np.int64)
    valid = np.ones(n, dtype=bool)
    class_key = np.zeros(len(classes), dtype=np.int64)
    for j, (indices, labels) in enumerate(encoded):
        ids: dict[str | None, int] = {}
        for c in classes:
            ids.setdefault(c[j], len(ids))
        radix = len(ids) + 1
        # label id per label position, then per row (the last slot stands for null)
        label_ids = np.array(
            [ids.get(v, -1) for v in labels.to_pylist()] + [ids.get(None, -1)], dtype=np.int64
        )
        idx = np.asarray(
            pc.fill_null(indices, len(labels)).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        row_ids = label_ids[idx]
        valid &= row_ids >= 0
        if max(int(key.max(initial=0)), int(class_key.max(initial=0))) >= (1 << 62) // radix:
            # re-densify before the next digit would overflow (very many label combinations)
            _, inv = np.unique(np.concatenate([key, class_key]), return_inverse=True)
            key, class_key = inv[:n].astype(np.int64), inv[n:].astype(np.int64)
        key = key * radix + np.maximum(row_ids, 0)
        class_key = class_key * radix + np.array([ids[c[j]] for c in classes], dtype=np.int64)
    return valid & np.isin(key, class_key)


def generalize_batch(
    batch: pa.RecordBatch, policy: Policy, anonymization: Anonymization
) -> pa.RecordBatch:
    """QIs generalized to the chosen levels, unapproved records dropped, the rest untouched.

    A record is kept only if its generalized class is one the search approved
    (``anonymization.kept_classes``); records of suppressed classes and of classes
    the count pass never saw are dropped. Pure: same inputs, same output; column
    order and record order are kept.
    """
    hier = policy.hierarchies()
    if tuple(anonymization.quasi_identifiers) != tuple(policy.quasi_identifiers):
        raise DataError(
            f"anonymization is for QIs {list(anonymization.quasi_identifiers)}, "
            f"the policy has {list(policy.quasi_identifiers)}"
        )
    arrays = list(batch.columns)
    names = batch.schema.names
    encoded: list[tuple[pa.Array, pa.Array]] = []
    for q in anonymization.quasi_identifiers:
        if q not in names:
            raise DataError(f"column {q!r} of the policy is not in the data", field=q)
        i = names.index(q)
        try:
            enc = hier[q].generalize_encoded(arrays[i], anonymization.levels[q])
        except DataError as exc:
            raise DataError(exc.message, field=q) from None
        arrays[i] = enc[1].take(enc[0])
        encoded.append(enc)
    fields = [pa.field(n, pa.string()) if n in hier else batch.schema.field(n) for n in names]
    out = pa.RecordBatch.from_arrays(
        arrays, schema=pa.schema(fields, metadata=batch.schema.metadata)
    )
    index = anonymization._kept_index
    if index is not None:
        keep = index.mask(encoded, batch.num_rows)
        if not keep.all():
            out = out.filter(pa.array(keep))
        return out
    mask = _suppressed_mask(encoded, anonymization.suppressed_classes, batch.num_rows)
    if mask.any():
        out = out.filter(pa.array(~mask))
    return out


def anonymize_table(
    table: pa.Table, policy: Policy, *, population: pa.Table | None = None
) -> tuple[pa.Table, PrivacyReport]:
    """Count, search and generalize a whole table: (output table, report)."""
    freq = count_batch(table, policy)
    anon = search(freq, policy, population=population)
    batches = [generalize_batch(b, policy, anon) for b in table.to_batches()]
    if batches:
        out = pa.Table.from_batches(batches)
    else:
        out = table.cast(
            pa.schema(
                [
                    pa.field(n, pa.string()) if n in anon.levels else table.schema.field(n)
                    for n in table.column_names
                ]
            )
        )
    return out, anon.report


def measure_risk(
    table: pa.Table, policy: Policy, *, population: pa.Table | None = None
) -> PrivacyReport:
    """The privacy report of a table as it is (no generalization, no suppression)."""
    flat = {q: FlatHierarchy() for q in policy.quasi_identifiers}
    # the table's QI values are taken as they are: identity "hierarchies"
    names = _count_keys(policy)
    cols = []
    for name in names:
        if name not in table.column_names:
            raise DataError(f"column {name!r} of the policy is not in the data", field=name)
        cols.append(table[name])
    freq = FrequencyTable.count(pa.table(cols, names=names), names)
    p = prepare_flat(freq, policy, flat)
    ev = evaluate_node(p, tuple(0 for _ in p.qi), with_value=False, decode=True)
    failing_records, failing_classes = ev.suppressed, int(ev.bad.sum())
    ev.bad = np.zeros(len(ev.sizes), dtype=bool)
    ev.suppressed = 0
    data = _report(p, ev, policy, None, population).to_dict()
    data["max_suppressed"] = 0
    data["failing_records"] = failing_records
    data["failing_classes"] = failing_classes
    data["target_met"] = failing_records == 0
    data["info_loss"] = {}
    return PrivacyReport(data)


def prepare_flat(freq: FrequencyTable, policy: Policy, flat: Mapping[str, Hierarchy]) -> Problem:
    """A Problem whose QIs use identity hierarchies (values taken as they are)."""
    shim = _PolicyWithHierarchies(policy, flat)
    return prepare(freq, shim)  # type: ignore[arg-type]


class _PolicyWithHierarchies:
    """A policy view whose hierarchies are replaced (for measuring released data)."""

    def __init__(self, policy: Policy, hier: Mapping[str, Hierarchy]) -> None:
        self._policy = policy
        self._hier = dict(hier)

    def hierarchies(self) -> dict[str, Hierarchy]:
        return dict(self._hier)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._policy, name)
