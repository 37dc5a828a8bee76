"""Compliance: records left unsigned, amendments to signed records, links to the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, Sum, Value
from django.urls import reverse
from django.utils import formats, timezone

from consultations.choices import AmendmentKind, AmendmentSection
from consultations.models import Amendment, Consultation
from controlled_substances.models import CountLine
from core import charts
from core.formatting import zone_label
from documents.models import Disclosure, DisclosureChannel, DisclosurePurpose
from followups.models import AlertReason, SafetyAlert
from reports.sql import Days, Median, Minutes, local_date, local_period
from reports.tables import Column, Section, one_decimal, rate
from scheduling.models import PatientLocation


def unsigned_consultations(f: dict, *, now: datetime) -> list[Section]:
    days = f["unsigned_days"]
    drafts = Consultation.objects.filter(status=Consultation.Status.DRAFT, created_at__lt=now - timedelta(days=days))
    if f["location"] is not None:
        drafts = drafts.filter(appointment__location=f["location"])
    by_clinician = list(
        drafts.values(
            clinician_name=F("clinician__username"),
        )
        .annotate(
            count=Count("id"),
            oldest_days=Max(Days(Value(now), F("created_at"))),
            newest_days=Min(Days(Value(now), F("created_at"))),
        )
        .order_by("-count", "clinician_name")
    )
    for row in by_clinician:
        row["oldest_days"] = one_decimal(row["oldest_days"])
        row["newest_days"] = one_decimal(row["newest_days"])
    oldest = list(
        drafts.annotate(age_days=Days(Value(now), F("created_at")))
        .values("id", "patient__mrn", "clinician__username", "created_at", "age_days")
        .order_by("created_at")[:50]
    )
    rows = [
        {
            "consultation": f"#{r['id']}",
            "mrn": r["patient__mrn"],
            "clinician": r["clinician__username"],
            "created": formats.date_format(timezone.localtime(r["created_at"]), "SHORT_DATETIME_FORMAT"),
            "age_days": one_decimal(r["age_days"]),
        }
        for r in oldest
    ]
    definitions = [
        (
            "Unsigned",
            f"Intake consultations still in draft more than {days} days after they were opened "
            "(clinic policy; change N in the filter). Counted as of now, whatever the date range.",
        ),
        ("Age (days)", "Now minus the time the consultation was opened."),
    ]
    return [
        Section(
            key="unsigned-by-clinician",
            title=f"Consultations unsigned after {days} days, by clinician",
            columns=[
                Column("clinician_name", "Clinician", False),
                Column("count", "Unsigned"),
                Column("oldest_days", "Oldest (days)"),
                Column("newest_days", "Newest (days)"),
            ],
            rows=by_clinician,
            chart=charts.bar_chart(
                categories=[r["clinician_name"] for r in by_clinician],
                series=[("Unsigned", [r["count"] for r in by_clinician])],
                title="Unsigned consultations by clinician",
                y_label="consultations",
            ),
            definitions=definitions,
        ),
        Section(
            key="unsigned-oldest",
            title="The 50 oldest unsigned consultations",
            columns=[
                Column("consultation", "Consultation", False),
                Column("mrn", "Record number", False),
                Column("clinician", "Clinician", False),
                Column("created", "Opened (local)", False),
                Column("age_days", "Age (days)"),
            ],
            rows=rows,
            definitions=definitions,
        ),
    ]


def amendments(f: dict) -> Section:
    qs = Amendment.objects.alias(day=local_date("at", Value(settings.TIME_ZONE))).filter(
        day__gte=f["start"], day__lte=f["end"]
    )
    if f["location"] is not None:
        qs = qs.filter(consultation__appointment__location=f["location"])
    counts = {
        (r["section"], r["kind"]): r["n"] for r in qs.values("section", "kind").annotate(n=Count("id")).order_by()
    }
    rows = []
    for section in AmendmentSection:
        amends = counts.get((section.value, AmendmentKind.AMENDS.value), 0)
        appends = counts.get((section.value, AmendmentKind.APPENDS.value), 0)
        if amends or appends:
            rows.append({"section": section.label, "amends": amends, "appends": appends, "total": amends + appends})
    return Section(
        key="amendments",
        title="Amendments and addenda to signed consultations",
        columns=[
            Column("section", "Section", False),
            Column("amends", "Corrections"),
            Column("appends", "Addenda"),
            Column("total", "Total"),
        ],
        rows=rows,
        chart=charts.bar_chart(
            categories=[r["section"] for r in rows],
            series=[("Corrections", [r["amends"] for r in rows]), ("Addenda", [r["appends"] for r in rows])],
            title="Amendments by section",
            y_label="amendments",
            stacked=True,
        ),
        definitions=[
            (
                "Corrections",
                'Amendments that correct the signed original (FHIR "amends"), dated in the range '
                f"(local day in {zone_label(settings.TIME_ZONE)}).",
            ),
            ("Addenda", 'Amendments that add to the original (FHIR "appends").'),
        ],
        links=[("Audit report (who read or changed what)", reverse("accounts:audit-report"))],
    )


def _of_patients_at(f: dict, queryset, field: str = "patient_id"):
    """Rows about the patients with care at the location filter's location (all without one)."""
    if f["location"] is None:
        return queryset
    at = PatientLocation.objects.filter(location=f["location"]).values("patient_id")
    return queryset.filter(**{f"{field}__in": at})


