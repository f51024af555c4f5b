"""What an order does to the carts: the cart it came from is ordered, and a reminded cart it wins back is recovered.

Called by ``orders.services.create_order``, the one path every order takes (checkout, manual orders, orders placed
from an abandoned cart), inside its transaction; it imports only models, so the order services may call it."""

from datetime import timedelta

from django.db.models import Q

from .models import Cart, CartReminder

# An order placed with the e-mail of a reminded cart within this time of the reminder won that cart back.
RECOVERY_WINDOW = timedelta(days=7)


def record_order(order, cart=None) -> Cart | None:
    """Mark the order's cart ordered (``cart``: that cart, locked by the caller) and, when a reminder went out about
    it, recovered by this order; failing that, the cart most recently reminded with the order's e-mail within
    ``RECOVERY_WINDOW`` is recovered by it. One query for both questions. Returns the recovered cart, if any."""
    when = order.created_at
    own = Q(cart=cart) if cart is not None else Q(pk__in=[])
    by_email = (
        Q(
            created_at__gte=when - RECOVERY_WINDOW,
            created_at__lte=when,
            cart__email__iexact=order.email,
            cart__status=Cart.Status.OPEN,
            cart__recovered_order__isnull=True,
        )
        if order.email
        else Q(pk__in=[])
    )
    reminders = CartReminder.objects.filter(own | by_email).order_by("-created_at", "-pk")
    reminded = list(reminders.values_list("cart_id", flat=True)[:20])
    recovered = None
    if cart is not None:
        cart.status = Cart.Status.ORDERED
        fields = ["status", "email", "updated_at"]
        if cart.pk in reminded and cart.recovered_order_id is None:
            via = "link" if cart.recovery_opened_at else ("staff" if order.created_by_id else "cart")
            cart.recovered_order, cart.recovered_via, cart.recovered_at = order, via, when
            fields += ["recovered_order", "recovered_via", "recovered_at"]
            recovered = cart
        cart.save(update_fields=fields)
    others = [pk for pk in reminded if cart is None or pk != cart.pk]
    if recovered is None and others:
        Cart.objects.filter(pk=others[0], recovered_order__isnull=True).update(
            recovered_order=order, recovered_via="email", recovered_at=when
        )
        recovered = Cart.objects.get(pk=others[0])
    return recovered
