"""Abstract models every stage app shares (core imports no app)."""

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
