from __future__ import annotations

import base64
import html
import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit, emergency, exports, passkeys, password_reset
from accounts import two_factor as two_factor_services
from accounts.filters import AuditEventFilter
from accounts.forms import TokenForm, TwoFactorResetForm
from accounts.models import AuditEvent, User
from accounts.network import client_ip
from core import csv_export, keyset
from core.audit import Category, Verb

AUDIT_PAGE_SIZE = 50
# The report counts matching entries up to this many and then says "more than": an exact count of
# a trail of millions of rows would read all of them on every page.
AUDIT_COUNT_CAP = 10_000
# (sort key of AuditEventFilter or None, column heading) for the on-screen table.
AUDIT_REPORT_COLUMNS = [
    ("at", "When"),
    (None, "User"),
    (None, "Role"),
    (None, "Patient MRN"),
    (None, "Action"),
    (None, "Kind"),
    (None, "Data"),
    (None, "Outcome"),
    (None, "Emergency access"),
    (None, "IP address"),
]
# Query parameters that move through the pages rather than choose the entries.
_PAGING_PARAMS = ("page", "after", "before")


def _qr_data_uri(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _next_url(request, default: str = "home") -> str:
    """Where to go after the second factor: a path on this site, never another host."""
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(default)


@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Verify a TOTP code (or a recovery code), or enrol an authenticator app first if the user has none."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = two_factor_services.totp_enrolment_device(user=user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"]
        if form.is_recovery_code:
            used = None if enrolling else two_factor_services.recovery_code_verify(user=user, code=token)
        else:
            used = device if device.verify_token(token) else None
        if used is not None and enrolling:
            two_factor_services.totp_enrolment_confirm(user=user, device=device)
            otp_login(request, device)
            # Shown once, in this response only: nothing keeps them in the session or a URL.
            codes = two_factor_services.recovery_codes_issue(user=user)
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)})
        if used is not None:
            otp_login(request, used)
            if isinstance(used, StaticDevice):
                left = two_factor_services.recovery_codes_left(user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. If your phone is lost, set up a new "
                    "authenticator app under Two-factor and recovery codes.",
                )
            return redirect(_next_url(request))
        if enrolling and form.is_recovery_code:
            form.add_error("token", "Type the six digits your new authenticator app shows to finish setting it up.")
        else:
            form.add_error("token", "That code is not valid or was already used. Wait for the next code and try again.")
    context = {"form": form, "enrolling": enrolling, "next": _next_url(request)}
    if not enrolling:
        context["has_passkey"] = passkeys.passkeys_of(user).exists()
    if enrolling:
        context["qr"] = _qr_data_uri(device.config_url)
        context["secret"] = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "accounts/two_factor.html", context)


