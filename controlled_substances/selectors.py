"""Reads for the ledger pages and reports; each owns its query shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from controlled_substances import rules
from controlled_substances.models import (
    Container,
    ControlledSubstancePolicy,
    CountLine,
    InventoryCount,
    LedgerEntry,
    Lot,
    Product,
    Registration,
)
from controlled_substances.rules import Kind
from infusions.models import DrugGiven
from infusions.selectors.sessions import current_dose

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _Dates(TypedDict):
    last_inventory_at: datetime | None
    first_activity_at: datetime | None


class _LotBalance(TypedDict):
    containers_n: int
    remaining_ml: Decimal | None


class _CountProgress(TypedDict):
    lines_n: int
    open_n: int


class _DrawAccount(TypedDict):
    closed_by_waste: bool
    accounted_mg: Decimal
    explained: bool


ZERO = Decimal("0.00")


def registrations() -> QuerySet[WithAnnotations[Registration, _Dates]]:
    """Every registration with the date of its last initial or biennial inventory and of its
    first stock (its first day of activity), for the biennial due date."""
    inventories = InventoryCount.objects.filter(
        registration=OuterRef("pk"), type__in=[InventoryCount.Type.INITIAL, InventoryCount.Type.BIENNIAL]
    )
    first_stock = Container.objects.filter(registration=OuterRef("pk"))
    return (
        Registration.objects.select_related("location")
        .annotate(
            last_inventory_at=Subquery(inventories.values("registration").annotate(at=Max("counted_at")).values("at")),
            first_activity_at=Subquery(first_stock.values("registration").annotate(at=Min("received_at")).values("at")),
        )
        .order_by("location__name")
    )


@dataclass
class RegistrationStatus:
    registration: Registration
    inventory_due_on: date | None
    reminders: list[str]


def registration_statuses(*, today: date) -> list[RegistrationStatus]:
    """Each registration with its next inventory due date and what needs doing soon."""
    out = []
    for r in registrations():
        last = timezone.localdate(r.last_inventory_at) if r.last_inventory_at else None
        first = timezone.localdate(r.first_activity_at) if r.first_activity_at else None
        due = rules.biennial_inventory_due(last_inventory_on=last, first_activity_on=first)
        reminders = rules.registration_reminders(
            dea_number=r.dea_number,
            expires_on=r.expires_on,
            inventory_due_on=due,
            inventory_taken=last is not None,
            today=today,
        )
        out.append(RegistrationStatus(registration=r, inventory_due_on=due, reminders=reminders))
    return out


def containers_on_hand(*, registration: Registration | None = None) -> QuerySet[Container]:
    """Vials with drug left: at one registration, or (``None``) at all of them."""
    qs = Container.objects.filter(remaining_ml__gt=0).select_related(
        "lot__product", "lot__supplier", "registration__location"
    )
    return qs if registration is None else qs.filter(registration=registration)


def containers_for_draw(*, on: date, location_id: int | None = None) -> QuerySet[Container]:
    """Unexpired vials with drug left, opened ones first (use them up before opening another);
    with ``location_id``, only the vials held under that location's registration."""
    qs = containers_on_hand()
    if location_id is not None:
        qs = qs.filter(registration__location_id=location_id)
    return qs.filter(lot__expiry_date__gte=on).order_by(F("opened_at").asc(nulls_last=True), "lot__expiry_date", "code")


def balances_by_container(*, registration: Registration) -> QuerySet[Container]:
    return (
        Container.objects.filter(registration=registration)
        .select_related("lot__product", "lot__supplier")
        .order_by("lot__product__name", "lot__expiry_date", "code")
    )


def balances_by_lot(*, registration: Registration) -> QuerySet[WithAnnotations[Lot, _LotBalance]]:
    here = Q(containers__registration=registration)
    return (
        Lot.objects.filter(pk__in=Container.objects.filter(registration=registration).values("lot"))
        .select_related("product", "supplier")
        .annotate(
            containers_n=Count("containers", filter=here), remaining_ml=Sum("containers__remaining_ml", filter=here)
        )
        .order_by("product__name", "expiry_date")
    )


