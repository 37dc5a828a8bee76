"""The packet's consent step, answered by the consents app (packets sits above it, so it may ask).

Registered in ``PacketsConfig.ready`` through ``hooks.register_consent_step``. For the patient of a
packet: each published consent that is not signed on its current version is offered online through
a consent link the packet has already verified (its own date-of-birth check), opened once from the
packet's session and returning to the packet's consent step; once nothing is left the step is
marked done (also when the clinic has published nothing to sign). Nobody to answer for the link
(a packet sent automatically for a visit with no clinician): no online step, the consent is taken
at the visit.
"""

from __future__ import annotations

from django.urls import reverse

from consents import selectors as consent_selectors
from consents import services as consent_services
from consents.rules import ConsentState
from packets.hooks import ConsentStep
from packets.services import consent_step_done


def consent_step(packet) -> ConsentStep | None:
    statuses = consent_selectors.consent_status(packet.patient)
    published = [s for s in statuses.values() if s.state != ConsentState.NONE_PUBLISHED]
    waiting = [s.kind for s in published if not s.is_current]
    here = reverse("packets:step", args=["consent"])
    if not waiting:  # all signed, or the clinic publishes nothing to sign: the step is done
        if packet.consent_at is None:
            consent_step_done(packet=packet)
        return ConsentStep(url=reverse("packets:hub"), done=True)
    by = packet.created_by or packet.clinician
    if by is None or not by.has_perm(consent_services.SEND_LINK):
        return None
    new = consent_services.consent_link_create(
        patient=packet.patient, kinds=waiting, by=by, verified=True, return_path=here
    )
    return ConsentStep(url=reverse("consents:link-open", args=[new.token]), done=False)
