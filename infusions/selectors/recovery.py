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
    latest_score = scores[-1].total if scores else None
    post = [r for r in session_selectors.readings(session) if r.phase == "post"]
    minutes = None
    if session.ended_at is not None:
        minutes = int((at - session.ended_at).total_seconds() // 60)
    if policy.min_observation_min is None:
        result = rules.Readiness(
            False, ("Minimum observation time not set (administrator setting; no sourced IV default)",)
        )
    else:
        result = rules.discharge_readiness(
            score_code=tool,
            score_total=latest_score,
            minutes_since_end=minutes,
            min_observation_min=policy.min_observation_min,
            latest_vitals=post[-1].as_rule_reading() if post else None,
            baseline_vitals=session_selectors.baseline_reading(session),
            escort_present=session.escort_present_at_discharge,
            instructions_given=session.instructions_given_at is not None,
            threshold=policy.discharge_min_score,
            tolerance=policy.discharge_tolerance,
        )
    if result.ready and not session.escort_name.strip():
        return rules.Readiness(False, ("Escort not named",))
    return result
