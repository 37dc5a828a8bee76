"""What the pump actually delivered, and what is left in the bag.

Delivery is recorded, not assumed: from the start, the flowsheet's rate changes, the pauses
and the end (completion or stop), the volume the pump ran is the sum of rate × time over
each stretch (a pause runs at 0 mL/h; nothing runs after the end), never more than the bag
holds. The milligrams are that volume at the bag's final concentration, the drug in the bag
÷ the bag's total volume (not the vial's: the vial's concentration is for what is left in a
syringe). Rounding: volume 0.01 mL, milligrams 0.01 mg, half-up, once each at the end.

    >>> from datetime import datetime, timedelta, timezone
    >>> t0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    >>> d = delivered(started_at=t0, ended_at=t0 + timedelta(minutes=40), initial_rate_ml_per_h=Decimal("150"),
    ...     rate_changes=(), pauses=(), bag_mg=Decimal("40.0"), bag_volume_ml=Decimal("100.00"))
    >>> (d.volume_ml, d.mg, d.left_ml, d.left_mg)
    (Decimal('100.00'), Decimal('40.00'), Decimal('0.00'), Decimal('0.00'))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Final

from infusions.rules._common import _CONTEXT, ROUNDING, RuleInputError, _f, _require_decimal, _require_positive

ML_QUANTUM: Final = Decimal("0.01")
MG_QUANTUM: Final = Decimal("0.01")
_SECONDS_PER_H: Final = Decimal(3600)


class DeliveryError(RuleInputError):
    """Times or rates from which no delivery can be computed."""


@dataclass(frozen=True, slots=True)
class Stretch:
    """One stretch of constant rate: from, to, mL/h (0 while paused)."""

    start: datetime
    end: datetime
    rate_ml_per_h: Decimal


@dataclass(frozen=True, slots=True)
class Delivery:
    volume_ml: Decimal  # what the pump ran into the patient, 0.01 mL
    mg: Decimal  # that volume at the bag's final concentration, 0.01 mg
    left_ml: Decimal  # what the bag still holds
    left_mg: Decimal  # bag_mg − mg (so delivered + left is the bag to the 0.01 mg)
    stretches: tuple[Stretch, ...]
    bag_emptied: bool  # the pump ran the whole bag before the end


def _aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise DeliveryError(field, f"must be a timezone-aware datetime, got {value!r}")
    return value


def bag_mg_for_ml(*, volume_ml: Decimal, bag_mg: Decimal, bag_volume_ml: Decimal) -> Decimal:
    """Milligrams in ``volume_ml`` of the bag: volume × (drug mg ÷ total bag volume), 0.01 mg."""
    volume = _require_decimal(DeliveryError, "volume_ml", volume_ml, "mL")
    drug = _require_decimal(DeliveryError, "bag_mg", bag_mg, "mg")
    total = _require_positive(DeliveryError, "bag_volume_ml", bag_volume_ml, "mL")
    if volume < 0 or drug < 0:
        raise DeliveryError("volume_ml", "cannot be negative")
    with localcontext(_CONTEXT):
        return (volume * drug / total).quantize(MG_QUANTUM, rounding=ROUNDING)


def delivered(
    *,
    started_at: datetime,
    ended_at: datetime,
    initial_rate_ml_per_h: Decimal,
    rate_changes: Iterable[tuple[datetime, Decimal]],
    pauses: Iterable[tuple[datetime, datetime | None]],
    bag_mg: Decimal,
    bag_volume_ml: Decimal,
) -> Delivery:
    """The delivery from ``started_at`` to ``ended_at``.

    ``rate_changes``: (when, new mL/h) as charted on the flowsheet; a change before the start
    is refused, one after the end is ignored (it never ran). ``pauses``: (paused at, resumed at
    or None = still paused at the end); the pump runs at 0 mL/h in between. The bag cannot give
    more than it holds: once ``bag_volume_ml`` has run, delivery stops."""
    start = _aware("started_at", started_at)
    end = _aware("ended_at", ended_at)
    if end < start:
        raise DeliveryError("ended_at", "the infusion cannot end before it started")
    rate = _require_decimal(DeliveryError, "initial_rate_ml_per_h", initial_rate_ml_per_h, "mL/h")
    if rate < 0:
        raise DeliveryError("initial_rate_ml_per_h", f"cannot be negative, got {_f(rate)}")
    drug = _require_decimal(DeliveryError, "bag_mg", bag_mg, "mg")
    if drug < 0:
        raise DeliveryError("bag_mg", f"cannot be negative, got {_f(drug)}")
    total = _require_positive(DeliveryError, "bag_volume_ml", bag_volume_ml, "mL")

    changes = []
    for at, new_rate in rate_changes:
        at = _aware("rate_changes", at)
        new_rate = _require_decimal(DeliveryError, "rate_changes", new_rate, "mL/h")
        if new_rate < 0:
            raise DeliveryError("rate_changes", f"a rate cannot be negative, got {_f(new_rate)}")
        if at < start:
            raise DeliveryError("rate_changes", "a rate change cannot come before the start")
        changes.append((at, new_rate))
    changes.sort(key=lambda c: c[0])
    held = []
    for paused_at, resumed_at in pauses:
        paused_at = _aware("pauses", paused_at)
        resumed = end if resumed_at is None else _aware("pauses", resumed_at)
        if paused_at < start or resumed < paused_at:
            raise DeliveryError("pauses", "a pause must fall after the start and end after it began")
        held.append((paused_at, min(resumed, end)))

    # Every moment something changes, inside [start, end].
    cuts = sorted({start, end, *(at for at, _ in changes if at < end), *(t for p in held for t in p if t <= end)})
    stretches = []
    volume = Decimal(0)
    bag_emptied = False
    with localcontext(_CONTEXT):
        for left, right in zip(cuts, cuts[1:], strict=False):
            if right <= left:
                continue
            current = rate
            for at, new_rate in changes:
                if at <= left:
                    current = new_rate
            if any(p <= left and right <= r for p, r in held):
                current = Decimal(0)
            stretches.append(Stretch(left, right, current))
            volume += current * Decimal((right - left).total_seconds()) / _SECONDS_PER_H
        if volume >= total:
            volume, bag_emptied = total, True
        volume_ml = volume.quantize(ML_QUANTUM, rounding=ROUNDING)
        mg = (volume * drug / total).quantize(MG_QUANTUM, rounding=ROUNDING)
        mg = min(mg, drug.quantize(MG_QUANTUM, rounding=ROUNDING))
        return Delivery(
            volume_ml=volume_ml,
            mg=mg,
            left_ml=(total - volume_ml).quantize(ML_QUANTUM, rounding=ROUNDING),
            left_mg=drug.quantize(MG_QUANTUM, rounding=ROUNDING) - mg,
            stretches=tuple(stretches),
            bag_emptied=bag_emptied,
        )


def bag_minutes_left(delivery: Delivery) -> Decimal | None:
    """How long the pump still needs, at its rate at the end, to run what is left in the bag
    (None when it is stopped or paused at the end, so no time can be said)."""
    if delivery.bag_emptied or delivery.left_ml <= 0:
        return Decimal(0)
    rate = delivery.stretches[-1].rate_ml_per_h if delivery.stretches else Decimal(0)
    if rate <= 0:
        return None
    with localcontext(_CONTEXT):
        return delivery.left_ml * 60 / rate


def planned_dose_delivered(delivery: Delivery) -> bool:
    """Whether the pump has run the planned dose: the bag has run out, or what is left takes
    the pump under a minute more. The minute is the record's precision (times are charted to
    the minute, and the rate is rounded to the pump's step, which can leave a few hundredths
    of a mL at the planned end), not a clinical allowance."""
    left = bag_minutes_left(delivery)
    return left is not None and left < 1
