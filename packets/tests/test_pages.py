"""The desk's side: the packet sent by itself when an intake consultation is booked, the send form,
"lacks intake forms" on the home page and the day sheet, and their query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from packets import services, tasks
from packets.models import Packet
from packets.tests.factories import new_packet, reachable
from reminders.rules import denied_words_in
from scheduling import hooks
from scheduling.tests.factories import AppointmentFactory, appointment_type

pytestmark = pytest.mark.django_db


def _soon(**kwargs):
    start = timezone.now() + timedelta(days=2)
    return AppointmentFactory(start=start, end=start + timedelta(hours=1), **kwargs)


def test_booking_an_intake_consultation_sends_the_packet_once(patient, clinician, monkeypatch):
    assert tasks.on_appointment_changed in hooks._APPOINTMENT_CHANGED
    reachable(patient)
    appointment = _soon(patient=patient, clinician=clinician)
    enqueued = []
    monkeypatch.setattr(tasks.send_packet_for_booking, "delay", enqueued.append)
    tasks.on_appointment_changed(appointment.pk)
    assert enqueued == [appointment.pk]
    packet = services.packet_for_booking(appointment_id=appointment.pk)
    assert packet is not None
    assert (packet.appointment, packet.clinician, packet.created_by) == (appointment, clinician, None)
    assert packet.sent_channels == "email"
    assert not denied_words_in(mail.outbox[-1].body)
    # A move or a confirmation of the same visit sends nothing more.
    assert services.packet_for_booking(appointment_id=appointment.pk) is None
    enqueued.clear()
    tasks.on_appointment_changed(appointment.pk)
    assert enqueued == []
    assert Packet.objects.filter(patient=patient).count() == 1


def test_no_packet_for_another_kind_of_visit_or_without_consent_to_contact(patient):
    infusion = _soon(patient=reachable(patient), appointment_type=appointment_type("infusion"))
    assert services.packet_for_booking(appointment_id=infusion.pk) is None
    unreachable = _soon()
    assert services.packet_for_booking(appointment_id=unreachable.pk) is None
    assert not Packet.objects.exists()


def test_the_desk_sends_the_packet_for_the_booked_consultation(client, frontdesk, patient):
    reachable(patient)
    appointment = _soon(patient=patient)
    client.force_login(frontdesk)
    page = client.get(reverse("packets:send", args=[patient.pk]))
    assert page.status_code == 200
    response = client.post(
        reverse("packets:send", args=[patient.pk]), {"reason": "ptsd", "appointment": str(appointment.pk)}
    )
    assert response.status_code == 302
    packet = Packet.objects.get(patient=patient)
    assert (packet.appointment, packet.instruments) == (appointment, ["phq9", "gad7", "pcl5"])


@pytest.mark.parametrize(
    "data",
    [{"reason": "nonsense"}, {"reason": "ptsd", "appointment": "¹"}, {"reason": "ptsd", "appointment": "999999"}],
)
def test_the_send_form_answers_bad_input_with_errors(client, frontdesk, patient, data):
    reachable(patient)
    client.force_login(frontdesk)
    response = client.post(reverse("packets:send", args=[patient.pk]), data)
    assert response.status_code == 200
    assert not Packet.objects.exists()


def test_without_consent_to_contact_the_form_says_so(client, frontdesk, patient):
    client.force_login(frontdesk)
    response = client.post(reverse("packets:send", args=[patient.pk]), {"reason": "not_sure"})
    assert response.status_code == 200
    assert "not agreed to texts or e-mail" in response.content.decode()
    assert not Packet.objects.exists()


def test_the_front_desk_home_lists_intakes_that_lack_their_forms(client, frontdesk):
    waiting = [_soon() for _ in range(3)]
    done = new_packet(waiting[0].patient, appointment=waiting[0]).packet
    Packet.objects.filter(pk=done.pk).update(completed_at=timezone.now())
    new_packet(waiting[1].patient, appointment=waiting[1])
    client.force_login(frontdesk)
    page = client.get(reverse("home")).content.decode()
    section = page[page.index('id="lacking-forms"') :]
    assert waiting[0].patient.display_name not in section
    assert waiting[1].patient.display_name in section
    assert "Sent, not opened" in section
    assert waiting[2].patient.display_name in section
    assert "Not sent" in section


def test_the_home_page_costs_the_same_queries_however_many_intakes(client, frontdesk, django_assert_max_num_queries):
    client.force_login(frontdesk)
    for _ in range(2):
        new_packet(_soon().patient)
    client.get(reverse("home"))
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("home"))
    for _ in range(6):
        new_packet(_soon().patient)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("home"))


def test_the_day_sheet_says_which_intakes_lack_their_forms(client, frontdesk):
    appointment = _soon()
    client.force_login(frontdesk)
    local = timezone.localtime(appointment.start, appointment.location.zone).date()
    page = client.get(reverse("scheduling:day-sheet"), {"location": appointment.location.pk, "date": local.isoformat()})
    assert "Lacks intake forms: not sent" in page.content.decode()
