from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from shop.cart import services
from shop.cart.models import Cart, CartLine
from shop.cart.tasks import purge_stale_carts
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db
THIRTY_DAYS = 30 * 24 * 60 * 60


def u(name):
    with translation.override("en"):
        return reverse(name)


def add(client, product, quantity=1, **extra):
    return client.post(u("cart:add"), {"product": product.pk, "quantity": quantity}, **extra)


def cart_page(client):
    return client.get(u("cart:detail")).content.decode()


def test_add_to_cart_without_javascript(client, product):
    response = add(client, product, 2)
    assert response.status_code == 302 and response["Location"] == u("cart:detail")
    html = client.get(response["Location"]).content.decode()
    assert "Alpine Blend Coffee was added to your cart." in html
    assert "CHF 37.80" in html  # line total and subtotal
    assert '<span id="cart-count" class="badge"' in html and ">2</span>" in html
    line = CartLine.objects.get()
    assert line.quantity == 2 and line.product == product


def test_adding_again_adds_up(client, product):
    add(client, product, 2)
    add(client, product, 3)
    assert CartLine.objects.get().quantity == 5
    assert Cart.objects.count() == 1


def test_add_with_htmx_answers_a_fragment_and_updates_the_header_count(client, product):
    response = add(client, product, 3, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "was added to your cart" in html
    assert 'id="cart-link" class="cart-link" href="/en/cart/" hx-swap-oob="true"' in html
    assert ">3</span>" in html
    assert "<html" not in html


def test_update_and_remove_with_htmx(client, product):
    add(client, product)
    line = CartLine.objects.get()
    response = client.post(u("cart:update"), {"line": line.pk, "quantity": 4}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="cart-body"' in html and "CHF 75.60" in html and "Quantity of Alpine Blend Coffee updated." in html
    assert 'hx-swap-oob="true"' in html  # header count and messages swapped out of band
    response = client.post(u("cart:remove"), {"line": line.pk}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Your cart is empty." in html and "was removed from your cart" in html
    assert not CartLine.objects.exists()


def test_update_and_remove_without_javascript(client, product):
    add(client, product)
    line = CartLine.objects.get()
    response = client.post(u("cart:update"), {"line": line.pk, "quantity": 7})
    assert response.status_code == 302
    assert "CHF 132.30" in cart_page(client)
    client.post(u("cart:remove"), {"line": line.pk})
    assert "Your cart is empty." in cart_page(client)


def test_cart_cookie_lives_30_days_signed_httponly_lax(client, product):
    response = add(client, product)
    cookie = response.cookies[settings.CART_COOKIE_NAME]
    assert cookie["max-age"] == THIRTY_DAYS
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP in tests
    cart = Cart.objects.get()
    assert cookie.value != cart.token and cookie.value.startswith(cart.token + ":")  # signed, not the bare token


def test_cart_cookie_is_secure_under_https(product):
    client = Client()
    response = client.post(u("cart:add"), {"product": product.pk, "quantity": 1}, secure=True)
    assert response.cookies[settings.CART_COOKIE_NAME]["secure"] is True


def test_cart_survives_a_browser_restart(client, product):
    """A fresh client carrying only the cart cookie (no session, nothing else) finds the same cart."""
    add(client, product, 2)
    cookie = client.cookies[settings.CART_COOKIE_NAME].value
    restarted = Client()
    restarted.cookies[settings.CART_COOKIE_NAME] = cookie
    html = cart_page(restarted)
    assert "Alpine Blend Coffee" in html and "CHF 37.80" in html


def test_cart_survives_29_days_but_not_31(client, product, time_machine=None):
    add(client, product)
    cookie = client.cookies[settings.CART_COOKIE_NAME].value
    cart = Cart.objects.get()
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - timedelta(days=29))
    assert purge_stale_carts.delay().get() == 0
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - timedelta(days=31))
    assert purge_stale_carts.delay().get() == 1
    assert not Cart.objects.exists()
    restarted = Client()
    restarted.cookies[settings.CART_COOKIE_NAME] = cookie
    response = restarted.get(u("cart:detail"))
    assert "Your cart is empty." in response.content.decode()
    assert response.cookies[settings.CART_COOKIE_NAME]["max-age"] == 0  # the dead cookie is cleared


def test_purge_keeps_ordered_carts(product):
    cart = Cart.objects.create(status=Cart.Status.ORDERED)
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - timedelta(days=90))
    assert services.purge_stale_carts() == 0


@pytest.mark.parametrize("value", ["garbage", "abc:def", "x" * 4000, "", "token:sig:extra"])
def test_tampered_cookie_is_a_fresh_empty_cart(client, product, value):
    add(client, product)
    client.cookies[settings.CART_COOKIE_NAME] = value
    response = client.get(u("cart:detail"))
    assert response.status_code == 200
    assert "Your cart is empty." in response.content.decode()
    # and the shopper can go on shopping: a new cart, a valid cookie
    assert add(client, product).status_code == 302
    assert Cart.objects.count() == 2


def test_someone_elses_line_cannot_be_touched(client, product):
    other = Client()
    add(other, product, 3)
    line = CartLine.objects.get()
    add(client, ProductFactory())
    response = client.post(u("cart:update"), {"line": line.pk, "quantity": 1}, follow=True)
    assert "This item is no longer in your cart." in response.content.decode()
    client.post(u("cart:remove"), {"line": line.pk})
    line.refresh_from_db()
    assert line.quantity == 3


