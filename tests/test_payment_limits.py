"""What the providers take, checked before they are asked (issue #19): Stripe's smallest and largest amount and its
100 lines, TWINT's limit; a method that can't take the order's amount is shown unavailable with the reason, at
checkout and on the order page, and placing the order or starting the payment refuses it with the same words, without
calling the provider. And each online method is shown with its provider's name and logo, so that two "Card" methods
can be told apart.

Stripe's limits, from the pinned ``stripe`` SDK and docs.stripe.com/currencies (minimum and maximum charge amounts):
CHF 0.50 at least, eight digits of Rappen (CHF 999’999.99) at most, "a maximum of 100 line items" in payment mode."""

import re
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.contrib.staticfiles import finders

from payments import services as payments
from payments.models import PaymentMethod
from payments.providers import PROVIDERS
from shop.cart.services import add_to_cart
from shop.checkout.services import CheckoutData, CheckoutError, place_order
from tests import online
from tests.factories import ProductFactory
from tests.stripe_standin import serving
from tests.test_checkout import add
from tests.test_checkout import u as en

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_alpenladen_standin"
WEBHOOK_SECRET = "whsec_alpenladen_standin"

standin = online.client_standin(
    serving,
    "/webhooks/stripe/",
    online.signed_in("Stripe-Signature"),
    webhook_secret=WEBHOOK_SECRET,
    api_key=SECRET_KEY,
    enabled_events=PROVIDERS["stripe"].webhook_events,
)
stripe_settings = online.standin_settings(2, "https://alpenladen.example.ch")

MAX_LINE_ITEMS = 100  # Checkout Sessions in payment mode
SVG = "{http://www.w3.org/2000/svg}"
BELOW = "Card or TWINT takes payments from CHF 0.50."
ABOVE = "Card or TWINT takes payments up to CHF 999’999.99."


@pytest.fixture
def stripe_enabled(store, stripe_settings):
    """The store offers "Card or TWINT" (Stripe) first, then its own methods (no test payments)."""
    PaymentMethod.objects.update(is_enabled=False)
    online.enable("stripe", "bank_transfer", "invoice", "cash_on_pickup")
    return PROVIDERS["stripe"]


@pytest.fixture
def sweets(db):
    """A product under Stripe's minimum: CHF 0.40, picked up for free."""
    return ProductFactory(name="Ricola Drop", sku="RIC-1", price=Decimal("0.40"), stock=100)


@pytest.fixture
def tractor(db):
    """A product above Stripe's maximum."""
    return ProductFactory(name="Vintage Tractor", sku="TRA-1", price=Decimal("1000000.00"), stock=3)


def sessions(standin) -> list:
    return standin.calls_to("/v1/checkout/sessions", "POST")


def radio(page: str, name: str, value: str) -> str:
    return re.search(rf'<input type="radio" name="{name}" value="{value}"[^>]*>', page).group(0)


# --- The limits ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "reason"),
    [(49, BELOW), (50, ""), (99_999_999, ""), (100_000_000, ABOVE)],
)
def test_stripe_takes_chf_from_50_rappen_to_eight_digits(minor, reason):
    assert PROVIDERS["stripe"].refusal(minor, "CHF") == reason
    assert PROVIDERS["stripe"].accepts(minor, "CHF") is (reason == "")


def test_under_the_minimum_stripe_is_shown_unavailable_with_the_reason_and_refused_without_asking_stripe(
    english, stripe_enabled, sweets, shipping, standin
):
    add(english, sweets)
    page = english.get(en("checkout:checkout")).content.decode()
    stripe = radio(page, "payment_method", "stripe")
    # by Swiss Post (CHF 7.40) Stripe takes it; picked up (CHF 0.40) it does not: shown disabled, with why
    assert 'data-offered-with="delivery"' in stripe and 'data-refused-with="pickup"' in stripe
    assert BELOW in page
    picked_up = {"shipping_method": shipping["pickup"].pk, "billing_name": "Anna", "billing_street": "Weg 1"}
    picked_up |= {"email": "anna@example.ch", "billing_postcode": "3000", "billing_city": "Bern"}
    response = english.post(en("checkout:checkout"), {**picked_up, "payment_method": "stripe"})
    assert response.status_code == 302 and response.url == en("checkout:checkout")
    assert f"{BELOW} Please choose another payment method." in english.get(response.url).content.decode()
    assert not sessions(standin)


