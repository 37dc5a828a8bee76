"""Staff accounts: the four demo logins (when allowed) and a few more clinicians."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from accounts.roles import GROUP_NAMES, Role
from demo.context import SeedContext

DEMO_ACCOUNTS = [
    # username, role, first, last, credentials, superuser
    ("frontdesk", Role.FRONT_DESK, "Fran", "Desk", "", False),
    ("nurse", Role.NURSE, "Noor", "Haddad", "RN", False),
    ("clinician", Role.PRESCRIBER, "Casey", "Rivera", "MD", False),
    ("admin", Role.ADMINISTRATOR, "Alex", "Morgan", "", True),
]
# Colleagues who appear in the schedule; they cannot sign in (no usable password).
OTHER_STAFF = [
    ("nurse.okafor", Role.NURSE, "Ada", "Okafor", "RN"),
    ("nurse.lindqvist", Role.NURSE, "Sara", "Lindqvist", "RN"),
    ("dr.chen", Role.PRESCRIBER, "Wei", "Chen", "MD"),
]


def seed(ctx: SeedContext) -> None:
    User = get_user_model()
    groups = {role: Group.objects.get(name=name) for role, name in GROUP_NAMES.items()}
    if ctx.allow_demo_accounts:
        password = make_password(settings.DEMO_PASSWORD)
        for username, role, first, last, creds, superuser in DEMO_ACCOUNTS:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "credentials": creds,
                    "email": f"{username}@grace-mindcare.invalid",
                    "password": password,
                    "is_staff": superuser,
                    "is_superuser": superuser,
                    "chain_wide": True,  # the demo is one clinic
                },
            )
            user.groups.set([groups[role]])
            ctx.staff[username] = user
    for username, role, first, last, creds in OTHER_STAFF:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "credentials": creds, "chain_wide": True},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.set([groups[role]])
        ctx.staff[username] = user
