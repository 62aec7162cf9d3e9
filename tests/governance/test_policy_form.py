"""The steward edits the policy as a form, dry-runs it on the CDW, and saves the same YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import reverse

from audit.models import AuditEvent
from governance.models import DeidPolicy
from governance.policy_form import apply_choices, form_rows, privacy_target
from tests.governance.factories import World

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def cdw_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from fixtures.synthetic_cdw import generate

    url = f"sqlite:///{tmp_path_factory.mktemp('cdw') / 'cdw.sqlite3'}"
    generate(url, patients=400, seed=5)
    return url


def policy_url(request: Any) -> str:
    return reverse("admin:governance_request_policy", args=[request.pk])


def test_form_rows_follow_what_the_engine_honours() -> None:
    from django.conf import settings

    spec = yaml.safe_load(
        (Path(settings.BASE_DIR) / "fixtures/policies/demo_release.yaml").read_text()
    )
    rows = {(r.table, r.column): r for r in form_rows(spec, base_dir=Path(settings.BASE_DIR))}
    assert rows[("person", "person_id")].locked
    assert rows[("person", "rrn")].initial == "drop"
    assert rows[("person", "year_of_birth")].kind == "searched"
    assert len(rows[("person", "year_of_birth")].meanings) == 5  # exact, 5, 10, 20 years, *
    assert rows[("visit_occurrence", "visit_start_date")].kind == "max_level"
    assert rows[("visit_occurrence", "visit_start_date")].initial == "2"
    assert rows[("note", "note_text")].kind == "text"
    new = apply_choices(
        spec,
        {
            "col__person__registration_no": "pseudonymize",
            "col__visit_occurrence__visit_start_date": "1",
            "col__note__note_text": "drop",
            "col__person__person_id": "drop",  # locked: ignored
        },
        privacy_target(spec).__class__(
            k=7, suppression_limit=0.02, m=2, event_suppression_limit=0.3, min_kept_share=0.5
        ),
    )
    cols = new["tables"]["person"]["policy"]["columns"]
    assert cols["registration_no"] == {
        "role": "identifier",
        "transform": "pseudonymize",
        "domain": "registration_no",
    }
    assert cols["person_id"]["transform"] == "pseudonymize"
    assert new["tables"]["visit_occurrence"]["policy"]["columns"]["visit_start_date"][
        "options"
    ] == {"max_level": 1}
    assert new["tables"]["note"]["policy"]["columns"]["note_text"]["transform"] == "drop"
    assert new["tables"]["person"]["policy"]["privacy"]["k"] == 7


def test_steward_dry_runs_then_saves(world: World, login: Any, settings: Any, cdw_url: str) -> None:
    settings.DEID_CDW_URL = cdw_url
    request = world.legally_approved()
    client = login(world.steward)
    page = client.get(policy_url(request)).content.decode()
    assert 'id="id_col__person__registration_no"' in page
    assert 'id="id_k"' in page
    response = client.post(
        policy_url(request),
        {
            "action": "dry_run",
            "k": "5",
            "suppression_limit": "0.05",
            "m": "2",
            "event_suppression_limit": "0.3",
            "min_kept_share": "0.5",
        },
    )
    page = response.content.decode()
    assert 'id="dry-run-result"' in page, page[:3000]
    assert "year_of_birth" in page
    assert "→" in page  # level meanings on an example value of the data
    event = AuditEvent.objects.filter(action="policy.dry_run").get()
    assert event.object_id == str(request.pk)
    assert not DeidPolicy.objects.filter(request=request).exists()  # a dry run saves nothing
    response = client.post(
        policy_url(request),
        {
            "action": "save",
            "k": "6",
            "suppression_limit": "0.05",
            "m": "2",
            "event_suppression_limit": "0.3",
            "min_kept_share": "0.5",
            "col__person__registration_no": "pseudonymize",
        },
    )
    assert response.status_code == 302
    saved = yaml.safe_load(DeidPolicy.objects.get(request=request).policy_yaml)
    assert saved["tables"]["person"]["policy"]["privacy"]["k"] == 6
    assert saved["tables"]["person"]["policy"]["columns"]["registration_no"]["transform"] == (
        "pseudonymize"
    )
    assert AuditEvent.objects.filter(action="policy.changed").exists()


def test_dry_run_numbers_are_the_engines_on_the_cdw(
    world: World, settings: Any, cdw_url: str
) -> None:
    """The dry run reads every anchor row of the CDW and reports the engine's target met."""
    from sqlalchemy import create_engine, text

    from governance.dry_run import policy_dry_run
    from governance.policy_form import baseline_spec, spec_yaml

    settings.DEID_CDW_URL = cdw_url
    request = world.legally_approved()
    spec = baseline_spec(request)
    assert spec["tables"]["person"]
    dry = policy_dry_run(request=request, acting_user=world.steward, policy_yaml=spec_yaml(spec))
    engine = create_engine(cdw_url)
    with engine.connect() as conn:
        persons = conn.execute(text("SELECT COUNT(*) FROM person")).scalar_one()
    engine.dispose()
    assert dry.rows_read == persons
    assert dry.report is not None
    assert dry.report["k"] >= 5
    assert dry.report["suppressed"] <= 0.05 * persons
    assert "rrn" not in dry.sample_columns
    assert "patient_name" not in dry.sample_columns
    assert {d["column"] for d in dry.distributions} == {
        "gender_source_value",
        "year_of_birth",
        "region",
    }


def test_only_a_steward_opens_the_form(world: World, login: Any) -> None:
    request = world.legally_approved()
    assert login(world.legal).get(policy_url(request)).status_code == 403