def test_above_the_maximum_stripe_is_refused_by_place_order_and_start_without_asking_stripe(
    stripe_enabled, tractor, shipping, standin
):
    cart, _ = add_to_cart(None, tractor.pk, 1)
    data = CheckoutData(
        email="anna@example.ch",
        payment_method="stripe",
        shipping_method_id=shipping["post"].pk,
        shipping={"name": "Anna", "street": "Gasse 1", "postcode": "8001", "city": "Zürich", "country": "CH"},
    )
    with pytest.raises(CheckoutError, match=re.escape(f"{ABOVE} Please choose another payment method.")):
        place_order(cart.token, data, "en")
    order = place_order(cart.token, CheckoutData(**{**data.__dict__, "payment_method": "bank_transfer"}), "en")
    order.payment_method = "stripe"  # changed by hand meanwhile (the back office's order form)
    order.save(update_fields=["payment_method"])
    with pytest.raises(payments.PaymentError, match=re.escape(ABOVE)):
        payments.start_payment(order, None)
    assert not order.payments.filter(provider="stripe").exists() and not sessions(standin)


def test_the_provider_itself_refuses_to_start_an_attempt_it_does_not_take(place, sweets, stripe_enabled, standin):
    """``start`` checks too (an attempt made before the limits, or by another path): Stripe is not asked."""
    order = place(sweets, 10, payment_method="stripe", pickup=True)  # CHF 4.–
    payment = order.payments.create(provider="stripe", amount=Decimal("0.40"), currency="CHF")
    with pytest.raises(payments.ProviderError, match=re.escape(BELOW)):
        PROVIDERS["stripe"].start(payment, None)
    assert not sessions(standin)


def test_the_order_page_shows_stripe_unavailable_among_the_other_methods(
    english, place, sweets, stripe_enabled, standin
):
    online.enable("test", "stripe", "bank_transfer")
    order = place(sweets, payment_method="test", pickup=True)  # CHF 0.40, to pay online
    page = english.get(online.order_url(order)).content.decode()
    assert "disabled" in radio(page, "method", "stripe") and BELOW in page
    assert "checked" in radio(page, "method", "bank_transfer")
    response = english.post(en("checkout:pay", token=order.token), {"method": "stripe"}, follow=True)
    assert f"{BELOW} Please choose another payment method." in response.content.decode()
    order.refresh_from_db()
    assert order.payment_method == "test" and not sessions(standin)


def test_an_order_whose_own_method_can_not_take_the_amount_says_why_instead_of_pay_now(
    english, place, sweets, stripe_enabled, standin
):
    order = place(sweets, pickup=True)  # CHF 0.40 by bank transfer
    order.payment_method = "stripe"  # changed by hand (the back office's order form)
    order.save(update_fields=["payment_method"])
    page = english.get(online.order_url(order)).content.decode()
    assert "Pay now" not in page and f"{BELOW} Please choose another payment method." in page
    response = english.post(en("checkout:pay", token=order.token), follow=True)  # a "Pay now" kept in another tab
    assert response.redirect_chain[-1][0] == online.order_url(order)
    assert f"{BELOW} Please choose another payment method." in response.content.decode()
    assert not order.payments.filter(provider="stripe").exists() and not sessions(standin)


def test_a_payment_link_switches_an_order_stripe_can_not_take_to_a_method_that_can(
    place, sweets, stripe_enabled, standin, staff
):
    from notifications.models import OutgoingEmail

    online.enable("stripe", "test", "bank_transfer")
    order = place(sweets, pickup=True)
    order.payment_method = "stripe"
    order.save(update_fields=["payment_method"])
    payments.send_payment_link(order, None)
    order.refresh_from_db()
    assert order.payment_method == "test" and OutgoingEmail.objects.filter(kind="payment_link").exists()
    test = PaymentMethod.objects.get(code="test")
    test.is_enabled = False
    test.save()  # (saving refreshes the cached list of enabled methods)
    order.payment_method = "stripe"
    order.save(update_fields=["payment_method"])
    with pytest.raises(payments.PaymentError, match=re.escape(f"No online payment method takes this amount: {BELOW}")):
        payments.send_payment_link(order, None)


