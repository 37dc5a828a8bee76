"""The patient's booking pages, reached by a link (security-reference A9 shape), under ``/book/``.

``/book/<token>/`` matches the token without spending it (a link preview cannot burn it), starts a
fresh session that remembers the link and leaves for the token-free ``/book/verify/`` date-of-birth
check (wrong answers lock the link). A verified session holds the link id only, for
``SESSION_SECONDS``, and opens ``/book/`` (pick a slot, or join the waitlist) or ``/book/offer/``
(claim a freed slot). The booking or the claim spends the link; a spent booking link still opens
(after the same date-of-birth check) ``/book/manage/`` while its visit is to come, where the
patient cancels it or moves it to another free time. Every response is ``no-store``;
the token URL sends ``Referrer-Policy: no-referrer``; requests are rate-limited per client address.
The session reaches nothing else: the patient is not signed in.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import wraps
from itertools import groupby

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.network import client_ip
from core import ratelimit
from core.formatting import clock
from patients import links
from scheduling import hooks, rules
from scheduling.models import SelfBooking, SelfBookingLink, SelfBookingStatus
from scheduling.public_forms import ChoiceForm, DateOfBirthForm, SlotForm, WaitlistForm, slot_value
from scheduling.selectors import self_booking as selectors
from scheduling.services import SchedulingError
from scheduling.services import self_booking as services

SESSION_PENDING = "selfbook_pending"  # token matched, date of birth not yet checked
SESSION_LINK = "selfbook_link"  # the verified link id and nothing else
SESSION_AT = "selfbook_at"
SESSION_DONE = "selfbook_done"
SESSION_SECONDS = 30 * 60
# Per client address: openings, date-of-birth answers and bookings in a window (ASVS 2.4.1).
RATE_LIMIT = 60
RATE_WINDOW = timedelta(minutes=10)
REFUSED = services.REFUSED


def _public(view):
    """A link page (patients.links.public_page) that counts every request against the per-client limit."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        if ratelimit.hit(f"selfbook:{client_ip(request) or ''}", limit=RATE_LIMIT, window=RATE_WINDOW):
            return _page(request, "refused.html", {"message": "Too many attempts. Try again later."}, status=429)
        return view(request, *args, **kwargs)

    return links.public_page(limited)


def _page(request, template: str, context: dict | None = None, status: int = 200):
    context = {"clinic_name": settings.CLINIC_NAME, **(context or {})}
    return render(request, f"scheduling/public/{template}", context, status=status)


def _refused(request, status: int = 403):
    return _page(request, "refused.html", {"message": REFUSED}, status=status)


def _scoped_link(request, kind: str) -> SelfBookingLink | None:
    link_id = request.session.get(SESSION_LINK)
    opened = request.session.get(SESSION_AT, 0)
    if link_id is None or not isinstance(opened, int) or time.time() - opened > SESSION_SECONDS:
        return None
    link = selectors.self_booking_link_by_id(link_id)
    if link is None or link.kind != kind or link.verified_at is None or not selectors.self_booking_link_usable(link):
        return None
    return link


def _scoped_booking(request) -> tuple[SelfBookingLink, SelfBooking] | tuple[None, None]:
    """The verified, spent booking link of this session and the booking it still manages."""
    link_id = request.session.get(SESSION_LINK)
    opened = request.session.get(SESSION_AT, 0)
    if link_id is None or not isinstance(opened, int) or time.time() - opened > SESSION_SECONDS:
        return None, None
    link = selectors.self_booking_link_by_id(link_id)
    if link is None or link.verified_at is None:
        return None, None
    booking = selectors.self_booking_managed(link)
    return (link, booking) if booking is not None else (None, None)


def _when(moment: datetime, zone) -> str:
    local = moment.astimezone(zone)
    return f"{formats.date_format(local, 'l, F j')} at {clock(local)}"


@_public
@require_GET
def link_open(request, token: str):
    """The only URL that carries the token: remember the link in a fresh session, leave for a token-free page."""
    link = selectors.self_booking_link_for_token(token)
    if link is None:
        return _refused(request, status=404)
    if not (selectors.self_booking_link_usable(link) or selectors.self_booking_managed(link)):
        return _refused(request, status=410)
    links.begin(request, SESSION_PENDING, link.pk)
    return redirect("self_booking:verify")


