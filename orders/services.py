"""Order workflows: one function per business action. Each runs in a transaction, locks the order row first
(``select_for_update``), refuses what the status tables do not allow, and records an ``OrderEvent``."""

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from shop.catalog.models import Product

from .models import Order, OrderEvent
from .status import (
    OPEN_FULFILMENT,
    FulfilmentStatus,
    PaymentStatus,
    TransitionError,
    check_fulfilment_transition,
    check_payment_transition,
)

Actor = OrderEvent.Actor
Type = OrderEvent.Type

__all__ = ["TransitionError"]


def lock_order(order) -> Order:
    """The order re-read under a row lock (call inside a transaction)."""
    return Order.objects.select_for_update().get(pk=order.pk if isinstance(order, Order) else order)


def record_event(order, type, actor, *, user=None, old="", new="", **data) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, type=type, actor=actor, user=user, old_value=old, new_value=new, data=data
    )


def _set_payment_status(order, new, actor, user=None, **data) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        old = order.payment_status
        check_payment_transition(old, new)
        order.payment_status = new
        order.save(update_fields=["payment_status", "updated_at"])
        record_event(order, Type.PAYMENT_STATUS, actor, user=user, old=old, new=new, **data)
    return order


def _set_fulfilment_status(order, new, actor, user=None, **data) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        old = order.fulfilment_status
        check_fulfilment_transition(old, new)
        order.fulfilment_status = new
        order.save(update_fields=["fulfilment_status", "updated_at"])
        record_event(order, Type.FULFILMENT_STATUS, actor, user=user, old=old, new=new, **data)
    return order


# Payment status ------------------------------------------------------------------------------------------------------


def mark_paid(order, actor=Actor.SYSTEM, user=None, **data) -> Order:
    """Awaiting payment → Paid (called by payments once confirmed payments cover the total)."""
    return _set_payment_status(order, PaymentStatus.PAID, actor, user, **data)


def cancel_order(order, actor=Actor.STAFF, user=None, reason="") -> Order:
    """Cancel: awaiting payment → cancelled; a paid order is refunded in full first. Stock is restored and an open
    fulfilment becomes "will not deliver"."""
    from payments import services as payments

    with transaction.atomic():
        order = lock_order(order)
        if order.payment_status == PaymentStatus.PAID:
            payments.refund_all(order, actor=actor, user=user, note=reason)
        old = order.payment_status
        check_payment_transition(old, PaymentStatus.CANCELLED)
        order.payment_status = PaymentStatus.CANCELLED
        order.save(update_fields=["payment_status", "updated_at"])
        record_event(order, Type.PAYMENT_STATUS, actor, user=user, old=old, new=order.payment_status, reason=reason)
        if order.fulfilment_status in OPEN_FULFILMENT:
            _set_fulfilment_status(order, FulfilmentStatus.WILL_NOT_DELIVER, actor, user)
            order.refresh_from_db(fields=["fulfilment_status"])
        restore_stock(order, actor=actor, user=user)
    return order


def restore_stock(order, actor=Actor.SYSTEM, user=None) -> bool:
    """Put the order's items back in stock, once (cancel, full refund, deleting a test order)."""
    with transaction.atomic():
        order = lock_order(order)
        if order.stock_restored:
            return False
        restored = {}
        for line in order.lines.filter(stock_tracked=True, product__isnull=False).order_by("product_id"):
            Product.objects.filter(pk=line.product_id, stock__isnull=False).update(stock=F("stock") + line.quantity)
            restored[line.sku] = restored.get(line.sku, 0) + line.quantity
        order.stock_restored = True
        order.save(update_fields=["stock_restored", "updated_at"])
        if restored:
            record_event(order, Type.STOCK_RESTORED, actor, user=user, items=restored)
    return True


def flag_order(order, reason: str, actor=Actor.SYSTEM, **data) -> Order:
    """Mark an order for the merchant's attention (a payment that does not match, say)."""
    with transaction.atomic():
        order = lock_order(order)
        order.needs_attention = True
        order.attention_reason = (order.attention_reason + "\n" + reason).strip()
        order.save(update_fields=["needs_attention", "attention_reason", "updated_at"])
        record_event(order, Type.PAYMENT_MISMATCH, actor, reason=reason, **data)
    return order


# Fulfilment status ---------------------------------------------------------------------------------------------------


def start_processing(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.PROCESSING, actor, user)


def mark_ready_for_pickup(order, actor=Actor.STAFF, user=None) -> Order:
    if not Order.objects.filter(pk=order.pk, is_pickup=True).exists():
        raise TransitionError(_("Only orders to be picked up can be ready for pickup."))
    return _set_fulfilment_status(order, FulfilmentStatus.READY_FOR_PICKUP, actor, user)


def mark_shipped(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.SHIPPED, actor, user)


def mark_delivered(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.DELIVERED, actor, user)


def mark_will_not_deliver(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.WILL_NOT_DELIVER, actor, user)


def mark_returned(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.RETURNED, actor, user)


# Tracking and notes --------------------------------------------------------------------------------------------------


def assign_tracking(order, number: str, carrier: str, user=None, actor=Actor.STAFF) -> Order:
    """Set the tracking number and carrier (the shopper's e-mail with the link comes with the notifications)."""
    from .tracking import Carrier

    number = number.strip()
    if not number:
        raise TransitionError(_("Please enter a tracking number."))
    if carrier not in Carrier.values:
        raise TransitionError(_("Please choose a carrier."))
    with transaction.atomic():
        order = lock_order(order)
        old = order.tracking_number
        order.tracking_number, order.tracking_carrier = number, carrier
        order.save(update_fields=["tracking_number", "tracking_carrier", "updated_at"])
        record_event(order, Type.TRACKING, actor, user=user, old=old, new=number, carrier=carrier)
    return order


def add_note(order, text: str, user=None) -> OrderEvent:
    """A staff-only note on the order's timeline."""
    text = text.strip()
    if not text:
        raise TransitionError(_("The note is empty."))
    with transaction.atomic():
        order = lock_order(order)
        return record_event(order, Type.NOTE, Actor.STAFF, user=user, note=text[:4000])


# Test orders ---------------------------------------------------------------------------------------------------------


def delete_test_order(order) -> None:
    """Test orders can be deleted (their stock goes back); real orders never."""
    with transaction.atomic():
        order = lock_order(order)
        if not order.is_test:
            raise TransitionError(_("Only test orders can be deleted."))
        restore_stock(order)
        order.delete()
