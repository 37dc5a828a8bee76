"""What runs after a response recorded at a follow-up visit (the safety check runs for
every response, on every channel, through the ``assessments`` hook)."""

from __future__ import annotations

from assessments.models import InstrumentResponse
from followups.services.boosters import booster_evaluate


def after_response(*, response: InstrumentResponse) -> None:
    if response.instrument == "phq9":
        booster_evaluate(response=response)
