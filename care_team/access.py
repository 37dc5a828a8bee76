"""Who may see what of the care team (one place decides).

The directory and a patient's care-team names are for every role (the front desk books around
them and answers the phone): ``care_team.view_outsideprovider`` / ``view_careteammember``.
Progress letters, authorisations' details and adjunct notes are clinical: they also need
``patients.view_clinical_record`` on the patient's chart, which the front desk never has.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from care_team import selectors
from care_team.models import CareTeamMember, OutsideProvider, ProgressLetter, SharingAuthorisation
from patients.access import CLINICAL, VIEW, get_chart_object, has_chart_perms
from scheduling.models import Appointment

VIEW_PROVIDER = "care_team.view_outsideprovider"
VIEW_MEMBER = "care_team.view_careteammember"
VIEW_LETTER = "care_team.view_progressletter"
VIEW_NOTE = "care_team.view_adjunctnote"


def may_see_letters(user, *, patient_id: int | None) -> bool:
    return has_chart_perms(user, VIEW_LETTER, CLINICAL, patient_id=patient_id)


def may_see_notes(user, *, patient_id: int | None) -> bool:
    return has_chart_perms(user, VIEW_NOTE, CLINICAL, patient_id=patient_id)


def get_provider(request, pk: int, *, perm: str = VIEW_PROVIDER) -> OutsideProvider:
    if not request.user.has_perm(perm):
        raise PermissionDenied
    found = selectors.provider(pk)
    if found is None:
        raise Http404("No such clinician in the directory.")
    return found


def get_member(request, pk: int, *perms: str) -> CareTeamMember:
    return get_chart_object(request, lambda: selectors.member(pk), *perms, VIEW, missing="No such care-team member.")


def get_authorisation(request, pk: int, *perms: str) -> SharingAuthorisation:
    return get_chart_object(
        request, lambda: selectors.authorisation(pk), *perms, VIEW, missing="No such authorisation."
    )


def get_letter(request, pk: int, *perms: str) -> ProgressLetter:
    return get_chart_object(
        request, lambda: selectors.letter(pk), VIEW_LETTER, *perms, CLINICAL, missing="No such progress letter."
    )


def get_adjunct_appointment(request, pk: int, *perms: str) -> Appointment:
    return get_chart_object(
        request,
        lambda: selectors.adjunct_appointment(pk),
        VIEW_NOTE,
        *perms,
        CLINICAL,
        missing="No such integration or psychotherapy visit.",
    )
