"""The admin as a thin face on the services: pages, buttons with reasons, refusals shown."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from governance import services
from governance.admin import report_context
from governance.admin_report import longitudinal_context
from governance.models import Decision, ReleaseState, RequestState
from tests.governance.factories import LONGITUDINAL, POLICY_YAML, REPORT, World

pytestmark = pytest.mark.django_db


def review_url(request: Any) -> str:
    return reverse("admin:governance_request_review", args=[request.pk])


def release_url(release: Any) -> str:
    return reverse("admin:governance_release_review", args=[release.pk])


def test_deciders_need_a_second_factor(world: World, login: Any) -> None:
    client = login(world.legal, verified=False)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert "login" in response["Location"]
    client = login(world.legal)
    assert client.get(reverse("admin:index")).status_code == 200


def test_auditor_enters_without_otp_but_reads_only(world: World, login: Any) -> None:
    request = world.submitted()
    client = login(world.auditor, verified=False)
    assert client.get(reverse("admin:index")).status_code == 200
    page = client.get(review_url(request))
    assert page.status_code == 200
    assert b'id="approve"' not in page.content
    # Posting anyway is refused by the service, and shown on the page.
    response = client.post(review_url(request), {"action": "reject", "reason": "x"}, follow=True)
    assert b"permission_denied" in response.content
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED


def test_requester_cannot_enter_admin(world: World, login: Any) -> None:
    client = login(world.researcher, verified=False)
    assert client.get(reverse("admin:index")).status_code == 302


def test_index_counters_and_queue(world: World, login: Any) -> None:
    older = world.submitted(title="older")
    newer = world.submitted(title="newer")
    client = login(world.legal)
    index = client.get(reverse("admin:index")).content.decode()
    assert 'data-kind="request"><strong>2</strong>' in index
    queue = client.get(reverse("admin:governance_queue")).content.decode()
    assert queue.index(f"#{older.pk} older") < queue.index(f"#{newer.pk} newer")
    filtered = client.get(reverse("admin:governance_queue") + "?state=legal_review")
    assert b"Nothing waits for you" in filtered.content
    # A steward's queue does not show requests still in legal review.
    steward_queue = login(world.steward).get(reverse("admin:governance_queue"))
    assert f"#{older.pk} older" not in steward_queue.content.decode()


def test_request_page_shows_everything_and_approves_with_reason(world: World, login: Any) -> None:
    request = world.submitted()
    client = login(world.legal)
    page = client.get(review_url(request)).content.decode()
    for text in (
        "Diabetes outcomes",
        "Data-use check",
        "IRB-2026-001",
        "Verify DUA",
        "Decision history",
        'id="reject"',
    ):
        assert text in page
    client.post(
        review_url(request), {"action": "verify_irb", "irb_id": request.irb_approvals.get().pk}
    )
    client.post(review_url(request), {"action": "verify_dua", "dua_id": request.duas.get().pk})
    # Reject without a reason: refused, state unchanged, message on the page.
    response = client.post(review_url(request), {"action": "reject", "reason": " "}, follow=True)
    assert b"reason_required" in response.content
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED
    response = client.post(
        review_url(request),
        {"action": "approve_legal", "reason": "Documents in order."},
        follow=True,
    )
    assert b"Request approved (legal)" in response.content
    request.refresh_from_db()
    assert request.state == RequestState.LEGALLY_APPROVED
    assert Decision.objects.get(request=request).reason == "Documents in order."


def test_document_link_is_audited(world: World, login: Any) -> None:
    request = world.submitted()
    doc = request.irb_approvals.get().document
    client = login(world.legal)
    response = client.get(reverse("admin:governance_document_view", args=[doc.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(action="document.viewed", object_id=str(doc.pk)).exists()


def test_steward_sets_policy_and_approves_on_the_page(world: World, login: Any) -> None:
    request = world.legally_approved()
    client = login(world.steward)
    client.post(review_url(request), {"action": "set_policy", "policy_yaml": POLICY_YAML})
    client.post(review_url(request), {"action": "approve_steward", "reason": "Fine."})
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    client.post(review_url(request), {"action": "create_release"})
    assert request.releases.count() == 1
    # The legal approver cannot set the policy (role separation), shown on the page.
    other = world.legally_approved()
    response = login(world.legal).post(
        review_url(other), {"action": "set_policy", "policy_yaml": POLICY_YAML}, follow=True
    )
    assert b"permission_denied" in response.content


def test_release_page_renders_report_and_chart(world: World, login: Any) -> None:
    release = world.built()
    client = login(world.steward)
    page = client.get(release_url(release)).content.decode()
    assert 'id="class-size-chart"' in page
    assert page.count('<rect class="bar') == 4
    for text in (
        "k reached",
        "records released",
        "prosecutor",
        "Generalization per column",
        "Information loss",
        "privacy:",
    ):
        assert text in page
    response = client.post(release_url(release), {"action": "approve", "reason": ""}, follow=True)
    assert b"reason_required" in response.content
    client.post(release_url(release), {"action": "approve", "reason": "k=5, risk 0.2."})
    client.post(release_url(release), {"action": "publish"})
    release.refresh_from_db()
    assert release.state == ReleaseState.PUBLISHED
    client.post(release_url(release), {"action": "revoke", "reason": "Breach reported."})
    release.refresh_from_db()
    assert release.state == ReleaseState.REVOKED


def test_release_page_shows_the_release_level_privacy(world: World, login: Any) -> None:
    """The steward reads the (k, k^m) section: before/after chart, events kept, levels."""
    release = world.built()
    release.privacy_report = {**release.privacy_report, "longitudinal": LONGITUDINAL}
    release.save(update_fields=["privacy_report"])
    page = login(world.steward).get(release_url(release)).content.decode()
    assert 'id="risk-chart"' in page
    assert page.count('class="bar risk-before"') == 4  # three m's and the legend
    assert page.count('class="bar risk-after"') == 4
    for text in ("m = 2", "36.5%", "97.5%", "48.0%", "not measured", "visit_occurrence", "year"):
        assert text in page, text
    assert "target met on the written files" in page
    ctx = longitudinal_context(LONGITUDINAL, [])
    assert ctx["target_met"]
    broken = {
        **LONGITUDINAL,
        "risk_after": {
            **LONGITUDINAL["risk_after"],
            "m2": {
                "measured": True,
                "share_below_k": 0.1,
                "below_k": 3,
                "highest": 1.0,
                "average": 0.2,
            },
        },
    }
    assert not longitudinal_context(broken, [])["target_met"]
    labels = [b["x"] for b in ctx["chart"]["labels"]]
    assert labels == sorted(labels)
    assert min(b - a for a, b in itertools.pairwise(labels)) > 100  # labels never overlap
    warned = longitudinal_context(None, ["no longitudinal threat model"])
    assert not warned["present"]
    assert warned["warnings"]


def test_release_page_shows_genome_and_lifelog_sections(world: World, login: Any) -> None:
    genome = {
        "min_carriers": 5,
        "genes": [],
        "regions": [],
        "format_fields": ["GT", "DP", "AD"],
        "info_fields": ["GENE", "AC", "AN", "AF"],
        "files": [
            {
                "source": "cohort.vcf.gz",
                "file": "cohort.vcf.gz.c4gh",
                "samples_in": 600,
                "samples_released": 583,
                "samples_not_released": 17,
                "variants_in": 2398,
                "variants_out": 1301,
                "suppressed_rare": 1097,
                "header_lines_removed": 12,
                "variants_written": 1301,
                "min_carriers_measured": 5,
            }
        ],
        "samples_released": 583,
        "variants_in": 2398,
        "variants_released": 1301,
        "variants_suppressed_rare": 1097,
    }
    lifelog = {
        "window": "1h",
        "gps": "drop",
        "devices_in": 300,
        "patients_released": 291,
        "devices_not_released": 9,
        "windows_released": 20952,
        "gps_released": "none (coordinates dropped)",
        "uniqueness": {
            "measure": "share unique",
            "patients": 291,
            "unique": 120,
            "unique_share": 0.4124,
        },
        "max_unique_share": None,
    }
    release = world.built()
    release.privacy_report = {**release.privacy_report, "genome": genome, "lifelog": lifelog}
    release.save(update_fields=["privacy_report"])
    page = login(world.steward).get(release_url(release)).content.decode()
    assert 'id="genome"' in page
    assert 'id="lifelog"' in page
    for text in (
        "1301",
        "1097",
        "583",
        "cohort.vcf.gz.c4gh",
        "20952",
        "41.2%",
        "coordinates dropped",
    ):
        assert text in page, text
    plain = world.built()
    page = login(world.steward).get(release_url(plain)).content.decode()
    assert 'id="genome"' not in page
    # the legal reviewer sees each requested dataset's kind
    page = login(world.legal).get(review_url(world.submitted())).content.decode()
    assert "Clinical data warehouse (CDW)" in page


def test_list_pages_and_no_bulk_delete(world: World, login: Any) -> None:
    world.published()
    client = login(world.steward)
    for model in (
        "dataaccessrequest",
        "release",
        "decision",
        "document",
        "irbapproval",
        "datauseagreement",
        "deidpolicy",
        "dataset",
        "organization",
    ):
        response = client.get(reverse(f"admin:governance_{model}_changelist"))
        assert response.status_code == 200, model
        assert b"delete_selected" not in response.content
    # Change pages redirect to the review pages.
    req = world.submitted()
    response = client.get(reverse("admin:governance_dataaccessrequest_change", args=[req.pk]))
    assert response.status_code == 302
    assert response["Location"] == review_url(req)


def test_report_context_shapes() -> None:
    ctx = report_context(REPORT)
    assert ctx["k"] == 5
    assert ctx["suppressed_pct"] == 5.0
    assert [b["label"] for b in ctx["chart"]["bars"]] == ["5", "6", "8", "12"]
    assert report_context({"k": 2, "privacy": {"k": 5}, "class_sizes": {"2": 1, "21-50": 3}})[
        "chart"
    ]["bars"][0]["below_k"]
    assert report_context(None) == {"present": False}
    # The build's shape: the engine's report nested under "report", release-wide figures on top.
    nested = report_context(
        {
            "report": REPORT,
            "records_in": 1000,
            "records_released": 990,
            "records_suppressed": 10,
            "tables": {"person": {"rows_in": 1000, "rows_out": 990, "rows_dropped": 10}},
        }
    )
    assert nested["k"] == 5
    assert nested["records_out"] == 990
    assert nested["suppressed"] == 10
    assert nested["tables"][0]["name"] == "person"
    assert len(nested["chart"]["bars"]) == 4


def test_membership_admin_uses_service(world: World, login: Any) -> None:
    client = login(world.admin)
    response = client.post(
        reverse("admin:governance_membership_add"),
        {"user": world.other.pk, "organization": world.platform.pk, "role": "auditor"},
    )
    assert response.status_code == 302
    world.other.refresh_from_db()
    assert world.other.is_staff
    assert "auditor" in set(world.other.groups.values_list("name", flat=True))
    assert services.user_create  # the demo helper stays importable


def test_failed_logins_are_rate_limited(world: World, client: Any, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    from axes.utils import reset

    reset()
    url = reverse("two_factor:login")  # where the admin sends staff to log in

    def attempt(password: str) -> Any:
        return client.post(
            url,
            {
                "login_view-current_step": "auth",
                "auth-username": world.legal.username,
                "auth-password": password,
            },
        )

    statuses = [attempt("wrong password").status_code for _ in range(3)]
    assert statuses[:2] == [200, 200]  # refused, form shown again; the third locks
    from tests.governance.factories import PASSWORD

    locked = attempt(PASSWORD)
    assert locked.status_code == 429
    reset()


def test_governance_totp_command_gives_a_working_code(world: World, client: Any) -> None:
    from io import StringIO

    from django.core.management import call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice

    out = StringIO()
    call_command("governance_totp", world.steward.username, "--enroll", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert "otpauth://" in lines[1]
    code = lines[-1]
    assert len(code) == 6
    assert code.isdigit()
    device = TOTPDevice.objects.get(user=world.steward)
    assert device.verify_token(code)


def test_release_page_shows_build_progress(world: World, login: Any) -> None:
    request = world.approved()
    release = services.release_create(request=request, acting_user=world.steward)
    release = services.release_build_start(release=release, acting_user=world.steward)
    services.release_build_progress(
        release=release, phase="transform", rows_done=400, rows_total=1000
    )
    page = login(world.steward).get(release_url(release)).content.decode()
    assert "Build in progress" in page
    assert "400 of 1000 rows" in page
    assert 'http-equiv="refresh"' in page


# --- build controls on the release page (follow-up) -------------------------------------------


def _csrf_client(user: Any) -> Any:
    """A client that enforces CSRF like a browser-facing server, logged in with a second factor."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from governance.roles import totp_device_create

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    device = totp_device_create(user=user, name="csrf")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _csrf_post(client: Any, url: str, data: dict[str, str]) -> Any:
    import re

    page = client.get(url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "the page has no CSRF token in its forms"
    return client.post(url, {**data, "csrfmiddlewaretoken": token.group(1)}, follow=True)


def _building(world: World) -> Any:
    from datetime import timedelta

    from django.utils import timezone

    from governance.models import Release

    request = world.approved()
    release = services.release_create(request=request, acting_user=world.steward)
    release = services.release_build_start(release=release, acting_user=world.steward)
    Release.objects.filter(pk=release.pk).update(
        build_started_at=timezone.now() - timedelta(seconds=60)
    )
    services.release_build_progress(
        release=release, phase="transform", rows_done=400, rows_total=1000
    )
    release.refresh_from_db()
    return release


def test_steward_cancels_a_running_build_from_the_page(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from governance import queue

    release = _building(world)
    client = _csrf_client(world.steward)
    page = client.get(release_url(release)).content.decode()
    assert "Phase <strong>transform</strong>" in page
    assert "400 of 1000 rows" in page
    assert "about 90 s left" in page  # 60 s for 400 rows: 600 more take 90 s
    assert 'id="cancel-build"' in page
    # Without the CSRF token the POST is refused and nothing happens.
    assert client.post(release_url(release), {"action": "cancel_build"}).status_code == 403
    assert not AuditEvent.objects.filter(action="release.build_cancelled").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = _csrf_post(client, release_url(release), {"action": "cancel_build"})
    assert b"Cancel requested" in response.content
    event = AuditEvent.objects.get(action="release.build_cancelled")
    assert event.object_id == str(release.pk)
    assert event.actor_username == world.steward.username
    assert queue.cancel_requested(release.pk, release.build_job_id)


def test_others_see_no_cancel_button_and_are_refused(world: World, login: Any) -> None:
    release = _building(world)
    for who in (world.legal, world.auditor):
        client = login(who)
        page = client.get(release_url(release)).content.decode()
        assert "Build in progress" in page
        assert 'id="cancel-build"' not in page
        response = client.post(release_url(release), {"action": "cancel_build"}, follow=True)
        assert b"permission_denied" in response.content
    assert not AuditEvent.objects.filter(action="release.build_cancelled").exists()


def test_steward_rebuilds_a_failed_release_from_the_page(
    world: World, enqueued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        release = _building(world)
    services.release_build_failed(release=release, error="build cancelled: by a steward")
    client = _csrf_client(world.steward)
    page = client.get(release_url(release)).content.decode()
    assert "Build failed" in page
    assert 'id="rebuild"' in page
    assert 'id="cancel-build"' not in page
    assert 'id="build"' not in page  # "Rebuild" replaces "Build the release" here
    with django_capture_on_commit_callbacks(execute=True):
        response = _csrf_post(client, release_url(release), {"action": "rebuild"})
    assert b"Rebuild started" in response.content
    release.refresh_from_db()
    assert release.state == ReleaseState.BUILDING
    assert enqueued == [release.pk, release.pk]
    assert (
        AuditEvent.objects.filter(action="release.build_started", object_id=str(release.pk)).count()
        == 2
    )
    # Rebuilding is the steward's: a legal reviewer sees no button and is refused.
    services.release_build_failed(release=release, error="again")
    legal = _csrf_client(world.legal)
    assert 'id="rebuild"' not in legal.get(release_url(release)).content.decode()
    response = legal.post(release_url(release), {"action": "rebuild"}, follow=True)
    assert response.status_code == 403  # no CSRF token: refused before the service
    release.refresh_from_db()
    assert release.state == ReleaseState.FAILED


# --- the auditor reads the audit log (follow-up) -----------------------------------------------


def test_auditor_opens_the_audit_log(world: World, login: Any) -> None:
    release = world.built()
    client = login(world.auditor, verified=False)
    listing = client.get(reverse("admin:audit_auditevent_changelist"))
    assert listing.status_code == 200
    assert b"release.built" in listing.content
    event = AuditEvent.objects.filter(object_id=str(release.pk)).first()
    assert event is not None
    detail = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert detail.status_code == 200
    assert client.get(reverse("admin:audit_auditcheckpoint_changelist")).status_code == 200
    # Read only: no add page, no delete.
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:audit_auditevent_changelist") in index


def test_a_legal_reviewer_does_not_get_the_audit_log(world: World, login: Any) -> None:
    client = login(world.legal)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 403


def test_review_pages_come_in_korean(world: World, login: Any) -> None:
    release = world.built()
    client = login(world.steward)
    page = client.get(release_url(release), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    for text in ("프라이버시 보고서", "결정", "생성 완료", 'lang="ko"'):
        assert text in page, text
    page = client.get(review_url(release.request), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "데이터 이용 조건 확인 (GA4GH DUO)" in page
    assert "결정 이력" in page
    # Django's own admin strings come in Korean too, with the language switch in the header
    assert "로그아웃" in page
    assert 'id="admin-switch-language"' in page
    english = client.get(review_url(release.request), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Data-use check (GA4GH DUO)" in english


def test_legal_page_lists_variables_by_table_and_class(world: World, login: Any) -> None:
    request = world.submitted()
    page = login(world.legal).get(review_url(request)).content.decode()
    table = page.split('id="requested-variables"')[1].split("</table>")[0]
    rows = table.split("<tbody>")[1].split("</tr>")[:-1]
    assert len(rows) == len(
        {(v.dataset_id, v.table, v.deid_class) for v in request.requested_variables.all()}
    )
    assert "Quasi-identifier" in table


def test_class_size_chart_labels_never_overlap() -> None:
    hist = {str(size): 3 for size in range(5, 205)}  # 200 bars of sizes 5..204
    chart = report_context({"k": 5, "class_size_histogram": hist, "privacy": {"k": 5}})["chart"]
    shown = [b for b in chart["bars"] if b["show_label"]]
    assert 1 < len(shown) < len(chart["bars"])
    for a, b in itertools.pairwise(shown):
        width = 7 * max(len(a["label"]), len(b["label"]))  # about 7 px per character
        assert b["cx"] - a["cx"] >= width
    few = report_context({"k": 5, "class_size_histogram": {"5": 2, "6": 1}})["chart"]
    assert all(b["show_label"] for b in few["bars"])
