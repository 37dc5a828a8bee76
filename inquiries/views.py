"""The public inquiry form (no sign-in) and the desk's queue.

Public pages: ``/start/`` (the form), ``/start/thanks/`` (the same generic thanks whatever
happened: accepted, a duplicate of someone registered, over the per-contact limit, or a robot
caught by the honeypot, so the page tells no one whether a person is known here). Over the
per-address limit the form answers 429 with a phone-us message. The form is CSRF-protected and
its body bounded; nothing typed appears in a URL or a log line.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import time

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from accounts.network import client_ip
from core.site import site_url
from inquiries import selectors, services, throttle
from inquiries.access import CHANGE, VIEW, get_inquiry_for_user
from inquiries.forms import ContactForm, ConvertForm, InquiryForm, LinkForm, StatusForm
from patients.access import has_chart_perms
from patients.models import Patient
from patients.selectors import patient_ids_for_mrn
from patients.services import PossibleDuplicates
from scheduling.selectors.self_booking import self_bookable_types

logger = logging.getLogger(__name__)

# A whole filled-in form is well under 2 KB; anything far larger is not a person typing.
MAX_BODY_BYTES = 10_000
QUEUE_PAGE_SIZE = 25
SESSION_SUBMITTED = "inquiry_submitted_id"  # the id only, for the thank-you page's "choose a time"
SESSION_SUBMITTED_AT = "inquiry_submitted_at"


def _public(view):
    """No sign-in, never cached, no Referer sent to another site. Not "no-referrer": with it a
    browser sends ``Origin: null`` on the form's own POST, which the CSRF check rightly refuses."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "same-origin"
        return response

    return login_not_required(never_cache(wrapped))


def _public_page(request, template: str, context: dict | None = None, status: int = 200):
    context = {"clinic_name": settings.CLINIC_NAME, **(context or {})}
    return render(request, f"inquiries/{template}", context, status=status)


@_public
@require_http_methods(["GET", "POST"])
def start(request):
    if request.method == "GET":
        return _public_page(request, "start.html", {"form": InquiryForm()})
    now = timezone.now()
    if throttle.address_over_limit(client_ip(request), now=now):
        logger.info("inquiry form: per-address limit reached")
        return _public_page(request, "start_busy.html", status=429)
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        return _public_page(request, "start_busy.html", {"too_large": True}, status=413)
    form = InquiryForm(request.POST)
    if form.is_robot:
        logger.info("inquiry form: honeypot filled, nothing stored")
        return redirect("inquiries:thanks")
    if not form.is_valid():
        return _public_page(request, "start.html", {"form": form}, status=400)
    arguments = form.service_arguments()
    if throttle.contact_over_limit(phone=str(arguments["phone"]), email=arguments["email"], now=now):
        logger.info("inquiry form: per-contact limit reached, nothing stored")
        return redirect("inquiries:thanks")
    try:
        inquiry = services.inquiry_submit(now=now, **arguments)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _public_page(request, "start.html", {"form": form}, status=400)
    request.session[SESSION_SUBMITTED] = inquiry.pk
    request.session[SESSION_SUBMITTED_AT] = int(time.time())
    return redirect("inquiries:thanks")


def _submitted(request):
    """The inquiry this browser sent in the last half hour, if any (the session holds its id only)."""
    pk, at = request.session.get(SESSION_SUBMITTED), request.session.get(SESSION_SUBMITTED_AT, 0)
    if not isinstance(pk, int) or not isinstance(at, int):
        return None
    if time.time() - at > services.SELF_BOOKING_WINDOW.total_seconds():
        return None
    return selectors.inquiry_detail(pk)


@_public
@require_GET
def thanks(request):
    """The same words for everyone; "choose a time" when this browser sent an inquiry just now that
    gives the patient a reminder channel, and the clinic lets patients book some types online."""
    inquiry = _submitted(request)
    can_book = inquiry is not None and services.books_online(inquiry) and self_bookable_types().exists()
    return _public_page(request, "thanks.html", {"can_book": can_book})


@_public
@require_POST
def start_booking(request):
    """From the thank-you page to the scheduling app's own booking pages, by a one-time link."""
    inquiry = _submitted(request)
    if inquiry is None or not services.books_online(inquiry):
        return redirect("inquiries:thanks")
    try:
        new = services.inquiry_self_booking_start(inquiry=inquiry)
    except ValidationError:
        return _public_page(request, "start_busy.html", {"closed": True}, status=410)
    request.session.pop(SESSION_SUBMITTED, None)
    return redirect("self_booking:open", token=new.token)


