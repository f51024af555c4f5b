"""A shopper orders the CHF 1.– test product in headless Chromium and pays with the test provider."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def test_product(store, shipping):
    return ProductFactory(
        category=CategoryFactory(name="Books & Digital", slug="books-digital"),
        name="Test product",
        slug="test-1",
        sku="TEST-1",
        price=Decimal("1.00"),
        stock=None,
        requires_shipping=False,
    )


def test_shopper_orders_the_test_product_and_pays(page, live_server, test_product, artifacts):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/en/p/test-1/")
    expect(page.get_by_text("CHF 1.–").first).to_be_visible()
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.get_by_role("link", name="View cart").click()
    page.get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_text("Test mode: orders placed now are test orders.")).to_be_visible()

    page.get_by_label("E-mail").fill("anna@example.ch")
    page.get_by_label("E-mail").blur()
    expect(page.locator("#email-status")).to_have_text("Saved.")
    page.get_by_label("Full name").fill("Anna Muster")
    page.get_by_label("Street and number").fill("Bahnhofstrasse 1")
    page.get_by_label("Postcode").fill("8001")
    page.get_by_label("City").fill("Zürich")
    page.get_by_role("radio", name=re.compile("Test payment")).check()
    expect(page.locator("#checkout-total")).to_have_text("CHF 1.–")
    page.screenshot(path=artifacts / "checkout.png", full_page=True)
    page.get_by_role("button", name="Order").click()

    expect(page.get_by_role("heading", name="Test payment")).to_be_visible()
    expect(page.get_by_text("CHF 1.–")).to_be_visible()
    page.screenshot(path=artifacts / "test-payment.png", full_page=True)
    page.get_by_role("button", name="Pay", exact=True).click()

    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    expect(page.locator("#order-status")).to_contain_text("Paid")
    expect(page.get_by_text("Test order")).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("0")
    page.screenshot(path=artifacts / "order-paid.png", full_page=True)
    order.refresh_from_db()
    assert order.payment_status == "paid" and order.is_test and order.total == Decimal("1.00")
    assert order.token in page.url and str(order.number) not in page.url.split("/")[-2]


def test_declined_then_paid_from_the_order_page(page, live_server, test_product, artifacts):
    page.goto(live_server.url + "/en/p/test-1/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.goto(live_server.url + "/en/checkout/")
    page.get_by_label("E-mail").fill("ben@example.ch")
    page.get_by_label("Full name").fill("Ben")
    page.get_by_label("Street and number").fill("Weg 2")
    page.get_by_label("Postcode").fill("3000")
    page.get_by_label("City").fill("Bern")
    page.get_by_role("radio", name=re.compile("Test payment")).check()
    page.get_by_role("button", name="Order").click()  # right away, while htmx may still update the summary
    expect(page.get_by_role("heading", name="Test payment")).to_be_visible()
    page.get_by_role("button", name="Decline").click()
    expect(page.get_by_text("Your payment did not go through.")).to_be_visible()
    expect(page.locator("#order-status")).to_contain_text("Awaiting payment")
    expect(page.get_by_role("group", name="Or pay another way")).to_be_visible()
    page.screenshot(path=artifacts / "order-declined.png", full_page=True)
    page.get_by_role("button", name="Try again: Test payment").click()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.locator("#order-status")).to_contain_text("Paid")


# --- The checkout never changes what the shopper chose (issue #10) ---------------------------------------------------
#
# While the shopper fills the form, every `change` (a field left, a method chosen) posts the form to the summary
# endpoint. The choice the shopper makes right after leaving a field must survive that request whenever its answer
# arrives: after the click (the answer redraws what was clicked) or between pressing and releasing the button (the
# element under the pointer is replaced, the click never happens). Both timings are made deterministic below.

# Counts the form's htmx requests, so that a test can wait until every answer has been swapped in and settled.
COUNT_HTMX = """() => {
  window.__htmx = {sent: 0, done: 0};
  document.body.addEventListener("htmx:beforeRequest", () => window.__htmx.sent++);
  document.body.addEventListener("htmx:afterRequest", () => window.__htmx.done++);
}"""
SETTLED = """(atLeast) => window.__htmx.sent >= atLeast && window.__htmx.sent === window.__htmx.done
  && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling")"""


