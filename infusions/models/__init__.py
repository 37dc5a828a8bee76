"""The infusion day: session, status log, pre-check, dose, flowsheet, adverse events,
amendments, and the clinic's infusion policy.

Immutability is the database's job (security-reference R8): a pgtrigger refuses any
UPDATE or DELETE of a signed session and every child table refuses changes once its
session is signed. Writes go through ``infusions.services``.
"""

from infusions.models.flowsheet import (
    OPEN_OUTCOMES,
    READING_FIELDS,
    READING_LABELS,
    AdverseEvent,
    AdverseEventKind,
    DrugGiven,
    FlowsheetReading,
    Outcome,
    RateChange,
    RescueDrug,
    Route,
    SessionAlert,
    Severity,
)
from infusions.models.policy import DischargeTool, InfusionPolicy
from infusions.models.session import (
    IN_CHAIR_STATUSES,
    OPEN_STATUSES,
    RECOVERING_STATUSES,
    STOP_REASON_CHOICES,
    DoseCalculation,
    InfusionSession,
    PreCheck,
    SessionAmendment,
    SessionStatusChoice,
    SessionTransition,
)

__all__ = [
    "IN_CHAIR_STATUSES",
    "OPEN_OUTCOMES",
    "OPEN_STATUSES",
    "READING_FIELDS",
    "READING_LABELS",
    "RECOVERING_STATUSES",
    "STOP_REASON_CHOICES",
    "AdverseEvent",
    "AdverseEventKind",
    "DischargeTool",
    "DoseCalculation",
    "DrugGiven",
    "FlowsheetReading",
    "InfusionPolicy",
    "InfusionSession",
    "Outcome",
    "PreCheck",
    "RateChange",
    "RescueDrug",
    "Route",
    "SessionAlert",
    "SessionAmendment",
    "SessionStatusChoice",
    "SessionTransition",
    "Severity",
]
