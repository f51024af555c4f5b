"""Cart workflows: one function per shopper action. Views parse input, call one of these, and render.

Every function that changes a cart runs in one transaction and locks the cart row first, so that two requests of the
same shopper (a double click, two tabs) apply one after the other. On SQLite the transaction is IMMEDIATE (settings),
which serialises writers the same way.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.models import OutgoingEmail
from orders.models import Order
from shop.catalog.models import Product

from .models import Cart, CartLine


class CartError(Exception):
    """A shopper's request that can't be carried out; the message is shown to them as it is."""


@dataclass
class CartLineView:
    line: CartLine
    available: bool
    total: Decimal

    @property
    def product(self):
        return self.line.product


@dataclass
class CartContents:
    cart: Cart | None
    lines: list[CartLineView] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((item.total for item in self.lines if item.available), Decimal("0.00"))

    @property
    def item_count(self) -> int:
        return sum(item.line.quantity for item in self.lines)

    @property
    def has_unavailable(self) -> bool:
        return any(not item.available for item in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines


def find_cart(token: str | None) -> Cart | None:
    """The open cart behind a cookie token, with the number of items in it (one query)."""
    if not token:
        return None
    return Cart.objects.filter(token=token, status=Cart.Status.OPEN).annotate(item_count=Sum("lines__quantity")).first()


def _locked_cart(token: str | None, create: bool, language: str = "") -> Cart | None:
    if token:
        cart = Cart.objects.select_for_update().filter(token=token, status=Cart.Status.OPEN).first()
        if cart is not None:
            return cart
    if not create:
        return None
    return Cart.objects.create(language=language)


def _available_product(product_id: int) -> Product:
    product = Product.objects.available().filter(pk=product_id).first()
    if product is None:
        raise CartError(_("Sorry, this product is not available."))
    return product


def add_to_cart(token: str | None, product_id: int, quantity: int, language: str = "") -> tuple[Cart, str]:
    """Put ``quantity`` of a product in the shopper's cart (creating the cart), within the stock.

    Returns the cart and the message for the shopper. Raises ``CartError`` when nothing could be added.
    """
    with transaction.atomic():
        product = _available_product(product_id)
        if product.is_sold_out:
            raise CartError(_("Sorry, %(name)s is sold out.") % {"name": product.name})
        cart = _locked_cart(token, create=True, language=language)
        line = CartLine.objects.filter(cart=cart, product=product).first()
        in_cart = line.quantity if line else 0
        limit = product.max_orderable()
        if in_cart >= limit:
            raise CartError(
                ngettext(
                    "You already have the only %(count)d available %(name)s in your cart.",
                    "You already have the %(count)d available %(name)s in your cart.",
                    limit,
                )
                % {"count": limit, "name": product.name}
            )
        new_quantity = min(in_cart + quantity, limit)
        if line:
            line.quantity = new_quantity
            line.save(update_fields=["quantity"])
        else:
            CartLine.objects.create(cart=cart, product=product, quantity=new_quantity)
        cart.touch()
        cart.save(update_fields=["last_activity_at", "updated_at"])
    if new_quantity - in_cart < quantity:
        message = ngettext(
            "Only %(count)d %(name)s available: your cart now holds %(count)d.",
            "Only %(count)d %(name)s available: your cart now holds %(count)d.",
            new_quantity,
        ) % {"count": new_quantity, "name": product.name}
    else:
        message = _("%(name)s was added to your cart.") % {"name": product.name}
    return cart, message


def update_line(token: str | None, line_id: int, quantity: int) -> str:
    """Set a cart line's quantity, clamped to the stock. Returns the message for the shopper."""
    with transaction.atomic():
        cart = _locked_cart(token, create=False)
        line = cart and CartLine.objects.select_related("product").filter(cart=cart, pk=line_id).first()
        if not line:
            raise CartError(_("This item is no longer in your cart."))
        product = line.product
        if not product.is_active or product.is_sold_out:
            raise CartError(_("Sorry, %(name)s is no longer available. Please remove it.") % {"name": product.name})
        limit = product.max_orderable()
        line.quantity = min(quantity, limit)
        line.save(update_fields=["quantity"])
        cart.touch()
        cart.save(update_fields=["last_activity_at", "updated_at"])
    if line.quantity < quantity:
        return ngettext(
            "Only %(count)d %(name)s available: quantity set to %(count)d.",
            "Only %(count)d %(name)s available: quantity set to %(count)d.",
            line.quantity,
        ) % {"count": line.quantity, "name": product.name}
    return _("Quantity of %(name)s updated.") % {"name": product.name}


