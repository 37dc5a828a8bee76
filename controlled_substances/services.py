"""Every write to the ketamine stock and ledger.

Each service is keyword-only and atomic, locks the container row (``select_for_update``,
security-reference R3/R10) before reading its balance, appends one ledger entry carrying
the balance it leaves, and writes the audit row in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit, throttle
from accounts.models import AuditEvent, User
from controlled_substances import rules
from controlled_substances.access import handles_drug
from controlled_substances.models import (
    Container,
    ControlledSubstancePolicy,
    CountLine,
    InventoryCount,
    LedgerEntry,
    LossReport,
    Lot,
    Product,
    Registration,
    RescueDoseLog,
    Supplier,
)
from controlled_substances.rules import Kind
from controlled_substances.selectors import draw_accounts, reconciliation_mismatches
from infusions import rules as infusion_rules
from infusions.models import DrugGiven, InfusionSession
from infusions.selectors.sessions import current_dose
from infusions.services import session_container_record
from notifications.email import alert_administrators

CS = AuditEvent.Category.CONTROLLED_SUBSTANCE
WITNESS_FAILED = "controlled_substances.witness.failed"
RECORD = "controlled_substances.record_administration"
MANAGE = "controlled_substances.manage_stock"


class LedgerError(ValidationError):
    """A movement the ledger refuses (not enough drug, wrong witness, …); shown on the form."""


# --- Witnessing -----------------------------------------------------------------------


def may_witness(user: User) -> bool:
    return user.is_active and (user.has_perm(RECORD) or user.has_perm(MANAGE))


def witness_confirm(*, witness: User, password: str, by: User) -> None:
    """The witness re-enters their own password. Failures are audited (outcome denied); every
    attempt is counted, before the password is looked at, by the witness account's password
    throttle (accounts.throttle, shared with sign-in and break-glass): past its limit further
    attempts are refused until the window passes."""
    if witness.pk == by.pk:
        raise LedgerError("The witness must be someone other than you.")
    if not may_witness(witness):
        raise LedgerError("This person is not authorised to witness controlled-substance records.")
    try:
        right = throttle.check_password(user=witness, password=password)
    except throttle.TooManyPasswordAttempts as exc:
        raise LedgerError(
            f"Too many wrong passwords for this witness. Wait {settings.PASSWORD_CHECK_WINDOW_MINUTES} minutes "
            "or choose another witness."
        ) from exc
    if not right:
        audit.record(
            actor=by,
            action=WITNESS_FAILED,
            verb=AuditEvent.Verb.QUERY,
            category=CS,
            target=witness,
            outcome=AuditEvent.Outcome.DENIED,
        )
        raise LedgerError("That is not the witness's password.")


def _check_witnesses(by: User, *witnesses) -> None:
    people = [w for w in witnesses if w is not None]
    ids = [by.pk, *(w.pk for w in people)]
    if len(set(ids)) != len(ids):
        raise LedgerError("Witnesses must be different people, and not the person recording.")
    for w in people:
        if not may_witness(w):
            raise LedgerError(f"{w} is not authorised to witness controlled-substance records.")


def _volume(value, *, allow_zero: bool = False) -> Decimal:
    try:
        return rules.volume_ml(value, allow_zero=allow_zero)
    except rules.QuantityError as exc:
        raise LedgerError(str(exc)) from exc


# --- The one writer of entries ---------------------------------------------------------


def _lock(container: Container | int) -> Container:
    pk = container.pk if isinstance(container, Container) else container
    return Container.objects.select_for_update().select_related("lot__product").get(pk=pk)


def _withdraw(*, container: Container, kind: Kind, volume: Decimal, by: User, at: datetime, **fields) -> LedgerEntry:
    """Append an entry that takes ``volume`` out of a locked container (draw, destruction, transfer, loss)."""
    return _append(container=container, kind=kind, quantity_ml=volume, delta_ml=-volume, by=by, at=at, **fields)


def _append(
    *,
    container: Container,
    kind: Kind,
    quantity_ml: Decimal,
    delta_ml: Decimal,
    by: User,
    at: datetime,
    quantity_mg: Decimal | None = None,
    **fields,
) -> LedgerEntry:
    """Append to a container locked by the caller; move its balance; audit. ``quantity_mg``
    defaults to ``quantity_ml`` at the vial's concentration (a bag's remainder passes its own)."""
    new_balance = container.remaining_ml + delta_ml
    if new_balance < 0:
        raise LedgerError(f"Only {container.remaining_ml} mL remain in {container.code}.")
    container.remaining_ml = new_balance
    container.last_seq += 1
    update = ["remaining_ml", "last_seq"]
    if delta_ml < 0 and container.opened_at is None and kind in (Kind.ADMINISTRATION, Kind.WASTE):
        container.opened_at = at
        update.append("opened_at")
    container.save(update_fields=update)
    entry = LedgerEntry.objects.create(
        container=container,
        seq=container.last_seq,
        kind=kind,
        occurred_at=at,
        quantity_ml=quantity_ml,
        quantity_mg=rules.mg_for_ml(quantity_ml, container.lot.product.concentration_mg_per_ml)
        if quantity_mg is None
        else quantity_mg,
        delta_ml=delta_ml,
        balance_after_ml=new_balance,
        actor=by,
        **fields,
    )
    audit.record(
        actor=by,
        action=f"controlled_substances.entry.{kind}",
        verb=AuditEvent.Verb.CREATE,
        category=CS,
        target=entry,
        patient=fields.get("patient"),
        changes={
            "container": container.code,
            "kind": str(kind),
            "quantity_ml": entry.quantity_ml,
            "quantity_mg": entry.quantity_mg,
            "balance_after_ml": new_balance,
            "witness": getattr(fields.get("witness"), "username", None),
            "second_witness": getattr(fields.get("second_witness"), "username", None),
        },
    )
    return entry


# --- Stock ----------------------------------------------------------------------------


def _registration_in_force(registration: Registration | None, *, on, location=None) -> None:
    """Ketamine is received, drawn and transferred only under a location's DEA registration
    that is on file and has not expired [S108]: the location's own registration (this app's
    ``Registration``), whatever the personal registrations of the prescribers working there."""
    if registration is None:
        raise LedgerError(
            f"{location} has no DEA registration on file: no ketamine may be received, drawn or transferred "
            "there until an administrator records it."
        )
    if not registration.dea_number or registration.expires_on is None:
        raise LedgerError(
            f"{registration.location}: enter the DEA registration number and its expiry first "
            "(no ketamine is received, drawn or transferred under a registration without them)."
        )
    if registration.expires_on < on:
        raise LedgerError(
            f"The DEA registration of {registration.location} expired on {registration.expires_on:%Y-%m-%d}: "
            "no ketamine may be received, drawn or transferred under it until the renewal is recorded."
        )


@transaction.atomic
def stock_receive(
    *,
    registration: Registration,
    product: Product,
    supplier: Supplier,
    lot_number: str,
    expiry_date,
    invoice_number: str,
    invoice_date,
    containers: int,
    received_at: datetime,
    by: User,
) -> list[Container]:
    """Receive ``containers`` sealed vials of one lot against a supplier's invoice (CIII receipts
    are documented by invoice, kept readily retrievable [S109])."""
    if containers < 1:
        raise LedgerError("Receive at least one container.")
    _registration_in_force(registration, on=timezone.localdate(received_at))
    lot, created = Lot.objects.get_or_create(
        product=product,
        lot_number=lot_number.strip(),
        defaults={
            "expiry_date": expiry_date,
            "supplier": supplier,
            "invoice_number": invoice_number,
            "invoice_date": invoice_date,
        },
    )
    if not created and (lot.expiry_date != expiry_date or lot.supplier_id != supplier.pk):
        raise LedgerError("This lot number is already on file with a different expiry or supplier.")
    # Numbered across every registration: a vial keeps its label when it moves.
    existing = lot.containers.values("code").distinct().count()
    made = []
    for n in range(existing + 1, existing + containers + 1):
        container = Container.objects.create(
            lot=lot,
            registration=registration,
            code=f"{product.ndc.replace('-', '')[-6:]}-{lot.lot_number}-{n:02d}",
            received_at=received_at,
            initial_ml=product.container_volume_ml,
            remaining_ml=Decimal("0.00"),
        )
        container.lot = lot
        _append(
            container=container,
            kind=Kind.RECEIPT,
            quantity_ml=product.container_volume_ml,
            delta_ml=product.container_volume_ml,
            by=by,
            at=received_at,
            reason=f"Invoice {invoice_number} of {invoice_date:%Y-%m-%d} from {supplier.name}",
        )
        made.append(container)
    return made


@transaction.atomic
def administration_record(
    *, container: Container | int, volume_ml, patient, by: User, at: datetime, **link
) -> LedgerEntry:
    """Draw a dose from a vial for a patient (``link``: ``session=`` once infusions exist)."""
    volume = _volume(volume_ml)
    locked = _lock(container)
    _registration_in_force(locked.registration, on=timezone.localdate(at))
    if locked.lot.expiry_date < timezone.localdate(at):
        raise LedgerError(f"{locked.code} expired on {locked.lot.expiry_date:%Y-%m-%d}; do not draw from it.")
    return _withdraw(
        container=locked,
        kind=Kind.ADMINISTRATION,
        volume=volume,
        by=by,
        at=at,
        patient=patient,
        **link,
    )


# Drawing happens before the infusion starts; a draw on a later status would bypass the start gate.
DRAW_STATUSES = ("pre_check", "cleared")


def _existing(request_key: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(request_key=request_key).first() if request_key else None


def _lock_session(session):
    """The session row, locked: every draw, waste and close-out of one session queues here,
    so two nurses submitting at once see each other's entries (exactly one draw stands)."""

    return InfusionSession.objects.select_for_update().select_related("patient").get(pk=session.pk)


