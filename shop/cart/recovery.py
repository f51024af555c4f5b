"""Winning back abandoned carts: the reminders (automatic, from the beat schedule, and the merchant's manual ones),
the recovery link that restores a cart in any browser, and what the back office shows of each cart.

One function per action, each in a transaction that locks the cart it changes. Which carts are abandoned is
``services.abandoned_carts``; what an order does to the carts is ``ordered.record_order``."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications.kinds import Kind
from notifications.models import EmailSettings
from notifications.optout import is_opted_out, opted_out
from notifications.services import notify
from orders.status import PaymentStatus
from shop.backoffice.models import Store

from . import links, services
from .models import Cart, CartLine, CartReminder

logger = logging.getLogger(__name__)

# At first switch-on (and every switch-on after a pause), carts left at most this long before are eligible.
ELIGIBLE_BEFORE_SWITCH_ON = timedelta(days=14)
MANUAL_INTERVAL = timedelta(days=1)  # at most one manual reminder per cart in this time
BATCH = 200  # automatic reminders per round of the beat schedule (the next round takes the rest)


class RecoveryError(Exception):
    """A reminder or a recovery that can't be done; the message is for the merchant or the shopper as it is."""


class InvalidLink(RecoveryError):
    """A recovery link that was never ours (tampered, cut short): not one that has merely expired."""


# What the back office shows --------------------------------------------------------------------------------------


class Status:
    NOT_REMINDED = "not_reminded"
    SCHEDULED = "scheduled"
    SENT = "sent"
    RECOVERED = "recovered"
    ORDERED = "ordered"
    OPTED_OUT = "opted_out"

    LABELS = {
        NOT_REMINDED: gettext_lazy("Not reminded"),
        SCHEDULED: gettext_lazy("Reminder scheduled"),
        SENT: gettext_lazy("Reminder sent"),
        RECOVERED: gettext_lazy("Recovered"),
        ORDERED: gettext_lazy("Ordered"),
        OPTED_OUT: gettext_lazy("Opted out"),
    }


def _reminders(kind=None):
    reminders = CartReminder.objects.filter(cart=OuterRef("pk"))
    return reminders.filter(kind=kind) if kind else reminders


def with_reminders(carts):
    """``carts`` annotated with their reminders (count, last, first and second automatic ones): subqueries, so the
    rows are not multiplied by the lines' join and a page costs the same whatever it holds."""
    return carts.annotate(
        reminder_count=Coalesce(
            Subquery(_reminders().order_by().values("cart").annotate(n=Count("pk")).values("n")[:1]), 0
        ),
        last_reminder_at=Subquery(_reminders().order_by("-created_at").values("created_at")[:1]),
        first_reminder_at=Subquery(_reminders(CartReminder.Kind.FIRST).values("created_at")[:1]),
        second_reminder_at=Subquery(_reminders(CartReminder.Kind.SECOND).values("created_at")[:1]),
        last_manual_at=Subquery(_reminders(CartReminder.Kind.MANUAL).order_by("-created_at").values("created_at")[:1]),
    )


@dataclass
class Outlook:
    """A cart's recovery status as the merchant reads it, and when the next automatic reminder goes, if one will."""

    status: str
    next_reminder_at: object = None

    @property
    def label(self) -> str:
        return str(Status.LABELS[self.status])


def describe(carts, *, ordered=False, now=None) -> None:
    """Set ``cart.outlook`` on each cart of a page (annotated by ``with_reminders``): one query for the opt-outs of
    the whole page. ``ordered``: the carts are ones whose e-mail ordered since."""
    now = now or timezone.now()
    carts = list(carts)
    email_settings, store = EmailSettings.load(), Store.load()
    out = opted_out({cart.email for cart in carts})
    for cart in carts:
        if cart.recovered_order_id:
            cart.outlook = Outlook(Status.RECOVERED)
        elif ordered or cart.status == Cart.Status.ORDERED:
            cart.outlook = Outlook(Status.ORDERED)
        elif cart.email in out:
            cart.outlook = Outlook(Status.OPTED_OUT)
        else:
            due = next_automatic(cart, email_settings, store, now)
            if cart.reminder_count:
                cart.outlook = Outlook(Status.SENT, due)
            else:
                cart.outlook = Outlook(Status.SCHEDULED if due else Status.NOT_REMINDED, due)


def next_automatic(cart, email_settings, store, now):
    """When the next automatic reminder about ``cart`` (annotated, abandoned) goes out, or None if none will."""
    if not automatic_on(email_settings, store):
        return None
    if cart.last_activity_at < email_settings.cart_reminders_since - ELIGIBLE_BEFORE_SWITCH_ON:
        return None
    if email_settings.cart_reminder_consent and not cart.reminder_consent:
        return None
    if not cart.reminder_count:
        return max(now, cart.last_activity_at + timedelta(minutes=settings.CART_ABANDONED_AFTER_MINUTES))
    hours = email_settings.cart_second_reminder_hours
    if hours and cart.first_reminder_at and not cart.second_reminder_at:
        wait = timedelta(hours=hours)  # after the first one, and after a manual one sent since
        return max(now, cart.first_reminder_at + wait, (cart.last_manual_at or cart.first_reminder_at) + wait)
    return None


