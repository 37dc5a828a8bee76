"""Payment providers: one small interface, chosen by ``PAYMENT_BACKEND`` like ``EMAIL_BACKEND``.

The default, :class:`ManualBackend`, takes no card itself: the desk records cash, cheques and the
card terminal's receipts as before. :class:`StripeBackend` speaks the Stripe API (or any server
that speaks its subset: PaymentIntents, refunds, signed webhooks) through the ``stripe`` library,
pointed at ``STRIPE_API_BASE``.

A call either answers (an :class:`Intent` or a :class:`Refund`), refuses for good
(:class:`ProviderDeclined`: the card was declined, the request was invalid) or leaves the outcome
unknown (:class:`ProviderUnavailable`: a timeout, a dropped connection, a 5xx or 429). An unknown
outcome is never a failure: the payment stays pending and is asked about again with the same
idempotency key, which the provider answers with the first result instead of charging twice.

Card numbers never pass through here: the card is read by the provider's terminal or page, and the
provider's ids (``pi_…``, ``re_…``, ``pm_…``), the brand and the last four digits are all we keep.
Nothing here logs a request or an answer (they may carry amounts next to our payment ids).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class ProviderError(Exception):
    """The message says what failed, never who paid or what for."""


class ProviderUnavailable(ProviderError):
    """The outcome is unknown (timeout, connection, 5xx, 429): ask again later, never charge anew."""


class ProviderDeclined(ProviderError):
    """The provider refused for good (a declined card, an invalid request)."""


class WebhookRejected(ProviderError):
    """A webhook whose signature, timestamp or body does not verify."""


# The provider's id of a card it read (never the card itself).
PROVIDER_METHOD = r"^(pm|tok|card)_[A-Za-z0-9_]{1,76}$"

# What a settled intent or refund means here.
SUCCEEDED, FAILED, PENDING = "succeeded", "failed", "pending"


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # the provider's own word
    amount_cents: int
    currency: str
    card_brand: str = ""
    card_last4: str = ""
    has_error: bool = False
    # Our payment's id, from the metadata we sent: finds the payment when the create call timed out.
    ours: str = ""

    @property
    def outcome(self) -> str:
        """Stripe's lifecycle reduced to ours: ``requires_payment_method`` is a failure only after an
        attempt failed (before that, the intent waits for the card)."""
        if self.status == "succeeded":
            return SUCCEEDED
        if self.status == "canceled" or (self.status == "requires_payment_method" and self.has_error):
            return FAILED
        return PENDING

    @property
    def needs_capture(self) -> bool:
        return self.status == "requires_capture"


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    amount_cents: int
    intent_id: str = ""
    ours: str = ""

    @property
    def outcome(self) -> str:
        if self.status == "succeeded":
            return SUCCEEDED
        if self.status in ("failed", "canceled"):
            return FAILED
        return PENDING


@dataclass(frozen=True)
class Event:
    """A verified webhook: its id (each is applied once), its type and the intent or refund it is about."""

    id: str
    type: str
    intent: Intent | None = None
    refund: Refund | None = None


class PaymentProvider(Protocol):
    name: str
    takes_cards: bool  # False: the desk records what its own terminal took

    def create_intent(
        self, *, amount: Decimal, currency: str, idempotency_key: str, payment_method: str, metadata: dict[str, str]
    ) -> Intent: ...

    def retrieve_intent(self, intent_id: str) -> Intent: ...

    def capture_intent(self, intent_id: str, *, idempotency_key: str) -> Intent: ...

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent: ...

    def create_refund(
        self, *, intent_id: str, amount: Decimal, idempotency_key: str, metadata: dict[str, str]
    ) -> Refund: ...

    def retrieve_refund(self, refund_id: str) -> Refund: ...

    def verify_event(self, payload: bytes, signature: str) -> Event: ...


def to_minor_units(amount: Decimal) -> int:
    """Cents for the two-decimal currencies a location may use (``billing.money`` holds amounts to the cent)."""
    return int((amount * 100).to_integral_value())


def from_minor_units(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


class ManualBackend:
    """No provider: card payments are taken on the clinic's own terminal and recorded by the desk."""

    name = "manual"
    takes_cards = False

    def _none(self) -> ProviderDeclined:
        return ProviderDeclined("No payment provider is configured (PAYMENT_BACKEND is the manual one).")

    def create_intent(self, **kwargs: Any) -> Intent:
        raise self._none()

    def retrieve_intent(self, intent_id: str) -> Intent:
        raise self._none()

    def capture_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        raise self._none()

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        raise self._none()

    def create_refund(self, **kwargs: Any) -> Refund:
        raise self._none()

    def retrieve_refund(self, refund_id: str) -> Refund:
        raise self._none()

    def verify_event(self, payload: bytes, signature: str) -> Event:
        raise WebhookRejected("No payment provider is configured, so no webhook is accepted.")


def _env(name: str, default: str = "") -> str:
    return str(getattr(settings, name, "") or os.environ.get(name, default))


