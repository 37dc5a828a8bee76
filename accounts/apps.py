from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AuditedAdminConfig(admin_apps.AdminConfig):
    """The Django admin on a site that audits every model page (accounts.admin_site)."""

    default = False  # named in INSTALLED_APPS; AccountsConfig stays this module's default
    default_site = "accounts.admin_site.AuditedAdminSite"


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts, roles and audit"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import audit, checks, roles, signals  # noqa: F401 - checks registers the deploy checks

        signals.connect()
        # Groups are created by a data migration; their permissions are synced
        # after every migrate so that permissions added by later apps land too.
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="grace_sync_role_permissions")
        # A flushed test database (TRUNCATE, then post_migrate) gets its chain head back at once,
        # so the first audit write after it costs what every other one does.
        post_migrate.connect(audit.start_chain_head, sender=self, dispatch_uid="grace_audit_chain_head")
