"""One way to amend a signed record: refuse a draft, require a reason and text, hash, insert, audit.

Each app keeps its public service (its permission check, its kinds, what its hash covers and its
audit action) as a thin wrapper around ``amend``. Call inside a transaction (the wrappers own it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.hashing import content_sha256

if TYPE_CHECKING:  # core sits below accounts: the acting user is the auth base class here
    from django.contrib.auth.base_user import AbstractBaseUser

A = TypeVar("A", bound=models.Model)


def amend(
    record: Any,
    *,
    model: type[A],
    link: str,
    by: AbstractBaseUser,
    reason: str,
    text: str,
    content: Callable[[str, str, datetime], dict],
    on_created: Callable[[A], object],  # its result (an audit event, say) is not used
    unsigned: str,
    missing: Mapping[str, str] | str,
    errors: Mapping[str, str] | None = None,
    fields: Mapping[str, Any] | None = None,
    validate: bool = False,
) -> A:
    """Insert an amendment of the signed ``record`` and audit it through ``on_created``.

    ``link`` names the amendment's foreign key to ``record``; ``content(reason, text, at)`` is what
    the hash covers; ``missing`` is the message for an empty reason or text (one text, or one per
    field); ``errors`` are the caller's own field problems, reported together with the missing ones;
    ``fields`` are the app's extra columns (kind, section). ``validate`` runs ``full_clean``."""
    if not record.is_signed:
        raise ValidationError(unsigned)
    reason, text = reason.strip(), text.strip()
    problems: dict[str, str] = {}
    if isinstance(missing, str):
        if not reason or not text:
            raise ValidationError(missing)
    else:
        if not reason:
            problems["reason"] = missing["reason"]
        if not text:
            problems["text"] = missing["text"]
    problems.update(errors or {})
    if problems:
        raise ValidationError(problems)
    at = timezone.now()
    amendment = model(
        **{link: record},
        **(fields or {}),
        reason=reason,
        text=text,
        author=by,
        at=at,
        content_sha256=content_sha256(content(reason, text, at)),
    )
    if validate:
        amendment.full_clean()
    amendment.save(force_insert=True)
    on_created(amendment)
    return amendment
