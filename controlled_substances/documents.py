"""The ledger's part of documents: each infusion record lists the session's ketamine entries
(registered with documents as a part of the infusions app's kind)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import formats, timezone

from controlled_substances import reports
from controlled_substances.access import MANAGE
from controlled_substances.models import ControlledSubstancePolicy, Registration
from controlled_substances.selectors import report_size, session_entries
from core.audit import Category
from documents import registry
from documents.models import DocumentKind
from documents.snapshots import local_text, user_text

REPORT_TEMPLATE = "controlled_substances/report_pdf.html"


def ketamine_part(session) -> list[dict[str, Any]]:
    """The session's ledger entries: each draw with its vial and lot, each waste with its witness,
    reversals included (21 CFR 1304.22(c) wants the record as it stands, corrections visible)."""
    return [
        {
            "kind": e.get_kind_display(),
            "time": local_text(e.occurred_at, "TIME_FORMAT"),
            "vial": e.container.code,
            "lot": e.container.lot.lot_number,
            "product": str(e.container.lot.product),
            "volume_ml": e.quantity_ml,
            "mg": e.quantity_mg,
            "by": user_text(e.actor),
            "witness": user_text(e.witness),
            "manner": e.manner,
            "reason": e.reason,
            "reversed": e.is_reversed,
        }
        for e in session_entries(session)
    ]


registry.register_part(DocumentKind.INFUSION_RECORD, "ketamine", ketamine_part)


def report_snapshot(tables, *, registration, user, printed_at) -> dict[str, Any]:
    """A ledger report as plain data: what its PDF shows, the same whether it is rendered in the
    request or by the documents worker."""
    if registration is not None:
        where = registration.location.name
        if registration.location.address:
            where += f", {registration.location.address}"
        where += f" · DEA registration {registration.dea_number or '—'}"
        if registration.expires_on:
            where += f" (expires {registration.expires_on:%Y-%m-%d})"
    else:
        where = "no DEA registration on file"
    return {
        "tables": [
            {"title": t.title, "header": list(t.header), "rows": [list(r) for r in t.rows], "note": t.note}
            for t in tables
        ],
        "rows": sum(len(t.rows) for t in tables),
        "registrant": ControlledSubstancePolicy.current().registrant_name,
        "registration_line": where,
        "printed_at": formats.date_format(timezone.localtime(printed_at), "SHORT_DATETIME_FORMAT"),
        "printed_by": str(user),
    }


# --- The ledger reports' CSV, written by the documents worker when long --------------------


def export_name(key: str) -> str:
    return f"controlled_substances.report.{key}"


def export_params(*, registration, start: date | None, end: date | None) -> dict[str, Any]:
    return {
        "registration": getattr(registration, "pk", None),
        "start": start.isoformat() if start else "",
        "end": end.isoformat() if end else "",
    }


def _period(params: dict[str, Any]) -> tuple[Any, date, date]:
    registration = (
        Registration.objects.select_related("location").filter(pk=params["registration"]).first()
        if isinstance(params.get("registration"), int)
        else None
    )
    today = timezone.localdate()
    start = date.fromisoformat(params["start"]) if params.get("start") else today
    end = date.fromisoformat(params["end"]) if params.get("end") else today
    return registration, start, end


def _export(key: str) -> None:
    def rows(params: dict[str, Any]):
        registration, start, end = _period(params)
        return reports.csv_lines(reports.build(key, registration=registration, start=start, end=end))

    def count(params: dict[str, Any], cap: int | None) -> int:
        registration, start, end = _period(params)
        return report_size(key, registration=registration, start=start, end=end, cap=cap)

    registry.register_export(
        export_name(key), rows=rows, count=count, permissions=(MANAGE,), category=Category.CONTROLLED_SUBSTANCE
    )


for _key in reports.KEYS:
    _export(_key)


def report_request(key: str, *, registration, start: date | None, end: date | None, user, rows: int) -> dict[str, Any]:
    """What a ledger PDF prepared by the documents worker stores when it is asked for: the report
    and its filters, never its rows. The worker runs the report's query (``report_expand``), so a
    year of dispensing costs the request one capped count."""
    return {
        "report": key,
        "params": export_params(registration=registration, start=start, end=end),
        "rows": rows,  # the status page's "Preparing the PDF of N rows"
        "printed_by": str(user),
    }


def report_expand(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A stored ledger report request -> what its PDF shows, read when the worker renders it
    (printed then). A snapshot that already holds its tables is shown as it is."""
    if "tables" in snapshot or snapshot.get("report") not in reports.KEYS:
        return snapshot
    registration, start, end = _period(snapshot.get("params") or {})
    tables = reports.build(snapshot["report"], registration=registration, start=start, end=end)
    shown = report_snapshot(
        tables, registration=registration, user=snapshot.get("printed_by", ""), printed_at=timezone.now()
    )
    return {**snapshot, **shown}


# A ledger report over a period (about no single patient): rendered by the documents worker,
# which also runs its query; downloaded by whoever manages the ledger.
registry.register(
    DocumentKind.CONTROLLED_SUBSTANCE_REPORT,
    template=REPORT_TEMPLATE,
    build=lambda snapshot: snapshot,
    patient_of=lambda _snapshot: None,
    download_perms=(MANAGE,),
    expand=report_expand,
)
