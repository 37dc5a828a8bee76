"""The audit trail's vocabulary: what was done (``Verb``) to which kind of data (``Category``).

``accounts.audit.record`` takes only these members, never a bare string, so a typo or a new word
fails where it is written instead of being stored where no filter of the audit report finds it.
The stored values are the members' plain strings (the hash chain covers them), so a member's
value never changes; a new word is a new member (and a choices-only migration of
``AuditEvent``)."""

from __future__ import annotations

from django.db import models


class Verb(models.TextChoices):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    SIGN = "sign"
    DELETE = "delete"
    PRINT = "print"
    EXPORT = "export"
    QUERY = "query"
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login_failed"
    PRIVILEGE_CHANGE = "privilege_change"
    BREAK_GLASS = "break_glass"


class Category(models.TextChoices):
    DEMOGRAPHICS = "demographics"
    SCHEDULING = "scheduling"
    CLINICAL = "clinical"
    CONTROLLED_SUBSTANCE = "controlled_substance"
    SECURITY = "security"
    AUDIT = "audit"
    CONFIGURATION = "configuration"
    BILLING = "billing"
