"""Schema-driven fuzzing: schemathesis generates requests from /api/schema/; no 5xx allowed.

The calls go through Django's WSGI application in-process, authenticated with
a real token of organization A, against a world with published releases of
two organizations, so the generated requests reach the views' logic (not only
the 401 path).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.governance.api_support import make_world

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def api_schema(settings, tmp_path):
    settings.DEID_RELEASES_DIR = tmp_path / "releases"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100000/min", "download": "100000/min"},
    }
    cache.clear()
    # Requests run inside the test's transaction: keep the WSGI handler from closing it.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    from config.wsgi import application

    a, _b = make_world(tmp_path / "releases")
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    schema.config.headers = {"Authorization": f"Bearer {a.token}"}
    yield schema
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    cache.clear()


def test_api_never_answers_5xx(api_schema):
    """Every operation of the schema, fuzzed; failures are collected and reported together."""
    token = api_schema.config.headers["Authorization"]
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 9  # every endpoint is in the schema

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            response = case.call(headers={"Authorization": token})
            case.validate_response(response, checks=[not_a_server_error])

        try:
            fuzz()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