def _qr_data_uri(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


@permission_required(VIEW, raise_exception=True)
@require_GET
def start_poster(request):
    """A printable page with the form's address and its QR code, for the waiting room or a
    referrer's office."""
    url = f"{site_url()}{reverse('inquiries:start')}"
    context = {
        "url": url,
        "qr": _qr_data_uri(url),
        "clinic_name": settings.CLINIC_NAME,
        "crumbs": [("Inquiries", reverse("inquiries:queue")), ("Poster", None)],
    }
    return render(request, "inquiries/poster.html", context)


@permission_required(VIEW, raise_exception=True)
@require_GET
@audit.audited_query("inquiries.queue.viewed", AuditEvent.Category.DEMOGRAPHICS)
def queue(request):
    show = request.GET.get("show", "open")
    if show not in selectors.QUEUE_FILTERS:
        show = "open"
    page = Paginator(selectors.queue(show=show, user=request.user), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "show": show,
        "filters": [(key, label) for key, (label, _q) in selectors.QUEUE_FILTERS.items()],
        "query": f"show={show}",
        "crumbs": [("Inquiries", None)],
    }
    return render(request, "inquiries/queue.html", context)


@permission_required(VIEW, raise_exception=True)
@require_GET
@audit.audited_query("inquiries.home_panel.viewed", AuditEvent.Category.DEMOGRAPHICS)
def home_panel(request):
    return render(request, "inquiries/_home_panel.html", {"summary": selectors.home_summary(user=request.user)})


def _detail(request, inquiry, **forms):
    duplicates = selectors.duplicates_for(inquiry) if inquiry.patient_id is None and inquiry.is_open else []
    context = {
        "inquiry": inquiry,
        "contacts": selectors.contacts_for(inquiry),
        "duplicates": duplicates,
        "contact_form": forms.get("contact_form") or ContactForm(inquiry=inquiry),
        "status_form": forms.get("status_form") or StatusForm(initial={"status": inquiry.status}),
        "convert_form": forms.get("convert_form") or ConvertForm(),
        "link_form": forms.get("link_form") or LinkForm(),
        "may_change": request.user.has_perm(CHANGE),
        "may_register": request.user.has_perm("patients.add_patient"),
        "crumbs": [("Inquiries", reverse("inquiries:queue")), (inquiry.display_name, None)],
    }
    return render(request, "inquiries/detail.html", context)


@require_GET
def detail(request, inquiry_id: int):
    inquiry = get_inquiry_for_user(request, inquiry_id)
    services.inquiry_opened(inquiry=inquiry, by=request.user)
    return _detail(request, inquiry)


def _errors_on(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _back(inquiry):
    return redirect("inquiries:detail", inquiry_id=inquiry.pk)


@require_POST
def contact(request, inquiry_id: int):
    inquiry = get_inquiry_for_user(request, inquiry_id, perm=CHANGE)
    form = ContactForm(request.POST, inquiry=inquiry)
    if form.is_valid():
        try:
            services.inquiry_contact_record(inquiry=inquiry, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_on(form, exc)
        else:
            messages.success(request, "Contact attempt logged.")
            return _back(inquiry)
    return _detail(request, inquiry, contact_form=form)


@require_POST
def change_status(request, inquiry_id: int):
    inquiry = get_inquiry_for_user(request, inquiry_id, perm=CHANGE)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.inquiry_change_status(inquiry=inquiry, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_on(form, exc)
        else:
            messages.success(request, "Status saved.")
            return _back(inquiry)
    return _detail(request, inquiry, status_form=form)


@require_POST
def convert(request, inquiry_id: int):
    """Register the person as a patient, through the registry's duplicate check."""
    inquiry = get_inquiry_for_user(request, inquiry_id, perm=CHANGE)
    if not request.user.has_perm("patients.add_patient"):
        raise PermissionDenied
    form = ConvertForm(request.POST)
    if form.is_valid():
        try:
            patient = services.inquiry_convert(inquiry=inquiry, by=request.user, **form.cleaned_data)
        except PossibleDuplicates:
            form.add_error(
                "duplicate_reason",
                "This person may already be registered (see the possible matches): link the inquiry to "
                "their record, or give a reason to register anyway.",
            )
        except ValidationError as exc:
            _errors_on(form, exc)
        else:
            messages.success(request, f"Registered as a patient (MRN {patient.mrn}).")
            return _back(inquiry)
    return _detail(request, inquiry, convert_form=form)


@require_POST
def link(request, inquiry_id: int):
    """Link the inquiry to a patient already registered, named by MRN."""
    inquiry = get_inquiry_for_user(request, inquiry_id, perm=CHANGE)
    form = LinkForm(request.POST)
    if form.is_valid():
        ids = patient_ids_for_mrn(form.cleaned_data["mrn"])
        if not ids or not has_chart_perms(request.user, "patients.view_patient", patient_id=ids[0]):
            form.add_error("mrn", "No patient you may open has this MRN.")
        else:
            try:
                services.inquiry_link(inquiry=inquiry, by=request.user, patient=Patient.objects.get(pk=ids[0]))
            except ValidationError as exc:
                _errors_on(form, exc)
            else:
                messages.success(request, "Inquiry linked to the patient's record.")
                return _back(inquiry)
    return _detail(request, inquiry, link_form=form)
