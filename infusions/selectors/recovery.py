"""Discharge readiness, computed from the record (never ticked by hand)."""

from __future__ import annotations

from datetime import datetime, timedelta

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


def shown_status(
    session, *, at: datetime, readiness_now: rules.Readiness | None = None, policy=None, responses: list | None = None
) -> rules.SessionStatus:
    """The status as of ``at``, for the pages: a recovering session whose criteria all hold
    now (the observation time has just run out, nothing posted) shows as discharge-ready and
    offers Discharge.

    Computed, never written on a read: a page view (or the board's refresh) that moved the
    status would record whoever happened to look as the one who moved it, and a GET would
    write. The recorded move happens when someone acts: a reading, a score or the discharge
    details re-judge readiness (``readiness_refresh``), and discharging a session that is
    still recorded as recovering records discharge-ready first, by the person discharging,
    under the same gate (``session_transition``). Time passing can only make the criteria
    hold (the observation time is the one criterion the clock changes), so a recovering
    session inside its observation time is answered without loading anything; a recorded
    discharge-ready one is judged again (a setting may have changed since). ``responses``: the
    session's discharge scores when the caller read them already (the board, for every chair)."""
    status = rules.SessionStatus(session.status)
    if status not in (rules.SessionStatus.RECOVERING, rules.SessionStatus.DISCHARGE_READY) or session.ended_at is None:
        return status
    policy = policy or session_selectors.policy()
    if status == rules.SessionStatus.RECOVERING and at - session.ended_at < timedelta(
        minutes=policy.min_observation_min
    ):
        return status
    # A recorded discharge-ready is judged again too: a setting changed since (a longer
    # observation time) can take it back, and the page must not say "Discharge-ready" then.
    judged = (
        readiness_now if readiness_now is not None else readiness(session, at=at, policy=policy, responses=responses)
    )
    return rules.SessionStatus.DISCHARGE_READY if judged.ready else rules.SessionStatus.RECOVERING
