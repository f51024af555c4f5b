"""In headless Chromium: checkout shows each online method with its provider's name and logo, and a method that can't
take the amount of the chosen delivery in sight but disabled, with the reason; changing the delivery changes which
(issue #19). Screenshots at 390 and 1280 px wide go to artifacts/."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from payments.models import PaymentMethod
from tests import online
from tests import test_browser_a11y as a11y
from tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
axe = a11y.axe  # the fixture that runs axe-core on the page

STRIPE_BELOW = "Card or TWINT takes payments from CHF 0.50."
TWINT_ABOVE = "TWINT takes payments up to CHF 5.–."


@pytest.fixture
def every_method(store, shipping, settings):
    """Every online provider configured (nothing is asked of them here) and enabled, with the shop's own methods;
    TWINT up to CHF 5.–."""
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test_x", "whsec_x"
    settings.DATATRANS_MERCHANT_ID, settings.DATATRANS_PASSWORD, settings.DATATRANS_HMAC_KEY = "1100", "pw", "3f" * 32
    settings.PAYPAL_CLIENT_ID, settings.PAYPAL_CLIENT_SECRET, settings.PAYPAL_WEBHOOK_ID = "id", "secret", "WH-1"
    settings.TWINT_LIMIT_CHF = 5
    PaymentMethod.objects.update(is_enabled=False)
    online.enable(
        "stripe",
        "datatrans_card",
        "datatrans_twint",
        "datatrans_postfinance",
        "paypal",
        "bank_transfer",
        "cash_on_pickup",
    )
    return ProductFactory(name="Ricola Drop", slug="ricola", sku="RIC-1", price=Decimal("0.40"), stock=100)


def method(page, name):
    return page.get_by_role("radio", name=re.compile(name))


def open_checkout(page, live_server):
    page.goto(live_server.url + "/en/p/ricola/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.goto(live_server.url + "/en/checkout/")


@pytest.mark.parametrize("width", [390, 1280])
def test_checkout_shows_providers_and_the_methods_that_can_not_take_the_amount(
    page, live_server, every_method, artifacts, width
):
    page.set_viewport_size({"width": width, "height": 900})
    open_checkout(page, live_server)
    payment = page.locator("#payment-methods")

    # by Swiss Post, CHF 7.40: TWINT (up to CHF 5.–) is in sight, disabled, with why; Stripe takes it
    expect(method(page, r"^Card or TWINT\s*, Stripe")).to_be_enabled()
    expect(method(page, r"^TWINT\s*, Datatrans")).to_be_disabled()
    expect(payment.get_by_text(TWINT_ABOVE)).to_be_visible()
    expect(payment.get_by_text(STRIPE_BELOW)).to_be_hidden()
    expect(method(page, r"^Card\s*, Datatrans")).to_be_enabled()
    expect(method(page, r"^PayPal")).to_be_enabled()
    expect(payment.locator('img[alt="Datatrans"]').first).to_be_visible()
    assert payment.locator("img.method-logo").evaluate_all("imgs => imgs.every(i => i.naturalWidth > 0)")
    page.screenshot(path=artifacts / f"checkout-limits-delivery-{width}.png", full_page=True)

    # picked up, CHF 0.40: Stripe (from CHF 0.50) is disabled with why, TWINT is offered again
    page.get_by_role("radio", name=re.compile("Pickup Zurich")).check()
    expect(method(page, r"^Card or TWINT\s*, Stripe")).to_be_disabled()
    expect(payment.get_by_text(STRIPE_BELOW)).to_be_visible()
    expect(method(page, r"^TWINT\s*, Datatrans")).to_be_enabled()
    expect(payment.get_by_text(TWINT_ABOVE)).to_be_hidden()
    expect(method(page, "Cash on pickup")).to_be_enabled()
    expect(page.locator("#checkout-total")).to_have_text("CHF 0.40")
    page.screenshot(path=artifacts / f"checkout-limits-pickup-{width}.png", full_page=True)
    payment.screenshot(path=artifacts / f"checkout-limits-methods-{width}.png")


@pytest.mark.parametrize("width", [390, 1280])
def test_the_methods_names_logos_and_reasons_pass_axe_and_the_content_security_policy(
    page,
    live_server,
    every_method,
    axe,
    width,
):
    page.set_viewport_size({"width": width, "height": 900})
    refused = []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    open_checkout(page, live_server)
    page.get_by_role("radio", name=re.compile("Pickup Zurich")).check()
    expect(page.locator("#payment-methods").get_by_text(STRIPE_BELOW)).to_be_visible()
    assert refused == []
    violations = axe(page, f"checkout-limits-{width}")
    assert not violations, a11y.describe(violations)
