from __future__ import annotations

import base64
import csv
import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit
from accounts.filters import AuditEventFilter
from accounts.forms import TokenForm
from accounts.models import AuditEvent

AUDIT_PAGE_SIZE = 50
# (sort key of AuditEventFilter, column heading) for the on-screen table.
AUDIT_REPORT_COLUMNS = [
    ("at", "When"),
    ("user", "User"),
    ("role", "Role"),
    ("patient", "Patient MRN"),
    ("action", "Action"),
    ("verb", "Kind"),
    ("category", "Data"),
    ("outcome", "Outcome"),
    ("ip", "IP address"),
]
AUDIT_CSV_COLUMNS = [
    ("at", "When (UTC)"),
    ("actor_username", "User"),
    ("role", "Role"),
    ("patient_mrn", "Patient MRN"),
    ("action", "Action"),
    ("verb", "Kind"),
    ("data_category", "Data category"),
    ("object_type", "Object type"),
    ("object_id", "Object id"),
    ("outcome", "Outcome"),
    ("ip_address", "IP address"),
    ("request_id", "Request id"),
]


def _qr_data_uri(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Verify a TOTP code, or enrol an authenticator app first if the user has none."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
            user=user, name="Authenticator app", confirmed=False
        )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit.record(
                    actor=user,
                    action="accounts.two_factor.enrolled",
                    verb="privilege_change",
                    category="security",
                    target=device,
                )
            otp_login(request, device)
            return redirect(request.GET.get("next") or "home")
        form.add_error("token", "That code is not valid or was already used. Wait for the next code and try again.")
    context = {"form": form, "enrolling": enrolling}
    if enrolling:
        context["qr"] = _qr_data_uri(device.config_url)
        context["secret"] = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "accounts/two_factor.html", context)


@permission_required("accounts.view_auditevent", raise_exception=True)
def audit_report(request):
    events = AuditEventFilter(request.GET or None, queryset=AuditEvent.objects.all())
    queryset = events.qs if events.is_bound and events.is_valid() else AuditEvent.objects.none()
    if request.GET.get("format") == "csv" and events.is_bound and events.is_valid():
        return _audit_csv(request, queryset)
    page = Paginator(queryset, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    audit.record(
        actor=request.user,
        action="accounts.audit_report.viewed",
        verb="query",
        category="audit",
        changes={"filters": {k: v for k, v in request.GET.items() if k != "page"}},
    )
    query = request.GET.copy()
    query.pop("page", None)
    unsorted = query.copy()
    unsorted.pop("sort", None)
    return render(
        request,
        "accounts/audit_report.html",
        {
            "filter": events,
            "page": page,
            "query": query.urlencode(),
            "query_without_sort": unsorted.urlencode(),
            "sort": request.GET.get("sort", ""),
            "columns": AUDIT_REPORT_COLUMNS,
            "crumbs": [("Audit report", None)],
        },
    )


class _Echo:
    def write(self, value):
        return value


def _audit_csv(request, queryset):
    audit.record(
        actor=request.user,
        action="accounts.audit_report.exported",
        verb="export",
        category="audit",
        changes={"filters": dict(request.GET.items())},
    )
    writer = csv.writer(_Echo())
    fields = [name for name, _ in AUDIT_CSV_COLUMNS]

    def rows():
        yield writer.writerow([label for _, label in AUDIT_CSV_COLUMNS])
        for values in queryset.values_list(*fields).iterator(chunk_size=2000):
            yield writer.writerow(["" if v is None else v for v in values])

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


def locked_out(request, *args, **kwargs):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    messages.error(request, f"Too many failed sign-ins. Try again in {minutes} minutes or ask an administrator.")
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
