"""The patient's signing pages, reached by a one-time link (the questionnaire links' design,
security-reference A9).

``c/<token>/`` matches the token without consuming it (a link preview cannot burn it), starts a
fresh session that remembers the link and leaves for the token-free ``c/verify/`` date-of-birth
check; a correct answer opens the link once and scopes a fresh session to it; ``sign/`` then shows
each consent the link asks for in turn, and ``sign/done/`` says it is finished. The pre-visit
packet skips the first two (it has identified the patient on its own link): it makes a ``verified``
link and calls ``access.grant_signing_session``. No staff sign-in; never cached; the token URL is
sent with ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts.network import client_ip
from consents import forms, selectors, services
from consents.access import SESSION_DONE, SESSION_LINK, SESSION_PENDING, grant_signing_session
from consents.models import ConsentSignature
from core import ratelimit
from patients import links

REFUSED = "This link cannot be used. It may have expired or been used already. Please call the clinic."
# Clinic policy: requests from one address to these pages in a window of 10 minutes.
RATE_LIMIT, RATE_WINDOW = 30, timedelta(minutes=10)


_public = links.public_page


def _too_many(request) -> bool:
    """Count one request from this client in its window; True once over the limit."""
    return ratelimit.hit(f"consents:{client_ip(request) or ''}", limit=RATE_LIMIT, window=RATE_WINDOW)


def _refused(request, status: int, message: str = REFUSED):
    return render(request, "consents/public_refused.html", {"message": message}, status=status)


@_public
@require_GET
def link_open(request, token: str):
    if _too_many(request):
        return _refused(request, 429, "Too many attempts. Try again later.")
    link = services.link_for_token(token)
    if link is None:
        return _refused(request, 404)
    if services.link_problem(link):
        return _refused(request, 410)
    if link.exchanged_at is not None:  # handed over by the pre-visit packet: its session stays
        try:
            services.consent_link_handover(link_id=link.pk)
        except services.LinkRefused:
            return _refused(request, 410)
        grant_signing_session(request.session, link.pk)
        return redirect("consents:public-sign")
    links.begin(request, SESSION_PENDING, link.pk)
    return redirect("consents:link-verify")


@_public
@require_http_methods(["GET", "POST"])
def link_verify(request):
    link_id = links.pending(request, SESSION_PENDING)
    if link_id is None:
        return _refused(request, 403)
    form = forms.DateOfBirthForm(request.POST or None)
    if request.method == "POST":
        if _too_many(request):
            return _refused(request, 429, "Too many attempts. Try again later.")
        if form.is_valid():
            try:
                link = services.consent_link_exchange(link_id=link_id, date_of_birth=form.cleaned_data["date_of_birth"])
            except services.LinkRefused as exc:
                if str(exc) != "identity":
                    request.session.flush()
                    return _refused(request, 410)
                form.add_error("date_of_birth", "That date of birth does not match our records.")
            else:
                request.session.flush()
                grant_signing_session(request.session, link.pk)
                return redirect("consents:public-sign")
    return render(request, "consents/public_identity.html", {"form": form})


def _open_link(request):
    link = selectors.link_by_id(request.session.get(SESSION_LINK))
    if link is None or services.link_problem(link) or link.exchanged_at is None:
        return None
    return link


def _finished(request, link):
    """Every consent of the link signed: back to the flow that handed the patient over (its session
    kept), or end the scoped session and say thank you."""
    if link.return_path:
        request.session.pop(SESSION_LINK, None)
        return redirect(link.return_path)
    request.session.flush()
    request.session[SESSION_DONE] = {"return_path": link.return_path}
    return redirect("consents:public-done")


@_public
@require_http_methods(["GET", "POST"])
def public_sign(request):
    """The next consent the link asks for: its exact text, then the signature."""
    link = _open_link(request)
    if link is None:
        return _refused(request, 403)
    signed = set(ConsentSignature.objects.filter(link=link).values_list("kind", flat=True))
    versions = selectors.latest_versions(kinds=link.kinds)
    waiting = [kind for kind in link.kinds if kind not in signed and kind in versions]
    if not waiting:
        return _finished(request, link)
    version = versions[waiting[0]]
    form = forms.SignForm(request.POST or None)
    if request.method == "POST":
        posted = request.POST.get("version", "")
        if posted != str(version.pk):  # a newer version was published while the page was open
            form.add_error(None, "This consent was updated while you were reading it. Please read it again.")
        elif form.is_valid():
            try:
                services.consent_sign(
                    patient=link.patient,
                    version=version,
                    typed_name=form.cleaned_data["typed_name"],
                    signature_data_url=form.cleaned_data["signature"],
                    ip_address=client_ip(request),
                    user_agent=request.headers.get("user-agent", ""),
                    link=link,
                )
            except services.LinkRefused:
                request.session.flush()
                return _refused(request, 410)
            except ValidationError as error:
                for field, errors in getattr(error, "message_dict", {None: error.messages}).items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                if len(waiting) == 1:
                    return _finished(request, link)
                return redirect("consents:public-sign")
    return render(
        request,
        "consents/sign.html",
        {
            "patient": link.patient,
            "version": version,
            "form": form,
            "staff": False,
            "action": reverse("consents:public-sign"),
            "step": len(link.kinds) - len(waiting) + 1,
            "steps": len(link.kinds),
        },
    )


@_public
@require_GET
def public_done(request):
    done = request.session.get(SESSION_DONE)
    if done is None:
        return _refused(request, 403)
    return render(request, "consents/public_done.html", {"return_path": done.get("return_path", "")})
