"""Writes of the pre-visit packet: each atomic and audited; views, tasks and the demo call these."""

from packets.services.booking import packet_for_booking, packet_wanted
from packets.services.corrections import APPLY, DISMISS, Correction, detail_correction_decide, pending_corrections
from packets.services.history import reported_fact_accept, reported_medication_accept
from packets.services.links import (
    LinkRefused,
    NewPacket,
    packet_create,
    packet_exchange,
    packet_for_token,
    packet_issue,
    packet_message,
    packet_revoke,
    packet_send,
    packet_usable,
    rate_limited,
)
from packets.services.reads import packet_panel_viewed, reported_history_viewed
from packets.services.steps import (
    DETAIL_FIELDS,
    QuestionnairesResult,
    consent_step_done,
    current_details,
    details_submit,
    history_submit,
    instructions_submit,
    questionnaires_submit,
)

__all__ = [
    "APPLY",
    "DETAIL_FIELDS",
    "DISMISS",
    "Correction",
    "detail_correction_decide",
    "pending_corrections",
    "LinkRefused",
    "NewPacket",
    "QuestionnairesResult",
    "consent_step_done",
    "current_details",
    "details_submit",
    "history_submit",
    "instructions_submit",
    "packet_create",
    "packet_exchange",
    "packet_for_booking",
    "packet_for_token",
    "packet_issue",
    "packet_message",
    "packet_panel_viewed",
    "packet_revoke",
    "packet_send",
    "packet_usable",
    "packet_wanted",
    "questionnaires_submit",
    "rate_limited",
    "reported_fact_accept",
    "reported_history_viewed",
    "reported_medication_accept",
]
