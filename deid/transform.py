"""The transform pass: one pure function per Arrow record batch.

``transform_batch`` applies, in this order:

1. keep only records of persons kept in the anchor table (``keep_persons``);
2. anchor table: generalize quasi-identifiers to the node the search chose and drop
   suppressed records (the engine's ``generalize_batch``);
3. shift dates per patient (offset from the release key and the person pseudonym);
4. linked tables: generalize quasi-identifiers to the fixed hierarchy level their
   policy names (``options: {level: N}``), after the shift, so a month reflects the
   shifted date;
5. scrub free-text columns (the injected scrubber, with each row's shift);
6. drop identifiers marked ``drop``; pseudonymize those marked ``pseudonymize``
   with the key of their domain.

The function closes over no key material: it takes a :class:`~deid.keys.ReleaseKey`
or a :class:`~deid.keys.KeyRef`, which is loaded from the key store where the batch
runs (a Spark executor included). Everything else it needs travels in a
:class:`TableSpec` (no secrets, picklable).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from deid.dates import date_shift_days, shift_dates
from deid.errors import DataError, PolicyError
from deid.keys import RESERVED_DOMAIN_PREFIX, TEXT_DOMAIN, KeyRef, ReleaseKey
from deid.longitudinal.events import ReleaseEvents
from deid.pseudonym import pseudonymize

if TYPE_CHECKING:
    from deid.anonymize import Anonymization
    from deid.hierarchy import Hierarchy
    from deid.longitudinal.notes import NoteRules
    from deid.plan import ReleasePlan
    from deid.policy import Policy

__all__ = [
    "AnchorPersons",
    "PersonSet",
    "TableSpec",
    "TableTransformer",
    "TextScrubber",
    "check_columns",
    "column_classes",
    "finish_batch",
    "generalize_anchor",
    "kept_persons",
    "transform_batch",
]

_ROW = "__deid_row__"


class TextScrubber(Protocol):
    """Scrubs one text column of a batch.

    ``shift_days`` (int32 per row, or None) is each row's patient date shift, to shift
    dates found in the text; ``key`` is the release's text-domain key for keyed
    surrogate tags; ``column`` names the column (for errors); ``langs`` is each row's
    language (``ko``/``en``/``mixed``) when the policy names a ``lang_column`` option.
    A release with a longitudinal model also passes ``rules``
    (:class:`~deid.longitudinal.notes.NoteRules`: no quasi-identifier in text finer
    than the tables).
    """

    def __call__(
        self,
        texts: pa.Array,
        *,
        shift_days: pa.Array | None,
        key: bytes,
        column: str,
        langs: pa.Array | None = None,
        rules: NoteRules | None = None,
    ) -> pa.Array: ...


class PersonSet:
    """The persons kept in the anchor table (raw link values), for fast membership."""

    def __init__(self, values: pa.Array | pa.ChunkedArray) -> None:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
        values = values.drop_null()
        self.type = values.type
        self._ints: np.ndarray[Any, np.dtype[np.int64]] | None = None
        self._values: pa.Array | None = None
        if pa.types.is_integer(values.type):
            self._ints = np.unique(values.to_numpy(zero_copy_only=False).astype(np.int64))
        else:
            self._values = pc.unique(values)

    def __len__(self) -> int:
        return len(self._ints) if self._ints is not None else len(self._values or [])

    def __repr__(self) -> str:
        return f"PersonSet({len(self)} persons, type={self.type})"

    def contains(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """A boolean mask: True where the value is a kept person (null -> False)."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
        if self._ints is not None:
            if not pa.types.is_integer(values.type):
                raise DataError(
                    f"link column has type {values.type}; expected integers like the anchor table"
                )
            ints, valid = _int_ids(values)
            hit = _in_sorted(self._ints, ints)
            if valid is not None:
                hit &= valid  # a null is no person (not a sentinel id that could exist)
            return pa.array(hit, pa.bool_())
        assert self._values is not None
        return pc.fill_null(pc.is_in(values, value_set=self._values), False)

    @classmethod
    def union(cls, parts: list[pa.Array]) -> PersonSet:
        if not parts:
            return cls(pa.array([], pa.int64()))
        return cls(pa.chunked_array(parts))


