"""PayPal's objects and webhook events as PayPal documents them, for the stand-in (``tests.paypal_standin``) and the
tests, and PayPal's webhook signature made with a test key.

The shapes come from the JSON under ``tests/fixtures/paypal/`` (written from the examples of PayPal's REST reference:
the Orders v2 order, the Payments v2 capture and refund, the webhook event, an error body, an OAuth token); the
builders below copy a fixture and set what a test needs. Webhooks are signed as PayPal signs them: SHA256withRSA over
``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the body>``, with a test RSA key whose self-signed
certificate the stand-in serves at the ``PAYPAL-CERT-URL`` it sends.

No Django here: the stand-in and these builders also run outside the tests.
"""

import base64
import copy
import datetime as dt
import functools
import json
import secrets
import string
import uuid
import zlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "paypal"
ID_ALPHABET = string.ascii_uppercase + string.digits

ORDER_APPROVED = "CHECKOUT.ORDER.APPROVED"
CAPTURE_COMPLETED = "PAYMENT.CAPTURE.COMPLETED"
CAPTURE_PENDING = "PAYMENT.CAPTURE.PENDING"
CAPTURE_DENIED = "PAYMENT.CAPTURE.DENIED"
CAPTURE_DECLINED = "PAYMENT.CAPTURE.DECLINED"
CAPTURE_REFUNDED = "PAYMENT.CAPTURE.REFUNDED"
CAPTURE_REVERSED = "PAYMENT.CAPTURE.REVERSED"
RESOURCE_TYPES = {
    ORDER_APPROVED: "checkout-order",
    CAPTURE_REFUNDED: "refund",
}


@functools.cache
def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture(name: str) -> dict:
    """A fresh copy of ``tests/fixtures/paypal/<name>.json``."""
    return copy.deepcopy(_fixture(name))


def new_id(length: int = 17) -> str:
    """An id in PayPal's style: ``5O190127TN364715T``."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def event_id() -> str:
    return f"WH-{new_id()}-{new_id()}"


def timestamp(moment: dt.datetime | None = None) -> str:
    """PayPal's Internet date and time: ``2026-11-02T09:00:00Z``."""
    moment = moment or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(minor: int, currency: str = "CHF") -> dict:
    return {"currency_code": currency, "value": f"{minor / 100:.2f}"}


def error(status: int, name: str, message: str, issue: str = "", description: str = "", **detail) -> dict:
    """PayPal's error body: ``{"name", "message", "debug_id", "details": [{"issue", "description"}], "links"}``."""
    body = {"name": name, "message": message, "debug_id": new_id(13).lower()}
    if issue:
        body["details"] = [
            {"issue": issue, "description": description or issue.replace("_", " ").capitalize(), **detail}
        ]
        body["links"] = [
            {
                "href": f"https://developer.paypal.com/docs/api/orders/v2/#error-{issue}",
                "rel": "information_link",
                "method": "GET",
            }
        ]
    return body


def event(type: str, resource: dict, *, api: str = "https://api-m.sandbox.paypal.com", id: str | None = None) -> dict:
    """A webhook event around a copy of ``resource``, as PayPal posts it."""
    result = fixture("event")
    result["id"] = id or event_id()
    amount = resource.get("amount") or (resource.get("purchase_units") or [{}])[0].get("amount") or {}
    result.update(
        event_type=type,
        create_time=timestamp(),
        resource_type=RESOURCE_TYPES.get(type, "capture"),
        summary=f"{type.title().replace('.', ' ')} for {amount.get('currency_code', '')} {amount.get('value', '')}",
        resource=copy.deepcopy(resource),
        links=[
            {"href": f"{api}/v1/notifications/webhooks-events/{result['id']}", "rel": "self", "method": "GET"},
            {
                "href": f"{api}/v1/notifications/webhooks-events/{result['id']}/resend",
                "rel": "resend",
                "method": "POST",
            },
        ],
    )
    if type == ORDER_APPROVED:
        result["resource_version"] = "2.0"
    return result


def payload(evt: dict) -> bytes:
    """The body PayPal sends: the event as compact JSON."""
    return json.dumps(evt, separators=(",", ":")).encode()


class SigningKey:
    """A test RSA key and its self-signed certificate (valid from ``not_before`` to ``not_after``), in the place of
    PayPal's message-verification certificate."""

    def __init__(self, not_before: dt.datetime | None = None, not_after: dt.datetime | None = None):
        now = dt.datetime.now(dt.UTC)
        self.key = _rsa_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.sandbox.paypal.com")])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(days=1))
            .not_valid_after(not_after or now + dt.timedelta(days=365))
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def _rsa_key():
    """A fresh 2048-bit RSA key (a few tens of milliseconds)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signature_headers(
    body: bytes,
    webhook_id: str,
    key: SigningKey,
    cert_url: str,
    *,
    transmission_id: str | None = None,
    transmission_time: str | None = None,
    algorithm: str = "SHA256withRSA",
) -> dict:
    """The headers of a webhook delivery of ``body``, signed as PayPal signs it."""
    transmission_id = transmission_id or str(uuid.uuid1())
    transmission_time = transmission_time or timestamp()
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()
    return {
        "Content-Type": "application/json",
        "User-Agent": "PayPal/AUHD-214.0-52392296",
        "Paypal-Transmission-Id": transmission_id,
        "Paypal-Transmission-Time": transmission_time,
        "Paypal-Transmission-Sig": key.sign(message),
        "Paypal-Cert-Url": cert_url,
        "Paypal-Auth-Algo": algorithm,
        "Correlation-Id": new_id(13).lower(),
    }


def django_headers(headers: dict) -> dict:
    """The same headers as the test client's keyword arguments (``HTTP_PAYPAL_TRANSMISSION_ID=…``)."""
    return {
        "HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items() if name != "Content-Type"
    }
