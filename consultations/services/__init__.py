"""Writes for consultations and plans: each atomic, permission-checked and audited.

Views, the admin and commands call these; nothing else writes these tables.
"""

from consultations.services.configuration import protocol_save, screening_policy_update
from consultations.services.intake import (
    ConsultationSigned,
    SaveOutcome,
    SignRefused,
    StaleConsultation,
    StalePage,
    amendment_add,
    consultation_draft_save,
    consultation_open,
    consultation_save,
    consultation_screen,
    consultation_sign,
    consultation_start,
    consultation_viewed,
    patient_panel_viewed,
)
from consultations.services.orders import order_sign
from consultations.services.plans import plan_create, plan_transition, plan_viewed

__all__ = [
    "ConsultationSigned",
    "SaveOutcome",
    "SignRefused",
    "StaleConsultation",
    "StalePage",
    "amendment_add",
    "consultation_draft_save",
    "consultation_open",
    "consultation_save",
    "consultation_screen",
    "consultation_sign",
    "consultation_start",
    "consultation_viewed",
    "order_sign",
    "patient_panel_viewed",
    "plan_create",
    "plan_transition",
    "plan_viewed",
    "protocol_save",
    "screening_policy_update",
]
