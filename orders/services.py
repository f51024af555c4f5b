"""Order workflows: one function per business action. Each runs in a transaction, locks the order row first
(``events.lock_order``), refuses what the status tables do not allow, and records an ``OrderEvent``.

Dependencies run one way: checkout and the back office call this module; it calls ``payments.services`` (which calls
the payment-status moves in ``orders.payment_status``), the stock record (``orders.stock``), the events leaf and
notifications. Nothing below imports it."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from notifications.kinds import Kind
from notifications.services import notify, notify_all
from payments import services as payments
from shop.backoffice.models import Store
from shop.cart import ordered as cart_ordered
from shop.cart.models import Cart
from shop.catalog.models import Product
from shop.money import format_chf, store_currency

from . import stock
from .events import lock_order, record_event
from .models import Order, OrderEvent, OrderLine, OrderNumber
from .payment_status import mark_paid, set_payment_status
from .status import (
    OPEN_FULFILMENT,
    FulfilmentStatus,
    PaymentStatus,
    TransitionError,
    can_edit,
    check_fulfilment_transition,
    check_payment_transition,
)
from .totals import MAX_TOTAL, compute_totals
from .tracking import Carrier, tracking_url

ADDRESS_FIELDS = ("name", "company", "street", "postcode", "city", "country")
Actor = OrderEvent.Actor
Type = OrderEvent.Type

__all__ = ["TransitionError"]


class OrderTooLarge(TransitionError):
    def __init__(self):
        super().__init__(_("The order total can't be more than %(amount)s.") % {"amount": format_chf(MAX_TOTAL)})


class UnpaidShipment(TransitionError):
    """Shipping an order whose payment is still outstanding needs the merchant's explicit confirmation."""

    def __init__(self, outstanding: Decimal):
        super().__init__(
            _("Payment of %(amount)s is still outstanding — ship anyway?") % {"amount": format_chf(outstanding)}
        )
        self.outstanding = outstanding


# Creating an order: one path for checkout, manual orders and abandoned-cart orders ----------------------------------


@dataclass
class Item:
    """One line to order: a product, how many, and the unit price (None: the catalog price)."""

    product: Product
    quantity: int
    unit_price: Decimal | None = None

    @property
    def price(self) -> Decimal:
        return self.product.price if self.unit_price is None else self.unit_price


@dataclass
class NewOrder:
    items: list[Item]
    email: str
    payment_method: str
    language: str = "de"
    phone: str = ""
    shipping_method: object = None  # a checkout.ShippingMethod; None: nothing to ship
    shipping_cost: Decimal | None = None  # None: what the method costs for this order
    shipping: dict = field(default_factory=dict)
    billing: dict = field(default_factory=dict)  # empty: the shipping address
    source: str = Order.Source.STOREFRONT
    cart: object = None
    created_by: object = None
    confirm: bool = True  # e-mail the order confirmation to the shopper


def create_order(new: NewOrder, store) -> Order:
    """Create an order: the order row with its totals, a snapshot of its lines, its first payment, its e-mails, the
    stock it takes and, last, its number. Call inside the caller's transaction; raises ``stock.OutOfStock`` (which
    rolls everything back) when a product has not enough units left.

    The contended rows come last, so their locks are held as briefly as possible: the stock of each product, then
    the order number (taken only once the stock is secured, so that sold-out attempts leave no gaps)."""
    method = new.shipping_method
    pickup = bool(method and method.is_pickup)
    totals = compute_totals(
        [(item.price, item.product.vat_percent, item.quantity) for item in new.items],
        shipping_method=method,
        shipping_cost=new.shipping_cost,
    )
    if totals.total > MAX_TOTAL:
        raise OrderTooLarge()
    shipping = new.shipping if method and not pickup else {}
    billing = new.billing or shipping
    order = Order.objects.create(
        cart=new.cart,
        source=new.source,
        created_by=new.created_by,
        is_test=store.test_mode,
        language=new.language,
        email=new.email,
        phone=new.phone,
        payment_method=new.payment_method,
        requires_shipping=method is not None,
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
    snapshot_lines(order, new.items)
    cart_ordered.record_order(order, new.cart)  # its cart is ordered; a reminded cart it wins back is recovered
    actor = Actor.SHOPPER if new.source == Order.Source.STOREFRONT else Actor.STAFF
    record_event(
        order,
        Type.PLACED,
        actor,
        user=new.created_by,
        new=order.payment_status,
        source=new.source,
        payment_method=order.payment_method,
        total=str(order.total),
    )
    if order.total > 0:
        payments.create_payment(order, order.payment_method)
    elif store.zero_total_status == PaymentStatus.PAID:
        order = mark_paid(order, Actor.SYSTEM, notify_customer=False, reason="zero total")
    # Queued before the contended rows are locked (rendering, with the order number, comes after the commit).
    taken = [(item.product, item.quantity) for item in new.items]
    notify_order_placed(order, taken, confirm=new.confirm)
    stock.take_for_new_order(order, taken)
    assign_number(order)
    return order


def snapshot_lines(order, items) -> list[OrderLine]:
    """The order's lines as bought: name, SKU, unit price, VAT rate and quantity never follow later catalog edits."""
    return OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=item.product,
            name=item.product.name,
            sku=item.product.sku,
            unit_price=item.price,
            vat_rate=item.product.vat_percent,
            quantity=item.quantity,
            requires_shipping=item.product.requires_shipping,
        )
        for item in items
    )


