"""Order workflows: one function per business action. Each runs in a transaction, locks the order row first
(``select_for_update``), refuses what the status tables do not allow, and records an ``OrderEvent``."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from notifications.kinds import Kind
from notifications.services import notify, notify_all
from shop.catalog.cache import bump_catalog_version
from shop.catalog.models import Product

from .models import Order, OrderEvent, OrderLine, OrderNumber
from .status import (
    OPEN_FULFILMENT,
    FulfilmentStatus,
    PaymentStatus,
    TransitionError,
    check_fulfilment_transition,
    check_payment_transition,
)

ADDRESS_FIELDS = ("name", "company", "street", "postcode", "city", "country")
Actor = OrderEvent.Actor
Type = OrderEvent.Type

__all__ = ["TransitionError"]


def lock_order(order) -> Order:
    """The order re-read under a row lock (call inside a transaction)."""
    return Order.objects.select_for_update().get(pk=order.pk if isinstance(order, Order) else order)


def record_event(order, type, actor, *, user=None, old="", new="", **data) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, type=type, actor=actor, user=user, old_value=old, new_value=new, data=data
    )


def _set_payment_status(order, new, actor, user=None, **data) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        old = order.payment_status
        check_payment_transition(old, new)
        order.payment_status = new
        order.save(update_fields=["payment_status", "updated_at"])
        record_event(order, Type.PAYMENT_STATUS, actor, user=user, old=old, new=new, **data)
    return order


def _set_fulfilment_status(order, new, actor, user=None, notify_customer=True, **data) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        old = order.fulfilment_status
        check_fulfilment_transition(old, new)
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
    from .tracking import tracking_url

    notify(
        Kind.SHIPPED,
        order=order,
        key=f"shipped:{order.pk}:{order.tracking_number}"[:120],
        tracking_number=order.tracking_number,
        carrier=order.tracking_carrier,
        carrier_label=order.tracking_carrier_label if order.tracking_number else "",
        tracking_url=tracking_url(order.tracking_carrier, order.tracking_number) if order.tracking_number else "",
    )


# Payment status ------------------------------------------------------------------------------------------------------


def mark_paid(order, actor=Actor.SYSTEM, user=None, notify_customer=True, **data) -> Order:
    """Awaiting payment → Paid (called by payments once confirmed payments cover the total). The shopper is told,
    unless the order is paid as it is placed (its confirmation says so)."""
    with transaction.atomic():
        order = _set_payment_status(order, PaymentStatus.PAID, actor, user, **data)
        if notify_customer:
            notify(Kind.PAYMENT_RECEIVED, order=order, key=f"payment_received:{order.pk}")
    return order


def set_refund_status(order, *, full: bool, actor=Actor.STAFF, user=None) -> Order:
    """Paid → Partially refunded or Refunded (called by payments once the refund is recorded)."""
    return _set_payment_status(order, PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED, actor, user)


def cancel_order(order, actor=Actor.STAFF, user=None, reason="") -> Order:
    """Cancel: awaiting payment → cancelled; a paid order is refunded in full first. Stock is restored and an open
    fulfilment becomes "will not deliver"."""
    from payments import services as payments

    with transaction.atomic():
        order = lock_order(order)
        refunded = Decimal("0")
        if order.payment_status == PaymentStatus.PAID:
            refunded = payments.refund_all(order, actor=actor, user=user, note=reason)
        old = order.payment_status
        check_payment_transition(old, PaymentStatus.CANCELLED)
        order.payment_status = PaymentStatus.CANCELLED
        order.save(update_fields=["payment_status", "updated_at"])
        record_event(order, Type.PAYMENT_STATUS, actor, user=user, old=old, new=order.payment_status, reason=reason)
        if order.fulfilment_status in OPEN_FULFILMENT:
            _set_fulfilment_status(order, FulfilmentStatus.WILL_NOT_DELIVER, actor, user, notify_customer=False)
            order.refresh_from_db(fields=["fulfilment_status"])
        restore_stock(order, actor=actor, user=user)
        notify(Kind.CANCELLED, order=order, key=f"cancelled:{order.pk}", refunded=str(refunded) if refunded else "")
    return order


def restore_stock(order, actor=Actor.SYSTEM, user=None) -> bool:
    """Put the order's items back in stock, once (cancel, full refund, deleting a test order)."""
    with transaction.atomic():
        order = lock_order(order)
        if order.stock_restored:
            return False
        restored = {}
        for line in order.lines.filter(stock_tracked=True, product__isnull=False).order_by("product_id"):
            Product.objects.filter(pk=line.product_id, stock__isnull=False).update(stock=F("stock") + line.quantity)
            restored[line.sku] = restored.get(line.sku, 0) + line.quantity
        if restored:
            transaction.on_commit(bump_catalog_version)
        order.stock_restored = True
        order.save(update_fields=["stock_restored", "updated_at"])
        if restored:
            record_event(order, Type.STOCK_RESTORED, actor, user=user, items=restored)
    return True


