"""Benchmark: each document for a patient with a 12-session course (and the money documents of a
billed infusion visit), against WeasyPrint alone.

``documents_pdf(ctx)`` is the ``make bench`` hook (bench/extras.py). Everything runs inside a
transaction that is rolled back, so the benchmark database keeps no document rows. For each
kind it times, ``repeat`` times (median):

- **pipeline**: snapshot from the database + template + charts + WeasyPrint + SHA-256 (what the
  render service does, minus the one-row write);
- **reference**: WeasyPrint alone on the same final HTML string, with the same stylesheet object,
  fonts and PDF/UA options (what any WeasyPrint app pays at least).

Overhead = pipeline / reference - 1; goal < 25 %. Absolute goals: session record
< 1 s, course summary < 3 s on the 2-core machine. Memory: Python's peak allocation during one
render (tracemalloc) and the process's maximum RSS.

Standalone: ``DATABASE_URL=… .venv/bin/python -m bench.documents_pdf`` prints the rows.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from django.db import transaction

OVERHEAD_GOAL = 0.25
ABSOLUTE_GOALS_S = {"infusion_record": 1.0, "course_summary": 3.0}


class _Rollback(Exception):  # noqa: N818 - control flow: undo the set-up
    pass


def _rolled_back_block() -> transaction.Atomic:
    """The transaction the whole run happens in (undone at the end), marked as Django's TestCase
    marks its own: when the data set has no 12-session course, building one signs a consultation
    through a service declared ``durable=True``, which refuses to nest in a plain atomic block."""
    block = transaction.atomic()
    block._from_testcase = True
    return block


def _interleaved_medians_ms(ours: Callable[[], Any], reference: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median times of the two, run alternately so that machine noise hits both alike. Each run
    starts from a collected heap: otherwise a collection the previous render's garbage set off
    lands on whichever runs next (runs swung from -26 % to +78 % overhead)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, bucket in ((ours, times[0]), (reference, times[1])):
            gc.collect()
            started = time.perf_counter()
            fn()
            bucket.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def _seeded_plan():
    """A plan whose patient has at least 12 infusion visits in the data set, if any."""
    from django.db.models import Count, Q

    from consultations.models import TreatmentPlan

    return (
        TreatmentPlan.objects.exclude(status="draft")
        .annotate(
            visits=Count(
                "patient__appointments",
                filter=Q(patient__appointments__appointment_type__code__in=["infusion", "booster"]),
            )
        )
        .filter(visits__gte=12)
        .select_related("patient", "protocol", "consultation")
        .order_by("-visits", "pk")
        .first()
    )


def _finished_session():
    """A finished infusion day (signed, else discharged) from the data set, else one walked through
    the services to discharge."""
    from django.db.models import Case, IntegerField, Value, When

    from infusions.models import InfusionSession
    from infusions.selectors.sessions import session_detail

    found = (
        InfusionSession.objects.filter(status__in=["signed", "discharged"])
        .order_by(Case(When(status="signed", then=Value(0)), default=Value(1), output_field=IntegerField()), "-id")
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        from infusions import rules
        from infusions.tests.factories import advance, nurse, open_session, set_policy

        set_policy()
        giver, checker = nurse(), nurse()
        found = advance(open_session(by=giver), rules.SessionStatus.DISCHARGED, nurse_user=giver, verifier=checker).pk
        return session_detail(found), "built infusion day"
    return session_detail(found), "seeded infusion day"


def _billed_visit(patient, clinician):
    """A visit's invoice with an infusion billed (coded services, so it has a superbill): the course
    patient's latest from the data set, else anyone's, else one issued for a visit priced by a fresh
    fee schedule."""
    from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When

    from billing.models import Invoice, InvoiceKind, InvoiceLine, InvoicePurpose

    infusion = InvoiceLine.objects.filter(invoice=OuterRef("pk"), code="96365")
    found = (
        Invoice.objects.filter(Exists(infusion), kind=InvoiceKind.INVOICE, purpose=InvoicePurpose.VISIT)
        .order_by(
            Case(When(patient=patient, then=Value(0)), default=Value(1), output_field=IntegerField()),
            "-service_date",
            "-id",
        )
        .first()
    )
    if found is not None:
        return found, "seeded visit"
    from datetime import timedelta

    from django.utils import timezone

    from billing import services as billing
    from billing.tests.factories import billing_settings, fee_schedule
    from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

    location = LocationFactory()
    billing_settings(location, tax_id="12-3456789")
    fee_schedule(location)
    start = timezone.now() - timedelta(hours=4)
    visit = AppointmentFactory(
        patient=patient,
        location=location,
        clinician=clinician,
        appointment_type=appointment_type("infusion"),
        start=start,
        end=start + timedelta(hours=2),
    )
    return billing.invoice_for_visit(appointment=visit, infused=(start, start + timedelta(minutes=95))), "built visit"


def _superbill_year(invoice, by):
    """The patient's superbill over the year of dates of service ending at that visit (the longest
    range the desk may ask for), as *Superbill for a period* makes it."""
    from datetime import timedelta

    from django.utils import timezone

    from billing.models import SuperbillPeriod

    return SuperbillPeriod.objects.create(
        patient=invoice.patient,
        date_from=invoice.service_date - timedelta(days=365),
        date_to=invoice.service_date,
        requested_at=timezone.now(),
        requested_by=by,
    )


def measure(*, repeat: int = 7) -> list[dict[str, Any]]:
    from core import pdf
    from documents import registry, services, snapshots
    from documents.models import DocumentKind

    pdf.warm_up()
    rows: list[dict[str, Any]] = []
    try:
        with _rolled_back_block():
            plan = _seeded_plan()
            source = "seeded patient"
            if plan is None:
                from documents.tests.factories import course

                plan, source = course(sessions=12, planned=12), "built 12-session course"
            consultation = plan.consultation
            by = consultation.signed_by or consultation.clinician
            if not consultation.is_signed:
                raise _Rollback
            session, session_source = _finished_session()
            invoice, invoice_source = _billed_visit(plan.patient, by)
            # (kind, subject, row name, where the subject comes from)
            subjects: list[tuple[str, Any, str, str]] = [
                (DocumentKind.CONSULTATION_SUMMARY, consultation, "", source),
                (DocumentKind.DISCHARGE_INSTRUCTIONS, plan.patient, "", source),
                (DocumentKind.COURSE_SUMMARY, plan, "", source),
            ]
            if session is not None:
                subjects.append((DocumentKind.INFUSION_RECORD, session, "", session_source))
            if invoice is not None:
                subjects += [
                    (DocumentKind.INVOICE, invoice, "", invoice_source),
                    (DocumentKind.SUPERBILL, invoice, "Superbill of a visit", invoice_source),
                    (DocumentKind.SUPERBILL, _superbill_year(invoice, by), "Superbill of a year", invoice_source),
                ]
            for kind, subject, name, subject_source in subjects:
                build = functools.partial(snapshots.build, kind, subject)
                document = services.document_issue(
                    kind=kind,
                    subject=subject,
                    patient=registry.get(kind).patient_of(subject),
                    snapshot=build(),
                    by=by,
                )

                def pipeline(document=document, build=build):
                    document.snapshot = build()
                    body, _pages = pdf.html_to_pdf(services.document_html(document))
                    return hashlib.sha256(body).hexdigest()

                html = services.document_html(document)

                def reference(html=html):
                    from weasyprint import HTML

                    eng = pdf.engine()
                    return HTML(string=html, base_url=eng.base_url, url_fetcher=eng.fetcher).write_pdf(
                        stylesheets=[eng.css], font_config=eng.font_config, pdf_variant=pdf.PDF_VARIANT
                    )

                pipeline()  # warm: template cache, fonts
                reference()
                ours, bare = _interleaved_medians_ms(pipeline, reference, repeat)
                tracemalloc.start()
                _body, pages = pdf.html_to_pdf(services.document_html(document))
                peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                label = name or DocumentKind(kind).label
                overhead = ours / bare - 1
                goal_s = ABSOLUTE_GOALS_S.get(kind)
                rows.append(
                    {
                        "name": f"{label} PDF ({pages} p., {subject_source})",
                        "value": round(ours, 1),
                        "unit": "ms",
                        "reference": round(bare, 1),
                        "goal": f"overhead < {OVERHEAD_GOAL:.0%} (is {overhead:+.0%})"
                        + (f"; < {goal_s:g} s" if goal_s else ""),
                        "ok": overhead < OVERHEAD_GOAL and (goal_s is None or ours < goal_s * 1000),
                    }
                )
                rows.append(
                    {
                        "name": f"{label} PDF: peak Python allocation per render",
                        "value": round(peak_mib, 1),
                        "unit": "MiB",
                    }
                )
            rows.append(
                {
                    "name": "documents bench process: max RSS",
                    "value": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                    "unit": "MiB",
                }
            )
            raise _Rollback
    except _Rollback:
        pass
    return rows


def documents_pdf(ctx) -> list[dict[str, Any]]:
    return measure(repeat=getattr(getattr(ctx, "args", None), "pdf_repeat", 7))


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grace_mindcare.settings")
    django.setup()
    for row in measure():
        print(row)