def assign_number(order) -> int:
    """The order's number, taken last in the transaction (concurrent orders wait here for each other's commit)."""
    order.number = OrderNumber.next()
    order.save(update_fields=["number"])
    return order.number


def notify_order_placed(order, taken, confirm=True) -> None:
    """The shopper's confirmation, the merchant's "new order" and, for the products this order left with few items
    in stock, the merchant's low-stock e-mail. ``taken``: (product as read before the order, quantity) pairs."""
    requests = []
    if confirm:
        requests.append((Kind.ORDER_CONFIRMATION, {"order": order, "key": f"order_confirmation:{order.pk}"}))
    if order.source == Order.Source.STOREFRONT:
        requests.append((Kind.NEW_ORDER, {"order": order, "key": f"new_order:{order.pk}"}))
    threshold = settings.LOW_STOCK_THRESHOLD
    low = [
        {"name": product.name, "sku": product.sku, "stock": product.stock - quantity, "pk": product.pk}
        for product, quantity in taken
        if product.stock is not None and product.stock - quantity <= threshold < product.stock
    ]
    if low:
        requests.append((Kind.LOW_STOCK, {"order": order, "key": f"low_stock:{order.pk}", "products": low}))
    notify_all(requests, new_order=True)


def create_manual_order(new: NewOrder, user, *, mark_as_paid=False, processing=False, payment_link=False) -> Order:
    """An order taken by the merchant (a phone order), created on the same path as a storefront order; then, as the
    merchant asked: paid already, processing at once, or a payment link e-mailed to the customer."""
    if not new.items:
        raise TransitionError(_("Add at least one product."))
    new.source, new.created_by = Order.Source.MANUAL, user
    with transaction.atomic():
        # placed from an abandoned cart ("Place this order"): once only, even against the shopper ordering it now
        if (
            new.cart is not None
            and not Cart.objects.select_for_update().filter(pk=new.cart.pk, status=Cart.Status.OPEN).exists()
        ):
            raise TransitionError(_("This cart has been ordered meanwhile."))
        try:
            order = create_order(new, Store.load())
        except stock.OutOfStock as error:
            raise TransitionError(str(error)) from error
        if mark_as_paid and order.payment_status == PaymentStatus.AWAITING_PAYMENT:
            if order.total == 0:
                mark_paid(order, Actor.STAFF, user, notify_customer=False)
            else:
                payments.record_offline_payment(order, order.total, user=user, note=_("Paid when ordering"))
        if processing:
            start_processing(order, user=user)
        if payment_link and not mark_as_paid and order.total > 0:
            try:
                payments.send_payment_link(order, user)
            except payments.PaymentError as error:
                raise TransitionError(str(error)) from error
    return Order.objects.get(pk=order.pk)


# Fulfilment status ---------------------------------------------------------------------------------------------------


def _set_fulfilment_status(order, new, actor, user=None, notify_customer=True, **data) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        old = order.fulfilment_status
        check_fulfilment_transition(order, new)
        order.fulfilment_status = new
        order.save(update_fields=["fulfilment_status", "updated_at"])
        record_event(order, Type.FULFILMENT_STATUS, actor, user=user, old=old, new=new, **data)
        if notify_customer:
            _notify_fulfilment(order)
    return order


def _notify_fulfilment(order) -> None:
    """The shopper's e-mail for the fulfilment status the order just reached (each is reached at most once)."""
    status = order.fulfilment_status
    if status == FulfilmentStatus.SHIPPED:
        _notify_shipped(order)
    elif status == FulfilmentStatus.READY_FOR_PICKUP:
        notify(Kind.READY_FOR_PICKUP, order=order, key=f"ready_for_pickup:{order.pk}")
    else:
        notify(Kind.STATUS_CHANGED, order=order, key=f"status:{order.pk}:{status}", status=status)


