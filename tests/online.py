"""What the tests of the online providers (Stripe, Datatrans, PayPal) share: the stand-in as a fixture, the shop set
up to pay through it, the shopper's and the merchant's pages of an order, and the shopper's checkout over HTTP and in
the browser. What is a provider's own (its references, its pages, what it is asked) stays in its tests."""

import datetime as dt
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import translation
from playwright.sync_api import expect

from orders.models import OrderEvent
from payments import services as payments
from payments.models import Payment, PaymentMethod
from tests.factories import CategoryFactory, ProductFactory
from tests.test_checkout import add, order_now
from tests.test_checkout import u as en

# The moment the reconciliation tests stop the clock at (conftest's ``clock``).
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


# --- The stand-in and the settings that point the shop at it -------------------------------------------------------


def client_standin(serving, path: str, post_kwargs, **options):
    """A ``standin`` fixture for the pipeline tests: the stand-in, delivering its webhooks to ``path`` through the
    test client (in the test's thread). ``post_kwargs(headers)`` turns its headers into the test client's keywords."""

    @pytest.fixture
    def standin(client):
        def deliver(body, headers):
            return client.post(path, body, **post_kwargs(headers)).status_code

        with serving(deliver=deliver, **options) as server:
            yield server

    return standin


def signed_in(header: str):
    """The ``post_kwargs`` of ``client_standin`` for a provider that signs its webhooks in ``header``."""
    keyword = "HTTP_" + header.upper().replace("-", "_")
    return lambda headers: {"content_type": headers["Content-Type"], keyword: headers[header]}


def live_standin(serving, webhook_path: str | None = None, **options):
    """A ``standin`` fixture for the tests over HTTP: the stand-in, posting its webhooks to ``webhook_path`` of the
    live server (without one, to wherever the provider's own requests name)."""

    @pytest.fixture
    def standin(request):
        where = {}
        if webhook_path is not None:
            where["webhook_url"] = request.getfixturevalue("live_server").url + webhook_path
        with serving(**where, **options) as server:
            yield server

    return standin


def point_at(settings, standin, site_url: str, timeout: float | None = None, **more):
    """The shop's settings for the stand-in: its URLs and keys, the shop's own address (where the provider sends the
    shopper back) and how long the shop waits for the provider."""
    standin.configure(settings)
    settings.SITE_URL = site_url
    if timeout is not None:
        settings.PROVIDER_TIMEOUT = timeout
    for name, value in more.items():
        setattr(settings, name, value)
    return settings


def standin_settings(timeout: float, site_url: str | None = None, **more):
    """An autouse fixture with the settings of ``point_at``; without a ``site_url``, the shop is the live server."""

    @pytest.fixture(autouse=True)
    def provider_settings(settings, standin, request):
        url = site_url if site_url is not None else request.getfixturevalue("live_server").url
        return point_at(settings, standin, url, timeout, **more)

    return provider_settings


def enable(*codes: str) -> None:
    """The store offers these payment methods, first to last."""
    for position, code in enumerate(codes):
        PaymentMethod.objects.update_or_create(code=code, defaults={"is_enabled": True, "position": position})


def sent_to_pay(place, product, payment_method: str):
    """An order of the product, whose shopper was sent to the provider's page."""
    order = place(product, payment_method=payment_method)
    payments.start_payment(order, None)
    return order


# --- An order, as the pipeline tests look at it --------------------------------------------------------------------


def latest_attempt(order) -> Payment:
    return order.payments.order_by("pk").last()


def latest_reference(order) -> str:
    """The provider's reference of the latest attempt (its session, transaction or order)."""
    return latest_attempt(order).provider_reference


def status(order) -> str:
    order.refresh_from_db()
    return order.payment_status


def order_url(order) -> str:
    """The shopper's order page, in English (a request leaves its own language active)."""
    with translation.override("en"):
        return order.get_absolute_url()


def shopper_page(client, order, query="") -> str:
    return client.get(order_url(order) + query).content.decode()


def badge(html: str) -> str:
    """The payment status badge of the shopper's order page."""
    return re.search(r'Payment:</span> <span class="badge-status badge-status--[a-z_]+">([^<]+)</span>', html).group(1)


def back_office(client, order) -> str:
    return client.get(f"/backoffice/orders/{order.number}/").content.decode()


def count(order, type, **data) -> int:
    return order.events.filter(type=type, **{f"data__{k}": v for k, v in data.items()}).count()


def paid_events(order) -> int:
    return order.events.filter(type=OrderEvent.Type.PAYMENT_STATUS, new_value="paid").count()


# --- Over HTTP ----------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def only_this_machine(monkeypatch):
    """Nothing may leave the machine: resolving any other host than this one fails the test."""
    resolve = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise AssertionError(f"a test tried to reach {host}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


def check_out(shopper, product, shipping, payment_method: str, *offered: str):
    """The shopper puts the product in the cart and orders it by Swiss Post, paying with ``payment_method``; the
    checkout page must show each of ``offered``."""
    add(shopper, product)
    page = shopper.get(en("checkout:checkout")).content.decode()
    for text in offered:
        assert text in page
    return order_now(shopper, payment_method=payment_method, shipping=shipping["post"])


def browse(url: str, form: dict | None = None) -> tuple[int, str, str]:
    """What a browser does with the stand-in's page: (status, Location, body), redirects not followed."""

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    data = urllib.parse.urlencode(form).encode() if form is not None else None
    opener = urllib.request.build_opener(Stay)
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=30) as response:
            return response.status, response.headers.get("Location", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read().decode()


def local(url: str) -> str:
    """The path and query of a URL of the shop (for the test client)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def error_alerts(html: str) -> list[str]:
    return re.findall(r'<div class="message message--error" role="alert">([^<]*)</div>', html)


# --- In the browser -----------------------------------------------------------------------------------------------


def browser_shop(*codes: str):
    """A fixture: the shop, pointed at the stand-in and served live, offering these methods and the fondue set (at
    /en/p/fondue-set/)."""

    @pytest.fixture
    def shop(settings, standin, live_server, store, shipping):
        point_at(settings, standin, live_server.url)
        enable(*codes)
        return ProductFactory(
            category=CategoryFactory(name="Kitchen", slug="kitchen"),
            name="Fondue Set",
            slug="fondue-set",
            sku="FON-1",
            price=Decimal("129.00"),
            stock=5,
        )

    return shop


def fill_checkout(page, live_server, method: str):
    """The shopper puts the fondue set in the cart, fills the checkout and chooses the method (by its label); the
    Order button is the test's to click."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/en/p/fondue-set/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.goto(live_server.url + "/en/checkout/")
    page.get_by_label("E-mail").fill("anna@example.ch")
    delivery = page.get_by_role("group", name="Delivery")
    delivery.get_by_label("Full name").fill("Anna Muster")
    delivery.get_by_label("Street and number").fill("Bahnhofstrasse 1")
    delivery.get_by_label("Postcode").fill("8001")
    delivery.get_by_label("City").fill("Zürich")
    page.get_by_role("radio", name=re.compile("^" + re.escape(method))).check()
