"""Celery tasks of payments: applying a stored webhook event (the processing half of the webhook pipeline; the
receiving half is ``payments.webhooks``). They drive the payment primitives of ``payments.services``."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from orders.models import OrderEvent

from . import services
from .models import Payment, WebhookEvent

Actor = OrderEvent.Actor


def apply_webhook_event(event_pk: int) -> str:
    """Apply one stored event: confirm or fail the payment after checking amount and currency against it."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.status != WebhookEvent.Status.RECEIVED:
            return event.status
        payment = Payment.objects.filter(provider=event.provider, reference=event.payment_reference).first()
        outcome = WebhookEvent.Status.PROCESSED
        if payment is None:
            outcome, event.error = WebhookEvent.Status.IGNORED, "no such payment"
        elif event.event_type == "payment.succeeded":
            if event.amount_minor != payment.amount_minor or event.currency != payment.currency:
                event.error = services.flag_mismatch(payment, event.amount_minor, event.currency, event=event.event_id)
            else:
                services.confirm_payment(payment, Actor.PROVIDER, event=event.event_id)
        elif event.event_type == "payment.failed":
            services.fail_payment(payment, event.message)
        else:
            outcome = WebhookEvent.Status.IGNORED
        event.status = outcome
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "error", "processed_at"])
    return event.status


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=10)
def process_webhook_event(self, event_pk: int) -> str:
    try:
        return apply_webhook_event(event_pk)
    except Exception as error:  # a database hiccup: try again later; the event row stays "received"
        raise self.retry(exc=error) from error
