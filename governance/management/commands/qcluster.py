"""``manage.py qcluster``: django-q2's worker cluster, with the release-build hooks connected.

Same options as django-q2's command. Before the cluster forks its workers this
connects the hooks of :mod:`governance.jobs`, so that every (re)started worker
first marks builds whose worker died as failed.
"""

from __future__ import annotations

from typing import Any

from django_q.management.commands.qcluster import Command as QclusterCommand


class Command(QclusterCommand):
    help = "Start the background worker cluster that runs release builds (django-q2)."

    def handle(self, *args: Any, **options: Any) -> None:
        from governance import jobs

        jobs.connect_worker_signals()
        super().handle(*args, **options)