def automatic_on(email_settings, store) -> bool:
    return (
        store.plan == Store.Plan.STANDARD
        and email_settings.cart_reminders
        and email_settings.cart_reminders_since is not None
    )


def recovered_carts(since=None):
    """The carts won back (by orders that are not test orders), newest first."""
    carts = Cart.objects.filter(recovered_order__isnull=False, recovered_order__is_test=False)
    if since is not None:
        carts = carts.filter(recovered_at__gte=since)
    return carts.order_by("-recovered_at", "-pk")


def recovered_figures(since=None) -> dict:
    """How many carts were won back since ``since`` and what their orders brought (cancelled orders bring nothing)."""
    return recovered_carts(since).aggregate(
        count=Count("pk"),
        revenue=Coalesce(
            Sum("recovered_order__total", filter=~Q(recovered_order__payment_status=PaymentStatus.CANCELLED)),
            0,
            output_field=DecimalField(max_digits=12, decimal_places=2),
        ),
    )


# Reminders --------------------------------------------------------------------------------------------------------


def _queue(cart, kind, *, user=None, message="", now=None) -> CartReminder:
    """Write the reminder and its e-mail (sent once the transaction commits). Call with the cart locked."""
    key = f"cart_reminder:{cart.pk}:{kind}" + (f":{(now or timezone.now()).timestamp():.0f}" if user else "")
    rows = notify(
        Kind.ABANDONED_CART,
        cart=cart,
        to=cart.email,
        language=cart.language or settings.LANGUAGE_CODE,
        key=key,
        user=user,
        **({"message": message} if message else {}),
    )
    return CartReminder.objects.create(
        cart=cart, kind=kind, email=rows[0] if rows else None, sent_by=user, created_at=now or timezone.now()
    )


def _automatic_targets(now, email_settings):
    carts = services.abandoned_carts(now).filter(
        recovered_order__isnull=True,
        last_activity_at__gte=email_settings.cart_reminders_since - ELIGIBLE_BEFORE_SWITCH_ON,
    )
    if email_settings.cart_reminder_consent:
        carts = carts.filter(reminder_consent=True)
    first = carts.exclude(Exists(_reminders()))
    second = None
    if hours := email_settings.cart_second_reminder_hours:
        wait = now - timedelta(hours=hours)
        second = (
            carts.filter(Exists(_reminders(CartReminder.Kind.FIRST).filter(created_at__lte=wait)))
            .exclude(Exists(_reminders(CartReminder.Kind.SECOND)))
            .exclude(Exists(_reminders(CartReminder.Kind.MANUAL).filter(created_at__gt=wait)))
        )
    return first, second


def send_due_reminders(now=None, limit=BATCH) -> dict:
    """The beat schedule's round: the first reminder of each cart abandoned since the switch-on (or up to 14 days
    before it), and the second one the set hours after the first, once each; none on the Free plan, with the switch
    off, for an address that opted out or, when consent is asked at checkout, for a cart without it."""
    now = now or timezone.now()
    email_settings, store = EmailSettings.load(), Store.load()
    sent = {"first": 0, "second": 0}
    if not automatic_on(email_settings, store):
        return sent
    first, second = _automatic_targets(now, email_settings)
    for kind, carts in ((CartReminder.Kind.FIRST, first), (CartReminder.Kind.SECOND, second)):
        if carts is not None:
            sent[kind] = _send_batch(carts, kind, now, email_settings, limit)
    if sent["first"] or sent["second"]:
        logger.info("Cart reminders queued: %(first)d first, %(second)d second", sent)
    return sent


def _send_batch(carts, kind, now, email_settings, limit) -> int:
    """Up to ``limit`` reminders of ``kind``, oldest carts first. Carts of addresses that opted out are passed over
    page by page (their HMACs can't be matched in SQL), so that they never hold the others back."""
    sent, after = 0, None
    carts = carts.order_by("last_activity_at", "pk").only("pk", "email", "last_activity_at")
    while sent < limit:
        page = carts
        if after is not None:
            page = carts.filter(
                Q(last_activity_at__gt=after.last_activity_at)
                | Q(last_activity_at=after.last_activity_at, pk__gt=after.pk)
            )
        batch = list(page[:limit])
        if not batch:
            break
        out = opted_out({cart.email for cart in batch})
        for cart in batch:
            if sent < limit and cart.email not in out and _send_automatic(cart.pk, kind, now, email_settings):
                sent += 1
        after = batch[-1]
    return sent


def _send_automatic(pk, kind, now, email_settings) -> bool:
    """One automatic reminder, after checking again under the cart's lock that it is still due."""
    try:
        with transaction.atomic():
            cart = Cart.objects.select_for_update().filter(pk=pk).first()
            first, second = _automatic_targets(now, email_settings)
            due = first if kind == CartReminder.Kind.FIRST else second
            if cart is None or not due.filter(pk=pk).exists():
                return False
            _queue(cart, kind, now=now)
    except IntegrityError:  # another round sent it meanwhile (the constraint holds to once each)
        return False
    return True


