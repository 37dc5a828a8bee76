"""Ledger pages. Function views: check the permission, bind a form, call one service."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from controlled_substances import forms, reports, selectors, services
from controlled_substances.access import MANAGE, RECORD, get_container, require, require_their_location
from controlled_substances.documents import (
    REPORT_TEMPLATE,
    export_name,
    export_params,
    report_request,
    report_snapshot,
)
from controlled_substances.models import ControlledSubstancePolicy, CountLine, LedgerEntry, LossReport, Registration
from core import csv_export
from core.pdf import render_pdf
from documents import services as document_services
from documents.models import DocumentKind
from documents.snapshots import letterhead
from infusions.models import DrugGiven
from scheduling.access import in_their_locations, location_ids_for

CS = AuditEvent.Category.CONTROLLED_SUBSTANCE
PDF_MAX_ROWS = 2000  # WeasyPrint lays out every row; longer periods print from the HTML view or CSV


def _crumbs(*tail):
    return [("Controlled substances", reverse("controlled_substances:index")), *tail]


@require_GET
@audit.audited_query("controlled_substances.home.viewed", CS)
def index(request):
    require(request, MANAGE)
    return render(request, "controlled_substances/ledger_index.html", _index_context(request.user))


def _their_losses(user, losses):
    """Losses whose entries are at ``user``'s locations (a loss is of one location's stock)."""
    ids = location_ids_for(user)
    if ids is None:
        return losses
    return losses.filter(entries__container__registration__location_id__in=ids).distinct()


def _index_context(user, **extra) -> dict:
    """The ledger's home: of every location for chain-wide staff, of their own locations' DEA
    registrations for a user scoped to some (each registration is one location's ledger)."""
    ids = location_ids_for(user)

    def here(registration_id) -> bool:
        return ids is None or registration_id in theirs

    theirs = set(
        in_their_locations(user, Registration.objects.all()).values_list("pk", flat=True) if ids is not None else ()
    )
    return {
        "registrations": [
            s for s in selectors.registration_statuses(today=timezone.localdate()) if here(s.registration.pk)
        ],
        "products": selectors.balances_by_product(registrations=None if ids is None else theirs),
        "containers": in_their_locations(
            user, selectors.containers_on_hand(), field="registration__location_id"
        ).order_by("registration__location__name", "lot__expiry_date", "code"),
        "open_counts": [c for c in selectors.counts()[:20] if c.open_n and here(c.registration_id)],
        "losses": _their_losses(user, LossReport.objects.filter(form_106_filed_on=None).select_related("reported_by")),
        "mismatches": [(c, ml) for c, ml in selectors.reconciliation_mismatches() if here(c.registration_id)],
        "open_draws": [
            e for e in selectors.open_session_draws(today=timezone.localdate()) if here(e.container.registration_id)
        ],
        "rescue_doses": selectors.controlled_rescue_doses(locations=ids),
        "crumbs": [("Controlled substances", None)],
        **extra,
    }


@require_http_methods(["GET", "POST"])
def receive(request):
    require(request, MANAGE)
    form = forms.ReceiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = services.stock_receive(**form.cleaned_data, received_at=timezone.now(), by=request.user)
        except services.LedgerError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Received {len(made)} container(s): {', '.join(c.code for c in made)}.")
            return redirect("controlled_substances:index")
    return render(
        request,
        "controlled_substances/ledger_form.html",
        {"form": form, "title": "Receive stock", "crumbs": _crumbs(("Receive stock", None))},
    )


@require_GET
def container_detail(request, container_id: int):
    container = get_container(request, container_id)
    entries = list(selectors.container_ledger(container))  # each says whether it offers "Reverse"
    context = {
        "container": container,
        "entries": entries,
        "crumbs": _crumbs((container.code, None)),
    }
    # Its ledger names the patients whose infusions drew from it.
    audit.record_page_opened(request, action="controlled_substances.container.viewed", category=CS, target=container)
    return render(request, "controlled_substances/container_detail.html", context)


# One page per container movement: (form class, service, title, permissions, extra kwargs).
def _waste(c, d, u, at):
    return services.waste_record(
        container=c, volume_ml=d["volume_ml"], manner=d["manner"], witness=d["witness"], by=u, at=at
    )


def _destroy(c, d, u, at):
    return services.destruction_record(
        container=c,
        volume_ml=d["volume_ml"],
        form_41_ref=d["form_41_ref"],
        manner=d["manner"],
        witness=d["witness"],
        second_witness=d["witness_2"],
        by=u,
        at=at,
    )


def _transfer(c, d, u, at):
    return services.transfer_record(container=c, by=u, at=at, **d)


def _move(c, d, u, at):
    out, _ = services.transfer_between_registrations(container=c, to=d["to"], reason=d["reason"], by=u, at=at)
    return out


def _loss(c, d, u, at):
    return services.loss_record(
        container=c, volume_ml=d["volume_ml"], kind=d["kind"], description=d["description"], discovered_at=at, by=u
    )


def _adjust(c, d, u, at):
    return services.correction_record(
        container=c,
        delta_ml=d["delta_ml"],
        reason=d["reason"],
        witness=d["witness"],
        as_loss="" if d["resolution"] == "adjust" else d["resolution"],
        not_a_loss_confirmed=d["not_a_loss_confirmed"],
        by=u,
        at=at,
    )


ACTIONS = {
    "waste": (forms.ContainerWasteForm, _waste, "Record waste (witnessed)", (RECORD, MANAGE)),
    "destroy": (forms.DestructionForm, _destroy, "Destroy stock (DEA Form 41, two witnesses)", (MANAGE,)),
    "transfer": (forms.TransferForm, _transfer, "Transfer to another registrant", (MANAGE,)),
    "move": (forms.MoveForm, _move, "Move the vial to another of our locations", (MANAGE,)),
    "loss": (forms.LossForm, _loss, "Report theft or significant loss", (MANAGE,)),
    "adjust": (forms.AdjustmentForm, _adjust, "Adjust the balance (a second person confirms)", (MANAGE,)),
}


@require_http_methods(["GET", "POST"])
def container_action(request, container_id: int, action: str):
    if action not in ACTIONS:
        raise Http404
    form_class, call, title, perms = ACTIONS[action]
    container = get_container(request, container_id, *perms)
    kwargs = {"user": request.user} if issubclass(form_class, forms.WitnessedForm) else {}
    if form_class is forms.MoveForm:
        kwargs["container"] = container
    form = form_class(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if not k.endswith("_password")}
        try:
            entry = call(container, data, request.user, timezone.now())
        except services.LedgerError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"Recorded: {entry.get_kind_display()} of {entry.quantity_ml} mL from {container.code}."
            )
            if entry.loss_report_id:
                return redirect("controlled_substances:loss-report", report_id=entry.loss_report_id)
            if request.user.has_perm(MANAGE):
                return redirect("controlled_substances:container-detail", container_id=container.pk)
            return redirect("home")
    context = {
        "form": form,
        "title": title,
        "container": container,
        "crumbs": _crumbs(
            (container.code, reverse("controlled_substances:container-detail", args=[container.pk])), (title, None)
        ),
    }
    return render(request, "controlled_substances/ledger_form.html", context)


