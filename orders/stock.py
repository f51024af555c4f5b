"""Stock an order takes and gives back, and the record of what it holds (``OrderStock``).

The rules (DESIGN §2): placing an order takes its units; an edit changes stock only when the merchant ticks "adjust
stock"; cancelling, a full refund with "restock items" and deleting a test order give back what the order holds (once:
the record is emptied); a partial refund never restocks. Products of unlimited stock (``stock`` empty) are left alone.

Call these inside the transaction of the workflow, after ``lock_order``: the order lock serialises every change to one
order's record. Stock itself is changed with conditional updates (``stock >= quantity``), never read-modify-write, and
always in product order, so that two orders taking the same products never wait for each other in a circle."""

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from shop.catalog.cache import bump_catalog_version
from shop.catalog.models import Product

from .events import record_event
from .models import OrderEvent, OrderStock
from .status import FulfilmentStatus


class OutOfStock(Exception):
    """Not enough units of ``product`` left (``left`` of them) for what was asked."""

    def __init__(self, product, left: int):
        super().__init__(_("Not enough stock of %(name)s (%(count)d left).") % {"name": product.name, "count": left})
        self.product, self.left = product, left


def _take(product_id: int, quantity: int) -> bool:
    """Take ``quantity`` units if that many are left, in one statement (never below zero, never sold twice)."""
    return bool(Product.objects.filter(pk=product_id, stock__gte=quantity).update(stock=F("stock") - quantity))


def _give(product_id: int, quantity: int) -> None:
    """Put units back (a product whose stock became unlimited stays unlimited: NULL + n is NULL)."""
    Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)


def _tracked(items) -> dict[int, tuple[Product, int]]:
    """(product, quantity) pairs summed per product, leaving out products of unlimited stock, in product order."""
    wanted: dict[int, tuple[Product, int]] = {}
    for product, quantity in items:
        if product.stock is None:
            continue
        wanted[product.pk] = (product, wanted.get(product.pk, (product, 0))[1] + quantity)
    return dict(sorted(wanted.items()))


def take_for_new_order(order, items) -> None:
    """Take the units of a new order (``items``: (product, quantity) pairs) and record that it holds them."""
    wanted = _tracked(items)
    if not wanted:
        return
    # The record first: it is this order's own row, while the products' rows are what concurrent orders wait for,
    # so their locks are taken last (a shortfall rolls the record back with everything else).
    OrderStock.objects.bulk_create(
        OrderStock(order=order, product_id=pk, quantity=quantity) for pk, (_product, quantity) in wanted.items()
    )
    for pk, (product, quantity) in wanted.items():
        if not _take(pk, quantity):
            left = Product.objects.filter(pk=pk).values_list("stock", flat=True).first() or 0
            raise OutOfStock(product, left)
    transaction.on_commit(bump_catalog_version)  # stock states on storefront pages changed


def held(order) -> dict[int, int]:
    """Units the order holds, per product id."""
    return dict(order.stock.filter(quantity__gt=0).values_list("product_id", "quantity"))


def adjust(order, changes) -> dict[str, int]:
    """An edit with "adjust stock": ``changes`` are (product, change in quantity) pairs. More units are taken from
    stock (refused when not enough are left); fewer are given back, at most what the order holds. The record follows.
    Returns the change per SKU for the timeline."""
    holding = held(order)
    moved: dict[str, int] = {}
    wanted: dict[int, tuple[Product, int]] = {}
    for product, delta in changes:
        if product is not None and product.stock is not None and delta:
            wanted[product.pk] = (product, wanted.get(product.pk, (product, 0))[1] + delta)
    for pk, (product, delta) in sorted(wanted.items()):
        if delta > 0:
            if not _take(pk, delta):
                left = Product.objects.filter(pk=pk).values_list("stock", flat=True).first() or 0
                raise OutOfStock(product, left)
        else:
            delta = -min(-delta, holding.get(pk, 0))
            if not delta:
                continue
            _give(pk, -delta)
        _hold(order, pk, holding.get(pk, 0) + delta)
        moved[product.sku] = delta
    if moved:
        transaction.on_commit(bump_catalog_version)
    return moved


def _hold(order, product_id: int, quantity: int) -> None:
    if quantity > 0:
        OrderStock.objects.update_or_create(order=order, product_id=product_id, defaults={"quantity": quantity})
    else:
        OrderStock.objects.filter(order=order, product_id=product_id).delete()


def restore(order, actor=OrderEvent.Actor.SYSTEM, user=None) -> dict[str, int]:
    """Give back everything the order holds and empty its record, so that a second call gives back nothing.
    Returns the units given back per SKU (also written on the timeline)."""
    holdings = list(order.stock.filter(quantity__gt=0).select_related("product").order_by("product_id"))
    for holding in holdings:
        _give(holding.product_id, holding.quantity)
    restored = {holding.product.sku: holding.quantity for holding in holdings}  # one record per product
    if holdings:
        OrderStock.objects.filter(pk__in=[holding.pk for holding in holdings]).delete()
        transaction.on_commit(bump_catalog_version)
        record_event(order, OrderEvent.Type.STOCK_RESTORED, actor, user=user, items=restored)
    return restored


def restock_by_default(order) -> bool:
    """A full refund offers "restock items", ticked unless the goods left the shop and did not come back."""
    return order.fulfilment_status not in (FulfilmentStatus.SHIPPED, FulfilmentStatus.DELIVERED)
