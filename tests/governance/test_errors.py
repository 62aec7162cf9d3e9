"""Refusal codes are one enum: a code nobody declared fails where it is raised."""

from __future__ import annotations

import json

import pytest

from governance.errors import GovernanceError, GovernanceErrorCode


def test_a_code_is_a_member_of_the_enum_and_reads_as_its_string() -> None:
    exc = GovernanceError(code=GovernanceErrorCode.TWO_PERSON_RULE, message="another person")
    assert exc.code is GovernanceErrorCode.TWO_PERSON_RULE
    assert exc.code == "two_person_rule"  # clients and older callers match on the string
    assert exc.status == 403
    assert json.dumps(exc.as_dict()) == '{"code": "two_person_rule", "message": "another person"}'
    assert str(exc) == "[two_person_rule] another person"
    assert GovernanceError(code=GovernanceErrorCode.INVALID_STATE, message="x").status == 409


def test_an_undeclared_code_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="invalid_stat"):
        GovernanceError(code="invalid_stat", message="a typo")  # type: ignore[arg-type]


def test_every_code_the_services_raise_is_declared() -> None:
    """No service raises with a bare string any more (each site names the enum)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "governance"
    bare = [
        f"{path.relative_to(root.parent)}: {m.group(0)}"
        for path in root.rglob("*.py")
        for m in re.finditer(r'GovernanceError\(\s*code="[a-z_]+"', path.read_text())
    ]
    assert not bare, bare
