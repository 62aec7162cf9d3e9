"""Release plans: immutable, canonical JSON, stable digest, no secrets, clear errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from deid.errors import PolicyError
from deid.plan import ReleasePlan, compile_plan, load_release_spec, redact_url

ROOT = Path(__file__).resolve().parents[2]
DEMO_SPEC = ROOT / "fixtures" / "policies" / "demo_release.yaml"

SPEC = {
    "release": {"anchor": "person", "link_column": "person_id", "date_shift": {"max_days": 20}},
    "tables": {
        "person": {
            "table": "person",
            "policy": {
                "columns": {
                    "person_id": {
                        "role": "identifier",
                        "transform": "pseudonymize",
                        "domain": "person",
                    },
                    "rrn": {"role": "identifier", "transform": "drop"},
                    "year_of_birth": {
                        "role": "quasi",
                        "hierarchy": {"type": "interval", "width": 5},
                    },
                },
                "privacy": {"k": 5, "suppression_limit": 0.05},
            },
        },
        "visit_occurrence": {
            "policy": {
                "columns": {
                    "person_id": {
                        "role": "identifier",
                        "transform": "pseudonymize",
                        "domain": "person",
                    }
                }
            },
        },
    },
}


def make(**overrides: object) -> ReleasePlan:
    kwargs: dict = {
        "release_id": "rel-1",
        "recipient_org_id": "org-7",
        "key_id": "rk_" + "0" * 32,
        "source": "postgresql://cdw:s3cret@db.local/cdw",
        "created_at": "2026-01-01T00:00:00+00:00",
        "base_dir": "/tmp",
        "validate": False,
    }
    kwargs.update(overrides)
    return compile_plan(SPEC, **kwargs)


def test_round_trip_and_digest_are_stable() -> None:
    plan = make()
    again = ReleasePlan.from_json(plan.to_json())
    assert again == plan
    assert again.digest() == plan.digest()
    assert len(plan.digest()) == 64
    # Key order in the spec does not change the digest.
    spec2 = json.loads(json.dumps(SPEC))
    spec2["tables"]["person"]["policy"] = dict(
        reversed(list(spec2["tables"]["person"]["policy"].items()))
    )
    plan2 = compile_plan(
        spec2,
        release_id="rel-1",
        recipient_org_id="org-7",
        key_id="rk_" + "0" * 32,
        source="postgresql://cdw:s3cret@db.local/cdw",
        created_at="2026-01-01T00:00:00+00:00",
        base_dir="/tmp",
        validate=False,
    )
    assert plan2.digest() == plan.digest()


def test_digest_changes_with_any_field() -> None:
    base = make().digest()
    assert make(recipient_org_id="org-8").digest() != base
    assert make(key_id="rk_" + "1" * 32).digest() != base
    assert make(release_id="rel-2").digest() != base


def test_plan_is_immutable_and_policy_copies_are_detached() -> None:
    plan = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.release_id = "x"  # type: ignore[misc]
    policy = plan.anchor_table.policy_dict
    policy["privacy"]["k"] = 1
    assert plan.anchor_table.policy_dict["privacy"]["k"] == 5


def test_no_secret_in_plan() -> None:
    plan = make()
    assert "s3cret" not in plan.to_json()
    assert plan.source == "postgresql://cdw:***@db.local/cdw"
    assert redact_url("sqlite:///var/cdw.sqlite3") == "sqlite:///var/cdw.sqlite3"


def test_structure() -> None:
    plan = make()
    assert plan.anchor == "person"
    assert plan.link_column == "person_id"
    assert plan.date_shift_max_days == 20
    assert plan.table("visit_occurrence").table == "visit_occurrence"
    assert plan.table("visit_occurrence").query is None
    assert plan.anchor_table.table == "person"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s["release"].update(anchor="nope"), "release.anchor"),
        (lambda s: s["release"].pop("link_column"), "release.link_column"),
        (lambda s: s.update(tables={}), "tables"),
        (lambda s: s["tables"]["person"].update(query=""), "tables.person.query"),
        (lambda s: s["tables"]["person"].update(bogus=1), "tables.person"),
        (
            lambda s: s["release"].update(date_shift={"max_days": "x"}),
            "release.date_shift.max_days",
        ),
    ],
)
def test_bad_specs_name_the_field(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    spec = _valid_spec()
    mutate(spec)
    with pytest.raises(PolicyError) as info:
        compile_plan(
            spec, release_id="r", recipient_org_id="o", key_id="k", source="s", validate=False
        )
    assert info.value.field == field


def test_from_json_rejects_garbage() -> None:
    with pytest.raises(PolicyError):
        ReleasePlan.from_json("not json")
    with pytest.raises(PolicyError, match="format"):
        ReleasePlan.from_json("{}")


def test_demo_spec_compiles_and_validates() -> None:
    pytest.importorskip("deid.policy")
    spec = load_release_spec(DEMO_SPEC)
    plan = compile_plan(
        spec,
        release_id="demo",
        recipient_org_id="acme",
        key_id="rk_" + "a" * 32,
        source="sqlite:///x",
    )
    assert plan.anchor == "person"
    assert {"person", "visit_occurrence", "condition_occurrence", "measurement", "note"} <= {
        t.name for t in plan.tables
    }
    assert ReleasePlan.from_json(plan.to_json()).digest() == plan.digest()


def test_validation_names_a_missing_link_column() -> None:
    pytest.importorskip("deid.policy")
    spec = load_release_spec(DEMO_SPEC)
    del spec["tables"]["measurement"]["policy"]["columns"]["person_id"]
    with pytest.raises(PolicyError) as info:
        compile_plan(spec, release_id="r", recipient_org_id="o", key_id="k", source="s")
    assert info.value.field == "tables.measurement.policy.columns"
    spec = load_release_spec(DEMO_SPEC)
    spec["tables"]["person"]["policy"].pop("privacy")
    with pytest.raises(PolicyError) as info:
        compile_plan(spec, release_id="r", recipient_org_id="o", key_id="k", source="s")
    assert info.value.field == "tables.person.policy.privacy"


LINK_FIELD = "tables.{}.policy.columns.person_id"


def _valid_spec() -> dict:  # type: ignore[type-arg]
    spec: dict = json.loads(json.dumps(SPEC))  # type: ignore[type-arg]
    spec["tables"]["person"]["policy"]["columns"]["year_of_birth"]["hierarchy"] = {
        "type": "interval",
        "widths": [5],
    }
    compile_plan(spec, release_id="r", recipient_org_id="o", key_id="k", source="s")
    return spec


@pytest.mark.parametrize(
    ("table", "column", "message"),
    [
        ("person", {"role": "insensitive"}, "role: insensitive"),
        ("visit_occurrence", {"role": "insensitive"}, "role: insensitive"),
        ("visit_occurrence", {"role": "sensitive"}, "role: sensitive"),
        ("visit_occurrence", {"role": "quasi", "hierarchy": {"type": "flat"}}, "role: quasi"),
        ("person", {"role": "identifier", "transform": "drop"}, "transform: drop"),
        (
            "visit_occurrence",
            {"role": "identifier", "transform": "pseudonymize", "domain": "visit"},
            "domain: visit",
        ),
        # no domain: the column's own name is its domain, not the person domain
        ("person", {"role": "identifier", "transform": "pseudonymize"}, "domain: person_id"),
    ],
)
def test_link_column_must_be_pseudonymized_in_the_person_domain(
    table: str, column: object, message: str
) -> None:
    pytest.importorskip("deid.policy")
    spec = _valid_spec()
    spec["tables"][table]["policy"]["columns"]["person_id"] = column
    with pytest.raises(PolicyError) as info:
        compile_plan(spec, release_id="r", recipient_org_id="o", key_id="k", source="s")
    assert info.value.field == LINK_FIELD.format(table)
    assert message in str(info.value)


def test_link_column_may_be_dropped_in_linked_tables_and_alone() -> None:
    pytest.importorskip("deid.policy")
    spec = _valid_spec()
    spec["tables"]["visit_occurrence"]["policy"]["columns"]["person_id"] = {
        "role": "identifier",
        "transform": "drop",
    }
    compile_plan(spec, release_id="r", recipient_org_id="o", key_id="k", source="s")
    # a custom person domain is honoured
    spec = _valid_spec()
    spec["release"]["person_domain"] = "patient"
    with pytest.raises(PolicyError) as info:
        compile_plan(spec, release_id="r", recipient_org_id="o", key_id="k", source="s")
    assert info.value.field == LINK_FIELD.format("person")
    for t in ("person", "visit_occurrence"):
        spec["tables"][t]["policy"]["columns"]["person_id"]["domain"] = "patient"
    compile_plan(spec, release_id="r", recipient_org_id="o", key_id="k", source="s")
    # the anchor alone may drop its id
    spec = _valid_spec()
    del spec["tables"]["visit_occurrence"]
    spec["tables"]["person"]["policy"]["columns"]["person_id"] = {"role": "identifier"}
    compile_plan(spec, release_id="r", recipient_org_id="o", key_id="k", source="s")