def flag_order(order, reason: str, actor=Actor.SYSTEM, **data) -> Order:
    """Mark an order for the merchant's attention (a payment that does not match, say)."""
    with transaction.atomic():
        order = lock_order(order)
        order.needs_attention = True
        order.attention_reason = (order.attention_reason + "\n" + reason).strip()
        order.save(update_fields=["needs_attention", "attention_reason", "updated_at"])
        record_event(order, Type.PAYMENT_MISMATCH, actor, reason=reason, **data)
    return order


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


# Fulfilment status ---------------------------------------------------------------------------------------------------


def start_processing(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.PROCESSING, actor, user)


def mark_ready_for_pickup(order, actor=Actor.STAFF, user=None) -> Order:
    if not Order.objects.filter(pk=order.pk, is_pickup=True).exists():
        raise TransitionError(_("Only orders to be picked up can be ready for pickup."))
    return _set_fulfilment_status(order, FulfilmentStatus.READY_FOR_PICKUP, actor, user)


def mark_shipped(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.SHIPPED, actor, user)


def mark_delivered(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.DELIVERED, actor, user)


def mark_will_not_deliver(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.WILL_NOT_DELIVER, actor, user)


def mark_returned(order, actor=Actor.STAFF, user=None) -> Order:
    return _set_fulfilment_status(order, FulfilmentStatus.RETURNED, actor, user)


# Tracking and notes --------------------------------------------------------------------------------------------------


def assign_tracking(order, number: str, carrier: str, user=None, actor=Actor.STAFF) -> Order:
    """Set the tracking number and carrier. The shopper's "shipped" e-mail carries them: sent now when the order is
    already shipped, else when it is marked shipped."""
    from .tracking import Carrier

    number = number.strip()
    if not number:
        raise TransitionError(_("Please enter a tracking number."))
    if carrier not in Carrier.values:
        raise TransitionError(_("Please choose a carrier."))
    with transaction.atomic():
        order = lock_order(order)
        old = order.tracking_number
        order.tracking_number, order.tracking_carrier = number, carrier
        order.save(update_fields=["tracking_number", "tracking_carrier", "updated_at"])
        record_event(order, Type.TRACKING, actor, user=user, old=old, new=number, carrier=carrier)
        if order.fulfilment_status == FulfilmentStatus.SHIPPED and old != number:
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


# Test orders ---------------------------------------------------------------------------------------------------------


def delete_test_order(order) -> None:
    """Test orders can be deleted (their stock goes back); real orders never."""
    with transaction.atomic():
        order = lock_order(order)
        if not order.is_test:
            raise TransitionError(_("Only test orders can be deleted."))
        restore_stock(order)
        order.delete()


# Manual orders and editing ------------------------------------------------------------------------------------------


def recompute_totals(order, lines) -> None:
    """Set subtotal, VAT and total from the lines, the shipping cost and the adjustment (not saved)."""
    from shop.money import to_money, vat_by_rate

    order.subtotal = to_money(sum((line.unit_price * line.quantity for line in lines), Decimal("0")))
    vat = vat_by_rate([(l.unit_price, l.vat_rate, l.quantity) for l in lines], order.shipping_total, order.adjustment)  # noqa: E741
    order.vat_total = sum(vat.values(), Decimal("0.00"))
    order.total = max(order.subtotal + order.shipping_total + order.adjustment, Decimal("0.00"))


@dataclass
class ManualLine:
    product: Product
    quantity: int
    unit_price: Decimal | None = None  # None: the catalog price


@dataclass
class ManualOrder:
    email: str
    lines: list[ManualLine]
    payment_method: str
    phone: str = ""
    language: str = "de"
    shipping_method: object = None  # a checkout.ShippingMethod, or None for no shipping
    shipping_cost: Decimal | None = None  # None: the method's price
    shipping: dict = field(default_factory=dict)
    billing: dict = field(default_factory=dict)
    mark_paid: bool = False
    start_processing: bool = False
    notify_customer: bool = True  # e-mail the order confirmation
    send_payment_link: bool = False  # e-mail a link to pay online