@_public
@require_http_methods(["GET", "POST"])
def link_verify(request):
    """Date-of-birth check; success scopes the session to the link."""
    link_id = links.pending(request, SESSION_PENDING)
    if link_id is None:
        return _refused(request)
    form = DateOfBirthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            link = services.self_booking_link_verify(link_id=link_id, date_of_birth=form.cleaned_data["date_of_birth"])
        except services.LinkRefused as exc:
            if str(exc) != "identity":
                request.session.flush()
                return _refused(request, status=410)
            form.add_error("date_of_birth", "That date of birth does not match our records.")
        else:
            links.scope(request, SESSION_LINK, link.pk)
            request.session[SESSION_AT] = int(time.time())
            if link.kind == SelfBookingLink.Kind.OFFER:
                return redirect("self_booking:offer")
            return redirect("self_booking:manage" if link.used_at else "self_booking:book")
    return _page(request, "identity.html", {"form": form}, status=400 if form.errors else 200)


def _days(slots: list[rules.Slot], zone) -> list[dict]:
    """Slots grouped by local day, each with its radio value and its label."""
    days = []
    for day, group in groupby(slots, key=lambda s: s.start.astimezone(zone).date()):
        days.append(
            {
                "label": formats.date_format(day, "l, F j"),
                "id": f"day-{day:%Y%m%d}",
                "slots": [
                    {"value": slot_value(s.start, s.clinician_id), "label": clock(s.start.astimezone(zone))}
                    for s in group
                ],
            }
        )
    return days


def _outcome(booking, when: str, location) -> dict:
    """What the done page says (kept in the session: no ids, nothing but the visit's time and place)."""
    pending = booking is not None and booking.status == SelfBookingStatus.PENDING
    return {
        "what": "pending" if pending else "booked",
        "when": when,
        "where": location.name,
        "address": location.address,
    }


def _choice(request, data) -> ChoiceForm:
    types = selectors.self_bookable_types()
    locations = selectors.self_booking_locations()
    initial = {"appointment_type": types.first(), "location": locations.first()}
    bound = {k: getattr(v, "pk", "") for k, v in initial.items()}
    bound.update({k: data[k] for k in data if k in ChoiceForm.base_fields})
    return ChoiceForm(bound, types=types, locations=locations)


@_public
@require_http_methods(["GET", "POST"])
def book(request):
    """The free slots of the chosen kind and place; POST books the one picked (or, from a booking
    the patient manages, moves it there)."""
    link = _scoped_link(request, SelfBookingLink.Kind.BOOK)
    moving = None
    if link is None:
        link, moving = _scoped_booking(request)
    if link is None:
        return _refused(request)
    data = request.GET
    if moving is not None:  # the same kind of visit; the place may change
        data = data.copy()
        data["appointment_type"] = str(moving.appointment.appointment_type_id)
    choice = _choice(request, data)
    if not choice.is_valid():
        no_types = not selectors.self_bookable_types().exists()
        context = {"choice": choice, "days": [], "no_types": no_types}
        return _page(request, "book.html", context, status=400 if request.GET else 200)
    kind, location = choice.cleaned_data["appointment_type"], choice.cleaned_data["location"]
    zone = location.zone
    policy = selectors.self_booking_policy()
    after = None
    if choice.cleaned_data.get("start_from"):
        after = datetime.combine(choice.cleaned_data["start_from"], datetime.min.time(), tzinfo=zone)
    form = SlotForm(request.POST or None)
    error, taken, status = "", False, 200
    slots: list[rules.Slot] = []
    if request.method == "POST":
        if form.is_valid():
            start, clinician_id = form.cleaned_data["slot"]
            try:
                if moving is not None:
                    outcome = services.self_booking_reschedule(
                        link_id=link.pk, location=location, start=start, clinician_id=clinician_id
                    )
                else:
                    outcome = services.self_booking_book(
                        link_id=link.pk,
                        appointment_type=kind,
                        location=location,
                        start=start,
                        clinician_id=clinician_id,
                    )
            except SchedulingError as exc:
                error, status = " ".join(exc.messages), 400
            except services.LinkRefused:
                request.session.flush()
                return _refused(request, status=410)
            else:
                if outcome.appointment is not None:
                    request.session.flush()
                    request.session[SESSION_DONE] = {
                        **_outcome(outcome.self_booking, _when(outcome.appointment.start, zone), location),
                        "manage": True,
                    }
                    return redirect("self_booking:done")
                taken, status = True, 409
                slots = list(outcome.alternatives)
        else:
            error, status = " ".join(str(e) for e in form.errors.get("slot", ["Choose a time."])), 400
    if not taken:
        slots = selectors.self_booking_slots(
            appointment_type=kind, location=location, patient=link.patient, after=after, policy=policy
        )
    last = slots[-1].start.astimezone(zone).date() + timedelta(days=1) if slots else None
    waitlist = WaitlistForm(
        initial={"appointment_type": kind.pk, "location": location.pk},
        types=selectors.self_bookable_types(),
        locations=selectors.self_booking_locations(),
    )
    return _page(
        request,
        "book.html",
        {
            "choice": choice,
            "kind": kind,
            "location": location,
            "days": _days(slots, zone),
            "error": error,
            "taken": taken,
            "later": last,
            "waitlist": waitlist,
            "requires_approval": policy.requires_approval,
            "zone_label": location.time_zone_label,
            "moving": moving is not None,
        },
        status=status,
    )