def _require_clinical(by: User) -> None:
    # Only clinical roles handle the drug at the chair: an administrator may manage stock
    # but never draws or wastes for a patient.

    if not handles_drug(by):
        raise PermissionDenied


@transaction.atomic(durable=True)
def session_draw_record(
    *, session, container: Container | int, volume_ml, by: User, at: datetime, request_key: str = ""
) -> LedgerEntry:
    """Draw an infusion session's verified dose and name the vial on the session.

    Refused, with nothing written, unless: the drawer is a clinician; the session is in its
    pre-check or cleared and unsigned; the dose in force is verified; no other draw stands
    for the session; the vial holds the calculation's concentration; and volume × that
    concentration is within the clinic's tolerance of the verified mg, from a vial held under
    the registration of the session's location. The draw records the
    calculation it was checked against. ``request_key`` (the form's one-time key) makes a
    resubmitted form return the entry it already made."""

    _require_clinical(by)
    if found := _existing(request_key):
        return found
    locked = _lock_session(session)
    if found := _existing(request_key):  # the same form, submitted twice at once, waited on the lock
        return found
    if locked.is_signed:
        raise LedgerError("This session is signed: its drug record is closed.")
    if locked.status not in DRAW_STATUSES:
        raise LedgerError("The dose is drawn before the infusion starts (pre-check or cleared).")
    dose = current_dose(locked)
    if dose is None or not dose.is_verified:
        raise LedgerError("Draw only a dose a second clinician has verified.")
    standing = _standing_draws(locked)
    if standing:
        first = standing[0]
        raise LedgerError(
            f"A draw of {first.quantity_ml} mL ({first.quantity_mg} mg) from {first.container.code} already "
            "stands for this session: one draw per session (reverse it with a reason to draw again)."
        )
    volume = _volume(volume_ml)
    location = locked.appointment.location
    _registration_in_force(
        Registration.objects.select_related("location").filter(location=location).first(),
        on=timezone.localdate(at),
        location=location,
    )
    vial = _lock(container)
    if vial.registration.location_id != locked.appointment.location_id:
        # Stock is held per DEA registration: a vial of another site's registration would put
        # this administration in that site's dispensing record.
        raise LedgerError(
            {
                "container": f"{vial.code} is held at {vial.registration.location.name}, "
                "not where this infusion is given."
            }
        )
    problems = rules.draw_problems(
        volume=volume,
        container_mg_per_ml=vial.lot.product.concentration_mg_per_ml,
        dose_mg=dose.dose_mg,
        dose_mg_per_ml=dose.vial_mg_per_ml,
        percent=ControlledSubstancePolicy.current().draw_tolerance_percent,
    )
    if problems:
        raise LedgerError(problems)
    draw = administration_record(
        container=vial,
        volume_ml=volume,
        patient=locked.patient,
        session=locked,
        dose_calculation=dose,
        request_key=request_key,
        by=by,
        at=at,
    )
    lot = draw.container.lot
    session_container_record(session=locked, container_lot=f"{lot.lot_number} · {draw.container.code}", by=by)
    return draw