def remove_line(token: str | None, line_id: int) -> str:
    with transaction.atomic():
        cart = _locked_cart(token, create=False)
        line = cart and CartLine.objects.select_related("product").filter(cart=cart, pk=line_id).first()
        if not line:
            raise CartError(_("This item is no longer in your cart."))
        line.delete()
        cart.touch()
        cart.save(update_fields=["last_activity_at", "updated_at"])
    return _("%(name)s was removed from your cart.") % {"name": line.product.name}


def review_cart(token: str | None) -> CartContents:
    """The cart as the shopper should see it now: stock checked, quantities above the stock clamped (and said so),
    sold-out and withdrawn products flagged and left out of the subtotal."""
    if not token:
        return CartContents(cart=None)
    lines = list(
        CartLine.objects.filter(cart__token=token, cart__status=Cart.Status.OPEN).select_related(
            "cart", "product", "product__category"
        )
    )
    contents = CartContents(cart=lines[0].cart if lines else find_cart(token))
    clamped = []
    for line in lines:
        product = line.product
        available = product.is_active and product.category.is_active and not product.is_sold_out
        if available and line.quantity > product.max_orderable():
            line.quantity = product.max_orderable()
            clamped.append(line)
            contents.notices.append(
                ngettext(
                    "Only %(count)d %(name)s left: we changed the quantity in your cart.",
                    "Only %(count)d %(name)s left: we changed the quantity in your cart.",
                    line.quantity,
                )
                % {"count": line.quantity, "name": product.name}
            )
        elif not available:
            contents.notices.append(
                _("%(name)s is sold out or no longer available; it is not counted in your total.")
                % {"name": product.name}
            )
        contents.lines.append(CartLineView(line=line, available=available, total=product.price * line.quantity))
    if clamped:
        CartLine.objects.bulk_update(clamped, ["quantity"])
    return contents


def purge_stale_carts(now=None) -> int:
    """Delete the carts without an order whose shopper has done nothing with them for longer than the cart cookie
    lives (30 days), whatever was sent about them, and erase the addresses of the e-mails sent about them (the
    outbox keeps that an e-mail went, not to whom). A cart won back by an order stays, for the recovered figures.
    Returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.CART_COOKIE_AGE)
    stale = Cart.objects.filter(status=Cart.Status.OPEN, last_activity_at__lt=cutoff, recovered_order__isnull=True)
    with transaction.atomic():
        OutgoingEmail.objects.filter(cart__in=stale).update(to="", bcc="", context={})
        deleted, by_model = stale.delete()
    return by_model.get("cart.Cart", 0)


def abandoned_carts(now=None):
    """The carts a shopper left before ordering, to win back: at least one item, an e-mail, no order, and no shopper
    activity for ``CART_ABANDONED_AFTER_MINUTES`` — and no order placed since with that e-mail, from any cart (that
    shopper came back: their cart is "Ordered", not a recovery target). A queryset, newest activity first."""
    return left_carts(now).exclude(Exists(_ordered_since())).order_by("-last_activity_at", "-pk")


def ordered_after_leaving(now=None):
    """The left carts whose e-mail has ordered since (from another cart): shown as "Ordered", never reminded."""
    return left_carts(now).filter(Exists(_ordered_since())).order_by("-last_activity_at", "-pk")


def left_carts(now=None):
    """Every cart left with an item and an e-mail for the idle time, ordered since with that e-mail or not."""
    idle_since = (now or timezone.now()) - timedelta(minutes=settings.CART_ABANDONED_AFTER_MINUTES)
    return (
        Cart.objects.filter(status=Cart.Status.OPEN, last_activity_at__lte=idle_since)
        .exclude(email="")
        .filter(Exists(CartLine.objects.filter(cart=OuterRef("pk"))))
    )


def _ordered_since():
    return Order.objects.filter(email__iexact=OuterRef("email"), created_at__gte=OuterRef("last_activity_at"))
