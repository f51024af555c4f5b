"""E-mail notifications through an outbox.

``notify()`` writes ``OutgoingEmail`` rows inside the caller's transaction and hands them to Celery once it commits.
``deliver()`` (the task's body) locks the row, skips it when it is no longer pending, renders it in the recipient's
language, sends it and records the outcome; failures are retried with a growing delay and, after the last try, the row
is marked failed where the merchant sees it (the order's timeline, Settings → Email → E-mail log) and can resend it.
``sweep_outbox()`` (Celery beat, every minute) hands over rows that never reached the broker."""

import logging
import smtplib
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .kinds import KINDS, Kind
from .models import EmailSettings, OutgoingEmail
from .render import build_message

logger = logging.getLogger(__name__)

# Seconds to wait before each further try: six tries over about an hour.
RETRY_DELAYS = (60, 180, 420, 900, 1800)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A row still pending this long after its hand-over (or its retry) was lost on its way (a process killed between the
# commit and the hand-over, a worker killed): the sweep hands it over again.
LOST_AFTER = timedelta(minutes=10)


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
    from shop.backoffice.models import Store

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


def hand_over(pks) -> int:
    """Give rows to the broker after the commit: one message for the rows of one transaction. With the broker down,
    the rows stay pending for ``sweep_outbox``."""
    from .tasks import send_email, send_emails

    pks = list(pks)
    try:
        if len(pks) == 1:
            send_email.delay(pks[0])
        else:
            send_emails.delay(pks)
    except Exception:  # the broker is down: nothing is lost, the rows are pending and due for the next sweep
        logger.warning("E-mails %s not handed to the broker; the outbox sweep will retry", pks, exc_info=True)
        OutgoingEmail.objects.filter(pk__in=pks, status=OutgoingEmail.Status.PENDING).update(due_at=timezone.now())
        return 0
    return len(pks)


class _SmtpConnection:
    """One SMTP connection per worker process, kept open between e-mails (opening one costs more than sending): it is
    dropped after an error or when idle long enough for the server to have closed it. Other backends (files under
    var/mail, the tests' outbox) get a fresh connection per e-mail."""

    IDLE = 20.0  # seconds

    def __init__(self):
        self.backend = None
        self.key = None
        self.used = 0.0

    def get(self):
        from django.conf import settings
        from django.core.mail import get_connection

        if not settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
            return get_connection(), False
        key = (settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER)
        now = time.monotonic()
        if self.backend is not None and (key != self.key or now - self.used > self.IDLE):
            self.drop()
        reused = self.backend is not None
        if not reused:
            self.backend, self.key = get_connection(), key
            self.backend.open()
        self.used = now
        return self.backend, reused

    def drop(self):
        if self.backend is not None:
            try:
                self.backend.close()
            except Exception:  # already broken: nothing to close
                logger.debug("SMTP connection closed with an error", exc_info=True)
        self.backend = None


smtp = _SmtpConnection()


class _Recent:
    """The store and the e-mail settings as the worker last read them, for a few seconds: a burst of e-mails reads
    them once instead of once each (a change reaches e-mails within ``EMAIL_SETTINGS_REUSE_SECONDS``)."""

    def __init__(self):
        self.values, self.read_at = None, 0.0

    def get(self):
        from django.conf import settings

        from shop.backoffice.models import Store

        now = time.monotonic()
        if self.values is None or now - self.read_at >= settings.EMAIL_SETTINGS_REUSE_SECONDS:
            self.values, self.read_at = (Store.load(), EmailSettings.load()), now
        return self.values

    def clear(self):
        self.values = None


recent = _Recent()


def deliver(pk: int) -> int | None:
    """Send one pending e-mail. Returns the seconds to wait before the next try when it failed and may be retried,
    else None (sent, failed for good, or nothing to do)."""
    with transaction.atomic():
        try:  # the order comes along (all but the test and cart e-mails have one); the cart, rarely needed, does not
            email = OutgoingEmail.objects.select_for_update(of=("self",)).select_related("order").get(pk=pk)
        except OutgoingEmail.DoesNotExist:  # its transaction was rolled back, or its test order deleted
            return None
        if email.status != OutgoingEmail.Status.PENDING:
            return None
        email.attempts += 1
        try:
            connection, reused = smtp.get()
            store, email_settings = recent.get()
            message = build_message(email, store=store, email_settings=email_settings, connection=connection)
            try:
                message.send()
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                smtp.drop()
                if not reused:
                    raise
                # the server closed the connection kept open: one more go on a new one (nothing was sent)
                message.connection = smtp.get()[0]
                message.send()
            except Exception:
                smtp.drop()
                raise
        except Exception as error:  # SMTP refusals, network errors and even template bugs: try again, then fail
            logger.warning("E-mail %s (%s) failed, try %d", pk, email.kind, email.attempts, exc_info=True)
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            retry_in = RETRY_DELAYS[email.attempts - 1] if email.attempts < MAX_ATTEMPTS else None
            if retry_in is None:
                email.status = OutgoingEmail.Status.FAILED
                email.due_at = None
                _timeline(email, failed=True)
            else:
                email.due_at = timezone.now() + timedelta(seconds=retry_in) + LOST_AFTER
            email.save(update_fields=["attempts", "last_error", "status", "due_at"])
            return retry_in
        email.status = OutgoingEmail.Status.SENT
        email.subject = message.subject[:255]
        email.sent_at = timezone.now()
        email.due_at = None
        email.save(update_fields=["attempts", "status", "subject", "sent_at", "due_at"])
        _timeline(email)
    return None


def _timeline(email: OutgoingEmail, failed=False) -> None:
    from orders.models import OrderEvent
    from orders.services import record_event

    if email.order_id is None:
        return
    record_event(
        email.order,
        OrderEvent.Type.EMAIL_FAILED if failed else OrderEvent.Type.EMAIL_SENT,
        OrderEvent.Actor.SYSTEM,
        email=email.pk,
        kind=email.kind,
        to=email.to,
        **({"error": email.last_error[:300]} if failed else {}),
    )


def sweep_outbox(now=None, limit=1000) -> dict:
    """Celery beat's round: fail what has used up its tries and hand over again what is due (a failed hand-over, or
    a row that should have been sent long ago)."""
    now = now or timezone.now()
    pending = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING)
    exhausted = 0
    for email in pending.filter(attempts__gte=MAX_ATTEMPTS).select_related("order")[:limit]:
        with transaction.atomic():
            if OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmail.Status.PENDING).update(
                status=OutgoingEmail.Status.FAILED
            ):
                _timeline(email, failed=True)
                exhausted += 1
    pks = list(
        pending.filter(attempts__lt=MAX_ATTEMPTS, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    if pks:  # due again in LOST_AFTER unless sent by then (a failed hand-over makes them due at once again)
        OutgoingEmail.objects.filter(pk__in=pks).update(due_at=now + LOST_AFTER)
    handed = sum(hand_over(pks[i : i + 20]) for i in range(0, len(pks), 20))
    return {"failed": exhausted, "handed_over": handed, "waiting": len(pks) - handed}


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


def send_payment_link(order, user):
    """E-mail the customer a link to their order page, where "Pay now" pays online (orders created by staff).

    An order with an offline method switches to the first online method the merchant enabled."""
    from orders import services as orders
    from orders.models import OrderEvent
    from orders.status import PaymentStatus
    from payments.models import Payment
    from payments.providers import available_methods, get_provider
    from shop.backoffice.models import Store

    with transaction.atomic():
        order = orders.lock_order(order)
        if order.payment_status != PaymentStatus.AWAITING_PAYMENT or order.total <= 0:
            raise NotificationError(_("This order needs no payment."))
        provider = get_provider(order.payment_method)
        if provider is None or not provider.is_online:
            online = [p for p in available_methods(Store.load(), pickup=order.is_pickup) if p.is_online]
            if not online:
                raise NotificationError(
                    _("A payment link needs an online payment method: enable one under Settings → Payment.")
                )
            old, order.payment_method = order.payment_method, online[0].code
            order.save(update_fields=["payment_method", "updated_at"])
            for payment in order.payments.select_for_update().filter(status=Payment.Status.PENDING, provider=old):
                payment.fail(_("Replaced by an online payment"))
            orders.record_event(
                order,
                OrderEvent.Type.EDITED,
                OrderEvent.Actor.STAFF,
                user=user,
                changes={"payment_method": [old, order.payment_method]},
            )
        rows = notify(Kind.PAYMENT_LINK, order=order, user=user)
    return rows


def update_email_settings(data: dict, disabled_kinds: list[str]) -> EmailSettings:
    """Settings → Email: save the sender, the merchant's addresses and the switches."""
    with transaction.atomic():
        email_settings = EmailSettings.objects.select_for_update().filter(pk=1).first() or EmailSettings(pk=1)
        for name, value in data.items():
            setattr(email_settings, name, value)
        email_settings.disabled_kinds = sorted(disabled_kinds)
        email_settings.save()
    return email_settings
