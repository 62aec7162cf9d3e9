"""The anonymize API: count/merge/from_arrow, search, generalize_batch, serialisation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from deid.anonymize import (
    Anonymization,
    FrequencyTable,
    anonymize_table,
    count_batch,
    generalize_batch,
    search,
)
from deid.errors import DataError
from deid.policy import parse_policy


def _policy(**privacy: object) -> object:
    return parse_policy(
        {
            "columns": {
                "pid": {"role": "identifier", "transform": "pseudonymize", "domain": "person"},
                "age": {"role": "quasi", "hierarchy": {"type": "interval", "widths": [5, 10, 20]}},
                "sex": {"role": "quasi", "hierarchy": {"type": "flat"}},
                "dx": {"role": "sensitive"},
                "note": {"role": "text"},
            },
            "privacy": {"k": 3, "suppression_limit": 0.05, **privacy},
        },
        Path("."),
    )


def _table(n: int = 400, seed: int = 5) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "pid": [f"P{i:05d}" for i in range(n)],
            "age": rng.integers(0, 100, n),
            "sex": rng.choice(["M", "F"], n),
            "dx": rng.choice(["x", "y", "z"], n),
            "note": [f"note {i}" for i in range(n)],
        }
    )


def test_count_merge_and_from_arrow_agree() -> None:
    policy = _policy()
    t = _table()
    whole = count_batch(t, policy)
    parts = [count_batch(b, policy) for b in t.to_batches(max_chunksize=97)]
    merged = parts[0].merge(parts[1:])
    assert merged.total == whole.total == 400
    # a Spark-style group-by on raw values (ints) with a count column
    raw = (
        t.group_by(["age", "sex"])
        .aggregate([([], "count_all")])
        .rename_columns(["age", "sex", "count"])
    )
    spark = FrequencyTable.from_arrow(raw)
    assert (
        search(spark, policy).levels
        == search(whole, policy).levels
        == search(merged, policy).levels
    )


def test_generalize_batch_keeps_order_and_other_columns() -> None:
    policy = _policy()
    t = _table()
    anon = search(count_batch(t, policy), policy)
    batch = t.to_batches()[0]
    out = generalize_batch(batch, policy, anon)
    assert out.schema.names == batch.schema.names
    assert out.num_rows == t.num_rows - anon.report["suppressed"]
    kept = {p: i for i, p in enumerate(batch.column("pid").to_pylist())}
    idx = [kept[p] for p in out.column("pid").to_pylist()]
    assert idx == sorted(idx)  # order kept
    assert out.column("note").to_pylist() == [f"note {i}" for i in idx]  # untouched
    assert out.schema.field("age").type == pa.string()
    sizes = (
        pa.table(out)
        .group_by(["age", "sex"])
        .aggregate([([], "count_all")])["count_all"]
        .to_pylist()
    )
    assert min(sizes) >= 3
    # pure: same output again, and batch by batch equals all at once
    assert generalize_batch(batch, policy, anon).equals(out)
    pieces = pa.Table.from_batches(
        [generalize_batch(b, policy, anon) for b in t.to_batches(max_chunksize=50)]
    )
    assert pieces.equals(pa.Table.from_batches([out]))


def test_anonymization_round_trips_through_json() -> None:
    policy = _policy()
    anon = search(count_batch(_table(), policy), policy)
    again = Anonymization.from_dict(json.loads(json.dumps(anon.to_dict())))
    assert again == anon
    assert json.loads(anon.report.to_json())["levels"] == anon.levels
    assert "Equivalence classes" in anon.report.summary()
    with pytest.raises(DataError):
        Anonymization.from_dict({"levels": {}})


def test_report_fields() -> None:
    policy = _policy(l_diversity={"column": "dx", "l": 2}, t_closeness={"column": "dx", "t": 0.5})
    out, report = anonymize_table(_table(), policy)
    r = report.to_dict()
    for key in (
        "levels",
        "suppressed",
        "k",
        "classes",
        "class_size_histogram",
        "info_loss",
        "risk",
        "records_in",
        "records_out",
        "l",
        "t",
    ):
        assert key in r, key
    assert set(r["info_loss"]) == {
        "loss",
        "precision",
        "height",
        "discernibility",
        "non_uniform_entropy",
    }
    assert r["l"] >= 2
    assert r["t"] <= 0.5
    assert sum(int(v) for k, v in r["class_size_histogram"].items()) == r["classes"]
    assert r["records_out"] == out.num_rows


def test_missing_column_and_unknown_value_name_the_field() -> None:
    policy = _policy()
    with pytest.raises(DataError) as info:
        count_batch(_table().drop_columns(["sex"]), policy)
    assert info.value.field == "sex"
    bad = parse_policy(
        {
            "columns": {
                "c": {"role": "quasi", "hierarchy": {"type": "table", "rows": [["a", "*"]]}}
            },
            "privacy": {"k": 1},
        },
        Path("."),
    )
    with pytest.raises(DataError) as info:
        search(count_batch(pa.table({"c": ["a", "b"]}), bad), bad)
    assert info.value.field == "c"
    assert "'b'" in str(info.value)


def test_nulls_in_quasi_identifiers_are_a_value() -> None:
    policy = _policy(k=2, suppression_limit=0.0)
    t = pa.table(
        {
            "pid": ["1", "2", "3", "4"],
            "age": [30, None, None, 31],
            "sex": ["M", "F", "F", "M"],
            "dx": ["x"] * 4,
            "note": [""] * 4,
        }
    )
    out, report = anonymize_table(t, policy)
    assert report["k"] >= 2
    assert out.num_rows == 4


def test_wide_keys_fall_back_to_general_paths() -> None:
    # 5 QIs with thousands of distinct values each: packed keys would need > 62 bits
    from deid.search import prepare

    from .test_search import brute_force

    rng = np.random.default_rng(9)
    n = 5000
    cols = {f"q{j}": [f"v{x}" for x in rng.permutation(n)] for j in range(5)}
    cols["q0"] = [f"v{x % 3000}" for x in range(n)]
    table = pa.table(cols)
    policy = parse_policy(
        {
            "columns": {c: {"role": "quasi", "hierarchy": {"type": "flat"}} for c in cols},
            "privacy": {"k": 2, "suppression_limit": 0.0},
        },
        Path("."),
    )
    freq = count_batch(table, policy)
    assert freq.total == n
    again = FrequencyTable.from_arrow(pa.concat_tables([freq.table, freq.table]))
    assert again.total == 2 * n
    assert again.distinct == freq.distinct
    assert not prepare(freq, policy).packable
    anon = search(freq, policy)
    oracle = brute_force(table, policy)
    assert oracle is not None
    assert anon.report["info_loss"]["loss"] == pytest.approx(oracle[0])


def test_merge_of_very_wide_keys() -> None:
    rng = np.random.default_rng(4)
    n = 2000
    cols = {f"c{j}": [f"v{x}" for x in rng.permutation(n)] for j in range(6)}  # 2001**6 > 2**62
    counts = pa.table({**cols, "count": pa.array(np.ones(n, dtype=np.int64))})
    freq = FrequencyTable.from_arrow(pa.concat_tables([counts, counts]))
    assert freq.distinct == n
    assert freq.total == 2 * n
    assert set(freq.to_arrow()["count"].to_pylist()) == {2}
    back = {tuple(r[c] for c in cols) for r in freq.to_arrow().to_pylist()}
    assert back == set(zip(*cols.values(), strict=True))


def test_merge_batch_after_batch_combines_once_and_pickles() -> None:
    import pickle

    policy = _policy()
    t = _table()
    freq = None
    for b in t.to_batches(max_chunksize=40):
        part = count_batch(b, policy)
        freq = part if freq is None else freq.merge(part)
    assert freq is not None
    assert freq.total == t.num_rows  # before combining
    whole = count_batch(t, policy)
    assert sorted(freq.to_arrow().to_pylist(), key=str) == sorted(
        whole.to_arrow().to_pylist(), key=str
    )
    again = pickle.loads(pickle.dumps(freq))  # noqa: S301 - our own object
    assert again.distinct == whole.distinct
    assert again.total == t.num_rows


def _two_class_policy() -> object:
    return parse_policy(
        {
            "columns": {
                "pid": {"role": "identifier", "transform": "pseudonymize", "domain": "person"},
                "age": {"role": "quasi", "hierarchy": {"type": "interval", "widths": [10, 20]}},
                "sex": {"role": "quasi", "hierarchy": {"type": "flat"}},
            },
            "privacy": {"k": 3, "suppression_limit": 0.0},
        },
        Path("."),
    )


def test_generalize_batch_drops_records_of_classes_not_approved() -> None:
    """An allow-list: a record of a class the search never saw is dropped, even though
    the search suppressed nothing (a deny-list would have released it as a class of 1)."""
    policy = _two_class_policy()
    counted = pa.table({"pid": [f"P{i}" for i in range(10)], "age": [30] * 5 + [40] * 5})
    counted = counted.append_column("sex", pa.array(["M"] * 10))
    anon = search(count_batch(counted, policy), policy)
    assert anon.levels == {"age": 0, "sex": 0}
    assert anon.suppressed_classes == ()
    assert set(anon.kept_classes or ()) == {("30", "M"), ("40", "M")}
    later = pa.record_batch(
        {
            "pid": ["P0", "NEW1", "NEW2", "P9", "NEW3"],
            "age": [30, 87, 30, 40, None],
            "sex": ["M", "F", "F", "M", "M"],
        }
    )
    for a in (anon, Anonymization.from_dict(json.loads(json.dumps(anon.to_dict())))):
        out = generalize_batch(later, policy, a)
        assert out.column("pid").to_pylist() == ["P0", "P9"]
        assert out.column("age").to_pylist() == ["30", "40"]
    # nothing approved: nothing released
    none = Anonymization(
        anon.quasi_identifiers, anon.levels, (), anon.report, anon.policy_digest, ()
    )
    assert generalize_batch(later, policy, none).num_rows == 0


def test_allow_list_releases_the_same_records_as_the_deny_list_on_the_counted_data() -> None:
    from dataclasses import replace

    policy = _policy()
    t = _table(2000, seed=11)
    anon = search(count_batch(t, policy), policy)
    assert anon.suppressed_classes  # both lists matter here
    deny = replace(anon, kept_classes=None)
    for b in t.to_batches(max_chunksize=300):
        assert generalize_batch(b, policy, anon).equals(generalize_batch(b, policy, deny))


def test_serialized_anonymization_needs_its_approved_classes() -> None:
    policy = _policy()
    data = search(count_batch(_table(), policy), policy).to_dict()
    assert data["kept_classes"]
    del data["kept_classes"]
    with pytest.raises(DataError):
        Anonymization.from_dict(data)


def test_released_class_sizes_add_up_to_the_counted_sizes() -> None:
    from deid.anonymize import released_class_sizes

    policy = _policy()
    t = _table(2000, seed=11)
    anon = search(count_batch(t, policy), policy)
    assert anon.kept_classes is not None
    assert anon.kept_sizes is not None
    assert len(anon.kept_sizes) == len(anon.kept_classes) == anon.report["classes"]
    assert sum(anon.kept_sizes) == t.num_rows - anon.report["suppressed"]
    assert min(anon.kept_sizes) >= 3
    outs = [generalize_batch(b, policy, anon) for b in t.to_batches(max_chunksize=300)]
    total = sum(released_class_sizes(o, anon) for o in outs)
    assert total.tolist() == list(anon.kept_sizes)
    # a record of a class that is not approved is not a released record
    stray = (
        outs[0]
        .slice(0, 1)
        .set_column(outs[0].schema.get_field_index("sex"), "sex", pa.array(["X"]))
    )
    with pytest.raises(DataError, match="did not approve"):
        released_class_sizes(stray, anon)


def test_class_index_fallback_matches_the_packed_keys() -> None:
    """Very many labels (packed keys would overflow int64): exact row-by-row matching."""
    from deid.anonymize import _ClassIndex

    policy = _policy()
    t = _table(2000, seed=11)
    anon = search(count_batch(t, policy), policy)
    assert anon.kept_classes is not None
    out = pa.Table.from_batches([generalize_batch(b, policy, anon) for b in t.to_batches()])
    rows = pa.table(
        {
            "age": pa.array(["X", *out.column("age").to_pylist()[:50]]),
            "sex": pa.array(["M", *out.column("sex").to_pylist()[:50]]),
        }
    )
    encoded = []
    for q in anon.quasi_identifiers:
        enc = rows.column(q).combine_chunks().dictionary_encode()
        encoded.append((enc.indices, enc.dictionary))
    fast = _ClassIndex(2, anon.kept_classes)
    slow = _ClassIndex(2, anon.kept_classes)
    slow.keys = slow.order = None
    got = slow.positions(encoded, rows.num_rows)
    assert got.tolist() == fast.positions(encoded, rows.num_rows).tolist()
    assert got[0] == -1
    assert (got[1:] >= 0).all()
    assert slow.mask(encoded, rows.num_rows).tolist() == (got >= 0).tolist()
