"""Abandoned carts (issue #13), first part: what the cart keeps as the shopper checks out, its own clock of the
shopper's activity (bookkeeping never moves it), which carts count as abandoned, and the purge by that clock."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from notifications.models import EmailSettings
from shop.cart import services
from shop.cart.models import Cart, CartLine, CartReminder
from tests.factories import ProductFactory
from tests.factories import left_cart as make_left_cart
from tests.test_checkout import ADDRESS, add, order_now, u

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def mug(db):
    return ProductFactory(name="Enamel Mug", sku="MUG-1", price=Decimal("24.50"), stock=10)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def left_cart(client, store, shipping, mug, clock):
    """A shopper put a mug in the cart and gave their e-mail at checkout at T0, then left."""
    add(client, mug)
    client.post(u("checkout:summary"), {"email": "anna@example.ch"}, HTTP_HX_REQUEST="true")
    return Cart.objects.get()


def abandoned() -> list[int]:
    return list(services.abandoned_carts().values_list("pk", flat=True))


def test_a_cart_is_abandoned_two_hours_after_the_shoppers_last_action(left_cart, clock):
    clock.shift(dt.timedelta(minutes=119, seconds=59))
    assert abandoned() == []
    clock.shift(dt.timedelta(seconds=1))
    assert abandoned() == [left_cart.pk]


def test_the_idle_time_is_a_setting(left_cart, clock, settings):
    settings.CART_ABANDONED_AFTER_MINUTES = 30
    clock.shift(dt.timedelta(minutes=30))
    assert abandoned() == [left_cart.pk]


def test_no_email_or_no_items_or_an_order_is_not_abandoned(client, store, shipping, mug, clock, place):
    add(client, mug)  # no e-mail given
    anonymous = Cart.objects.get()
    with_email_no_items = Cart.objects.create(email="leer@example.ch")
    order = place(mug)  # ordered: its cart is no longer open
    clock.shift(dt.timedelta(hours=3))
    assert abandoned() == []
    assert {anonymous.pk, with_email_no_items.pk, order.cart_id} <= set(Cart.objects.values_list("pk", flat=True))


def test_an_order_with_the_same_email_from_another_cart_ends_the_recovery(left_cart, clock, client, mug, shipping):
    clock.shift(dt.timedelta(hours=3))
    assert abandoned() == [left_cart.pk]
    client.cookies.clear()  # another browser: another cart, the same shopper
    add(client, mug)
    assert order_now(client, shipping=shipping["post"], email="ANNA@example.ch").status_code == 302
    clock.shift(dt.timedelta(hours=3))
    assert abandoned() == []
    assert list(services.ordered_after_leaving().values_list("pk", flat=True)) == [left_cart.pk]


def test_an_order_from_before_the_cart_was_left_does_not_end_it(client, store, shipping, mug, clock, place):
    place(mug)  # anna@example.ch ordered once, at T0
    clock.shift(dt.timedelta(days=2))
    add(client, mug)
    client.post(u("checkout:summary"), {"email": "anna@example.ch"}, HTTP_HX_REQUEST="true")
    clock.shift(dt.timedelta(hours=2))
    assert abandoned() == [Cart.objects.filter(status="open").get().pk]


def test_bookkeeping_never_moves_the_shoppers_activity(left_cart, clock, mug):
    clock.shift(dt.timedelta(hours=5))
    cart = Cart.objects.get(pk=left_cart.pk)
    cart.save()  # any save by the shop (a status, a reminder's bookkeeping): updated_at moves, the activity not
    mug.stock = 0
    mug.save()
    services.review_cart(cart.token)  # the shop reading the cart (and clamping it to stock)
    cart.refresh_from_db()
    assert cart.updated_at == T0 + dt.timedelta(hours=5) and cart.last_activity_at == T0
    assert abandoned() == [cart.pk]


def test_each_shopper_action_moves_the_activity(client, store, shipping, mug, clock):
    add(client, mug)
    cart = Cart.objects.get()
    line = CartLine.objects.get()
    for minutes, action in (
        (10, lambda: add(client, mug)),
        (20, lambda: client.post(u("cart:update"), {"line": line.pk, "quantity": 3})),
        (30, lambda: client.post(u("checkout:summary"), {"email": "a@example.ch"}, HTTP_HX_REQUEST="true")),
        (40, lambda: client.post(u("checkout:checkout"), {"email": "a@example.ch"})),  # incomplete: not ordered
        (50, lambda: client.post(u("cart:remove"), {"line": line.pk})),
    ):
        clock.move_to(T0 + dt.timedelta(minutes=minutes))
        action()
        cart.refresh_from_db()
        assert cart.last_activity_at == T0 + dt.timedelta(minutes=minutes), minutes


def test_the_cart_keeps_what_the_shopper_chose_at_checkout(client, store, shipping, mug, clock):
    add(client, mug)
    client.post(
        u("checkout:summary"),
        {**ADDRESS, "email": "anna@example.ch", "shipping_method": shipping["post"].pk, "payment_method": "invoice"},
        HTTP_HX_REQUEST="true",
    )
    cart = Cart.objects.get()
    assert (cart.email, cart.shopper_name, cart.shipping_method, cart.payment_method, cart.language) == (
        "anna@example.ch",
        "Anna Muster",
        shipping["post"],
        "invoice",
        "en",
    )
    # what can't be right is not kept, and what was kept stays
    client.post(
        u("checkout:summary"),
        {"email": "x" * 300 + "@example.ch", "shipping_method": "999", "payment_method": "stripe\x00"},
        HTTP_HX_REQUEST="true",
    )
    cart.refresh_from_db()
    assert (cart.email, cart.shipping_method, cart.payment_method) == ("anna@example.ch", shipping["post"], "invoice")


def test_carts_without_an_order_are_purged_thirty_days_after_the_last_activity(left_cart, clock):
    clock.shift(dt.timedelta(days=29, hours=23))
    Cart.objects.get(pk=left_cart.pk).save()  # bookkeeping on day 29 does not keep it alive
    assert services.purge_stale_carts() == 0
    clock.shift(dt.timedelta(hours=2))
    assert services.purge_stale_carts() == 1
    assert not Cart.objects.filter(pk=left_cart.pk).exists()


def test_existing_carts_keep_their_idle_time_through_the_migration():
    """The migration copies updated_at (the old last activity) into last_activity_at."""
    from importlib import import_module

    migration = import_module("shop.cart.migrations.0002_cart_checkout_choices_last_activity")
    cart = Cart.objects.create(email="old@example.ch")
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - dt.timedelta(days=12))
    from django.apps import apps

    migration.last_activity_from_updated_at(apps, None)
    cart.refresh_from_db()
    assert cart.last_activity_at == cart.updated_at


# Sales → Abandoned carts ------------------------------------------------------------------------------------------

PAGE = "/backoffice/abandoned-carts/"


@pytest.fixture
def standard(store):
    store.plan = "standard"
    store.test_mode = False  # orders count in the recovered figures
    store.save()
    return store


def left(product, email, *, name="", quantity=1, minutes_ago=180, language="de", payment="", shipping=None):
    """A cart left ``minutes_ago`` with ``quantity`` of ``product`` (made directly: hundreds of them)."""
    ago = dt.timedelta(minutes=minutes_ago)
    return make_left_cart(
        product,
        email,
        ago=ago,
        quantity=quantity,
        shopper_name=name,
        language=language,
        payment_method=payment,
        shipping_method=shipping,
    )


def page_of(client, **params) -> str:
    response = client.get(PAGE, params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_merchant_sees_who_left_what_and_how_they_meant_to_pay(client, staff, standard, shipping, mug):
    left(mug, "anna@example.ch", name="Anna Muster", quantity=2, payment="invoice", shipping=shipping["post"])
    left(mug, "recent@example.ch", minutes_ago=30)  # still shopping: not abandoned yet
    html = page_of(client)
    assert "Anna Muster" in html and "anna@example.ch" in html and "recent@example.ch" not in html
    row = html[html.index("Anna Muster") :]
    assert "CHF 49.–" in row and "Swiss Post" in row and "Invoice" in row and "German" in row
    assert "Not reminded" in row and "1 cart" in html
    assert 'aria-current="page">Abandoned carts</a>' in html


def test_ordered_later_is_a_filter_of_its_own_and_search_finds_an_email(client, staff, standard, shipping, mug, place):
    left(mug, "anna@example.ch", minutes_ago=24 * 60)
    left(mug, "berta@example.ch")
    place(mug)  # anna@example.ch ordered since (from another cart)
    html = page_of(client)
    assert "berta@example.ch" in html and "anna@example.ch" not in html
    ordered = page_of(client, show="ordered")
    assert "anna@example.ch" in ordered and "berta@example.ch" not in ordered and ">Ordered<" in ordered
    assert "berta@example.ch" in page_of(client, q="BERTA") and "berta@example.ch" not in page_of(client, q="anna")
    assert "No abandoned cart matches this e-mail." in page_of(client, q="nobody")


def test_bad_filters_are_ignored_never_a_500(client, staff, standard, mug):
    left(mug, "anna@example.ch")
    for params in ({"show": "everything"}, {"page": "999"}, {"page": "x"}, {"q": "\x00" * 3}, {"q": "a" * 5000}):
        assert client.get(PAGE, params).status_code == 200, params


def test_the_list_takes_the_same_queries_for_ten_or_three_hundred_carts(
    client, staff, standard, shipping, mug, place, django_assert_max_num_queries
):
    """Whatever the carts hold (reminders sent, one won back by an order), a page of the list costs the same."""
    EmailSettings.load()  # the settings row exists, as it does in a running shop

    def more(start, stop):
        carts = [
            left(mug, f"s{i}@example.ch", shipping=shipping["post"], payment="invoice") for i in range(start, stop)
        ]
        CartReminder.objects.bulk_create(
            [CartReminder(cart=cart, kind=kind) for cart in carts[::2] for kind in ("first", "second")]
            + [CartReminder(cart=cart, kind="manual", sent_by=staff) for cart in carts[::3]]
        )

    more(0, 10)
    won_back = left(mug, "anna@example.ch")
    CartReminder.objects.create(cart=won_back, kind="first")
    place(mug)  # anna@example.ch orders: the reminded cart is won back
    assert Cart.objects.get(pk=won_back.pk).recovered_order is not None
    with django_assert_max_num_queries(9) as few:
        html = page_of(client)
    assert "Reminder sent" in html and "Not reminded" in html
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "Recovered" in page_of(client, show="recovered")
    more(10, 300)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = page_of(client)
    assert "300 carts" in html and "Page 1 of 6" in html
    for show in ("reminded", "not_reminded", "ordered", "recovered"):
        with django_assert_max_num_queries(len(few.captured_queries)):
            page_of(client, show=show, period="365")


def test_on_the_free_plan_the_page_explains_the_feature_and_lists_nothing(client, staff, store, mug):
    left(mug, "anna@example.ch")
    html = page_of(client)
    assert "Abandoned carts are part of the Standard plan." in html and "anna@example.ch" not in html
    assert 'href="/backoffice/settings/general/"' in html or "/backoffice/settings/" in html


def test_the_dashboard_counts_abandoned_carts_as_the_list_does_and_links_there(client, staff, standard, mug):
    left(mug, "anna@example.ch")
    left(mug, "recent@example.ch", minutes_ago=5)
    Cart.objects.create(email="empty@example.ch", last_activity_at=timezone.now() - dt.timedelta(days=1))
    html = client.get("/backoffice/").content.decode()
    assert f'<a class="stat" href="{PAGE}"><span class="stat__value">1</span>' in html


def test_the_page_is_for_staff_only(client, standard):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/backoffice/login/" in response["Location"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_merchant_goes_from_the_dashboard_to_the_abandoned_carts(page, live_server, standard, shipping, artifacts):
    from playwright.sync_api import expect

    from tests.browser import log_in

    fondue = ProductFactory(name="Fondue Set", sku="FON-1", price=Decimal("129.00"), stock=5)
    left(fondue, "anna@example.ch", name="Anna Muster", payment="invoice", shipping=shipping["post"], language="fr")
    log_in(page, live_server)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.url + "/backoffice/")
    page.get_by_role("link", name="1 Abandoned carts").click()
    expect(page.get_by_role("heading", name="Abandoned carts")).to_be_visible()
    row = page.get_by_role("row", name="Anna Muster")
    expect(row).to_contain_text("CHF 129.–")
    expect(row).to_contain_text("French")
    page.screenshot(path=artifacts / "backoffice-abandoned-carts.png", full_page=True)
    page.get_by_role("link", name="Anna Muster").click()
    expect(page.get_by_role("heading", name="Anna Muster")).to_be_visible()
    expect(page.get_by_role("region", name="Items")).to_contain_text("Fondue Set")
    page.screenshot(path=artifacts / "backoffice-abandoned-cart.png", full_page=True)


def test_a_carts_page_shows_its_lines_choices_and_history(client, staff, standard, shipping, mug):
    cart = left(mug, "anna@example.ch", name="Anna Muster", quantity=3, payment="invoice", shipping=shipping["post"])
    listed = page_of(client)
    assert f'href="/backoffice/abandoned-carts/{cart.pk}/"' in listed
    html = client.get(f"{PAGE}{cart.pk}/").content.decode()
    assert "<h1>Anna Muster</h1>" in html and "Enamel Mug" in html and "CHF 73.50" in html
    assert (
        "Swiss Post" in html and "Invoice" in html and "Cart created" in html and "Last activity of the shopper" in html
    )
    # a cart that is not a left one (still shopping, empty, ordered) is not found
    recent = left(mug, "recent@example.ch", minutes_ago=5)
    assert client.get(f"{PAGE}{recent.pk}/").status_code == 404
    assert client.get(f"{PAGE}999999/").status_code == 404
