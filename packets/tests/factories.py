"""Packets made through the services, and the objects the access matrix names."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from packets import services
from packets.models import Packet, ReportedFact, ReportedMedication
from packets.services import NewPacket

PHQ9_CLEAR = [0, 0, 1, 0, 0, 0, 0, 0, 0]
GAD7_CLEAR = [0, 1, 0, 0, 0, 0, 0]


def desk_user():
    return UserFactory(role=Role.FRONT_DESK)


def new_packet(patient, *, by=None, **kwargs: Any) -> NewPacket:
    return services.packet_create(patient=patient, by=by or desk_user(), **kwargs)


def packet_with_history(patient, *, answers: dict[str, bool | None] | None = None, medications=None) -> Packet:
    new = new_packet(patient)
    services.history_submit(
        packet=new.packet,
        answers=answers if answers is not None else {"hypertension": True, "stroke_history": False, "pregnant": None},
        medications=medications if medications is not None else [("Sertraline", "50 mg daily")],
    )
    return new.packet


def object_for_route(kwarg: str, patient) -> Any:
    """The object a URL kwarg names, for the access matrix (tests/test_access_matrix.py)."""
    if kwarg == "packet_id":
        return new_packet(patient).packet
    if kwarg == "fact_id":
        return ReportedFact.objects.filter(packet=packet_with_history(patient), field="hypertension").get()
    if kwarg == "medication_id":
        return ReportedMedication.objects.filter(packet=packet_with_history(patient)).get()
    raise AssertionError(f"no route object for {kwarg}")


def reachable(patient):
    """Give the patient consent to e-mail (recorded as the patient record requires)."""
    patient.email = patient.email or f"p{patient.pk}@example.com"
    patient.email_opt_in, patient.email_consent_at, patient.email_consent_method = True, timezone.now(), "written"
    patient.save(update_fields=["email", "email_opt_in", "email_consent_at", "email_consent_method"])
    return patient
