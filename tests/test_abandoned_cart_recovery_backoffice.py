"""Abandoned carts (issue #13), the back office's side of winning carts back: each cart's recovery status on the list,
the filters, the recovered sales, a cart's history, the merchant's own reminder, "Place this order", the dashboard."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from notifications.models import EmailSettings, OutgoingEmail
from notifications.optout import address_hash, record_opt_out
from orders import services as order_services
from orders.models import Order
from shop.cart import recovery
from shop.cart.models import Cart, CartReminder
from tests.factories import CartLineFactory, ProductFactory, left_cart

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 in Zurich
PAGE = "/backoffice/abandoned-carts/"
NEW_ORDER = "/backoffice/orders/new/"


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def standard(store, clock):
    store.plan = "standard"
    store.test_mode = False  # the orders count in the recovered figures
    store.save()
    EmailSettings.load()
    return store


@pytest.fixture
def mug(db):
    return ProductFactory(name="Enamel Mug", sku="MUG-1", price=Decimal("24.50"), stock=50)


def left(product, email, *, name="", quantity=1, minutes_ago=180, language="de", consent=False):
    ago = dt.timedelta(minutes=minutes_ago)
    return left_cart(
        product, email, ago=ago, quantity=quantity, shopper_name=name, language=language, reminder_consent=consent
    )


def remind(cart, kind="first", minutes_ago=60, **fields):
    return CartReminder.objects.create(
        cart=cart, kind=kind, created_at=timezone.now() - dt.timedelta(minutes=minutes_ago), **fields
    )


def get(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def row_of(html: str, email: str) -> str:
    """The table row of the cart of ``email``."""
    start = html.index(email)
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def listed(client, **params) -> set[str]:
    return set(re.findall(r"<td><a href=\"/backoffice/abandoned-carts/\d+/\">([^<]+)</a>", get(client, PAGE, **params)))


def badge(html: str) -> str:
    return re.search(r'class="badge-status badge-status--[a-z_-]+">([^<]+)<', html).group(1)


def won_back(place, product, cart, clock, *, cancel=False):
    """anna@example.ch orders (from another cart) after a reminder about ``cart``: that order wins it back."""
    remind(cart)
    order = place(product)
    if cancel:
        order_services.cancel_order(order)
    cart.refresh_from_db()
    assert cart.recovered_order == order
    return order


# The list: each cart's status ------------------------------------------------------------------------------------


def test_each_cart_shows_where_its_recovery_stands(client, staff, standard, mug, place, clock):
    left(mug, "none@example.ch")
    sent = left(mug, "sent@example.ch")
    remind(sent, "first", minutes_ago=120)
    remind(sent, "manual", minutes_ago=55, sent_by=staff)  # 09:05 in Zurich: 10:00 − 55 minutes
    record_opt_out(address_hash("OUT@example.ch"))
    left(mug, "out@example.ch")
    html = get(client, PAGE)
    assert badge(row_of(html, "none@example.ch")) == "Not reminded"
    assert badge(row_of(html, "sent@example.ch")) == "Reminder sent"
    assert "2 · 01.12.2026 09:05" in row_of(html, "sent@example.ch")
    assert badge(row_of(html, "out@example.ch")) == "Opted out"

    ordered = left(mug, "anna@example.ch", minutes_ago=24 * 60)
    place(mug)  # anna@example.ch ordered since, without a reminder: "Ordered later"
    html = get(client, PAGE, show="ordered")
    assert badge(row_of(html, "anna@example.ch")) == "Ordered"
    assert Cart.objects.get(pk=ordered.pk).recovered_order is None


def test_with_automatic_reminders_on_the_next_one_is_scheduled(client, staff, standard, mug, clock):
    email_settings = EmailSettings.load()
    email_settings.cart_reminders, email_settings.cart_reminders_since = True, timezone.now() - dt.timedelta(days=1)
    email_settings.save()
    left(mug, "anna@example.ch")
    first = left(mug, "berta@example.ch")
    remind(first, "first", minutes_ago=60)  # the second one follows 24 hours after the first
    html = get(client, PAGE)
    assert badge(row_of(html, "anna@example.ch")) == "Reminder scheduled"
    assert "01.12.2026 10:00" in row_of(html, "anna@example.ch")  # the next round of the schedule: now
    berta = row_of(html, "berta@example.ch")
    assert badge(berta) == "Reminder sent" and "1 · 01.12.2026 09:00" in berta and "02.12.2026 09:00" in berta
    # on the Free plan nothing is scheduled (and the page explains the feature instead)
    standard.plan = "free"
    standard.save()
    assert "Reminder scheduled" not in get(client, PAGE)


def test_a_recovered_cart_links_to_the_order_that_won_it_back(client, staff, standard, mug, place, clock):
    cart = left(mug, "anna@example.ch", name="Anna Muster")
    order = won_back(place, mug, cart, clock)
    assert "anna@example.ch" not in get(client, PAGE)  # no longer to win back
    html = get(client, PAGE, show="recovered")
    row = row_of(html, "anna@example.ch")
    assert badge(row) == "Recovered"
    assert f'href="/backoffice/orders/{order.number}/"' in row and f"Order {order.number}" in row


def test_the_filters_split_the_carts(client, staff, standard, mug, place, clock):
    left(mug, "none@example.ch")
    remind(left(mug, "sent@example.ch"))
    won_back(place, mug, left(mug, "anna@example.ch"), clock)
    left(mug, "later@example.ch", minutes_ago=24 * 60)
    place_as = ProductFactory(sku="X-1", price=Decimal("5.00"), stock=None)
    order_services.create_manual_order(
        order_services.NewOrder(
            items=[order_services.Item(place_as, 1)], email="later@example.ch", payment_method="phone"
        ),
        staff,
    )
    assert listed(client) == {"none@example.ch", "sent@example.ch"}
    assert listed(client, show="reminded") == {"sent@example.ch"}
    assert listed(client, show="not_reminded") == {"none@example.ch"}
    assert listed(client, show="recovered") == {"anna@example.ch"}
    assert listed(client, show="ordered") == {"later@example.ch"}
    assert listed(client, show="reminded", q="SENT@") == {"sent@example.ch"}
    assert listed(client, show="recovered", q="sent") == set()
    # a bad value falls back to its default, the other filters still apply
    assert listed(client, show="nonsense", q="none") == {"none@example.ch"}
    assert listed(client, show="reminded", period="5") == {"sent@example.ch"}


# Recovered sales ----------------------------------------------------------------------------------------------------


def test_the_recovered_sales_of_a_period(client, staff, standard, mug, place, clock):
    clock.move_to(T0 - dt.timedelta(days=40))
    won_back(place, mug, left(mug, "anna@example.ch"), clock)  # CHF 31.50 (24.50 + 7.– shipping), 40 days ago
    clock.move_to(T0 - dt.timedelta(days=10))
    won_back(place, mug, left(mug, "anna@example.ch"), clock)  # CHF 31.50, 10 days ago
    clock.move_to(T0 - dt.timedelta(days=2))
    won_back(place, mug, left(mug, "anna@example.ch"), clock, cancel=True)  # cancelled: counts, brings nothing
    standard.test_mode = True
    standard.save()
    clock.move_to(T0 - dt.timedelta(days=1))
    won_back(place, mug, left(mug, "anna@example.ch"), clock)  # a test order: left out
    clock.move_to(T0)

    def summary(**params):
        html = get(client, PAGE, **params)
        section = html[html.index('id="recovered-h"') : html.index("</section>")]
        return re.findall(r'class="stat__value[^"]*">([^<]+)<', section)

    assert summary() == ["2", "CHF 31.50"]  # the last 30 days, by default
    assert summary(period="7") == ["1", "CHF 0.–"]
    assert summary(period="90") == ["3", "CHF 63.–"]
    assert summary(period="365", show="ordered", q="x") == ["3", "CHF 63.–"]
    assert summary(period="12") == ["2", "CHF 31.50"]  # not a choice: the default
    assert 'value="90" selected' in get(client, PAGE, period="90")


# A cart's page -------------------------------------------------------------------------------------------------------


def test_a_recovered_carts_page_tells_its_whole_story(client, staff, standard, mug, clock, commit):
    cart = left(mug, "anna@example.ch", name="Anna Muster", language="fr")
    assert commit(client.post, f"{PAGE}{cart.pk}/remind/", {"message": "Bonjour Anna"}).status_code == 302
    Cart.objects.filter(pk=cart.pk).update(recovery_opened_at=timezone.now() + dt.timedelta(minutes=5))
    clock.shift(dt.timedelta(minutes=10))
    response = client.post(
        NEW_ORDER, {**manual_order(), "cart": cart.pk, "lines-0-product": "MUG-1", "lines-0-quantity": "1"}
    )
    order = Order.objects.get()
    assert response.status_code == 302
    cart.refresh_from_db()
    assert cart.status == "ordered" and cart.recovered_order == order and cart.recovered_via == "link"
    html = get(client, f"{PAGE}{cart.pk}/")  # ordered, no longer a left cart: still shown, as it is won back
    assert badge(html) == "Recovered"
    history = html[html.index('<ul class="timeline">') :]
    assert "Cart created" in history and "Reminder sent by anna" in history
    assert ">Sent</span>" in history  # the reminder's e-mail went out
    assert "The shopper opened the link of a reminder" in history
    assert "Recovered through the reminder&#x27;s link" in history or "Recovered through the reminder's link" in history
    assert f'href="/backoffice/orders/{order.number}/"' in history
    assert "This cart has been won back: no reminder needed." in html and 'name="message"' not in html
    assert "Place this order" not in html
    assert client.post(f"{PAGE}{cart.pk}/remind/", {"message": "Encore"}).status_code == 200
    assert CartReminder.objects.count() == 1


def test_the_history_shows_each_reminder_and_its_email(client, staff, standard, mug, clock):
    cart = left(mug, "anna@example.ch")
    failed = OutgoingEmail.objects.create(kind="abandoned_cart", to=cart.email, language="de", status="failed")
    remind(cart, "first", minutes_ago=90, email=failed)
    remind(cart, "second", minutes_ago=30)
    record_opt_out(address_hash(cart.email))
    html = get(client, f"{PAGE}{cart.pk}/")
    history = html[html.index('<ul class="timeline">') :]
    assert history.index("First reminder") < history.index("Second reminder")
    assert '<span class="badge-status badge-status--email-failed">Failed</span>' in history
    assert "The shopper asked for no more reminders" in history
    assert badge(html) == "Opted out" and "<dd>Opted out</dd>" in html
    assert "This shopper asked for no more reminders: none can be sent." in html and 'name="message"' not in html
    assert "Place this order" in html  # an order by phone is still welcome


# The merchant's own reminder ----------------------------------------------------------------------------------------


def remind_url(cart):
    return f"{PAGE}{cart.pk}/remind/"


def test_the_merchant_sends_a_reminder_in_the_shoppers_language(client, staff, standard, mug, commit):
    cart = left(mug, "anna@example.ch", name="Anna Muster", quantity=2, language="de")
    html = get(client, f"{PAGE}{cart.pk}/")
    form = html[html.index(f'action="{remind_url(cart)}"') :]
    assert escape(recovery.default_message(cart)) in form  # the default text, in the cart's language
    assert 'maxlength="2000"' in form and "csrfmiddlewaretoken" in form and "Send reminder" in form
    assert "in German" in form
    response = commit(client.post, remind_url(cart), {"message": "Liebe Anna, Ihre Tassen warten auf Sie."})
    assert response.status_code == 302 and response["Location"] == f"{PAGE}{cart.pk}/"
    [message] = mail.outbox
    assert message.to == ["anna@example.ch"]
    assert message.subject == "Sie haben noch etwas in Ihrem Warenkorb bei Alpenladen"
    assert "Liebe Anna, Ihre Tassen warten auf Sie." in message.body and "Guten Tag" in message.body
    reminder = CartReminder.objects.get()
    assert (reminder.kind, reminder.sent_by, reminder.email.language) == ("manual", staff, "de")
    html = get(client, f"{PAGE}{cart.pk}/")
    assert "Reminder sent to anna@example.ch." in html and badge(html) == "Reminder sent"
    assert ">Sent</span>" in html[html.index('<ul class="timeline">') :]


def test_one_manual_reminder_a_day(client, staff, standard, mug, commit, clock):
    cart = left(mug, "anna@example.ch")
    commit(client.post, remind_url(cart), {"message": "Erste"})
    clock.shift(dt.timedelta(hours=23, minutes=59))
    response = commit(client.post, remind_url(cart), {"message": "Zweite, mit Sorgfalt getippt"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "You sent a reminder about this cart less than a day ago" in html
    assert "Zweite, mit Sorgfalt getippt" in html  # what was typed is still there
    assert len(mail.outbox) == 1 and CartReminder.objects.count() == 1
    assert "disabled" in html[html.index('action="' + remind_url(cart)) :].split("</form>")[0]
    clock.shift(dt.timedelta(minutes=1))
    assert commit(client.post, remind_url(cart), {"message": "Zweite"}).status_code == 302
    assert len(mail.outbox) == 2 and "Zweite" in mail.outbox[1].body


def test_no_reminder_to_an_address_that_opted_out(client, staff, standard, mug, commit):
    cart = left(mug, "anna@example.ch")
    record_opt_out(address_hash("Anna@Example.ch"))
    response = commit(client.post, remind_url(cart), {"message": "Hallo"})
    assert response.status_code == 200 and "This shopper asked for no more reminders." in response.content.decode()
    assert mail.outbox == [] and not CartReminder.objects.exists()


def test_no_reminder_without_the_consent_asked_at_checkout(client, staff, standard, mug, commit):
    email_settings = EmailSettings.load()
    email_settings.cart_reminder_consent = True
    email_settings.save()
    cart = left(mug, "anna@example.ch")
    agreed = left(mug, "berta@example.ch", consent=True)
    html = get(client, f"{PAGE}{cart.pk}/")
    assert "did not agree to reminders at checkout" in html and 'name="message"' not in html
    response = commit(client.post, remind_url(cart), {"message": "Hallo"})
    assert "This shopper did not agree to reminders at checkout." in response.content.decode()
    assert mail.outbox == []
    assert 'name="message"' in get(client, f"{PAGE}{agreed.pk}/")
    assert commit(client.post, remind_url(agreed), {"message": "Hallo"}).status_code == 302
    assert [m.to for m in mail.outbox] == [["berta@example.ch"]]


def test_no_reminder_once_the_shopper_ordered(client, staff, standard, mug, place, commit):
    cart = left(mug, "anna@example.ch", minutes_ago=24 * 60)
    place(mug)
    mail.outbox.clear()
    html = get(client, f"{PAGE}{cart.pk}/")
    assert badge(html) == "Ordered" and "This shopper has ordered since: no reminder needed." in html
    assert 'name="message"' not in html and "Place this order" not in html
    response = commit(client.post, remind_url(cart), {"message": "Hallo"})
    assert "This shopper has ordered since" in response.content.decode() and mail.outbox == []


def test_on_the_free_plan_the_page_explains_and_nothing_is_sent(client, staff, store, mug, commit):
    cart = left(mug, "anna@example.ch")
    html = get(client, f"{PAGE}{cart.pk}/")
    assert "Abandoned carts are part of the Standard plan." in html and "anna@example.ch" not in html
    response = commit(client.post, remind_url(cart), {"message": "Hallo"})
    assert response.status_code == 200 and "Abandoned carts are part of the Standard plan." in response.content.decode()
    assert mail.outbox == [] and not CartReminder.objects.exists()


def test_the_reminder_form_is_checked_and_guarded(client, staff, standard, mug, commit):
    cart = left(mug, "anna@example.ch")
    response = commit(client.post, remind_url(cart), {"message": "x" * 2001})
    assert response.status_code == 200 and "Ensure this value has at most 2000 characters" in response.content.decode()
    assert client.get(remind_url(cart)).status_code == 405
    assert client.post(f"{PAGE}999999/remind/", {"message": "Hallo"}).status_code == 404
    recent = left(mug, "recent@example.ch", minutes_ago=5)  # still shopping
    assert client.post(remind_url(recent), {"message": "Hallo"}).status_code == 404
    client.logout()
    response = client.post(remind_url(cart), {"message": "Hallo"})
    assert response.status_code == 302 and "/backoffice/login/" in response["Location"]
    assert mail.outbox == [] and not CartReminder.objects.exists()


def test_the_reminder_needs_the_csrf_token(standard, mug, staff):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    cart = left(mug, "anna@example.ch")
    assert browser.post(remind_url(cart), {"message": "Hallo"}).status_code == 403
    assert not CartReminder.objects.exists()


# Place this order ---------------------------------------------------------------------------------------------------


def manual_order(**extra):
    data = {
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "email": "anna@example.ch",
        "phone": "",
        "language": "fr",
        "name": "Anna Muster",
        "street": "Seestrasse 5",
        "postcode": "8002",
        "city": "Zürich",
        "country": "CH",
        "shipping_method": "",
        "shipping_cost": "",
        "payment_method": "phone",
    }
    return {**data, **extra}


def test_place_this_order_fills_the_new_order_in_from_the_cart(client, staff, standard, mug, shipping):
    tea = ProductFactory(name="Tea", sku="TEA-7", price=Decimal("8.00"), stock=5)
    cart = left(mug, "anna@example.ch", name="Anna Muster", quantity=3, language="fr")
    CartLineFactory(cart=cart, product=tea, quantity=2)
    Cart.objects.filter(pk=cart.pk).update(shipping_method=shipping["post"])
    page = get(client, f"{PAGE}{cart.pk}/")
    assert f'href="{NEW_ORDER}?cart={cart.pk}"' in page and "Place this order" in page
    html = get(client, NEW_ORDER, cart=cart.pk)
    assert "From the abandoned cart of anna@example.ch" in html
    assert 'value="anna@example.ch"' in html and 'value="Anna Muster"' in html
    assert re.search(r'name="lines-0-product" value="MUG-1"', html) and 'name="lines-0-quantity" value="3"' in html
    assert 'name="lines-1-product" value="TEA-7"' in html and 'name="lines-1-quantity" value="2"' in html
    assert f'<input type="hidden" name="cart" value="{cart.pk}"' in html
    assert '<option value="fr" selected>' in html and f'<option value="{shipping["post"].pk}" selected>' in html
    assert '<option value="phone" selected>' in html


def test_placing_the_order_marks_the_cart_ordered_and_won_back(client, staff, standard, mug, shipping):
    cart = left(mug, "anna@example.ch", name="Anna Muster", quantity=2)
    remind(cart, "first")
    response = client.post(
        NEW_ORDER,
        manual_order(cart=cart.pk, **{"lines-0-product": "MUG-1", "lines-0-quantity": "2"}),
    )
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/backoffice/orders/{order.number}/"
    assert order.source == "manual" and order.created_by == staff and order.cart_id == cart.pk
    cart.refresh_from_db()
    assert cart.status == "ordered" and cart.recovered_order == order and cart.recovered_via == "staff"
    assert listed(client, show="recovered") == {"Anna Muster"}
    assert "Recovered through an order you placed" in get(client, f"{PAGE}{cart.pk}/")


def test_an_order_placed_from_a_cart_never_reminded_is_not_a_recovery(client, staff, standard, mug):
    cart = left(mug, "anna@example.ch")
    client.post(NEW_ORDER, manual_order(cart=cart.pk, **{"lines-0-product": "MUG-1", "lines-0-quantity": "1"}))
    cart.refresh_from_db()
    assert cart.status == "ordered" and cart.recovered_order is None
    assert client.get(f"{PAGE}{cart.pk}/").status_code == 404  # neither left nor won back: gone from the list


def test_a_cart_ordered_meanwhile_is_not_ordered_twice(client, staff, standard, mug):
    cart = left(mug, "anna@example.ch")
    html = get(client, NEW_ORDER, cart=cart.pk)
    assert f'name="cart" value="{cart.pk}"' in html
    Cart.objects.filter(pk=cart.pk).update(status="ordered")  # the shopper came back and ordered it
    data = manual_order(cart=cart.pk, **{"lines-0-product": "MUG-1", "lines-0-quantity": "1"})
    response = client.post(NEW_ORDER, data)
    html = response.content.decode()
    assert response.status_code == 200 and "This cart has been ordered meanwhile: no order was created." in html
    assert not Order.objects.exists()
    assert "From the abandoned cart" not in get(client, NEW_ORDER, cart=cart.pk)


def test_the_service_refuses_a_cart_ordered_between_the_check_and_the_order(client, staff, standard, mug, monkeypatch):
    """The form saw an open cart; by the time the order is created under the lock it is ordered: a message."""
    cart = left(mug, "anna@example.ch")
    real = order_services.create_manual_order

    def ordered_just_before(new, user, **kwargs):
        Cart.objects.filter(pk=new.cart.pk).update(status="ordered")
        return real(new, user, **kwargs)

    monkeypatch.setattr(order_services, "create_manual_order", ordered_just_before)
    data = manual_order(cart=cart.pk, **{"lines-0-product": "MUG-1", "lines-0-quantity": "1"})
    response = client.post(NEW_ORDER, data)
    assert response.status_code == 200 and "This cart has been ordered meanwhile." in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize("value", ["", "abc", "999999", "-1", "١٢", "²", "1e3", "99999999999999999999999", "\x00"])
def test_a_bad_cart_gives_the_empty_form(client, staff, standard, value):
    html = get(client, NEW_ORDER, cart=value)
    assert "From the abandoned cart" not in html and 'name="cart"' in html


def test_a_cart_still_open_but_without_email_or_in_another_language(client, staff, standard, mug):
    cart = left(mug, "", language="it")
    html = get(client, NEW_ORDER, cart=cart.pk)
    assert "From the abandoned cart of a shopper" in html and 'name="lines-0-product" value="MUG-1"' in html


# The dashboard ------------------------------------------------------------------------------------------------------


def test_the_dashboard_shows_the_recovered_carts_of_30_days(
    client, staff, standard, mug, place, clock, django_assert_max_num_queries
):
    clock.move_to(T0 - dt.timedelta(days=31))
    won_back(place, mug, left(mug, "anna@example.ch"), clock)
    clock.move_to(T0 - dt.timedelta(days=3))
    won_back(place, mug, left(mug, "anna@example.ch"), clock)
    clock.move_to(T0)
    with django_assert_max_num_queries(12) as few:
        html = get(client, "/backoffice/")
    figure = html[html.index(f'href="{PAGE}?show=recovered"') :].split("</a>")[0]
    assert '<span class="stat__value">1</span>' in figure and "Recovered carts (30 days)" in figure
    assert "CHF 31.50" in figure
    for _ in range(20):
        won_back(place, mug, left(mug, "anna@example.ch"), clock)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = get(client, "/backoffice/")
    assert '<span class="stat__value">21</span>' in html[html.index(f'href="{PAGE}?show=recovered"') :]


# Never a 500 --------------------------------------------------------------------------------------------------------

VALUE = st.one_of(
    st.sampled_from(["", "0", "-1", "1e999", "\x00", "a\x00b", "\r\n", "<script>", "é" * 300, "a" * 5000, "١"]),
    st.text(max_size=60),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)
fuzz = hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@fuzz
@given(message=VALUE, extra=st.dictionaries(st.sampled_from(["page", "show", "period"]), VALUE, max_size=3))
def test_the_reminder_and_the_list_never_answer_500(client, staff, standard, mug, message, extra):
    cart = Cart.objects.filter(email="fuzz@example.ch").first() or left(mug, "fuzz@example.ch")
    assert client.post(remind_url(cart), {"message": message}).status_code < 500
    assert client.get(PAGE, extra).status_code < 500
    assert client.get(f"{PAGE}{cart.pk}/").status_code < 500


@fuzz
@given(value=VALUE)
def test_new_order_from_a_cart_never_answers_500(client, staff, standard, mug, value):
    assert client.get(NEW_ORDER, {"cart": value}).status_code < 500
    data = manual_order(cart=value, **{"lines-0-product": "MUG-1", "lines-0-quantity": "1"})
    assert client.post(NEW_ORDER, data).status_code < 500
