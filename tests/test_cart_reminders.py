"""Abandoned carts (issue #13): the automatic reminders. The beat schedule's round sends a first reminder once a cart
has been left for the idle time and a second one the set hours later, once each, in the cart's language, with the
recovery link and a one-click opt-out; never with the switch off, on the Free plan, for carts older than 14 days at
the switch-on, after an order with the cart's e-mail, after an opt-out or without the consent asked for. An order
with that e-mail within 7 days of a reminder wins the cart back; the 30-day purge forgets the cart and to whom the
e-mails went. Settings → Email has the switches. The clock is stopped: every boundary is tested to the second."""

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.kinds import KINDS, SWITCHABLE, Kind
from notifications.models import EmailOptOut, EmailSettings, OutgoingEmail
from notifications.optout import is_opted_out
from orders.models import Order
from shop.cart import recovery, services, tasks
from shop.cart.models import Cart, CartReminder
from shop.checkout.services import CheckoutData, place_order
from tests.factories import CartLineFactory, ProductFactory, left_cart

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 in Zurich
IDLE = dt.timedelta(minutes=120)  # settings.CART_ABANDONED_AFTER_MINUTES
SECOND = dt.timedelta(seconds=1)
NOTHING = {"first": 0, "second": 0}
SETTINGS = "/backoffice/settings/email/"
RECOVERY_LINK = re.compile(r"https?://[^\s/]+(/de/cart/recover/[^\s/]+/)")
OPT_OUT_LINK = re.compile(r"https?://[^\s/]+(/de/email/no-more-reminders/[^\s/]+/)")


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mug(db):
    return ProductFactory(name="Enamel Mug", sku="MUG-1", price=Decimal("24.50"), stock=50)


@pytest.fixture
def standard(store):
    store.plan = "standard"
    store.save()  # through the model: the cached Store is dropped
    return store


def switch_on(*, second_hours=24, consent=False, since=None, **more):
    """Automatic reminders on, as the Settings form saves them (through the model: the cached settings are dropped)."""
    email_settings = EmailSettings.load()
    email_settings.cart_reminders = True
    email_settings.cart_reminders_since = since or timezone.now()
    email_settings.cart_second_reminder_hours = second_hours
    email_settings.cart_reminder_consent = consent
    for name, value in more.items():
        setattr(email_settings, name, value)
    email_settings.save()
    return email_settings


@pytest.fixture
def reminders_on(standard, clock):
    return switch_on()


def left(product, email="anna@example.ch", *, ago=dt.timedelta(0), language="de", quantity=2, consent=False):
    """A cart with ``quantity`` of ``product`` and an e-mail, whose shopper's last action was ``ago``."""
    return left_cart(product, email, ago=ago, quantity=quantity, language=language, reminder_consent=consent)


@pytest.fixture
def run(commit):
    """One round of the beat schedule, and the e-mails it queued handed over (sent eagerly) once it committed."""
    return lambda: commit(recovery.send_due_reminders)


def order(shipping, product, email="anna@example.ch", cart=None) -> Order:
    """An order placed through checkout, from ``cart`` or from a new cart of its own."""
    cart = cart or CartLineFactory(product=product, cart__email=email).cart
    data = CheckoutData(
        email=email,
        payment_method="bank_transfer",
        shipping_method_id=shipping["post"].pk,
        shipping={"name": "Anna", "street": "Gasse 1", "postcode": "8001", "city": "Zürich", "country": "CH"},
    )
    return place_order(cart.token, data, "de")


def reminders(cart) -> list[str]:
    return list(CartReminder.objects.filter(cart=cart).order_by("created_at", "pk").values_list("kind", flat=True))


def sent_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def opt_out_path(message) -> str:
    return OPT_OUT_LINK.search(message.body).group(1)


# The first reminder: when, to whom, what it says -----------------------------------------------------------------


