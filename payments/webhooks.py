"""Provider webhooks, the receiving half: verify the signature on the raw body, store the event once, answer at once.
The stored event is applied after the commit by a Celery task (``payments.tasks.process_webhook_event``)."""

import hashlib
import logging
import math
import re

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import translation
from django.views.decorators.debug import sensitive_variables

from .models import WebhookDelivery, WebhookEvent
from .providers import EventKind, WebhookError, webhook_receiver
from .tasks import hand_over

logger = logging.getLogger(__name__)


@sensitive_variables()  # a debug page of any error below shows no secret: the frames under it hold the keys
@translation.override("en")  # what a provider's event says is stored in one language, whatever the request's
def receive_webhook(provider_code: str, body: bytes, headers) -> list[WebhookEvent]:
    """Verify and store a provider's webhook; processing happens in a Celery task after the commit.

    Raises ``WebhookError`` (answered 400) when the signature or the body is bad, whatever they hold. A repeated event
    is stored once and not processed again; a repeated delivery (PayPal's transmission id) is answered before anything
    costly is checked: as received when its body is the same, refused when it is another."""
    provider = webhook_receiver(provider_code)
    if provider is None:
        raise WebhookError("unknown provider")
    delivery, digest = _delivery_id(provider, headers), hashlib.sha256(body).hexdigest()
    if delivery and _seen(provider, delivery, digest):
        logger.info("Webhook %s delivery %s received again; already stored", provider.code, delivery)
        return []
    try:
        events = provider.parse_webhook(body, headers)
    except (WebhookError, DatabaseError):  # a database that fails is a 500: the provider sends it again later
        raise
    except Exception as error:  # whatever a hostile request makes a parser raise, it is refused, never a 500
        logger.exception("Webhook %s refused: its verification failed unexpectedly", provider.code)
        raise WebhookError("malformed request") from error
    if delivery:
        try:
            with transaction.atomic():
                WebhookDelivery.objects.create(
                    provider=provider.webhook_provider, delivery_id=delivery, body_sha256=digest
                )
        except IntegrityError:  # the same delivery at the same moment, in another request
            if _seen(provider, delivery, digest):
                return []
            raise
    stored = []
    for event in events:
        problem = event.problem or _problem(event)
        fields = _storable(event) if problem else {}
        try:
            with transaction.atomic():
                row = WebhookEvent.objects.create(
                    provider=provider.webhook_provider,
                    event_id=fields.get("event_id", event.event_id),
                    event_type=fields.get("event_type", event.provider_type or event.type),
                    kind=event.type if event.type in EventKind.ALL else EventKind.IGNORED,
                    details=_json_safe(_details(event)),
                    payment_reference=fields.get("payment_reference", event.payment_reference),
                    amount_minor=fields.get("amount_minor", event.amount_minor),
                    currency=fields.get("currency", event.currency),
                    message=_clean(event.message)[:300],
                    payload=_json_safe(event.raw),
                    status=WebhookEvent.Status.REJECTED if problem else WebhookEvent.Status.RECEIVED,
                    error=problem,
                )
        except IntegrityError:
            logger.info("Webhook %s:%s received again; already stored", provider.code, event.event_id[:200])
            continue
        if problem:  # answered 2xx all the same, so that the provider stops sending it; never applied
            logger.warning("Webhook %s:%s rejected: %s", provider.code, row.event_id, problem)
        else:
            # after the commit, and never failing the request: with the broker down the event is swept up later
            transaction.on_commit(lambda pk=row.pk: hand_over(pk))
        stored.append(row)
    return stored


def _delivery_id(provider, headers) -> str:
    """The provider's id of the delivery, when it names one we can keep (printable ASCII, up to 100 characters)."""
    delivery = (provider.delivery_id(headers) or "").strip()
    return delivery if delivery.isascii() and delivery.isprintable() and len(delivery) <= 100 else ""


def _seen(provider, delivery: str, digest: str) -> bool:
    """Whether this delivery was stored before with this body; WebhookError when it was with another body (its signed
    headers replayed with a body of the same CRC32)."""
    stored = (
        WebhookDelivery.objects.filter(provider=provider.webhook_provider, delivery_id=delivery)
        .values_list("body_sha256", flat=True)
        .first()
    )
    if stored is not None and stored != digest:
        raise WebhookError("a delivery received before, with another body")
    return stored is not None


SURROGATE = re.compile("[\ud800-\udfff]")
MAX_AMOUNT_MINOR = 10**11  # CHF 1,000,000,000.–, far beyond any order, well inside the column


def _details(event) -> dict:
    details = {key: str(value)[:200] for key, value in event.details.items() if value}
    if event.provider_reference:
        details["provider_reference"] = event.provider_reference[:120]
    return details


def _problem(event) -> str:
    """Why a verified event can't be taken as it says (values no provider sends, or columns can't hold)."""
    texts = (event.event_id, event.type, event.provider_type, event.payment_reference, event.currency, event.message)
    if any("\x00" in text or SURROGATE.search(text) for text in texts):
        return "a value contains a NUL character or a lone surrogate"
    if not event.event_id or len(event.event_id) > 200:
        return "the event id is empty or too long"
    if len(event.provider_type or event.type) > 100 or len(event.payment_reference) > 120:
        return "the event type or payment reference is too long"
    if event.currency and not (len(event.currency) == 3 and event.currency.isascii() and event.currency.isalpha()):
        return "the currency is not a three-letter code"
    if event.amount_minor is not None and not 0 <= event.amount_minor <= MAX_AMOUNT_MINOR:
        return "the amount is out of range"
    return ""


def _storable(event) -> dict:
    """The columns of a rejected event, cut to what they hold (a too long or odd id is kept as its hash, so that the
    same event sent again is still stored once)."""
    event_id = _clean(event.event_id)
    if event_id != event.event_id or not event_id or len(event_id) > 200:
        event_id = "sha256:" + hashlib.sha256(event.event_id.encode("utf-8", "surrogatepass")).hexdigest()
    amount = event.amount_minor
    return {
        "event_id": event_id,
        "event_type": _clean(event.provider_type or event.type)[:100],
        "payment_reference": _clean(event.payment_reference)[:120],
        "amount_minor": amount if amount is not None and 0 <= amount <= MAX_AMOUNT_MINOR else None,
        "currency": _clean(event.currency)[:3],
    }


def _clean(text: str) -> str:
    """Text any database stores: no NUL (PostgreSQL refuses it), no lone surrogate (it has no UTF-8 form; JSON's
    ``"\\ud800"`` decodes to one)."""
    return SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))


def _json_safe(value):
    """The raw event as JSON any database stores: no NUL character (PostgreSQL refuses it), no infinite number."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
        return str(value)
    if isinstance(value, dict):
        return {_clean(str(key)): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value
