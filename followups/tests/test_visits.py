"""The follow-up note: 1:1 with a follow-up/booster appointment, instruments through
assessments, signing locks it in the database, amendments beside it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, ProgrammingError, transaction
from django.urls import reverse

from assessments.models import InstrumentResponse
from followups import services
from followups.models import FollowUpAmendment, FollowUpVisit
from followups.tests.factories import during_visit, follow_up_appointment, phq9_for_total, visit_for
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

# pgtrigger raises from PL/pgSQL; psycopg reports it as one of these.
DB_REFUSED = (IntegrityError, InternalError, ProgrammingError)


def test_opening_a_follow_up_appointment_creates_one_note_and_reopens_it(client, clinician, patient):
    appointment = follow_up_appointment(patient=patient, clinician=clinician)
    client.force_login(clinician)
    first = client.post(reverse("followups:visit-open", args=[appointment.pk]))
    second = client.post(reverse("followups:visit-open", args=[appointment.pk]))
    assert first["Location"] == second["Location"]
    assert FollowUpVisit.objects.filter(appointment=appointment).count() == 1


def test_booster_appointments_have_notes_too_but_consultations_do_not(clinician, patient):
    assert services.visit_open(appointment=follow_up_appointment(patient=patient, code="booster"), by=clinician)
    with pytest.raises(ValidationError):
        services.visit_open(appointment=AppointmentFactory(patient=patient), by=clinician)


def test_saving_the_note_records_instruments_through_assessments(client, clinician, patient):
    visit = visit_for(patient=patient, clinician=clinician)
    client.force_login(clinician)
    data = {
        "version": visit.version,
        "current_symptoms": "Mood better",
        "side_effects": "None",
        "medication_changes": "Sertraline unchanged",
    }
    data.update({f"phq9-item_{n}": str(v) for n, v in enumerate(phq9_for_total(8), start=1)})
    response = client.post(reverse("followups:visit-detail", args=[visit.pk]), data)
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.current_symptoms == "Mood better"
    stored = InstrumentResponse.objects.get(patient=patient)
    assert (stored.instrument, stored.total, stored.context, stored.entered_by) == ("phq9", 8, "follow_up", clinician)
    assert stored.subject == visit


def test_half_answered_instrument_is_a_field_error_and_nothing_is_lost(client, clinician, patient):
    visit = visit_for(patient=patient, clinician=clinician)
    client.force_login(clinician)
    data = {"version": visit.version, "current_symptoms": "Typed text", "phq9-item_1": "2"}
    response = client.post(reverse("followups:visit-detail", args=[visit.pk]), data)
    assert response.status_code == 200
    assert "Typed text" in response.content.decode()
    assert not InstrumentResponse.objects.exists()


def test_stale_version_is_refused(clinician, patient):
    visit = visit_for(patient=patient, clinician=clinician)
    services.visit_save(visit=visit, by=clinician, expected_version=1, changes={"current_symptoms": "a"})
    with pytest.raises(ValidationError, match="Someone else"):
        services.visit_save(visit=visit, by=clinician, expected_version=1, changes={"current_symptoms": "b"})


@pytest.mark.parametrize("decision", ["pause", "discharge", "refer"])
def test_pause_discharge_and_refer_need_a_reason(clinician, patient, decision):
    visit = visit_for(patient=patient, clinician=clinician)
    with during_visit(visit), pytest.raises(ValidationError) as refused:
        services.visit_sign(visit=visit, by=clinician, plan_decision=decision)
    assert "decision_note" in refused.value.message_dict


def test_signed_note_is_locked_in_the_database_and_amended_beside_it(client, clinician, patient):
    visit = visit_for(patient=patient, clinician=clinician)
    with during_visit(visit):
        client.force_login(clinician)
        response = client.post(reverse("followups:visit-sign", args=[visit.pk]), {"plan_decision": "continue"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.is_signed
    assert len(visit.content_sha256) == 64
    with pytest.raises(DB_REFUSED), transaction.atomic():
        FollowUpVisit.objects.filter(pk=visit.pk).update(current_symptoms="rewritten")
    with pytest.raises(DB_REFUSED), transaction.atomic():
        FollowUpVisit.objects.filter(pk=visit.pk).delete()
    with pytest.raises(ValidationError):
        services.visit_save(visit=visit, by=clinician, expected_version=visit.version, changes={})
    client.post(reverse("followups:visit-amend", args=[visit.pk]), {"reason": "Typo", "text": "Meant 'improved'"})
    amendment = FollowUpAmendment.objects.get(visit=visit)
    with pytest.raises(DB_REFUSED), transaction.atomic():
        FollowUpAmendment.objects.filter(pk=amendment.pk).update(text="changed")
    page = client.get(reverse("followups:visit-detail", args=[visit.pk])).content.decode()
    assert "Meant &#x27;improved&#x27;" in page or "Meant 'improved'" in page


def test_sign_without_decision_is_a_field_error(client, clinician, patient):
    visit = visit_for(patient=patient, clinician=clinician)
    with during_visit(visit):
        client.force_login(clinician)
        response = client.post(reverse("followups:visit-sign", args=[visit.pk]), {})
    assert response.status_code == 200
    assert response.context["sign_form"].errors["plan_decision"]
    assert not FollowUpVisit.objects.get(pk=visit.pk).is_signed


def test_note_before_the_visit_a_follow_up_note_cannot_be_signed_before_its_appointment_starts(
    client, clinician, patient
):
    visit = visit_for(patient=patient, clinician=clinician)  # booked weeks ahead
    start = visit.appointment.start
    with time_machine.travel(start - timedelta(minutes=1), tick=False):
        client.force_login(clinician)
        page = client.get(reverse("followups:visit-detail", args=[visit.pk])).content.decode()
        assert "can be signed once the visit has started" in page  # said before anyone tries
        assert 'disabled aria-describedby="sign-refusal"' in page
        response = client.post(reverse("followups:visit-sign", args=[visit.pk]), {"plan_decision": "continue"})
        assert response.status_code == 200
        errors = response.context["sign_form"].non_field_errors()
        assert any("can be signed once the visit has started" in e for e in errors), errors
        assert "can be signed once the visit has started" in response.content.decode()
        with pytest.raises(ValidationError, match="once the visit has started"):
            services.visit_sign(visit=visit, by=clinician, plan_decision="continue")
    assert not FollowUpVisit.objects.get(pk=visit.pk).is_signed
    with time_machine.travel(start, tick=False):  # from the start on, it can be
        client.force_login(clinician)
        page = client.get(reverse("followups:visit-detail", args=[visit.pk])).content.decode()
        assert "can be signed once the visit has started" not in page
        assert services.visit_sign(visit=visit, by=clinician, plan_decision="continue").is_signed


def test_note_before_the_visit_the_database_refuses_a_signature_dated_before_the_appointment(clinician, patient):
    visit = visit_for(patient=patient, clinician=clinician)
    early = {
        "status": "signed",
        "plan_decision": "continue",
        "content_sha256": "0" * 64,
        "signed_by": clinician,
        "signed_at": visit.appointment.start - timedelta(minutes=1),
    }
    with pytest.raises(IntegrityError, match="before its appointment starts"), transaction.atomic():
        FollowUpVisit.objects.filter(pk=visit.pk).update(**early)
    FollowUpVisit.objects.filter(pk=visit.pk).update(**{**early, "signed_at": visit.appointment.start})
    assert FollowUpVisit.objects.get(pk=visit.pk).is_signed


def test_front_desk_cannot_open_or_read_notes(client, frontdesk, clinician, patient):
    visit = visit_for(patient=patient, clinician=clinician)
    client.force_login(frontdesk)
    assert client.get(reverse("followups:visit-detail", args=[visit.pk])).status_code == 403
    assert (
        client.post(reverse("followups:visit-sign", args=[visit.pk]), {"plan_decision": "continue"}).status_code == 403
    )