def _standing_draws(session) -> list[LedgerEntry]:
    return [
        e
        for e in LedgerEntry.objects.filter(session=session, kind=Kind.ADMINISTRATION)
        .select_related("container", "reversed_by")
        .order_by("occurred_at", "pk")
        if not e.is_reversed
    ]


@transaction.atomic(durable=True)
def waste_record(**kwargs: Any) -> LedgerEntry:
    """Witnessed waste as an entry point (views, tasks): it owns its transaction; see ``_waste_record``."""
    return _waste_record(**kwargs)


def _waste_record(
    *,
    volume_ml,
    by: User,
    witness: User,
    at: datetime,
    container: Container | int | None = None,
    of_draw: LedgerEntry | None = None,
    manner: str = "",
    request_key: str = "",
    left_in: str = "",
) -> LedgerEntry:
    """Witnessed waste: either the unused part of a draw (``of_draw``; already out of the vial, so
    the vial balance does not move) or drug left in a vial (``container``). Waste is recorded in
    the dispensing record, not on Form 41 [S122][S123]. 0 mL closes a draw with nothing left.
    The waste of a session's draw is a clinician's, never after the session is signed;
    ``request_key`` makes a resubmitted form return the entry it already made.

    ``left_in`` says where the drug physically is: "syringe" (``volume_ml`` at the vial's
    concentration) or "bag" (``volume_ml`` of the infusion bag at its final concentration, the
    drug in it ÷ its total volume, never the vial's; not while it is still running). The mg is
    what the ledger records; ``quantity_ml`` is its vial-equivalent. A draw cannot be wasted
    beyond what it holds less what the pump delivered (within the close-out tolerance).

    Call inside a transaction (``waste_record`` is the entry point that owns one)."""
    volume = _volume(volume_ml, allow_zero=of_draw is not None)
    if volume > 0 or witness is not None:
        if witness is None:
            raise LedgerError("Waste needs a witness.")
        _check_witnesses(by, witness)
    if found := _existing(request_key):
        return found
    if of_draw is not None:
        if of_draw.session_id is not None:
            _require_clinical(by)
            if _lock_session(of_draw.session).is_signed:
                raise LedgerError("This session is signed: its drug record is closed.")
        locked = _lock(of_draw.container_id)  # serialises wastes and reversals of the same draw too
        if found := _existing(request_key):
            return found
        if of_draw.kind != Kind.ADMINISTRATION or LedgerEntry.objects.filter(reverses=of_draw).exists():
            raise LedgerError("Waste can only close a draw that stands.")
        measured = _measured_waste(of_draw, volume=volume, left_in=left_in, vial=locked)
        already = sum(
            (w.quantity_mg for w in of_draw.wastes.select_related("reversed_by") if not w.is_reversed), Decimal("0")
        )
        delivered = _delivered_mg(of_draw)
        tolerance = rules.closeout_tolerance_mg(
            drawn_mg=of_draw.quantity_mg,
            mg_per_ml=locked.lot.product.concentration_mg_per_ml,
            percent=ControlledSubstancePolicy.current().draw_tolerance_percent,
            dose_mg=of_draw.dose_calculation.dose_mg if of_draw.dose_calculation is not None else None,
        )
        # Never more than is left of the draw; against the pump's computed delivery, within the tolerance.
        room = of_draw.quantity_mg - delivered - already
        limit = min(of_draw.quantity_mg - already, room + tolerance) if delivered else room
        if measured["quantity_mg"] > limit:
            given = f", {delivered} mg delivered" if delivered else ""
            raise LedgerError(
                {
                    "volume_ml": f"{volume} mL {measured['where']} is {measured['quantity_mg']} mg; only "
                    f"{max(room, Decimal('0.00'))} mg of that draw is left to waste ({of_draw.quantity_mg} mg "
                    f"drawn{given}, {already} mg wasted already)."
                }
            )
        del measured["where"]
        return _append(
            container=locked,
            kind=Kind.WASTE,
            delta_ml=Decimal("0.00"),
            **measured,
            by=by,
            at=at,
            witness=witness,
            of_draw=of_draw,
            patient=of_draw.patient,
            manner=manner,
            request_key=request_key,
            **_session_link(of_draw),
        )
    if container is None:
        raise LedgerError("Choose the vial the waste is from.")
    locked = _lock(container)
    if found := _existing(request_key):
        return found
    return _withdraw(
        container=locked,
        kind=Kind.WASTE,
        volume=volume,
        by=by,
        at=at,
        witness=witness,
        manner=manner,
        request_key=request_key,
    )


