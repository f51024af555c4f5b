"""Webhooks under attack: whatever the headers or the body hold, every provider's webhook answers 400 (logged) or 200,
never a 500; and no secret shows on Django's technical error page (``DEBUG`` on), whose frames show their locals
unless a function is marked with ``sensitive_variables``.

The cases are the ones an attacker tried: a non-ASCII signature (Stripe compared it with ``hmac.compare_digest``,
which raises), a 400-digit timestamp (a float overflow), thousands of nested brackets in a signed body (the parser
runs out of stack), huge values."""

import hashlib
import hmac
import json
import logging
import time

import pytest
import stripe
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from payments.models import WebhookEvent
from payments.providers import datatrans, paypal, paypal_webhooks
from payments.providers import test as test_provider
from tests import datatrans_events, paypal_events

pytestmark = pytest.mark.django_db

STRIPE_SECRET = "whsec_do_not_show_me_0123456789"
STRIPE_KEY = "sk_test_do_not_show_me_0123456789"
DATATRANS_KEY = "5e" * 32
PAYPAL_SECRET = "paypal-secret-do-not-show-me"
PAYPAL_WEBHOOK_ID = "WH-HOSTILE"
NESTED = b'{"a":' * 5000 + b"1" + b"}" * 5000
DEEP_BUT_PARSABLE = b'{"id":"evt_1","type":"x","data":{"object":' + b"[" * 200 + b"]" * 200 + b"}}"


@pytest.fixture(autouse=True)
def providers(settings, store):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = STRIPE_KEY, STRIPE_SECRET
    settings.DATATRANS_MERCHANT_ID, settings.DATATRANS_PASSWORD = "1100007006", "datatrans-password-do-not-show"
    settings.DATATRANS_HMAC_KEY = DATATRANS_KEY
    settings.DATATRANS_API_BASE = "http://127.0.0.1:9"  # refused at once: never leaves the machine
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_CLIENT_SECRET = "paypal-id", PAYPAL_SECRET
    settings.PAYPAL_WEBHOOK_ID, settings.PAYPAL_API_BASE = PAYPAL_WEBHOOK_ID, "http://127.0.0.1:9"
    return settings


def post(client, provider: str, body: bytes, **headers):
    return client.post(f"/webhooks/{provider}/", body, content_type="application/json", **headers)