def test_the_first_reminder_goes_once_the_cart_has_been_left_for_the_idle_time(reminders_on, clock, mug, run):
    cart = left(mug)  # a German shopper left two mugs at T0
    clock.move_to(T0 + IDLE - SECOND)  # 119:59
    assert run() == NOTHING
    assert mail.outbox == [] and not CartReminder.objects.exists() and not OutgoingEmail.objects.exists()

    clock.move_to(T0 + IDLE)  # 120:00
    assert run() == {"first": 1, "second": 0}
    [message] = mail.outbox
    assert message.to == ["anna@example.ch"]
    # in the cart's language (German), whatever the language active when the round runs
    assert message.subject == "Sie haben noch etwas in Ihrem Warenkorb bei Alpenladen"
    assert "Guten Tag" in message.body
    html = message.alternatives[0][0]
    assert "2 × Enamel Mug" in message.body and "2 × Enamel Mug" in html
    # the recovery link, in German, signed for this cart, in the text and the HTML
    recover = RECOVERY_LINK.search(message.body)
    assert recover is not None, message.body
    assert recover.group(0) in html
    # the opt-out link, and the headers that give mail programs their one-click "Unsubscribe"
    opt_out = OPT_OUT_LINK.search(message.body)
    assert opt_out is not None and opt_out.group(0) in html
    assert message.extra_headers["List-Unsubscribe"] == f"<{opt_out.group(0)}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # what the shop keeps of it: the reminder and its e-mail, both about this cart
    reminder = CartReminder.objects.get()
    assert (reminder.cart, reminder.kind, reminder.created_at) == (cart, "first", T0 + IDLE)
    email = OutgoingEmail.objects.get()
    assert reminder.email == email
    assert (email.kind, email.cart, email.to, email.language, email.status) == (
        Kind.ABANDONED_CART,
        cart,
        "anna@example.ch",
        "de",
        OutgoingEmail.Status.SENT,
    )

    # the link restores the cart in any browser (another device of the shopper)
    response = Client().get(recover.group(1))
    assert response.status_code == 302
    assert Cart.objects.get(pk=cart.pk).recovery_opened_at == T0 + IDLE


def test_the_idle_time_is_counted_from_the_shoppers_last_action(reminders_on, clock, mug, run):
    cart = left(mug)
    clock.move_to(T0 + dt.timedelta(minutes=90))
    cart.touch()  # the shopper came back and changed something
    cart.save()
    clock.move_to(T0 + IDLE)
    assert run() == NOTHING
    clock.move_to(T0 + dt.timedelta(minutes=90) + IDLE)
    assert run() == {"first": 1, "second": 0}


# Once each -------------------------------------------------------------------------------------------------------


def test_one_first_and_one_second_reminder_per_cart_however_often_the_round_runs(reminders_on, clock, mug, run):
    anna = left(mug)
    berta = left(mug, "berta@example.ch", language="fr", ago=dt.timedelta(minutes=30))
    totals = {"first": 0, "second": 0}
    for step in range(0, 30 * 12 + 1):  # every 5 minutes for 30 hours, twice each time
        clock.move_to(T0 + dt.timedelta(minutes=5 * step))
        for _ in range(2):
            for kind, count in run().items():
                totals[kind] += count
    assert totals == {"first": 2, "second": 2}
    assert reminders(anna) == reminders(berta) == ["first", "second"]
    assert sent_to() == ["anna@example.ch", "anna@example.ch", "berta@example.ch", "berta@example.ch"]
    assert OutgoingEmail.objects.filter(cart=anna).count() == OutgoingEmail.objects.filter(cart=berta).count() == 2
    for reminder in CartReminder.objects.all():
        assert reminder.email is not None and reminder.email.cart_id == reminder.cart_id
        assert reminder.email.status == OutgoingEmail.Status.SENT
    # the rounds after it find nothing, day after day
    for days in (2, 5, 10):
        clock.move_to(T0 + dt.timedelta(days=days))
        assert run() == NOTHING
    assert len(mail.outbox) == 4