def _delivered_mg(draw: LedgerEntry) -> Decimal:
    """What the pump delivered from this draw's bag, as its session recorded it (0 if never run)."""
    if draw.session_id is None:
        return Decimal("0.00")

    found = InfusionSession.objects.filter(pk=draw.session_id).values_list("delivered_mg", flat=True).first()
    return found or Decimal("0.00")


def _measured_waste(draw: LedgerEntry, *, volume: Decimal, left_in: str, vial: Container) -> dict:
    """The waste's quantities from what is physically left: in the syringe at the vial's
    concentration, or in the bag at the bag's (drug mg ÷ total bag volume)."""
    vial_mg_per_ml = vial.lot.product.concentration_mg_per_ml
    if left_in not in ("", "syringe", "bag"):
        raise LedgerError({"left_in": "Say whether what is left is in the syringe or in the bag."})
    if left_in != "bag":
        mg = rules.mg_for_ml(volume, vial_mg_per_ml)
        extra = {"left_in": left_in, "measured_ml": volume, "measured_mg_per_ml": vial_mg_per_ml} if left_in else {}
        return {"quantity_ml": volume, "quantity_mg": mg, "where": "in the syringe", **extra}

    bag = draw.dose_calculation
    if bag is None:
        raise LedgerError({"left_in": "This draw has no calculated bag; record what is left in the syringe."})
    if (
        draw.session_id is not None
        and InfusionSession.objects.filter(pk=draw.session_id, status__in=("infusing", "paused")).exists()
    ):
        raise LedgerError({"left_in": "The bag is still running: stop or complete the infusion first."})
    if volume > bag.total_volume_ml:
        raise LedgerError({"volume_ml": f"The bag held {bag.total_volume_ml} mL in all."})
    mg = infusion_rules.bag_mg_for_ml(volume_ml=volume, bag_mg=bag.dose_mg, bag_volume_ml=bag.total_volume_ml)
    return {
        "quantity_ml": rules.ml_for_mg(mg, vial_mg_per_ml),  # the vial-equivalent, for the vial's record
        "quantity_mg": mg,
        "left_in": "bag",
        "measured_ml": volume,
        "measured_mg_per_ml": (bag.dose_mg / bag.total_volume_ml).quantize(Decimal("0.0001")),
        "where": "in the bag",
    }


def _session_link(entry: LedgerEntry) -> dict:
    if hasattr(entry, "session_id"):
        return {"session_id": entry.session_id}
    return {}


@transaction.atomic
def destruction_record(
    *,
    container,
    by: User,
    witness: User,
    second_witness: User,
    form_41_ref: str,
    manner: str,
    at: datetime,
    volume_ml=None,
) -> LedgerEntry:
    """On-site destruction of inventory (expired or unwanted): DEA Form 41, two authorised
    employee witnesses [S121][S122]. Defaults to everything left in the vial."""
    _check_witnesses(by, witness, second_witness)
    if not form_41_ref.strip():
        raise LedgerError("Destruction needs the DEA Form 41 reference.")
    locked = _lock(container)
    volume = locked.remaining_ml if volume_ml in (None, "") else _volume(volume_ml)
    if volume <= 0:
        raise LedgerError(f"{locked.code} is empty; nothing to destroy.")
    return _withdraw(
        container=locked,
        kind=Kind.DESTRUCTION,
        volume=volume,
        by=by,
        at=at,
        witness=witness,
        second_witness=second_witness,
        form_41_ref=form_41_ref.strip(),
        manner=manner,
    )


