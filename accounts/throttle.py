"""One throttle for every password check: sign-in, break-glass re-entry, a ledger witness's
confirmation, and a password change (ASVS 6.3.1; security-reference A3).

Each attempt is counted for the *account* whose password is tried, atomically and **before** the
password is evaluated: a cache counter (``cache.incr``; Redis in production through CACHE_URL,
so every worker shares it) that lives ``PASSWORD_CHECK_WINDOW_MINUTES`` from the first attempt.
Once ``PASSWORD_CHECK_LIMIT`` attempts are in the window the rest are refused without looking at
the password, even the right one, until the window has passed; so twelve guesses sent at once
evaluate at most the limit. The count lives outside the database on purpose: a service that
raises after a wrong password rolls its transaction back, and a counter in it with it. A right
password clears the count.

django-axes still locks a username and address pair at sign-in and keeps its records; this
throttle adds the per-account limit that holds across addresses and across the other forms.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied


class TooManyPasswordAttempts(Exception):
    """This account's password was tried too often in the window: nothing was evaluated."""

    def __init__(self) -> None:
        minutes = settings.PASSWORD_CHECK_WINDOW_MINUTES
        super().__init__(f"Too many wrong passwords for this account. Try again in {minutes} minutes.")


def _key(user) -> str:
    return f"password-checks:{user.pk}"


def count(key: str, *, window_seconds: int) -> int:
    """Count one event for ``key`` and return the events in its window (atomic in the cache: the
    window starts at the key's first event and the count goes with it)."""
    cache.add(key, 0, timeout=window_seconds)  # starts the window; a no-op while it lasts
    try:
        return cache.incr(key)
    except ValueError:  # expired or evicted between add and incr: this event opens a new window
        cache.add(key, 0, timeout=window_seconds)
        return cache.incr(key)


def _count_attempt(user) -> int:
    return count(_key(user), window_seconds=settings.PASSWORD_CHECK_WINDOW_MINUTES * 60)


def locked(user) -> bool:
    """Whether the next check of ``user``'s password would be refused (for messages; not a check)."""
    return (cache.get(_key(user)) or 0) >= settings.PASSWORD_CHECK_LIMIT


def check_password(*, user, password: str) -> bool:
    """Whether ``password`` is ``user``'s, counted against the account's throttle first.

    Raises :class:`TooManyPasswordAttempts` when the limit is reached (the password unchecked)."""
    if _count_attempt(user) > settings.PASSWORD_CHECK_LIMIT:
        raise TooManyPasswordAttempts
    if user.check_password(password or ""):
        cache.delete(_key(user))
        return True
    return False


class ThrottledModelBackend(ModelBackend):
    """Django's username-and-password backend with its password check through the throttle.

    A throttled attempt raises PermissionDenied, which ends authentication (no later backend is
    asked) and is recorded as a failed sign-in."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        UserModel = get_user_model()  # noqa: N806 - Django's own name for it
        if username is None:
            username = kwargs.get(UserModel.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = UserModel._default_manager.get_by_natural_key(username)
        except UserModel.DoesNotExist:
            make_password(password)  # as long as a real check, so answer time names no account
            return None
        try:
            right = check_password(user=user, password=password)
        except TooManyPasswordAttempts as exc:
            raise PermissionDenied from exc
        return user if right and self.user_can_authenticate(user) else None