def stripe_signed(body: bytes) -> dict:
    timestamp = int(time.time())  # Stripe's scheme: HMAC-SHA256 of "t." and the raw body, keyed by the secret
    signature = hmac.new(STRIPE_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_STRIPE_SIGNATURE": f"t={timestamp},v1={signature}"}


def datatrans_signed(body: bytes) -> dict:
    return {"HTTP_DATATRANS_SIGNATURE": datatrans_events.signature_header(body, DATATRANS_KEY)}


def provider_test_signed(body: bytes) -> dict:
    return {"HTTP_TEST_SIGNATURE": test_provider.sign(body, int(time.time()))}


SIGNED = {"stripe": stripe_signed, "datatrans": datatrans_signed, "test": provider_test_signed}
HEADER = {"stripe": "HTTP_STRIPE_SIGNATURE", "datatrans": "HTTP_DATATRANS_SIGNATURE", "test": "HTTP_TEST_SIGNATURE"}


@pytest.mark.parametrize("provider", ["stripe", "datatrans", "test"])
@pytest.mark.parametrize(
    "header",
    [
        "t={now},v1=é",
        "t={now},s0=é",
        "t={now},v1=" + "é" * 64,
        "t={now},s0=" + "é" * 64,
        "t=" + "9" * 400 + ",v1=" + "a" * 64 + ",s0=" + "a" * 64,
        "t=" + "9" * 400,
        "t=²³,v1=" + "a" * 64 + ",s0=" + "a" * 64,
        "t=-1,v1=" + "a" * 64 + ",s0=" + "a" * 64,
        "t={now},t={now},v1=" + "a" * 64 + ",s0=" + "a" * 64,
        "t={now}," + "v1=" + "a" * 64 + "," * 5000,
        "\x00",
        "t={now},v1=" + "a" * 64 + "\u2028",
    ],
)
def test_hostile_signature_headers_are_refused_with_400(client, provider, header, caplog):
    body = json.dumps({"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {}}}).encode()
    with caplog.at_level(logging.WARNING, logger="payments.views"):
        response = post(client, provider, body, **{HEADER[provider]: header.format(now=int(time.time()))})
    assert response.status_code == 400
    assert "refused (400)" in caplog.text  # the cause is logged
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("provider", ["stripe", "datatrans", "test"])
@pytest.mark.parametrize(
    "body",
    [NESTED, DEEP_BUT_PARSABLE, b"[" * 100_000, b'{"id": ' + b"9" * 5000 + b"}", b"\xff\xfe{}", b"[]", b'"x"'],
    ids=["nested-5000", "nested-200", "brackets-100000", "5000-digit-number", "not-utf8", "a-list", "a-string"],
)
def test_signed_bodies_that_are_not_events_are_refused_with_400(client, provider, body):
    response = post(client, provider, body, **SIGNED[provider](body))
    assert response.status_code == 400, response.content
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("provider", ["stripe", "datatrans", "test"])
def test_huge_and_non_ascii_values_in_a_signed_event_are_stored_as_rejected_or_refused(client, provider):
    huge = "é\u202e\x00" * 20_000
    body = json.dumps(
        {
            "id": huge,
            "type": huge,
            "transactionId": huge,
            "status": "settled",
            "data": {"object": {"id": huge, "amount_total": 10**400}, "amount": 10**30, "currency": huge},
        }
    ).encode()
    response = post(client, provider, body, **SIGNED[provider](body))
    assert response.status_code in (200, 400)
    for event in WebhookEvent.objects.all():
        assert event.status in (WebhookEvent.Status.REJECTED, WebhookEvent.Status.IGNORED, WebhookEvent.Status.RECEIVED)
        assert "\x00" not in event.event_id


def test_paypal_hostile_headers_and_bodies_are_refused_with_400(client, monkeypatch):
    key = paypal_events.SigningKey()
    monkeypatch.setattr(paypal_webhooks, "certificate_at", lambda url: key.certificate)
    body = json.dumps({"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {}}).encode()
    good = paypal_events.signature_headers(body, PAYPAL_WEBHOOK_ID, key, "https://api.paypal.com/cert")
    for change in (
        {"Paypal-Transmission-Time": "9" * 400},
        {"Paypal-Transmission-Time": "2026-12-07T10:00:00Z" + "9" * 400},
        {"Paypal-Transmission-Id": "é" * 5000},
        {"Paypal-Transmission-Sig": "é"},
        {"Paypal-Cert-Url": "https://api.paypal.com/" + "é" * 100},
        {"Paypal-Cert-Url": "https://[::1"},
        {"Paypal-Auth-Algo": "\x00"},
    ):
        headers = paypal_events.django_headers(good | change)
        assert post(client, "paypal", body, **headers).status_code == 400, change
    for hostile in (NESTED, b"[" * 100_000, b"\xff\xfe{}", b'{"id": ' + b"9" * 5000 + b"}"):
        headers = paypal_events.django_headers(
            paypal_events.signature_headers(hostile, PAYPAL_WEBHOOK_ID, key, "https://api.paypal.com/cert")
        )
        assert post(client, "paypal", hostile, **headers).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_an_unexpected_error_in_a_parser_is_a_logged_400(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RecursionError("a bug, not the request's fault")

    monkeypatch.setattr(test_provider.TestProvider, "parse_webhook", broken)
    with caplog.at_level(logging.ERROR, logger="payments.webhooks"):
        response = post(client, "test", b"{}", HTTP_TEST_SIGNATURE="t=1,v1=" + "a" * 64)
    assert response.status_code == 400
    assert "failed unexpectedly" in caplog.text


# --- No secret on the technical error page --------------------------------------------------------------------------


def forced(*args, **kwargs):
    raise OperationalError("forced for the test: the database went away")


def technical_page(method, *args, **kwargs) -> str:
    """What a developer with DEBUG on sees when the request fails (Django's technical 500 page, with every frame's
    local variables)."""
    response = getattr(Client(raise_request_exception=False), method)(*args, **kwargs)
    assert response.status_code == 500
    page = response.content.decode()
    assert "Local vars" in page or "Local Vars" in page  # the frames are shown: the test could see a secret
    return page


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


def test_no_stripe_webhook_secret_on_the_error_page(debug, monkeypatch):
    body = b'{"id": "evt_1"}'
    header = stripe_signed(body)
    monkeypatch.setattr(stripe.WebhookSignature, "_compute_signature", staticmethod(forced))
    page = technical_page("post", "/webhooks/stripe/", body, content_type="application/json", **header)
    assert "verify_header" in page  # the frame that holds the secret is on the page
    assert STRIPE_SECRET not in page


def test_no_datatrans_hmac_key_on_the_error_page(debug, monkeypatch):
    monkeypatch.setattr(datatrans, "sign", forced)
    body = b'{"transactionId": "1"}'
    page = technical_page(
        "post", "/webhooks/datatrans/", body, content_type="application/json", **datatrans_signed(body)
    )
    assert "verify" in page
    assert DATATRANS_KEY not in page and DATATRANS_KEY.upper() not in page


def test_no_test_provider_secret_on_the_error_page(debug, monkeypatch, settings):
    body = b'{"id": "evt_1"}'
    headers = provider_test_signed(body)
    monkeypatch.setattr(test_provider.hmac, "new", forced)  # inside sign(), whose frame holds the secret
    page = technical_page("post", "/webhooks/test/", body, content_type="application/json", **headers)
    assert "sign" in page
    assert settings.TEST_PROVIDER_SECRET not in page


@pytest.fixture
def stripe_order(place, fondue):
    from payments.models import PaymentMethod

    PaymentMethod.objects.update_or_create(code="stripe", defaults={"is_enabled": True, "position": 0})
    return place(fondue, payment_method="stripe")


def test_no_stripe_secret_key_on_the_error_page_of_pay_now(debug, monkeypatch, stripe_order):
    def holding_the_key(self, api_key, *args, **kwargs):
        raise RuntimeError("forced for the test")

    monkeypatch.setattr(stripe.StripeClient, "__init__", holding_the_key)
    page = technical_page("post", reverse("checkout:pay", kwargs={"token": stripe_order.token}))
    assert "holding_the_key" in page
    assert STRIPE_KEY not in page


def test_no_paypal_client_secret_on_the_error_page_of_pay_now(debug, monkeypatch, place, fondue):
    from payments.models import PaymentMethod

    class Broken:
        @staticmethod
        def sha256(data):
            raise RuntimeError("forced for the test")

    PaymentMethod.objects.update_or_create(code="paypal", defaults={"is_enabled": True, "position": 0})
    order = place(fondue, payment_method="paypal")
    paypal.forget_client()
    monkeypatch.setattr(paypal, "hashlib", Broken)
    page = technical_page("post", reverse("checkout:pay", kwargs={"token": order.token}))
    assert "_client_key" in page
    assert PAYPAL_SECRET not in page


@pytest.mark.parametrize("provider", ["stripe", "datatrans", "test"])
def test_a_lone_surrogate_in_a_signed_event_is_stored_as_rejected(client, provider):
    """JSON's "\\ud800" decodes to a lone surrogate, which no database can store (it has no UTF-8 form)."""
    body = (
        b'{"id": "evt_\\ud800", "type": "checkout.session.completed", "transactionId": "\\udfff", "status": "settled",'
        b' "data": {"object": {"id": "cs_\\ud800", "client_reference_id": "\\ud800"}, "payment_reference": "\\ud800",'
        b' "amount": 100, "currency": "CHF", "message": "\\ud800"}, "type2": "\\ud800"}'
    )
    response = post(client, provider, body, **SIGNED[provider](body))
    assert response.status_code == 200
    assert WebhookEvent.objects.exists()
    for event in WebhookEvent.objects.all():
        assert event.status == WebhookEvent.Status.REJECTED
        assert "surrogate" in event.error
