"""The patient's packet pages, reached by the link in a text or e-mail (security-reference A9).

``open/<token>/`` matches the token (a link preview cannot use it up: nothing is consumed on a GET),
starts a fresh session remembering the packet and leaves for the token-free ``verify/`` date-of-birth
check; a correct answer starts another fresh session holding only the packet id (for
``rules.SESSION_SECONDS``) and leads to the token-free steps. The link opens again until the packet
is complete, so the patient can stop and resume; each step is submitted once. The token URL's
answer sends ``Referrer-Policy: no-referrer``; every answer sends ``Cache-Control: no-store``; the
token URL and the date-of-birth check are rate-limited per client address in a counter every web
process shares. These are the only packet URLs without staff sign-in.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.network import client_ip
from assessments.forms import instrument_form
from consultations.services.reported import reportable_facts
from packets import hooks, rules, selectors, services
from packets.access import SESSION_CRISIS, SESSION_PENDING, scoped_packet, start_scoped_session
from packets.forms import DateOfBirthForm, DetailsForm, HistoryForm, InstructionsForm
from patients import links

REFUSED = "This link cannot be used. It may have expired or been completed already. Please call the clinic."
STEP_DONE = "You have already sent this part. To change it, call the clinic or tell us at your visit."


_public = links.public_page


def _refused(request, message: str = REFUSED, status: int = 410):
    return render(request, "packets/public_refused.html", {"message": message}, status=status)


def _too_many(request):
    return _refused(request, "Too many attempts. Try again later.", status=429)


def _limited(request) -> bool:
    return services.rate_limited(key=f"packet:{client_ip(request) or ''}")


@_public
@require_GET
def link_open(request, token: str):
    if _limited(request):
        return _too_many(request)
    packet = services.packet_for_token(token)
    if packet is None:
        return _refused(request, status=404)
    if not services.packet_usable(packet):
        return _refused(request)
    links.begin(request, SESSION_PENDING, packet.pk)
    return redirect("packets:link-verify")


@_public
@require_http_methods(["GET", "POST"])
def link_verify(request):
    packet_id = links.pending(request, SESSION_PENDING)
    if packet_id is None:
        return _refused(request, status=403)
    form = DateOfBirthForm(request.POST or None)
    if request.method == "POST":
        if _limited(request):
            return _too_many(request)
        if form.is_valid():
            try:
                packet = services.packet_exchange(packet_id=packet_id, date_of_birth=form.cleaned_data["date_of_birth"])
            except services.LinkRefused as exc:
                if str(exc) != "identity":
                    request.session.flush()
                    return _refused(request)
                form.add_error("date_of_birth", "That date of birth does not match our records.")
            else:
                start_scoped_session(request, packet)
                return redirect("packets:hub")
    return render(request, "packets/public_identity.html", {"form": form}, status=200)


def _steps_context(request, packet) -> dict:
    wanted = selectors.steps()
    done = packet.done_steps()
    return {
        "packet": packet,
        "crisis": bool(request.session.get(SESSION_CRISIS)),
        "steps": [(step, rules.STEP_LABELS[step], step in done) for step in wanted],
        "next_step": rules.next_step(done, wanted),
        "consent_online": hooks.consent_online(),
    }


@_public
@require_GET
def hub(request):
    packet = scoped_packet(request)
    if packet is None:
        return _refused(request, status=403)
    if packet.completed_at is not None:
        return redirect("packets:done")
    return render(request, "packets/public_hub.html", _steps_context(request, packet))


@_public
@require_http_methods(["GET", "POST"])
def step(request, step: str):
    packet = scoped_packet(request)
    if packet is None:
        return _refused(request, status=403)
    if step not in selectors.steps():
        raise Http404
    if getattr(packet, f"{step}_at") is not None:
        return render(
            request, "packets/public_step_done.html", {"message": STEP_DONE, **_steps_context(request, packet)}
        )
    if step == rules.CONSENT:
        handover = hooks.consent_step(packet)
        return redirect(handover.url) if handover else redirect("packets:hub")
    data = request.POST if request.method == "POST" else None
    context = {**_steps_context(request, packet), "step": step, "title": rules.STEP_LABELS[step]}
    try:
        if step == rules.DETAILS:
            return _details(request, packet, data, context)
        if step == rules.HISTORY:
            return _history(request, packet, data, context)
        if step == rules.QUESTIONNAIRES:
            return _questionnaires(request, packet, data, context)
        return _preparation(request, packet, data, context)
    except services.LinkRefused:
        return _refused(request)


def _after(request, packet):
    """On to the next step not done yet (saved already: the patient may stop here), or the end."""
    packet.refresh_from_db()
    following = rules.next_step(packet.done_steps(), selectors.steps())
    if packet.completed_at or following is None:
        return redirect("packets:done")
    if following == rules.CONSENT or request.session.get(SESSION_CRISIS):
        return redirect("packets:hub")  # the hub hands over to the signing page, or shows crisis resources
    return redirect("packets:step", following)


def _details(request, packet, data, context):
    form = DetailsForm(data, initial=services.current_details(packet.patient))
    if data is not None and form.is_valid():
        services.details_submit(packet=packet, details=form.cleaned_details())
        return _after(request, packet)
    return render(request, "packets/public_details.html", {**context, "form": form}, status=200)


def _history(request, packet, data, context):
    form = HistoryForm(data, questions=reportable_facts())
    if data is not None and form.is_valid():
        services.history_submit(packet=packet, answers=form.answers(), medications=form.medications())
        return _after(request, packet)
    return render(request, "packets/public_history.html", {**context, "form": form}, status=200)


def _questionnaires(request, packet, data, context):
    forms = [instrument_form(code, data) for code in packet.instruments]
    if data is not None:
        valid = all(f.is_valid() for f in forms)
        for f in forms:
            if valid and f.cleaned_data.get("answers") is None:
                f.add_error(None, "Please answer these questions.")
                valid = False
        if valid:
            try:
                result = services.questionnaires_submit(
                    packet=packet, answers={f.code: f.cleaned_data["answers"] for f in forms}
                )
            except ValidationError as exc:
                forms[0].add_error(None, exc.messages[0])
            else:
                if result.crisis:
                    request.session[SESSION_CRISIS] = True
                return _after(request, packet)
    return render(
        request, "packets/public_questionnaires.html", {**context, "forms": forms, "count": len(forms)}, status=200
    )


def _preparation(request, packet, data, context):
    lines = selectors.preparation_lines()
    form = InstructionsForm(data, initial={"escort_name": packet.patient.escort_name})
    if data is not None and form.is_valid():
        services.instructions_submit(
            packet=packet,
            text="\n".join(lines),
            escort_name=form.cleaned_data["escort_name"],
            escort_phone=str(form.cleaned_data["escort_phone"]),
        )
        return _after(request, packet)
    return render(request, "packets/public_instructions.html", {**context, "form": form, "lines": lines}, status=200)


@_public
@require_GET
def done(request):
    packet = scoped_packet(request)
    if packet is None:
        return _refused(request, status=403)
    return render(
        request,
        "packets/public_done.html",
        _steps_context(request, packet),
    )