@pytest.mark.parametrize("hours", [1, 24, 168])
def test_the_second_reminder_goes_exactly_the_set_hours_after_the_first(standard, clock, mug, run, hours):
    switch_on(second_hours=hours)
    cart = left(mug)
    clock.move_to(T0 + IDLE)
    assert run() == {"first": 1, "second": 0}
    clock.move_to(T0 + IDLE + dt.timedelta(hours=hours, seconds=-1))
    assert run() == NOTHING
    clock.move_to(T0 + IDLE + dt.timedelta(hours=hours))
    assert run() == {"first": 0, "second": 1}
    assert reminders(cart) == ["first", "second"]
    assert CartReminder.objects.get(kind="second").created_at == T0 + IDLE + dt.timedelta(hours=hours)
    assert sent_to() == ["anna@example.ch", "anna@example.ch"]
    assert mail.outbox[1].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_no_second_reminder_when_the_hours_are_zero(standard, clock, mug, run):
    switch_on(second_hours=0)
    cart = left(mug)
    clock.move_to(T0 + IDLE)
    assert run() == {"first": 1, "second": 0}
    for hours in (1, 24, 48, 168, 20 * 24):
        clock.move_to(T0 + IDLE + dt.timedelta(hours=hours))
        assert run() == NOTHING
    assert reminders(cart) == ["first"] and len(mail.outbox) == 1


# When none goes --------------------------------------------------------------------------------------------------


def test_no_reminder_while_the_switch_is_off(standard, clock, mug, run):
    assert EmailSettings.load().cart_reminders is False  # off by default: an upgrade never mails old carts
    left(mug)
    clock.move_to(T0 + IDLE + dt.timedelta(hours=30))
    assert run() == NOTHING
    switch_on()
    email_settings = EmailSettings.load()
    email_settings.cart_reminders = False  # switched off again: the date stays, nothing goes
    email_settings.save()
    assert run() == NOTHING
    assert mail.outbox == [] and not CartReminder.objects.exists()


def test_no_reminder_on_the_free_plan(store, clock, mug, run):
    assert store.plan == "free"
    switch_on()
    cart = left(mug)
    for hours in (2, 26, 50):
        clock.move_to(T0 + dt.timedelta(hours=hours))
        assert run() == NOTHING
    assert mail.outbox == [] and reminders(cart) == []


def test_carts_left_up_to_14_days_before_the_switch_on_are_reminded_older_ones_never(standard, clock, mug, run):
    recent = left(mug, "recent@example.ch", ago=dt.timedelta(days=13))
    edge = left(mug, "edge@example.ch", ago=dt.timedelta(days=14))
    old = left(mug, "old@example.ch", ago=dt.timedelta(days=15))
    older = left(mug, "older@example.ch", ago=dt.timedelta(days=14, seconds=1))
    switch_on()
    assert run() == {"first": 2, "second": 0}
    assert sent_to() == ["edge@example.ch", "recent@example.ch"]
    clock.shift(dt.timedelta(hours=24))
    assert run() == {"first": 0, "second": 2}
    assert reminders(recent) == reminders(edge) == ["first", "second"]
    assert reminders(old) == reminders(older) == []
    # a cart left after the switch-on is reminded as usual
    new = left(mug, "new@example.ch")
    clock.shift(IDLE)
    assert run() == {"first": 1, "second": 0} and reminders(new) == ["first"]


def test_no_reminder_after_an_order_from_the_cart(reminders_on, clock, mug, shipping, run):
    ordered_at_once = left(mug, "quick@example.ch")
    reminded = left(mug)
    clock.move_to(T0 + dt.timedelta(minutes=30))
    order(shipping, mug, "quick@example.ch", cart=ordered_at_once)  # ordered before it counted as left
    clock.move_to(T0 + IDLE)
    assert run() == {"first": 1, "second": 0} and sent_to() == ["anna@example.ch"]
    clock.shift(dt.timedelta(hours=1))
    placed = order(shipping, mug, cart=reminded)  # the shopper came back and ordered the reminded cart
    clock.move_to(T0 + IDLE + dt.timedelta(days=3))
    assert run() == NOTHING
    assert reminders(reminded) == ["first"] and reminders(ordered_at_once) == []
    # the reminded cart is won back by its own order; the other was never reminded, so it is merely ordered
    reminded.refresh_from_db()
    ordered_at_once.refresh_from_db()
    assert (reminded.status, reminded.recovered_order, reminded.recovered_via) == ("ordered", placed, "cart")
    assert (ordered_at_once.status, ordered_at_once.recovered_order) == ("ordered", None)


