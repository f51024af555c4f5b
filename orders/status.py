"""The two status machines of an order, as explicit tables, and the questions views and services ask of them:
which moves are offered now, may this order be shipped, may the shopper pay online. Nothing else decides these."""

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payments.providers import get_provider


class PaymentStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", gettext_lazy("Awaiting payment")
    PAID = "paid", gettext_lazy("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", gettext_lazy("Partially refunded")
    REFUNDED = "refunded", gettext_lazy("Refunded")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


class FulfilmentStatus(models.TextChoices):
    AWAITING_PROCESSING = "awaiting_processing", gettext_lazy("Awaiting processing")
    PROCESSING = "processing", gettext_lazy("Processing")
    READY_FOR_PICKUP = "ready_for_pickup", gettext_lazy("Ready for pickup")
    SHIPPED = "shipped", gettext_lazy("Shipped")
    DELIVERED = "delivered", gettext_lazy("Delivered")
    WILL_NOT_DELIVER = "will_not_deliver", gettext_lazy("Will not deliver")
    RETURNED = "returned", gettext_lazy("Returned")


P, F = PaymentStatus, FulfilmentStatus

PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    P.AWAITING_PAYMENT: frozenset({P.PAID, P.CANCELLED}),
    # paid → cancelled only together with a full refund (the cancel service refunds first)
    P.PAID: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED, P.CANCELLED}),
    P.PARTIALLY_REFUNDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.REFUNDED: frozenset(),
    P.CANCELLED: frozenset(),
}

OPEN_FULFILMENT = frozenset({F.AWAITING_PROCESSING, F.PROCESSING, F.READY_FOR_PICKUP})
FULFILMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    F.AWAITING_PROCESSING: frozenset({F.PROCESSING, F.READY_FOR_PICKUP, F.SHIPPED, F.WILL_NOT_DELIVER, F.DELIVERED}),
    F.PROCESSING: frozenset({F.READY_FOR_PICKUP, F.SHIPPED, F.WILL_NOT_DELIVER, F.DELIVERED}),
    F.READY_FOR_PICKUP: frozenset({F.DELIVERED, F.WILL_NOT_DELIVER}),
    F.SHIPPED: frozenset({F.DELIVERED, F.RETURNED}),
    F.DELIVERED: frozenset({F.RETURNED}),
    F.WILL_NOT_DELIVER: frozenset(),
    F.RETURNED: frozenset(),
}
# The order in which the back office offers the moves (the most likely next step first).
_OFFER_ORDER = [F.PROCESSING, F.READY_FOR_PICKUP, F.SHIPPED, F.DELIVERED, F.RETURNED, F.WILL_NOT_DELIVER]


class Delivery(models.TextChoices):
    """How an order reaches the shopper; it decides which of the table's moves apply."""

    SHIP = "ship", gettext_lazy("Shipped")
    PICKUP = "pickup", gettext_lazy("Picked up")
    DIGITAL = "digital", gettext_lazy("Digital only")


def delivery(order) -> str:
    if not order.requires_shipping:
        return Delivery.DIGITAL
    return Delivery.PICKUP if order.is_pickup else Delivery.SHIP


class TransitionError(Exception):
    """A status change the tables do not allow; the message says so in the user's language."""


def _applies(move: str, old: str, kind: str) -> bool:
    """The table's moves that depend on how the order is delivered."""
    if move == F.READY_FOR_PICKUP:
        return kind == Delivery.PICKUP
    if move == F.SHIPPED:
        return kind == Delivery.SHIP
    if move == F.DELIVERED and old in (F.AWAITING_PROCESSING, F.PROCESSING):
        return kind == Delivery.DIGITAL  # goods are shipped or picked up first; a download is delivered at once
    return True


def fulfilment_moves(order) -> list[str]:
    """The fulfilment statuses this order may move to now, in the order the back office offers them."""
    old, kind = order.fulfilment_status, delivery(order)
    return [move for move in _OFFER_ORDER if move in FULFILMENT_TRANSITIONS[old] and _applies(move, old, kind)]


def check_payment_transition(old: str, new: str) -> None:
    if new not in PAYMENT_TRANSITIONS[old]:
        raise TransitionError(
            _("The payment status can't change from “%(old)s” to “%(new)s”.")
            % {"old": PaymentStatus(old).label, "new": PaymentStatus(new).label}
        )


def check_fulfilment_transition(order, new: str) -> None:
    """Refuse a fulfilment move this order may not make, saying why."""
    old, kind = order.fulfilment_status, delivery(order)
    if new in fulfilment_moves(order):
        return
    if new in FULFILMENT_TRANSITIONS[old]:
        if new == F.READY_FOR_PICKUP:
            raise TransitionError(_("Only orders to be picked up can be ready for pickup."))
        if new == F.SHIPPED and kind == Delivery.DIGITAL:
            raise TransitionError(_("A digital-only order is not shipped: mark it delivered."))
        if new == F.SHIPPED:
            raise TransitionError(_("An order to be picked up is not shipped: mark it ready for pickup."))
    raise TransitionError(
        _("The fulfilment status can't change from “%(old)s” to “%(new)s”.")
        % {"old": FulfilmentStatus(old).label, "new": FulfilmentStatus(new).label}
    )


def may_ship(order) -> bool:
    return F.SHIPPED in fulfilment_moves(order)


# What may be done about the payment -----------------------------------------------------------------------------------


def needs_payment(order) -> bool:
    return order.payment_status == P.AWAITING_PAYMENT and order.total > 0


def can_pay_online(order) -> bool:
    """The shopper may pay this order online now ("Pay now", a payment link, the redirect after checkout)."""
    provider = get_provider(order.payment_method)
    if provider is None or not provider.is_online or (provider.test_only and not order.is_test):
        return False
    return needs_payment(order)


def can_record_payment(order) -> bool:
    return order.payment_status == P.AWAITING_PAYMENT


def can_refund(order) -> bool:
    return order.payment_status in (P.PAID, P.PARTIALLY_REFUNDED)


def can_cancel(order) -> bool:
    return order.payment_status in (P.AWAITING_PAYMENT, P.PAID)


def can_edit(order) -> bool:
    return order.payment_status not in (P.CANCELLED, P.REFUNDED)