class StripeBackend:
    """The Stripe API through the ``stripe`` library (its client, idempotency keys and webhook
    signature check), at ``STRIPE_API_BASE`` with ``STRIPE_API_KEY``; webhooks signed with
    ``STRIPE_WEBHOOK_SECRET`` within ``STRIPE_WEBHOOK_TOLERANCE_SECONDS``. The library retries
    nothing itself: an unknown outcome goes back to the caller, which keeps the payment pending."""

    name = "stripe"
    takes_cards = True

    def __init__(self) -> None:
        # lazy: the library is only loaded by a clinic that uses the provider.
        import stripe

        self._stripe = stripe
        base = _env("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ProviderDeclined("STRIPE_API_BASE must be an http(s) URL.")
        self.client = stripe.StripeClient(
            _env("STRIPE_API_KEY") or "sk_unset",
            base_addresses={"api": base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=float(_env("PAYMENT_PROVIDER_TIMEOUT_SECONDS", "10") or 10)),
        )

    def _call(self, fn, *args: Any, **kwargs: Any) -> Any:
        stripe = self._stripe
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            raise ProviderDeclined(f"The card was declined ({exc.code or 'declined'}).") from None
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(f"The payment provider did not answer ({type(exc).__name__}).") from None
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            if status >= 500 or status in (0, 409, 429):  # 409: the same key is still being worked on
                raise ProviderUnavailable(f"The payment provider answered HTTP {status or 'nothing'}.") from None
            raise ProviderDeclined(f"The payment provider refused the request (HTTP {status}).") from None

    @staticmethod
    def _intent(obj: Any) -> Intent:
        data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        card: dict[str, Any] = {}
        charge = data.get("latest_charge")
        if isinstance(charge, dict):
            card = (charge.get("payment_method_details") or {}).get("card") or {}
        return Intent(
            id=str(data.get("id", "")),
            status=str(data.get("status", "")),
            amount_cents=int(data.get("amount") or 0),
            currency=str(data.get("currency", "")).upper(),
            card_brand=str(card.get("brand") or "")[:20],
            card_last4=str(card.get("last4") or "")[-4:],
            has_error=bool(data.get("last_payment_error")),
            ours=str((data.get("metadata") or {}).get("payment", ""))[:20],
        )

    @staticmethod
    def _refund(obj: Any) -> Refund:
        data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        intent = data.get("payment_intent")
        return Refund(
            id=str(data.get("id", "")),
            status=str(data.get("status", "")),
            amount_cents=int(data.get("amount") or 0),
            intent_id=str(intent.get("id") if isinstance(intent, dict) else intent or ""),
            ours=str((data.get("metadata") or {}).get("refund", ""))[:20],
        )

    def create_intent(
        self, *, amount: Decimal, currency: str, idempotency_key: str, payment_method: str, metadata: dict[str, str]
    ) -> Intent:
        params: dict[str, Any] = {
            "amount": to_minor_units(amount),
            "currency": currency.lower(),
            "metadata": metadata,
            "expand": ["latest_charge"],
        }
        if payment_method:
            params |= {"payment_method": payment_method, "confirm": True, "payment_method_types": ["card"]}
        return self._intent(
            self._call(
                self.client.v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key}
            )
        )

    def retrieve_intent(self, intent_id: str) -> Intent:
        return self._intent(
            self._call(self.client.v1.payment_intents.retrieve, intent_id, params={"expand": ["latest_charge"]})
        )

    def _act(self, action: Any, intent_id: str, idempotency_key: str) -> Intent:
        options = {"idempotency_key": idempotency_key}
        return self._intent(self._call(action, intent_id, params={"expand": ["latest_charge"]}, options=options))

    def capture_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        return self._act(self.client.v1.payment_intents.capture, intent_id, idempotency_key)

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        return self._act(self.client.v1.payment_intents.cancel, intent_id, idempotency_key)

    def create_refund(
        self, *, intent_id: str, amount: Decimal, idempotency_key: str, metadata: dict[str, str]
    ) -> Refund:
        params = {"payment_intent": intent_id, "amount": to_minor_units(amount), "metadata": metadata}
        return self._refund(
            self._call(self.client.v1.refunds.create, params=params, options={"idempotency_key": idempotency_key})
        )

    def retrieve_refund(self, refund_id: str) -> Refund:
        return self._refund(self._call(self.client.v1.refunds.retrieve, refund_id))

    def verify_event(self, payload: bytes, signature: str) -> Event:
        """Stripe's scheme: ``t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``, within the tolerance."""
        stripe = self._stripe
        tolerance = int(_env("STRIPE_WEBHOOK_TOLERANCE_SECONDS", "300") or 300)
        secret = _env("STRIPE_WEBHOOK_SECRET")
        try:
            stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance=tolerance)
            body = json.loads(payload)
        except stripe.SignatureVerificationError:
            # The library's message may quote the body: never pass it on.
            raise WebhookRejected("The webhook's signature does not verify.") from None
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("The webhook's body is not JSON.") from None
        data = body.get("data") if isinstance(body, dict) else None
        obj = data.get("object") if isinstance(data, dict) else None
        if not (isinstance(obj, dict) and isinstance(body.get("id"), str) and isinstance(body.get("type"), str)):
            raise WebhookRejected("The webhook names no event or object.")
        kind = obj.get("object")
        return Event(
            id=body["id"][:100],
            type=body["type"][:100],
            intent=self._intent(obj) if kind == "payment_intent" else None,
            refund=self._refund(obj) if kind == "refund" else None,
        )


def get_provider() -> PaymentProvider:
    """The provider ``PAYMENT_BACKEND`` names (a dotted path, like ``EMAIL_BACKEND``)."""
    return import_string(settings.PAYMENT_BACKEND)()
