"""Who may open what. The desk sees a packet's progress with ``packets.view_packet``; the answers
are clinical content (the consultation's own permission and the clinical record). The patient's
pages are reached only through the scoped session the link's date-of-birth check starts."""

from __future__ import annotations

import time

from packets import rules, selectors
from packets.models import Packet
from patients import links

SESSION_PENDING = "packets_pending"  # token matched, date of birth not yet checked
SESSION_PACKET = "packets_packet"  # the scoped session: the packet id and nothing else
SESSION_AT = "packets_at"  # when the date of birth was checked
SESSION_CRISIS = "packets_crisis"  # a questionnaire answer that calls for crisis resources


def scoped_packet(request) -> Packet | None:
    """The packet of this browser's scoped session, while it is fresh, or None."""
    opened = request.session.get(SESSION_AT, 0)
    if not isinstance(opened, int) or time.time() - opened > rules.SESSION_SECONDS:
        return None
    return selectors.scoped_packet(request.session.get(SESSION_PACKET))


def start_scoped_session(request, packet: Packet) -> None:
    links.scope(request, SESSION_PACKET, packet.pk)
    request.session[SESSION_AT] = int(time.time())
