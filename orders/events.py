"""The leaf every order workflow calls: the order row lock and the audit trail. It imports only models, so that any
service (orders, payments, notifications) may call it without making a cycle."""

from .models import Order, OrderEvent


def lock_order(order) -> Order:
    """The order re-read under a row lock (call inside a transaction). Every workflow that changes an order, its
    payments or its stock record takes this lock first, so they run one after the other for the same order."""
    return Order.objects.select_for_update().get(pk=order.pk if isinstance(order, Order) else order)


def record_event(order, type, actor, *, user=None, old="", new="", **data) -> OrderEvent:
    """One entry of the order's timeline: what changed (``old`` → ``new``), who did it, and details in ``data``."""
    return OrderEvent.objects.create(
        order=order, type=type, actor=actor, user=user, old_value=old, new_value=new, data=data
    )
