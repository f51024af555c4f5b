"""Celery's side of the outbox: handing rows to the broker, sending them, and the sweep for rows that never got there.
The work itself is ``delivery.deliver``."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import delivery
from .models import OutgoingEmail

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=None, ignore_result=True)
def send_email(self, pk: int) -> None:
    """Send one outgoing e-mail; on failure, try again later with a growing delay (the row counts the tries)."""
    retry_in = delivery.deliver(pk)
    # Run in-process (no broker: the embedded default), a retry would run at once; the outbox sweep retries instead.
    if retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=retry_in)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_emails(self, pks: list[int]) -> None:
    """Send the e-mails one transaction queued (an order's confirmation and the merchant's notification, say): one
    message for all, each row still locked, sent and recorded on its own; a failed one is retried on its own."""
    for pk in pks:
        retry_in = delivery.deliver(pk)
        if retry_in is not None and not self.request.is_eager:
            send_email.apply_async((pk,), countdown=retry_in)


def hand_over(pks) -> int:
    """Give rows to the broker after the commit: one message for the rows of one transaction. With the broker down,
    the rows stay pending for ``sweep_outbox``."""
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


@shared_task(ignore_result=True)
def sweep_outbox(now=None, limit=1000) -> dict:
    """Celery beat's round (every minute): fail what has used up its tries and hand over again what is due (a failed
    hand-over, or a row that should have been sent long ago). Called directly, it runs in the caller's process."""
    now = now or timezone.now()
    pending = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING)
    exhausted = 0
    for email in pending.filter(attempts__gte=delivery.MAX_ATTEMPTS).select_related("order")[:limit]:
        with transaction.atomic():
            if OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmail.Status.PENDING).update(
                status=OutgoingEmail.Status.FAILED
            ):
                delivery.timeline(email, failed=True)
                exhausted += 1
    pks = list(
        pending.filter(attempts__lt=delivery.MAX_ATTEMPTS, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    if pks:  # due again in LOST_AFTER unless sent by then (a failed hand-over makes them due at once again)
        OutgoingEmail.objects.filter(pk__in=pks).update(due_at=now + delivery.LOST_AFTER)
    handed = sum(hand_over(pks[i : i + 20]) for i in range(0, len(pks), 20))
    return {"failed": exhausted, "handed_over": handed, "waiting": len(pks) - handed}
