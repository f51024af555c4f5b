"""What an order does to the carts: the cart it came from is ordered, and a reminded cart it wins back is recovered.

Called by ``orders.services.create_order``, the one path every order takes (checkout, manual orders, orders placed
from an abandoned cart), inside its transaction; it imports only models, so the order services may call it."""

from datetime import timedelta

from .models import Cart, CartReminder

# An order placed with the e-mail of a reminded cart within this time of the reminder won that cart back.
RECOVERY_WINDOW = timedelta(days=7)


def record_order(order) -> Cart | None:
    """Mark the order's cart ordered and, when a reminder went out about it, recovered by this order; failing that,
    the cart most recently reminded with the order's e-mail within ``RECOVERY_WINDOW`` is recovered by it. Returns
    the recovered cart, if any."""
    when = order.created_at
    if order.cart_id is not None:
        cart = Cart.objects.select_for_update().get(pk=order.cart_id)
        cart.status = Cart.Status.ORDERED
        fields = ["status", "updated_at"]
        if cart.recovered_order_id is None and CartReminder.objects.filter(cart=cart).exists():
            via = "link" if cart.recovery_opened_at else ("staff" if order.created_by_id else "cart")
            cart.recovered_order, cart.recovered_via, cart.recovered_at = order, via, when
            fields += ["recovered_order", "recovered_via", "recovered_at"]
        cart.save(update_fields=fields)
        if cart.recovered_order_id == order.pk:
            return cart
    if not order.email:
        return None
    # from the reminders of the last days (few, by their date's index), not from all carts with that e-mail
    reminded = (
        CartReminder.objects.filter(
            created_at__gte=when - RECOVERY_WINDOW,
            created_at__lte=when,
            cart__email__iexact=order.email,
            cart__status=Cart.Status.OPEN,
            cart__recovered_order__isnull=True,
        )
        .exclude(cart_id=order.cart_id)
        .order_by("-created_at", "-pk")
        .values_list("cart_id", flat=True)
        .first()
    )
    if reminded is None:
        return None
    Cart.objects.filter(pk=reminded, recovered_order__isnull=True).update(
        recovered_order=order, recovered_via="email", recovered_at=when
    )
    return Cart.objects.get(pk=reminded)
