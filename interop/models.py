"""Who registered each API client, and when it was retired.

The client itself is django-oauth-toolkit's ``Application`` (its secret stored hashed); this row
keeps what the toolkit has no place for. A client is retired, never deleted, so the audit trail's
references to its tokens' reads keep their meaning."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ClientRegistration(models.Model):
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.PROTECT, related_name="registration"
    )
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField()
    purpose = models.CharField(max_length=300, help_text="What the client is for, in a sentence.")
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retired_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(retired_at__isnull=True, retired_by__isnull=True, retired_reason="")
                | models.Q(retired_at__isnull=False, retired_by__isnull=False) & ~models.Q(retired_reason=""),
                name="clientregistration_retired_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.application.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None
