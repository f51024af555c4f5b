"""axe-core in headless Chromium on five key pages (storefront home, a product, the checkout with an item in the cart,
the back office's order list and an order), at 390 and 1280 px: no violation of impact "serious" or "critical".

axe-core comes from the npm registry: `.ci/run` installs it with
``npm install --no-save --prefix .ci/node axe-core@4``; run the same command once to have it locally. Without it the
test skips locally and fails in CI (CI=true), like a missing chromium.
"""

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import log_in
from tests.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent.parent / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SEVERE = ("serious", "critical")


@pytest.fixture
def axe(artifacts):
    """Run axe-core on the page as it is; keeps every violation in artifacts/axe-<name>.json and returns those of
    impact serious or critical."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is missing in CI: .ci/run must npm install it ({AXE})")
        pytest.skip("axe-core is not installed (npm install --no-save --prefix .ci/node axe-core@4)")

    def run(page, name):
        # evaluated through the DevTools protocol: a <script> tag would be refused by the page's CSP, rightly
        page.evaluate(AXE.read_text() + "\n;window.axe = axe;")
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        (artifacts / f"axe-{name}.json").write_text(json.dumps(result["violations"], indent=1))
        return [v for v in result["violations"] if v["impact"] in SEVERE]

    return run


def describe(violations) -> str:
    """The violations as a reviewer wants them in the failure message: rule, impact, help and the elements."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {violation['helpUrl']}")
        for node in violation["nodes"][:10]:
            lines.append(f"    {' '.join(node['target'])}: {node['html'][:160]}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines)


@pytest.fixture
def shop(store, shipping):
    coffee = CategoryFactory(name="Coffee & Tea", slug="coffee-tea")
    return ProductFactory(
        category=coffee,
        name="Alpine Blend Coffee",
        slug="alpine-blend",
        sku="COF-1",
        price=Decimal("18.90"),
        stock=8,
        is_featured=True,
    )


def open_home(page, live_server, shop, place):
    page.goto(live_server.url + "/en/")


def open_product(page, live_server, shop, place):
    page.goto(live_server.url + shop.get_absolute_url())


def open_checkout(page, live_server, shop, place):
    page.goto(live_server.url + shop.get_absolute_url())
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.goto(live_server.url + "/en/checkout/")
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()


def open_orders(page, live_server, shop, place):
    place(shop, 2)
    place(shop, 1, payment_method="invoice")
    log_in(page, live_server)
    page.goto(live_server.url + "/backoffice/orders/")
    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():  # on the phone: with the navigation open, so that axe checks it too
        menu.click()
        expect(page.get_by_role("navigation", name="Back office")).to_be_visible()


def open_order(page, live_server, shop, place):
    from orders.services import add_note
    from payments.services import record_offline_payment

    order = place(shop, 2)
    record_offline_payment(order, Decimal("20.00"), note="First instalment")  # a payment row, a balance due
    add_note(order, "The customer will pick up the rest next week.")
    log_in(page, live_server)
    page.goto(live_server.url + f"/backoffice/orders/{order.number}/")
    expect(page.get_by_role("region", name="Payments")).to_be_visible()


def open_order_declined(page, live_server, shop, place):
    """The shopper's order page after a declined online payment: the message, Try again, the other methods."""
    from payments.services import fail_payment

    order = place(shop, 1, payment_method="test")
    fail_payment(order.payments.get(), "Declined")
    page.goto(live_server.url + order.get_absolute_url() + "?payment=returned")
    expect(page.get_by_role("group", name="Or pay another way")).to_be_visible()


def open_new_order(page, live_server, shop, place):
    """Not one of the five, but its line rows had inputs without labels (axe: label, critical)."""
    log_in(page, live_server)
    page.goto(live_server.url + "/backoffice/orders/new/")


def open_abandoned_carts(page, live_server, shop, place):
    """Sales → Abandoned carts with a cart on it (the Standard plan)."""
    import datetime as dt

    from django.utils import timezone

    from shop.backoffice.models import Store
    from tests.factories import CartLineFactory

    Store.objects.filter(pk=1).update(plan="standard")
    CartLineFactory(
        product=shop,
        quantity=2,
        cart__email="anna@example.ch",
        cart__shopper_name="Anna Muster",
        cart__last_activity_at=timezone.now() - dt.timedelta(hours=3),
    )
    log_in(page, live_server)
    page.goto(live_server.url + "/backoffice/abandoned-carts/")
    expect(page.get_by_role("cell", name="2", exact=True)).to_be_visible()


def _left_cart(shop):
    import datetime as dt

    from django.utils import timezone

    from shop.backoffice.models import Store
    from tests.factories import CartLineFactory

    Store.objects.filter(pk=1).update(plan="standard")
    return CartLineFactory(
        product=shop,
        quantity=2,
        cart__email="anna@example.ch",
        cart__shopper_name="Anna Muster",
        cart__language="en",
        cart__last_activity_at=timezone.now() - dt.timedelta(hours=3),
    ).cart


def open_abandoned_cart(page, live_server, shop, place):
    """An abandoned cart's page: its lines, history, the "Send reminder" form and "Place this order"."""
    cart = _left_cart(shop)
    log_in(page, live_server)
    page.goto(live_server.url + f"/backoffice/abandoned-carts/{cart.pk}/")
    expect(page.get_by_role("button", name="Send reminder")).to_be_visible()


def open_recovery_choice(page, live_server, shop, place):
    """The recovery link in a browser whose cart has items: merge or replace."""
    from django.utils import translation

    from shop.cart.links import recovery_path
    from tests.factories import ProductFactory

    cart = _left_cart(shop)
    other = ProductFactory(name="Other Mug", slug="other-mug")
    page.goto(live_server.url + f"/en/p/{other.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    with translation.override("en"):
        page.goto(live_server.url + recovery_path(cart))
    expect(page.get_by_role("button", name="Replace my current cart")).to_be_visible()


def open_opt_out(page, live_server, shop, place):
    from urllib.parse import urlsplit

    from django.utils import translation

    from notifications.render import opt_out_url

    with translation.override("en"):
        page.goto(live_server.url + urlsplit(opt_out_url("anna@example.ch")).path)
    expect(page.get_by_role("button", name="Stop reminders")).to_be_visible()


PAGES = {
    "storefront-home": open_home,
    "product": open_product,
    "checkout": open_checkout,
    "backoffice-orders": open_orders,
    "backoffice-order": open_order,
    "backoffice-new-order": open_new_order,
    "order-declined": open_order_declined,
    "backoffice-abandoned-carts": open_abandoned_carts,
    "backoffice-abandoned-cart": open_abandoned_cart,
    "cart-recovery-choice": open_recovery_choice,
    "opt-out": open_opt_out,
}


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(page, live_server, shop, place, axe, name, width):
    page.set_viewport_size({"width": width, "height": 900})
    refused = []  # what the Content-Security-Policy blocked (Chromium says so on the console)
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    PAGES[name](page, live_server, shop, place)
    assert refused == [], f"{name}: the page needs what its Content-Security-Policy refuses"
    violations = axe(page, f"{name}-{width}")
    assert not violations, f"axe-core on {name} at {width} px ({page.url}):\n{describe(violations)}"
