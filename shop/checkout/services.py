"""Checkout: totals computed on the server only, and ``place_order``, which turns a cart into an order."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from orders import services as orders
from orders.models import Order, OrderEvent, OrderLine, OrderNumber
from orders.status import PaymentStatus
from payments import services as payments
from payments.providers import available_methods
from shop.backoffice.models import Store
from shop.cart.models import Cart, CartLine
from shop.catalog.cache import bump_catalog_version
from shop.catalog.models import Product
from shop.money import to_money, vat_by_rate

from .models import ShippingMethod


class CheckoutError(Exception):
    """The order can't be placed as asked; the message is shown to the shopper. Nothing was changed.

    ``to_cart``: the cart itself must change (sold out, empty), so the shopper is sent back to it."""

    def __init__(self, message, to_cart=True):
        super().__init__(message)
        self.to_cart = to_cart


@dataclass
class Totals:
    subtotal: Decimal
    shipping: Decimal
    vat_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)

    @property
    def vat(self) -> Decimal:
        return sum(self.vat_by_rate.values(), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping


def compute_totals(items: list[tuple[Decimal, Decimal, int]], shipping_method: ShippingMethod | None) -> Totals:
    """Totals from (unit price, VAT rate, quantity) items and a shipping method; VAT included, per rate."""
    subtotal = sum((price * qty for price, _rate, qty in items), Decimal("0.00"))
    shipping = shipping_method.cost_for(subtotal) if shipping_method else Decimal("0.00")
    vat = vat_by_rate(items, shipping)
    return Totals(subtotal=to_money(subtotal), shipping=to_money(shipping), vat_by_rate=vat)


def cart_totals(lines: list[CartLine], shipping_method: ShippingMethod | None) -> Totals:
    return compute_totals([(l.product.price, l.product.vat_percent, l.quantity) for l in lines], shipping_method)  # noqa: E741


def shipping_methods() -> list[ShippingMethod]:
    return ShippingMethod.active()


@dataclass
class CheckoutData:
    email: str
    payment_method: str
    shipping_method_id: int | None = None
    phone: str = ""
    shipping: dict = field(default_factory=dict)  # name, company, street, postcode, city, country
    billing: dict = field(default_factory=dict)


def save_contact_email(token: str | None, email: str) -> bool:
    """The contact e-mail is kept on the cart as soon as the shopper gives it (abandoned-cart recovery needs it)."""
    if not token:
        return False
    return bool(Cart.objects.filter(token=token, status=Cart.Status.OPEN).update(email=email))


def place_order(token: str | None, data: CheckoutData, language: str) -> Order:
    """Turn the shopper's cart into an order, in one transaction.

    Stock is decremented with a conditional update per product (never below zero, never sold twice). A cart that was
    already ordered (double click, resubmitted form) returns its order instead of a second one.
    """
    store = Store.load()
    with transaction.atomic():
        # One query reads the lines and locks their cart: a second request for the same cart waits here.
        lines = list(
            CartLine.objects.select_for_update(of=("cart",))
            .select_related("cart", "product", "product__category")
            .filter(cart__token=token or "")
            .order_by("product_id")
        )
        if not lines:
            if Cart.objects.filter(token=token or "").exists():
                raise CheckoutError(_("Your cart is empty."))
            raise CheckoutError(_("Your cart has expired. Please add the products again."))
        cart = lines[0].cart
        if cart.status == Cart.Status.ORDERED:
            existing = Order.objects.filter(cart=cart).first()
            if existing:
                return existing
            raise CheckoutError(_("This cart was already ordered."))
        for line in lines:
            product = line.product
            if not (product.is_active and product.category.is_active) or product.is_sold_out:
                raise CheckoutError(_("Sorry, %(name)s is sold out.") % {"name": product.name})

        requires_shipping = any(line.product.requires_shipping for line in lines)
        method = None
        if requires_shipping:
            method = next((m for m in shipping_methods() if m.pk == data.shipping_method_id), None)
            if method is None:
                raise CheckoutError(_("Please choose a shipping method."), to_cart=False)
        pickup = bool(method and method.is_pickup)
        if data.payment_method not in {p.code for p in available_methods(store, pickup=pickup)}:
            raise CheckoutError(_("Please choose one of the payment methods offered."), to_cart=False)

        totals = cart_totals(lines, method)
        shipping = data.shipping if requires_shipping and not pickup else {}
        billing = data.billing or shipping
        order = Order.objects.create(
            cart=cart,
            is_test=store.test_mode,
            language=language,
            email=data.email,
            phone=data.phone,
            payment_method=data.payment_method,
            requires_shipping=requires_shipping,
            shipping_method=method,
            shipping_method_name=method.name if method else "",
            is_pickup=pickup,
            pickup_address=method.pickup_address if pickup else "",
            **{f"shipping_{k}": v for k, v in shipping.items()},
            **{f"billing_{k}": v for k, v in billing.items()},
            currency=store_currency(),
            subtotal=totals.subtotal,
            shipping_total=totals.shipping,
            vat_total=totals.vat,
            total=totals.total,
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=line.product,
                name=line.product.name,
                sku=line.product.sku,
                unit_price=line.product.price,
                vat_rate=line.product.vat_percent,
                quantity=line.quantity,
                requires_shipping=line.product.requires_shipping,
                stock_tracked=line.product.stock is not None,
            )
            for line in lines
        )
        orders.record_event(
            order,
            OrderEvent.Type.PLACED,
            OrderEvent.Actor.SHOPPER,
            new=order.payment_status,
            payment_method=order.payment_method,
            total=str(order.total),
        )
        cart.status = Cart.Status.ORDERED
        cart.email = data.email
        cart.save(update_fields=["status", "email", "updated_at"])
        if order.total == 0:
            if store.zero_total_status == PaymentStatus.PAID:
                order = orders.mark_paid(order, OrderEvent.Actor.SYSTEM, notify_customer=False, reason="zero total")
        else:
            payments.create_payment(order, order.payment_method)

        # The e-mails are queued before the contended rows are locked (rendering, with the order number, comes after
        # the commit); a sold-out product below rolls them back with the order.
        orders.notify_order_placed(order, [(line.product, line.quantity) for line in lines])

        # The contended rows come last, so that their locks are held for as short a time as possible: the stock of
        # each product (a conditional update: never below zero, never sold twice), then the order number (taken
        # only once the stock is secured, so that sold-out attempts leave no gaps).
        for line in lines:
            if line.product.stock is None:
                continue
            taken = Product.objects.filter(pk=line.product_id, stock__gte=line.quantity).update(
                stock=F("stock") - line.quantity
            )
            if not taken:
                left = Product.objects.filter(pk=line.product_id).values_list("stock", flat=True).first() or 0
                if left:
                    message = _("Sorry, only %(count)d of %(name)s left. Please change the quantity in your cart.")
                    raise CheckoutError(message % {"count": left, "name": line.product.name})
                raise CheckoutError(_("Sorry, %(name)s is sold out.") % {"name": line.product.name})

        order.number = OrderNumber.next()
        order.save(update_fields=["number"])
        if any(line.product.stock is not None for line in lines):
            transaction.on_commit(bump_catalog_version)  # stock states on storefront pages changed
    return order


def store_currency() -> str:
    from django.conf import settings

    return settings.SHOP_CURRENCY
