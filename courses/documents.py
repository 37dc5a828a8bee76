"""The course's part of documents: the course summary PDF carries the patient's cumulative
exposure and the titration steps (a part of the infusions app's kind)."""

from __future__ import annotations

from typing import Any

from courses import selectors
from courses.models import TitrationReview
from documents import registry
from documents.models import DocumentKind
from documents.snapshots import local_text, user_text


def exposure_part(plan) -> dict[str, Any]:
    """Cumulative exposure from the delivered amounts, and each titration review of the plan."""
    found = selectors.exposure_of(plan.patient)
    reviews = TitrationReview.objects.filter(plan=plan).select_related("reviewed_by").order_by("reviewed_at", "id")
    return {
        "total_mg": str(found.total_mg),
        "total_mg_per_kg": str(found.total_mg_per_kg),
        "infusions_30d": found.infusions_30d,
        "infusions_90d": found.infusions_90d,
        "infusions_365d": found.infusions_365d,
        "infusions_lifetime": found.infusions_lifetime,
        "mg_90d": str(found.mg_90d),
        "last_given": local_text(found.last_given_at, "SHORT_DATE_FORMAT"),
        "titration": [
            {
                "date": local_text(r.reviewed_at, "SHORT_DATE_FORMAT"),
                "review": f"{r.get_kind_display()} after infusion {r.after_infusion}",
                "decision": r.get_decision_display(),
                "dose": f"{r.dose_before.normalize()} → {r.dose_after.normalize()}",
                "by": user_text(r.reviewed_by),
            }
            for r in reviews[:50]
        ],
    }


registry.register_part(DocumentKind.COURSE_SUMMARY, "exposure", exposure_part)