def test_no_reminder_after_an_order_with_the_same_email_from_another_cart(reminders_on, clock, mug, shipping, run):
    anna = left(mug)
    berta = left(mug, "berta@example.ch")
    clock.move_to(T0 + dt.timedelta(minutes=30))
    order(shipping, mug, "Anna@Example.ch")  # another browser, the same shopper: no first reminder
    clock.move_to(T0 + IDLE)
    assert run() == {"first": 1, "second": 0} and sent_to() == ["berta@example.ch"]
    clock.shift(dt.timedelta(hours=1))
    order(shipping, mug, "BERTA@example.ch")  # after the first reminder: no second one
    clock.move_to(T0 + IDLE + dt.timedelta(days=3))
    assert run() == NOTHING
    assert reminders(anna) == [] and reminders(berta) == ["first"]


def test_when_consent_is_asked_only_carts_that_have_it_are_reminded(standard, clock, mug, run):
    switch_on(consent=True)
    without = left(mug, "no@example.ch")
    agreed = left(mug, "yes@example.ch", consent=True)
    clock.move_to(T0 + IDLE)
    assert run() == {"first": 1, "second": 0}
    clock.move_to(T0 + IDLE + dt.timedelta(hours=24))
    assert run() == {"first": 0, "second": 1}
    assert sent_to() == ["yes@example.ch", "yes@example.ch"]
    assert reminders(without) == [] and reminders(agreed) == ["first", "second"]


# Opting out ------------------------------------------------------------------------------------------------------


def test_the_opt_out_link_of_a_reminder_stops_the_next_ones(reminders_on, clock, mug, run, client):
    cart = left(mug)
    clock.move_to(T0 + IDLE)
    run()
    path = opt_out_path(mail.outbox[0])

    page = client.get(path)  # a link scanner or the shopper opening the link: nothing changes yet
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<form method="post" action="{path}">' in html and '<button type="submit"' in html
    assert not EmailOptOut.objects.exists()

    done = client.post(path)
    assert done.status_code == 200 and 'role="status"' in done.content.decode()
    assert EmailOptOut.objects.count() == 1 and is_opted_out(" ANNA@example.ch")
    assert client.post(path).status_code == 200 and EmailOptOut.objects.count() == 1  # twice is once

    clock.move_to(T0 + IDLE + dt.timedelta(hours=24))
    assert run() == NOTHING  # no second reminder
    later = left(mug, "Anna@Example.ch")  # nor one about a cart left later with that address
    clock.shift(IDLE)
    assert run() == NOTHING
    assert reminders(cart) == ["first"] and reminders(later) == [] and len(mail.outbox) == 1
    # the list keeps no address: only its HMAC
    assert "anna" not in EmailOptOut.objects.get().address_hash


def test_one_click_unsubscribe_needs_no_csrf_token(reminders_on, clock, mug, run):
    left(mug)
    clock.move_to(T0 + IDLE)
    run()
    url = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    mail_program = Client(enforce_csrf_checks=True)
    response = mail_program.post(urlsplit(url).path, {"List-Unsubscribe": "One-Click"})  # as RFC 8058 has it
    assert response.status_code == 200
    assert is_opted_out("anna@example.ch")
    clock.move_to(T0 + IDLE + dt.timedelta(hours=24))
    assert run() == NOTHING


