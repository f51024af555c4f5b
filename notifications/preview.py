"""Previews for Settings → Email: each e-mail rendered for a sample order (never saved), in any language."""

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from orders.models import Order, OrderLine
from orders.tracking import tracking_url
from shop.backoffice.models import Store
from shop.catalog.models import Product

from .kinds import Kind
from .render import render

SAMPLE_DATA = {
    Kind.STATUS_CHANGED: {"status": "processing"},
    Kind.SHIPPED: {
        "tracking_number": "99.00.123456.12345678",
        "carrier": "swiss_post",
        "carrier_label": "Swiss Post",
        "tracking_url": tracking_url("swiss_post", "99.00.123456.12345678"),
    },
    Kind.CANCELLED: {"refunded": "44.80"},
    Kind.REFUNDED: {"amount": "18.90", "full": False},
    Kind.LOW_STOCK: {"products": [{"name": "Alpine Blend Coffee", "sku": "COF-1", "stock": 3, "pk": 0}]},
}


class _SampleCartLine:
    def __init__(self, product, quantity):
        self.product, self.quantity = product, quantity


def sample_order(language: str):
    with override(language):
        order = Order(
            number=1001,
            email="anna.muster@example.ch",
            language=language,
            payment_method="bank_transfer",
            shipping_method_name=_("Swiss Post"),
            shipping_total=Decimal("7.00"),
            subtotal=Decimal("37.80"),
            vat_total=Decimal("1.48"),
            total=Decimal("44.80"),
            created_at=timezone.now(),
            **{
                f"{kind}_{name}": value
                for kind in ("shipping", "billing")
                for name, value in {
                    "name": "Anna Muster",
                    "street": "Bahnhofstrasse 1",
                    "postcode": "8001",
                    "city": "Zürich",
                    "country": "CH",
                }.items()
            },
        )
    lines = [OrderLine(name="Alpine Blend Coffee", sku="COF-1", unit_price=Decimal("18.90"), vat_rate=2.6, quantity=2)]
    cart_lines = [_SampleCartLine(Product(name="Alpine Blend Coffee", price=Decimal("18.90")), 2)]
    return order, lines, cart_lines


def preview(kind: str, language: str) -> tuple[str, str, str]:
    order, lines, cart_lines = sample_order(language)
    store = Store.load()
    if kind == Kind.TEST:
        return render(kind, language, store=store, data={})
    if kind == Kind.ABANDONED_CART:
        return render(kind, language, store=store, cart_lines=cart_lines, data={"to": order.email})
    if kind == Kind.READY_FOR_PICKUP:
        order.is_pickup, order.pickup_address, order.requires_shipping = True, "Limmatquai 42\n8001 Zürich", True
        order.payment_method = "cash_on_pickup"
    return render(kind, language, store=store, order=order, lines=lines, data=SAMPLE_DATA.get(kind, {}))
