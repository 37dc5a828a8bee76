"""Who may open what: the permission first (403 before 404), then the patient's chart."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from consents.models import ConsentSignature, ConsentVersion
from patients.access import get_patient_for_user

MANAGE = "consents.manage_consent_documents"
# The patient's scoped session after a signing link's date-of-birth check: the link id, nothing else.
SESSION_PENDING = "consents_pending"  # token matched, date of birth not yet checked
SESSION_LINK = "consents_link"
SESSION_DONE = "consents_done"


def get_signature_for_user(request, patient_id: int, signature_id: int, *, perm: str) -> ConsentSignature:
    patient = get_patient_for_user(request, patient_id, perm=perm)
    signature = (
        ConsentSignature.objects.defer("signature_png")
        .select_related("patient", "version")
        .filter(patient=patient, pk=signature_id)
        .first()
    )
    if signature is None:
        raise Http404("No such signed consent for this patient.")
    return signature


def get_version_for_admin(request, version_id: int) -> ConsentVersion:
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied
    version = ConsentVersion.objects.select_related("created_by", "published_by").filter(pk=version_id).first()
    if version is None:
        raise Http404("No such consent version.")
    return version


def grant_signing_session(session, link_id: int) -> None:
    """Scope a fresh session to one opened link (the pre-visit packet calls this after making a
    ``verified`` link for the patient it has already identified): the public signing page then
    signs for that link's patient and kinds only."""
    session.cycle_key()
    for key in (SESSION_PENDING, SESSION_DONE):
        session.pop(key, None)
    session[SESSION_LINK] = link_id
