"""What runs after every recorded questionnaire response."""

from __future__ import annotations

from assessments.models import InstrumentResponse
from followups.services.alerts import safety_check
from followups.services.boosters import booster_evaluate


def after_response(*, response: InstrumentResponse, clinician=None) -> None:
    safety_check(response=response, clinician=clinician)
    if response.instrument == "phq9":
        booster_evaluate(response=response)
