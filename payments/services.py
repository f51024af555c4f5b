"""Payment workflows: one function per action on an order's payments.

Every one of them takes the order's row lock first (``orders.events.lock_order``) and then reads the payments it
changes: the order lock serialises all writers of an order's payments, so the payment rows need no lock of their own.
No provider API is called while the order is locked. Dependencies run one way: ``orders.services`` calls this
module; this module calls the payment-status moves (``orders.payment_status``), the events leaf and notifications,
never ``orders.services``. Webhooks arrive through ``payments.webhooks`` and are applied by ``payments.tasks``."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.kinds import Kind
from notifications.services import notify
from orders import payment_status
from orders.events import lock_order, record_event
from orders.models import OrderEvent
from orders.status import PaymentStatus, can_pay_online, needs_payment
from shop.backoffice.models import Store
from shop.money import format_chf

from .models import Payment, Refund
from .providers import RECORDED_BY_STAFF, available_methods, get_provider

Actor = OrderEvent.Actor


class PaymentError(Exception):
    """A payment action that can't be done; the message is for the user."""


def paid_amount(order) -> Decimal:
    """Confirmed payments minus their refunds."""
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
    provider = get_provider(order.payment_method)
    if provider is None or not provider.is_online:
        raise PaymentError(_("This order is paid offline."))
    with transaction.atomic():
        order = lock_order(order)
        if not can_pay_online(order):
            raise PaymentError(_("This order needs no payment."))
        payment = order.payments.filter(provider=provider.code, status=Payment.Status.PENDING).last()
        if payment is None:
            payment = create_payment(order, provider.code, balance_due(order))
        record_event(order, OrderEvent.Type.PAYMENT_STARTED, Actor.SHOPPER, provider=provider.code)
    return provider.start(payment, request)