def settled(page, at_least=1):
    """Wait until at least ``at_least`` summary requests were sent and every one of them was answered and settled."""
    page.wait_for_function(SETTLED, arg=at_least)
    return page.evaluate("() => window.__htmx.sent")


@pytest.fixture
def mug(store, shipping):
    return ProductFactory(name="Enamel Mug", slug="enamel-mug", sku="MUG-1", price=Decimal("24.50"), stock=10)


def open_checkout(page, live_server, product, slow_summary_ms=0):
    """The checkout with one product in the cart. ``slow_summary_ms`` holds every summary answer back that long (a
    slow phone network): the shopper's next click then always happens before the answer arrives."""
    page.goto(live_server.url + f"/en/p/{product.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    if slow_summary_ms:

        def hold_back(route):
            page.wait_for_timeout(slow_summary_ms)
            route.continue_()

        page.route("**/checkout/summary/", hold_back)
    page.goto(live_server.url + "/en/checkout/")
    page.evaluate(COUNT_HTMX)
    page.get_by_label("E-mail").fill("anna@example.ch")
    return page


def payment_radio(page, code):
    from payments.providers import PROVIDERS

    return page.get_by_role("radio", name=re.compile("^" + re.escape(str(PROVIDERS[code].name))))


def fill_address(page, group):
    """Fill an address; the city is typed key by key as the last field (the shopper leaves it by clicking)."""
    box = page.get_by_role("group", name=group)
    box.get_by_label("Full name").fill("Anna Muster")
    box.get_by_label("Street and number").fill("Bahnhofstrasse 1")
    box.get_by_label("Postcode").fill("8001")
    city = box.get_by_label("City")
    city.press_sequentially("Zürich")
    return city


def order_and_get(page):
    page.get_by_role("button", name="Order").click()
    expect(page).not_to_have_url(re.compile(r"/checkout/$"))  # placed: off to the order or the payment page
    return Order.objects.get()


OFFERED = [  # every method the test store offers: test, bank_transfer, invoice; cash on pickup only with pickup
    pytest.param("test", False, id="test"),
    pytest.param("bank_transfer", False, id="bank_transfer"),
    pytest.param("invoice", False, id="invoice"),
    pytest.param("cash_on_pickup", True, id="cash_on_pickup"),
]


def _prepare(page, live_server, mug, pickup, slow_summary_ms=0):
    open_checkout(page, live_server, mug, slow_summary_ms=slow_summary_ms)
    if pickup:
        page.get_by_role("radio", name=re.compile("^Pickup Zurich")).check()
        expect(payment_radio(page, "cash_on_pickup")).to_be_visible()
        return fill_address(page, "3. Billing address")
    return fill_address(page, "2. Delivery")


def choose_invoice_then_type(page):
    payment_radio(page, "invoice").click()  # itself right after typing the city: must stick as well
    settled(page)
    expect(payment_radio(page, "invoice")).to_be_checked()
    page.get_by_role("group", name="1. Contact").get_by_label("Phone (optional)").press_sequentially("044 123")


@pytest.mark.parametrize("method, pickup", OFFERED)
def test_a_payment_method_clicked_right_after_typing_is_ordered(page, live_server, mug, method, pickup):
    """Answer after the click: the shopper types the last field and clicks a method at once, the summary answers
    later (held back 300 ms). The method clicked is the one ordered."""
    _prepare(page, live_server, mug, pickup, slow_summary_ms=300)
    if method == "test":  # checked from the start: choose another one first, then type a field and click "test"
        choose_invoice_then_type(page)
    before = settled(page)  # nothing in flight: the click's own change event sends the next request
    payment_radio(page, method).click()  # blurs the field: its change event posts the form
    assert page.evaluate("() => window.__htmx.sent") > before  # the click did race a summary request
    settled(page, before + 1)
    expect(payment_radio(page, method)).to_be_checked()
    order = order_and_get(page)
    assert order.payment_method == method
    assert order.is_pickup is pickup


@pytest.mark.parametrize("method, pickup", OFFERED)
def test_a_payment_method_pressed_while_the_summary_is_redrawn_is_ordered(page, live_server, mug, method, pickup):
    """Answer between press and release: the summary is swapped in while the mouse button is down on a method."""
    _prepare(page, live_server, mug, pickup)
    if method == "test":
        choose_invoice_then_type(page)
    before = settled(page)
    payment_radio(page, method).hover()
    page.mouse.down()  # the field loses focus now: change → the summary request
    settled(page, before + 1)  # … which is answered and swapped in while the button is still pressed
    page.mouse.up()
    expect(payment_radio(page, method)).to_be_checked()
    settled(page)
    order = order_and_get(page)
    assert order.payment_method == method


@pytest.mark.parametrize("shipping_name", ["Pickup Zurich", "Swiss Post"])
def test_a_shipping_method_clicked_right_after_typing_is_ordered(page, live_server, mug, shipping_name):
    open_checkout(page, live_server, mug, slow_summary_ms=300)
    shipping_radio = page.get_by_role("radio", name=re.compile("^" + shipping_name))
    if shipping_name == "Swiss Post":  # checked from the start: choose pickup first, then come back
        page.get_by_role("radio", name=re.compile("^Pickup Zurich")).check()
    fill_address(page, "3. Billing address")  # the city is typed last …
    before = settled(page)
    shipping_radio.click()  # … and left by clicking the shipping method
    assert page.evaluate("() => window.__htmx.sent") > before  # the click did race a summary request
    settled(page, before + 1)
    expect(shipping_radio).to_be_checked()
    if shipping_name == "Swiss Post":  # the shipping address is asked for again
        fill_address(page, "2. Delivery")
    payment_radio(page, "bank_transfer").click()
    settled(page)
    order = order_and_get(page)
    assert order.shipping_method_name == shipping_name
    assert order.payment_method == "bank_transfer"


def test_arrow_keys_on_the_payment_methods_keep_the_focus(page, live_server, mug):
    open_checkout(page, live_server, mug)
    fill_address(page, "2. Delivery")
    first = payment_radio(page, "test")
    first.focus()
    sent = settled(page)
    page.keyboard.press("ArrowDown")
    settled(page, sent + 1)  # the change posted the form, the answer was swapped in
    second = payment_radio(page, "bank_transfer")
    expect(second).to_be_checked()
    expect(second).to_be_focused()
    page.keyboard.press("ArrowDown")
    settled(page, sent + 2)
    expect(payment_radio(page, "invoice")).to_be_checked()
    expect(payment_radio(page, "invoice")).to_be_focused()
    order = order_and_get(page)
    assert order.payment_method == "invoice"


def test_arrow_keys_on_the_shipping_methods_keep_the_focus_and_the_payment_choice(page, live_server, mug):
    open_checkout(page, live_server, mug)
    page.evaluate("() => { document.getElementById('payment-methods').dataset.loaded = 'yes'; }")
    payment_radio(page, "invoice").check()
    post = page.get_by_role("radio", name=re.compile("^Swiss Post"))
    post.focus()
    sent = settled(page)
    page.keyboard.press("ArrowDown")
    settled(page, sent + 1)
    pickup = page.get_by_role("radio", name=re.compile("^Pickup Zurich"))
    expect(pickup).to_be_checked()
    expect(pickup).to_be_focused()
    expect(payment_radio(page, "cash_on_pickup")).to_be_visible()  # offered with pickup only
    expect(payment_radio(page, "invoice")).to_be_checked()  # what the shopper chose stays chosen
    expect(page.locator("#checkout-summary")).to_contain_text("Pickup Zurich")

    payment_radio(page, "cash_on_pickup").check()
    pickup.focus()
    sent = settled(page)
    page.keyboard.press("ArrowUp")  # back to Swiss Post: cash on pickup is not offered any more
    settled(page, sent + 1)
    expect(post).to_be_focused()
    expect(payment_radio(page, "cash_on_pickup")).to_be_hidden()
    expect(payment_radio(page, "test")).to_be_checked()  # the first method offered
    page.keyboard.press("ArrowDown")  # pickup again: the shopper's own choice comes back
    settled(page, sent + 2)
    expect(payment_radio(page, "cash_on_pickup")).to_be_checked()
    # None of this redrew the payment methods: the block on the page is the one it was loaded with.
    assert page.evaluate("() => document.getElementById('payment-methods').dataset.loaded") == "yes"
    fill_address(page, "3. Billing address")
    order = order_and_get(page)
    assert order.payment_method == "cash_on_pickup" and order.is_pickup


def test_a_redraw_of_the_payment_methods_keeps_the_current_choice_and_the_focus(page, live_server, mug):
    """The fallback: a page whose offer the server does not share (here made stale by hand) gets the payment block
    again. The answer, computed for an older choice, lands after the shopper moved on: their newer choice and the
    focus are kept."""
    open_checkout(page, live_server, mug, slow_summary_ms=300)
    fill_address(page, "2. Delivery")
    payment_radio(page, "bank_transfer").check()
    sent = settled(page)
    page.evaluate("() => { document.querySelector('input[name=payment_offer]').value = 'stale'; }")
    payment_radio(page, "bank_transfer").focus()
    page.keyboard.press("ArrowDown")  # invoice: posted with the stale offer, answered with the block 300 ms later
    page.keyboard.press("ArrowDown")  # test (cash on pickup is skipped: not offered with shipping)
    settled(page, sent + 2)
    offer = page.locator("input[name=payment_offer]")
    expect(offer).to_have_value("test bank_transfer invoice")  # the block was redrawn …
    expect(payment_radio(page, "test")).to_be_checked()  # … with the shopper's current choice
    expect(payment_radio(page, "test")).to_be_focused()
    order = order_and_get(page)
    assert order.payment_method == "test"


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 900)])
def test_after_a_failed_order_the_first_field_in_error_has_the_focus_clear_of_the_header(
    page, live_server, mug, artifacts, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    open_checkout(page, live_server, mug)
    page.screenshot(path=artifacts / f"checkout-{width}.png", full_page=True)
    delivery = page.get_by_role("group", name="2. Delivery")
    delivery.get_by_label("Full name").fill("Anna Muster")
    page.get_by_role("button", name="Order").click()
    expect(page.get_by_text("Please check the highlighted fields.")).to_be_attached()
    street = delivery.get_by_label("Street and number")
    expect(street).to_be_focused()
    page.screenshot(path=artifacts / f"checkout-error-{width}.png")

    def clear_of_the_header(locator):
        header = page.locator(".site-header").bounding_box()
        box = locator.bounding_box()
        return box["y"] >= header["y"] + header["height"] and box["y"] + box["height"] <= height

    assert clear_of_the_header(street)
    # With the keyboard: the field above, half under the sticky header, is scrolled clear of it when it gets the focus.
    company = delivery.get_by_label("Company (optional)")
    header_bottom = page.evaluate("() => document.querySelector('.site-header').getBoundingClientRect().bottom")
    page.evaluate(
        "([el, bottom]) => window.scrollBy(0, el.getBoundingClientRect().top - bottom + 20)",
        [company.element_handle(), header_bottom],
    )
    assert not clear_of_the_header(company)
    page.keyboard.press("Shift+Tab")
    expect(company).to_be_focused()
    assert clear_of_the_header(company)
