"""A patient reaching the clinic through a secret link, without signing in (security-reference A9):
the steps every link flow shares, so each app keeps only what its link is for.

1. ``LinkFlow.for_token`` finds the link a token opens: only the token's hash is stored
   (``core.tokens``), and an empty or oversized token matches nothing.
2. The view (a ``public_page``) starts a fresh session that remembers the matched link (``begin``): a staff session
   is signed out, so a staff scope never mixes with a patient's, and the token is not spent, so a
   messaging app's link preview cannot burn it.
3. ``LinkFlow.check_identity`` asks the date of birth under a row lock: a link the app says
   cannot be used is refused; a wrong date counts towards locking the link, is audited as denied
   and raises ``"identity"`` (the count stands though the call fails); a right one lets the app
   mark the link opened and is audited, as the patient the link names (no staff actor).
4. The view scopes a fresh session to the link's id and nothing else (``scope``).

The reminder's confirm/cancel link asks no date of birth and shares only step 1. For the others,
each app's link model has ``patient`` and ``dob_failures``; the app says what makes its link
unusable and what opening it records, and names its audit events ``<audit_action>.identity_failed``
and ``<audit_action>.opened``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required
from django.db import models, transaction
from django.db.models import F

from accounts import audit
from core import tokens
from core.audit import Category, Verb

# Tokens are 43 characters (``core.tokens``); anything much longer is not one, and is not hashed.
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class LinkFlow:
    """One kind of patient link: its model, the field holding its token's hash, how its audit
    events are named and filed, and the app's own "cannot be used" exception."""

    model: type[models.Model]
    audit_action: str
    category: Category
    refused: type[Exception]
    hash_field: str = "token_sha256"

    def for_token(self, token: str) -> Any:
        """The link ``token`` opens (usable or not, with its patient), or None."""
        return for_token(self.model, token, hash_field=self.hash_field)

    def check_identity(
        self,
        *,
        link_id: int,
        date_of_birth,
        problem: Callable[[Any], str],
        opened: Callable[[Any], None],
        missing: str = "",
    ) -> Any:
        """The date-of-birth check of a link whose token the caller already matched.

        ``problem(link)`` says why the locked link cannot be used ("" when it can); ``opened(link)``
        records a right answer on it. Raises ``refused(missing)`` for no such link,
        ``refused(<problem>)`` for an unusable one and ``refused("identity")`` for a wrong date
        (after committing the failure count and its audit event)."""
        rows = self.model._default_manager
        with transaction.atomic():
            link: Any = rows.select_for_update().select_related("patient").filter(pk=link_id).first()
            if link is None:
                raise self.refused(missing)
            found = problem(link)
            if not found and date_of_birth != link.patient.date_of_birth:
                rows.filter(pk=link.pk).update(dob_failures=F("dob_failures") + 1)
                self._audit(link, "identity_failed", outcome="denied")
                found = "identity"
            if not found:
                opened(link)
                self._audit(link, "opened")
        if found:
            raise self.refused(found)
        return link

    def _audit(self, link, what: str, **kwargs) -> None:
        audit.record(
            actor=None,
            action=f"{self.audit_action}.{what}",
            verb=Verb.READ,
            category=self.category,
            target=link,
            patient=link.patient,
            **kwargs,
        )


def public_page(view):
    """A link page: no staff sign-in; never cached; the token URL never leaks in a Referer header.
    (The token-free pages keep the site's ``same-origin`` policy: under ``no-referrer`` Chromium
    sends ``Origin: null`` with a form, which Django's CSRF check rightly refuses.)"""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if "token" in kwargs:
            response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "no-store"
        return response

    return login_not_required(wrapped)


def for_token(
    model: type[models.Model], token: str, *, hash_field: str = "token_sha256", related: tuple[str, ...] = ("patient",)
) -> Any:
    """The ``model`` row ``token`` opens (usable or not, with ``related``), or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return model._default_manager.select_related(*related).filter(**{hash_field: tokens.hash_token(token)}).first()


def begin(request, key: str, link_id: int) -> None:
    """A fresh session that remembers a matched link until its date of birth is checked."""
    if request.user.is_authenticated:
        logout(request)  # a staff session never carries a patient's scope, and vice versa
    request.session.flush()
    request.session[key] = link_id


def pending(request, key: str) -> int | None:
    """The link ``begin`` remembered, or None."""
    link_id = request.session.get(key)
    return link_id if isinstance(link_id, int) and not isinstance(link_id, bool) else None


def scope(request, key: str, link_id: int) -> None:
    """A fresh session scoped to the verified link's id and nothing else."""
    request.session.flush()
    request.session[key] = link_id
