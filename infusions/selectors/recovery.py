"""Discharge readiness, computed from the record (never ticked by hand)."""

from __future__ import annotations

from datetime import datetime

from assessments.selectors import current_responses_for
from infusions import rules
from infusions.selectors import sessions as session_selectors


def discharge_scores(session) -> list:
    """The session's Aldrete/PADSS responses, oldest first."""
    return [r for r in current_responses_for(subject=session) if r.instrument in rules.DISCHARGE_SCORE_CODES]


def readiness(session, *, at: datetime, responses: list | None = None, policy=None) -> rules.Readiness:
    policy = policy or session_selectors.policy()
    tool = policy.discharge_tool
    scores = [r for r in (responses if responses is not None else discharge_scores(session)) if r.instrument == tool]
    latest_score = scores[-1] if scores else None
    readings = session_selectors.readings(session)
    minutes = None
    if session.ended_at is not None:
        minutes = int((at - session.ended_at).total_seconds() // 60)
    result = rules.discharge_readiness(
        score_code=tool,
        score_total=latest_score.total if latest_score else None,
        # When each was written down, not the minute typed on it: a reading entered after
        # the score (even one back-dated into the same minute) is one the score never saw.
        score_taken_at=latest_score.recorded_at if latest_score else None,
        latest_reading_at=max((r.entered_at for r in readings), default=None),
        minutes_since_end=minutes,
        min_observation_min=policy.min_observation_min,
        latest_vitals=rules.latest_values([r.as_rule_reading() for r in readings if r.phase == "post"]),
        baseline_vitals=session_selectors.baseline_reading(session),
        escort_present=session.escort_present_at_discharge,
        instructions_given=session.instructions_given_at is not None,
        open_adverse_events=[str(e) for e in session_selectors.adverse_events(session) if e.is_open],
        open_alerts=[a.message for a in session_selectors.alerts(session) if not a.action],
        threshold=policy.discharge_min_score,
        tolerance=policy.discharge_tolerance,
        limits=policy.alert_thresholds,
        cadss6_at_most=policy.discharge_cadss6_at_most,
    )
    if result.ready and not session.escort_name.strip():
        return rules.Readiness(False, ("Escort not named",), result.criteria)
    return result
