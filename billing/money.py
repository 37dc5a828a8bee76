"""The clinic's one money value: a ``Decimal`` amount in whole cents with its currency.

Why not django-money: a clinic bills in one currency (its location's), every total is a SUM over
one numeric column in the database (the reports aggregate there), and a value type of forty lines
says exactly how it rounds. django-money adds a currency column beside every amount, its own
form fields and exchange machinery that a cash-pay clinic never uses.

Rounding: amounts are held to the cent, half up (``ROUND_HALF_UP``), the way a receipt is
rounded; a product (units × unit price) is rounded once, at the end; a split (a pro-rata refund)
hands the cents left over to the first parts so the parts always add up to the whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
SYMBOLS = {"USD": "$", "CAD": "CA$", "EUR": "€", "GBP": "£", "AUD": "A$"}


def to_cents(value: Decimal | int | str) -> Decimal:
    """``value`` rounded half up to the cent (raises ``ValueError`` for what is not a finite number)."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an amount") from exc
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = "USD"

    def __post_init__(self) -> None:
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code")
        object.__setattr__(self, "amount", to_cents(self.amount))

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise TypeError(f"cannot combine {self!r} with {other!r}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(self.amount * Decimal(factor), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __bool__(self) -> bool:
        return self.amount != 0

    def split(self, weights: list[int]) -> list[Money]:
        """Parts in proportion to ``weights`` that add up to exactly this amount (the cents left
        by rounding down go to the first parts)."""
        total = sum(weights)
        if total <= 0 or any(w < 0 for w in weights):
            raise ValueError("weights must be non-negative with a positive sum")
        cents = int(self.amount / CENT)
        parts = [(cents * w) // total for w in weights]
        for i in range(cents - sum(parts)):
            parts[i % len(parts)] += 1
        return [Money(Decimal(p) * CENT, self.currency) for p in parts]

    def __str__(self) -> str:
        sign = "-" if self.amount < 0 else ""
        digits = f"{abs(self.amount):,.2f}"
        symbol = SYMBOLS.get(self.currency)
        return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {self.currency}"


def pro_rata(amount: Decimal, *, part: int, whole: int) -> Decimal:
    """``amount × part / whole`` to the cent, rounded down (a refund never exceeds its share)."""
    if whole <= 0 or not 0 <= part <= whole:
        raise ValueError("part must be between 0 and whole")
    return (amount * part / whole).quantize(CENT, rounding=ROUND_DOWN)