def balances_by_product(*, registration: Registration | None = None, registrations=None) -> list[dict]:
    """Drug on hand per product: at one registration, at the ids in ``registrations``, or (both
    ``None``) at all of them."""
    here = Q() if registration is None else Q(lots__containers__registration=registration)
    if registrations is not None:
        here &= Q(lots__containers__registration_id__in=registrations)
    rows = Product.objects.annotate(
        containers_n=Count("lots__containers", filter=Q(lots__containers__remaining_ml__gt=0) & here),
        remaining_ml=Sum("lots__containers__remaining_ml", filter=here),
    ).order_by("name")
    return [
        {
            "product": p,
            "containers": p.containers_n,
            "remaining_ml": p.remaining_ml or ZERO,
            "remaining_mg": rules.mg_for_ml(p.remaining_ml or ZERO, p.concentration_mg_per_ml),
        }
        for p in rows
    ]


def container_ledger(container: Container) -> QuerySet[LedgerEntry]:
    return container.entries.select_related(
        "actor", "witness", "second_witness", "patient", "reversed_by", "loss_report", "reverses"
    ).order_by("seq")


def reconciliation_mismatches(*, location_id: int | None = None) -> list[tuple[Container, Decimal]]:
    """Containers whose balance row differs from the sum of their ledger deltas (should be none;
    the daily reconciliation of security-reference R10); with ``location_id``, that site's vials."""
    held = (
        Container.objects.all()
        if location_id is None
        else Container.objects.filter(registration__location_id=location_id)
    )
    rows = (
        held.select_related("lot__product")
        .annotate(ledger_ml=Coalesce(Sum("entries__delta_ml"), ZERO, output_field=DecimalField()))
        .exclude(ledger_ml=F("remaining_ml"))
    )
    return [(c, c.ledger_ml) for c in rows]


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


@dataclass
class DispensingRow:
    entry: LedgerEntry
    wasted_ml: Decimal
    wasted_mg: Decimal
    waste_witnesses: str
    # What the pump delivered, as the infusion session recorded it (None: no session, or not ended).
    delivered_mg: Decimal | None = None

    @property
    def given_mg(self) -> Decimal:
        return self.entry.quantity_mg - self.wasted_mg

    @property
    def given_ml(self) -> Decimal:
        return self.entry.quantity_ml - self.wasted_ml


# A log row needs only these columns (whole patient rows parse three phone numbers each).
_ENTRY_FIELDS = (
    "id",
    "kind",
    "occurred_at",
    "quantity_ml",
    "quantity_mg",
    "container_id",
    "patient_id",
    "actor_id",
    "session_id",
)
_PATIENT_FIELDS = tuple(
    f"patient__{f}"
    for f in ("legal_first_name", "legal_last_name", "preferred_name", "address_line1", "address_line2", "city")
) + ("patient__state", "patient__postal_code")
_ACTOR_FIELDS = (
    "actor__username",
    "actor__first_name",
    "actor__last_name",
    "actor__display_name",
    "actor__credentials",
)
_PRODUCT_FIELDS = (
    "container__lot__id",
    "container__lot__product__name",
    "container__lot__product__form",
    "container__lot__product__concentration_mg_per_ml",
)


