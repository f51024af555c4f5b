"""The moves of an order's payment status, which payments drive (a confirmed payment, a refund, a mismatch).

``payments.services`` calls these; they call only the events leaf and notifications, never ``orders.services`` or
``payments``, so the dependencies run one way: orders.services → payments.services → this module → orders.events."""

from django.db import transaction

from notifications.kinds import Kind
from notifications.services import notify

from .events import lock_order, record_event
from .models import Order, OrderEvent
from .status import PaymentStatus, check_payment_transition

Actor = OrderEvent.Actor


def set_payment_status(order, new, actor, user=None, **data) -> Order:
    """Move the payment status as the table allows (under the order lock), with an event saying who and why."""
    with transaction.atomic():
        order = lock_order(order)
        old = order.payment_status
        check_payment_transition(old, new)
        order.payment_status = new
        order.save(update_fields=["payment_status", "updated_at"])
        record_event(order, OrderEvent.Type.PAYMENT_STATUS, actor, user=user, old=old, new=new, **data)
    return order


def mark_paid(order, actor=Actor.SYSTEM, user=None, notify_customer=True, **data) -> Order:
    """Awaiting payment → Paid (once confirmed payments cover the total). The shopper is told, unless the order is
    paid as it is placed (its confirmation says so)."""
    with transaction.atomic():
        order = set_payment_status(order, PaymentStatus.PAID, actor, user, **data)
        if notify_customer:
            notify(Kind.PAYMENT_RECEIVED, order=order, key=f"payment_received:{order.pk}")
    return order


def set_refund_status(order, *, full: bool, actor=Actor.STAFF, user=None) -> Order:
    """Paid → Partially refunded or Refunded, once the refund is recorded."""
    return set_payment_status(order, PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED, actor, user)


def flag_order(order, reason: str, actor=Actor.SYSTEM, event_type=OrderEvent.Type.PAYMENT_MISMATCH, **data) -> Order:
    """Mark an order for the merchant's attention (a payment that does not match, say); ``event_type`` names the
    timeline's entry."""
    with transaction.atomic():
        order = lock_order(order)
        order.needs_attention = True
        order.attention_reason = (order.attention_reason + "\n" + reason).strip()
        order.save(update_fields=["needs_attention", "attention_reason", "updated_at"])
        record_event(order, event_type, actor, reason=reason, **data)
    return order
