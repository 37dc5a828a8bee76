"""Bring the intake's consent store into this app, so there is one record of what each patient signed.

Each version of the old settings page's consent document becomes a published treatment-consent
version (published on its effective date, its summary kept), and each intake that recorded a
consent (given, a version, a date) becomes a paper signature of that version, recorded by the
clinician who signed the intake (or wrote it, for a draft). The intakes themselves are not
touched: a signed intake keeps the consent it recorded. Running it twice adds nothing.
"""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from core.hashing import content_sha256

TREATMENT = "ketamine_treatment"


def _body(title, label, effective_from, active):
    given = f"given to patients from {effective_from:%m/%d/%Y}"
    if not active:
        given += " (no longer given to new patients)"
    return (
        f"{title}, version {label}: the paper consent form {given}.\n\n"
        "Its wording is the printed form; each patient's signed copy is kept in their paper record."
    )


def _at_noon(day, zone):
    # Noon in the clinic's zone keeps the date the same whichever way the zone is read.
    return datetime.combine(day, time(12, 0), tzinfo=zone)


def forwards(apps, schema_editor):
    ConsentDocument = apps.get_model("consultations", "ConsentDocument")
    Consultation = apps.get_model("consultations", "Consultation")
    ConsentVersion = apps.get_model("consents", "ConsentVersion")
    ConsentSignature = apps.get_model("consents", "ConsentSignature")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    recorded = (
        Consultation.objects.filter(consent_given=True, consent_signed_on__isnull=False)
        .exclude(consent_document_version="")
        .order_by("consent_signed_on", "id")
    )
    documents = list(ConsentDocument.objects.order_by("effective_from", "id"))
    if not documents and not recorded.exists():
        return
    publisher = User.objects.filter(is_superuser=True).order_by("pk").first() or User.objects.order_by("pk").first()
    if publisher is None:
        raise RuntimeError("Consent records to move but no user to publish them: create an administrator first.")
    zone = ZoneInfo(settings.TIME_ZONE)
    now = timezone.now()

    versions = {v.version_label.strip().lower(): v for v in ConsentVersion.objects.filter(kind=TREATMENT)}

    def version_for(label, *, title="Informed consent to off-label ketamine treatment", effective=None, summary="", active=True):
        key = label.strip().lower()
        if key in versions:
            return versions[key]
        effective = effective or now.astimezone(zone).date()
        body = _body(title, label.strip(), effective, active)
        content = {"kind": TREATMENT, "title": title, "version": label.strip(), "body": body}
        version = ConsentVersion.objects.create(
            kind=TREATMENT,
            title=title,
            version_label=label.strip(),
            body=body,
            summary_of_changes=summary,
            content_sha256=content_sha256(content),
            created_by=publisher,
            created_at=now,
            published_by=publisher,
            published_at=_at_noon(effective, zone),
        )
        versions[key] = version
        return version

    for doc in documents:
        version_for(doc.version, title=doc.title, effective=doc.effective_from, summary=doc.summary, active=doc.active)

    seen = set(ConsentSignature.objects.filter(kind=TREATMENT).values_list("patient_id", "version_id"))
    for intake in recorded.select_related("patient"):
        # An intake naming a version the settings page never listed: kept as a version of its own.
        version = version_for(intake.consent_document_version, effective=intake.consent_signed_on)
        if (intake.patient_id, version.pk) in seen:
            continue
        seen.add((intake.patient_id, version.pk))
        patient = intake.patient
        ConsentSignature.objects.create(
            patient_id=intake.patient_id,
            version=version,
            kind=TREATMENT,
            version_sha256=version.content_sha256,
            method="paper",
            typed_name=f"{patient.legal_first_name} {patient.legal_last_name}".strip() or f"MRN {patient.mrn}",
            signed_at=_at_noon(intake.consent_signed_on, zone),
            recorded_by_id=intake.signed_by_id or intake.clinician_id or intake.created_by_id,
            created_at=now,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("consents", "0002_link_opened_at"),
        ("consultations", "0008_protocol_titration_ladder"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
