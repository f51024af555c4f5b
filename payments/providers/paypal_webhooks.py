"""PayPal's webhooks, verified locally as PayPal documents it: the ``PAYPAL-TRANSMISSION-SIG`` header is a
SHA256withRSA signature over ``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body>``, checked
with the certificate at ``PAYPAL-CERT-URL`` (on paypal.com only; fetched once, cached, and trusted as PayPal's own
SDKs trust it). No API round trip per event, so events are taken even while PayPal's API is slow."""

import base64
import binascii
import datetime as dt
import functools
import hashlib
import logging
import threading
import zlib
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import DNSName
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, VerificationError
from cryptography.x509.verification import Store as TrustStore
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from . import budget
from .base import WebhookError

logger = logging.getLogger(__name__)

# PayPal retries a webhook it could not deliver "up to 25 times over the course of three days" (PayPal's webhooks
# documentation, "Webhook event delivery"); it does not document that a retry is signed at a new time, so a
# transmission is taken for 3 days after its time, and 5 minutes ahead of our clock. Replays within the window are
# stopped by the event's id (stored once), the signature, and the transmission id (``WebhookDelivery``: the same id
# with another body is refused, as PayPal signs only a CRC32 of the body).
TRANSMISSION_WINDOW = dt.timedelta(days=3)
FUTURE_SKEW = dt.timedelta(minutes=5)
CERT_CACHE_SECONDS = 24 * 3600


_certificates: dict[str, tuple[x509.Certificate, dt.datetime]] = {}
_certificates_lock = threading.Lock()
MAX_CERTIFICATES = 32


def verify_signature(body: bytes, headers, webhook_id: str) -> None:
    """PayPal's documented check of a webhook, done here: the transmission's signature (SHA256withRSA) over
    ``id|time|webhook id|crc32(body)`` with the public key of PayPal's certificate. The cheap checks come first (the
    headers' shape, the window, the certificate's address); only then is the certificate fetched (once, then cached)
    and checked as PayPal's own SDK checks it. Raises WebhookError."""
    names = ("Paypal-Transmission-Id", "Paypal-Transmission-Time", "Paypal-Transmission-Sig", "Paypal-Cert-Url")
    values = [(headers.get(name) or "").strip() for name in names]
    if not all(values):
        raise WebhookError("PayPal's signature headers are missing")
    if not all(value.isascii() and value.isprintable() and len(value) <= 1000 for value in values):
        raise WebhookError("malformed signature headers")
    transmission_id, transmission_time, signature, cert_url = values
    if (headers.get("Paypal-Auth-Algo") or "").strip().upper() != "SHA256WITHRSA":
        raise WebhookError("unknown signature algorithm")
    sent = _transmission_time(transmission_time)
    if sent is None:
        raise WebhookError("malformed transmission time")
    age = timezone.now() - sent
    if not -FUTURE_SKEW <= age <= TRANSMISSION_WINDOW:
        raise WebhookError("transmission time outside the window")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as error:
        raise WebhookError("malformed signature") from error
    if len(cert_url) > 500 or not allowed_cert_url(cert_url):
        raise WebhookError("the certificate URL is not PayPal's")
    certificate = certificate_at(cert_url)
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookError("the certificate holds no RSA key")
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()
    try:
        key.verify(raw_signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as error:
        raise WebhookError("signature does not match") from error


def _transmission_time(value: str) -> dt.datetime | None:
    """``2026-12-07T10:00:00Z`` (an Internet date and time with its zone); None for anything else."""
    if "T" not in value or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def allowed_cert_url(url: str) -> bool:
    """PayPal's own certificate host (https, paypal.com or a subdomain of it), or the configured stand-in's."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    base = settings.PAYPAL_API_BASE
    if base and url.startswith(base.rstrip("/") + "/") and ".." not in parts.path and "@" not in parts.netloc:
        return True
    host = (parts.hostname or "").lower()
    return (
        parts.scheme == "https"
        and "@" not in parts.netloc
        and port in (None, 443)
        and (host == "paypal.com" or host.endswith(".paypal.com"))
    )


@functools.lru_cache(maxsize=4)
def trust_store(path: str) -> TrustStore:
    """The certificate authorities PayPal's certificates must chain to (``PAYPAL_CERT_TRUST_STORE``: a PEM bundle;
    by default certifi's, Mozilla's roots, which hold the DigiCert roots PayPal's own SDKs ship)."""
    with open(path, "rb") as file:
        return TrustStore(x509.load_pem_x509_certificates(file.read()))


def common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else ""


def trusted_certificate(pem: bytes) -> tuple[x509.Certificate, dt.datetime]:
    """PayPal's certificate from what its URL served (the certificate, then its chain), checked as PayPal's SDKs
    check it (PayPal-Python-SDK ``WebhookEvent._verify_certificate``: the chain to trusted roots, a common name under
    ``.paypal.com``, not expired); returns it with the moment its chain stops being valid. Raises WebhookError."""
    try:
        leaf, *intermediates = x509.load_pem_x509_certificates(pem)
    except ValueError as error:
        raise WebhookError("PayPal's certificate could not be read") from error
    name = common_name(leaf).lower()
    if not name.endswith(".paypal.com") or "*" in name:
        raise WebhookError("the certificate is not PayPal's")
    try:
        store = trust_store(settings.PAYPAL_CERT_TRUST_STORE)
    except (OSError, ValueError) as error:
        logger.error("PAYPAL_CERT_TRUST_STORE could not be read: %s", error)
        raise WebhookError("the trust store could not be read") from error
    try:
        # the chain to a trusted root, with the dates and the certificate's name (its subject alternative name)
        chain = (PolicyBuilder().store(store).time(timezone.now()).build_server_verifier(DNSName(name))).verify(
            leaf, intermediates
        )
    except (VerificationError, ValueError) as error:
        raise WebhookError(f"PayPal's certificate is not trusted: {str(error)[:200]}") from error
    return leaf, min(certificate.not_valid_after_utc for certificate in chain)


def certificate_at(url: str) -> x509.Certificate:
    """PayPal's certificate at ``url``: fetched once (then kept in this process and, as served, in the cache, by its
    URL), trusted as ``trusted_certificate`` says, and within its chain's dates at each use. Raises WebhookError."""
    with _certificates_lock:
        found = _certificates.get(url)
    if found is None:
        cache_key = "paypal-cert:" + hashlib.sha256(url.encode()).hexdigest()
        pem = cache.get(cache_key)
        if pem is None:
            try:
                with budget.attempt():  # within the request's time budget, like every provider call
                    response = budget.http_client().get(url, follow_redirects=False)
                response.raise_for_status()
            except httpx.HTTPError as error:
                logger.warning("PayPal's certificate could not be fetched from %s: %s", url, error)
                raise WebhookError("PayPal's certificate could not be fetched") from error
            pem = response.content[:100_000]
        found = trusted_certificate(pem)
        cache.set(cache_key, pem, CERT_CACHE_SECONDS)
        with _certificates_lock:
            if len(_certificates) >= MAX_CERTIFICATES:
                _certificates.clear()
            _certificates[url] = found
    certificate, valid_until = found
    if not certificate.not_valid_before_utc <= timezone.now() <= valid_until:
        raise WebhookError("PayPal's certificate is not valid now")
    return certificate
