"""PayPal's objects and webhook events as PayPal documents them, for the stand-in (``tests.paypal_standin``) and the
tests, and PayPal's webhook signature made with a test key.

The shapes come from the JSON under ``tests/fixtures/paypal/`` (written from the examples of PayPal's REST reference:
the Orders v2 order, the Payments v2 capture and refund, the webhook event, an error body, an OAuth token); the
builders below copy a fixture and set what a test needs. Webhooks are signed as PayPal signs them: SHA256withRSA over
``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the body>``, with a test RSA key whose certificate
(issued by the stand-in's own authorities, whose root ``trust_store_path`` writes for ``PAYPAL_CERT_TRUST_STORE``) the
stand-in serves at the ``PAYPAL-CERT-URL`` it sends.

No Django here: the stand-in and these builders also run outside the tests.
"""

import base64
import copy
import datetime as dt
import functools
import json
import os
import secrets
import string
import tempfile
import uuid
import zlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


@functools.cache
def _authority(name: str, issuer: tuple | None = None) -> tuple:
    """A test certificate authority (key, certificate), signed by ``issuer`` or by itself: once per process, valid
    for the whole century (tests stop the clock at other days than the one it was made on)."""
    key = _rsa_key()
    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Stand-in"), x509.NameAttribute(NameOID.COMMON_NAME, name)]
    )
    signer_key, signer = issuer if issuer else (key, None)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer.subject if signer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2099, 12, 31, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if signer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False
        )
    return key, builder.sign(signer_key, hashes.SHA256())


def root_authority() -> tuple:
    """The stand-in's root, in the place of the DigiCert root PayPal's certificates chain to."""
    return _authority("Stand-in Root CA (not PayPal)")


def intermediate_authority() -> tuple:
    return _authority("Stand-in Intermediate CA (not PayPal)", root_authority())


@functools.cache
def trust_store_path() -> str:
    """A PEM file with the stand-in's root, for ``PAYPAL_CERT_TRUST_STORE``: written once per process."""
    path = Path(tempfile.gettempdir()) / f"paypal-standin-roots-{os.getpid()}-{secrets.token_hex(4)}.pem"
    path.write_bytes(root_authority()[1].public_bytes(serialization.Encoding.PEM))
    return str(path)


class SigningKey:
    """A test RSA key and its certificate (valid from ``not_before`` to ``not_after``), in the place of PayPal's
    message-verification certificate: named ``name`` (PayPal's sandbox host by default), issued by the stand-in's
    intermediate authority, which its root signs; ``pem`` is what the certificate URL serves, the certificate then its
    chain, as PayPal serves it. ``self_signed`` makes one that chains to nothing."""

    def __init__(
        self,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        *,
        name: str = "messageverificationcerts.sandbox.paypal.com",
        self_signed: bool = False,
    ):
        now = dt.datetime.now(dt.UTC)
        self.key = _rsa_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        issuer_key, issuer = (self.key, None) if self_signed else intermediate_authority()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject if issuer else subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(days=1))
            .not_valid_after(not_after or now + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256())
        )
        chain = [self.certificate] if issuer is None else [self.certificate, issuer]
        self.pem = b"".join(certificate.public_bytes(serialization.Encoding.PEM) for certificate in chain)

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


def with_crc32_of(target: bytes, make) -> bytes:
    """Another body whose CRC32 is ``target``'s: what PayPal signs of a body (the CRC32) stays the same, so its
    signed headers would pass with it. ``make(tag, pad)`` builds the body around a varying ``tag`` and 4 bytes
    ``pad``; the 4 bytes are solved for (a CRC is affine over GF(2) in them) until they are plain letters, so the body
    stays valid JSON."""
    goal = zlib.crc32(target)
    for tag in range(10_000):
        base = zlib.crc32(make(tag, b"\0\0\0\0"))
        columns = [zlib.crc32(make(tag, (1 << bit).to_bytes(4, "little"))) ^ base for bit in range(32)]
        solution = _solve_gf2(columns, goal ^ base)
        if solution is None:
            continue
        pad = solution.to_bytes(4, "little")
        if all(chr(b).isalnum() and b < 128 for b in pad):
            forged = make(tag, pad)
            assert zlib.crc32(forged) == goal and forged != target
            return forged
    raise AssertionError("no body with that CRC32 found")


def _solve_gf2(columns: list[int], wanted: int) -> int | None:
    """x with XOR of columns[i] for the bits i of x == wanted (Gaussian elimination over GF(2))."""
    rows = [(column, 1 << i) for i, column in enumerate(columns)]
    basis: list[tuple[int, int]] = []
    for value, combo in rows:
        for pivot_value, pivot_combo in basis:
            if value ^ pivot_value < value:
                value, combo = value ^ pivot_value, combo ^ pivot_combo
        if value:
            basis.append((value, combo))
            basis.sort(reverse=True)
    result = 0
    for pivot_value, pivot_combo in basis:
        if wanted ^ pivot_value < wanted:
            wanted, result = wanted ^ pivot_value, result ^ pivot_combo
    return result if wanted == 0 else None
