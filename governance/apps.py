from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        # Release-build hooks of the django-q2 workers (a restarted worker fails lost builds).
        from governance.jobs import connect_worker_signals

        connect_worker_signals()
