"""Writes of the infusion day: each atomic, permission-checked and audited."""

from infusions.services.dosing import dose_calculate, dose_verify
from infusions.services.flowsheet import (
    ReadingNeedsConfirmation,
    adverse_event_outcome,
    adverse_event_record,
    alert_action,
    rate_change_record,
    reading_record,
)
from infusions.services.lifecycle import (
    amendment_add,
    session_check_in,
    session_container_record,
    session_open,
    session_sign,
    session_transition,
    session_viewed,
)
from infusions.services.precheck import precheck_clear, precheck_defer, precheck_record, prescriber_request
from infusions.services.recovery import (
    discharge_details_record,
    instrument_record,
    readiness_refresh,
    session_discharge,
)

__all__ = [
    "ReadingNeedsConfirmation",
    "adverse_event_outcome",
    "adverse_event_record",
    "alert_action",
    "amendment_add",
    "discharge_details_record",
    "dose_calculate",
    "dose_verify",
    "instrument_record",
    "precheck_clear",
    "precheck_defer",
    "prescriber_request",
    "precheck_record",
    "rate_change_record",
    "readiness_refresh",
    "reading_record",
    "session_check_in",
    "session_container_record",
    "session_discharge",
    "session_open",
    "session_sign",
    "session_transition",
    "session_viewed",
]
