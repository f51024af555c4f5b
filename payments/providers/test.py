"""The test provider: offered only in test mode. Its hosted page (ours, payments.views.test_page) lets the shopper
pay, decline or leave the payment pending; the outcome arrives as a signed event through the real webhook pipeline.

Signature, in the style of Stripe's: header ``Test-Signature: t=<unix time>,v1=<hex>``, where hex is
HMAC-SHA256(secret, "<t>.<raw body>"), checked on the raw body with a timestamp tolerance.
"""

import hashlib
import hmac
import json
import secrets
import time

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from .base import (
    EventKind,
    Provider,
    ProviderEvent,
    ProviderRefund,
    Redirect,
    WebhookError,
    load_json,
    signature_header,
)

HEADER = "Test-Signature"
TOLERANCE_SECONDS = 300
OUTCOMES = {"pay": "payment.succeeded", "decline": "payment.failed", "pending": "payment.pending"}
KINDS = {
    "payment.succeeded": EventKind.SUCCEEDED,
    "payment.failed": EventKind.FAILED,
    "payment.pending": EventKind.PENDING,
    "payment.expired": EventKind.EXPIRED,
}


@sensitive_variables()
def sign(body: bytes, timestamp: int, secret: str | None = None) -> str:
    secret = secret or settings.TEST_PROVIDER_SECRET
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class TestProvider(Provider):
    code = "test"
    name = gettext_lazy("Test payment")
    description = gettext_lazy("Test mode only: simulate a successful, declined or pending online payment.")
    is_online = True
    test_only = True
    setup_intro = gettext_lazy(
        "Needs no account and no keys. Shoppers see it only while test mode is on, and every order placed then is a "
        "test order: on the shop's own test page, you pay, decline or leave the payment pending."
    )

    def is_available(self, store, *, pickup: bool) -> bool:
        return store.test_mode

    def mode(self) -> str:
        return "sandbox"

    def start(self, payment, request) -> Redirect:
        return Redirect(reverse("payments:test_page", kwargs={"reference": payment.reference}))

    @sensitive_variables()
    def refund(self, payment, amount_minor: int, key: str) -> ProviderRefund:
        """Test money goes back at once; the key names the refund, so that a repeated call is the same refund."""
        digest = hmac.new(settings.TEST_PROVIDER_SECRET.encode(), key.encode(), hashlib.sha256).hexdigest()[:24]
        return ProviderRefund(reference="test_re_" + digest, amount_minor=amount_minor)

    def build_event(self, payment, outcome: str) -> tuple[bytes, dict]:
        """The signed event our hosted page sends for a payment: (raw body, headers)."""
        body = json.dumps(
            {
                "id": "evt_" + secrets.token_hex(12),
                "type": OUTCOMES[outcome],
                "created": int(time.time()),
                "data": {
                    "payment_reference": payment.reference,
                    "amount": payment.amount_minor,
                    "currency": payment.currency,
                    "message": "Declined by the shopper on the test page" if outcome == "decline" else "",
                },
            },
            separators=(",", ":"),
        ).encode()
        return body, {HEADER: sign(body, int(time.time()))}

    @sensitive_variables()
    def parse_webhook(self, body: bytes, headers) -> list[ProviderEvent]:
        timestamp, signatures = signature_header(headers.get(HEADER), "v1")
        if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
            raise WebhookError("timestamp outside the tolerance")
        expected = sign(body, timestamp).split("v1=", 1)[1]
        if not any(hmac.compare_digest(expected, signature) for signature in signatures):
            raise WebhookError("signature does not match")
        event = load_json(body)
        try:
            data = event["data"]
            amount = data["amount"]
            return [
                ProviderEvent(
                    event_id=str(event["id"]),
                    type=KINDS.get(str(event["type"]), EventKind.IGNORED),
                    provider_type=str(event["type"]),
                    payment_reference=str(data["payment_reference"]),
                    # a signed event with an amount that is no whole number of Rappen is stored, and rejected
                    amount_minor=amount if type(amount) is int else None,
                    currency=str(data["currency"]),
                    message=str(data.get("message", "")),
                    raw=event,
                    problem="" if type(amount) is int else "the amount is not a whole number of minor units",
                )
            ]
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookError("malformed event") from error
