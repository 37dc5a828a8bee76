"""The intake consultation, its screening and sign-off, amendments, and the treatment plan.

Immutability is the database's job (security-reference R8): a pgtrigger refuses any
UPDATE or DELETE of a signed consultation, and the child tables (medications, trials)
refuse inserts, updates and deletes once their consultation is signed. Amendments and
plan status changes are append-only. Writes go through ``consultations.services``.
"""

from consultations.models.configuration import Protocol, ScreeningPolicy
from consultations.models.consultation import (
    DIRECT_FACTS,
    Amendment,
    AntidepressantTrial,
    Consultation,
    ConsultationDraft,
    ConsultationStatus,
    Medication,
)
from consultations.models.plan import PlanStatusChange, StandingOrder, TreatmentPlan

__all__ = [
    "DIRECT_FACTS",
    "Amendment",
    "AntidepressantTrial",
    "Consultation",
    "ConsultationDraft",
    "ConsultationStatus",
    "Medication",
    "PlanStatusChange",
    "Protocol",
    "StandingOrder",
    "ScreeningPolicy",
    "TreatmentPlan",
]
