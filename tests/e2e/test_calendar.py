"""Browser: the front desk drives the day grid of a 12-chair site on a 1366 px screen. Drag a
booking onto another's chair (refused in place, nothing changed) and onto a free chair (moved,
history kept), move one with the keyboard and with the Move dialog, and book from an empty
slot with the mouse and with Enter."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from patients.tests.factories import PatientFactory
from scheduling import rules
from scheduling.models import Appointment, AppointmentStatus, AppointmentStatusChange
from scheduling.tests.factories import AppointmentFactory, LocationFactory, ResourceFactory, appointment_type
from tests.e2e import axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"
ROW_PX = 8  # one 5-minute row of the grid is .5rem


@pytest.fixture
def clinic_day(settings):
    site = LocationFactory(name="Grace MindCare Main", time_zone=settings.TIME_ZONE)
    chairs = [ResourceFactory(location=site, kind="chair", name=f"Chair {i}") for i in range(1, 13)]
    for i in (1, 2):
        ResourceFactory(location=site, kind="room", name=f"Consult room {i}")
    desk = UserFactory(username="desk.calendar", role=Role.FRONT_DESK)
    desk.password = make_password(PASSWORD)
    desk.save(update_fields=["password"])
    day = timezone.now().astimezone(site.zone).date() + timedelta(days=3)
    infusion = appointment_type("infusion")

    def booking(first, last, chair, hour):
        start = rules.to_utc(day, time(hour), site.time_zone, fold=0)
        return AppointmentFactory(
            patient=PatientFactory(legal_first_name=first, legal_last_name=last),
            appointment_type=infusion,
            location=site,
            resource=chair,
            start=start,
            end=start + timedelta(minutes=60),
            clinician_exclusive=False,
        )

    return {
        "site": site,
        "chairs": chairs,
        "desk": desk,
        "day": day,
        "mover": booking("Mira", "Mover", chairs[0], 10),
        "blocker": booking("Bo", "Blocker", chairs[1], 10),
        "newcomer": PatientFactory(legal_first_name="Nell", legal_last_name="Newcomer"),
    }


def _open_day(page, live_server, clinic_day) -> list[str]:
    """Sign in and open the day; axe-core checks every page and swap from here on (the list it fills)."""
    findings = axe.watch(page.context)
    page.set_viewport_size({"width": 1366, "height": 900})
    base = live_server.url
    page.goto(f"{base}/")
    page.get_by_label("Username").fill(clinic_day["desk"].username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/schedule/?location={clinic_day['site'].pk}&date={clinic_day['day'].isoformat()}")
    page.locator("#cal-grid").wait_for()
    return findings


def _drag(page, card, column, rows: int):
    """Press on the card, move in small steps to ``column`` and ``rows`` lower, release."""
    box = card.bounding_box()
    target = page.locator(f".cal-col[data-resource='{column.pk}']").bounding_box()
    x, y = box["x"] + 20, box["y"] + 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(target["x"] + 20, y + rows * ROW_PX, steps=12)
    page.mouse.up()


def _active(appointment):
    return Appointment.objects.filter(
        patient=appointment.patient, status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED]
    ).get()


def test_twelve_chairs_fit_a_1366_px_screen_and_dragging_moves_or_is_refused_in_place(live_server, page, clinic_day):
    findings = _open_day(page, live_server, clinic_day)
    scroller = page.locator(".cal-scroll")
    assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "the day grid scrolls sideways"

    mover, blocker, chairs = clinic_day["mover"], clinic_day["blocker"], clinic_day["chairs"]
    # 1. Onto the other booking's chair at the same time: refused in place, nothing changed.
    card = page.locator(f".cal-appt:has(#appt-{mover.pk})")
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{mover.pk}/move/")):
        _drag(page, card, chairs[1], 0)
    refused = page.locator(f".cal-appt.is-refused:has(#appt-{mover.pk})")
    refused.get_by_role("alert").wait_for()
    assert "Chair 2 is already booked at that time." in refused.get_by_role("alert").inner_text()
    # The card is back in its own column.
    assert page.locator(f".cal-col[data-resource='{chairs[0].pk}'] #appt-{mover.pk}").count() == 1
    mover.refresh_from_db()
    assert (mover.status, mover.resource_id, mover.version) == (AppointmentStatus.BOOKED, chairs[0].pk, 1)
    assert Appointment.objects.count() == 2
    assert not axe.check(page)  # the refusal on the card, too

    # 2. Onto a free chair an hour later: moved, in place, with the move in the status history.
    card = page.locator(f".cal-appt:has(#appt-{mover.pk})")
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{mover.pk}/move/")):
        _drag(page, card, chairs[2], 12)
    page.locator(".cal-appt.is-focus").wait_for()
    new = _active(mover)
    local = new.start.astimezone(clinic_day["site"].zone)
    assert (new.resource_id, local.date(), local.time()) == (chairs[2].pk, clinic_day["day"], time(11))
    assert page.locator(f".cal-col[data-resource='{chairs[2].pk}'] #appt-{new.pk}").count() == 1
    assert page.locator(f"#appt-{mover.pk}").count() == 0
    change = AppointmentStatusChange.objects.get(appointment=mover, to_status=AppointmentStatus.CANCELLED)
    assert change.by == clinic_day["desk"]
    assert change.reason == rules.RESCHEDULED_REASON
    assert AppointmentStatusChange.objects.filter(appointment=new, to_status=AppointmentStatus.BOOKED).exists()
    blocker.refresh_from_db()
    assert blocker.status == AppointmentStatus.BOOKED
    assert not findings


def test_a_booking_moves_with_the_keyboard_and_with_the_move_dialog(live_server, page, clinic_day):
    findings = _open_day(page, live_server, clinic_day)
    mover, chairs = clinic_day["mover"], clinic_day["chairs"]
    zone = clinic_day["site"].zone

    # Confirmed first from the card's quick actions: the swapped card carries its new version.
    card = page.locator(f"#appt-{mover.pk}")
    card.get_by_role("button", name=f"Actions for {mover.patient.display_name}").click()
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{mover.pk}/status/")):
        card.get_by_role("button", name="Confirm").click()
    page.locator(f"#appt-{mover.pk}").get_by_text("Confirmed").wait_for()

    # m, then arrows (right: next chair; down ×6: thirty minutes later), then Enter.
    page.locator(f"#appt-{mover.pk} .cal-link").focus()
    page.keyboard.press("m")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    for _ in range(6):
        page.keyboard.press("ArrowDown")
    assert "10:30 AM · Chair 3" in page.locator(f".cal-appt:has(#appt-{mover.pk}) .cal-drop-label").inner_text()
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{mover.pk}/move/")):
        page.keyboard.press("Enter")
    page.locator(".cal-appt.is-focus").wait_for()
    moved = _active(mover)
    assert (moved.resource_id, moved.start.astimezone(zone).time()) == (chairs[2].pk, time(10, 30))
    # Focus stays on the moved booking, so the next key press acts on it.
    # (Focus is given back once htmx has settled the swapped grid: wait for it rather than race it.)
    page.wait_for_function("() => !!document.activeElement?.closest('.cal-appt.is-focus')", timeout=10_000)

    # The Move dialog from the booking's actions: a chair and a time.
    page.get_by_role("button", name=f"Actions for {moved.patient.display_name}").click()
    page.get_by_role("button", name="Move…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Chair or room").select_option(label="Chair 5")
    dialog.get_by_label("Start (local time)").fill("14:15")
    assert not axe.check(page)  # with the dialog open
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{moved.pk}/move/")):
        dialog.get_by_role("button", name="Move", exact=True).click()
    page.locator(".cal-appt.is-focus").wait_for()
    again = _active(mover)
    assert (again.resource_id, again.start.astimezone(zone).time()) == (chairs[4].pk, time(14, 15))
    assert f"Moved {mover.patient.display_name} to" in page.locator("[data-move-status]").inner_text()
    assert not findings


def test_an_empty_slot_books_by_click_and_by_enter_and_the_calendar_opens_on_the_new_booking(
    live_server, page, clinic_day
):
    findings = _open_day(page, live_server, clinic_day)
    chairs, site, day = clinic_day["chairs"], clinic_day["site"], clinic_day["day"]

    # Keyboard: the grid's one tabbable slot, arrows to the next chair and half an hour on, Enter.
    first = page.locator(".cal-slot[tabindex='0']")
    first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Book Chair 2 at 7:30 AM"
    page.keyboard.press("Enter")
    page.wait_for_url("**/schedule/book/**")
    assert page.get_by_label("Chair or room").input_value() == str(chairs[1].pk)
    assert page.get_by_label("Start (local time)").input_value() == "07:30"
    page.go_back()

    # Mouse: click an empty slot, and the form comes prefilled with chair, time and location.
    page.get_by_role("link", name="Book Chair 7 at 2:00 PM").click()
    page.wait_for_url("**/schedule/book/**")
    assert page.get_by_label("Location").input_value() == str(site.pk)
    assert page.locator("#id_date").input_value() == day.isoformat()
    assert page.get_by_label("Start (local time)").input_value() == "14:00"
    assert page.get_by_label("Chair or room").input_value() == str(chairs[6].pk)
    assert page.get_by_label("Appointment type").input_value() == str(appointment_type("infusion").pk)
    # Only this site's chairs and rooms are offered, and no daylight-saving question.
    assert page.get_by_label("Chair or room").locator("option").count() == 1 + 12 + 2
    assert page.get_by_label("If that time happens twice").count() == 0
    page.get_by_label("Find by name, date of birth, MRN or phone").fill("Newcomer")
    page.get_by_label("Newcomer, Nell", exact=False).check()
    page.get_by_role("button", name="Book", exact=True).click()
    page.wait_for_url("**/schedule/?*")
    booked = Appointment.objects.get(patient=clinic_day["newcomer"])
    assert booked.resource_id == chairs[6].pk
    highlighted = page.locator(f".cal-appt.is-focus:has(#appt-{booked.pk})")
    highlighted.wait_for()
    assert highlighted.evaluate(
        "el => { const r = el.getBoundingClientRect(), s = el.closest('.cal-scroll').getBoundingClientRect();"
        " return r.top >= s.top && r.bottom <= s.bottom; }"
    ), "the new booking is scrolled into view"

    # Choosing another location on the form swaps the chair list for that site's.
    uptown = LocationFactory(name="Grace MindCare Uptown", time_zone=site.time_zone)
    ResourceFactory(location=uptown, kind="chair", name="Uptown chair A")
    page.goto(f"{live_server.url}/schedule/book/?location={site.pk}")
    picker = page.get_by_label("Chair or room")
    assert picker.locator("option").count() == 1 + 12 + 2
    with page.expect_response(lambda r: "/schedule/book/resources/" in r.url):
        page.get_by_label("Location").select_option(label="Grace MindCare Uptown")
    page.wait_for_function("document.querySelectorAll('#id_resource option').length === 2")
    assert picker.locator("option").all_inner_texts() == ["Any free one", "Uptown chair A"]
    assert not findings
