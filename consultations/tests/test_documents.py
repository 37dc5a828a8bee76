"""The consultation summary is issued only for a consultation of the patient whose chart asks."""

from __future__ import annotations

import pytest

from consultations.documents import find_consultation
from consultations.tests.factories import signed_consultation
from documents import services as document_services
from documents.models import Document, DocumentKind
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_no_consultation_named_finds_nothing_without_a_query(django_assert_num_queries):
    patient = PatientFactory()
    with django_assert_num_queries(0):
        assert find_consultation(patient, None) is None


def test_another_patients_consultation_is_not_found():
    consultation = signed_consultation()
    assert find_consultation(consultation.patient, consultation.pk) == consultation
    assert find_consultation(PatientFactory(), consultation.pk) is None


def test_issuing_a_summary_without_naming_the_consultation_is_refused_in_words(clinician):
    consultation = signed_consultation()
    with pytest.raises(document_services.DocumentError, match="No such consultation for this patient."):
        document_services.issue_for_patient(
            kind=DocumentKind.CONSULTATION_SUMMARY, patient=consultation.patient, subject_id=None, by=clinician
        )
    assert not Document.objects.exists()