def dispensing_log(*, registration: Registration, start: date, end: date) -> list[DispensingRow]:
    """Administrations under one registration in the period with the 21 CFR 1304.22(c) content
    [S115]: drug, finished form and strength, container; patient name and address; date;
    quantity; who administered."""
    lo, hi = period_bounds(start, end)
    entries = (
        LedgerEntry.objects.filter(
            container__registration=registration, kind=Kind.ADMINISTRATION, occurred_at__gte=lo, occurred_at__lt=hi
        )
        .select_related("container__lot__product", "patient", "actor", "reversed_by", "session")
        .only(
            *_ENTRY_FIELDS,
            *_PATIENT_FIELDS,
            *_ACTOR_FIELDS,
            "reversed_by__id",
            "container__code",
            *_PRODUCT_FIELDS,
            "session__id",
            "session__delivered_mg",
        )
        .prefetch_related("wastes__witness", "wastes__reversed_by")
        .order_by("occurred_at", "pk")
    )
    rows = []
    for entry in entries:
        wastes = [w for w in entry.wastes.all() if not w.is_reversed and w.kind == Kind.WASTE]
        rows.append(
            DispensingRow(
                entry=entry,
                wasted_ml=sum((w.quantity_ml for w in wastes), ZERO),
                wasted_mg=sum((w.quantity_mg for w in wastes), ZERO),
                waste_witnesses=", ".join(str(w.witness) for w in wastes if w.witness_id),
                delivered_mg=entry.session.delivered_mg if entry.session is not None else None,
            )
        )
    return rows


def waste_log(*, registration: Registration, start: date, end: date) -> QuerySet[LedgerEntry]:
    lo, hi = period_bounds(start, end)
    return (
        LedgerEntry.objects.filter(
            container__registration=registration,
            kind__in=[Kind.WASTE, Kind.DESTRUCTION],
            occurred_at__gte=lo,
            occurred_at__lt=hi,
        )
        .select_related("container__lot__product", "patient", "actor", "witness", "second_witness", "reversed_by")
        .order_by("occurred_at", "pk")
    )


def discrepancies(*, registration: Registration) -> QuerySet[CountLine]:
    return (
        CountLine.objects.filter(count__registration=registration)
        .exclude(discrepancy_ml=0, discrepancy_mg=0)
        .select_related("count", "container__lot__product", "explained_by", "resolution__loss_report")
        .order_by("-count__counted_at", "container__code")
    )


def counts() -> QuerySet[WithAnnotations[InventoryCount, _CountProgress]]:
    return InventoryCount.objects.select_related("counted_by", "registration__location").annotate(
        lines_n=Count("lines"),
        open_n=Count(
            "lines",
            filter=~Q(lines__discrepancy_ml=0, lines__discrepancy_mg=0) & Q(lines__explanation=""),
        ),
    )


def count_detail(count_id: int) -> InventoryCount | None:
    return InventoryCount.objects.select_related("counted_by", "registration__location").filter(pk=count_id).first()


def session_entries(session) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(session=session)
        .select_related("container__lot__product", "actor", "witness", "reversed_by", "of_draw", "dose_calculation")
        .prefetch_related("wastes__reversed_by")
        .order_by("occurred_at", "pk")
    )


def session_draws(session) -> list[tuple[LedgerEntry, bool, Decimal]]:
    """Each standing draw for a session: (entry, closed by a standing waste, mg wasted)."""
    out = []
    for entry in session_entries(session).filter(kind=Kind.ADMINISTRATION):
        if entry.is_reversed:
            continue
        wastes = [w for w in entry.wastes.all() if not w.is_reversed and w.kind == Kind.WASTE]
        out.append((entry, bool(wastes), sum((w.quantity_mg for w in wastes), ZERO)))
    return out


@dataclass
class DrawAccount:
    """One standing draw at close-out: drawn = delivered + wasted (+ reported lost) within the
    tolerance, or a discrepancy (``problem``) that blocks signing until corrected or explained."""

    entry: LedgerEntry
    closed: bool
    drawn_mg: Decimal
    delivered_mg: Decimal
    wasted_mg: Decimal
    lost_mg: Decimal
    tolerance_mg: Decimal
    problem: str | None
    explained: bool  # an explained close-out line on the ledger's discrepancy list covers it

    @property
    def unaccounted_mg(self) -> Decimal:
        return rules.closeout_difference(
            drawn_mg=self.drawn_mg, delivered_mg=self.delivered_mg, wasted_mg=self.wasted_mg, lost_mg=self.lost_mg
        )

    @property
    def balanced(self) -> bool:
        return self.closed and (self.problem is None or self.explained)