def _notify_shipped(order) -> None:
    notify(
        Kind.SHIPPED,
        order=order,
        key=f"shipped:{order.pk}:{order.tracking_number}"[:120],
        tracking_number=order.tracking_number,
        carrier=order.tracking_carrier,
        carrier_label=order.tracking_carrier_label if order.tracking_number else "",
        tracking_url=tracking_url(order.tracking_carrier, order.tracking_number) if order.tracking_number else "",
    )


def start_processing(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.PROCESSING, actor, user)


def mark_ready_for_pickup(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.READY_FOR_PICKUP, actor, user)


def outstanding_payment(order, balance_due=None) -> Decimal:
    """What the shopper still owes on an order awaiting payment (shipping it asks first); nothing otherwise."""
    if order.payment_status != PaymentStatus.AWAITING_PAYMENT:
        return Decimal("0.00")
    return payments.balance_due(order) if balance_due is None else balance_due


def ship_order(order, *, tracking_number="", carrier="", unpaid_ok=False, actor=Actor.STAFF, user=None) -> Order:
    """Mark shipped, with the tracking number when given, in one transaction: the shopper's "shipped" e-mail carries
    the number. An order whose payment is outstanding is shipped only with ``unpaid_ok`` (the merchant confirmed)."""
    with transaction.atomic():
        order = lock_order(order)
        check_fulfilment_transition(order, FulfilmentStatus.SHIPPED)
        outstanding = outstanding_payment(order)
        if outstanding > 0 and not unpaid_ok:
            raise UnpaidShipment(outstanding)
        if tracking_number:
            _set_tracking(order, tracking_number, carrier, actor, user)
        return _set_fulfilment_status(order, FulfilmentStatus.SHIPPED, actor, user)


def mark_delivered(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.DELIVERED, actor, user)


def mark_will_not_deliver(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.WILL_NOT_DELIVER, actor, user)


def mark_returned(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.RETURNED, actor, user)


# Tracking and notes --------------------------------------------------------------------------------------------------


def _clean_tracking(number: str, carrier: str) -> str:
    number = number.strip()
    if not number:
        raise TransitionError(_("Please enter a tracking number."))
    if carrier not in Carrier.values:
        raise TransitionError(_("Please choose a carrier."))
    return number


def _set_tracking(order, number, carrier, actor, user) -> str:
    """Set number and carrier on a locked order; returns the number it had before."""
    number = _clean_tracking(number, carrier)
    old = order.tracking_number
    order.tracking_number, order.tracking_carrier = number, carrier
    order.save(update_fields=["tracking_number", "tracking_carrier", "updated_at"])
    record_event(order, Type.TRACKING, actor, user=user, old=old, new=number, carrier=carrier)
    return old


def assign_tracking(order, number: str, carrier: str, user=None, actor=Actor.STAFF) -> Order:
    """Set or correct the tracking number and carrier. The shopper's "shipped" e-mail carries them: sent now when the
    order is already shipped (with the new number), else when it is shipped."""
    _clean_tracking(number, carrier)
    with transaction.atomic():
        order = lock_order(order)
        old = _set_tracking(order, number, carrier, actor, user)
        if order.fulfilment_status == FulfilmentStatus.SHIPPED and old != order.tracking_number:
            _notify_shipped(order)  # shipped before the number was known: the shopper gets it now
    return order


def add_note(order, text: str, user=None) -> OrderEvent:
    """A staff-only note on the order's timeline."""
    text = text.strip()
    if not text:
        raise TransitionError(_("The note is empty."))
    with transaction.atomic():
        order = lock_order(order)
        return record_event(order, Type.NOTE, Actor.STAFF, user=user, note=text[:4000])


# Cancelling, refunding, deleting -------------------------------------------------------------------------------------


def cancel_order(order, actor=Actor.STAFF, user=None, reason="") -> Order:
    """Cancel: awaiting payment → cancelled; a paid order is refunded in full first, through its providers. What the
    order holds goes back to stock, an open fulfilment becomes "will not deliver", and the order's open provider
    sessions are expired (a payment that still arrives is flagged for refund). A provider that refuses the refund
    raises PaymentError and the order stays as it was. No provider is called while the order is locked."""
    order = Order.objects.get(pk=order.pk)
    check_payment_transition(order.payment_status, PaymentStatus.CANCELLED)
    refunded = None
    if order.payment_status == PaymentStatus.PAID:
        refunded = payments.refund_all(order, actor=actor, user=user, note=reason)
    with transaction.atomic():
        order = lock_order(order)
        check_payment_transition(order.payment_status, PaymentStatus.CANCELLED)
        order = set_payment_status(order, PaymentStatus.CANCELLED, actor, user, reason=reason)
        if order.fulfilment_status in OPEN_FULFILMENT:
            order = _set_fulfilment_status(order, FulfilmentStatus.WILL_NOT_DELIVER, actor, user, notify_customer=False)
        stock.restore(order, actor=actor, user=user)
        notify(Kind.CANCELLED, order=order, key=f"cancelled:{order.pk}", refunded=str(refunded) if refunded else "")
    payments.close_open_attempts(order, _("The order was cancelled."))
    return order


