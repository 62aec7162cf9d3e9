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
from deid.persons import AnchorPersons, PersonSet
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