def draw_accounts(session) -> list[DrawAccount]:
    """Every standing draw of the session with what became of it (delivered by the pump, as
    the session recorded it; wasted; reported lost)."""
    delivered = getattr(session, "delivered_mg", None)
    # A session that started but ended before delivery was recorded (none is, since) has no
    # delivered figure to check against: its draws are held to being closed by a waste only.
    known = delivered is not None or getattr(session, "started_at", None) is None
    delivered = delivered or ZERO
    percent = ControlledSubstancePolicy.current().draw_tolerance_percent
    out = []
    entries = [e for e in session_entries(session).filter(kind=Kind.ADMINISTRATION) if not e.is_reversed]
    explained = set(
        CountLine.objects.filter(of_draw__in=entries).exclude(explanation="").values_list("of_draw_id", flat=True)
    )
    for entry in entries:
        standing = [w for w in entry.wastes.all() if not w.is_reversed]
        wasted = sum((w.quantity_mg for w in standing if w.kind == Kind.WASTE), ZERO)
        lost = sum((w.quantity_mg for w in standing if w.kind == Kind.LOSS_THEFT), ZERO)
        tolerance = rules.closeout_tolerance_mg(
            drawn_mg=entry.quantity_mg,
            mg_per_ml=entry.container.lot.product.concentration_mg_per_ml,
            percent=percent,
            dose_mg=entry.dose_calculation.dose_mg if entry.dose_calculation is not None else None,
        )
        closed = any(w.kind == Kind.WASTE for w in standing)
        problem = (
            rules.closeout_problem(
                drawn_mg=entry.quantity_mg,
                delivered_mg=delivered,
                wasted_mg=wasted,
                lost_mg=lost,
                tolerance_mg=tolerance,
            )
            if known
            else None
        )
        out.append(
            DrawAccount(
                entry=entry,
                closed=closed,
                drawn_mg=entry.quantity_mg,
                delivered_mg=delivered,
                wasted_mg=wasted,
                lost_mg=lost,
                tolerance_mg=tolerance,
                problem=problem,
                explained=entry.pk in explained,
            )
        )
    return out


def ledger_in_use() -> bool:
    return Product.objects.exists()


def session_sign_problems(session) -> list[str]:
    """Registered with infusions.signing: a session cannot be signed with unaccounted drug.

    Every standing draw must be closed by a waste entry (0 mL if nothing was left), and its
    drawn mg must equal what the pump delivered + what was wasted (+ reported lost) within
    the close-out tolerance, unless the discrepancy is explained on the ledger's discrepancy
    list. A session that was started must have a draw once the clinic keeps its ketamine in
    this ledger (a product is on file); before that nothing could be drawn here, so signing
    is not blocked."""
    accounts = draw_accounts(session)
    draws = [(a.drawn_mg, a.closed) for a in accounts]
    if not draws and (getattr(session, "started_at", None) is None or not ledger_in_use()):
        return []
    problems = rules.unaccounted_problems(draws)
    problems += [a.problem for a in accounts if a.closed and a.problem and not a.explained]
    return problems


def session_start_problems(session) -> list[str]:
    """Registered with infusions.signing as a start check: the infusion starts only on the
    one standing draw of the verified dose in force. Before the clinic keeps its ketamine in
    this ledger (no product on file) nothing can be drawn here, so the start is not blocked."""

    if not ledger_in_use():
        return []
    draws = [entry for entry, _, _ in session_draws(session)]
    if not draws:
        return ["No draw of the verified dose is recorded in the ketamine ledger"]
    if len(draws) > 1:
        return [f"{len(draws)} draws stand for this session: reverse all but one"]
    draw, dose = draws[0], current_dose(session)
    if dose is None or not dose.is_verified:
        return []  # the gate's own "dose not verified" says it
    if draw.dose_calculation_id != dose.pk:
        return ["The draw was checked against an earlier calculation: reverse it and draw the dose in force"]
    problems = rules.draw_problems(
        volume=draw.quantity_ml,
        container_mg_per_ml=draw.container.lot.product.concentration_mg_per_ml,
        dose_mg=dose.dose_mg,
        dose_mg_per_ml=dose.vial_mg_per_ml,
        percent=ControlledSubstancePolicy.current().draw_tolerance_percent,
    )
    return [f"The drawn amount does not match the verified dose: {message}" for message in problems.values()]


