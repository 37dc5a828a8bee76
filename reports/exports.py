"""Long CSV exports written by the documents worker: each report's tables and the audit trail.

The reports app sits above every stage and beside documents, so it owns the exports whose data
lives below documents (the audit trail is accounts', which imports no app above it): it registers
them with documents and fills accounts' hook (``accounts.exports.register_audit_csv_background``)
at start-up. A report's CSV reads the visits of its period: the request counts those (capped) and,
when there are more than the threshold, issues the export; the worker builds the report and writes
the table.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts import exports as audit_exports
from accounts.models import User
from core.audit import Category
from documents import registry
from documents import services as document_services
from reports.forms import ReportFilterForm
from reports.registry import REPORTS, Report, build
from reports.selectors.operations import appointments_in

AUDIT_EXPORT = "accounts.audit_trail"


def export_name(report: Report) -> str:
    return f"reports.{report.slug}"


def category(report: Report) -> Category:
    """The audit trail's data category of a report (its page, its CSV, its export's download)."""
    if report.group == "Money":
        return Category.BILLING
    return Category.CLINICAL if report.group == "Clinical quality" else Category.SCHEDULING


def _form(report: Report, params: dict[str, Any]) -> ReportFilterForm:
    today = date.fromisoformat(params["today"]) if params.get("today") else timezone.localdate()
    return ReportFilterForm(params, today=today, fields=report.fields)


def report_params(report: Report, form: ReportFilterForm, *, table: str) -> dict[str, Any]:
    """The filters an export is run with: the form's values (defaults filled in), the table and the day."""
    return {**{k: str(v) for k, v in form.data.items()}, "table": table, "today": timezone.localdate().isoformat()}


def report_rows(report: Report, params: dict[str, Any]):
    form = _form(report, params)
    if not form.is_valid():
        raise ValueError("the export's filters are no longer valid")
    sections, _source = build(report, form.cleaned_data)
    wanted = params.get("table") or (sections[0].key if sections else "")
    section = next((s for s in sections if s.key == wanted), None)
    if section is None:
        raise LookupError(f"no table {wanted!r} in report {report.slug!r}")
    return section.csv_lines()


def report_size(report: Report, params: dict[str, Any], cap: int | None) -> int:
    """The visits of the report's period and location: what a report reads and aggregates."""
    form = _form(report, params)
    if not form.is_valid():
        return 0
    data = form.cleaned_data
    visits = appointments_in(start=data["start"], end=data["end"], location=data.get("location")).order_by()
    return visits.count() if cap is None else visits[: cap + 1].count()


def _register(report: Report) -> None:
    registry.register_export(
        export_name(report),
        rows=lambda params: report_rows(report, params),
        count=lambda params, cap: report_size(report, params, cap),
        permissions=(report.permission,),
        category=category(report),
    )


def audit_csv_background(*, params: dict[str, str], by: User) -> str | None:
    """accounts' hook: issue a long audit-trail CSV for the worker and name its status page."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    document = document_services.data_export_start(
        export=AUDIT_EXPORT,
        params=params,
        by=by,
        title="Audit trail (CSV)",
        filename=f"audit-{stamp}.csv",
        back=f"{reverse('accounts:audit-report')}?{urlencode(params)}",
    )
    return None if document is None else reverse("documents:status", args=[document.pk])


def register() -> None:
    for report in REPORTS:
        _register(report)
    registry.register_export(
        AUDIT_EXPORT,
        rows=audit_exports.rows,
        count=audit_exports.count,
        permissions=("accounts.view_auditevent",),
        category=Category.AUDIT,
    )
    audit_exports.register_audit_csv_background(audit_csv_background)