def test_a_tampered_opt_out_link_is_a_404_page_and_records_nothing(reminders_on, clock, mug, run, client):
    left(mug)
    clock.move_to(T0 + IDLE)
    run()
    path = opt_out_path(mail.outbox[0]).replace("/de/", "/en/")
    token = path.rstrip("/").rsplit("/", 1)[1]
    value, signature = token.split(":", 1)
    forged = "0" * 64 if value != "0" * 64 else "1" * 64  # someone else's address, with this link's signature
    for bad in (f"{forged}:{signature}", f"{value}:{signature[:-2]}xx", value, "x", "%00"):
        bad_path = path.replace(token, bad)
        for response in (client.get(bad_path), client.post(bad_path)):
            assert response.status_code == 404, bad
            html = response.content.decode()
            assert "This link is not valid. Please copy it in full from the e-mail." in html
            assert "Stop reminders" not in html  # no button that would record anything
    assert not EmailOptOut.objects.exists()
    assert client.get(path).status_code == 200  # the link itself, in any shop language, still works


# The beat schedule -----------------------------------------------------------------------------------------------


def test_the_beat_schedule_runs_the_reminders(reminders_on, clock, mug, commit, settings):
    from shop.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["send-cart-reminders"]
    assert entry["task"] == "shop.cart.tasks.send_cart_reminders" and entry["schedule"] == 5 * 60
    assert entry["task"] in app.tasks and tasks.send_cart_reminders.name == entry["task"]
    left(mug)
    clock.move_to(T0 + IDLE)
    result = commit(app.tasks[entry["task"]].delay)
    assert result.get() == {"first": 1, "second": 0}
    assert sent_to() == ["anna@example.ch"]


# Recovered -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after_reminder", "recovered"),
    [(dt.timedelta(days=6, hours=23), True), (dt.timedelta(days=7), True), (dt.timedelta(days=7, seconds=1), False)],
)
def test_an_order_with_the_same_email_within_7_days_of_a_reminder_recovers_the_reminded_cart(
    standard, clock, mug, shipping, run, after_reminder, recovered
):
    switch_on(second_hours=0)
    cart = left(mug)
    clock.move_to(T0 + IDLE)
    run()
    clock.shift(after_reminder)
    placed = order(shipping, mug, "ANNA@example.ch")  # from another cart (another browser)
    cart.refresh_from_db()
    assert cart.status == "open"  # it was not this cart that was ordered
    if recovered:
        assert (cart.recovered_order, cart.recovered_via, cart.recovered_at) == (placed, "email", timezone.now())
    else:
        assert (cart.recovered_order, cart.recovered_via, cart.recovered_at) == (None, "", None)
    assert cart.last_activity_at == T0  # bookkeeping, not the shopper's activity
    assert run() == NOTHING


def test_the_last_reminder_counts_for_the_7_days(reminders_on, clock, mug, shipping, run):
    cart = left(mug)
    clock.move_to(T0 + IDLE)
    run()
    clock.move_to(T0 + IDLE + dt.timedelta(hours=24))
    run()  # the second reminder
    clock.move_to(T0 + IDLE + dt.timedelta(hours=24, days=7))  # 8 days after the first, 7 after the second
    placed = order(shipping, mug)
    cart.refresh_from_db()
    assert (cart.recovered_order, cart.recovered_via) == (placed, "email")


# The purge and the shopper's clock -------------------------------------------------------------------------------


