"""The back office on a 390 px phone and a 1280 px laptop, in headless Chromium: no page wider than the screen, tables
that scroll inside their card in a region the keyboard reaches, the order page's tables whole at 1280 px, and a Menu
button that opens and closes the navigation on a phone (which stays reachable without JavaScript)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser import log_in
from tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}

# Every table wrapper in the page: how wide its content is, whether it scrolls and how it is reachable.
TABLES = """() => [...document.querySelectorAll('main table')].map(table => {
  const box = table.parentElement;
  const last = table.querySelector('tr > :last-child').getBoundingClientRect();
  return {
    head: table.querySelector('th').textContent.trim(), table: table.className, wrapper: box.className,
    role: box.getAttribute('role'), tabindex: box.getAttribute('tabindex'),
    label: box.getAttribute('aria-label') || box.getAttribute('aria-labelledby'),
    lastRight: last.right, boxRight: box.getBoundingClientRect().right - box.clientLeft,
    scrolls: box.scrollWidth > box.clientWidth, overflowX: getComputedStyle(box).overflowX,
  };
})"""


@pytest.fixture
def busy_order(store, shipping):
    """An order as a merchant sees it after a few days: long product names, a declined card, part paid, a note."""
    from orders.services import add_note
    from payments.services import create_payment, record_offline_payment
    from shop.cart.services import add_to_cart
    from shop.checkout.services import CheckoutData, place_order

    fondue = ProductFactory(
        name="Cast-Iron Fondue Set with Six Forks and a Burner", sku="FON-CAST-6", price=Decimal("1249.50"), stock=5
    )
    coffee = ProductFactory(name="Alpine Blend Coffee, whole beans, 1 kg", sku="COF-ALP-1000", price=Decimal("18.90"))
    cart, _message = add_to_cart(None, fondue.pk, 1)
    add_to_cart(cart.token, coffee.pk, 12)
    data = CheckoutData(
        email="anna.muster-schneider@example.ch",
        payment_method="bank_transfer",
        shipping_method_id=shipping["post"].pk,
        shipping={
            "name": "Anna Muster",
            "street": "Bahnhofstrasse 1",
            "postcode": "8001",
            "city": "Zürich",
            "country": "CH",
        },
    )
    order = place_order(cart.token, data, "en")
    declined = create_payment(order, "stripe")
    declined.status, declined.failure_message = "failed", "Your card was declined."
    declined.provider_reference = "pi_3PqR8sLkd92xYz0a1B2c3D4e5F6g"
    declined.save()
    record_offline_payment(order, Decimal("1000.00"), note="Received on the ZKB account")
    add_note(order, "The customer asks for gift wrapping and delivery before Friday.")
    return order


def page_width(page):
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def table_headed(tables, head):
    """The table whose first column header is ``head``."""
    found = [table for table in tables if table["head"] == head]
    assert len(found) == 1, f"one table headed {head!r} expected: {tables}"
    return found[0]


def assert_tables_reachable(tables):
    """A table wider than its card scrolls inside it, in a labelled region the keyboard can focus."""
    for table in tables:
        assert "table-scroll" in table["wrapper"].split(), table
        assert table["overflowX"] == "auto" and table["role"] == "region" and table["label"], table
        if table["scrolls"]:
            assert table["tabindex"] == "0", table
        else:
            assert table["lastRight"] <= table["boxRight"] + 1, table  # fits: nothing is cut off


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390", "1280"])
def test_order_page_fits_the_screen_and_never_clips_its_tables(page, live_server, busy_order, artifacts, viewport):
    page.set_viewport_size(viewport)
    log_in(page, live_server)
    page.goto(live_server.url + f"/backoffice/orders/{busy_order.number}/")
    expect(page.get_by_role("heading", name=f"Order #{busy_order.number}")).to_be_visible()
    page.screenshot(path=artifacts / f"backoffice-order-{viewport['width']}.png", full_page=True)

    scroll_width, inner_width = page_width(page)
    assert scroll_width <= inner_width, f"the page is {scroll_width} px wide on a {inner_width} px screen"
    tables = page.evaluate(TABLES)
    lines, payments = (table_headed(tables, head) for head in ("Product", "Provider"))
    if viewport is LAPTOP:  # beside the fulfilment column, both tables are whole: Total and Date are not cut off
        assert lines["lastRight"] <= lines["boxRight"] + 1 and not lines["scrolls"], f"Total is cut off: {lines}"
        assert payments["lastRight"] <= payments["boxRight"] + 1 and not payments["scrolls"], f"Date: {payments}"
    # Total is whole, or its row scrolls inside the card
    assert lines["lastRight"] <= lines["boxRight"] + 1 or lines["scrolls"], f"Total is cut off: {lines}"
    assert_tables_reachable(tables)
    if viewport is LAPTOP:
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    else:  # on the phone the line table scrolls in its card, and the keyboard scrolls it to the Total column
        region = page.get_by_role("region", name="Order lines")
        assert lines["scrolls"] and region.get_attribute("tabindex") == "0"
        region.focus()
        for _ in range(30):
            page.keyboard.press("ArrowRight")
        # Chromium scrolls smoothly: wait until the Total column has come into the card
        page.wait_for_function(
            """() => { const box = document.querySelector('.table--lines').parentElement.getBoundingClientRect();
                const total = document.querySelector('.table--lines tr > :last-child').getBoundingClientRect();
                return total.right <= box.right + 1 && total.left >= box.left; }""",
            timeout=5000,
        )
        expect(region.get_by_role("columnheader", name="Total")).to_be_in_viewport()
        page.screenshot(path=artifacts / "backoffice-order-390-lines-scrolled.png")


PAGES = {
    "dashboard": "/backoffice/",
    "orders": "/backoffice/orders/",
    "process-orders": "/backoffice/orders/process/",
    "new-order": "/backoffice/orders/new/",
    "settings-general": "/backoffice/settings/general/",
    "settings-payment": "/backoffice/settings/payment/",
    "settings-shipping": "/backoffice/settings/shipping/",
    "settings-email": "/backoffice/settings/email/",
    "email-log": "/backoffice/settings/email/log/",
    "products": "/backoffice/catalog/products/",
    "categories": "/backoffice/catalog/categories/",
}


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390", "1280"])
def test_back_office_pages_fit_the_screen(page, live_server, busy_order, place, artifacts, viewport):
    for number in range(3):
        place(ProductFactory(name=f"Raclette Oven for Four, model {number}", price=Decimal("46.00")))
    page.set_viewport_size(viewport)
    log_in(page, live_server)
    too_wide = {}
    for name, url in PAGES.items():
        page.goto(live_server.url + url)
        page.screenshot(path=artifacts / f"backoffice-{name}-{viewport['width']}.png", full_page=True)
        scroll_width, inner_width = page_width(page)
        if scroll_width > inner_width:
            too_wide[name] = scroll_width
        assert_tables_reachable(page.evaluate(TABLES))
    assert not too_wide, f"wider than the {viewport['width']} px screen: {too_wide}"


def test_menu_button_shows_and_hides_the_navigation_on_a_phone(page, live_server, artifacts):
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    nav = page.locator("#bo-nav")  # a collapsed navigation is out of the accessibility tree: found by its id
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_have_attribute("aria-controls", "bo-nav")
    expect(nav).to_be_hidden()

    # by keyboard: the skip link, then the Menu button; Enter opens it, Tab goes on into the navigation
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("navigation", name="Back office")).to_be_visible()
    page.screenshot(path=artifacts / "backoffice-menu-open-390.png")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('#bo-nav')"):
            break
    assert page.evaluate("document.activeElement.textContent.trim()") == "Dashboard"
    page.keyboard.press("Escape")  # closes the menu and gives the focus back to its button
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    expect(menu).to_have_attribute("aria-expanded", "false")

    menu.click()
    nav.get_by_role("link", name="Process orders").click()
    expect(page.get_by_role("heading", name="Process orders")).to_be_visible()
    expect(nav).to_be_hidden()  # a new page starts with the menu closed
    assert page_width(page)[0] <= PHONE["width"]


def test_navigation_is_reachable_without_javascript(page, live_server, artifacts):
    log_in(page, live_server)
    context = page.context.browser.new_context(java_script_enabled=False, viewport=PHONE)
    context.add_cookies(page.context.cookies())
    plain = context.new_page()
    plain.goto(live_server.url + "/backoffice/orders/")
    nav = plain.get_by_role("navigation", name="Back office")
    expect(nav).to_be_visible()  # above the content
    expect(plain.get_by_role("button", name="Menu")).to_be_hidden()  # it would do nothing without the script
    plain.screenshot(path=artifacts / "backoffice-no-js-390.png", full_page=True)
    assert page_width(plain)[0] <= PHONE["width"]
    nav.get_by_role("link", name="Shipping").click()
    expect(plain.get_by_role("heading", name="Shipping settings")).to_be_visible()
    context.close()
