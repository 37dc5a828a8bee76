"""The scores parts of documents (reads only): one response as a row, a patient's outcomes table.

Used by the stage apps' document builders (consultation summary, course summary,
infusion record); assessments registers no kind of its own.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from assessments.instruments import CHANGE_CODES, INSTRUMENTS, change
from assessments.selectors import patient_responses
from documents.snapshots import local_text, yes_no

OUTCOME_CODES = ("phq9", "gad7", "madrs", "qids_sr16", "pcl5", "nrs_pain")


def response_row(response) -> dict[str, Any]:
    inst = INSTRUMENTS[response.instrument]
    band = next((b for b in inst.bands if b.name == response.band), None)
    return {
        "code": response.instrument,
        "name": inst.name,
        "total": response.total,
        "total_max": inst.total_max,
        "band": response.band,
        "band_range": f"{band.low}–{band.high}" if band else "",
        "flags": sorted(response.flags),
        "context": response.get_context_display(),
        "administered_at": local_text(response.administered_at),
        "administered_on": timezone.localdate(response.administered_at).isoformat(),
        "source": inst.source,
    }


def outcome_table(patient) -> dict[str, Any]:
    """Scores per instrument (oldest first), change from baseline, response and remission."""
    instruments = []
    for code in OUTCOME_CODES:
        found = list(reversed(patient_responses(patient=patient, code=code, limit=200)))
        if not found:
            continue
        baseline = next((r for r in reversed(found) if r.context == "baseline"), found[0])
        latest = found[-1]
        outcome = (
            change(code, baseline.total, latest.total) if code in CHANGE_CODES and latest is not baseline else None
        )
        instruments.append(
            {
                "code": code,
                "name": INSTRUMENTS[code].name,
                "total_max": INSTRUMENTS[code].total_max,
                "rows": [response_row(r) for r in found],
                "baseline_total": baseline.total,
                "latest_total": latest.total,
                "percent_change": outcome.percent_change if outcome else None,
                "response": yes_no(outcome.response) if outcome and outcome.response is not None else "not applicable",
                "remission": yes_no(outcome.remission)
                if outcome and outcome.remission is not None
                else "not applicable",
                "bands": [[b.low, b.high, b.name] for b in INSTRUMENTS[code].bands],
            }
        )
    return {"instruments": instruments}
