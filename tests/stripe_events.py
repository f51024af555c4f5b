"""Stripe's objects and events as Stripe documents them, for the stand-in (``tests.stripe_standin``) and the tests.

The shapes come from the JSON under ``tests/fixtures/stripe/`` (written from the examples of Stripe's API reference:
the Checkout Session, PaymentIntent, Charge, Refund, Event and error objects); the builders below copy a fixture and
set what a test needs. Events are signed with the library's own helper (``stripe.WebhookSignature``), and
``round_trip`` checks that an event reads back through the SDK's deserialisers unchanged.

No Django here: the stand-in and these builders also run outside the tests (the bench starts the stand-in alone).
"""

import copy
import functools
import json
import secrets
import string
import time
from pathlib import Path

import stripe

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stripe"
ALPHABET = string.ascii_letters + string.digits

# The events the shop subscribes to (payments.providers.stripe_checkout.StripeProvider.webhook_events), and more.
SESSION_COMPLETED = "checkout.session.completed"
SESSION_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
SESSION_ASYNC_FAILED = "checkout.session.async_payment_failed"
SESSION_EXPIRED = "checkout.session.expired"
CHARGE_REFUNDED = "charge.refunded"
REFUND_CREATED = "refund.created"
REFUND_UPDATED = "refund.updated"


@functools.cache
def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture(name: str) -> dict:
    """A fresh copy of ``tests/fixtures/stripe/<name>.json``."""
    return copy.deepcopy(_fixture(name))


def new_id(prefix: str, length: int = 24) -> str:
    """An id in Stripe's style: ``cs_test_a1…``, ``pi_3…``, ``evt_1…``."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


def checkout_session(**fields) -> dict:
    session = fixture("checkout_session")
    session.update(id=new_id("cs_test_a1", 56), created=now(), expires_at=now() + 23 * 3600)
    session.update(fields)
    return session


def card(brand: str = "visa", last4: str = "4242", amount: int | None = None) -> dict:
    """``payment_method_details`` of a card payment."""
    details = fixture("charge")["payment_method_details"]
    details["card"].update(brand=brand, network=brand, last4=last4, amount_authorized=amount)
    return details


def twint() -> dict:
    """``payment_method_details`` of a TWINT payment."""
    return {"twint": {}, "type": "twint"}


def payment_intent(**fields) -> dict:
    intent = fixture("payment_intent")
    intent.update(id=new_id("pi_3"), created=now())
    intent["client_secret"] = intent["id"] + "_secret_" + new_id("", 24)
    intent.update(fields)
    return intent


def charge(**fields) -> dict:
    result = fixture("charge")
    result.update(id=new_id("ch_3"), created=now(), balance_transaction=new_id("txn_3"))
    result.update(fields)
    return result


def refund(**fields) -> dict:
    result = fixture("refund")
    result.update(id=new_id("re_3"), created=now(), balance_transaction=new_id("txn_3"))
    result.update(fields)
    return result


def error(message: str, *, type: str = "invalid_request_error", code: str | None = None, param: str | None = None):
    """Stripe's error body: ``{"error": {"type": …, "message": …, …}}``."""
    body = {"type": type, "message": message}
    if code:
        body["code"] = code
        body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        body["param"] = param
    return {"error": body}


def event(
    type: str,
    obj: dict,
    *,
    event_id: str | None = None,
    created: int | None = None,
    previous_attributes: dict | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
    api_version: str | None = None,
) -> dict:
    """An Event object around a copy of ``obj`` (``data.object``), as Stripe posts it to a webhook endpoint."""
    result = fixture("event")
    result.update(
        id=event_id or new_id("evt_1"),
        type=type,
        created=now() if created is None else created,
        api_version=api_version or stripe.api_version,
        request={"id": request_id, "idempotency_key": idempotency_key},
    )
    result["data"] = {"object": copy.deepcopy(obj)}
    if previous_attributes is not None:
        result["data"]["previous_attributes"] = previous_attributes
    return result


def payload(evt: dict) -> str:
    """The body Stripe sends: the event as (pretty-printed) JSON."""
    return json.dumps(evt, indent=2)


def signature_header(body: str | bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header for a body, by the library's own helper."""
    text = body.decode() if isinstance(body, bytes) else body
    return stripe.WebhookSignature.generate_signature_header(text, secret, timestamp=timestamp)


def signed(evt: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, dict]:
    """(raw body, headers) of a webhook delivery of ``evt``, signed with ``secret`` at ``timestamp`` (now)."""
    body = payload(evt)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature_header(body, secret, timestamp),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }
    return body.encode(), headers


def round_trip(evt: dict, secret: str = "whsec_round_trip") -> stripe.Event:
    """Read an event back through the SDK (``construct_event`` on the signed body, ``Event.construct_from`` on the
    dict) and check that nothing was lost or changed; returns the SDK's Event."""
    body, headers = signed(evt, secret)
    verified = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], secret)
    constructed = stripe.Event.construct_from(evt, "sk_test_round_trip")
    for read in (verified, constructed):
        if read.to_dict() != evt:
            raise AssertionError(f"{evt['type']} {evt['id']} does not round-trip through the stripe SDK")
    return verified
