"""The reports the index lists: slug, title, who may open it, which filters it uses, and its builder."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.apps import apps
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from core.replica import Source, mark_unreachable, primary_reads, replica_reads
from reports.selectors import billing, clinical, compliance, operations
from reports.selectors.infusion_safety import infusion_safety
from reports.selectors.inquiries import inquiry_conversion
from reports.tables import Section

logger = logging.getLogger(__name__)

VIEW_REPORTS = "reports.view_reports"
VIEW_CLINICAL_QUALITY = "reports.view_clinical_quality"
VIEW_MONEY = "billing.view_financial_reports"


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    group: str
    summary: str
    permission: str
    build: Callable[[dict], list[Section]]
    fields: tuple[str, ...] = ()


REPORTS: tuple[Report, ...] = (
    Report(
        "appointments",
        "Appointments by type and status",
        "Operations",
        "Bookings per week or month, by type and status.",
        VIEW_REPORTS,
        lambda f: [operations.appointments_by_type_and_status(f)],
        ("period",),
    ),
    Report(
        "attendance",
        "No-shows and late cancellations",
        "Operations",
        "Rates by appointment type, weekday and start hour.",
        VIEW_REPORTS,
        lambda f: operations.attendance(f, now=timezone.now()),
        ("late_cancel_hours",),
    ),
    Report(
        "utilisation",
        "Chair utilisation",
        "Operations",
        "Booked chair-hours against open chair-hours per location.",
        VIEW_REPORTS,
        lambda f: [operations.chair_utilisation(f)],
    ),
    Report(
        "conversion",
        "Intake conversion",
        "Operations",
        "Consultation → eligible → plan → first infusion, with median days between.",
        VIEW_REPORTS,
        lambda f: [operations.conversion(f)],
    ),
    Report(
        "inquiries",
        "Inquiry conversion",
        "Operations",
        "People who reached out → registered → intake consultation → treatment plan, by period, reason and location.",
        VIEW_REPORTS,
        inquiry_conversion,
        ("period", "reason"),
    ),
    Report(
        "reminders",
        "Reminders",
        "Operations",
        "Sent, failed and confirmed; no-shows with and without a reminder.",
        VIEW_REPORTS,
        lambda f: operations.reminders(f, now=timezone.now()),
        ("late_cancel_hours",),
    ),
    Report(
        "takings",
        "Daily takings and deposit slip",
        "Money",
        "Payments and refunds per local day and payment method.",
        VIEW_MONEY,
        billing.takings,
    ),
    Report(
        "outstanding",
        "Outstanding balances",
        "Money",
        "What patients owe, aged 0–30, 31–60, 61–90 and over 90 days, as of the last day of the range.",
        VIEW_MONEY,
        billing.outstanding,
    ),
    Report(
        "packages",
        "Packages outstanding",
        "Money",
        "Open packages, sessions left and the prepaid value not yet used.",
        VIEW_MONEY,
        billing.packages,
    ),
    Report(
        "fees",
        "Fees charged and waived",
        "Money",
        "No-show and late-cancellation fees, and what administrators waived.",
        VIEW_MONEY,
        billing.fees,
    ),
    Report(
        "revenue",
        "Revenue per appointment type",
        "Money",
        "Visit invoices and their credit notes, per appointment type.",
        VIEW_MONEY,
        billing.revenue,
    ),
    Report(
        "compliance",
        "Unsigned records and amendments",
        "Compliance",
        "Consultations left unsigned, corrections and addenda; the audit report.",
        VIEW_REPORTS,
        compliance.compliance,
        ("unsigned_days",),
    ),
    Report(
        "clinical-quality",
        "Outcomes: response and remission",
        "Clinical quality",
        "By indication and instrument at end of induction, 3 and 6 months, with lost to follow-up.",
        VIEW_CLINICAL_QUALITY,
        clinical.clinical_quality,
    ),
)


def _infusion_safety(f: dict) -> list[Section]:
    return infusion_safety(f)


if apps.is_installed("infusions"):
    REPORTS += (
        Report(
            "infusion-safety",
            "Infusion safety and chair time",
            "Clinical quality",
            "Adverse events and BP alerts per 100 infusions, early stops, deferrals, time to discharge-ready, "
            "chair time against the booking.",
            VIEW_CLINICAL_QUALITY,
            _infusion_safety,
        ),
    )

BY_SLUG = {r.slug: r for r in REPORTS}


def visible_to(user) -> list[Report]:
    return [r for r in REPORTS if user.has_perm(r.permission)]


def build(report: Report, data: dict) -> tuple[list[Section], Source]:
    """The report's tables, read from the replica when it is usable (``core.replica``), and where from.

    A replica that fails while the report is read (it went away after the lag check) costs the
    page nothing but time: the report is read again from the primary, and the next pages go
    straight there until the replica answers again.
    """
    with replica_reads() as source:
        if not source.from_replica:
            return report.build(data), source
        try:
            return report.build(data), source
        except (OperationalError, InterfaceError):
            logger.warning("The read replica failed during a report; read again from the primary.", exc_info=True)
            mark_unreachable()
            with primary_reads():
                return report.build(data), replace(source, from_replica=False, lag=None, unreachable=True)


def _behind(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"


def source_notice(source: Source) -> str:
    """What the page says about where its figures come from; nothing when there is no replica."""
    if not source.replica_configured:
        return ""
    if source.from_replica:
        return f"Figures from the reporting replica, {_behind(source.lag or 0)} behind."
    if source.unreachable:
        why = "replica unreachable"
    elif source.lag is None:
        why = "replica lag unknown"
    else:
        why = f"replica {_behind(source.lag)} behind"
    return f"Figures from the primary database ({why})."