@transaction.atomic
def transfer_record(
    *,
    container,
    volume_ml,
    counterparty_name: str,
    counterparty_dea_number: str,
    by: User,
    at: datetime,
    reason: str = "",
) -> LedgerEntry:
    """Transfer to another registrant (CIII transfers are documented by invoice [S109])."""
    volume = _volume(volume_ml)
    locked = _lock(container)
    _registration_in_force(locked.registration, on=timezone.localdate(at))
    return _withdraw(
        container=locked,
        kind=Kind.TRANSFER,
        volume=volume,
        by=by,
        at=at,
        counterparty_name=counterparty_name,
        counterparty_dea_number=counterparty_dea_number.upper(),
        reason=reason,
    )


@transaction.atomic
def transfer_between_registrations(
    *, container, to: Registration, by: User, at: datetime, reason: str = ""
) -> tuple[LedgerEntry, LedgerEntry]:
    """Move a vial, with all that is left in it, to another of the clinic's registrations: an
    entry out of this registration's record and a linked entry into the other's, in one
    transaction (each location keeps its own records [S108]; CIII transfers are documented
    by invoice [S109], whose reference goes in ``reason``). The vial keeps its label; it has
    a row at each registration it has been at."""
    locked = _lock(container)
    if to.pk == locked.registration_id:
        raise LedgerError("The vial is already at that location.")
    if locked.remaining_ml == 0:
        raise LedgerError(f"{locked.code} is empty; nothing to transfer.")
    source = Registration.objects.select_related("location").get(pk=locked.registration_id)
    _registration_in_force(source, on=timezone.localdate(at))
    _registration_in_force(to, on=timezone.localdate(at))
    out = _withdraw(
        container=locked,
        kind=Kind.TRANSFER,
        volume=locked.remaining_ml,
        by=by,
        at=at,
        counterparty_name=str(to.location),
        counterparty_dea_number=to.dea_number,
        reason=reason.strip(),
    )
    arriving, _ = Container.objects.get_or_create(
        registration=to,
        code=locked.code,
        defaults={
            "lot": locked.lot,
            "received_at": at,
            "opened_at": locked.opened_at,
            "initial_ml": locked.initial_ml,
            "remaining_ml": Decimal("0.00"),
        },
    )
    arriving = _lock(arriving)
    into = _append(
        container=arriving,
        kind=Kind.TRANSFER_IN,
        quantity_ml=out.quantity_ml,
        delta_ml=out.quantity_ml,
        by=by,
        at=at,
        transfer_of=out,
        counterparty_name=str(source.location),
        counterparty_dea_number=source.dea_number,
        reason=reason.strip(),
    )
    return out, into


def _loss_report_open(*, kind: str, discovered_at: datetime, description: str, by: User) -> LossReport:
    """A theft or significant loss report with its DEA deadlines (notice within 1 business day,
    Form 106 within 45 days [S119][S120])."""
    day = timezone.localdate(discovered_at)
    return LossReport.objects.create(
        kind=kind,
        discovered_at=discovered_at,
        description=description,
        reported_by=by,
        notice_due_on=rules.next_business_day(day),
        form_106_due_on=rules.form_106_due(day),
    )


@transaction.atomic
def loss_record(
    *,
    container,
    volume_ml,
    kind: str,
    discovered_at: datetime,
    description: str,
    by: User,
    report: LossReport | None = None,
) -> LedgerEntry:
    """Theft or significant loss: opens (or adds to) a LossReport with its DEA deadlines."""
    volume = _volume(volume_ml)
    if report is None:
        report = _loss_report_open(kind=kind, discovered_at=discovered_at, description=description, by=by)
    locked = _lock(container)
    return _withdraw(
        container=locked,
        kind=Kind.LOSS_THEFT,
        volume=volume,
        by=by,
        at=discovered_at,
        loss_report=report,
        reason=description,
    )


@transaction.atomic
def loss_report_update(
    *, report: LossReport, notice_given_on, form_106_ref: str, form_106_filed_on, by: User
) -> LossReport:
    stored = LossReport.objects.select_for_update().get(pk=report.pk)  # a bound ModelForm already changed `report`
    before = {f: getattr(stored, f) for f in ("notice_given_on", "form_106_ref", "form_106_filed_on")}
    report.notice_given_on = notice_given_on
    report.form_106_ref = form_106_ref.strip()
    report.form_106_filed_on = form_106_filed_on
    report.save(update_fields=list(before))
    audit.record(
        actor=by,
        action="controlled_substances.loss_report.updated",
        verb=AuditEvent.Verb.UPDATE,
        category=CS,
        target=report,
        changes=audit.diff(report, before, list(before)),
    )
    return report


def _second_person(by: User, witness: User | None, *, what: str) -> None:
    """A correction is never one person's act: someone else with ledger or clinical permission
    confirms it. Their password is checked by ``witness_confirm`` (on the form), with its lockout."""
    if witness is None:
        raise LedgerError(f"{what} needs a second person, who confirms it with their password.")
    _check_witnesses(by, witness)