IntArray = np.ndarray[Any, np.dtype[np.int64]]


def _int_ids(values: pa.Array | pa.ChunkedArray) -> tuple[IntArray, np.ndarray[Any, Any] | None]:
    """(int64 values, validity mask or None) of an integer link column."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if not pa.types.is_integer(values.type):
        raise DataError(
            f"link column has type {values.type}; expected integers like the anchor table"
        )
    valid = None
    if values.null_count:
        valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        values = pc.fill_null(values, 0)
    ints = np.asarray(values.to_numpy(zero_copy_only=False)).astype(np.int64, copy=False)
    return ints, valid


def _in_sorted(sorted_ids: IntArray, values: IntArray) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Membership of ``values`` in a sorted, deduplicated array (vectorized)."""
    if not len(sorted_ids):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    hit: np.ndarray[Any, np.dtype[np.bool_]] = sorted_ids[pos] == values
    return hit


class _IdCoverage:
    """The distinct integer ids seen, exact and compact.

    A bitmap over the id range (1 bit per possible id: 1.25 MB for 10 M persons with
    dense ids, whatever the number of rows), or, when the ids are so sparse that the
    bitmap would be larger than 8 bytes per id, a sorted array of the distinct ids
    (appended parts merged when they outgrow the merged array).
    """

    MIN_BITMAP_BYTES = 16 << 20

    def __init__(self) -> None:
        self._lo = 0
        self._bits: np.ndarray[Any, np.dtype[np.uint8]] | None = None  # bitmap mode
        self._sorted: IntArray | None = None  # sorted-array mode
        self._parts: list[IntArray] = []
        self._pending = 0

    def __len__(self) -> int:
        if self._bits is not None:
            return int(np.bitwise_count(self._bits).sum())
        self._merge()
        return len(self._sorted) if self._sorted is not None else 0

    def nbytes(self) -> int:
        if self._bits is not None:
            return int(self._bits.nbytes)
        held = [*self._parts, *([] if self._sorted is None else [self._sorted])]
        return sum(int(p.nbytes) for p in held)

    def add(self, ids: IntArray) -> None:
        """Add sorted distinct ids."""
        if not len(ids):
            return
        if self._sorted is not None or self._parts:
            self._parts.append(ids)
            self._pending += len(ids)
            if self._sorted is None or self._pending >= len(self._sorted):
                self._merge()
            return
        lo, hi = int(ids[0]), int(ids[-1])
        if self._bits is None:
            new_lo, new_hi = lo, hi
        else:
            cur_hi = self._lo + 8 * len(self._bits) - 1
            new_lo, new_hi = min(lo, self._lo), max(hi, cur_hi)
        new_lo -= new_lo % 8
        span = new_hi - new_lo + 1
        if self._bits is None or new_lo < self._lo or new_hi > self._lo + 8 * len(self._bits) - 1:
            distinct = len(self) + len(ids)
            if span // 8 > max(self.MIN_BITMAP_BYTES, 8 * distinct):
                self._to_sorted()
                self.add(ids)
                return
            if self._bits is not None:  # grow geometrically to the side that overflowed
                extra = max(span - 8 * len(self._bits), len(self._bits) * 4)
                if new_lo < self._lo:
                    new_lo = max(new_lo - extra, -(2**63) + 8)
                    new_lo -= new_lo % 8
                else:
                    new_hi = new_hi + extra
                span = new_hi - new_lo + 1
            bits = np.zeros((span + 7) // 8, dtype=np.uint8)
            if self._bits is not None:
                start = (self._lo - new_lo) // 8
                bits[start : start + len(self._bits)] = self._bits
            self._bits, self._lo = bits, new_lo
        off = ids - self._lo
        byte = off >> 3
        bit = np.left_shift(np.uint8(1), (off & 7).astype(np.uint8))
        starts = np.flatnonzero(np.diff(byte, prepend=byte[0] - 1))
        assert self._bits is not None
        self._bits[byte[starts]] |= np.bitwise_or.reduceat(bit, starts)

    def contains(self, values: IntArray) -> np.ndarray[Any, np.dtype[np.bool_]]:
        if self._bits is not None:
            hi = self._lo + 8 * len(self._bits) - 1
            inside = (values >= self._lo) & (values <= hi)
            off = np.where(inside, values - self._lo, 0)
            hit = (self._bits[off >> 3] >> (off & 7).astype(np.uint8)) & 1
            result: np.ndarray[Any, np.dtype[np.bool_]] = inside & hit.astype(bool)
            return result
        self._merge()
        return _in_sorted(self._sorted if self._sorted is not None else _EMPTY, values)

    def _to_sorted(self) -> None:
        if self._bits is not None:
            found = np.flatnonzero(np.unpackbits(self._bits, bitorder="little"))
            self._sorted = found.astype(np.int64) + self._lo
            self._bits = None
        elif self._sorted is None:
            self._sorted = _EMPTY

    def _merge(self) -> None:
        if self._parts:
            base = [self._sorted] if self._sorted is not None else []
            self._sorted = np.unique(np.concatenate([*base, *self._parts]))
            self._parts, self._pending = [], 0


_EMPTY: IntArray = np.zeros(0, dtype=np.int64)


class AnchorPersons:
    """Which persons' linked records a release keeps, built while the anchor streams by.

    A linked record is kept iff its person has at least one anchor record that
    survives suppression (the same rule as a :class:`PersonSet` of kept persons:
    persons absent from the anchor, and null links, are dropped). Held as the
    distinct anchor persons (:class:`_IdCoverage`: a bitmap over the id range, not
    8 bytes per row) minus the persons whose every anchor record was suppressed (a
    sorted int64 array: at most the suppression limit times the anchor rows, usually
    far fewer). Non-integer person ids fall back to an exact :class:`PersonSet` of
    the kept persons (deduplicated per batch).

    Feed every anchor batch in any order with :meth:`add`; then use :meth:`contains`.
    """

    def __init__(self) -> None:
        self._seen = _IdCoverage()
        self._suppressed: IntArray = _EMPTY
        self._other: list[pa.Array] | None = None  # non-integer ids: kept values
        self._set: PersonSet | None = None
        self._type: pa.DataType | None = None

    @staticmethod
    def batch_ids(
        ids: pa.Array | pa.ChunkedArray, kept: pa.Array | pa.ChunkedArray
    ) -> tuple[Any, Any]:
        """Per-batch, thread-safe part of :meth:`add`: distinct (all, kept) ids."""
        if pa.types.is_integer(ids.type):
            all_ints, valid = _int_ids(ids)
            kept_ints, kvalid = _int_ids(kept)
            return (
                np.unique(all_ints if valid is None else all_ints[valid]),
                np.unique(kept_ints if kvalid is None else kept_ints[kvalid]),
            )
        if isinstance(kept, pa.ChunkedArray):
            kept = kept.combine_chunks() if kept.num_chunks else pa.array([], kept.type)
        return None, pc.unique(kept.drop_null())

    def add(self, ids: pa.Array | pa.ChunkedArray, kept: pa.Array | pa.ChunkedArray) -> None:
        """One anchor batch: ``ids`` its link column, ``kept`` the link column after suppression."""
        self.add_distinct(ids.type, *self.batch_ids(ids, kept))

    def add_distinct(self, type_: pa.DataType, all_ids: Any, kept_ids: Any) -> None:
        """:meth:`add` with the output of :meth:`batch_ids` (in the consuming thread)."""
        if self._type is None:
            self._type = type_
        if all_ids is None:
            if self._other is None:
                if len(self._seen):
                    raise DataError(f"link column has type {type_}; earlier batches had integers")
                self._other = []
            self._other.append(kept_ids)
            self._set = None
            return
        if self._other is not None:
            raise DataError(f"link column has type {type_}; earlier batches had other ids")
        all_ids = np.asarray(all_ids, dtype=np.int64)
        kept_ids = np.asarray(kept_ids, dtype=np.int64)
        suppressed = np.setdiff1d(all_ids, kept_ids, assume_unique=True)
        if len(self._suppressed) and len(kept_ids):
            # a person suppressed earlier but kept here is kept
            self._suppressed = self._suppressed[~_in_sorted(kept_ids, self._suppressed)]
        if len(suppressed):
            # a person seen earlier and not in the suppressed set had a kept record
            new = suppressed[~self._seen.contains(suppressed)]
            if len(new):
                self._suppressed = np.union1d(self._suppressed, new)
        self._seen.add(all_ids)

    def __len__(self) -> int:
        """Distinct persons kept (with at least one released anchor record)."""
        if self._other is not None:
            return len(self._person_set())
        return len(self._seen) - len(self._suppressed)

    def __repr__(self) -> str:
        return f"AnchorPersons({len(self)} persons kept, {len(self._suppressed)} suppressed)"

    @property
    def suppressed(self) -> IntArray:
        """Sorted distinct ids of the anchor persons with no released record."""
        return self._suppressed

    def nbytes(self) -> int:
        """Memory held (bytes), for benchmarks."""
        return self._seen.nbytes() + int(self._suppressed.nbytes)

    def _person_set(self) -> PersonSet:
        if self._set is None:
            parts = self._other or []
            self._set = PersonSet.union(parts) if parts else PersonSet(pa.array([], self._type))
        return self._set

    def contains(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """A boolean mask: True where the value is a kept person (null -> False)."""
        if self._other is not None:
            return self._person_set().contains(values)
        ints, valid = _int_ids(values)
        hit = self._seen.contains(ints)
        if len(self._suppressed):
            hit &= ~_in_sorted(self._suppressed, ints)
        if valid is not None:
            hit &= valid
        return pa.array(hit, pa.bool_())


@dataclass(frozen=True)
class TableSpec:
    """What the transform needs to know about one table of a release (no secrets)."""

    name: str
    policy: Policy
    link_column: str | None
    person_domain: str = "person"
    is_anchor: bool = False
    date_shift_max_days: int | None = None
    date_shift_allow_zero: bool = False
    _hierarchies: dict[str, Hierarchy] = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )

    def hierarchy(self, column: str) -> Hierarchy:
        """The column's hierarchy, built once per table spec."""
        if column not in self._hierarchies:
            self._hierarchies[column] = self.policy.columns[column].build_hierarchy()
        return self._hierarchies[column]

    @classmethod
    def from_plan(cls, plan: ReleasePlan, table: str) -> TableSpec:
        tp = plan.table(table)
        return cls(
            name=tp.name,
            policy=tp.policy(),
            link_column=plan.link_column,
            person_domain=plan.person_domain,
            is_anchor=tp.name == plan.anchor,
            date_shift_max_days=plan.date_shift_max_days,
            date_shift_allow_zero=plan.date_shift_allow_zero,
        )


def _col_attr(spec: Any, name: str, default: Any = None) -> Any:
    return getattr(spec, name, default)


def _options(spec: Any) -> Mapping[str, Any]:
    opts = _col_attr(spec, "options")
    return opts if isinstance(opts, Mapping) else {}


def _domain(name: str, spec: Any) -> str:
    domain = _col_attr(spec, "domain") or name
    if not isinstance(domain, str):
        raise PolicyError(f"columns.{name}.domain", f"expected a string, got {domain!r}")
    if domain.startswith(RESERVED_DOMAIN_PREFIX):
        raise PolicyError(
            f"columns.{name}.domain",
            f"domains starting with {RESERVED_DOMAIN_PREFIX!r} are reserved",
        )
    return domain


def _wants_date_shift(spec: Any) -> bool:
    value = _col_attr(spec, "date_shift", False)
    if isinstance(value, Mapping):
        return bool(value.get("enabled", True))
    return bool(value)


def _fixed_level(name: str, spec: Any) -> int | None:
    for source in (_col_attr(spec, "level"), _options(spec).get("level")):
        if source is not None:
            if isinstance(source, bool) or not isinstance(source, int) or source < 0:
                raise PolicyError(f"columns.{name}.level", f"expected a level >= 0, got {source!r}")
            return source
    return None


def _check_columns(batch: pa.RecordBatch, spec: TableSpec) -> None:
    policy_cols = spec.policy.columns
    unknown = [c for c in batch.schema.names if c not in policy_cols]
    if unknown:
        raise DataError(
            f"table {spec.name!r}: columns {unknown} have no role in the policy; every "
            "column of a release needs one (identifier, quasi, sensitive, insensitive or text)",
            field=unknown[0],
        )


def check_columns(batch: pa.RecordBatch, spec: TableSpec) -> None:
    """Every column of ``batch`` must have a role in the table's policy (else DataError)."""
    _check_columns(batch, spec)


def generalize_anchor(
    batch: pa.RecordBatch, spec: TableSpec, anonymization: Anonymization | None
) -> pa.RecordBatch:
    """Generalize to the chosen node and drop suppressed records (the engine's function).

    Rows are tracked by a row-number column so that columns the engine does not touch
    (identifiers, text) come back from the input unchanged.
    """
    if anonymization is None:
        raise PolicyError(
            f"tables.{spec.name}", "the anchor table needs the search's anonymization; got None"
        )
    if anonymization.kept_classes is None:
        # without the allow-list, a record the count pass never saw would go out unchecked
        raise PolicyError(
            f"tables.{spec.name}",
            "the anonymization has no approved classes (kept_classes); expected one from search()",
        )
    from deid.anonymize import generalize_batch

    quasi = [n for n, c in spec.policy.columns.items() if _col_attr(c, "role") == "quasi"]
    rows = pa.array(np.arange(batch.num_rows, dtype=np.int64))
    tagged = batch.append_column(_ROW, rows)
    out = generalize_batch(tagged, spec.policy, anonymization)
    if _ROW not in out.schema.names:
        raise AssertionError("generalize_batch dropped the row-number column")
    kept = out.column(_ROW)
    base = batch.take(kept)
    arrays = []
    for name in batch.schema.names:
        if name in quasi and name in out.schema.names:
            arrays.append(out.column(name))
        else:
            arrays.append(base.column(batch.schema.get_field_index(name)))
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def kept_persons(
    batch: pa.RecordBatch, *, table_policy: TableSpec, anonymization: Anonymization
) -> pa.Array:
    """Link values (raw person ids) of the anchor records that survive suppression.

    The union over all anchor batches is the :class:`PersonSet` for linked tables
    (executors: collect these per partition, then ``PersonSet.union``).
    """
    spec = table_policy
    link = spec.link_column
    if link is None or link not in batch.schema.names:
        raise DataError(f"table {spec.name!r}: the link column is missing", field=link)
    _check_columns(batch, spec)
    out = generalize_anchor(batch, spec, anonymization)
    column: pa.Array = out.column(out.schema.get_field_index(link))
    return column


def _generalize_fixed(
    batch: pa.RecordBatch, spec: TableSpec, levels: Mapping[str, int] | None = None
) -> pa.RecordBatch:
    """Generalize quasi-identifiers of a linked table to their level.

    ``levels``: the longitudinal search's levels for an event table's known columns;
    otherwise the policy's fixed level.
    """
    for name, col in spec.policy.columns.items():
        if _col_attr(col, "role") != "quasi" or name not in batch.schema.names:
            continue
        searched = levels is not None and name in levels
        level = levels[name] if levels is not None and searched else _fixed_level(name, col)
        if level is None:
            raise PolicyError(
                f"tables.{spec.name}.columns.{name}.level",
                "a quasi-identifier outside the anchor table needs a fixed generalization level",
            )
        hierarchy = spec.hierarchy(name)
        if level == 0 and not searched and not hierarchy.leaf_coarsens:
            continue  # level 0 is the value itself (a searched level 0 is its leaf)
        idx = batch.schema.get_field_index(name)
        generalized = hierarchy.generalize(batch.column(idx), level)
        batch = batch.set_column(idx, name, generalized)
    return batch


def _release_key(keys: ReleaseKey | KeyRef) -> ReleaseKey:
    return keys.load() if isinstance(keys, KeyRef) else keys


def transform_batch(
    batch: pa.RecordBatch,
    *,
    table_policy: TableSpec,
    anonymization: Anonymization | None,
    keys: ReleaseKey | KeyRef,
    text_scrubber: TextScrubber | None = None,
    keep_persons: PersonSet | AnchorPersons | None = None,
    events: ReleaseEvents | None = None,
) -> pa.RecordBatch:
    """De-identify one batch of one table of a release (pure; see the module docstring).

    ``events`` (a release with a longitudinal model): event tables take the searched
    levels and lose their suppressed rows; tables that follow an event table lose the
    rows of suppressed events; notes render dates at the release's date level.

    Anchor table: suppress + generalize (searched node), then shift dates. Linked
    tables: keep persons kept in the anchor, shift dates, then generalize to the fixed
    level (so a month reflects the shifted date). Then text, then identifiers.
    """
    spec = table_policy
    _check_columns(batch, spec)
    key = _release_key(keys)
    link = spec.link_column
    if keep_persons is not None and link is not None:
        if link not in batch.schema.names:
            raise DataError(f"table {spec.name!r}: the link column is missing", field=link)
        batch = batch.filter(keep_persons.contains(batch.column(link)))
    if events is not None and not spec.is_anchor:
        keep_rows = events.drop_mask(batch, spec.name)
        if keep_rows is not None:
            batch = batch.filter(keep_rows)
    if spec.is_anchor:
        batch = generalize_anchor(batch, spec, anonymization)
    return finish_batch(batch, spec=spec, key=key, text_scrubber=text_scrubber, events=events)


def finish_batch(
    batch: pa.RecordBatch,
    *,
    spec: TableSpec,
    key: ReleaseKey,
    text_scrubber: TextScrubber | None = None,
    events: ReleaseEvents | None = None,
) -> pa.RecordBatch:
    """The steps after row selection (and the anchor's generalization), the same for every
    executor: shift dates per patient, generalize a linked table's quasi-identifiers to
    their level (after the shift, so a month reflects the shifted date), scrub text,
    pseudonymize identifiers. The local executor calls it on the anchor batch it has just
    generalized (it counts the released classes in between); :func:`transform_batch` is
    the whole composition."""
    shift = patient_shifts(batch, spec=spec, key=key)
    batch = _shift_columns(batch, spec, shift)
    if not spec.is_anchor:
        batch = _generalize_fixed(batch, spec, events.levels_for(spec.name) if events else None)
    return protect_batch(
        batch,
        spec=spec,
        key=key,
        text_scrubber=text_scrubber,
        shift=shift,
        rules=events.notes if events is not None else None,
    )


def patient_shifts(batch: pa.RecordBatch, *, spec: TableSpec, key: ReleaseKey) -> pa.Array | None:
    """Each row's patient date shift in days (int32), or None if the table needs none."""
    present = [c for n, c in spec.policy.columns.items() if n in batch.schema.names]
    needed = any(_wants_date_shift(c) or _col_attr(c, "role") == "text" for c in present)
    if not needed or spec.date_shift_max_days is None:
        return None
    link = spec.link_column
    if link is None or link not in batch.schema.names:
        raise DataError(
            f"table {spec.name!r}: date shifting needs the link column {link!r} in the batch",
            field=link,
        )
    # One HMAC per distinct patient of the batch, not per row.
    encoded = _dictionary(batch.column(link))
    person_pseudonyms = pseudonymize(
        encoded.dictionary, key.domain_key(spec.person_domain), field=link
    )
    shifts = date_shift_days(
        person_pseudonyms,
        key,
        max_days=spec.date_shift_max_days,
        allow_zero=spec.date_shift_allow_zero,
    )
    return shifts.take(encoded.indices)


def _dictionary(values: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if pa.types.is_dictionary(values.type):
        return values
    encoded: pa.DictionaryArray = pc.dictionary_encode(values)
    return encoded


def _pseudonymize_column(arr: pa.Array, key: bytes, *, name: str, dedupe: bool) -> pa.Array:
    """Pseudonyms of a column; ``dedupe`` hashes each distinct value once (patient ids)."""
    if not dedupe:
        return pseudonymize(arr, key, field=name)
    encoded = _dictionary(arr)
    return pseudonymize(encoded.dictionary, key, field=name).take(encoded.indices)


def _shift_columns(
    batch: pa.RecordBatch, spec: TableSpec, shift: pa.Array | None
) -> pa.RecordBatch:
    for name, col in spec.policy.columns.items():
        if name not in batch.schema.names or not _wants_date_shift(col):
            continue
        if shift is None:
            raise PolicyError(
                f"tables.{spec.name}.columns.{name}.date_shift",
                "date shifting is on but the release has no date_shift.max_days",
            )
        if _col_attr(col, "role") == "quasi" and spec.is_anchor:
            raise PolicyError(
                f"tables.{spec.name}.columns.{name}.date_shift",
                "a quasi-identifier of the anchor table cannot be date-shifted (its "
                "generalization is searched on the unshifted values)",
            )
        idx = batch.schema.get_field_index(name)
        batch = batch.set_column(idx, name, shift_dates(batch.column(idx), shift, field=name))
    return batch


def protect_batch(
    batch: pa.RecordBatch,
    *,
    spec: TableSpec,
    key: ReleaseKey,
    text_scrubber: TextScrubber | None = None,
    shift: pa.Array | None = None,
    rules: NoteRules | None = None,
) -> pa.RecordBatch:
    """Scrub text columns, drop and pseudonymize identifiers; other columns pass.

    ``rules`` (a release with a longitudinal model): dates in text no finer than the
    tables (``month``, ``quarter``, ``year`` ...), no exact age, sex words when sex is
    generalized, tags without identity.
    """
    columns = spec.policy.columns
    names: list[str] = []
    arrays: list[pa.Array] = []
    for name in batch.schema.names:
        col = columns[name]
        role = _col_attr(col, "role")
        arr = batch.column(batch.schema.get_field_index(name))
        if role == "identifier":
            action = _col_attr(col, "transform", "drop")
            if action == "drop":
                continue
            if action != "pseudonymize":
                raise PolicyError(
                    f"columns.{name}.transform", f"expected drop or pseudonymize, got {action!r}"
                )
            arr = _pseudonymize_column(
                arr, key.domain_key(_domain(name, col)), name=name, dedupe=name == spec.link_column
            )
        elif role == "text":
            if _col_attr(col, "transform") == "drop":
                continue
            if text_scrubber is None:
                raise PolicyError(
                    f"tables.{spec.name}.columns.{name}",
                    "a text column needs the PHI scrubber, and none was given; leave the "
                    "column out of the policy (and the query) to release no text",
                )
            lang_col = _options(col).get("lang_column")
            langs = None
            if isinstance(lang_col, str) and lang_col in batch.schema.names:
                langs = batch.column(batch.schema.get_field_index(lang_col))
            extra: dict[str, Any] = {} if rules is None else {"rules": rules}
            arr = text_scrubber(
                arr,
                shift_days=shift,
                key=key.domain_key(TEXT_DOMAIN),
                column=name,
                langs=langs,
                **extra,
            )
        names.append(name)
        arrays.append(arr)
    if not arrays:
        raise PolicyError(f"tables.{spec.name}", "the policy drops every column")
    return pa.RecordBatch.from_arrays(arrays, names=names)


def column_classes(
    spec: TableSpec,
    anonymization: Anonymization | None = None,
    *,
    events: ReleaseEvents | None = None,
) -> dict[str, dict[str, Any]]:
    """Each released column's de-identification class, for the manifest."""
    levels: Mapping[str, Any] = {}
    if anonymization is not None and spec.is_anchor:
        try:
            levels = dict(anonymization.to_dict().get("levels", {}))
        except AttributeError:  # pragma: no cover - contract: Anonymization.to_dict()
            levels = {}
    searched = events.levels_for(spec.name) if events is not None else None
    out: dict[str, dict[str, Any]] = {}
    for name, col in spec.policy.columns.items():
        role = _col_attr(col, "role")
        action = _col_attr(col, "transform")
        if role == "identifier":
            if action == "drop":
                continue
            out[name] = {"class": "pseudonymized", "domain": _domain(name, col)}
        elif role == "text":
            if action == "drop":
                continue
            out[name] = {"class": "scrubbed_text"}
        elif role == "quasi":
            if spec.is_anchor:
                level = levels.get(name)
            elif searched is not None and name in searched:
                level = searched[name]
            else:
                level = _fixed_level(name, col)
            entry: dict[str, Any] = {"class": "generalized", "level": level}
            if searched is not None and name in searched:
                entry["event_column"] = True
            if _wants_date_shift(col):
                entry["date_shifted"] = True
            out[name] = entry
        else:
            entry = {"class": str(role)}
            if _wants_date_shift(col):
                entry["date_shifted"] = True
            out[name] = entry
    return out


@dataclass(frozen=True)
class TableTransformer:
    """A picklable batch function for Spark's ``mapInArrow`` (no key material inside).

    Holds the plan JSON, the table name, the anonymization as a dict, a key reference
    and the kept persons; parses the policy and loads the key where it runs.
    """

    plan_json: str
    table: str
    anonymization_json: str | None
    key_ref: KeyRef
    keep_persons: PersonSet | AnchorPersons | None = None
    scrubber_factory: Callable[[], TextScrubber] | None = None
    #: the longitudinal decisions (``ReleaseEvents.to_json``) for a linked table
    events_json: str | None = None

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        spec, anonymization = _spec_for(self.plan_json, self.table, self.anonymization_json)
        events = _events_for(self.events_json) if self.events_json is not None else None
        scrubber = self.scrubber_factory() if self.scrubber_factory is not None else None
        if scrubber is None and spec.policy.text_columns:
            from deid.text.adapter import default_text_scrubber

            scrubber = default_text_scrubber()
        for batch in batches:
            yield transform_batch(
                batch,
                table_policy=spec,
                anonymization=anonymization,
                keys=self.key_ref,
                text_scrubber=scrubber,
                keep_persons=self.keep_persons,
                events=events,
            )


@lru_cache(maxsize=8)
def _events_for(events_json: str) -> ReleaseEvents:
    return ReleaseEvents.from_dict(json.loads(events_json))


@lru_cache(maxsize=32)
def _spec_for(
    plan_json: str, table: str, anonymization_json: str | None
) -> tuple[TableSpec, Anonymization | None]:
    from deid.plan import ReleasePlan

    plan = ReleasePlan.from_json(plan_json)
    spec = TableSpec.from_plan(plan, table)
    anonymization = None
    if anonymization_json is not None:
        from deid.anonymize import Anonymization

        anonymization = Anonymization.from_dict(json.loads(anonymization_json))
    return spec, anonymization
