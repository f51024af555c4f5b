"""Abandoned carts (issue #13): the recovery link of a reminder restores the cart in any browser and opens checkout
filled in with what the shopper chose before; a link that can't do that says why, never with an error 500."""

import datetime as dt
import html
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
import time_machine
from django.http import HttpRequest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from orders.models import Order
from shop.cart import links
from shop.cart.middleware import SALT as COOKIE_SALT
from shop.cart.models import Cart, CartReminder
from tests.factories import ProductFactory
from tests.test_checkout import ADDRESS, add, order_now, u

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def mug(db):
    return ProductFactory(name="Enamel Mug", sku="MUG-1", price=Decimal("24.50"), stock=10)


@pytest.fixture
def scarf(db):
    return ProductFactory(name="Wool Scarf", sku="SCA-1", price=Decimal("39.00"), stock=10)


@pytest.fixture
def left_cart(client, store, shipping, mug):
    """In one browser a shopper put 3 mugs in the cart, chose pickup and cash on pickup, gave their e-mail and name at
    checkout, and left."""
    add(client, mug, 3)
    client.post(
        u("checkout:summary"),
        {
            **ADDRESS,
            "email": "anna@example.ch",
            "shipping_method": shipping["pickup"].pk,
            "payment_method": "cash_on_pickup",
        },
        HTTP_HX_REQUEST="true",
    )
    cart = Cart.objects.get()
    assert (cart.email, cart.shopper_name, cart.payment_method) == ("anna@example.ch", "Anna Muster", "cash_on_pickup")
    return cart


@pytest.fixture
def browser(db):
    """Another browser (another device), without a cart yet."""
    return Client()


def browser_cart(client) -> Cart | None:
    """The cart the browser's cookie stands for."""
    cookie = client.cookies.get("cart")
    if cookie is None or not cookie.value:
        return None
    request = HttpRequest()
    request.COOKIES = {"cart": cookie.value}
    token = request.get_signed_cookie("cart", salt=COOKIE_SALT)
    return Cart.objects.filter(token=token).first()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def checked(page: str, name: str) -> list[str]:
    """The values of the checked radios ``name`` on the page."""
    inputs = re.findall(rf'<input type="radio" name="{name}" value="([^"]*)"([^>]*)>', page)
    return [value for value, rest in inputs if re.search(r"\bchecked\b", rest)]


