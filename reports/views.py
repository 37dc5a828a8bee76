"""Report pages: one generic view per report, as HTML, CSV (one table) or a printable page."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import audit
from accounts.models import AuditEvent
from core.audit import Category, Verb
from documents import services as document_services
from reports import exports
from reports.forms import PrepareDayForm, ReportFilterForm
from reports.registry import BY_SLUG, build, source_notice, visible_to
from reports.selectors.prepare import LABS_FINDING, clinic_day_after, prepare_day


def index(request):
    reports = visible_to(request.user)
    if not reports:
        raise PermissionDenied
    groups: dict[str, list] = {}
    for report in reports:
        groups.setdefault(report.group, []).append(report)
    return render(request, "reports/report_index.html", {"groups": groups, "crumbs": [("Reports", None)]})


def _category(report) -> Category:
    return exports.category(report)


def report_view(slug: str):
    report = BY_SLUG[slug]

    def view(request):
        if not request.user.has_perm(report.permission):
            raise PermissionDenied
        form = ReportFilterForm(request.GET, today=timezone.localdate(), fields=report.fields, user=request.user)
        output = request.GET.get("format", "")
        if output == "csv" and form.is_valid():
            return _csv(request, report, form)
        sections, source = build(report, form.cleaned_data) if form.is_valid() else ([], None)
        audit.record(
            actor=request.user,
            action=f"reports.{slug}.viewed",
            verb=Verb.PRINT if output == "print" else Verb.QUERY,
            category=_category(report),
            changes={"filters": {k: v for k, v in form.data.items() if v not in (None, "")}},
        )
        context = {
            "report": report,
            "form": form,
            "sections": sections,
            "query": form.query_string(),
            "generated_at": timezone.localtime(),
            "source_notice": source_notice(source) if source else "",
            "crumbs": [("Reports", reverse("reports:index")), (report.title, None)],
        }
        template = "reports/report_print.html" if output == "print" else "reports/report_detail.html"
        return render(request, template, context, status=200 if form.is_valid() else 400)

    view.__name__ = f"report_{slug.replace('-', '_')}"
    return view


def _csv(request, report, form):
    """One table as CSV: written here when the period holds few visits, else by the documents
    worker (the report's query runs there) with the request answering its status page."""
    wanted = request.GET.get("table", "")
    audit.record(
        actor=request.user,
        action=f"reports.{report.slug}.exported",
        verb=Verb.EXPORT,
        category=_category(report),
        changes={"filters": dict(form.data), "table": wanted},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    document = document_services.data_export_start(
        export=exports.export_name(report),
        params=exports.report_params(report, form, table=wanted),
        by=request.user,
        title=f"{report.title} (CSV)",
        filename=f"{report.slug}-{wanted or 'table'}-{stamp}.csv",
        back=f"{reverse(f'reports:{report.slug}')}?{form.query_string()}",
    )
    if document is not None:
        return redirect("documents:status", document_id=document.pk)
    sections, _source = build(report, form.cleaned_data)
    section = next((s for s in sections if s.key == (wanted or sections[0].key)), None)
    if section is None:
        raise Http404("No such table in this report.")
    response = HttpResponse(section.csv_text(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report.slug}-{section.key}-{stamp}.csv"'
    return response


@permission_required("reports.prepare_clinic_day", raise_exception=True)
@require_GET
@audit.audited_query("reports.prepare_day.viewed", AuditEvent.Category.CLINICAL)
def prepare(request):
    """The next clinic day's visits with what each still lacks, each linked to where it is put right.

    Clinical staff only: what a visit lacks (an unsigned order, a safety alert) is clinical. The
    front desk has its own list of tomorrow's arrivals, escorts and outstanding questionnaires.
    """
    today = timezone.localdate()
    form = PrepareDayForm(request.GET or None, today=today)
    valid = form.is_valid() if form.is_bound else True
    chosen = form.cleaned_data.get("day") if form.is_bound and valid else None
    day = chosen or clinic_day_after(today)
    visits = prepare_day(day=day, locations_of=request.user) if valid else []
    context = {
        "form": form,
        "day": day,
        "visits": visits,
        "ready_count": sum(v.readiness.ready for v in visits),
        "labs_finding": LABS_FINDING,
        "crumbs": [("Prepare tomorrow", None)],
    }
    return render(request, "reports/prepare_day.html", context, status=200 if valid else 400)