def confirm_payment(payment, actor=Actor.PROVIDER, user=None, **data) -> bool:
    """Confirm a payment (idempotent); the order turns Paid once confirmed payments minus refunds cover its total."""
    with transaction.atomic():
        order = lock_order(payment.order_id)
        payment = Payment.objects.get(pk=payment.pk)  # read after the order lock: current for this whole workflow
        if not payment.confirm():
            return False
        record_event(
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
            payment_status.mark_paid(order, actor, user)
    return True


def fail_payment(payment, message="", actor=Actor.PROVIDER) -> bool:
    """Record a failed attempt (idempotent; a failure after the confirmation changes nothing)."""
    with transaction.atomic():
        order = lock_order(payment.order_id)
        payment = Payment.objects.get(pk=payment.pk)
        if not payment.fail(message):
            return False
        record_event(
            order,
            OrderEvent.Type.PAYMENT_FAILED,
            actor,
            provider=payment.provider,
            reference=payment.reference,
            message=message,
        )
    return True


def pending_offline_payment(order) -> Payment | None:
    """The attempt a merchant's "payment received" is recorded against: a pending payment of the order's own offline
    method. A pending online attempt is never taken (its provider may still confirm it)."""
    provider = get_provider(order.payment_method)
    if provider is None or provider.is_online:
        return None
    return order.payments.filter(status=Payment.Status.PENDING, provider=provider.code).last()


def record_offline_payment(order, amount, user=None, note="", paid_on=None) -> Payment:
    """The merchant records money received (bank transfer, invoice, phone, cash, or an online order paid otherwise)."""
    with transaction.atomic():
        order = lock_order(order)
        if order.payment_status != PaymentStatus.AWAITING_PAYMENT:
            raise PaymentError(_("This order needs no payment."))
        payment = pending_offline_payment(order)
        if payment is None:
            provider = get_provider(order.payment_method)
            code = order.payment_method if provider and not provider.is_online else RECORDED_BY_STAFF
            payment = create_payment(order, code, amount)
        payment.amount = amount
        payment.note = note
        payment.save(update_fields=["amount", "note"])
        confirm_payment(payment, Actor.STAFF, user, paid_on=str(paid_on or timezone.localdate()), note=note)
    return payment


def settle_pending_amount(order, actor=Actor.STAFF, user=None) -> None:
    """After an edit changed the total: the pending attempts ask for what is now due, so that a later payment of the
    new amount is not a mismatch; when nothing is due any more, they are closed and the order is paid. Call under the
    order lock."""
    if order.payment_status != PaymentStatus.AWAITING_PAYMENT:
        return
    due = balance_due(order)
    pending = order.payments.filter(status=Payment.Status.PENDING)
    if due > 0:
        pending.exclude(amount=due).update(amount=due)
        return
    for payment in pending:
        payment.fail(_("Nothing is due any more after the order was edited"))
    if order.total > 0 or Store.load().zero_total_status == PaymentStatus.PAID:
        payment_status.mark_paid(order, actor, user, reason="edited")


def _refundable(payment) -> Decimal:
    return payment.amount - (payment.refunds.aggregate(s=Sum("amount"))["s"] or Decimal("0"))


def refund_all(order, actor=Actor.STAFF, user=None, note="") -> Decimal:
    """Refund everything paid on an order (recorded; online providers' refund calls come with those providers)."""
    total = Decimal("0")
    with transaction.atomic():
        order = lock_order(order)
        for payment in order.payments.filter(status=Payment.Status.CONFIRMED).order_by("pk"):
            remaining = _refundable(payment)
            if remaining > 0:
                Refund.objects.create(payment=payment, amount=remaining, note=note)
                total += remaining
        if total:
            record_event(order, OrderEvent.Type.REFUNDED, actor, user=user, amount=str(total), note=note)
    return total


def refund(order, amount: Decimal, actor=Actor.STAFF, user=None, note="") -> bool:
    """Refund part or all of what was paid (recorded; online providers' refund calls come with those providers).
    The order becomes Partially refunded or Refunded, and the shopper is told. Returns True for a full refund."""
    with transaction.atomic():
        order = lock_order(order)
        if order.payment_status not in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
            raise PaymentError(_("Only paid orders can be refunded."))
        available = paid_amount(order)
        if amount <= 0 or amount > available:
            raise PaymentError(_("You can refund at most %(amount)s.") % {"amount": format_chf(available)})
        left, refunds = amount, []
        for payment in order.payments.filter(status=Payment.Status.CONFIRMED).order_by("-pk"):
            take = min(left, _refundable(payment))
            if take > 0:
                refunds.append(Refund.objects.create(payment=payment, amount=take, note=note))
                left -= take
        full = amount == available
        payment_status.set_refund_status(order, full=full, actor=actor, user=user)
        record_event(order, OrderEvent.Type.REFUNDED, actor, user=user, amount=str(amount), note=note)
        notify(Kind.REFUNDED, order=order, key=f"refund:{refunds[0].pk}", amount=str(amount), full=full)
    return full


def send_payment_link(order, user):
    """E-mail the customer a link to their order page, where "Pay now" pays online (orders created by staff).

    An order with an offline method switches to the first online method the merchant enabled."""
    with transaction.atomic():
        order = lock_order(order)
        if not needs_payment(order):
            raise PaymentError(_("This order needs no payment."))
        if not can_pay_online(order):
            online = [p for p in available_methods(Store.load(), pickup=order.is_pickup) if p.is_online]
            if not online:
                raise PaymentError(
                    _("A payment link needs an online payment method: enable one under Settings → Payment.")
                )
            old, order.payment_method = order.payment_method, online[0].code
            order.save(update_fields=["payment_method", "updated_at"])
            for payment in order.payments.filter(status=Payment.Status.PENDING, provider=old):
                payment.fail(_("Replaced by an online payment"))
            record_event(
                order,
                OrderEvent.Type.EDITED,
                Actor.STAFF,
                user=user,
                changes={"payment_method": [old, order.payment_method]},
            )
        return notify(Kind.PAYMENT_LINK, order=order, user=user)


def flag_mismatch(payment, reported_minor, reported_currency, actor=Actor.PROVIDER, **data) -> str:
    """A provider reported an amount or currency that is not what this payment asks for: the order is flagged for
    the merchant and not marked paid. Returns the reason."""
    reason = (
        f"Payment {payment.reference} reported "
        f"{format_chf(Decimal(reported_minor or 0) / 100, reported_currency or '?')}"
        f" but {format_chf(payment.amount, payment.currency)} was due; not marked paid."
    )
    payment_status.flag_order(payment.order_id, reason, actor, **data)
    return reason
