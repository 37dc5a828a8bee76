"""Every prescriber-only decision is refused by its service for a nurse (not only hidden by
the view), with a sentence naming the decision; the same call by a prescriber goes through."""

from __future__ import annotations

import pytest

from accounts.prescribing import PrescriberRequired
from accounts.roles import NURSE_PERMISSIONS, PRESCRIBER_DISCLOSURES, PRESCRIBER_ONLY, ROLE_PERMISSIONS, Role
from consultations import services as consultations
from consultations.choices import Decision
from consultations.tests.factories import ConsultationFactory, fill_clean_intake, plan_for, signed_consultation
from followups import services as followups
from followups.tests.factories import suggestion_for
from infusions import rules
from infusions import services as infusions
from infusions.tests.factories import PHQ9_CLEAR, clean_precheck, open_session
from prescribers.models import PrescriberProfile
from prescribers.tests.factories import register

pytestmark = pytest.mark.django_db


def _sign(user, patient):
    consultation = ConsultationFactory(patient=patient)
    fill_clean_intake(consultation)
    return lambda: consultations.consultation_sign(
        consultation=consultation, by=user, decision=Decision.ELIGIBLE, justifications={}
    )


def _amend(user, patient):
    consultation = signed_consultation()
    return lambda: consultations.amendment_add(
        consultation=consultation, by=user, kind="appends", section="substance", reason="Late history", text="None."
    )


def _plan(user, patient):
    consultation = signed_consultation()
    return lambda: plan_for(consultation, by=user)


def _plan_change(user, patient):
    plan = plan_for(signed_consultation())
    return lambda: consultations.plan_transition(plan=plan, to_status="active", by=user)


def _order_change(user, patient):
    consultation = signed_consultation()
    plan = consultations.plan_transition(plan=plan_for(consultation), to_status="active", by=consultation.signed_by)
    return lambda: consultations.order_sign(
        plan=plan, by=user, reason="Longer infusion", changes={"infusion_minutes": 60}
    )


def _booster(user, patient):
    suggestion = suggestion_for(patient=patient)
    return lambda: followups.booster_decide(suggestion=suggestion, by=user, accept=True)


def _override_precheck(user, patient):
    session = open_session(by=user)
    infusions.session_check_in(session=session, by=user)
    infusions.instrument_record(session=session, by=user, code="phq9", answers=PHQ9_CLEAR)
    check = infusions.precheck_record(session=session, by=user, data=clean_precheck(escort_name="", escort_phone=""))
    assert check.outcome == rules.NEEDS_CLINICIAN_DECISION
    profile = PrescriberProfile.objects.filter(user=user).first()
    if profile is not None:  # the prescriber is registered with the DEA at this clinic
        register(profile, session.appointment.location)
    return lambda: infusions.precheck_clear(session=session, by=user, decision_reason="Escort arriving at 14:00")


ACTIONS = {
    "sign the consultation decision": (_sign, "Signing the consultation decision"),
    "amend a signed consultation": (_amend, "Amending a signed consultation"),
    "write a treatment plan": (_plan, "Writing a treatment plan"),
    "change a treatment plan": (_plan_change, "Changing a treatment plan"),
    "change the standing order": (_order_change, "Signing a standing order"),
    "decide on a booster": (_booster, "Deciding on a booster"),
    "override a pre-check finding": (_override_precheck, "Clearing a pre-check that needs review"),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_the_service_refuses_a_prescriber_only_action_for_a_nurse(action, nurse, patient):
    arrange, words = ACTIONS[action]
    call = arrange(nurse, patient)
    with pytest.raises(PrescriberRequired, match=f"{words}.* needs a prescriber"):
        call()


@pytest.mark.parametrize("action", ACTIONS)
def test_a_prescriber_may_take_the_same_action(action, clinician, patient):
    arrange, _ = ACTIONS[action]
    assert arrange(clinician, patient)() is not None


def test_the_nurse_holds_no_prescriber_only_permission_and_the_prescriber_holds_them_all():
    assert not (set(PRESCRIBER_ONLY) | set(PRESCRIBER_DISCLOSURES)) & set(NURSE_PERMISSIONS)
    assert set(ROLE_PERMISSIONS[Role.PRESCRIBER]) == (
        set(NURSE_PERMISSIONS) | set(PRESCRIBER_ONLY) | set(PRESCRIBER_DISCLOSURES)
    )


def test_every_prescriber_only_permission_exists(django_user_model):
    from django.contrib.auth.models import Permission

    found = {
        f"{app}.{code}"
        for app, code in Permission.objects.values_list("content_type__app_label", "codename")
        if f"{app}.{code}" in PRESCRIBER_ONLY
    }
    assert found == set(PRESCRIBER_ONLY)
