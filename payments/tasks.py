"""Celery tasks of payments: applying a stored webhook event (the processing half of the webhook pipeline; the
receiving half is ``payments.webhooks``), sweeping events left unprocessed, and reconciling pending online payments
with their providers. They drive the payment primitives of ``payments.services``.

Provider APIs are called first, with no lock held; the event row and the order are locked only to apply the answer."""

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from orders.models import OrderEvent

from . import services
from .models import Payment, Refund, WebhookDelivery, WebhookEvent
from .providers import PROVIDERS, EventKind, ProviderError, budget, get_provider, webhook_methods, webhook_receiver

logger = logging.getLogger(__name__)
Actor = OrderEvent.Actor

# An event still "received" this long after it arrived has missed its task (broker down, worker lost).
SWEEP_AFTER = dt.timedelta(minutes=2)
# An event that still can't be applied after this long is marked in error (and shown as such); the sweep stops.
GIVE_UP_AFTER = dt.timedelta(days=3)
# A delivery's id is remembered this long: beyond the longest window in which its signature is taken (3 days).
KEEP_DELIVERIES = dt.timedelta(days=7)
# A pending payment is asked about at most this often, and given up once its session is this long past its end.
RECHECK_EVERY = dt.timedelta(minutes=10)
EXPIRY_GRACE = dt.timedelta(hours=1)


def find_payment(provider: str, *references: str) -> Payment | None:
    """The attempt an event names: by our reference, or by the provider's id of the session or the transaction.
    ``provider``: the webhook's code (its methods' payments are searched: Datatrans's card, TWINT, PostFinance)."""
    references = [ref for ref in references if ref]
    if not references:
        return None
    match = Q(reference__in=references) | Q(provider_reference__in=references) | Q(transaction_reference__in=references)
    methods = webhook_methods(provider) or [provider]
    return Payment.objects.filter(match, provider__in=methods).order_by("pk").first()


@translation.override("en")  # what it stores (a provider's reason for a failure) is in one language, as the rest
@budget.task()
def apply_webhook_event(event_pk: int) -> str:
    """Apply one stored event. What it needs from the provider (the refunds made, the session re-read) is asked
    before any lock; then the event row and the order are locked and the answer applied, once."""
    event = WebhookEvent.objects.filter(pk=event_pk).first()
    if event is None or event.status != WebhookEvent.Status.RECEIVED:
        return event.status if event else "missing"
    details = event.details or {}
    payment = find_payment(
        event.provider,
        event.payment_reference,
        details.get("provider_reference", ""),
        details.get("transaction_reference", ""),
    )
    provider = webhook_receiver(event.provider)
    if payment is None and provider is not None and details.get("transaction_reference"):
        # the event names only the provider's transaction, and came before the one that named it (a refund first)
        payment = find_payment(event.provider, provider.find_reference(details["transaction_reference"]))
    kind, amount, currency, message, refunds = event.kind, event.amount_minor, event.currency, event.message, None
    if payment is not None:
        provider = get_provider(payment.provider)
    if payment is not None and provider is not None:
        _learn(payment, details)
        if kind == EventKind.REFUNDED:
            refunds = provider.fetch_refunds(payment)  # ProviderError: the task is retried, the event kept
        elif kind == EventKind.SUCCEEDED:
            state = provider.fetch_status(payment)  # re-read where the provider allows it: it has the last word
            if state is not None:
                kind, amount, currency = state.type, state.amount_minor, state.currency
                details = {**details, **state.details}
        if kind == EventKind.AUTHORIZED:
            # the shopper approved: take the money (or let it go); ProviderError: retried, nothing taken meanwhile
            state = services.take_authorized(payment, provider)
            if state is None:
                kind = EventKind.IGNORED  # confirmed already
            else:
                kind, amount, currency = state.type, state.amount_minor, state.currency
                message, details = state.message or message, {**details, **state.details}
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.status != WebhookEvent.Status.RECEIVED:
            return event.status
        outcome = WebhookEvent.Status.PROCESSED
        if payment is None:
            outcome, event.error = WebhookEvent.Status.IGNORED, "no such payment"
        elif kind == EventKind.REFUNDED:
            services.record_provider_refunds(payment, refunds or [], event=event.event_id)
        elif kind in (EventKind.SUCCEEDED, EventKind.FAILED, EventKind.EXPIRED, EventKind.PENDING):
            event.error = services.apply_state(
                payment, kind, amount, currency, message=message, details=details, event=event.event_id
            )
        else:
            outcome = WebhookEvent.Status.IGNORED
        event.status, event.payment = outcome, payment
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "error", "payment", "processed_at"])
    return event.status


def _learn(payment, details: dict) -> None:
    """The provider's ids an event brings (a session's PaymentIntent), for the calls that follow; saved when applied."""
    if details.get("provider_reference") and not payment.provider_reference:
        payment.provider_reference = details["provider_reference"]
    if details.get("transaction_reference") and not payment.transaction_reference:
        payment.transaction_reference = details["transaction_reference"]


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=10)
def process_webhook_event(self, event_pk: int) -> str:
    try:
        return apply_webhook_event(event_pk)
    except Exception as error:  # a provider or database hiccup: try again later; the event row stays "received"
        raise self.retry(exc=error) from error