def test_the_purge_deletes_a_cart_idle_30_days_whatever_its_reminders_and_erases_the_addresses(
    standard, clock, mug, shipping, run
):
    switch_on(copy_customer_emails=True, merchant_recipients="shop@alpenladen.ch")
    cart = left(mug)
    won_back = left(mug, "berta@example.ch")
    clock.move_to(T0 + IDLE)
    run()
    clock.move_to(T0 + IDLE + dt.timedelta(hours=24))
    run()
    placed = order(shipping, mug, "berta@example.ch")  # berta's cart is won back (from another cart)
    about_cart = list(OutgoingEmail.objects.filter(cart=cart).values_list("pk", flat=True))
    assert len(about_cart) == 2 and all(message.bcc == ["shop@alpenladen.ch"] for message in mail.outbox)
    reminder_pks = list(CartReminder.objects.filter(cart=cart).values_list("pk", flat=True))

    clock.move_to(T0 + dt.timedelta(days=30))
    assert services.purge_stale_carts() == 0  # 30 days exactly: still kept
    clock.move_to(T0 + dt.timedelta(days=30, seconds=1))
    assert services.purge_stale_carts() == 1
    assert not Cart.objects.filter(pk=cart.pk).exists()
    assert not CartReminder.objects.filter(pk__in=reminder_pks).exists()
    for email in OutgoingEmail.objects.filter(pk__in=about_cart):  # that an e-mail went is kept, not to whom
        assert (email.to, email.bcc, email.context, email.cart_id) == ("", "", {}, None)
        assert email.kind == Kind.ABANDONED_CART and email.status == OutgoingEmail.Status.SENT
    # the recovered cart stays for the figures, with its reminders and e-mails
    won_back.refresh_from_db()
    assert won_back.recovered_order == placed and reminders(won_back) == ["first", "second"]
    assert set(OutgoingEmail.objects.filter(cart=won_back).values_list("to", flat=True)) == {"berta@example.ch"}


def test_bookkeeping_never_moves_the_shoppers_activity(reminders_on, clock, mug, run):
    cart = left(mug)
    clock.move_to(T0 + IDLE)
    run()
    clock.move_to(T0 + IDLE + dt.timedelta(hours=24))
    run()
    clock.shift(dt.timedelta(hours=1))
    Cart.objects.get(pk=cart.pk).save()  # any save by the shop
    cart.refresh_from_db()
    assert cart.last_activity_at == T0 and cart.updated_at == T0 + IDLE + dt.timedelta(hours=25)
    assert reminders(cart) == ["first", "second"]
    assert list(services.abandoned_carts().values_list("pk", flat=True)) == [cart.pk]  # still left, still idle


# Settings → Email ------------------------------------------------------------------------------------------------


def post_settings(client, user, **fields):
    """The Settings → Email form as the page posts it (every switch on), with ``fields`` changed (None: left out)."""
    client.force_login(user)  # again: the clock may have moved past the session's age
    data = {
        "merchant_language": "de",
        "cart_second_reminder_hours": "24",
        **{f"send_{kind}": "on" for kind in SWITCHABLE},
        **fields,
    }
    return client.post(SETTINGS, {name: value for name, value in data.items() if value is not None})


def cart_section(html: str) -> str:
    return html[html.index("<legend>Abandoned cart reminders</legend>") : html.index("<legend>E-mails to you</legend>")]


def test_the_settings_page_has_a_section_for_cart_reminders(client, staff, store, clock):
    html = client.get(SETTINGS).content.decode()
    section = cart_section(html)
    assert 'type="checkbox" name="cart_reminders"' in section
    assert 'name="cart_second_reminder_hours" value="24"' in section and 'min="0"' in section and 'max="168"' in section
    assert 'type="checkbox" name="cart_reminder_consent"' in section
    assert "Reminders go out on the Standard plan only." in section  # the Free plan
    assert "Switched on on" not in section
    # the abandoned-cart e-mail is no longer one of the on/off switches, but its previews are still listed
    assert 'name="send_abandoned_cart"' not in html
    for kind in KINDS:
        if kind != Kind.TEST:
            assert reverse("backoffice:settings_email_preview", kwargs={"kind": kind, "language": "de"}) in html
    assert "Abandoned cart recovery" in html[html.index('id="preview-h"') :]
    preview = client.get(
        reverse("backoffice:settings_email_preview", kwargs={"kind": "abandoned_cart", "language": "de"})
    )
    assert preview.status_code == 200

    store.plan = "standard"
    store.save()
    assert post_settings(client, staff, cart_reminders="on").status_code == 302
    section = cart_section(client.get(SETTINGS).content.decode())
    assert "Standard plan only" not in section
    assert "Switched on on 1 Dec 2026, 10:00: carts left from 14 days before that (17 Nov 2026, 10:00) on" in section

    clock.shift(dt.timedelta(days=1))
    assert post_settings(client, staff).status_code == 302  # off
    section = cart_section(client.get(SETTINGS).content.decode())
    assert "Switched off (last switched on on 1 Dec 2026, 10:00)." in section


