"""Abandoned carts (issue #13): the rules of the recovery services one by one, at their boundaries, with a stopped
clock — the manual reminder's refusals and its once-a-day limit, the message as the merchant typed it, the round's
batches (oldest first, opted-out addresses passed over even at equal times), the clock the round is given, a link
opened in the browser that already holds the cart, and an order from a cart reminded long ago."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone, translation

from notifications.models import EmailSettings
from notifications.optout import address_hash, record_opt_out
from shop.cart import recovery
from shop.cart.links import recovery_path
from shop.cart.models import Cart, CartReminder
from tests.factories import ProductFactory, StaffFactory, left_cart
from tests.test_cart_reminders import order, switch_on

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 in Zurich


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
    store.save()
    return store


@pytest.fixture
def merchant(db):
    return StaffFactory(username="bea")


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def refused(pk, user, message="", now=None) -> str:
    with pytest.raises(recovery.RecoveryError) as error:
        recovery.send_reminder(pk, user, message, now=now)
    return str(error.value)


# The manual reminder ----------------------------------------------------------------------------------------------


def test_a_manual_reminder_on_the_free_plan_is_refused(store, clock, mug, merchant):
    cart = left_cart(mug)
    assert refused(cart.pk, merchant) == "Abandoned carts are a feature of the Standard plan."
    assert not CartReminder.objects.exists()


def test_a_cart_still_in_use_or_gone_can_not_be_reminded(standard, clock, mug, merchant):
    busy = left_cart(mug, ago=dt.timedelta(minutes=119))
    assert refused(busy.pk, merchant) == "This cart can no longer be reminded."
    assert refused(busy.pk + 1000, merchant) == "This cart can no longer be reminded."
    # the clock the service is given decides, not the machine's
    assert recovery.send_reminder(busy.pk, merchant, now=timezone.now() + dt.timedelta(minutes=1)).kind == "manual"


def test_a_cart_whose_shopper_ordered_since_is_not_reminded(standard, clock, mug, merchant, shipping):
    cart = left_cart(mug, "anna@example.ch")
    order(shipping, mug, "Anna@Example.ch")  # the same shopper, from another cart, now
    assert refused(cart.pk, merchant) == "This shopper has ordered since: no reminder needed."
    assert not CartReminder.objects.exists()


def test_an_address_that_opted_out_or_a_cart_without_the_consent_asked_for_is_not_reminded(
    standard, clock, mug, merchant
):
    out = left_cart(mug, "out@example.ch")
    record_opt_out(address_hash(" OUT@example.ch"))
    assert refused(out.pk, merchant) == "This shopper asked for no more reminders."
    switch_on(consent=True)
    without = left_cart(mug, "bea@example.ch")
    assert refused(without.pk, merchant) == "This shopper did not agree to reminders at checkout."
    with_consent = left_cart(mug, "cleo@example.ch", reminder_consent=True)
    assert recovery.send_reminder(with_consent.pk, merchant).kind == "manual"
    assert list(CartReminder.objects.values_list("cart", flat=True)) == [with_consent.pk]


def test_one_manual_reminder_a_day_and_the_refusal_says_when_the_next_may_go(
    standard, clock, mug, merchant, django_capture_on_commit_callbacks
):
    cart = left_cart(mug)
    with django_capture_on_commit_callbacks(execute=True):
        first = recovery.send_reminder(cart.pk, merchant, "Hello Anna")
    assert (first.kind, first.sent_by, first.created_at) == ("manual", merchant, T0)
    clock.move_to(T0 + dt.timedelta(days=1) - dt.timedelta(seconds=1))
    assert refused(cart.pk, merchant) == (
        "You sent a reminder about this cart less than a day ago: the next one can go on 02.12.2026 10:00."
    )
    clock.move_to(T0 + dt.timedelta(days=1))
    later = recovery.send_reminder(cart.pk, merchant)
    assert later.created_at == T0 + dt.timedelta(days=1)
    assert list(cart.reminders.values_list("kind", flat=True)) == ["manual", "manual"]


def test_the_message_goes_as_typed_tidied_and_an_empty_one_sends_the_standard_text(
    standard, clock, mug, merchant, django_capture_on_commit_callbacks
):
    cart = left_cart(mug, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        recovery.send_reminder(cart.pk, merchant, "\n  Dear Anna,  \n  your mug is waiting.  \n\n")
    assert cart.reminders.get().email.context["message"] == "Dear Anna,\n  your mug is waiting."
    assert "Dear Anna,\n  your mug is waiting.\n" in mail.outbox[0].body
    clock.shift(dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        recovery.send_reminder(cart.pk, merchant, "x" * 2500)
    assert cart.reminders.last().email.context["message"] == "x" * 2000
    clock.shift(dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        recovery.send_reminder(cart.pk, merchant, "   \n ")
    assert "message" not in cart.reminders.last().email.context
    assert "You left these items in your cart at" in mail.outbox[-1].body


# The beat round's batches -------------------------------------------------------------------------------------------


def test_a_round_takes_its_limit_oldest_first_and_the_next_round_the_rest(standard, clock, mug):
    switch_on()
    oldest, middle, newest = (left_cart(mug, f"s{n}@example.ch", ago=dt.timedelta(hours=5 - n)) for n in range(3))
    assert recovery.send_due_reminders(limit=2) == {"first": 2, "second": 0}
    assert set(CartReminder.objects.values_list("cart", flat=True)) == {oldest.pk, middle.pk}
    assert recovery.send_due_reminders(limit=2) == {"first": 1, "second": 0}
    assert CartReminder.objects.filter(cart=newest).exists()


def test_opted_out_carts_left_at_the_same_moment_are_passed_over_too(standard, clock, mug):
    switch_on()
    same = timezone.now() - dt.timedelta(hours=3)
    carts = [left_cart(mug, f"s{n}@example.ch", ago=dt.timedelta(0)) for n in range(4)]
    Cart.objects.filter(pk__in=[c.pk for c in carts]).update(last_activity_at=same)
    for cart in carts[:2]:  # the first two of the page opted out: the page after them starts at the same time
        record_opt_out(address_hash(cart.email))
    assert recovery.send_due_reminders(limit=2) == {"first": 2, "second": 0}
    assert set(CartReminder.objects.values_list("cart", flat=True)) == {carts[2].pk, carts[3].pk}


def test_the_round_goes_by_the_clock_it_is_given(standard, clock, mug):
    switch_on()
    cart = left_cart(mug, ago=dt.timedelta(hours=1))
    assert recovery.send_due_reminders() == {"first": 0, "second": 0}
    assert recovery.send_due_reminders(now=timezone.now() + dt.timedelta(hours=1)) == {"first": 1, "second": 0}
    assert CartReminder.objects.get(cart=cart).created_at == T0 + dt.timedelta(hours=1)


def test_a_manual_reminder_alone_never_starts_the_automatic_ones(standard, clock, mug, merchant):
    cart = left_cart(mug)
    recovery.send_reminder(cart.pk, merchant)
    switch_on()
    clock.shift(dt.timedelta(hours=30))
    assert recovery.send_due_reminders() == {"first": 0, "second": 0}
    assert list(cart.reminders.values_list("kind", flat=True)) == ["manual"]


# The link and the order ---------------------------------------------------------------------------------------------


def test_the_link_opened_in_the_browser_that_holds_the_cart_keeps_it(standard, clock, mug):
    cart = left_cart(mug)
    with translation.override("en"):
        signed = recovery_path(cart).rstrip("/").rsplit("/", 1)[1]
    clock.shift(dt.timedelta(hours=1))
    restored = recovery.restore_cart(signed, cart.token, mode="replace")
    assert not restored.needs_choice and restored.cart.pk == cart.pk
    cart.refresh_from_db()
    assert cart.lines.count() == 1
    assert cart.recovery_opened_at == cart.last_activity_at == T0 + dt.timedelta(hours=1)


def test_replacing_gives_up_the_browsers_own_cart(standard, clock, mug):
    cart, own = left_cart(mug, "anna@example.ch"), left_cart(ProductFactory(), "")
    signed = recovery_path(cart).rstrip("/").rsplit("/", 1)[1]
    assert recovery.restore_cart(signed, own.token).needs_choice
    recovery.restore_cart(signed, own.token, mode="replace")
    assert not Cart.objects.filter(pk=own.pk).exists()
    assert Cart.objects.get(pk=cart.pk).lines.count() == 1


def test_an_order_from_a_cart_reminded_long_ago_still_recovers_it(standard, clock, mug, shipping):
    cart = left_cart(mug)
    CartReminder.objects.create(cart=cart, kind="first", created_at=timezone.now() - dt.timedelta(days=20))
    placed = order(shipping, mug, cart.email, cart=cart)
    cart.refresh_from_db()
    assert (cart.recovered_order, cart.recovered_via, cart.status) == (placed, "cart", Cart.Status.ORDERED)


def test_switching_reminders_on_is_what_the_round_needs(standard, clock, mug):
    left_cart(mug)
    email_settings = EmailSettings.load()
    email_settings.cart_reminders = True  # on, but never dated (not through Settings → Email): nothing goes
    email_settings.save()
    assert recovery.send_due_reminders() == {"first": 0, "second": 0}


def test_an_automatic_reminder_does_not_count_against_the_manual_one(standard, clock, mug, merchant):
    cart = left_cart(mug)
    CartReminder.objects.create(cart=cart, kind="first", created_at=timezone.now() - dt.timedelta(hours=1))
    assert recovery.send_reminder(cart.pk, merchant).kind == "manual"
