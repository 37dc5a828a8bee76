"""Inquiry conversion: people who reached out → registered → intake consultation → treatment plan,
per period, reason and preferred location. Every figure is one aggregate query in PostgreSQL (the
consultation and plan steps are EXISTS subqueries per inquiry, counted with FILTER); Python only
lays the aggregated rows out."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from consultations.choices import PlanStatus
from consultations.models import Consultation, TreatmentPlan
from core import charts
from inquiries import rules as inquiry_rules
from inquiries.models import Inquiry
from reports.sql import local_date, local_period, utc_window
from reports.tables import Column, Section, rate

ZONE = Coalesce(F("preferred_location__time_zone"), Value(settings.TIME_ZONE))
# When a consultation took place (its appointment) or, without one, was opened.
CONSULT_AT = Coalesce(F("appointment__start"), F("created_at"))


def inquiries_in(f: dict) -> QuerySet[Inquiry]:
    """Inquiries received on a local day in [start, end] (the preferred location's zone, else the
    clinic's), at the chosen location and for the chosen reason."""
    low, high = utc_window(f["start"], f["end"])
    qs = (
        Inquiry.objects.filter(submitted_at__gte=low, submitted_at__lt=high)
        .alias(local_day=local_date("submitted_at", ZONE))
        .filter(local_day__gte=f["start"], local_day__lte=f["end"])
    )
    if f.get("location") is not None:
        qs = qs.filter(preferred_location=f["location"])
    if f.get("reason"):
        qs = qs.filter(reason=f["reason"])
    return qs


def _figures() -> dict:
    """Each step counted with FILTER; the consultation and plan steps are EXISTS per inquiry."""
    consultations = Consultation.objects.alias(consult_at=CONSULT_AT).filter(
        patient=OuterRef("patient"), consult_at__gte=OuterRef("submitted_at")
    )
    plans = TreatmentPlan.objects.filter(
        consultation__patient=OuterRef("patient"), created_at__gte=OuterRef("submitted_at")
    ).exclude(status=PlanStatus.DRAFT)
    return {
        "inquiries": Count("id"),
        "registered": Count("id", filter=Q(patient__isnull=False)),
        "consulted": Count("id", filter=Q(Exists(consultations))),
        "planned": Count("id", filter=Q(Exists(plans))),
        "closed": Count("id", filter=Q(status=inquiry_rules.Status.CLOSED)),
        "open": Count("id", filter=Q(status__in=inquiry_rules.OPEN_STATUSES)),
    }


STEP_COLUMNS = [
    Column("inquiries", "Inquiries"),
    Column("registered", "Registered as patients"),
    Column("consulted", "Intake consultation"),
    Column("planned", "Treatment plan agreed"),
    Column("to_plan", "% of inquiries reaching a plan"),
    Column("open", "Still open"),
    Column("closed", "Closed"),
]
DEFINITIONS = [
    (
        "Inquiries",
        "Sent through the public form (or recorded from a referral) on a local day in the range, in the time "
        "zone of the preferred location (the clinic's without one); with a location or reason filter, only those.",
    ),
    ("Registered as patients", "Inquiries the desk registered as a patient or linked to an existing record."),
    (
        "Intake consultation",
        "The linked patient has an intake consultation whose appointment (or, without one, creation) is on or "
        "after the inquiry, whatever its status.",
    ),
    ("Treatment plan agreed", "The linked patient has a treatment plan out of draft created on or after the inquiry."),
    ("% of inquiries reaching a plan", "Treatment plan agreed ÷ inquiries × 100; — when there were none."),
    ("Still open / closed", "The inquiry's status now: new or contacted, or closed with a reason."),
]


def _with_rate(row: dict) -> dict:
    row["to_plan"] = rate(row["planned"], row["inquiries"])
    return row


def _by(qs: QuerySet[Inquiry], key: str, expression=None) -> list[dict]:
    grouped = qs.annotate(**{key: expression}) if expression is not None else qs
    return [_with_rate(r) for r in grouped.values(key).annotate(**_figures()).order_by(key)]


def inquiry_conversion(f: dict) -> list[Section]:
    qs = inquiries_in(f)
    totals = _with_rate(qs.aggregate(**_figures()))
    steps = [
        ("Inquiries", totals["inquiries"]),
        ("Registered as patients", totals["registered"]),
        ("Intake consultation", totals["consulted"]),
        ("Treatment plan agreed", totals["planned"]),
    ]
    funnel_rows = []
    previous = None
    for label, count in steps:
        funnel_rows.append(
            {
                "step": label,
                "count": count,
                "of_previous": rate(count, previous) if previous is not None else rate(count, count),
                "of_inquiries": rate(count, totals["inquiries"]),
            }
        )
        previous = count
    funnel = Section(
        key="funnel",
        title="Inquiries → patients → consultations → plans",
        columns=[
            Column("step", "Step", False),
            Column("count", "Inquiries reaching it"),
            Column("of_previous", "% of previous step"),
            Column("of_inquiries", "% of inquiries"),
        ],
        rows=funnel_rows,
        chart=charts.bar_chart(
            categories=[label for label, _ in steps],
            series=[("Inquiries", [count for _, count in steps])],
            title="Inquiry to treatment plan",
            y_label="inquiries",
        ),
        note=f"{totals['open']} still open, {totals['closed']} closed.",
        definitions=DEFINITIONS,
    )
    period = f.get("period") or "week"
    by_period = _by(qs, "period", local_period(period, "submitted_at", ZONE))
    for row in by_period:
        row["period"] = row["period"].isoformat()
    by_reason = _by(qs, "reason")
    for row in by_reason:
        row["reason"] = inquiry_rules.REASON_SHORT.get(row["reason"], row["reason"])
    by_location = _by(qs, "location", Coalesce(F("preferred_location__name"), Value("No preference")))
    return [
        funnel,
        Section(
            key="by_period",
            title=f"Per {period} received",
            columns=[Column("period", f"{period.title()} starting", False), *STEP_COLUMNS],
            rows=by_period,
            definitions=DEFINITIONS,
        ),
        Section(
            key="by_reason",
            title="Per reason given",
            columns=[Column("reason", "Reason", False), *STEP_COLUMNS],
            rows=by_reason,
            definitions=DEFINITIONS,
        ),
        Section(
            key="by_location",
            title="Per preferred location",
            columns=[Column("location", "Preferred location", False), *STEP_COLUMNS],
            rows=by_location,
            definitions=DEFINITIONS,
        ),
    ]