@_public
@require_http_methods(["GET", "POST"])
def manage(request):
    """The visit the patient booked from this link: cancel it, or choose another time."""
    link, booking = _scoped_booking(request)
    if link is None or booking is None:
        return _refused(request)
    appointment = booking.appointment
    location = appointment.location
    when = _when(appointment.start, location.zone)
    if request.method == "POST":
        try:
            services.self_booking_cancel(link_id=link.pk)
        except (services.LinkRefused, SchedulingError):
            request.session.flush()
            return _refused(request, status=410)
        request.session.flush()
        request.session[SESSION_DONE] = {"what": "cancelled", "when": when, "where": location.name}
        return redirect("self_booking:done")
    return _page(
        request,
        "manage.html",
        {
            "when": when,
            "location": location,
            "pending": booking.status == SelfBookingStatus.PENDING,
            "notices": hooks.cancellation_notices(appointment, timezone.now()),
            "move_url": f"{reverse('self_booking:book')}?location={location.pk}",
        },
    )


@_public
@require_POST
def waitlist_join(request):
    """The patient asks to be told when an earlier slot of the kind at the place frees up."""
    link = _scoped_link(request, SelfBookingLink.Kind.BOOK)
    if link is None:
        return _refused(request)
    form = WaitlistForm(
        request.POST, types=selectors.self_bookable_types(), locations=selectors.self_booking_locations()
    )
    if form.is_valid():
        try:
            services.waitlist_join_by_patient_link(
                link_id=link.pk,
                appointment_type=form.cleaned_data["appointment_type"],
                location=form.cleaned_data["location"],
                before=form.cleaned_data.get("before"),
            )
        except SchedulingError as exc:
            return _page(request, "waitlist_done.html", {"error": " ".join(exc.messages)}, status=400)
        except services.LinkRefused:
            return _refused(request, status=410)
        return _page(request, "waitlist_done.html", {"location": form.cleaned_data["location"]})
    return _page(request, "waitlist_done.html", {"error": "Choose the kind of visit and the place."}, status=400)


@_public
@require_http_methods(["GET", "POST"])
def offer(request):
    """A freed slot offered from the waitlist: claim it (the first claim wins)."""
    link = _scoped_link(request, SelfBookingLink.Kind.OFFER)
    if link is None or link.offer is None:
        return _refused(request)
    slot = link.offer.slot
    when = _when(slot.start, slot.location.zone)
    if request.method == "POST":
        try:
            outcome = services.waitlist_offer_claim(link_id=link.pk)
        except services.LinkRefused:
            request.session.flush()
            return _refused(request, status=410)
        request.session.flush()
        if outcome.taken:
            request.session[SESSION_DONE] = {"what": "taken"}
        else:
            request.session[SESSION_DONE] = _outcome(outcome.self_booking, when, slot.location)
        return redirect("self_booking:done")
    return _page(request, "offer.html", {"when": when, "location": slot.location})


@_public
@require_GET
def done(request):
    """What the booking or the claim did (token-free; shown once)."""
    outcome = request.session.pop(SESSION_DONE, None)
    if not isinstance(outcome, dict):
        return _refused(request)
    return _page(request, "done.html", {"outcome": outcome})