def controlled_substance_discrepancies(f: dict) -> Section:
    """Count lines that disagreed with the ledger, per month of the count (at the location filter's
    DEA registration: each location keeps its own ledger)."""

    lines = CountLine.objects.alias(day=local_date("count__counted_at", Value(settings.TIME_ZONE))).filter(
        day__gte=f["start"], day__lte=f["end"]
    )
    if f["location"] is not None:
        lines = lines.filter(count__registration__location=f["location"])
    rows = list(
        lines.annotate(month=local_period("month", "count__counted_at", Value(settings.TIME_ZONE)))
        .values("month")
        .annotate(
            lines=Count("id"),
            discrepancies=Count("id", filter=~Q(discrepancy_ml=0)),
            significant=Count("id", filter=Q(significant=True)),
            unexplained=Count("id", filter=~Q(discrepancy_ml=0) & Q(explanation="")),
            net_mg=Sum("discrepancy_mg"),
        )
        .order_by("month")
    )
    for row in rows:
        row["month"] = row["month"].strftime("%Y-%m")
        row["rate"] = rate(row["discrepancies"], row["lines"])
    links = []
    if apps.is_installed("controlled_substances"):
        links.append(("Discrepancy detail (ketamine ledger)", reverse("controlled_substances:report-discrepancies")))
    return Section(
        key="cs-discrepancies",
        title="Controlled-substance count discrepancies",
        columns=[
            Column("month", "Month of count", False),
            Column("lines", "Containers counted (denominator)"),
            Column("discrepancies", "With a discrepancy"),
            Column("rate", "% with a discrepancy"),
            Column("significant", "Significant"),
            Column("unexplained", "Not yet explained"),
            Column("net_mg", "Net discrepancy (mg)"),
        ],
        rows=rows,
        chart=charts.bar_chart(
            categories=[r["month"] for r in rows],
            series=[("With a discrepancy", [r["discrepancies"] for r in rows])],
            title="Count discrepancies per month",
            y_label="count lines",
        ),
        links=links,
        definitions=[
            (
                "Containers counted",
                "Count lines (one container in one inventory count) counted in the range; with a "
                "location filter, those of that location's DEA registration.",
            ),
            ("With a discrepancy", "Counted volume differs from the ledger's."),
            ("Significant", "Flagged significant under the ledger's policy threshold (clinic policy)."),
            ("Not yet explained", "A discrepancy with no explanation recorded."),
            ("Net discrepancy (mg)", "Sum of counted minus ledger, in mg (negative = missing)."),
        ],
    )


