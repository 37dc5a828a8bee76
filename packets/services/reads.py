"""Reads of packet data that are audited (each page that shows patient data writes one event)."""

from __future__ import annotations

from accounts import audit
from accounts.models import User
from core.audit import Category


def packet_panel_viewed(*, patient, by: User) -> None:
    audit.record_read(
        actor=by, action="packets.panel.viewed", target=patient, patient=patient, category=Category.SCHEDULING
    )


def reported_history_viewed(*, consultation, by: User) -> None:
    audit.record_read(
        actor=by,
        action="packets.reported.viewed",
        target=consultation,
        patient=consultation.patient,
        category=Category.CLINICAL,
    )
