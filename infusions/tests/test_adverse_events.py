"""Structured adverse events at the chair: the kinds a ketamine infusion can bring, rescue
drugs from the clinic's formulary (a controlled one flagged for the controlled-substance
log), and an event still going on keeping the patient from discharge until it is resolved
or handed over with a note."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from infusions import rules, services
from infusions.models import AdverseEvent, AdverseEventKind, InfusionSession, Outcome, RescueDrug
from infusions.tests.factories import advance, nurse, open_session, rescue_drug

S = rules.SessionStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(nurse_user, verifier, policy):
    return advance(open_session(by=nurse_user), S.DISCHARGE_READY, nurse_user=nurse_user, verifier=verifier)


def _event(session, by, *, outcome="ongoing", kind="desaturation", drugs=(), **extra):
    return services.adverse_event_record(
        session=session,
        by=by,
        kind=kind,
        severity="moderate",
        onset_at=timezone.now(),
        action_taken="Jaw thrust, oxygen by mask",
        outcome=outcome,
        drugs=list(drugs),
        **extra,
    )


def _status(session) -> str:
    return InfusionSession.objects.get(pk=session.pk).status


@pytest.mark.parametrize(
    ("kind", "label"),
    [
        ("resp_depression", "Respiratory depression/apnoea"),
        ("laryngospasm", "Laryngospasm"),
        ("hypotension", "Hypotension"),
        ("bradycardia", "Bradycardia"),
        ("anaphylaxis", "Anaphylaxis"),
        ("seizure", "Seizure"),
        ("emergence", "Emergence reaction/agitation"),  # the earlier kinds stay
        ("desaturation", "Desaturation"),
    ],
)
def test_each_kind_of_event_can_be_recorded(ready, nurse_user, kind, label):
    event = _event(ready, nurse_user, kind=kind, outcome="resolved")
    assert str(event) == label
    assert kind in AdverseEventKind.values


def _midazolam() -> RescueDrug:
    # The migration seeds it; a flush by an earlier browser test may have removed the seed.
    return rescue_drug("Midazolam", controlled=True, dea_schedule="CIV")


def _midazolam_and_ondansetron(session, by, *, given_by=None) -> AdverseEvent:
    """An emergence reaction treated with midazolam 2 mg (controlled) and ondansetron 4 mg."""
    now = timezone.now()
    return _event(
        session,
        by,
        kind="emergence",
        outcome="resolved",
        drugs=[
            {"formulary": _midazolam(), "dose": Decimal("2"), "given_at": now, "given_by": given_by},
            {"formulary": rescue_drug("Ondansetron"), "dose": Decimal("4"), "given_at": now},
        ],
    )


def test_the_formulary_is_seeded_without_invented_doses(db):
    from importlib import import_module

    from django.apps import apps

    RescueDrug.objects.all().delete()  # as a flush by an earlier browser test leaves it
    import_module("infusions.migrations.0013_rescue_formulary_seed").seed(apps, None)
    formulary = {d.name: d for d in RescueDrug.objects.all()}
    assert {"Midazolam", "Ondansetron", "Labetalol", "Clonidine"} <= set(formulary)
    assert all(d.default_dose is None for d in formulary.values())  # the reference gives none
    assert (formulary["Midazolam"].controlled, formulary["Midazolam"].dea_schedule) == (True, "CIV")
    assert not formulary["Ondansetron"].controlled


@pytest.mark.parametrize(
    ("case", "drug", "message"),
    [
        ("free text instead of a formulary item", {"name": "Midazolam"}, "formulary"),
        ("no dose", {"dose": None}, "dose actually given"),
        ("dose of zero", {"dose": Decimal("0")}, "dose actually given"),
        ("given in the future", {"given_at": "future"}, "not in the future"),
        ("retired formulary item", {"retired": True}, "formulary"),
        ("given by someone outside the clinical staff", {"given_by": "desk"}, "clinical staff"),
    ],
)
def test_a_rescue_drug_needs_a_formulary_item_a_dose_and_a_time(ready, nurse_user, case, drug, message):
    item = rescue_drug("Ondansetron", active=not drug.pop("retired", False))
    row = {"formulary": item, "dose": Decimal("4"), "given_at": timezone.now(), **drug}
    if row.get("given_by") == "desk":
        row["given_by"] = UserFactory(username="desk.one", role=Role.FRONT_DESK)
    if row.get("given_at") == "future":
        row["given_at"] = timezone.now() + timedelta(hours=1)
    if "name" in drug:
        row.pop("formulary")
    with pytest.raises(ValidationError) as error:
        _event(ready, nurse_user, drugs=[row])
    assert message in str(error.value.message_dict["drugs"])
    assert not AdverseEvent.objects.filter(session=ready).exists()


def test_a_controlled_rescue_drug_is_flagged_and_listed_for_the_controlled_substance_log(
    client, ready, nurse_user, admin
):
    other_nurse = nurse(username="nurse.two")
    event = _midazolam_and_ondansetron(ready, nurse_user, given_by=other_nurse)
    given = {d.name: d for d in event.drugs.all()}
    assert (given["Midazolam"].controlled, given["Midazolam"].dea_schedule) == (True, "CIV")
    assert (given["Midazolam"].dose_unit, given["Midazolam"].route, given["Midazolam"].given_by) == (
        "mg",
        "iv",
        other_nurse,
    )
    assert not given["Ondansetron"].controlled
    client.force_login(admin)
    body = client.get(reverse("controlled_substances:index")).content.decode()
    listed = body[body.index('id="rescue-doses"') :]
    assert "Midazolam (Schedule IV) 2 mg IV" in listed
    assert "Ondansetron" not in listed[: listed.index("</div>")]


@pytest.mark.parametrize("outcome", ["ongoing", "resolving"])
def test_an_open_event_takes_a_ready_patient_back_to_recovering_and_blocks_discharge(ready, nurse_user, outcome):
    assert _status(ready) == S.DISCHARGE_READY
    _event(ready, nurse_user, outcome=outcome)
    session = InfusionSession.objects.get(pk=ready.pk)
    assert session.status == S.RECOVERING
    with pytest.raises(ValidationError):
        services.session_discharge(session=session, by=nurse_user)


@pytest.mark.parametrize(
    ("case", "outcome", "note", "ready_after"),
    [
        ("resolved", "resolved", "", True),
        ("handed over with a note", "handed_over", "Told Dr Lee in ED triage: SpO2 90 on air", True),
        ("transferred to emergency care", "transferred", "Ambulance", True),
    ],
)
def test_closing_the_event_lets_discharge_go_ahead(ready, nurse_user, verifier, case, outcome, note, ready_after):
    event = _event(ready, nurse_user)
    assert _status(ready) == S.RECOVERING
    services.adverse_event_outcome(event=event, by=verifier, outcome=outcome, note=note)
    event.refresh_from_db()
    assert (event.outcome, event.outcome_by, event.outcome_at is not None) == (outcome, verifier, True)
    assert (_status(ready) == S.DISCHARGE_READY) is ready_after


def test_a_hand_over_needs_a_note(ready, nurse_user):
    event = _event(ready, nurse_user)
    with pytest.raises(ValidationError) as error:
        services.adverse_event_outcome(event=event, by=nurse_user, outcome="handed_over", note="  ")
    assert "note" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        _event(ready, nurse_user, outcome="handed_over")
    assert "handover_note" in error.value.message_dict
    assert _status(ready) == S.RECOVERING
    # The database holds the rule for any other writer.
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.filter(pk=event.pk).update(outcome=Outcome.HANDED_OVER)


def test_the_outcome_form_keeps_what_was_typed_and_names_the_field(client, ready, nurse_user):
    event = _event(ready, nurse_user)
    client.force_login(nurse_user)
    url = reverse("infusions:adverse-event-outcome", args=[ready.pk, event.pk])
    response = client.post(url, {"outcome": "handed_over", "note": ""})
    assert response.status_code == 200
    assert "Say to whom the event was handed over" in response.content.decode()
    response = client.post(url, {"outcome": "ongoing<script>", "note": "x"})
    assert response.status_code == 200
    response = client.post(url, {"outcome": "handed_over", "note": "Handed to the on-call psychiatrist"})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.handover_note == "Handed to the on-call psychiatrist"
    body = client.get(reverse("infusions:session", args=[ready.pk])).content.decode()
    assert "Hand-over: Handed to the on-call psychiatrist" in body


def test_an_event_of_another_session_is_not_found(client, ready, nurse_user, verifier):
    other = advance(open_session(by=nurse_user), S.RECOVERING, nurse_user=nurse_user, verifier=verifier)
    event = _event(other, nurse_user)
    client.force_login(nurse_user)
    url = reverse("infusions:adverse-event-outcome", args=[ready.pk, event.pk])
    assert client.post(url, {"outcome": "resolved"}).status_code == 404


def test_a_signed_session_keeps_its_events_as_they_were(ready, nurse_user, verifier):
    event = _event(ready, nurse_user, outcome="resolved")
    session = advance(ready, S.SIGNED, nurse_user=nurse_user, verifier=verifier)
    assert session.status == S.SIGNED
    with pytest.raises(ValidationError):
        services.adverse_event_outcome(event=event, by=nurse_user, outcome="handed_over", note="late")
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.filter(pk=event.pk).update(notes="changed")


def test_the_adverse_event_form_keeps_what_was_typed_and_names_the_field(client, ready, nurse_user):
    # Checked in an hour ago: the form's onset is to the minute, which may be before a check-in
    # made this very minute.
    InfusionSession.objects.filter(pk=ready.pk).update(checked_in_at=timezone.now() - timedelta(hours=1))
    client.force_login(nurse_user)
    url = reverse("infusions:adverse-event", args=[ready.pk])
    midazolam = _midazolam()
    onset = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    data = {
        "kind": "laryngospasm",
        "severity": "severe",
        "onset_at": onset,
        "action_taken": "Jaw thrust, CPAP",
        "outcome": "handed_over",
        "handover_note": "",
        "drug": midazolam.pk,
        "drug_dose": "",
        "drug_given_at": onset,
    }
    body = client.post(url, data).content.decode()
    assert "Say to whom the event was handed over" in body
    assert "Needed for the drug given." in body
    assert "Jaw thrust, CPAP" in body
    assert not AdverseEvent.objects.filter(session=ready).exists()
    data |= {"drug": "999999", "handover_note": "To the paramedics"}
    body = client.post(url, data).content.decode()
    assert "Select a valid choice" in body
    giver = nurse(username="nurse.giver")
    data |= {"drug": midazolam.pk, "drug_dose": "2", "drug_given_by": giver.pk}
    assert client.post(url, data).status_code == 302
    event = AdverseEvent.objects.get(session=ready)
    assert (event.outcome, event.handover_note, event.outcome_by) == ("handed_over", "To the paramedics", nurse_user)
    given = event.drugs.get()
    assert (given.name, given.dose, given.controlled, given.given_by) == ("Midazolam", Decimal("2"), True, giver)


def test_the_printed_record_carries_the_rescue_drug_and_the_hand_over(ready, nurse_user):
    from infusions.documents import infusion_record

    _event(
        ready,
        nurse_user,
        kind="laryngospasm",
        outcome="handed_over",
        handover_note="Handed to the paramedics with the flowsheet",
        drugs=[{"formulary": _midazolam(), "dose": Decimal("2"), "given_at": timezone.now()}],
    )
    (printed,) = infusion_record(InfusionSession.objects.get(pk=ready.pk))["adverse_events"]
    assert printed["kind"] == "Laryngospasm"
    assert printed["outcome"].startswith("Handed over (with a note): Handed to the paramedics with the flowsheet (")
    (drug,) = printed["drugs"]
    assert drug.startswith("Midazolam 2 mg IV at ")
    assert drug.endswith(f" by {nurse_user} (controlled, Schedule IV)")


def test_a_controlled_dose_stays_pending_on_the_ledger_home_until_confirmed_in_the_log(
    client, ready, nurse_user, admin
):
    from controlled_substances.models import RescueDoseLog

    event = _midazolam_and_ondansetron(ready, nurse_user)
    midazolam = event.drugs.get(name="Midazolam")
    ondansetron = event.drugs.get(name="Ondansetron")
    url = reverse("controlled_substances:rescue-dose-logged", args=[midazolam.pk])
    client.force_login(nurse_user)
    assert client.post(url, {"reference": "CS log p. 12"}).status_code == 403  # the log's keeper confirms
    client.force_login(admin)
    body = client.post(url, {"reference": "   "}).content.decode()
    assert "Say where it was entered" in body
    assert f'id="rescue-dose-{midazolam.pk}"' in body
    not_controlled = reverse("controlled_substances:rescue-dose-logged", args=[ondansetron.pk])
    assert client.post(not_controlled, {"reference": "x"}).status_code == 404
    assert client.post(url, {"reference": "CS log p. 12"}).status_code == 302
    logged = RescueDoseLog.objects.get(dose=midazolam)
    assert (logged.reference, logged.recorded_by) == ("CS log p. 12", admin)
    body = client.get(reverse("controlled_substances:index")).content.decode()
    assert 'id="rescue-doses"' not in body  # nothing pending any more
    body = client.post(url, {"reference": "again"}, follow=True).content.decode()
    assert "already confirmed as logged" in body
    assert RescueDoseLog.objects.count() == 1