def safety_alerts(f: dict) -> Section:
    """Urgent alerts raised by patients' answers and how fast a clinician acknowledged them."""

    alerts = SafetyAlert.objects.alias(day=local_date("created_at", Value(settings.TIME_ZONE))).filter(
        day__gte=f["start"], day__lte=f["end"]
    )
    alerts = _of_patients_at(f, alerts)
    found = {
        r["reason"]: r
        for r in alerts.values("reason").annotate(
            raised=Count("id"),
            acknowledged=Count("id", filter=Q(acknowledged_at__isnull=False)),
            median_minutes=Median(Minutes(F("acknowledged_at") - F("created_at"))),
            longest_minutes=Max(Minutes(F("acknowledged_at") - F("created_at"))),
        )
    }
    rows = []
    for reason in AlertReason:
        r = found.get(reason.value)
        if r is None:
            continue
        rows.append(
            {
                "reason": reason.label,
                "raised": r["raised"],
                "acknowledged": r["acknowledged"],
                "open": r["raised"] - r["acknowledged"],
                "median_minutes": one_decimal(r["median_minutes"]),
                "longest_minutes": one_decimal(r["longest_minutes"]),
            }
        )
    return Section(
        key="safety-alerts",
        title="Safety alerts and time to acknowledgement",
        columns=[
            Column("reason", "Reason", False),
            Column("raised", "Raised (denominator)"),
            Column("acknowledged", "Acknowledged"),
            Column("open", "Still open"),
            Column("median_minutes", "Median minutes to acknowledge"),
            Column("longest_minutes", "Longest (minutes)"),
        ],
        rows=rows,
        chart=charts.bar_chart(
            categories=[r["reason"] for r in rows],
            series=[("Median minutes", [r["median_minutes"] for r in rows])],
            title="Median minutes to acknowledge a safety alert",
            y_label="minutes",
        ),
        definitions=[
            (
                "Raised",
                "Safety alerts raised by patients' answers on a local day "
                f"({zone_label(settings.TIME_ZONE)}) in the range; with a location filter, of the "
                "patients with care at that location.",
            ),
            ("Acknowledged", "Closed by a clinician with a recorded action."),
            ("Minutes to acknowledge", "Acknowledgement minus raising, over acknowledged alerts; — when none were."),
        ],
    )


def disclosures(f: dict) -> Section:
    """Accounting of disclosures: every download or send of a patient document, by purpose and channel."""

    found = Disclosure.objects.alias(day=local_date("at", Value(settings.TIME_ZONE))).filter(
        day__gte=f["start"], day__lte=f["end"]
    )
    found = _of_patients_at(f, found)
    counts = {
        r["purpose"]: r
        for r in found.values("purpose").annotate(
            total=Count("id"),
            patients=Count("patient", distinct=True),
            **{c.value: Count("id", filter=Q(channel=c.value)) for c in DisclosureChannel},
        )
    }
    rows = [
        {"purpose": p.label, **{k: v for k, v in counts[p.value].items() if k != "purpose"}}
        for p in DisclosurePurpose
        if p.value in counts
    ]
    return Section(
        key="disclosures",
        title="Accounting of disclosures",
        columns=[
            Column("purpose", "Purpose", False),
            *[Column(c.value, c.label) for c in DisclosureChannel],
            Column("total", "Disclosures"),
            Column("patients", "Patients"),
        ],
        rows=rows,
        chart=charts.bar_chart(
            categories=[r["purpose"] for r in rows],
            series=[(c.label, [r[c.value] for r in rows]) for c in DisclosureChannel],
            title="Disclosures by purpose and channel",
            y_label="disclosures",
            stacked=True,
        ),
        definitions=[
            (
                "Disclosures",
                "Downloads, e-mails and prints of issued patient documents, each recorded with its "
                f"recipient and purpose, on a local day ({zone_label(settings.TIME_ZONE)}) in the range. "
                "With a location filter, of the patients with care at that location.",
            ),
            ("Patients", "Different patients whose documents were disclosed."),
        ],
    )


def compliance(f: dict) -> list[Section]:
    now = timezone.now()
    sections = [*unsigned_consultations(f, now=now), amendments(f)]
    if apps.is_installed("controlled_substances"):
        sections.append(controlled_substance_discrepancies(f))
    if apps.is_installed("followups"):
        sections.append(safety_alerts(f))
    if apps.is_installed("documents"):
        sections.append(disclosures(f))
    return sections
