"""``manage.py release_build RELEASE_ID``: start, follow or cancel a release build.

    manage.py release_build 7 --user steward              # queue it, follow the worker's progress
    manage.py release_build 7 --user steward --sync       # build here, in this process
    manage.py release_build 7 --user steward --engine spark --sync
    manage.py release_build 7 --follow                    # watch a build that is running
    manage.py release_build 7 --user steward --cancel     # ask the running build to stop (audited)

Progress is a tqdm bar per phase (rows read, rate, ETA). A queued build needs a
worker: ``manage.py qcluster`` (``make worker``).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance import jobs, queue


class _Bars:
    """One tqdm bar per build phase, on stderr."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.phase: str | None = None
        self.bar: Any = None

    def __call__(self, phase: str, rows_done: int, rows_total: int | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = tqdm(
                total=rows_total, desc=f"{phase:<28}", unit="rows", unit_scale=True, file=sys.stderr
            )
        if rows_total is not None and self.bar.total != rows_total:
            self.bar.total = rows_total
        self.bar.update(max(0, rows_done - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = "Start (queue or run here), follow or cancel the build of a release."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("release_id", type=int)
        parser.add_argument("--user", help="acting data steward (username) to start a build")
        parser.add_argument(
            "--sync", action="store_true", help="build in this process instead of queueing"
        )
        parser.add_argument("--engine", choices=queue.ENGINES, default=None)
        parser.add_argument(
            "--follow", action="store_true", help="only follow a build that is already running"
        )
        parser.add_argument("--cancel", action="store_true", help="cancel the running build")
        parser.add_argument("--no-wait", action="store_true", help="queue and return at once")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        from governance import services
        from governance.errors import GovernanceError
        from governance.models import Release

        release_id: int = options["release_id"]
        try:
            release = Release.objects.get(pk=release_id)
        except Release.DoesNotExist:
            raise CommandError(f"release #{release_id} does not exist") from None
        reaped = jobs.reap_lost_builds()
        if reaped:
            self.stderr.write(f"marked builds with a lost worker as failed: {reaped}")
        if options["cancel"]:
            self._cancel(release, options["user"])
            return
        bars = _Bars(enabled=not options["quiet"])
        if options["follow"]:
            self._follow(release_id, bars)
            return
        user = self._user(options["user"], action="start a build")
        engine = options["engine"] or queue.default_engine()
        try:
            if options["sync"]:
                try:
                    release = jobs.build_release_for(
                        release=release, acting_user=user, engine=engine, progress=bars
                    )
                finally:
                    bars.close()
            else:
                release = services.release_build_start(
                    release=release, acting_user=user, engine=engine
                )
                self.stdout.write(
                    f"queued build of release #{release_id} on {engine} as job {release.build_job_id}"
                )
                if options["no_wait"]:
                    return
                release = self._follow(release_id, bars)
        except GovernanceError as exc:
            raise CommandError(str(exc)) from None
        self._summary(release)

    def _user(self, username: str | None, *, action: str) -> Any:
        if not username:
            raise CommandError(f"--user (the acting data steward) is required to {action}")
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}") from None

    def _cancel(self, release: Any, username: str | None) -> None:
        """Cancel through the service: checked, audited, the flag written after the commit."""
        from governance import services
        from governance.errors import GovernanceError

        user = self._user(username, action="cancel a build")
        try:
            services.release_build_cancel(release=release, acting_user=user)
        except GovernanceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"cancel requested for release #{release.pk}")

    def _follow(self, release_id: int, bars: _Bars) -> Any:
        from governance.models import Release, ReleaseState

        last: tuple[Any, ...] = ()
        try:
            while True:
                release = Release.objects.get(pk=release_id)
                progress = release.build_progress or {}
                state = (
                    progress.get("phase"),
                    progress.get("rows_done"),
                    progress.get("rows_total"),
                )
                if state != last and progress.get("phase") not in (
                    None,
                    "queued",
                    "done",
                    "failed",
                ):
                    bars(str(state[0]), int(state[1] or 0), state[2])
                    last = state
                if release.state != ReleaseState.BUILDING:
                    return release
                time.sleep(0.5)
        finally:
            bars.close()

    def _summary(self, release: Any) -> None:
        from governance.models import ReleaseState

        if release.state == ReleaseState.BUILT:
            report = release.privacy_report or {}
            self.stdout.write(
                self.style.SUCCESS(
                    f"release #{release.pk} built in {release.files_dir}: "
                    f"{report.get('records_released')} of {report.get('records_in')} records "
                    f"released, {report.get('records_suppressed')} suppressed; "
                    f"plan {release.plan_sha256[:12]}, manifest {release.manifest_sha256[:12]}"
                )
            )
            return
        raise CommandError(
            f"release #{release.pk} is {release.state}: {release.build_error or 'no error recorded'}"
        )
