"""Checkout: totals computed on the server only (``orders.totals``), and ``place_order``, which checks the shopper's
cart and choices under the cart's lock and creates the order on the one path all orders take
(``orders.services.create_order``)."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import EmailSettings
from orders import services as orders
from orders.models import Order
from orders.stock import OutOfStock
from orders.totals import Totals, compute_totals
from payments.models import PaymentMethod
from payments.providers import method_offers
from shop.backoffice.models import Store
from shop.cart.models import Cart, CartLine
from shop.form_fields import storable

from .models import ShippingMethod


class CheckoutError(Exception):
    """The order can't be placed as asked; the message is shown to the shopper. Nothing was changed.

    ``to_cart``: the cart itself must change (sold out, empty), so the shopper is sent back to it."""

    def __init__(self, message, to_cart=True):
        super().__init__(message)
        self.to_cart = to_cart


def cart_totals(lines: list[CartLine], shipping_method: ShippingMethod | None) -> Totals:
    return compute_totals(
        [(line.product.price, line.product.vat_percent, line.quantity) for line in lines],
        shipping_method=shipping_method,
    )


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


def save_checkout_choices(token: str | None, data, language: str) -> bool:
    """What the shopper has given at checkout so far, kept on the cart as they go (abandoned-cart recovery writes to
    the e-mail and fills checkout in again): the e-mail when it is valid, the name, the shipping and payment methods
    offered that they chose, their language, and — when Settings → Email asks for it at checkout — their consent to
    reminders (a ticked box is posted, an unticked one is not: every post says which). Each change counts as the
    shopper's activity. ``data``: the posted form. Returns whether the e-mail was kept."""
    if not token:
        return False
    changes = {"language": language[:8], "last_activity_at": timezone.now()}
    email = str(data.get("email") or "").strip()
    if email and len(email) <= 254 and storable(email):
        try:
            validate_email(email)
            changes["email"] = email
        except ValidationError:
            pass
    name = " ".join(str(data.get("shipping_name") or data.get("billing_name") or "").split())[:200]
    if name and storable(name):  # a NUL would break the update on PostgreSQL: the form says so at the field
        changes["shopper_name"] = name
    methods = {str(m.pk): m for m in shipping_methods()}
    if str(data.get("shipping_method", "")) in methods:
        changes["shipping_method"] = methods[str(data["shipping_method"])]
    payment = str(data.get("payment_method") or "")
    if payment in PaymentMethod.enabled_codes():
        changes["payment_method"] = payment
    if EmailSettings.load().cart_reminder_consent:
        changes["reminder_consent"] = str(data.get("reminder_consent") or "").strip().lower() in ("on", "true", "1")
    updated = Cart.objects.filter(token=token, status=Cart.Status.OPEN).update(**changes)
    return bool(updated) and "email" in changes


def place_order(token: str | None, data: CheckoutData, language: str) -> Order:
    """Turn the shopper's cart into an order, in one transaction.

    Stock is decremented with a conditional update per product (never below zero, never sold twice). A cart that was
    already ordered (double click, resubmitted form) returns its order instead of a second one.
    """
    store = Store.load()
    with transaction.atomic():
        # One query reads the lines and locks their cart: a second request for the same cart waits here. The lines
        # keep the order the shopper added them in; the stock is taken in product order by orders.stock.
        lines = list(
            CartLine.objects.select_for_update(of=("cart",))
            .select_related("cart", "product", "product__category")
            .filter(cart__token=token or "")
            .order_by("added_at", "id")
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
        total = cart_totals(lines, method).total  # a method that can't take it (TWINT above its limit) is refused
        offers = {offer.method.code: offer.refusal for offer in method_offers(store, pickup=pickup, amount=total)}
        if data.payment_method not in offers:
            raise CheckoutError(_("Please choose one of the payment methods offered."), to_cart=False)
        refusal = offers[data.payment_method]  # the reason checkout shows beside the method
        if refusal:
            raise CheckoutError(f"{refusal} {_('Please choose another payment method.')}", to_cart=False)

        cart.email = data.email  # kept with the cart, which the order path marks ordered
        new = orders.NewOrder(
            items=[orders.Item(line.product, line.quantity) for line in lines],
            email=data.email,
            payment_method=data.payment_method,
            language=language,
            phone=data.phone,
            shipping_method=method,
            shipping=data.shipping,
            billing=data.billing,
            cart=cart,
        )
        try:
            order = orders.create_order(new, store)
        except orders.OrderTooLarge as error:
            raise CheckoutError(str(error)) from error
        except OutOfStock as error:
            if error.left:
                message = _("Sorry, only %(count)d of %(name)s left. Please change the quantity in your cart.")
                raise CheckoutError(message % {"count": error.left, "name": error.product.name}) from error
            raise CheckoutError(_("Sorry, %(name)s is sold out.") % {"name": error.product.name}) from error
    return order
