"""Policy parsing and validation: every error names its field."""

from __future__ import annotations

from pathlib import Path

import pytest

from deid.errors import PolicyError
from deid.policy import load_policy, parse_policy


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_issue_shape_loads_with_relative_hierarchy_paths(tmp_path: Path) -> None:
    (tmp_path / "age.csv").write_text("1;0-4;*\n2;0-4;*\n7;5-9;*\n", encoding="utf-8")
    (tmp_path / "occ.csv").write_text("a;x;*\nb;x;*\nc;y;*\n", encoding="utf-8")
    path = _write(
        tmp_path,
        """
columns:
  age:        {role: quasi, hierarchy: age.csv}
  occupation: {role: sensitive, hierarchy: occ.csv}
  patient_id: {role: identifier, transform: pseudonymize}
  note:       {role: text}
  visit_date: {role: insensitive, date_shift: true}
privacy:
  k: 5
  suppression_limit: 0.05
  metric: loss
  l_diversity: {column: occupation, l: 2, variant: distinct}
  t_closeness: {column: occupation, t: 0.2, distance: hierarchical}
""",
    )
    policy = load_policy(path)
    assert policy.quasi_identifiers == ("age",)
    assert policy.sensitive == ("occupation",)
    assert policy.identifiers == ("patient_id",)
    assert policy.text_columns == ("note",)
    assert policy.columns["patient_id"].transform == "pseudonymize"
    assert policy.columns["patient_id"].pseudonym_domain == "patient_id"
    assert policy.columns["visit_date"].date_shift is True
    assert policy.privacy.k == 5
    assert policy.privacy.suppression_limit == pytest.approx(0.05)
    assert policy.privacy.l_diversity is not None
    assert policy.privacy.l_diversity.l == 2
    assert policy.columns["age"].build_hierarchy().height == 3
    d = policy.to_dict()
    assert d["columns"]["age"]["hierarchy"]["type"] == "csv"
    assert len(d["columns"]["age"]["hierarchy"]["sha256"]) == 64
    assert len(policy.digest()) == 64


