"""The ledger panel on an infusion session: draw the dose from a chosen vial, close the draw
with a witnessed waste, and signing is refused while drug is unaccounted for."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controlled_substances import selectors
from controlled_substances.models import LedgerEntry
from controlled_substances.tests.factories import PASSWORD, ProductFactory, receive, registration
from infusions import signing
from infusions.models import InfusionSession
from infusions.tests.factories import S, advance, nurse, open_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def ten_mg_vial():
    product = ProductFactory(
        ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000"), container_volume_ml=Decimal("20.00")
    )
    return receive(product=product, lot_number="K10A")[0]


@pytest.fixture
def people():
    return nurse(username="rn.draws"), nurse(username="rn.verifies", password=PASSWORD)


def _draw_and_close(client, session, vial, witness, *, left="4.00"):
    r = client.post(
        reverse("controlled_substances:session-draw", args=[session.pk]), {"container": vial.pk, "volume_ml": "4.00"}
    )
    assert r.status_code == 200
    draw = LedgerEntry.objects.get(session=session, kind="administration")
    return client.post(
        reverse("controlled_substances:session-waste", args=[session.pk]),
        {
            "draw": draw.pk,
            f"w{draw.pk}-volume_ml": left,
            f"w{draw.pk}-manner": "Expelled",
            f"w{draw.pk}-witness": witness.pk,
            f"w{draw.pk}-witness_password": PASSWORD,
        },
    )


def test_the_panel_offers_vials_of_the_dose_concentration_and_the_dose_volume(
    client_as, people, ten_mg_vial, django_assert_max_num_queries
):
    rn, verifier = people
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    client = client_as(rn)
    receive(containers=6, lot_number="K10B", product=ten_mg_vial.lot.product)
    # session, user, perms (2), session row, dose, vials, draws, wastes, sign check, …: not per vial
    with django_assert_max_num_queries(20):
        response = client.get(reverse("controlled_substances:session-panel", args=[session.pk]))
    assert response.status_code == 200
    form = response.context["draw_form"]
    assert list(form.fields["container"].queryset)[0] == ten_mg_vial
    assert form.fields["container"].queryset.count() == 7
    assert form.initial["volume_ml"] == response.context["dose"].drug_volume_ml


def test_drawing_and_wasting_accounts_for_the_session(client_as, people, ten_mg_vial):
    rn, verifier = people
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    client = client_as(rn)
    r = client.post(
        reverse("controlled_substances:session-draw", args=[session.pk]),
        {"container": ten_mg_vial.pk, "volume_ml": "4.00"},
    )
    assert r.status_code == 200
    assert selectors.session_sign_problems(session) == [
        "40 mg drawn for this session is not accounted for (record the waste, 0 mL if none was left)"
    ]
    draw = LedgerEntry.objects.get(session=session)
    assert (draw.patient, draw.actor, draw.quantity_mg) == (session.patient, rn, Decimal("40.00"))
    session.refresh_from_db()
    assert session.container_lot == f"K10A · {ten_mg_vial.code}"  # the start gate's "vial chosen"
    bad = client.post(
        reverse("controlled_substances:session-waste", args=[session.pk]),
        {
            "draw": draw.pk,
            f"w{draw.pk}-volume_ml": "0.50",
            f"w{draw.pk}-manner": "x",
            f"w{draw.pk}-witness": verifier.pk,
            f"w{draw.pk}-witness_password": "wrong",
        },
    )
    assert "not the witness" in bad.content.decode()
    assert selectors.session_sign_problems(session)
    # Nothing has been given yet: all of it is still in the syringe (drawn = delivered 0 + wasted).
    r = client.post(
        reverse("controlled_substances:session-waste", args=[session.pk]),
        {
            "draw": draw.pk,
            f"w{draw.pk}-volume_ml": "4.00",
            f"w{draw.pk}-left_in": "syringe",
            f"w{draw.pk}-manner": "x",
            f"w{draw.pk}-witness": verifier.pk,
            f"w{draw.pk}-witness_password": PASSWORD,
        },
    )
    assert r.status_code == 200
    assert selectors.session_sign_problems(session) == []
    waste = LedgerEntry.objects.get(session=session, kind="waste")
    assert (waste.actor, waste.witness, waste.quantity_mg) == (rn, verifier, Decimal("40.00"))


def test_signing_is_refused_with_unaccounted_drug(client_as, people, ten_mg_vial):
    """Through infusions.signing (what ``session_sign`` calls): the check registered in ready()."""
    rn, verifier = people
    assert selectors.session_sign_problems in signing._CHECKS
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    # Started without the ledger (a clinic that kept its ketamine elsewhere until today): no draw to sign.
    InfusionSession.objects.filter(pk=session.pk).update(started_at=timezone.now())
    assert any("No ketamine draw" in p for p in signing.sign_problems(InfusionSession.objects.get(pk=session.pk)))
    InfusionSession.objects.filter(pk=session.pk).update(started_at=None)
    r = _draw_and_close(client_as(rn), session, ten_mg_vial, verifier)
    assert r.status_code == 200
    assert not [p for p in signing.sign_problems(session) if "ketamine" in p or "mg drawn" in p or "Drawn" in p]


def test_a_deferred_session_is_read_only_here(client_as, people, ten_mg_vial):
    rn, verifier = people
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    type(session).objects.filter(pk=session.pk).update(status="deferred", deferral_reason_code="patient_declined")
    client = client_as(rn)
    panel = client.get(reverse("controlled_substances:session-panel", args=[session.pk]))
    assert panel.context["editable"] is False
    r = client.post(
        reverse("controlled_substances:session-draw", args=[session.pk]),
        {"container": ten_mg_vial.pk, "volume_ml": "1"},
    )
    assert r.status_code == 403


def test_the_front_desk_cannot_open_the_panel(client_as, people, frontdesk):
    rn, verifier = people
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    assert (
        client_as(frontdesk).get(reverse("controlled_substances:session-panel", args=[session.pk])).status_code == 403
    )


def test_a_refused_draw_shows_its_error_in_the_panel_swapped_by_htmx(client_as, people, ten_mg_vial):
    rn, verifier = people
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    response = client_as(rn).post(
        reverse("controlled_substances:session-draw", args=[session.pk]),
        {"container": ten_mg_vial.pk, "volume_ml": "25.00"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200  # htmx swaps only 2xx
    body = response.content.decode()
    assert "25.00 mL is 250 mg; the verified dose is 40 mg = 4.00 mL" in body
    assert 'value="25.00"' in body  # what the nurse typed is kept
    assert not LedgerEntry.objects.filter(session=session).exists()
