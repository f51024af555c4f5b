"""Provider webhooks, the receiving half: verify the signature on the raw body, store the event once, answer at once.
The stored event is applied after the commit by a Celery task (``payments.tasks.process_webhook_event``)."""

import logging

from django.db import IntegrityError, transaction

from .models import WebhookEvent
from .providers import WebhookError, get_provider
from .tasks import process_webhook_event

logger = logging.getLogger(__name__)


def receive_webhook(provider_code: str, body: bytes, headers) -> list[WebhookEvent]:
    """Verify and store a provider's webhook; processing happens in a Celery task after the commit.

    Raises ``WebhookError`` (answered 400) when the signature or the body is bad. A repeated event is stored once and
    not processed again."""
    provider = get_provider(provider_code)
    if provider is None or not provider.is_online:
        raise WebhookError("unknown provider")
    stored = []
    for event in provider.parse_webhook(body, headers):
        try:
            with transaction.atomic():
                row = WebhookEvent.objects.create(
                    provider=provider.code,
                    event_id=event.event_id,
                    event_type=event.type,
                    payment_reference=event.payment_reference,
                    amount_minor=event.amount_minor,
                    currency=event.currency,
                    message=event.message[:300],
                    payload=event.raw,
                )
        except IntegrityError:
            logger.info("Webhook %s:%s received again; already stored", provider.code, event.event_id)
            continue
        transaction.on_commit(lambda pk=row.pk: process_webhook_event.delay(pk))
        stored.append(row)
    return stored