def hand_over(event_pk: int) -> None:
    """Queue an event's processing; with the broker down it stays stored and the sweep applies it later."""
    try:
        process_webhook_event.delay(event_pk)
    except Exception:
        logger.warning("Webhook event %s not handed to the broker; the sweep will apply it", event_pk, exc_info=True)


@shared_task
def sweep_webhook_events() -> int:
    """Apply verified events left unprocessed (the broker was down when they arrived, a worker was lost), and forget
    the delivery ids no signature can be taken for any more."""
    now = timezone.now()
    WebhookDelivery.objects.filter(received_at__lte=now - KEEP_DELIVERIES).delete()
    stale = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, received_at__lte=now - SWEEP_AFTER)
    applied = 0
    for pk, received_at in stale.order_by("pk").values_list("pk", "received_at")[:500]:
        try:
            apply_webhook_event(pk)
            applied += 1
        except Exception as error:
            logger.warning("Webhook event %s still not applied: %s", pk, error, exc_info=True)
            if received_at <= now - GIVE_UP_AFTER:
                WebhookEvent.objects.filter(pk=pk, status=WebhookEvent.Status.RECEIVED).update(
                    status=WebhookEvent.Status.ERROR, error=str(error)[:1000], processed_at=now
                )
    return applied


# A refund reservation still pending this long is no longer being asked of its provider (a web request ends within
# its time budget, seconds): its provider did not answer in time, or the process died between the provider's answer
# and the settling. The provider's list of refunds is asked what became of it...
SETTLE_AFTER = dt.timedelta(minutes=5)
# ... and one the provider still does not list this long after was not made: it is given back.
STALE_RESERVATION = dt.timedelta(hours=1)


@shared_task
def settle_stale_refunds() -> int:
    """Refund reservations left pending (``RefundPending``: the provider did not answer in time; or a crash): what
    the provider did refund is recorded once, from its list of refunds (the reservation taken over, the shopper
    told), and what it still does not list an hour on is given back. Returns how many payments were looked at."""
    now = timezone.now()
    pending = Refund.objects.filter(status=Refund.Status.PENDING, created_at__lte=now - SETTLE_AFTER)
    payments = Payment.objects.filter(pk__in=pending.values("payment_id")).order_by("pk")[:100]
    for payment in payments:
        provider = get_provider(payment.provider)
        if provider is not None and provider.is_online:
            try:
                with budget.task():
                    refunds = provider.fetch_refunds(payment)
                services.record_provider_refunds(payment, refunds, Actor.SYSTEM)
            except ProviderError as error:  # asked again at the next run
                logger.warning("Could not list the refunds of %s: %s", payment.reference, error)
                continue
        services.release_reservations(payment, now - STALE_RESERVATION)
    return len(payments)


@shared_task
def reconcile_payments() -> int:
    """Ask the providers about online payments still pending after ``RECONCILE_AFTER_MINUTES``, until their
    session has expired, and apply what they say (paid → Paid; expired → the attempt failed). Returns the number
    of payments whose state changed."""
    now = timezone.now()
    online = [code for code, provider in PROVIDERS.items() if provider.is_online]
    due = (
        Payment.objects.filter(
            provider__in=online,
            status=Payment.Status.PENDING,
            failure_message="",  # a mismatch is for the merchant to decide
            created_at__lte=now - dt.timedelta(minutes=settings.RECONCILE_AFTER_MINUTES),
        )
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lte=now - RECHECK_EVERY))
        .select_related("order")
        .order_by("checked_at", "pk")[:200]
    )
    changed = 0
    for payment in due:
        changed += reconcile_payment(payment, now)
    return changed


@translation.override("en")
@budget.task()
def reconcile_payment(payment, now=None, *, via="reconciliation") -> bool:
    """Ask the provider what became of a pending attempt and apply it (an authorised one is captured first).
    ``via``: what the timeline says asked (the reconciliation, or the shopper coming back from the provider)."""
    now = now or timezone.now()
    provider = get_provider(payment.provider)
    try:
        state = provider.fetch_status(payment)
        if state is not None and state.type == EventKind.AUTHORIZED:
            state = services.take_authorized(payment, provider)
            if state is None:  # confirmed meanwhile
                return False
    except ProviderError as error:
        logger.warning("Could not ask %s about %s: %s", payment.provider, payment.reference, error)
        state = None
    Payment.objects.filter(pk=payment.pk).update(checked_at=now)
    past_end = payment.expires_at is not None and payment.expires_at + EXPIRY_GRACE <= now
    if state is None or state.type == EventKind.PENDING:
        if past_end:  # the provider's session is long over and it still says nothing: the attempt is over
            return services.fail_payment(payment, "The payment session expired unpaid.", Actor.SYSTEM, via=via)
        if state is not None:
            services.apply_state(payment, state.type, None, "", details=state.details)
        return False
    services.apply_state(
        payment,
        state.type,
        state.amount_minor,
        state.currency,
        message=state.message,
        details=state.details,
        actor=Actor.SYSTEM,
        via=via,
    )
    return Payment.objects.filter(pk=payment.pk).exclude(status=Payment.Status.PENDING).exists()
