"""What the care team hooks into below it: drafting the milestone's progress letters once an
infusion session is signed (infusions' "session signed" hook), and the links an appointment's page
shows (book an integration visit after an infusion, open an integration visit's note), so neither
infusions nor scheduling imports anything of it."""

from __future__ import annotations

from infusions import signing
from scheduling.hooks import register_record_links


def connect() -> None:
    # lazy: services and selectors import the models, which are not ready when the config is
    from care_team import selectors, services

    signing.register_signed(services.draft_after_signing)
    register_record_links(selectors.appointment_record_links)
