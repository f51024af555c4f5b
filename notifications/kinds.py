"""The e-mails the shop sends: who gets each, whether the merchant can switch it off, and its subject line."""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    ORDER_CONFIRMATION = "order_confirmation", _("Order confirmation")
    PAYMENT_RECEIVED = "payment_received", _("Payment received")
    STATUS_CHANGED = "status_changed", _("Order status changed")
    SHIPPED = "shipped", _("Order shipped")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pickup")
    CANCELLED = "cancelled", _("Order cancelled")
    REFUNDED = "refunded", _("Refund")
    PAYMENT_LINK = "payment_link", _("Payment link")
    ABANDONED_CART = "abandoned_cart", _("Abandoned cart recovery")
    NEW_ORDER = "new_order", _("Order placed notification")
    LOW_STOCK = "low_stock", _("Low stock")
    TEST = "test", _("Test e-mail")


@dataclass(frozen=True)
class KindInfo:
    to_merchant: bool
    switchable: bool
    subject: str  # a lazy translation with %(number)s / %(store)s placeholders
    help: str = ""


KINDS: dict[str, KindInfo] = {
    Kind.ORDER_CONFIRMATION: KindInfo(
        False,
        True,
        _("Your order %(number)s at %(store)s"),
        _("Sent when a shopper places an order, with the payment instructions of offline methods."),
    ),
    Kind.PAYMENT_RECEIVED: KindInfo(
        False, True, _("Payment received for order %(number)s"), _("Sent when an order becomes Paid.")
    ),
    Kind.STATUS_CHANGED: KindInfo(
        False,
        True,
        _("Order %(number)s: %(status)s"),
        _("Sent when you start processing an order, mark it delivered or returned, or won't deliver it."),
    ),
    Kind.SHIPPED: KindInfo(
        False,
        True,
        _("Your order %(number)s is on its way"),
        _("Sent when an order is marked shipped, and again when a tracking number is assigned later."),
    ),
    Kind.READY_FOR_PICKUP: KindInfo(
        False, True, _("Your order %(number)s is ready for pickup"), _("Sent when a pickup order is ready.")
    ),
    Kind.CANCELLED: KindInfo(False, True, _("Order %(number)s cancelled"), _("Sent when you cancel an order.")),
    Kind.REFUNDED: KindInfo(False, True, _("Refund for order %(number)s"), _("Sent when you refund an order.")),
    Kind.PAYMENT_LINK: KindInfo(
        False,
        False,
        _("Pay for your order %(number)s at %(store)s"),
        _("Sent when you e-mail a customer the payment link of an order you created."),
    ),
    # Not a switch among the others: automatic reminders have their own (off by default) under Settings → Email, and
    # a manual reminder is the merchant's own decision.
    Kind.ABANDONED_CART: KindInfo(
        False,
        False,
        _("You left something in your cart at %(store)s"),
        _("Sent about an abandoned cart: automatically when you switch reminders on, or when you send one."),
    ),
    Kind.NEW_ORDER: KindInfo(
        True, True, _("New order %(number)s: %(total)s"), _("Sent to you for every order placed in the storefront.")
    ),
    Kind.LOW_STOCK: KindInfo(
        True,
        True,
        _("Low stock: %(products)s"),
        _("Sent to you when an order leaves a product with few items in stock."),
    ),
    Kind.TEST: KindInfo(True, False, _("Test e-mail from %(store)s"), ""),
}
SWITCHABLE = [kind for kind, info in KINDS.items() if info.switchable]
