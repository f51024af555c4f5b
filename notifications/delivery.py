"""The worker's side of the outbox: ``deliver()`` locks a row, skips it when it is no longer pending, renders it in
the recipient's language, sends it and records the outcome. Failures are retried with a growing delay and, after the
last try, the row is marked failed where the merchant sees it (the order's timeline, Settings → Email → E-mail log)
and can resend it."""

import logging
import smtplib
import time
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from orders.events import record_event
from orders.models import OrderEvent
from shop.backoffice.models import Store

from .models import EmailSettings, OutgoingEmail
from .render import build_message

logger = logging.getLogger(__name__)

# Seconds to wait before each further try: six tries over about an hour.
RETRY_DELAYS = (60, 180, 420, 900, 1800)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A row still pending this long after its hand-over (or its retry) was lost on its way (a process killed between the
# commit and the hand-over, a worker killed): the sweep hands it over again.
LOST_AFTER = timedelta(minutes=10)


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
                timeline(email, failed=True)
            else:
                email.due_at = timezone.now() + timedelta(seconds=retry_in) + LOST_AFTER
            email.save(update_fields=["attempts", "last_error", "status", "due_at"])
            return retry_in
        email.status = OutgoingEmail.Status.SENT
        email.subject = message.subject[:255]
        email.sent_at = timezone.now()
        email.due_at = None
        email.save(update_fields=["attempts", "status", "subject", "sent_at", "due_at"])
        timeline(email)
    return None


def timeline(email: OutgoingEmail, failed=False) -> None:
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
