"""Payment workflows. Locks are taken order first, then payment, everywhere, so two workflows never deadlock."""

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from orders import services as orders
from orders.models import Order, OrderEvent
from orders.status import PaymentStatus
from shop.money import format_chf

from .models import Payment, Refund, WebhookEvent
from .providers import get_provider

logger = logging.getLogger(__name__)
Actor = OrderEvent.Actor


class PaymentError(Exception):
    """A payment action that can't be done; the message is for the user."""


def paid_amount(order) -> Decimal:
    confirmed = order.payments.filter(status=Payment.Status.CONFIRMED)
    paid = confirmed.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    refunded = Refund.objects.filter(payment__in=confirmed).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    return paid - refunded


def balance_due(order) -> Decimal:
    return max(order.total - paid_amount(order), Decimal("0.00"))


def create_payment(order, provider_code: str, amount=None) -> Payment:
    return Payment.objects.create(
        order=order, provider=provider_code, amount=order.total if amount is None else amount, currency=order.currency
    )


def start_payment(order, request) -> str:
    """A new online payment attempt for what is still due; returns the provider URL to send the shopper to."""
    from django.utils.translation import gettext as _

    provider = get_provider(order.payment_method)
    if provider is None or not provider.is_online:
        raise PaymentError(_("This order is paid offline."))
    with transaction.atomic():
        order = orders.lock_order(order)
        if order.payment_status != PaymentStatus.AWAITING_PAYMENT:
            raise PaymentError(_("This order needs no payment."))
        payment = order.payments.filter(provider=provider.code, status=Payment.Status.PENDING).last()
        if payment is None:
            payment = create_payment(order, provider.code, balance_due(order))
        orders.record_event(order, OrderEvent.Type.PAYMENT_STARTED, Actor.SHOPPER, provider=provider.code)
    return provider.start(payment, request)


def confirm_payment(payment, actor=Actor.PROVIDER, user=None, **data) -> bool:
    """Confirm a payment (idempotent); the order turns Paid once confirmed payments minus refunds cover its total."""
    with transaction.atomic():
        order = orders.lock_order(payment.order_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if not payment.confirm():
            return False
        orders.record_event(
            order,
            OrderEvent.Type.PAYMENT_CONFIRMED,
            actor,
            user=user,
            provider=payment.provider,
            amount=str(payment.amount),
            reference=payment.reference,
            **data,
        )
        if order.payment_status == PaymentStatus.AWAITING_PAYMENT and paid_amount(order) >= order.total:
            orders.mark_paid(order, actor, user)
    return True


def fail_payment(payment, message="", actor=Actor.PROVIDER) -> bool:
    """Record a failed attempt (idempotent; a failure after the confirmation changes nothing)."""
    with transaction.atomic():
        order = orders.lock_order(payment.order_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if not payment.fail(message):
            return False
        orders.record_event(
            order,
            OrderEvent.Type.PAYMENT_FAILED,
            actor,
            provider=payment.provider,
            reference=payment.reference,
            message=message,
        )
    return True


def record_offline_payment(order, amount, user=None, note="", paid_on=None) -> Payment:
    """The merchant records money received for an offline method (bank transfer, invoice, phone, cash)."""
    with transaction.atomic():
        order = orders.lock_order(order)
        payment = order.payments.select_for_update().filter(status=Payment.Status.PENDING).last()
        if payment is None:
            payment = create_payment(order, order.payment_method, amount)
        payment.amount = amount
        payment.note = note
        payment.save(update_fields=["amount", "note"])
        confirm_payment(payment, Actor.STAFF, user, paid_on=str(paid_on or timezone.localdate()), note=note)
    return payment


def refund_all(order, actor=Actor.STAFF, user=None, note="") -> Decimal:
    """Refund everything paid on an order (recorded; online providers' refund calls come with those providers)."""
    total = Decimal("0")
    with transaction.atomic():
        order = orders.lock_order(order)
        for payment in order.payments.select_for_update().filter(status=Payment.Status.CONFIRMED):
            remaining = payment.amount - (payment.refunds.aggregate(s=Sum("amount"))["s"] or Decimal("0"))
            if remaining > 0:
                Refund.objects.create(payment=payment, amount=remaining, note=note)
                total += remaining
        if total:
            orders.record_event(order, OrderEvent.Type.REFUNDED, actor, user=user, amount=str(total), note=note)
    return total


def refund(order, amount: Decimal, actor=Actor.STAFF, user=None, note="") -> Decimal:
    """Refund part or all of what was paid (recorded; online providers' refund calls come with those providers).
    The order becomes Partially refunded or Refunded, and the shopper is told."""
    from django.utils.translation import gettext as _

    from notifications.kinds import Kind
    from notifications.services import notify

    with transaction.atomic():
        order = orders.lock_order(order)
        if order.payment_status not in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
            raise PaymentError(_("Only paid orders can be refunded."))
        available = paid_amount(order)
        if amount <= 0 or amount > available:
            raise PaymentError(_("You can refund at most %(amount)s.") % {"amount": format_chf(available)})
        left, refunds = amount, []
        for payment in order.payments.select_for_update().filter(status=Payment.Status.CONFIRMED).order_by("-pk"):
            refundable = payment.amount - (payment.refunds.aggregate(s=Sum("amount"))["s"] or Decimal("0"))
            take = min(left, refundable)
            if take > 0:
                refunds.append(Refund.objects.create(payment=payment, amount=take, note=note))
                left -= take
        full = paid_amount(order) <= 0
        orders.set_refund_status(order, full=full, actor=actor, user=user)
        orders.record_event(order, OrderEvent.Type.REFUNDED, actor, user=user, amount=str(amount), note=note)
        notify(Kind.REFUNDED, order=order, key=f"refund:{refunds[0].pk}", amount=str(amount), full=full)
    return amount


# Webhooks ------------------------------------------------------------------------------------------------------------


def receive_webhook(provider_code: str, body: bytes, headers) -> list[WebhookEvent]:
    """Verify and store a provider's webhook; processing happens in a Celery task after the commit.

    Raises ``WebhookError`` (answered 400) when the signature or the body is bad. A repeated event is stored once and
    not processed again."""
    from .providers import WebhookError
    from .tasks import process_webhook_event

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


def process_webhook_event(event_pk: int) -> str:
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
            amount, currency = event.amount_minor, event.currency
            if amount != payment.amount_minor or currency != payment.currency:
                order = Order.objects.get(pk=payment.order_id)
                reason = (
                    f"Payment {payment.reference} reported {format_chf(Decimal(amount or 0) / 100, currency or '?')}"
                    f" but {format_chf(payment.amount, payment.currency)} was due; not marked paid."
                )
                orders.flag_order(order, reason, Actor.PROVIDER, event=event.event_id)
                event.error = reason
            else:
                confirm_payment(payment, Actor.PROVIDER, event=event.event_id)
        elif event.event_type == "payment.failed":
            fail_payment(payment, event.message)
        else:
            outcome = WebhookEvent.Status.IGNORED
        event.status = outcome
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "error", "processed_at"])
    return event.status