@pytest.mark.parametrize("quantity", ["-1", "0", "100", "99999999999999999999999999", "abc", "1.5", "1e3", " "])
def test_bad_quantity_on_add_gets_a_message(client, product, quantity):
    response = client.post(u("cart:add"), {"product": product.pk, "quantity": quantity}, follow=True)
    assert response.status_code == 200
    assert "Please enter a quantity between 1 and 99." in response.content.decode()
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("quantity", ["-3", "0", "1000", "two", ""])
def test_bad_quantity_on_update_gets_a_message_and_keeps_the_line(client, product, quantity):
    add(client, product, 2)
    line = CartLine.objects.get()
    response = client.post(u("cart:update"), {"line": line.pk, "quantity": quantity}, follow=True)
    assert "Please enter a quantity between 1 and 99." in response.content.decode()
    line.refresh_from_db()
    assert line.quantity == 2


def test_bad_quantity_with_htmx_shows_the_message_in_place(client, product):
    response = add(client, product, "-5", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'class="message message--error" role="alert">Please enter a quantity between 1 and 99.' in (
        response.content.decode()
    )


@pytest.mark.parametrize("product_value", ["999999", "abc", "", "-4", "9" * 40])
def test_unknown_product_gets_a_message(client, product_value):
    response = client.post(u("cart:add"), {"product": product_value, "quantity": 1}, follow=True)
    assert response.status_code == 200
    assert "Sorry, this product is not available." in response.content.decode()
    assert not Cart.objects.exists()


def test_inactive_product_cannot_be_added(client):
    product = ProductFactory(is_active=False)
    response = add(client, product, follow=True)
    assert "Sorry, this product is not available." in response.content.decode()
    hidden_category = ProductFactory(category=CategoryFactory(is_active=False))
    response = add(client, hidden_category, follow=True)
    assert "Sorry, this product is not available." in response.content.decode()
    assert not CartLine.objects.exists()


def test_get_on_actions_is_refused_politely(client):
    assert client.get(u("cart:add")).status_code == 405


def test_sold_out_product_cannot_be_added(client):
    product = ProductFactory(name="Engadin Tea", stock=0)
    response = add(client, product, follow=True)
    assert "Sorry, Engadin Tea is sold out." in response.content.decode()
    assert not CartLine.objects.exists()


def test_add_more_than_stock_is_clamped_with_a_message(client):
    product = ProductFactory(name="Nusstorte", stock=3)
    response = add(client, product, 5, follow=True)
    assert "Only 3 Nusstorte available: your cart now holds 3." in response.content.decode()
    assert CartLine.objects.get().quantity == 3
    response = add(client, product, 1, follow=True)
    assert "You already have the 3 available Nusstorte in your cart." in response.content.decode()
    assert CartLine.objects.get().quantity == 3


def test_cart_view_clamps_and_flags_when_stock_changed(client):
    keep = ProductFactory(name="Mug", price="10", stock=10)
    shrink = ProductFactory(name="Blanket", price="100", stock=10)
    gone = ProductFactory(name="Peeler", price="5", stock=10)
    for product in (keep, shrink, gone):
        add(client, product, 4)
    type(keep).objects.filter(pk=shrink.pk).update(stock=2)
    type(keep).objects.filter(pk=gone.pk).update(stock=0)
    html = cart_page(client)
    assert "Only 2 Blanket left: we changed the quantity in your cart." in html
    assert "Peeler is sold out or no longer available" in html
    assert "cart-line--unavailable" in html
    assert "CHF 240.–" in html  # 4 × 10 + 2 × 100, the sold-out line left out
    assert CartLine.objects.get(product=shrink).quantity == 2


def test_update_is_clamped_to_stock(client):
    product = ProductFactory(name="Raclette Grill", stock=4)
    add(client, product)
    line = CartLine.objects.get()
    response = client.post(u("cart:update"), {"line": line.pk, "quantity": 9}, follow=True)
    assert "Only 4 Raclette Grill available: quantity set to 4." in response.content.decode()
    line.refresh_from_db()
    assert line.quantity == 4


def test_unlimited_stock_is_capped_at_the_line_maximum(client):
    product = ProductFactory(stock=None)
    add(client, product, 99)
    response = add(client, product, 1, follow=True)
    assert "You already have the 99 available" in response.content.decode()


def test_open_redirect_is_refused(client, product):
    response = client.post(u("cart:add"), {"product": product.pk, "quantity": "x", "next": "https://evil.example/"})
    assert response["Location"] == u("cart:detail")


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    product_value=st.one_of(st.text(max_size=30), st.integers().map(str)),
    quantity=st.one_of(st.text(max_size=30), st.integers().map(str)),
    htmx=st.booleans(),
)
def test_any_input_never_gives_a_server_error(client, product, product_value, quantity, htmx):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for path in ("cart:add", "cart:update", "cart:remove"):
        data = {"product": product_value, "line": product_value, "quantity": quantity}
        response = client.post(u(path), data, **extra)
        assert response.status_code in (200, 302)