@require_POST
def emergency_access_end(request):
    emergency.end(request=request)
    messages.info(request, "Emergency access ended.")
    return redirect("home")


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@require_http_methods(["GET", "POST"])
def security(request):
    """The user's own second factors: how many recovery codes are left, new codes, a new app."""
    user = request.user
    has_app = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if has_app and not user.is_verified():
        # Changing second factors needs this session to have passed one.
        return redirect(f"{reverse('accounts:two-factor')}?next={reverse('accounts:security')}")
    if request.method == "POST":
        action = request.POST.get("action")
        if has_app and action == "recovery_codes":
            codes = two_factor_services.recovery_codes_issue(user=user)
            return render(
                request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("accounts:security")}
            )
        if action == "remove_passkey" and passkeys.passkey_remove(user=user, pk=_int(request.POST.get("passkey"))):
            messages.info(request, "That passkey no longer signs you in.")
            return redirect("accounts:security")
        if has_app and action == "replace_app":
            two_factor_services.authenticator_remove(user=user, keep_session=request.session.session_key)
            messages.info(request, "Your old authenticator app no longer works. Set up the new one now.")
            return redirect(f"{reverse('accounts:two-factor')}?next={reverse('accounts:security')}")
        messages.error(request, "Choose one of the buttons on this page.")
    return render(
        request,
        "accounts/security.html",
        {
            "has_app": has_app,
            "codes_left": two_factor_services.recovery_codes_left(user),
            "passkeys": passkeys.passkeys_of(user),
            "crumbs": [("Two-factor and recovery codes", None)],
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("accounts.reset_two_factor", raise_exception=True)
def two_factor_reset(request, user_id: int):
    """An administrator clears a colleague's second factors (lost phone and recovery codes)."""
    target = get_object_or_404(User, pk=user_id)
    form = TwoFactorResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if target.pk == request.user.pk:
            form.add_error(None, "Another administrator must reset your own two-factor sign-in.")
        else:
            try:
                removed = two_factor_services.two_factor_reset(
                    user=target, by=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                form.add_error("reason", exc.message_dict.get("reason", exc.messages))
            else:
                messages.success(
                    request,
                    f"Two-factor sign-in reset for {target} ({removed} device{'s' if removed != 1 else ''} removed). "
                    "They set up an authenticator app at their next sign-in.",
                )
                return redirect("accounts:two-factor-reset", user_id=target.pk)
    return render(
        request,
        "accounts/two_factor_reset.html",
        {
            "target": target,
            "form": form,
            "has_app": TOTPDevice.objects.filter(user=target, confirmed=True).exists(),
            "codes_left": two_factor_services.recovery_codes_left(target),
            "crumbs": [("Reset two-factor sign-in", None)],
        },
    )


@permission_required("accounts.view_auditevent", raise_exception=True)
def audit_report(request):
    events = AuditEventFilter(request.GET or None, queryset=AuditEvent.objects.all())
    queryset = events.qs if events.is_bound and events.is_valid() else AuditEvent.objects.none()
    newest_first = request.GET.get("sort", "-at") != "at" or not events.is_valid()
    if request.GET.get("format") == "csv" and events.is_bound and events.is_valid():
        return _audit_csv(request, queryset.order_by(), newest_first=newest_first)
    # Filters and page links are built on a queryset without ordering: keyset_page orders by (at, id).
    queryset = queryset.order_by()
    page = keyset.keyset_page(
        queryset.only(*_AUDIT_ROW_FIELDS),
        size=AUDIT_PAGE_SIZE,
        newest_first=newest_first,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        last=request.GET.get("page") == "last",
    )
    count = keyset.capped_count(queryset, AUDIT_COUNT_CAP) if events.is_bound else 0
    audit.record(
        actor=request.user,
        action="accounts.audit_report.viewed",
        verb=Verb.QUERY,
        category=Category.AUDIT,
        changes={"filters": {k: v for k, v in request.GET.items() if k not in _PAGING_PARAMS}},
    )
    query = request.GET.copy()
    for name in _PAGING_PARAMS:
        query.pop(name, None)
    unsorted = query.copy()
    unsorted.pop("sort", None)
    return render(
        request,
        "accounts/audit_report.html",
        {
            "filter": events,
            "page": page,
            "rows": [_audit_row(e) for e in page],
            "count_label": f"More than {AUDIT_COUNT_CAP:,}" if count > AUDIT_COUNT_CAP else f"{count:,}",
            "query": query.urlencode(),
            "query_without_sort": unsorted.urlencode(),
            "sort": request.GET.get("sort", ""),
            "columns": AUDIT_REPORT_COLUMNS,
            "crumbs": [("Audit report", None)],
        },
    )


# The choices' labels, looked up once: get_FOO_display() hashes the field's choices on every call.
_VERB_LABELS = dict(AuditEvent.Verb.choices)
_CATEGORY_LABELS = dict(AuditEvent.Category.choices)
_OUTCOME_LABELS = dict(AuditEvent.Outcome.choices)
# The columns a row shows (the page reads only these; the hashes, user agent and ids stay behind).
_AUDIT_ROW_FIELDS = (
    "at",
    "actor_username",
    "role",
    "patient_mrn",
    "action",
    "verb",
    "data_category",
    "outcome",
    "under_emergency_access",
    "changes",
    "ip_address",
)
_AUDIT_ROW = (
    '<tr><td class="text-nowrap">{}</td><td>{}</td><td>{}</td><td>{}</td><td title="{}">{}</td><td>{}</td>'
    "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"
)
_FLAGGED = '<span class="badge text-bg-warning">{}</span>'
_EMERGENCY = '<span class="badge text-bg-danger">emergency</span>'


def _audit_row(e: AuditEvent) -> SafeString:
    """One row's markup, written here: 50 rows of twelve cells each resolved and escaped by the
    template's variable nodes (and three get_FOO_display() calls per row) were most of the report's
    time. Every value goes through html.escape, which is what Django's escape() does, without its
    lazy-string wrapper (500 calls a page)."""
    outcome = html.escape(str(_OUTCOME_LABELS.get(e.outcome, e.outcome)))
    return SafeString(  # nosec B703 - every value is escaped above, the markup is constant
        _AUDIT_ROW.format(
            *(
                html.escape(str(value))
                for value in (
                    timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                    e.actor_username or "—",
                    e.role_label or "—",
                    e.patient_mrn or "—",
                    e.action,
                    e.action_label,
                    _VERB_LABELS.get(e.verb, e.verb),
                    _CATEGORY_LABELS.get(e.data_category, e.data_category),
                )
            ),
            _FLAGGED.format(outcome) if e.outcome != AuditEvent.Outcome.ALLOWED else outcome,
            _EMERGENCY if e.under_emergency_access or (e.changes or {}).get("break_glass") else "",
            html.escape(e.ip_address or ""),
        )
    )


class _Echo:
    def write(self, value):
        return value


def _audit_csv(request, queryset, *, newest_first: bool):
    """The CSV of the chosen entries: a long one is written by the documents worker (the registered
    handler answers with its status page), a short one streams from here."""
    audit.record(
        actor=request.user,
        action="accounts.audit_report.exported",
        verb=Verb.EXPORT,
        category=Category.AUDIT,
        changes={"filters": dict(request.GET.items())},
    )
    status_url = exports.audit_csv_background(params=exports.filters_of(request.GET), by=request.user)
    if status_url is not None:
        return redirect(status_url)
    writer = csv_export.writer(_Echo())
    lines = (writer.writerow(line) for line in exports.csv_lines(queryset, newest_first=newest_first))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


class PasswordResetRequestView(auth_views.PasswordResetView):
    """Django's reset form; the e-mail goes through the task queue, rate-limited
    (accounts.password_reset), so the answer is the same for any address."""

    def form_valid(self, form):
        try:
            password_reset.password_reset_request(
                email=form.cleaned_data["email"],
                client=client_ip(self.request),
                domain=self.request.get_host(),
                use_https=self.request.is_secure(),
            )
        except password_reset.TooManyResetRequests:
            form.add_error(None, "Too many reset requests from this computer. Try again in an hour.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return redirect(self.get_success_url())


class SignOutView(auth_views.LogoutView):
    """Signing out also tells the browser to drop this site's cache, cookies and storage, so
    nothing of a chart stays on a shared workstation (security-reference (d)(7))."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "cookies", "storage"'
        return response


def locked_out(request, *args, **kwargs):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    messages.error(request, f"Too many failed sign-ins. Try again in {minutes} minutes or ask an administrator.")
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
