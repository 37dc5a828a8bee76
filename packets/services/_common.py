"""What every packet service shares: the permission check."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from accounts.models import User


def require(by: User, *perms: str) -> None:
    if not all(by.has_perm(p) for p in perms):
        raise PermissionDenied