@transaction.atomic
def adjustment_record(
    *,
    container,
    delta_ml,
    reason: str,
    by: User,
    witness: User | None,
    at: datetime,
    not_a_loss_confirmed: bool = False,
) -> LedgerEntry:
    """A correction of the balance with its reason, confirmed by a second person. A shortfall at
    or above the clinic's significant-loss threshold is the loss workflow's, as in a count: it
    is refused here unless both people confirm it is not a loss or theft (``correction_record``
    with ``as_loss`` reports it instead)."""
    if not reason.strip():
        raise LedgerError("An adjustment needs a reason.")
    delta = Decimal(str(delta_ml)).quantize(rules.ML_QUANTUM, rounding=rules.ROUNDING)
    if delta == 0:
        raise LedgerError("An adjustment must change the balance.")
    _second_person(by, witness, what="An adjustment")
    locked = _lock(container)
    note = ""
    shortfall_mg = rules.mg_for_ml(-delta, locked.lot.product.concentration_mg_per_ml)
    threshold = ControlledSubstancePolicy.current().significant_discrepancy_mg
    if rules.is_significant(-shortfall_mg, threshold):
        if not not_a_loss_confirmed:
            raise LedgerError(
                f"A shortfall of {shortfall_mg} mg is at or above the significant-loss threshold "
                f"({threshold} mg, clinic policy): report it as a loss or theft, or confirm it is not one."
            )
        note = " (significant shortfall, confirmed not a loss or theft)"
    return _append(
        container=locked,
        kind=Kind.ADJUSTMENT,
        quantity_ml=abs(delta),
        delta_ml=delta,
        by=by,
        at=at,
        reason=reason.strip() + note,
        witness=witness,
    )


@transaction.atomic
def correction_record(
    *,
    container,
    delta_ml,
    reason: str,
    by: User,
    at: datetime,
    witness: User | None = None,
    as_loss: str = "",
    not_a_loss_confirmed: bool = False,
) -> LedgerEntry:
    """Bring a vial's balance to what is physically there; the one path shared by a count's
    discrepancy and a manager's correction. A shortfall reported as theft or loss (``as_loss``)
    opens the DEA notice workflow (written notice within 1 business day, Form 106 within 45
    days [S119][S120]); anything else is an adjustment confirmed by a second person."""
    if not as_loss:
        return adjustment_record(
            container=container,
            delta_ml=delta_ml,
            reason=reason,
            by=by,
            witness=witness,
            at=at,
            not_a_loss_confirmed=not_a_loss_confirmed,
        )
    if not reason.strip():
        raise LedgerError("Describe the loss or theft.")
    shortfall = -Decimal(str(delta_ml))
    if shortfall <= 0:
        raise LedgerError("A surplus is not a loss; record an adjustment.")
    return loss_record(
        container=container, volume_ml=shortfall, kind=as_loss, discovered_at=at, description=reason.strip(), by=by
    )


def reversal_refusal(entry: LedgerEntry) -> str | None:
    """Why this entry may not be reversed (``rules.reversal_refusal``), or None."""
    return rules.reversal_refusal(
        kind=Kind(entry.kind),
        moved_balance=entry.delta_ml != 0,
        standing_wastes=LedgerEntry.objects.filter(of_draw=entry, reversed_by__isnull=True).count(),
        session_signed=LedgerEntry.objects.filter(pk=entry.pk, session__signed_at__isnull=False).exists(),
        resolves_count=CountLine.objects.filter(resolution=entry).exists(),
    )


@transaction.atomic
def entry_reverse(*, entry: LedgerEntry, reason: str, by: User, witness: User, at: datetime) -> LedgerEntry:
    """Correct a wrong entry by appending its mirror image, confirmed by a second person; the
    original stays as written. What each kind allows, and why: ``rules.reversal_refusal``."""
    if not reason.strip():
        raise LedgerError("A reversal needs a reason.")
    _second_person(by, witness, what="A reversal")
    locked = _lock(entry.container_id)  # serialises reversals and wastes of the same vial
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise LedgerError("This entry has already been reversed.")
    if refusal := reversal_refusal(entry):
        raise LedgerError(refusal)
    try:
        with transaction.atomic():
            return _append(
                container=locked,
                kind=Kind.REVERSAL,
                quantity_ml=entry.quantity_ml,
                delta_ml=-entry.delta_ml,
                by=by,
                at=at,
                reverses=entry,
                reason=reason.strip(),
                patient=entry.patient,
                witness=witness,
            )
    except IntegrityError as exc:
        raise LedgerError("This entry has already been reversed.") from exc


# --- Counts ---------------------------------------------------------------------------


