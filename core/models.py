"""Abstract models every stage app shares, and the public pages' request counters (core imports no app)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AmendmentBase(models.Model):
    """A correction or addendum to a signed record, kept beside the original (ONC (d)(4)).

    The fields every amendment has, identical across apps; each app adds the link to its record,
    its own kinds, ordering, constraints and the append-only trigger."""

    reason = models.CharField(max_length=300)
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    content_sha256 = models.CharField(max_length=64)

    class Meta:
        abstract = True


class RequestCount(models.Model):
    """The public pages' rate-limit counters (``core.ratelimit``): one row per keyed hash of what
    is counted, with the count and the end of its window. In the database, not the cache, so every
    web process counts in one place even without a shared cache."""

    key = models.CharField(max_length=64, primary_key=True)
    window_ends = models.DateTimeField()
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["window_ends"], name="requestcount_window_ends")]

    def __str__(self) -> str:
        return f"{self.count} until {self.window_ends:%Y-%m-%d %H:%M}"
