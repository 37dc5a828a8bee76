"""The role table grants the ledger's permissions (the access matrix's admin is a superuser,
so this checks the Administrator role itself)."""

import pytest

from accounts.roles import Role
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MANAGE, RECORD = "controlled_substances.manage_stock", "controlled_substances.record_administration"


@pytest.mark.parametrize(
    ("role", "manage", "record"),
    [
        (Role.ADMINISTRATOR, True, False),
        (Role.NURSE, False, True),
        (Role.PRESCRIBER, False, True),
        (Role.FRONT_DESK, False, False),
    ],
)
def test_each_role_gets_exactly_its_ledger_permissions(role, manage, record):
    user = UserFactory(role=role)
    assert user.has_perm(MANAGE) is manage
    assert user.has_perm(RECORD) is record