@transaction.atomic
def count_record(
    *,
    registration: Registration,
    type: str,
    business_time: str,
    counted_at: datetime,
    by: User,
    lines: list[tuple[Container, object, str]],
    notes="",
) -> InventoryCount:
    """Record a physical count of one registration's stock [S116–S118] beside the ledger balance
    of each container at that moment (containers locked in id order). Every container with
    drug on hand at that registration must be counted, and only those."""
    policy = ControlledSubstancePolicy.current()
    counted = {c.pk: (_volume(ml, allow_zero=True), method) for c, ml, method in lines}
    here = Container.objects.filter(registration=registration)
    if elsewhere := counted.keys() - set(here.filter(pk__in=counted).values_list("pk", flat=True)):
        codes = ", ".join(Container.objects.filter(pk__in=elsewhere).values_list("code", flat=True))
        raise LedgerError(f"These containers are not at {registration.location}: {codes}.")
    on_hand = set(here.filter(remaining_ml__gt=0).values_list("pk", flat=True))
    if missing := on_hand - counted.keys():
        codes = ", ".join(Container.objects.filter(pk__in=missing).values_list("code", flat=True))
        raise LedgerError(f"Count every container on hand; missing: {codes}.")
    inventory = InventoryCount.objects.create(
        registration=registration,
        type=type,
        business_time=business_time,
        counted_at=counted_at,
        counted_by=by,
        notes=notes,
    )
    for pk in sorted(counted):
        ml, method = counted[pk]
        container = _lock(pk)
        discrepancy = ml - container.remaining_ml
        discrepancy_mg = rules.mg_for_ml(discrepancy, container.lot.product.concentration_mg_per_ml)
        CountLine.objects.create(
            count=inventory,
            container=container,
            method=method,
            counted_ml=ml,
            ledger_ml=container.remaining_ml,
            discrepancy_mg=discrepancy_mg,
            significant=rules.is_significant(discrepancy_mg, policy.significant_discrepancy_mg),
        )
        _append(
            container=container,
            kind=Kind.COUNT,
            quantity_ml=ml,
            delta_ml=Decimal("0.00"),
            by=by,
            at=counted_at,
            count=inventory,
            reason=f"{method} count; ledger {container.remaining_ml} mL",
        )
    audit.record(
        actor=by,
        action="controlled_substances.count.recorded",
        verb=AuditEvent.Verb.CREATE,
        category=CS,
        target=inventory,
        changes={
            "registration": registration.dea_number,
            "type": type,
            "business_time": business_time,
            "containers": len(counted),
        },
    )
    return inventory


@transaction.atomic
def closeout_discrepancies_open(session, by: User, *, at: datetime | None = None) -> list[CountLine]:
    """Send each closed draw of the session whose drawn mg is not delivered + wasted (within
    the tolerance) to the ledger's discrepancy list: a session close-out count of the draw's
    vial registration with one line per draw (counted = what is accounted for, ledger = what
    was drawn, both as the vial's mL; the mg difference exact), resolved like any count line
    (``count_line_resolve``). Once per draw while its line is unexplained. Registered with
    infusions.signing to run when signing is refused."""

    # Only a session that is otherwise ready to sign has a close-out to account for: an early
    # attempt (still recovering, say) is refused for that reason and must not file a
    # discrepancy that a waste recorded afterwards would have closed.
    status = InfusionSession.objects.filter(pk=session.pk).values_list("status", flat=True).first()
    if status != InfusionSession.Status.DISCHARGED:
        return []
    at = at or timezone.now()
    policy = ControlledSubstancePolicy.current()
    opened = []
    for account in draw_accounts(session):
        if not account.closed or account.problem is None or account.explained:
            continue
        draw = account.entry
        if CountLine.objects.filter(of_draw=draw, explanation="").exists():
            continue
        vial = draw.container
        mg_per_ml = vial.lot.product.concentration_mg_per_ml
        accounted = account.drawn_mg - account.unaccounted_mg
        count = InventoryCount.objects.create(
            registration=vial.registration,
            type=InventoryCount.Type.CLOSE_OUT,
            business_time=InventoryCount.BusinessTime.CLOSE,
            counted_at=at,
            counted_by=by,
            notes=f"Infusion session {draw.session_id}: drawn {account.drawn_mg} mg, delivered "
            f"{account.delivered_mg} mg, wasted {account.wasted_mg} mg",
        )
        discrepancy_mg = accounted - account.drawn_mg
        line = CountLine.objects.create(
            count=count,
            container=vial,
            of_draw=draw,
            method=CountLine.Method.EXACT,
            counted_ml=rules.ml_for_mg(max(accounted, Decimal("0")), mg_per_ml),
            ledger_ml=draw.quantity_ml,
            discrepancy_mg=discrepancy_mg,
            significant=rules.is_significant(discrepancy_mg, policy.significant_discrepancy_mg),
        )
        audit.record(
            actor=by,
            action="controlled_substances.closeout.discrepancy",
            verb=AuditEvent.Verb.CREATE,
            category=CS,
            target=line,
            patient=draw.patient,
            changes={
                "container": vial.code,
                "drawn_mg": account.drawn_mg,
                "delivered_mg": account.delivered_mg,
                "wasted_mg": account.wasted_mg,
                "discrepancy_mg": discrepancy_mg,
            },
        )
        opened.append(line)
    return opened


def _closeout_line_resolve(
    *,
    line: CountLine,
    explanation: str,
    by: User,
    at: datetime,
    witness: User | None,
    as_loss: str,
    not_a_loss_confirmed: bool,
) -> LedgerEntry | None:
    """A close-out line is resolved without touching the vial (the drug left it with the draw):
    a shortfall reported as loss or theft is a loss entry of the draw (opening the DEA notice
    workflow [S119][S120]); otherwise a second person confirms the explanation, and a
    significant shortfall needs both to confirm it is not a loss."""
    draw = line.of_draw
    if draw is None:  # a close-out line is always about a draw
        raise LedgerError("This count line is not about a draw.")
    shortfall_mg = -line.discrepancy_mg
    if as_loss:
        if shortfall_mg <= 0:
            raise LedgerError("More was accounted for than was drawn: that is not a loss; explain it.")
        report = _loss_report_open(kind=as_loss, discovered_at=at, description=explanation, by=by)
        locked = _lock(draw.container_id)
        return _append(
            container=locked,
            kind=Kind.LOSS_THEFT,
            quantity_ml=rules.ml_for_mg(shortfall_mg, locked.lot.product.concentration_mg_per_ml),
            quantity_mg=shortfall_mg,
            delta_ml=Decimal("0.00"),
            by=by,
            at=at,
            of_draw=draw,
            patient=draw.patient,
            loss_report=report,
            reason=explanation,
            **_session_link(draw),
        )
    _second_person(by, witness, what="Explaining a close-out discrepancy")
    return None