def default_message(cart) -> str:
    """What a reminder says above the items, in the cart's language (the merchant may change it before sending)."""
    store = Store.load()
    with translation_of(cart):
        return _(
            "You left these items in your cart at %(store)s. They are still waiting for you: complete your order "
            "whenever you like."
        ) % {"store": store.name}


def translation_of(cart):
    return translation.override(cart.language or settings.LANGUAGE_CODE)


def send_reminder(pk: int, user, message: str = "", now=None) -> CartReminder:
    """Sales → Abandoned carts → "Send reminder": the merchant's reminder, with their message, at most one a day per
    cart; refused for a cart ordered or recovered since, an address that opted out, a cart without the consent asked
    for, and on the Free plan."""
    now = now or timezone.now()
    if Store.load().plan != Store.Plan.STANDARD:
        raise RecoveryError(_("Abandoned carts are a feature of the Standard plan."))
    message = "\n".join(line.rstrip() for line in (message or "").strip().splitlines())[:2000]
    with transaction.atomic():
        cart = Cart.objects.select_for_update().filter(pk=pk).first()
        if cart is None or not services.left_carts(now).filter(pk=pk).exists():
            raise RecoveryError(_("This cart can no longer be reminded."))
        if cart.recovered_order_id or services.ordered_after_leaving(now).filter(pk=pk).exists():
            raise RecoveryError(_("This shopper has ordered since: no reminder needed."))
        if is_opted_out(cart.email):
            raise RecoveryError(_("This shopper asked for no more reminders."))
        if EmailSettings.load().cart_reminder_consent and not cart.reminder_consent:
            raise RecoveryError(_("This shopper did not agree to reminders at checkout."))
        last = cart.reminders.filter(kind=CartReminder.Kind.MANUAL, created_at__gt=now - MANUAL_INTERVAL).last()
        if last is not None:
            raise RecoveryError(
                _("You sent a reminder about this cart less than a day ago: the next one can go on %(when)s.")
                % {"when": timezone.localtime(last.created_at + MANUAL_INTERVAL).strftime("%d.%m.%Y %H:%M")}
            )
        return _queue(cart, CartReminder.Kind.MANUAL, user=user, message=message, now=now)


# The recovery link ------------------------------------------------------------------------------------------------


@dataclass
class Restored:
    cart: Cart | None
    needs_choice: bool = False  # the browser's own cart has items: merge or replace?
    notices: list[str] = field(default_factory=list)


def recovery_target(signed: str) -> Cart:
    """The cart a recovery link stands for. Raises ``RecoveryError`` with the message for the shopper."""
    try:
        token = links.token_from_link(signed)
    except links.LinkExpired as error:
        raise RecoveryError(_("This link has expired: carts are kept for 30 days.")) from error
    except links.LinkInvalid as error:
        raise InvalidLink(_("This link is not valid. Please copy it in full from the e-mail.")) from error
    cart = Cart.objects.filter(token=token).first()
    if cart is None:
        raise RecoveryError(_("This cart is no longer available: carts are kept for 30 days."))
    if cart.status == Cart.Status.ORDERED:
        raise RecoveryError(_("This cart has been ordered already. Thank you!"))
    if not cart.lines.exists():
        raise RecoveryError(_("This cart is empty now."))
    return cart


def restore_cart(signed: str, current_token: str | None, mode: str = "") -> Restored:
    """Open a recovery link in this browser: the cart of the link becomes the browser's cart. The browser's own cart,
    when it has items, is merged into it (``mode="merge"``) or given up (``"replace"``); without a mode the shopper is
    asked. Quantities are clamped to the stock, and the notices say what changed."""
    cart = recovery_target(signed)
    with transaction.atomic():
        cart = Cart.objects.select_for_update().get(pk=cart.pk)
        current = None
        if current_token and current_token != cart.token:
            current = Cart.objects.select_for_update().filter(token=current_token, status=Cart.Status.OPEN).first()
        if current is not None and current.lines.exists():
            if mode not in ("merge", "replace"):
                return Restored(cart=cart, needs_choice=True)
            if mode == "merge":
                _merge_lines(current, cart)
        if current is not None and not current.recovered_order_id:
            current.delete()
        cart.recovery_opened_at = timezone.now()
        cart.touch()
        cart.save(update_fields=["recovery_opened_at", "last_activity_at", "updated_at"])
    return Restored(cart=cart, notices=services.review_cart(cart.token).notices)


def _merge_lines(source: Cart, target: Cart) -> None:
    existing = {line.product_id: line for line in target.lines.all()}
    for line in source.lines.all():
        if line.product_id in existing:
            kept = existing[line.product_id]
            kept.quantity = min(kept.quantity + line.quantity, settings.CART_MAX_QUANTITY)
            kept.save(update_fields=["quantity"])
        else:
            CartLine.objects.create(cart=target, product_id=line.product_id, quantity=line.quantity)
