"""A signed-in request's role and permissions, kept in its session until they change.

Without this every page reads the user's groups (for the role) and the user's and groups'
permissions (for the navigation and each ``has_perm``): three queries on every request, htmx
polls included. The session keeps what they returned with a stamp of the user's row, which the
request reads anyway: ``access_version`` (bumped by :func:`access_changed` on any change of the
user's groups or permissions, or of a group's permissions, name or existence) and
``is_superuser``. A stamp that no longer matches is recomputed on the spot, so a permission
change takes effect at the user's next request (ASVS 8.3.2). A deactivated account never gets
this far: the session's user read refuses it (ModelBackend.get_user).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db.models import F, Q

from accounts.models import User
from accounts.roles import role_of

SESSION_KEY = "grace_access"
# How long an API user's role and permissions stay in the cache when nothing changes them (a change
# makes a new key at once): an hour, so a busy client reads them once an hour, not once a request.
CACHE_SECONDS = 3600


def _stamp(user) -> list:
    return [user.access_version, user.is_superuser]


def _apply(user, kept: dict) -> None:
    user._role_cache = kept["role"]
    user._user_perm_cache = set(kept["user_perms"])
    user._group_perm_cache = set(kept["group_perms"])
    user._perm_cache = user._user_perm_cache | user._group_perm_cache


def _compute(user) -> dict:
    role = role_of(user)
    ModelBackend().get_all_permissions(user)  # fills the backend's per-object caches
    return {
        "stamp": _stamp(user),
        "role": role,
        "user_perms": sorted(user._user_perm_cache),
        "group_perms": sorted(user._group_perm_cache),
    }


def attach(request) -> None:
    """Middleware step: put the cached role and permissions on ``request.user``, or compute and keep them."""
    user = request.user
    if not user.is_authenticated:
        return
    cached = request.session.get(SESSION_KEY)
    if cached and cached.get("stamp") == _stamp(user):
        _apply(user, cached)
        return
    request.session[SESSION_KEY] = _compute(user)


def attach_user(user) -> None:
    """The same for a request with no session (an API bearer token): kept in the cache (shared by
    every web process with Redis) under a key that holds the stamp, so a change is seen at once."""
    key = f"grace:access:{user.pk}:{':'.join(str(part) for part in _stamp(user))}"
    kept = cache.get(key)
    if kept is None:
        kept = _compute(user)
        cache.set(key, kept, CACHE_SECONDS)
    _apply(user, kept)


def access_changed(*, user_ids: Iterable[int] = (), group_ids: Iterable[int] = ()) -> None:
    """Mark these users, and every member of these groups, as holding other permissions now."""
    users, groups = list(user_ids), list(group_ids)
    if users or groups:
        User.objects.filter(Q(pk__in=users) | Q(groups__in=groups)).update(access_version=F("access_version") + 1)