@transaction.atomic
def count_line_resolve(
    *,
    line: CountLine,
    explanation: str,
    by: User,
    at: datetime,
    witness: User | None = None,
    as_loss: str = "",
    not_a_loss_confirmed: bool = False,
) -> CountLine:
    """Explain a discrepancy and bring the ledger to the physical count through
    ``correction_record``: an adjustment confirmed by a second person (``witness``), or
    (``as_loss`` = "loss"/"theft") a loss/theft entry that opens the DEA notice workflow. A
    significant shortfall (clinic policy threshold) may only be adjusted when both confirm it
    is not a loss (e.g. a recording error found)."""
    line = CountLine.objects.select_for_update(of=("self",)).select_related("container", "of_draw").get(pk=line.pk)
    if line.discrepancy_ml == 0 and line.discrepancy_mg == 0:
        raise LedgerError("This line has no discrepancy.")
    if line.explanation:
        raise LedgerError("This discrepancy has already been explained.")
    if not explanation.strip():
        raise LedgerError("Explain the discrepancy.")
    if line.significant and not as_loss and not not_a_loss_confirmed:
        raise LedgerError(
            "This shortfall is significant under the clinic's policy: report it as a loss or theft, "
            "or confirm it is not one."
        )
    if line.of_draw_id is not None:
        entry = _closeout_line_resolve(
            line=line,
            explanation=explanation.strip(),
            by=by,
            at=at,
            witness=witness,
            as_loss=as_loss,
            not_a_loss_confirmed=not_a_loss_confirmed,
        )
        if entry is None:
            explanation = f"{explanation.strip()} (confirmed by {witness})"
    else:
        entry = correction_record(
            container=line.container,
            delta_ml=line.discrepancy_ml,
            reason=f"Count {line.count_id}: {explanation.strip()}",
            by=by,
            at=at,
            witness=witness,
            as_loss=as_loss,
            not_a_loss_confirmed=not_a_loss_confirmed,
        )
    line.explanation = explanation.strip()
    line.explained_by = by
    line.explained_at = at
    line.resolution = entry
    line.save(update_fields=["explanation", "explained_by", "explained_at", "resolution"])
    return line


# --- Daily reconciliation (security-reference R10) --------------------------------------


def reconciliation_run(location=None) -> list[str]:
    """Compare every vial's balance row with the sum of its ledger entries (with ``location``, the
    vials held under that site's registration: its nightly run at its close of day); alert the
    administrators (no PHI: vial codes and volumes only) and audit the run. Returns the
    problems found ([] when the ledger reconciles)."""

    mismatches = reconciliation_mismatches(location_id=location.pk if location is not None else None)
    problems = [f"{c.code}: balance {c.remaining_ml} mL, ledger {ledger_ml} mL" for c, ledger_ml in mismatches]
    audit.record(
        actor=None,
        action="controlled_substances.reconciliation.run",
        verb=AuditEvent.Verb.QUERY,
        category=CS,
        changes={"mismatches": problems, **({"location": location.pk} if location is not None else {})},
        outcome=AuditEvent.Outcome.ERROR if problems else AuditEvent.Outcome.ALLOWED,
    )
    if problems:
        alert_administrators(
            subject="Ketamine ledger does not reconcile" + (f" at {location.name}" if location is not None else ""),
            body="These vials' balances differ from their ledger entries:\n" + "\n".join(problems),
        )
    return problems


@transaction.atomic
def rescue_dose_logged(*, dose, by: User, reference: str) -> RescueDoseLog:
    """The keeper of the controlled-substance log confirms a controlled rescue dose given at the
    chair is entered there (``reference``: where). Once only; the dose then leaves the ledger
    home's list."""
    if not by.has_perm(MANAGE):
        raise PermissionDenied

    dose = DrugGiven.objects.select_for_update().select_related("session__patient").get(pk=dose.pk)
    if not dose.controlled:
        raise ValidationError("Only a controlled rescue drug goes in the controlled-substance log.")
    if RescueDoseLog.objects.filter(dose=dose).exists():
        raise ValidationError("This dose is already confirmed as logged.")
    if not reference.strip():
        raise ValidationError({"reference": "Say where it was entered (log, page or entry number)."})
    row = RescueDoseLog.objects.create(
        dose=dose, reference=reference.strip(), recorded_by=by, recorded_at=timezone.now()
    )
    audit.record(
        actor=by,
        action="controlled_substances.rescue_dose.logged",
        verb=AuditEvent.Verb.CREATE,
        category=CS,
        target=row,
        patient=dose.session.patient,
        changes={"drug": str(dose), "reference": row.reference},
    )
    return row