def refund_order(order, amount: Decimal, *, restock=False, actor=Actor.STAFF, user=None, note="") -> dict:
    """Refund part or all of what was paid, through the providers. A full refund with ``restock`` gives back what
    the order holds; a partial refund never restocks. Returns what went back to stock, per SKU. The provider is
    called with no lock held; the stock is given back once the refund is recorded."""
    full = payments.refund(order, amount, actor=actor, user=user, note=note)
    if not (full and restock):
        return {}
    with transaction.atomic():
        return stock.restore(lock_order(order), actor=actor, user=user)


def delete_test_order(order) -> None:
    """Test orders can be deleted (what they hold goes back to stock); real orders never."""
    with transaction.atomic():
        order = lock_order(order)
        if not order.is_test:
            raise TransitionError(_("Only test orders can be deleted."))
        stock.restore(order)
        order.delete()


# Editing -------------------------------------------------------------------------------------------------------------

EDITABLE_FIELDS = (
    "email",
    "phone",
    "shipping_total",
    "adjustment",
    "adjustment_label",
    *(f"{kind}_{name}" for kind in ("shipping", "billing") for name in ADDRESS_FIELDS),
)


@dataclass
class LineChange:
    line_id: int | None  # None: a new line
    quantity: int  # 0 removes the line
    unit_price: Decimal
    product: Product | None = None  # for a new line


def edit_order(order, changes: dict, line_changes: list[LineChange], user, adjust_stock=False) -> Order:
    """Edit an order as Ecwid allows: lines, unit prices, discount or surcharge, shipping cost, addresses and contact.

    Totals are recomputed, and a pending payment asks for the new amount. Stock changes only with ``adjust_stock``
    (Shopify's "Restock item"): more units are taken, fewer given back, and the order's stock record follows;
    without it, stock and the record stay as they are. Every change is recorded with its value before and after."""
    with transaction.atomic():
        order = lock_order(order)
        if not can_edit(order):
            raise TransitionError(_("Cancelled or refunded orders can't be edited."))
        before_total = order.total
        diff = {}
        for name, value in changes.items():
            if name in EDITABLE_FIELDS and getattr(order, name) != value:
                diff[name] = [str(getattr(order, name)), str(value)]
                setattr(order, name, value)
        lines = {line.pk: line for line in order.lines.select_related("product")}
        moved = []  # (product, change in quantity) for the stock
        new_items = []
        for change in line_changes:
            if change.line_id is None:
                if change.quantity >= 1 and change.product is not None:
                    new_items.append(Item(change.product, change.quantity, change.unit_price))
                continue
            line = lines.get(change.line_id)
            if line is None:
                raise TransitionError(_("This line is not on the order."))
            if change.quantity == 0:
                diff[f"line {line.sku}"] = [f"{line.quantity} × {line.unit_price}", ""]
                moved.append((line.product, -line.quantity))
                line.delete()
                del lines[change.line_id]
            elif (line.quantity, line.unit_price) != (change.quantity, change.unit_price):
                diff[f"line {line.sku}"] = [
                    f"{line.quantity} × {line.unit_price}",
                    f"{change.quantity} × {change.unit_price}",
                ]
                moved.append((line.product, change.quantity - line.quantity))
                line.quantity, line.unit_price = change.quantity, change.unit_price
                line.save(update_fields=["quantity", "unit_price"])
        for line in snapshot_lines(order, new_items):
            lines[line.pk] = line
            diff[f"line {line.sku}"] = ["", f"{line.quantity} × {line.unit_price}"]
            moved.append((line.product, line.quantity))
        if not lines:
            raise TransitionError(_("An order needs at least one line; cancel it instead."))
        if not diff:
            return order
        totals = compute_totals(
            [(line.unit_price, line.vat_rate, line.quantity) for line in lines.values()],
            shipping_cost=order.shipping_total,
            adjustment=order.adjustment,
        )
        if totals.total > MAX_TOTAL:
            raise OrderTooLarge()
        order.subtotal, order.vat_total, order.total = totals.subtotal, totals.vat, totals.total
        order.save()
        if order.total != before_total:
            diff["total"] = [str(before_total), str(order.total)]
        data = {"changes": diff}
        if adjust_stock:
            try:
                data["stock"] = stock.adjust(order, moved)
            except stock.OutOfStock as error:
                raise TransitionError(str(error)) from error
        record_event(order, Type.EDITED, Actor.STAFF, user=user, **data)
        if order.total != before_total:
            payments.settle_pending_amount(order, Actor.STAFF, user)
    return order