# Statuses in which drawn drug is about to be, or being, given; in any other the draw must be closed.
_GIVING = ("pre_check", "cleared", "infusing", "paused")


def _open_draws(today: date, **narrow: Any) -> QuerySet[WithAnnotations[LedgerEntry, _DrawAccount]] | None:
    """Standing session draws whose drug is no longer being given, narrowed by ``narrow`` (lookups
    on the draw), each annotated with whether a waste closes it and the mg wasted or reported lost
    (see :func:`_still_open`); None when every session draw is certainly closed out.

    The draws without a DrawCloseOut row are found first, on their own: an anti-join of two indexes
    that plans and runs in about a millisecond however many years of closed draws the ledger holds,
    and usually finds none, and then nothing more is read. Only then the draws are judged, by key:
    that query's joins and subqueries alone take the planner far longer than the anti-join runs,
    and, when the key is not known in advance, its plan hangs on the tables' statistics (a year of
    a site's appointments read to find no draw)."""
    keys = list(_draws_not_closed_out())
    if not keys:
        return None
    start, _ = period_bounds(today, today)
    standing = LedgerEntry.objects.filter(
        of_draw=OuterRef("pk"), kind__in=[Kind.WASTE, Kind.LOSS_THEFT], reversed_by__isnull=True
    )
    return (
        LedgerEntry.objects.filter(pk__in=keys, reversed_by__isnull=True)
        .filter(
            ~Q(session__status__in=_GIVING)
            | Q(session__appointment__status__in=("cancelled", "no_show", "entered_in_error"))
            | Q(occurred_at__lt=start)
        )
        .exclude(session__status="signed")
        .filter(**narrow)
        .annotate(
            closed_by_waste=Exists(standing.filter(kind=Kind.WASTE)),
            accounted_mg=Coalesce(
                Subquery(standing.values("of_draw").annotate(mg=Sum("quantity_mg")).values("mg")),
                ZERO,
                output_field=DecimalField(),
            ),
            explained=Exists(CountLine.objects.filter(of_draw=OuterRef("pk")).exclude(explanation="")),
        )
    )


def _draws_not_closed_out() -> QuerySet[LedgerEntry, int]:
    """The keys of the session draws without a DrawCloseOut row (which the database keeps in the
    transaction that certainly closes a draw out)."""
    return (
        LedgerEntry.objects.filter(kind=Kind.ADMINISTRATION, session__isnull=False, closeout__isnull=True)
        .order_by()  # not the ledger's order: two more joins and a sort
        .values_list("pk", flat=True)
    )


def _still_open(entries: list[WithAnnotations[LedgerEntry, _DrawAccount]]) -> list[LedgerEntry]:
    """Open: no waste closes the draw, or one does but drawn ≠ delivered + wasted (+ lost)
    within the close-out tolerance and no explanation is on the discrepancy list (a deferred
    session's "0 mL wasted" of a full syringe is not a close-out). A started session whose
    delivery was never recorded is held to the closing waste only."""
    # One read of the policy whatever the number of draws (none when there are none).
    if not entries:
        return []
    policy = ControlledSubstancePolicy.current()
    out: list[LedgerEntry] = []
    for e in entries:
        if not e.closed_by_waste:
            out.append(e)
            continue
        session = e.session
        if session is None:  # never: only session draws are read here
            continue
        if e.explained or (session.delivered_mg is None and session.started_at is not None):
            continue
        problem = rules.closeout_problem(
            drawn_mg=e.quantity_mg,
            delivered_mg=session.delivered_mg or ZERO,
            wasted_mg=e.accounted_mg,
            lost_mg=ZERO,
            tolerance_mg=rules.closeout_tolerance_mg(
                drawn_mg=e.quantity_mg,
                mg_per_ml=e.container.lot.product.concentration_mg_per_ml,
                percent=policy.draw_tolerance_percent,
                dose_mg=e.dose_calculation.dose_mg if e.dose_calculation is not None else None,
            ),
        )
        if problem:
            out.append(e)
    return out