def test_digest_changes_with_hierarchy_content(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("1;*\n2;*\n", encoding="utf-8")
    text = "columns:\n  a: {role: quasi, hierarchy: h.csv}\nprivacy: {k: 2}\n"
    d1 = load_policy(_write(tmp_path, text)).digest()
    assert load_policy(_write(tmp_path, text)).digest() == d1
    (tmp_path / "h.csv").write_text("1;*\n3;*\n", encoding="utf-8")
    assert load_policy(_write(tmp_path, text)).digest() != d1


def test_identifier_domain_shared_across_tables() -> None:
    p = parse_policy(
        {
            "columns": {
                "pid": {"role": "identifier", "transform": "pseudonymize", "domain": "person"}
            }
        },
        Path("."),
    )
    assert p.columns["pid"].pseudonym_domain == "person"
    assert p.columns["pid"].to_dict()["domain"] == "person"


def test_builtin_generators_validate() -> None:
    p = parse_policy(
        {
            "columns": {
                "age": {"role": "quasi", "hierarchy": {"type": "interval", "widths": [5, 10, 20]}},
                "d": {
                    "role": "quasi",
                    "hierarchy": {"type": "date", "levels": ["day", "month", "quarter", "year"]},
                },
                "zip": {"role": "quasi", "hierarchy": {"type": "prefix", "keep": [4, 3, 2]}},
                "dx": {"role": "quasi", "hierarchy": {"type": "icd10"}},
                "region": {"role": "quasi", "hierarchy": {"type": "kr_region"}},
                "grade": {
                    "role": "quasi",
                    "hierarchy": {"type": "ordered", "order": [1, 2, 3, 4], "sizes": [2, 4]},
                },
            },
            "privacy": {"k": 2},
        },
        Path("."),
    )
    heights = {n: c.build_hierarchy().height for n, c in p.columns.items()}
    assert heights == {"age": 5, "d": 5, "zip": 5, "dx": 4, "region": 4, "grade": 4}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"columns": {}}, "columns"),
        ({"columns": {"a": {"role": "boss"}}}, "columns.a.role"),
        ({"columns": {"a": {"role": "quasi"}}}, "columns.a.hierarchy"),
        ({"columns": {"a": {"role": "quasi", "hierarchy": "missing.csv"}}}, "columns.a.hierarchy"),
        (
            {"columns": {"a": {"role": "quasi", "hierarchy": {"type": "nope"}}}},
            "columns.a.hierarchy.type",
        ),
        (
            {
                "columns": {
                    "a": {"role": "quasi", "hierarchy": {"type": "interval", "widths": [5, 7]}}
                }
            },
            "columns.a.hierarchy.widths",
        ),
        (
            {
                "columns": {
                    "a": {"role": "quasi", "hierarchy": {"type": "date", "levels": ["day", "eon"]}}
                }
            },
            "columns.a.hierarchy.levels[1]",
        ),
        ({"columns": {"a": {"role": "identifier", "transform": "hash"}}}, "columns.a.transform"),
        ({"columns": {"a": {"role": "insensitive", "transform": "drop"}}}, "columns.a.transform"),
        ({"columns": {"a": {"role": "insensitive", "colour": 1}}}, "columns.a.colour"),
        ({"columns": {"a": {"role": "text"}}, "privacy": {"k": 0}}, "privacy.k"),
        ({"columns": {"a": {"role": "text"}}, "privacy": {"k": 2.5}}, "privacy.k"),
        (
            {"columns": {"a": {"role": "text"}}, "privacy": {"suppression_limit": 1.5}},
            "privacy.suppression_limit",
        ),
        ({"columns": {"a": {"role": "text"}}, "privacy": {"metric": "fun"}}, "privacy.metric"),
        (
            {
                "columns": {"a": {"role": "text"}},
                "privacy": {"l_diversity": {"column": "a", "l": 2}},
            },
            "privacy.l_diversity.column",
        ),
        (
            {
                "columns": {"a": {"role": "sensitive"}},
                "privacy": {"l_diversity": {"l": 2, "variant": "recursive"}},
            },
            "privacy.l_diversity.c",
        ),
        (
            {"columns": {"a": {"role": "sensitive"}}, "privacy": {"t_closeness": {"t": 2}}},
            "privacy.t_closeness.t",
        ),
        (
            {
                "columns": {"a": {"role": "sensitive"}},
                "privacy": {"t_closeness": {"t": 0.2, "distance": "hierarchical"}},
            },
            "columns.a.hierarchy",
        ),
        ({"columns": {"a": {"role": "text"}}, "privacy": {"k": 3}}, "privacy.k"),
    ],
)
def test_errors_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(data, Path("."))
    assert info.value.field == field
    assert field in str(info.value)


def test_bad_yaml_and_non_tree_hierarchy(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        load_policy(_write(tmp_path, "columns: [unclosed"))
    (tmp_path / "h.csv").write_text("1;a;*\n2;a;*\n3;b;*\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text("1;a;x;*\n2;a;y;*\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not a tree") as info:
        load_policy(_write(tmp_path, "columns:\n  a: {role: quasi, hierarchy: bad.csv}\n"))
    assert info.value.field == "columns.a.hierarchy"


def test_policy_pickles_with_its_built_hierarchies(tmp_path: Path) -> None:
    import pickle

    (tmp_path / "h.csv").write_text("1;a;*\n2;a;*\n", encoding="utf-8")
    policy = load_policy(
        _write(tmp_path, "columns:\n  x: {role: quasi, hierarchy: h.csv}\nprivacy: {k: 2}\n")
    )
    policy.hierarchies()
    (tmp_path / "h.csv").unlink()  # executors need no hierarchy files
    again = pickle.loads(pickle.dumps(policy))  # noqa: S301 - our own object
    assert again == policy
    assert hash(again) == hash(policy)
    assert again.digest() == policy.digest()
    assert again.hierarchies()["x"].height == 3


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("pid", {"role": "identifier", "transform": "pseudonymize", "domain": "deid:text"}),
        ("deid:x", {"role": "identifier", "transform": "pseudonymize"}),
    ],
)
def test_reserved_pseudonym_domain_is_refused_when_the_policy_is_read(
    name: str, column: dict[str, str]
) -> None:
    """The engine keeps domains starting with ``deid:`` for itself (note tags, persons):
    a policy naming one is refused on reading, not when its build runs."""
    with pytest.raises(PolicyError) as e:
        parse_policy({"columns": {name: column}}, Path("."))
    assert "reserved" in str(e.value)
    assert name in str(e.value)
