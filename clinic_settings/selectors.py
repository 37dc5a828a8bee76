"""Reads of the settings pages."""

from __future__ import annotations

from django.db import models

from clinic_settings.pages import Policy


def policy_row(policy: Policy) -> models.Model:
    """The policy's one row (id 1), made with its defaults on first use as the admin did."""
    return policy.model._default_manager.get_or_create(pk=1)[0]
