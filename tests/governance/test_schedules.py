"""``manage.py governance_schedules``: the scheduled jobs exist exactly once, whatever reruns."""

from __future__ import annotations

import ast
import io
import pydoc
from typing import Any

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

EXPIRE = "deid:governance_expire"
CHECKPOINT = "deid:audit_checkpoint"
SWEEP = "deid:documents_sweep"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("governance_schedules", *args, stdout=out)
    return out.getvalue()


def test_running_twice_leaves_exactly_one_schedule_each() -> None:
    first = run()
    assert f"{EXPIRE}: created" in first
    assert f"{CHECKPOINT}: created" in first
    next_runs = dict(Schedule.objects.values_list("name", "next_run"))
    second = run()
    assert f"{EXPIRE}: unchanged" in second
    assert f"{CHECKPOINT}: unchanged" in second
    assert Schedule.objects.filter(name=EXPIRE).count() == 1
    assert Schedule.objects.filter(name=CHECKPOINT).count() == 1
    assert Schedule.objects.filter(name=SWEEP).count() == 1
    assert Schedule.objects.count() == 4
    seal = Schedule.objects.get(name="deid:audit_seal")
    assert (seal.schedule_type, seal.minutes) == (Schedule.MINUTES, 1)
    assert Schedule.objects.get(name=SWEEP).schedule_type == Schedule.DAILY
    assert dict(Schedule.objects.values_list("name", "next_run")) == next_runs  # kept
    expire = Schedule.objects.get(name=EXPIRE)
    checkpoint = Schedule.objects.get(name=CHECKPOINT)
    assert expire.schedule_type == Schedule.DAILY
    assert checkpoint.schedule_type == Schedule.HOURLY
    assert expire.repeats == -1
    assert checkpoint.repeats == -1
    assert expire.func == checkpoint.func == "django.core.management.call_command"
    assert ast.literal_eval(expire.args) == "governance_expire"
    assert ast.literal_eval(checkpoint.args) == "audit_checkpoint"


def test_drift_and_duplicates_are_repaired(db: None) -> None:
    run()
    Schedule.objects.filter(name=EXPIRE).update(schedule_type=Schedule.WEEKLY)
    Schedule.objects.create(
        name=CHECKPOINT,
        func="django.core.management.call_command",
        args="'audit_checkpoint'",
        schedule_type=Schedule.HOURLY,
    )
    other = Schedule.objects.create(name="someone else's", func="math.floor", args="1.5")
    out = run()
    assert f"{EXPIRE}: updated" in out
    assert f"{CHECKPOINT}: updated" in out
    assert Schedule.objects.get(name=EXPIRE).schedule_type == Schedule.DAILY
    assert Schedule.objects.filter(name=CHECKPOINT).count() == 1
    assert Schedule.objects.filter(pk=other.pk).exists()
    assert "removed 4 schedule(s)" in run("--remove")
    assert list(Schedule.objects.values_list("pk", flat=True)) == [other.pk]


def test_the_scheduled_call_runs_the_command(world: Any) -> None:
    """What the django-q scheduler does with a row: locate ``func``, call it with ``args``."""
    run()
    row = Schedule.objects.get(name=EXPIRE)
    func = pydoc.locate(row.func)
    assert callable(func)
    args = ast.literal_eval(row.args)
    func(*(args if isinstance(args, tuple) else (args,)), stdout=io.StringIO())
    assert AuditEvent.objects.filter(action="system.job").exists()
