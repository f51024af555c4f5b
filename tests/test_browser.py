"""A shopper in headless Chromium (Debian's, driven by Playwright): home → category → product → cart."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(db):
    coffee = CategoryFactory(name="Coffee & Tea", slug="coffee-tea", position=0)
    CategoryFactory(name="Kitchen", slug="kitchen", position=1)
    beans = ProductFactory(
        category=coffee, name="Alpine Blend Coffee", slug="alpine-blend", price="18.90", stock=3, is_featured=True
    )
    ProductFactory(category=coffee, name="Engadin Tea", slug="engadin-tea", price="11.20", stock=0)
    return beans


def test_shopper_browses_and_fills_the_cart(page, live_server, shop, artifacts):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/en/")
    expect(page.get_by_role("heading", name="Featured products")).to_be_visible()
    page.screenshot(path=artifacts / "home.png", full_page=True)

    page.get_by_role("navigation", name="Categories").get_by_role("link", name="Coffee & Tea").click()
    expect(page.get_by_role("heading", name="Coffee & Tea")).to_be_visible()
    expect(page.get_by_text("2 products")).to_be_visible()
    expect(page.locator(".card", has_text="Engadin Tea")).to_contain_text("Sold out")
    page.screenshot(path=artifacts / "category.png", full_page=True)

    page.get_by_role("link", name="Alpine Blend Coffee").first.click()
    expect(page.get_by_role("heading", name="Alpine Blend Coffee")).to_be_visible()
    expect(page.get_by_text("CHF 18.90").first).to_be_visible()
    expect(page.get_by_text("Only 3 left")).to_be_visible()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    # htmx: the page stays, the message appears and the header count changes in place
    expect(page.get_by_role("status").filter(has_text="was added to your cart")).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("2")
    assert re.search(r"/en/p/alpine-blend/$", page.url)
    page.screenshot(path=artifacts / "product.png", full_page=True)

    page.get_by_role("link", name=re.compile("Cart")).click()
    expect(page.get_by_role("heading", name="Your cart")).to_be_visible()
    expect(page.locator("#cart-subtotal")).to_have_text("CHF 37.80")
    page.get_by_label("Quantity of Alpine Blend Coffee").fill("3")
    page.get_by_role("button", name="Update").click()
    expect(page.get_by_text("Quantity of Alpine Blend Coffee updated.")).to_be_visible()
    expect(page.locator("#cart-subtotal")).to_have_text("CHF 56.70")
    expect(page.locator("#cart-count")).to_have_text("3")
    page.screenshot(path=artifacts / "cart.png", full_page=True)

    # The cart outlives the browser: a new context that only carries the cookie finds it.
    cookies = [c for c in page.context.cookies() if c["name"] == "cart"]
    assert cookies and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Lax"
    fresh = page.context.browser.new_context()
    fresh.add_cookies(cookies)
    again = fresh.new_page()
    again.goto(live_server.url + "/en/cart/")
    expect(again.locator("#cart-subtotal")).to_have_text("CHF 56.70")
    fresh.close()

    page.get_by_role("button", name="Remove Alpine Blend Coffee").click()
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.locator("#cart-count")).to_have_text("0")


def test_phone_layout_and_language_switch(page, live_server, shop, artifacts):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/en/p/alpine-blend/")
    page.get_by_role("link", name="FR", exact=True).click()
    expect(page.get_by_role("button", name="Ajouter au panier")).to_be_visible()
    assert "/fr/p/alpine-blend/" in page.url
    page.screenshot(path=artifacts / "product-phone-fr.png", full_page=True)
    page.get_by_role("link", name="DE", exact=True).click()
    expect(page.get_by_role("button", name="In den Warenkorb")).to_be_visible()
    # no horizontal scrolling on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
