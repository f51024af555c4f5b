"""Shoppers racing for the last units, on PostgreSQL with real connections (one per thread)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import translation

from orders.models import Order
from shop.cart.models import Cart, CartLine
from shop.catalog.models import Product
from shop.checkout.services import CheckoutData, CheckoutError, place_order
from tests.factories import ProductFactory

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (set DATABASE_URL)"),
]

SHOPPERS = 20
STOCK = 5


def test_20_shoppers_race_for_the_last_5_units(store, shipping):
    product = ProductFactory(name="Last Nusstorte", price=Decimal("24.00"), stock=STOCK)
    carts = []
    for _ in range(SHOPPERS):
        cart = Cart.objects.create()
        CartLine.objects.create(cart=cart, product=product, quantity=1)
        carts.append(cart.token)
    data = CheckoutData(
        email="race@example.ch",
        payment_method="bank_transfer",
        shipping_method_id=shipping["post"].pk,
        shipping={"name": "R", "street": "S 1", "postcode": "8000", "city": "Zürich", "country": "CH"},
    )
    start = threading.Barrier(SHOPPERS)
    placed, sold_out, errors = [], [], []

    def shopper(token):
        try:
            translation.activate("en")
            start.wait()
            placed.append(place_order(token, data, "de").number)
        except CheckoutError as error:
            sold_out.append(str(error))
        except Exception as error:  # noqa: BLE001 — asserted below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=shopper, args=(token,)) for token in carts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(placed) == STOCK
    assert sorted(placed) == list(range(1001, 1001 + STOCK))  # numbers unique and gap-free
    assert len(sold_out) == SHOPPERS - STOCK
    assert set(sold_out) == {"Sorry, Last Nusstorte is sold out."}
    product.refresh_from_db()
    assert product.stock == 0
    assert Order.objects.count() == STOCK
    assert Cart.objects.filter(status="ordered").count() == STOCK


def test_double_submit_race_yields_one_order(store, shipping):
    """Two requests for the same cart at the same moment (a double click): one order, stock taken once."""
    product = ProductFactory(price=Decimal("10.00"), stock=10)
    cart = Cart.objects.create()
    CartLine.objects.create(cart=cart, product=product, quantity=2)
    data = CheckoutData(
        email="twice@example.ch",
        payment_method="invoice",
        shipping_method_id=shipping["post"].pk,
        shipping={"name": "T", "street": "S 1", "postcode": "8000", "city": "Zürich", "country": "CH"},
    )
    start = threading.Barrier(4)
    results, errors = [], []

    def click():
        try:
            start.wait()
            results.append(place_order(cart.token, data, "fr").pk)
        except Exception as error:  # noqa: BLE001
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 4
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 8
