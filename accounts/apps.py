from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts, roles and audit"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import roles, signals

        signals.connect()
        # Groups are created by a data migration; their permissions are synced
        # after every migrate so that permissions added by later apps land too.
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="grace_sync_role_permissions")