def test_switching_on_dates_it_switching_off_keeps_the_date_and_a_pause_dates_it_anew(
    client, staff, standard, clock, mug, run
):
    assert post_settings(client, staff, cart_reminders="on", cart_second_reminder_hours="0").status_code == 302
    saved = EmailSettings.load()
    assert (saved.cart_reminders, saved.cart_reminders_since, saved.cart_second_reminder_hours) == (True, T0, 0)

    clock.shift(dt.timedelta(hours=1))
    post_settings(client, staff, cart_reminders="on", sender_name="Alpenladen Team")  # still on: the date stays
    assert EmailSettings.load().cart_reminders_since == T0

    clock.shift(dt.timedelta(days=1))
    post_settings(client, staff)  # off: the date stays
    saved = EmailSettings.load()
    assert (saved.cart_reminders, saved.cart_reminders_since) == (False, T0)
    paused = left(mug, "paused@example.ch")  # left during the pause
    clock.shift(dt.timedelta(days=2))
    post_settings(client, staff)  # still off
    assert EmailSettings.load().cart_reminders_since == T0
    assert run() == NOTHING

    clock.shift(dt.timedelta(days=20))  # on again after the pause: only the last 14 days count
    on_again = timezone.now()
    post_settings(client, staff, cart_reminders="on")
    assert EmailSettings.load().cart_reminders_since == on_again
    recent = left(mug, "recent@example.ch", ago=dt.timedelta(days=13))
    assert run() == {"first": 1, "second": 0}
    assert reminders(paused) == [] and reminders(recent) == ["first"]


@pytest.mark.parametrize("value", ["abc", "-1", "169", "2.5", "", " ", "1e3", "9" * 5000, "24\x00"])
def test_bad_hours_are_explained_and_nothing_is_saved(client, staff, standard, clock, value):
    response = post_settings(client, staff, cart_reminders="on", cart_second_reminder_hours=value)
    assert response.status_code == 200
    section = cart_section(response.content.decode())
    assert "Enter a whole number of hours from 0 to 168 (0: no second reminder)." in section
    saved = EmailSettings.load()
    assert (saved.cart_reminders, saved.cart_reminders_since, saved.cart_second_reminder_hours) == (False, None, 24)


@pytest.mark.parametrize(("value", "hours"), [("0", 0), ("1", 1), ("168", 168), (" 48 ", 48)])
def test_good_hours_are_saved(client, staff, standard, clock, value, hours):
    assert post_settings(client, staff, cart_second_reminder_hours=value).status_code == 302
    assert EmailSettings.load().cart_second_reminder_hours == hours


def test_a_form_without_the_hours_keeps_them_and_consent_is_saved(client, staff, standard, clock):
    post_settings(client, staff, cart_second_reminder_hours="6", cart_reminder_consent="on")
    assert post_settings(client, staff, cart_second_reminder_hours=None, cart_reminder_consent="on").status_code == 302
    saved = EmailSettings.load()
    assert (saved.cart_second_reminder_hours, saved.cart_reminder_consent) == (6, True)
    post_settings(client, staff, cart_second_reminder_hours=None)
    assert EmailSettings.load().cart_reminder_consent is False


def test_addresses_that_opted_out_never_hold_the_other_carts_back(reminders_on, clock, mug, commit):
    from notifications.optout import address_hash, record_opt_out

    for n in range(3):  # the oldest carts, all of shoppers who asked for no more reminders
        left(mug, f"out{n}@example.ch", ago=IDLE + dt.timedelta(hours=3 - n))
        record_opt_out(address_hash(f"OUT{n}@example.ch "))  # normalised: case and spaces don't matter
    newer = left(mug, "bea@example.ch", ago=IDLE)
    assert commit(recovery.send_due_reminders, limit=2) == {"first": 1, "second": 0}
    assert reminders(newer) == ["first"]
    assert sent_to() == ["bea@example.ch"]
