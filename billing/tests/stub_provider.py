"""A local stand-in for the part of the Stripe API the provider backend uses, on 127.0.0.1.

It keeps intents and refunds in memory, honours ``Idempotency-Key`` (the same key answers the first
result, as the real API does), reads cards by Stripe's test payment-method ids (``pm_card_visa``
succeeds, ``pm_card_chargeDeclined`` is declined, ``pm_card_capture`` waits for capture) and can be
told to answer slowly (past the client's timeout, after doing the work) or with a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

CARDS = {
    "pm_card_visa": ("visa", "4242", "succeeded"),
    "pm_card_mastercard": ("mastercard", "4444", "succeeded"),
    "pm_card_capture": ("visa", "4242", "requires_capture"),
}


def _nested(form: dict[str, list[str]]) -> dict[str, Any]:
    """``metadata[payment]=3`` and ``expand[0]=x`` as Stripe's form encoding sends them."""
    out: dict[str, Any] = {}
    for key, values in form.items():
        if "[" in key:
            outer, inner = key.split("[", 1)
            out.setdefault(outer, {})[inner.rstrip("]")] = values[0]
        else:
            out[key] = values[0]
    return out


class StubStripe:
    def __init__(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, tuple[int, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, str]] = []  # method, path, idempotency key
        self.slow_for = 0.0  # seconds each answer waits (after the work is done)
        self.fail_next = 0  # answer this many requests with a 500 before doing anything
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubStripe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def creates(self) -> int:
        return len(self.intents)

    # --- The API ------------------------------------------------------------------------

    def _charge(self, intent: dict[str, Any], brand: str, last4: str) -> None:
        intent["latest_charge"] = {
            "id": f"ch_{next(self.ids)}",
            "object": "charge",
            "payment_method_details": {"type": "card", "card": {"brand": brand, "last4": last4}},
        }

    def create_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent_id = f"pi_stub{next(self.ids)}"
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "metadata": params.get("metadata", {}),
            "status": "requires_payment_method",
            "last_payment_error": None,
            "latest_charge": None,
        }
        method = params.get("payment_method", "")
        if method and params.get("confirm") == "true":
            if method not in CARDS:
                intent["last_payment_error"] = {"code": "card_declined", "type": "card_error"}
                self.intents[intent_id] = intent
                error = {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
                return 402, {"error": {**error, "payment_intent": intent}}
            brand, last4, status = CARDS[method]
            intent["status"] = status
            self._charge(intent, brand, last4)
        self.intents[intent_id] = intent
        return 200, intent

    def capture(self, intent_id: str) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(intent_id)
        if intent is None:
            return 404, {"error": {"type": "invalid_request_error", "message": "No such payment_intent"}}
        if intent["status"] == "requires_capture":
            intent["status"] = "succeeded"
        return 200, intent

    def cancel(self, intent_id: str) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(intent_id)
        if intent is None or intent["status"] == "succeeded":
            return 400, {"error": {"type": "invalid_request_error", "message": "This intent cannot be canceled."}}
        intent["status"] = "canceled"
        return 200, intent

    def create_refund(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return 400, {"error": {"type": "invalid_request_error", "message": "Nothing to refund."}}
        refund = {
            "id": f"re_stub{next(self.ids)}",
            "object": "refund",
            "amount": int(params["amount"]),
            "payment_intent": intent["id"],
            "metadata": params.get("metadata", {}),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    def answer(self, method: str, path: str, key: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append((method, path, key))
            if self.fail_next:
                self.fail_next -= 1
                return 500, {"error": {"type": "api_error", "message": "Something went wrong."}}
            if method == "POST" and key in self.by_key:
                return self.by_key[key]
            parts = path.strip("/").split("/")
            found: tuple[int, dict[str, Any]]
            if method == "POST" and parts == ["v1", "payment_intents"]:
                found = self.create_intent(params)
            elif method == "POST" and len(parts) == 4 and parts[3] == "capture":
                found = self.capture(parts[2])
            elif method == "POST" and len(parts) == 4 and parts[3] == "cancel":
                found = self.cancel(parts[2])
            elif method == "GET" and len(parts) == 3 and parts[1] == "payment_intents" and parts[2] in self.intents:
                found = 200, self.intents[parts[2]]
            elif method == "POST" and parts == ["v1", "refunds"]:
                found = self.create_refund(params)
            elif method == "GET" and len(parts) == 3 and parts[1] == "refunds" and parts[2] in self.refunds:
                found = 200, self.refunds[parts[2]]
            else:
                found = 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL."}}
            if method == "POST" and key:
                self.by_key[key] = found
            return found

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                path, _, query = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else query
                params = _nested(parse_qs(body))
                status, payload = stub.answer(method, path, self.headers.get("Idempotency-Key", ""), params)
                if stub.slow_for:
                    time.sleep(stub.slow_for)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout case)

            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                self._serve("POST")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
                return

        return Handler


def event(event_id: str, event_type: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}}).encode()


def sign(payload: bytes, secret: str, *, at: int | None = None) -> str:
    """Stripe's ``Stripe-Signature`` header: ``t=<time>,v1=<HMAC-SHA256 of "t.payload">``."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"