def create_manual_order(data: ManualOrder, user) -> Order:
    """An order taken by the merchant (a phone order): stock is taken like for a storefront order."""
    from payments import services as payments
    from shop.backoffice.models import Store

    if not data.lines:
        raise TransitionError(_("Add at least one product."))
    store = Store.load()
    with transaction.atomic():
        method = data.shipping_method
        pickup = bool(method and method.is_pickup)
        order = Order.objects.create(
            source=Order.Source.MANUAL,
            created_by=user,
            is_test=store.test_mode,
            language=data.language,
            email=data.email,
            phone=data.phone,
            payment_method=data.payment_method,
            requires_shipping=method is not None,
            shipping_method=method,
            shipping_method_name=method.name if method else "",
            is_pickup=pickup,
            pickup_address=method.pickup_address if pickup else "",
            shipping_total=(data.shipping_cost if data.shipping_cost is not None else method.price) if method else 0,
            **{f"shipping_{k}": v for k, v in (data.shipping if method and not pickup else {}).items()},
            **{f"billing_{k}": v for k, v in (data.billing or data.shipping).items()},
        )
        lines = OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=item.product,
                name=item.product.name,
                sku=item.product.sku,
                unit_price=item.product.price if item.unit_price is None else item.unit_price,
                vat_rate=item.product.vat_percent,
                quantity=item.quantity,
                requires_shipping=item.product.requires_shipping,
                stock_tracked=item.product.stock is not None,
            )
            for item in data.lines
        )
        recompute_totals(order, lines)
        order.save(update_fields=["subtotal", "vat_total", "total"])
        record_event(order, Type.PLACED, Actor.STAFF, user=user, new=order.payment_status, source="manual")
        if order.total > 0:
            payments.create_payment(order, order.payment_method)
        for item in sorted(data.lines, key=lambda item: item.product.pk):
            if item.product.stock is None:
                continue
            if not Product.objects.filter(pk=item.product.pk, stock__gte=item.quantity).update(
                stock=F("stock") - item.quantity
            ):
                raise TransitionError(
                    _("Not enough stock of %(name)s (%(count)d left).")
                    % {"name": item.product.name, "count": Product.objects.get(pk=item.product.pk).stock or 0}
                )
        order.number = OrderNumber.next()
        order.save(update_fields=["number"])
        transaction.on_commit(bump_catalog_version)
        notify_order_placed(order, [(item.product, item.quantity) for item in data.lines], confirm=data.notify_customer)
        if order.total == 0:
            if data.mark_paid or store.zero_total_status == PaymentStatus.PAID:
                mark_paid(order, Actor.STAFF, user, notify_customer=False)
        elif data.mark_paid:
            payments.record_offline_payment(order, order.total, user=user, note=_("Paid when ordering"))
        if data.start_processing:
            start_processing(order, user=user)
        if data.send_payment_link and not data.mark_paid and order.total > 0:
            from notifications.services import NotificationError, send_payment_link

            try:
                send_payment_link(order, user)
            except NotificationError as error:
                raise TransitionError(str(error)) from error
    return Order.objects.get(pk=order.pk)


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


def edit_order(order, changes: dict, line_changes: list[LineChange], user) -> Order:
    """Edit an order as Ecwid allows: lines, unit prices, discount or surcharge, shipping cost, addresses and contact.

    Totals are recomputed; stock is left as it is (Ecwid's rule: the merchant adjusts stock by hand). Every change is
    recorded with its value before and after."""
    with transaction.atomic():
        order = lock_order(order)
        if order.payment_status in (PaymentStatus.CANCELLED, PaymentStatus.REFUNDED):
            raise TransitionError(_("Cancelled or refunded orders can't be edited."))
        before_total = order.total
        diff = {}
        for name, value in changes.items():
            if name in EDITABLE_FIELDS and getattr(order, name) != value:
                diff[name] = [str(getattr(order, name)), str(value)]
                setattr(order, name, value)
        lines = {line.pk: line for line in order.lines.all()}
        for change in line_changes:
            if change.line_id is None:
                if change.quantity < 1 or change.product is None:
                    continue
                line = OrderLine.objects.create(
                    order=order,
                    product=change.product,
                    name=change.product.name,
                    sku=change.product.sku,
                    unit_price=change.unit_price,
                    vat_rate=change.product.vat_percent,
                    quantity=change.quantity,
                    requires_shipping=change.product.requires_shipping,
                )
                lines[line.pk] = line
                diff[f"line {line.sku}"] = ["", f"{change.quantity} × {change.unit_price}"]
                continue
            line = lines.get(change.line_id)
            if line is None:
                raise TransitionError(_("This line is not on the order."))
            if change.quantity == 0:
                diff[f"line {line.sku}"] = [f"{line.quantity} × {line.unit_price}", ""]
                line.delete()
                del lines[change.line_id]
            elif (line.quantity, line.unit_price) != (change.quantity, change.unit_price):
                diff[f"line {line.sku}"] = [
                    f"{line.quantity} × {line.unit_price}",
                    f"{change.quantity} × {change.unit_price}",
                ]
                line.quantity, line.unit_price = change.quantity, change.unit_price
                line.save(update_fields=["quantity", "unit_price"])
        if not lines:
            raise TransitionError(_("An order needs at least one line; cancel it instead."))
        if not diff:
            return order
        recompute_totals(order, list(lines.values()))
        order.save()
        if order.total != before_total:
            diff["total"] = [str(before_total), str(order.total)]
        record_event(order, Type.EDITED, Actor.STAFF, user=user, changes=diff)
    return order