def container_waste(request, container_id: int):
    return container_action(request, container_id, "waste")


def container_destroy(request, container_id: int):
    return container_action(request, container_id, "destroy")


def container_transfer(request, container_id: int):
    return container_action(request, container_id, "transfer")


def container_move(request, container_id: int):
    return container_action(request, container_id, "move")


def container_loss(request, container_id: int):
    return container_action(request, container_id, "loss")


def container_adjust(request, container_id: int):
    return container_action(request, container_id, "adjust")


@require_http_methods(["GET", "POST"])
def entry_reverse(request, entry_id: int):
    require(request, MANAGE)
    entry = (
        LedgerEntry.objects.select_related("container__lot__product", "container__registration", "actor", "patient")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None:
        raise Http404("No such entry.")
    require_their_location(request, entry.container.registration.location_id)
    form = forms.ReverseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.entry_reverse(
                entry=entry, reason=d["reason"], witness=d["witness"], by=request.user, at=timezone.now()
            )
        except services.LedgerError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Entry #{entry.seq} reversed; the original stays on the record.")
            return redirect("controlled_substances:container-detail", container_id=entry.container_id)
    context = {
        "form": form,
        "notice": services.reversal_refusal(entry),
        "title": (
            f"Reverse {entry.get_kind_display().lower()} #{entry.seq} on {entry.container.code} ({entry.delta_ml:+} mL)"
        ),
        "crumbs": _crumbs(
            (entry.container.code, reverse("controlled_substances:container-detail", args=[entry.container_id])),
            ("Reverse", None),
        ),
    }
    return render(request, "controlled_substances/ledger_form.html", context)


@require_http_methods(["GET", "POST"])
def loss_report(request, report_id: int):
    require(request, MANAGE)
    report = LossReport.objects.select_related("reported_by").filter(pk=report_id).first()
    if report is None:
        raise Http404("No such report.")
    if not _their_losses(request.user, LossReport.objects.filter(pk=report.pk)).exists():
        raise PermissionDenied  # another location's loss (its entries name that location's stock)
    form = forms.LossReportForm(request.POST or None, instance=report)
    if request.method == "POST" and form.is_valid():
        services.loss_report_update(report=report, by=request.user, **form.cleaned_data)
        messages.success(request, "Loss report updated.")
        return redirect("controlled_substances:loss-report", report_id=report.pk)
    entries = report.entries.select_related("container__lot__product", "actor")
    context = {"form": form, "report": report, "entries": entries, "crumbs": _crumbs((str(report), None))}
    return render(request, "controlled_substances/loss_report.html", context)


# --- Counts ---------------------------------------------------------------------------


@require_GET
def count_list(request):
    require(request, MANAGE)
    return render(
        request,
        "controlled_substances/count_list.html",
        {
            "counts": in_their_locations(request.user, selectors.counts(), field="registration__location_id")[:100],
            "crumbs": _crumbs(("Inventory counts", None)),
        },
    )


@require_http_methods(["GET", "POST"])
def count_new(request):
    require(request, MANAGE)
    chooser, registration = forms.RegistrationFilterForm.from_request(request)
    if registration is None:
        messages.error(request, "Add the location's DEA registration in the admin before counting.")
        return redirect("controlled_substances:index")
    containers = selectors.containers_on_hand(registration=registration).order_by("code")
    form = forms.CountForm(request.POST or None, containers=containers)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            count = services.count_record(
                registration=registration,
                type=d["type"],
                business_time=d["business_time"],
                notes=d["notes"],
                lines=form.lines(),
                counted_at=timezone.now(),
                by=request.user,
            )
        except services.LedgerError as exc:
            form.add_error(None, exc)
        else:
            return redirect("controlled_substances:count-detail", count_id=count.pk)
    crumbs = _crumbs(("Inventory counts", reverse("controlled_substances:counts")), ("New count", None))
    context = {"form": form, "chooser": chooser, "registration": registration, "crumbs": crumbs}
    return render(request, "controlled_substances/count_form.html", context)


@require_GET
def count_detail(request, count_id: int):
    require(request, MANAGE)
    count = selectors.count_detail(count_id)
    if count is None:
        raise Http404("No such count.")
    require_their_location(request, count.registration.location_id)
    lines = count.lines.select_related("container__lot__product", "explained_by", "resolution")
    context = {
        "count": count,
        "lines": lines,
        "policy": ControlledSubstancePolicy.current(),
        "crumbs": _crumbs(("Inventory counts", reverse("controlled_substances:counts")), (str(count), None)),
    }
    return render(request, "controlled_substances/count_detail.html", context)


@require_http_methods(["GET", "POST"])
def count_line_resolve(request, line_id: int):
    require(request, MANAGE)
    line = CountLine.objects.select_related("count__registration", "container__lot__product").filter(pk=line_id).first()
    if line is None:
        raise Http404("No such count line.")
    require_their_location(request, line.count.registration.location_id)
    initial = {"resolution": "loss" if line.significant else "adjust"}
    form = forms.ResolveForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.count_line_resolve(
                line=line,
                explanation=d["explanation"],
                witness=d["witness"],
                as_loss=form.as_loss(),
                not_a_loss_confirmed=d["not_a_loss_confirmed"],
                by=request.user,
                at=timezone.now(),
            )
        except services.LedgerError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{line.container.code}: discrepancy explained and reconciled.")
            return redirect("controlled_substances:count-detail", count_id=line.count_id)
    title = f"Explain {line.container.code}: {line.discrepancy_ml} mL ({line.discrepancy_mg} mg)"
    context = {
        "form": form,
        "title": title,
        "notice": (
            "This shortfall is significant under the clinic's policy: report it as a loss or theft, "
            "or both of you confirm it is not one."
            if line.significant
            else ""
        ),
        "crumbs": _crumbs(
            ("Inventory counts", reverse("controlled_substances:counts")),
            (str(line.count), reverse("controlled_substances:count-detail", args=[line.count_id])),
            (line.container.code, None),
        ),
    }
    return render(request, "controlled_substances/ledger_form.html", context)


# --- Reports --------------------------------------------------------------------------


def report_pdf_bytes(tables: list[reports.Table], *, registration, user, printed_at) -> bytes:
    """The ledger report as a PDF in the compact landscape layout (the documents app's WeasyPrint pipeline)."""
    snapshot = report_snapshot(tables, registration=registration, user=user, printed_at=printed_at)
    return render_pdf(REPORT_TEMPLATE, {**snapshot, "letterhead": letterhead()}, title=tables[0].title)


def _background_rows() -> int:
    # Clinic policy, bounded: a ledger PDF longer than this is rendered by the documents worker.
    # The default is 0, every ledger PDF: WeasyPrint's layout of even a quiet month (17 s on the
    # busy 2-core bench machine) took a web worker from about 105 to 170 MiB, and a year's (34 s)
    # to 240 MiB, memory a Python process keeps (bench/export_rss.py measures it).
    return max(0, min(int(getattr(settings, "LEDGER_EXPORT_BACKGROUND_ROWS", 0)), PDF_MAX_ROWS))


def _report(request, key: str, filter_form, registration, *, start=None, end=None):
    """Render a report as a page, a printable page (?print=1), CSV (?format=csv) or PDF (?format=pdf,
    through the documents app's WeasyPrint pipeline); every form is audited. A long CSV is written by
    the documents worker: the request counts its rows and answers with the export's status page."""
    fmt = request.GET.get("format", "")
    rows = 0
    verb = (
        AuditEvent.Verb.EXPORT
        if fmt in ("csv", "pdf")
        else (AuditEvent.Verb.PRINT if request.GET.get("print") else AuditEvent.Verb.READ)
    )
    audit.record(
        actor=request.user,
        action=f"controlled_substances.report.{key}",
        verb=verb,
        category=CS,
        changes={
            "registration": getattr(registration, "dea_number", None),
            **{k: request.GET.get(k, "") for k in ("start", "end")},
        },
    )
    filename = f"ketamine-{key}-{timezone.localdate():%Y%m%d}"
    period = {k: v for k, v in request.GET.items() if k in ("registration", "start", "end")}
    back = f"{request.path}?{urlencode(period)}"
    if fmt == "csv":
        document = document_services.data_export_start(
            export=export_name(key),
            params=export_params(registration=registration, start=start, end=end),
            by=request.user,
            title=f"Ketamine ledger: {key} report (CSV)",
            filename=f"{filename}.csv",
            back=back,
        )
        if document is not None:
            return redirect("documents:status", document_id=document.pk)
    if fmt == "pdf":
        # One capped count decides: the report's own query runs in the documents worker.
        rows = selectors.report_size(key, registration=registration, start=start, end=end, cap=PDF_MAX_ROWS)
        if rows > PDF_MAX_ROWS:
            messages.error(
                request, f"More than {PDF_MAX_ROWS} rows is too many for a PDF: narrow the period, or use CSV."
            )
        elif rows > _background_rows():  # the documents worker renders it; the page polls for the download
            request_snapshot = report_request(
                key, registration=registration, start=start, end=end, user=request.user, rows=rows
            )
            document = document_services.export_issue(
                kind=DocumentKind.CONTROLLED_SUBSTANCE_REPORT,
                snapshot={**request_snapshot, "filename": f"{filename}.pdf", "back": back},
                by=request.user,
                title=reports.title(key, registration=registration, start=start, end=end),
            )
            return redirect("documents:status", document_id=document.pk)
    tables = reports.build(key, registration=registration, start=start, end=end)
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        csv_export.writer(response).writerows(reports.csv_lines(tables))
        return response
    if fmt == "pdf" and rows <= PDF_MAX_ROWS:  # short enough for the request (LEDGER_EXPORT_BACKGROUND_ROWS)
        pdf = report_pdf_bytes(tables, registration=registration, user=request.user, printed_at=timezone.localtime())
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
        return response
    context = {
        "tables": tables,
        "key": key,
        "filter_form": filter_form,
        "registration": registration,
        "policy": ControlledSubstancePolicy.current(),
        "printed_at": timezone.localtime(),
        "query": request.GET.urlencode(),
        "crumbs": _crumbs(("Reports", None)),
    }
    template = (
        "controlled_substances/report_print.html" if request.GET.get("print") else "controlled_substances/report.html"
    )
    return render(request, template, context)


@require_GET
def report_balances(request):
    require(request, MANAGE)
    form, registration = forms.RegistrationFilterForm.from_request(request)
    return _report(request, "balances", form, registration)


@require_GET
def report_dispensing(request):
    require(request, MANAGE)
    form, registration = forms.PeriodForm.from_request(request)
    start, end = form.period()
    return _report(request, "dispensing", form, registration, start=start, end=end)


@require_GET
def report_waste(request):
    require(request, MANAGE)
    form, registration = forms.PeriodForm.from_request(request)
    start, end = form.period()
    return _report(request, "waste", form, registration, start=start, end=end)


@require_GET
def report_discrepancies(request):
    require(request, MANAGE)
    form, registration = forms.RegistrationFilterForm.from_request(request)
    return _report(request, "discrepancies", form, registration)


@require_POST
def rescue_dose_logged(request, rescue_dose_id: int):
    require(request, MANAGE)

    dose = DrugGiven.objects.filter(pk=rescue_dose_id, controlled=True).first()
    if dose is None:
        raise Http404
    reference = request.POST.get("reference", "")[:200]
    if hasattr(dose, "ledger_log"):  # confirmed meanwhile (a second tab, a colleague): nothing to do
        messages.info(
            request,
            f"{dose.name} given {timezone.localtime(dose.given_at):%Y-%m-%d %H:%M} is already confirmed as logged.",
        )
        return redirect(reverse("controlled_substances:index"))
    try:
        services.rescue_dose_logged(dose=dose, by=request.user, reference=reference)
    except ValidationError as error:
        # The home again, the message at the dose's own field and what was typed kept.
        context = _index_context(
            request.user, rescue_error_for=dose.pk, rescue_error=" ".join(error.messages), rescue_typed=reference
        )
        return render(request, "controlled_substances/ledger_index.html", context)
    return redirect(reverse("controlled_substances:index") + "#rescue-doses")