_OPEN_RELATED = ("container__lot__product", "session", "dose_calculation")


def open_session_draws(*, today: date) -> list[LedgerEntry]:
    """Standing draws whose drug is no longer being given (the session was deferred, stopped,
    completed or its appointment cancelled, or the draw is from an earlier day) and that are
    not closed out: no waste yet, or the waste does not account for the drawn mg. They stay
    listed (ledger home, chair board) until closed out. One query when every draw is certainly
    closed out; two, and one for the policy's tolerance when any is open, otherwise."""
    draws = _open_draws(today)
    if draws is None:
        return []
    return _still_open(list(draws.select_related(*_OPEN_RELATED, "patient", "actor").order_by("occurred_at", "pk")))


def open_draw_chairs(location_id: int, start: datetime, end: datetime, *, today: date) -> set[int]:
    """The chairs of a location whose sessions booked in [start, end) hold an open draw (the
    chair board's badge), in one query when every draw is certainly closed out (two, and one
    for the policy's tolerance when any is open, otherwise). Registered with infusions.signing,
    so the board need not import the ledger."""
    draws = _open_draws(
        today,
        session__appointment__location_id=location_id,
        session__appointment__start__gte=start,
        session__appointment__start__lt=end,
        session__appointment__resource_id__isnull=False,
    )
    if draws is None:
        return set()
    entries = draws.select_related(*_OPEN_RELATED, "session__appointment").order_by()
    return {
        e.session.appointment.resource_id
        for e in _still_open(list(entries))
        if e.session is not None and e.session.appointment.resource_id is not None  # both filtered for above
    }


RESCUE_DOSE_LIST_MAX = 50


def controlled_rescue_doses(*, locations: frozenset[int] | None = None) -> tuple[list, int]:
    """Controlled rescue drugs (e.g. midazolam) given at the chair and not yet confirmed as
    entered in the controlled-substance log. The chair records the dose, who gave it and when,
    but not the vial it came from, so no ledger entry is made for it (an entry without its vial
    would put the balances out of step with the shelf): the keeper of the log enters it and
    confirms it here. Oldest first, at most 50, with the total."""

    doses = DrugGiven.objects.filter(controlled=True, ledger_log__isnull=True)
    if locations is not None:  # given at these locations' chairs only
        doses = doses.filter(session__appointment__location_id__in=locations)
    total = doses.count()
    rows = list(doses.select_related("session__patient", "given_by").order_by("given_at", "pk")[:RESCUE_DOSE_LIST_MAX])
    return rows, total


def report_size(key: str, *, registration: Registration | None, start: date, end: date, cap: int | None) -> int:
    """About how many rows a ledger report reads (what decides whether its CSV is written by the
    documents worker), counting no further than ``cap`` (``None``: exactly). One statement."""
    if key == "balances":
        queryset: QuerySet = Container.objects.filter(registration=registration)
    elif key == "discrepancies":
        queryset = CountLine.objects.filter(count__registration=registration).exclude(
            discrepancy_ml=0, discrepancy_mg=0
        )
    else:
        lo, hi = period_bounds(start, end)
        kinds = [Kind.ADMINISTRATION] if key == "dispensing" else [Kind.WASTE, Kind.DESTRUCTION]
        queryset = LedgerEntry.objects.filter(
            container__registration=registration, kind__in=kinds, occurred_at__gte=lo, occurred_at__lt=hi
        )
    queryset = queryset.order_by()
    return queryset.count() if cap is None else queryset[: cap + 1].count()
