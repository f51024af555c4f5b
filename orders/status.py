"""The two status machines of an order, as explicit tables. Services consult them; nothing else moves a status."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")


class FulfilmentStatus(models.TextChoices):
    AWAITING_PROCESSING = "awaiting_processing", _("Awaiting processing")
    PROCESSING = "processing", _("Processing")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pickup")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    WILL_NOT_DELIVER = "will_not_deliver", _("Will not deliver")
    RETURNED = "returned", _("Returned")


P, F = PaymentStatus, FulfilmentStatus

PAYMENT_TRANSITIONS: dict[str, set[str]] = {
    P.AWAITING_PAYMENT: {P.PAID, P.CANCELLED},
    # paid → cancelled only together with a full refund (the cancel service refunds first)
    P.PAID: {P.PARTIALLY_REFUNDED, P.REFUNDED, P.CANCELLED},
    P.PARTIALLY_REFUNDED: {P.PARTIALLY_REFUNDED, P.REFUNDED},
    P.REFUNDED: set(),
    P.CANCELLED: set(),
}

_OPEN = {F.AWAITING_PROCESSING, F.PROCESSING, F.READY_FOR_PICKUP}
FULFILMENT_TRANSITIONS: dict[str, set[str]] = {
    F.AWAITING_PROCESSING: {F.PROCESSING, F.READY_FOR_PICKUP, F.SHIPPED, F.WILL_NOT_DELIVER},
    F.PROCESSING: {F.READY_FOR_PICKUP, F.SHIPPED, F.WILL_NOT_DELIVER},
    F.READY_FOR_PICKUP: {F.DELIVERED, F.WILL_NOT_DELIVER},
    F.SHIPPED: {F.DELIVERED, F.RETURNED},
    F.DELIVERED: {F.RETURNED},
    F.WILL_NOT_DELIVER: set(),
    F.RETURNED: set(),
}
OPEN_FULFILMENT = frozenset(_OPEN)


class TransitionError(Exception):
    """A status change the tables do not allow; the message says so in the user's language."""


def check_payment_transition(old: str, new: str) -> None:
    if new not in PAYMENT_TRANSITIONS.get(old, set()):
        raise TransitionError(
            _("The payment status can't change from “%(old)s” to “%(new)s”.")
            % {"old": PaymentStatus(old).label, "new": PaymentStatus(new).label}
        )


def check_fulfilment_transition(old: str, new: str) -> None:
    if new not in FULFILMENT_TRANSITIONS.get(old, set()):
        raise TransitionError(
            _("The fulfilment status can't change from “%(old)s” to “%(new)s”.")
            % {"old": FulfilmentStatus(old).label, "new": FulfilmentStatus(new).label}
        )