# --- 100 lines at most -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [MAX_LINE_ITEMS, MAX_LINE_ITEMS + 1])
def test_beyond_100_lines_stripe_is_sent_one_line_for_the_balance(store, shipping, stripe_enabled, standin, count):
    # the products and Swiss Post (CHF 7.–: under CHF 100 it is not free)
    products = [ProductFactory(price=Decimal("0.50"), stock=5) for _ in range(count - 1)]
    cart = None
    for product in products:
        cart, _ = add_to_cart(cart.token if cart else None, product.pk, 1)
    data = CheckoutData(
        email="anna@example.ch",
        payment_method="stripe",
        shipping_method_id=shipping["post"].pk,
        shipping={"name": "Anna", "street": "Gasse 1", "postcode": "8001", "city": "Zürich", "country": "CH"},
    )
    order = place_order(cart.token, data, "en")
    payments.start_payment(order, None)
    (call,) = sessions(standin)
    lines = call.params["line_items"]
    due = str((count - 1) * 50 + 700)
    if count <= MAX_LINE_ITEMS:
        assert len(lines) == count  # each product and the shipping
    else:
        balance = {"currency": "chf", "unit_amount": due, "product_data": {"name": f"Order {order.number}"}}
        assert lines == [{"price_data": balance, "quantity": "1"}]
    session = standin.session(order.payments.get().provider_reference)
    assert session["amount_total"] == int(due) and session["status"] == "open"


# --- The provider's brand --------------------------------------------------------------------------------------------


def test_checkout_names_each_online_methods_provider_with_its_logo(english, stripe_enabled, sweets, settings):
    settings.DATATRANS_MERCHANT_ID, settings.DATATRANS_PASSWORD, settings.DATATRANS_HMAC_KEY = "1100", "pw", "3f" * 32
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_CLIENT_SECRET, settings.PAYPAL_WEBHOOK_ID = "id", "secret", "WH-1"
    PaymentMethod.objects.update(is_enabled=False)
    online.enable("stripe", "datatrans_card", "datatrans_twint", "paypal", "bank_transfer")
    add(english, sweets, 20)  # CHF 8.–
    page = english.get(en("checkout:checkout")).content.decode()
    brand = r'<span class="method-name__brand"><span class="visually-hidden">,</span> '
    brand += r'<span aria-hidden="true">·</span> '
    names = re.findall(rf'<span class="method-name"><strong>([^<]+)</strong>(?:{brand}([^<]+)</span>)?</span>', page)
    assert names == [
        ("Card or TWINT", "Stripe"),
        ("Card", "Datatrans"),
        ("TWINT", "Datatrans"),
        ("PayPal", ""),  # the method is the provider: named once
        ("Bank transfer", ""),
    ]
    logos = re.findall(r'<img class="method-logo" src="([^"]+)" alt="([^"]+)" aria-hidden="true"', page)
    assert logos == [
        ("/static/img/providers/stripe.svg", "Stripe"),
        ("/static/img/providers/datatrans.svg", "Datatrans"),
        ("/static/img/providers/datatrans.svg", "Datatrans"),
        ("/static/img/providers/paypal.svg", "PayPal"),
    ]


@pytest.mark.parametrize(("name", "brand"), [("stripe", "Stripe"), ("datatrans", "Datatrans"), ("paypal", "PayPal")])
def test_the_logos_are_the_shops_own_small_svg_files(name, brand):
    with open(finders.find(f"img/providers/{name}.svg"), encoding="utf-8") as file:
        svg = file.read()
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.find(f"{SVG}title").text == brand and len(svg) < 2000
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
    assert "<script" not in svg and "<style" not in svg and " style=" not in svg
