"""The patient's questionnaire pages, reached by a one-time link (security-reference A9).

Flow: ``q/<token>/`` matches the token (without consuming it, so a link preview cannot burn
it), starts a fresh session that remembers the link, and redirects to the token-free
``q/verify/`` date-of-birth check; a correct answer consumes the token, starts another
fresh session holding only the link id, and redirects to the token-free ``self-report/``. These views are the
only ones without staff sign-in; every other URL still sends the scoped session to the
sign-in page (LoginRequiredMiddleware), and these check the session key themselves.
The response to the token URL sends ``Referrer-Policy: no-referrer`` (so the token never
travels in a Referer). The token-free pages keep the project's ``same-origin`` policy:
under ``no-referrer`` Chromium sends ``Origin: null`` with the form POST, which Django's
CSRF check rightly refuses; their URLs carry nothing secret. All send ``no-store``.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.network import client_ip
from assessments.forms import instrument_form
from followups import services
from followups.access import SESSION_DONE, SESSION_LINK, SESSION_PENDING
from followups.forms import DateOfBirthForm
from followups.selectors import self_report_link
from patients import links

REFUSED = "This link cannot be used. It may have expired or been used already. Please call the clinic."


_public = links.public_page


def _client_key(request) -> str:
    """The client's address as the sign-in throttle sees it (TRUSTED_PROXY_COUNT behind a
    proxy), so the limit is per client, not per proxy."""
    return f"qlink:{client_ip(request) or ''}"


@_public
@require_GET
def link_open(request, token: str):
    """The only URL that carries the token: match it, remember the link in a fresh session
    (not yet consumed: a link preview cannot burn it) and leave for a token-free address."""
    policy = services.policy_current()
    if services.rate_limited(key=_client_key(request), limit=policy.rate_limit_per_window):
        return _too_many(request)
    link = services.link_for_token(token)
    if link is None:
        return render(request, "followups/public_refused.html", {"message": REFUSED}, status=404)
    if not services.link_usable(link):
        return render(request, "followups/public_refused.html", {"message": REFUSED}, status=410)
    links.begin(request, SESSION_PENDING, link.pk)
    return redirect("followups:link-verify")


def _too_many(request):
    return render(
        request, "followups/public_refused.html", {"message": "Too many attempts. Try again later."}, status=429
    )


@_public
@require_http_methods(["GET", "POST"])
def link_verify(request):
    """Date-of-birth check at a token-free address; success consumes the token and scopes the session."""
    link_id = links.pending(request, SESSION_PENDING)
    if link_id is None:
        return render(request, "followups/public_refused.html", {"message": REFUSED}, status=403)
    form = DateOfBirthForm(request.POST or None)
    if request.method == "POST":
        policy = services.policy_current()
        if services.rate_limited(key=_client_key(request), limit=policy.rate_limit_per_window):
            return _too_many(request)
        if form.is_valid():
            try:
                link = services.link_exchange(link_id=link_id, date_of_birth=form.cleaned_data["date_of_birth"])
            except services.LinkRefused as exc:
                if str(exc) != "identity":
                    request.session.flush()
                    return render(request, "followups/public_refused.html", {"message": REFUSED}, status=410)
                form.add_error("date_of_birth", "That date of birth does not match our records.")
            else:
                links.scope(request, SESSION_LINK, link.pk)
                return redirect("followups:self-report")
    return render(request, "followups/public_identity.html", {"form": form})


def _forms(link, data=None):
    return [instrument_form(code, data) for code in link.instruments]


@_public
@require_http_methods(["GET", "POST"])
def self_report(request):
    link = self_report_link(request.session.get(SESSION_LINK))
    if link is None or link.completed_at is not None or link.revoked_at is not None:
        return render(request, "followups/public_refused.html", {"message": REFUSED}, status=403)
    forms = _forms(link, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        valid = all(f.is_valid() for f in forms)
        for f in forms:
            if valid and f.cleaned_data.get("answers") is None:
                f.add_error(None, "Please answer these questions.")
                valid = False
        if valid:
            try:
                result = services.self_report_submit(
                    link=link, answers={f.code: f.cleaned_data["answers"] for f in forms}, now=timezone.now()
                )
            except services.LinkRefused:
                return render(request, "followups/public_refused.html", {"message": REFUSED}, status=410)
            request.session.flush()
            request.session[SESSION_DONE] = {"alert": bool(result.alerts)}
            return redirect("followups:self-report-done")
    return render(request, "followups/public_form.html", {"forms": forms, "count": len(forms)})


@_public
@require_GET
def self_report_done(request):
    done = request.session.get(SESSION_DONE)
    if done is None:
        return render(request, "followups/public_refused.html", {"message": REFUSED}, status=403)
    return render(request, "followups/public_done.html", {"alert": done.get("alert", False)})
