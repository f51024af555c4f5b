"""E-mail notifications through an outbox: the actions that queue e-mails.

``notify()`` writes ``OutgoingEmail`` rows inside the caller's transaction and hands them to Celery once it commits
(``tasks.hand_over``). The worker's side (render, send, retry, record) is ``delivery.deliver``; ``tasks.sweep_outbox``
(Celery beat, every minute) hands over rows that never reached the broker.

A leaf: every service may call it, and it calls no other app's services (the timeline entry of an e-mail goes through
``orders.events``, the leaf below all order workflows)."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.backoffice.models import Store

from .delivery import LOST_AFTER
from .kinds import KINDS, Kind
from .models import EmailSettings, OutgoingEmail
from .tasks import hand_over

logger = logging.getLogger(__name__)


class NotificationError(Exception):
    """An e-mail action that can't be done; the message is for the merchant."""


def notify(kind: str, **kwargs) -> list[OutgoingEmail]:
    """Queue the e-mail ``kind`` (call inside the business transaction: it is sent once that commits).

    Shopper e-mails go to ``to`` or the order's address, in the order's language; merchant e-mails go to each of the
    merchant's addresses, in the merchant's language. ``key`` names the business fact ("the confirmation of order 7"):
    an e-mail with the same key is never queued twice, so a retried action or a repeated webhook sends nothing more.
    Switched-off kinds are not queued. Returns the rows written."""
    return notify_all([(kind, kwargs)])


def notify_all(requests, *, new_order=False) -> list[OutgoingEmail]:
    """Several ``notify()`` calls at once, ``[(kind, kwargs), …]``: one insert and one hand-over for all of them.
    ``new_order``: the e-mails are about an order created in this transaction, so none can have been queued before
    (the unique key still stands guard)."""
    email_settings, store = EmailSettings.load(), Store.load()
    rows = [row for kind, kwargs in requests for row in _rows(kind, email_settings, store, **kwargs)]
    keys = [row.dedupe_key for row in rows if row.dedupe_key]
    if keys and not new_order:
        done = set(OutgoingEmail.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
        rows = [row for row in rows if row.dedupe_key not in done]
    if not rows:
        return []
    due = timezone.now() + LOST_AFTER
    for row in rows:
        row.due_at = due
    OutgoingEmail.objects.bulk_create(rows)
    pks = [row.pk for row in rows]
    transaction.on_commit(lambda: hand_over(pks))
    return rows


def _rows(kind, email_settings, store, *, order=None, cart=None, to=None, language=None, key=None, user=None, **data):
    info = KINDS[kind]
    if info.switchable and not email_settings.is_enabled(kind):
        return []
    if info.to_merchant:
        recipients = [to] if to else email_settings.recipients(store)
        language = language or email_settings.merchant_language
        bcc = ""
    else:
        recipients = [to or (order.email if order else "")]
        language = language or (order.language if order else email_settings.merchant_language)
        bcc = "\n".join(email_settings.recipients(store)) if email_settings.copy_customer_emails else ""
    recipients = [address for address in dict.fromkeys(recipients) if address]
    if not recipients:
        logger.warning("No recipient for %s e-mail (order %s)", kind, getattr(order, "pk", None))
    return [
        OutgoingEmail(
            kind=kind,
            order=order,
            cart=cart,
            to=address,
            bcc=bcc,
            language=language,
            context=data,
            dedupe_key=(f"{key}:{address}"[:120] if len(recipients) > 1 else key) if key else None,
            created_by=user,
        )
        for address in recipients
    ]


def resend(email: OutgoingEmail, user) -> OutgoingEmail:
    """Send an e-mail again (the merchant's "Resend"): a new row, so the log keeps both."""
    with transaction.atomic():
        copy = OutgoingEmail.objects.create(
            kind=email.kind,
            order=email.order,
            cart=email.cart,
            to=email.to,
            bcc=email.bcc,
            language=email.language,
            context=email.context,
            resend_of=email,
            created_by=user,
            due_at=timezone.now() + LOST_AFTER,
        )
        transaction.on_commit(lambda: hand_over([copy.pk]))
    return copy


def send_test_email(user, to: str = "") -> list[OutgoingEmail]:
    """Settings → Email → "Send a test e-mail" to the merchant's addresses (or ``to``)."""
    with transaction.atomic():
        rows = notify(Kind.TEST, to=to or None, user=user)
    if not rows:
        raise NotificationError(_("There is no address to send to: enter your e-mail address first."))
    return rows


def update_email_settings(data: dict, disabled_kinds: list[str]) -> EmailSettings:
    """Settings → Email: save the sender, the merchant's addresses and the switches. Switching the automatic cart
    reminders on (from off) dates it: carts left up to 14 days before that are reminded, never older ones; switching
    them off keeps the date, and switching them on again after a pause dates it anew."""
    with transaction.atomic():
        email_settings = EmailSettings.objects.select_for_update().filter(pk=1).first() or EmailSettings(pk=1)
        was_on = email_settings.cart_reminders
        for name, value in data.items():
            setattr(email_settings, name, value)
        if email_settings.cart_reminders and (not was_on or email_settings.cart_reminders_since is None):
            email_settings.cart_reminders_since = timezone.now()
        email_settings.disabled_kinds = sorted(disabled_kinds)
        email_settings.save()
    return email_settings
