"""Reads from the registry: query shape, access scope, search and duplicate checks live here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.apps import apps
from django.contrib.postgres.search import TrigramSimilarity
from django.core.paginator import Page, Paginator
from django.db.models import BooleanField, Expression, ExpressionWrapper, F, Q, QuerySet, TextField, Value, Window
from django.db.models.aggregates import Count
from django.db.models.functions import Concat, Greatest, Lower
from django.utils import timezone

from patients.access import patients_in_scope
from patients.expressions import DMetaphone, name_key
from patients.models import ContactLogEntry, Patient
from patients.rules import DUPLICATE_NAME_SIMILARITY
from patients.search import search_patients

DUPLICATES_SHOWN = 10
CONTACT_LOG_ON_PATIENT_PAGE = 10


# What a list row shows: loading (and parsing) the escort and emergency phones
# of 25 rows would cost more than the rest of the row.
LIST_FIELDS = (
    "id",
    "mrn",
    "legal_first_name",
    "legal_last_name",
    "preferred_name",
    "date_of_birth",
    "pronouns",
    "phone",
    "status",
)


def patients_visible_to(
    *, user, search: str = "", today: date | None = None, for_list: bool = False
) -> QuerySet[Patient]:
    """The patients ``user`` may see, narrowed and ranked by ``search`` when given.

    Chain-wide staff see the whole registry; a user scoped to some locations sees the
    patients with care there (``patients.access.patients_in_scope``). ``for_list``
    loads only the columns of a list row (``LIST_FIELDS``).
    """
    if not user.has_perm("patients.view_patient"):
        return Patient.objects.none()
    queryset = Patient.objects.only(*LIST_FIELDS) if for_list else Patient.objects.all()
    queryset = patients_in_scope(user, queryset)
    search = search.strip()
    if search:
        queryset = search_patients(queryset, search, today=today or timezone.localdate())
    return queryset


def paginate(queryset: QuerySet, page_number: str | int | None, *, per_page: int, ranked: bool) -> Page:
    """One page of ``queryset``; any page number works (bad or out of range → first/last page).

    Ranked (search) results must be computed in full before the first row is
    known, so their total comes with the page from one query (``COUNT(*) OVER ()``)
    instead of a second one; a plain list keeps the cheap index-ordered
    ``LIMIT`` plus ``COUNT(*)``.
    """
    paginator = Paginator(queryset, per_page)
    try:
        number = max(1, int(str(page_number)))
    except (TypeError, ValueError):
        number = 1
    if not ranked:
        return paginator.get_page(number)
    number = min(number, 10_000)  # a huge page number is still one cheap query
    offset = (number - 1) * per_page
    rows = list(queryset.annotate(result_total=Window(Count("*")))[offset : offset + per_page])
    if not rows and number > 1:
        return paginate(queryset, paginator.num_pages, per_page=per_page, ranked=False)
    paginator.count = rows[0].result_total if rows else 0
    return Page(rows, number, paginator)


@dataclass
class PossibleDuplicate:
    patient: Patient
    reasons: list[str] = field(default_factory=list)


def possible_duplicates(
    *,
    legal_first_name: str,
    legal_last_name: str,
    date_of_birth: date | None,
    phone: str = "",
    email: str = "",
    exclude_pk: int | None = None,
) -> list[PossibleDuplicate]:
    """Registered patients that may be the same person, with why (one bounded query).

    Same date of birth and a name that is the same after folding accents and
    case, swapped (first ↔ last), trigram-close, or sound-alike; or the same
    phone number; or the same e-mail address. Every branch is indexed.
    """
    folded_last, folded_first = name_key(Value(legal_last_name)), name_key(Value(legal_first_name))
    same_name = Q(pk__in=[])
    if date_of_birth is not None and legal_last_name and legal_first_name:
        text: TextField = TextField()
        typed = Concat(folded_last, Value(" "), folded_first, output_field=text)
        stored = Concat(F("last_name_key"), Value(" "), F("first_name_key"), output_field=text)
        stored_swapped = Concat(F("first_name_key"), Value(" "), F("last_name_key"), output_field=text)
        same_name = Q(date_of_birth=date_of_birth) & (
            Q(last_name_key=folded_last, first_name_key=folded_first)
            | Q(last_name_key=folded_first, first_name_key=folded_last)
            | Q(
                duplicate_name_similarity__gte=DUPLICATE_NAME_SIMILARITY,
            )
            | (Q(last_name_phonetic=DMetaphone(folded_last)) & Q(first_name_phonetic=DMetaphone(folded_first)))
        )
        # django-stubs types the second argument as text; Django takes any expression there (wrapping text in Value).
        similarity: Expression = Greatest(TrigramSimilarity(stored, typed), TrigramSimilarity(stored_swapped, typed))  # type: ignore[arg-type]
    else:
        similarity = Value(0.0)
    same_phone = Q(phone=phone) if phone else Q(pk__in=[])
    same_email = Q(email_lower=email.strip().lower()) if email.strip() else Q(pk__in=[])
    queryset = Patient.objects.alias(
        duplicate_name_similarity=similarity,
        last_name_phonetic=DMetaphone("last_name_key"),
        first_name_phonetic=DMetaphone("first_name_key"),
        email_lower=Lower("email"),
    )
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    rows = (
        queryset.filter(same_name | same_phone | same_email)
        .annotate(
            dup_name=ExpressionWrapper(same_name, output_field=BooleanField()),
            dup_phone=ExpressionWrapper(same_phone, output_field=BooleanField()),
            dup_email=ExpressionWrapper(same_email, output_field=BooleanField()),
        )
        .order_by("legal_last_name", "legal_first_name", "id")[:DUPLICATES_SHOWN]
    )
    out = []
    for p in rows:
        reasons = [
            text
            for flag, text in (
                (p.dup_name, "same name and date of birth"),
                (p.dup_phone, "same phone"),
                (p.dup_email, "same e-mail"),
            )
            if flag
        ]
        out.append(PossibleDuplicate(patient=p, reasons=reasons))
    return out


def possible_duplicates_of(patient: Patient) -> list[PossibleDuplicate]:
    """Other records that look like the same person, for the patient page's alert.

    Only the strong signals (name and date of birth, e-mail): relatives often
    share a phone, and the page must not cry wolf for every family. The phone
    still warns at registration, where the desk can ask.
    """
    return possible_duplicates(
        legal_first_name=patient.legal_first_name,
        legal_last_name=patient.legal_last_name,
        date_of_birth=patient.date_of_birth,
        email=patient.email,
        exclude_pk=patient.pk,
    )


def patient_as_of_version(*, patient_id: int, version: int):
    """The patient's values as they were at ``version`` (from the history), or None if unknown.

    Lets the edit form show what someone else changed since the editor loaded it.
    """

    # pghistory makes the event model at import time, so types see it only through the app registry.
    events = apps.get_model("patients", "PatientEvent")
    return events._default_manager.filter(pgh_obj_id=patient_id, version=version).order_by("-pgh_id").first()


def contact_log_for(*, patient: Patient) -> QuerySet[ContactLogEntry]:
    """The patient's contact log, newest first, with who wrote each entry."""
    return ContactLogEntry.objects.filter(patient=patient).select_related("by").order_by("-at", "-id")


def patient_ids_for_mrn(mrn: str) -> list[int]:
    """The patient an MRN names (MRNs are unique and upper-case; typed case is forgiven), as ids."""
    return list(Patient.objects.filter(mrn=mrn.strip().upper()).values_list("pk", flat=True))