def input_value(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    value = re.search(r'value="([^"]*)"', tag)
    return html.unescape(value.group(1)) if value else ""


def test_the_link_opens_the_cart_in_another_browser_with_checkout_filled_in(left_cart, browser, shipping):
    response = browser.get(links.recovery_path(left_cart))
    assert response.status_code == 302 and response["Location"] == u("checkout:checkout")
    assert browser_cart(browser) == left_cart
    response = browser.get(response["Location"])
    page = response.content.decode()
    assert response.status_code == 200
    assert "Welcome back! Your cart is ready." in messages_of(response)
    assert input_value(page, "email") == "anna@example.ch"
    assert input_value(page, "billing_name") == "Anna Muster"  # pickup: the name goes on the billing address
    assert checked(page, "shipping_method") == [str(shipping["pickup"].pk)]
    assert checked(page, "payment_method") == ["cash_on_pickup"]
    # the summary follows the chosen delivery: pickup is free (Swiss Post would add CHF 7.–)
    assert "3 × Enamel Mug" in page and "(Pickup Zurich)" in page and 'id="checkout-total">CHF 73.50<' in page
    left_cart.refresh_from_db()
    assert left_cart.recovery_opened_at is not None


def test_a_delivery_by_post_is_filled_in_with_the_shipping_name(client, browser, store, shipping, mug):
    add(client, mug)
    client.post(
        u("checkout:summary"),
        {**ADDRESS, "email": "anna@example.ch", "shipping_method": shipping["post"].pk, "payment_method": "invoice"},
        HTTP_HX_REQUEST="true",
    )
    page = browser.get(links.recovery_path(Cart.objects.get()), follow=True).content.decode()
    assert input_value(page, "shipping_name") == "Anna Muster"
    assert checked(page, "shipping_method") == [str(shipping["post"].pk)]
    assert checked(page, "payment_method") == ["invoice"]
    assert "(Swiss Post)" in page and 'id="checkout-total">CHF 31.50<' in page


def test_a_method_no_longer_offered_is_not_chosen(left_cart, browser, shipping):
    shipping["pickup"].delete()
    page = browser.get(links.recovery_path(left_cart), follow=True).content.decode()
    assert checked(page, "shipping_method") == [str(shipping["post"].pk)]
    assert checked(page, "payment_method") == ["test"]  # cash on pickup goes with pickup only: the first one
    assert input_value(page, "shipping_name") == "Anna Muster"


def test_a_quantity_above_the_stock_is_lowered_and_the_shopper_told(left_cart, browser, mug):
    mug.stock = 2
    mug.save()
    response = browser.get(links.recovery_path(left_cart), follow=True)
    assert response.redirect_chain[-1][0] == u("checkout:checkout")
    said = messages_of(response)
    assert said.count("Only 2 Enamel Mug left: we changed the quantity in your cart.") == 1
    assert left_cart.lines.get().quantity == 2
    assert "2 × Enamel Mug" in response.content.decode()


def test_a_sold_out_product_is_said_on_the_cart_page(left_cart, browser, mug, scarf):
    left_cart.lines.create(product=scarf, quantity=1)
    mug.stock = 0
    mug.save()
    response = browser.get(links.recovery_path(left_cart), follow=True)
    assert response.redirect_chain[0][0] == u("cart:detail")
    said = messages_of(response)
    assert said.count("Enamel Mug is sold out or no longer available; it is not counted in your total.") == 1
    assert "Welcome back! Your cart is ready." in said
    assert browser_cart(browser) == left_cart


def test_an_empty_cart_of_the_browser_is_replaced_without_asking(left_cart, browser, mug):
    add(browser, mug)
    own = browser_cart(browser)
    browser.post(u("cart:remove"), {"line": own.lines.get().pk})
    response = browser.get(links.recovery_path(left_cart))
    assert response.status_code == 302 and response["Location"] == u("checkout:checkout")
    assert browser_cart(browser) == left_cart
    assert not Cart.objects.filter(pk=own.pk).exists()


@pytest.fixture
def own_cart(left_cart, browser, scarf):
    """The other browser has a cart of its own, with a scarf."""
    add(browser, scarf, 2)
    return browser_cart(browser)


def test_a_browser_with_its_own_items_is_asked_first(left_cart, browser, own_cart):
    response = browser.get(links.recovery_path(left_cart))
    page = response.content.decode()
    assert response.status_code == 200
    assert "3 × Enamel Mug" in page and "csrfmiddlewaretoken" in page
    assert 'name="mode" value="merge"' in page and "Add to my current cart" in page
    assert 'name="mode" value="replace"' in page and "Replace my current cart" in page
    assert f'action="{links.recovery_path(left_cart)}"' in page
    assert browser_cart(browser) == own_cart  # nothing changed yet
    left_cart.refresh_from_db()
    assert left_cart.recovery_opened_at is None


def test_merge_keeps_both_products(left_cart, browser, own_cart):
    response = browser.post(links.recovery_path(left_cart), {"mode": "merge"})
    assert response.status_code == 302 and response["Location"] == u("checkout:checkout")
    cart = browser_cart(browser)
    assert cart == left_cart
    assert sorted((line.product.name, line.quantity) for line in cart.lines.all()) == [
        ("Enamel Mug", 3),
        ("Wool Scarf", 2),
    ]
    assert not Cart.objects.filter(pk=own_cart.pk).exists()
    page = browser.get(u("checkout:checkout")).content.decode()
    assert "3 × Enamel Mug" in page and "2 × Wool Scarf" in page


def test_replace_keeps_only_the_recovered_products(left_cart, browser, own_cart):
    response = browser.post(links.recovery_path(left_cart), {"mode": "replace"})
    assert response.status_code == 302 and response["Location"] == u("checkout:checkout")
    cart = browser_cart(browser)
    assert cart == left_cart
    assert [(line.product.name, line.quantity) for line in cart.lines.all()] == [("Enamel Mug", 3)]
    assert not Cart.objects.filter(pk=own_cart.pk).exists()


@pytest.mark.parametrize("mode", [None, "", "both", "merge" * 100])
def test_without_a_valid_choice_the_question_comes_again(left_cart, browser, own_cart, mode):
    response = browser.post(links.recovery_path(left_cart), {} if mode is None else {"mode": mode})
    assert response.status_code == 200 and "Replace my current cart" in response.content.decode()
    assert browser_cart(browser) == own_cart and own_cart.lines.count() == 1


def test_a_tampered_link_gets_a_clear_page(left_cart, browser):
    path = links.recovery_path(left_cart)
    signed = path.rstrip("/").rsplit("/", 1)[1]
    tampered = signed[:-1] + ("A" if signed[-1] != "A" else "B")
    response = browser.get(u("cart:recover", signed=tampered))
    page = response.content.decode()
    assert response.status_code == 400
    assert "This link is not valid. Please copy it in full from the e-mail." in page
    assert 'href="/en/"' in page  # back to the shop
    assert browser_cart(browser) is None


def test_an_expired_link_gets_a_clear_page(left_cart, browser):
    with time_machine.travel(T0, tick=False) as clock:
        path = links.recovery_path(left_cart)
        clock.shift(dt.timedelta(days=31))
        response = browser.get(path)
    assert response.status_code == 410
    assert "This link has expired: carts are kept for 30 days." in response.content.decode()


def test_the_link_of_an_ordered_cart_says_so(left_cart, client, browser, shipping):
    path = links.recovery_path(left_cart)
    assert order_now(client, shipping=shipping["post"]).status_code == 302
    response = browser.get(path)
    assert response.status_code == 410
    assert "This cart has been ordered already. Thank you!" in response.content.decode()
    assert browser_cart(browser) is None


def test_the_link_of_a_purged_cart_says_so(left_cart, browser):
    path = links.recovery_path(left_cart)
    left_cart.delete()
    response = browser.get(path)
    assert response.status_code == 410
    assert "This cart is no longer available" in response.content.decode()


def test_an_order_placed_after_opening_the_link_recovers_the_cart_through_it(left_cart, browser, shipping):
    CartReminder.objects.create(cart=left_cart, kind="first")
    browser.get(links.recovery_path(left_cart))
    response = order_now(browser, shipping=shipping["post"])
    order = Order.objects.get()
    assert response.status_code == 302 and order.cart_id == left_cart.pk
    left_cart.refresh_from_db()
    assert left_cart.recovered_order == order and left_cart.recovered_via == "link"


@pytest.mark.parametrize("method", ["put", "delete"])
def test_other_methods_are_refused(left_cart, browser, method):
    assert getattr(browser, method)(links.recovery_path(left_cart)).status_code == 405


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    signed=st.one_of(
        st.text(min_size=1, max_size=300),
        st.from_regex(r"\A[\w-]{1,40}:[\w-]{1,10}:[\w-]{1,60}\Z"),  # shaped like a signed token
        st.just("a" * 5000),
    ),
    mode=st.text(max_size=20),
)
def test_any_link_is_never_an_error_500(client, store, signed, mode):
    path = u("cart:recover", signed="x").removesuffix("x/") + quote(signed, safe="") + "/"
    assert client.get(path).status_code in (400, 404)
    assert client.post(path, {"mode": mode}).status_code in (400, 404)
