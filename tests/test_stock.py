"""Stock that is always right (DESIGN §2): what an order holds is recorded, edits change stock only with "adjust stock",
cancelling, a full refund with "restock items" and deleting a test order give back what the order holds, once."""

import importlib
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from orders import services
from orders.models import OrderStock
from orders.status import TransitionError
from payments.services import record_offline_payment
from shop.catalog.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
START = 20  # the fondue fixture's stock


def stock(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def held(order) -> dict:
    return dict(OrderStock.objects.filter(order=order).values_list("product__sku", "quantity"))


def edit(order, quantity, adjust_stock, line=None, user=None):
    line = line or order.lines.get()
    change = services.LineChange(line.pk, quantity, line.unit_price)
    return services.edit_order(order, {}, [change], user, adjust_stock=adjust_stock)


def test_placing_an_order_takes_its_units_and_records_them(place, fondue):
    order = place(fondue, 3)
    assert stock(fondue) == START - 3
    assert held(order) == {"FON-1": 3}


def test_an_edit_without_adjusting_leaves_stock_and_the_record_and_cancel_gives_back_what_was_held(place, fondue):
    order = place(fondue, 1)
    edit(order, 999, adjust_stock=False)
    assert stock(fondue) == START - 1 and held(order) == {"FON-1": 1}
    services.cancel_order(order)
    assert stock(fondue) == START  # +1, not +999
    assert held(order) == {}


def test_an_edit_with_adjusting_takes_more_and_gives_back_fewer(place, fondue):
    order = place(fondue, 2)
    edit(order, 5, adjust_stock=True)
    assert stock(fondue) == START - 5 and held(order) == {"FON-1": 5}
    edit(order, 1, adjust_stock=True)
    assert stock(fondue) == START - 1 and held(order) == {"FON-1": 1}
    event = order.events.filter(type="edited").last()
    assert event.data["stock"] == {"FON-1": -4}


def test_adjusting_beyond_the_stock_is_refused_and_changes_nothing(place, fondue):
    order = place(fondue, 2)
    with (
        translation.override("en"),
        pytest.raises(TransitionError, match=r"Not enough stock of Fondue Set \(18 left\)"),
    ):
        edit(order, 2 + START, adjust_stock=True)
    order.refresh_from_db()
    assert order.lines.get().quantity == 2 and stock(fondue) == START - 2 and held(order) == {"FON-1": 2}


def test_the_record_survives_an_edit_that_removes_the_line(place, fondue):
    mug = ProductFactory(name="Mug", sku="MUG-1", price=Decimal("20.00"), stock=5)
    order = place(fondue, 2)
    services.edit_order(order, {}, [services.LineChange(None, 1, mug.price, mug)], None, adjust_stock=True)
    fondue_line = order.lines.get(sku="FON-1")
    services.edit_order(order, {}, [services.LineChange(fondue_line.pk, 0, fondue_line.unit_price)], None)
    assert list(order.lines.values_list("sku", flat=True)) == ["MUG-1"]
    assert held(order) == {"FON-1": 2, "MUG-1": 1}  # the removed line's units are still held: stock was not adjusted
    services.cancel_order(order)
    assert (stock(fondue), stock(mug)) == (START, 5)


def test_removing_a_line_with_adjusting_gives_its_units_back(place, fondue):
    mug = ProductFactory(name="Mug", sku="MUG-1", price=Decimal("20.00"), stock=5)
    order = place(fondue, 2)
    services.edit_order(order, {}, [services.LineChange(None, 1, mug.price, mug)], None, adjust_stock=False)
    assert held(order) == {"FON-1": 2} and stock(mug) == 5  # added without adjusting: nothing taken
    line = order.lines.get(sku="FON-1")
    services.edit_order(order, {}, [services.LineChange(line.pk, 0, line.unit_price)], None, adjust_stock=True)
    assert stock(fondue) == START and held(order) == {}


def test_a_reduction_never_gives_back_more_than_the_order_holds(place, fondue):
    order = place(fondue, 1)
    edit(order, 10, adjust_stock=False)  # holds 1
    edit(order, 2, adjust_stock=True)  # 8 fewer, but only 1 is held
    assert stock(fondue) == START and held(order) == {}


def test_cancelling_twice_or_cancel_then_delete_gives_back_once(place, fondue):
    order = place(fondue, 3)
    services.cancel_order(order)
    with pytest.raises(TransitionError):
        services.cancel_order(order)
    assert stock(fondue) == START and order.events.filter(type="stock_restored").count() == 1
    services.delete_test_order(order)
    assert stock(fondue) == START


def test_deleting_a_test_order_gives_back_what_it_holds(place, fondue):
    order = place(fondue, 4)
    services.delete_test_order(order)
    assert stock(fondue) == START and not OrderStock.objects.exists()


def test_products_of_unlimited_stock_are_left_alone(place):
    ebook = ProductFactory(stock=None, requires_shipping=False)
    order = place(ebook, 2)
    assert held(order) == {}
    services.cancel_order(order)
    assert Product.objects.get(pk=ebook.pk).stock is None


@pytest.mark.parametrize(
    ("amount", "restock", "expected"),
    [
        ("full", True, START),  # a full refund with "restock items"
        ("full", False, START - 2),
        ("10.00", True, START - 2),  # a partial refund never restocks
    ],
)
def test_refunds_restock_only_when_full_and_asked(place, fondue, amount, restock, expected):
    order = place(fondue, 2)
    record_offline_payment(order, order.total)
    order.refresh_from_db()
    services.refund_order(order, order.total if amount == "full" else Decimal(amount), restock=restock)
    assert stock(fondue) == expected


def test_restock_is_offered_ticked_unless_the_goods_left_the_shop(place, fondue):
    from orders.stock import restock_by_default

    order = place(fondue)
    assert restock_by_default(order)
    for status, ticked in [("shipped", False), ("delivered", False), ("returned", True), ("processing", True)]:
        order.fulfilment_status = status
        assert restock_by_default(order) is ticked, status


def test_each_screen_states_its_stock_rule(client, staff, place, fondue):
    order = place(fondue, 3)
    page = client.get(f"/backoffice/orders/{order.number}/edit/").content.decode()
    assert "Adjust stock" in page and "Not ticked: stock stays as it is, whatever the quantities." in page
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Cancelling puts the 3 items this order holds back in stock." in page
    record_offline_payment(order, order.total)
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert "Restock items" in page and "A partial refund never restocks." in page
    assert re.search(r'name="restock"[^>]* checked', page)  # not shipped: ticked by default
    services.ship_order(order)
    page = client.get(f"/backoffice/orders/{order.number}/").content.decode()
    assert 'name="restock"' in page and not re.search(r'name="restock"[^>]* checked', page)


def test_the_edit_page_adjusts_stock_when_ticked(client, staff, place, fondue):
    from tests.test_backoffice_manual_orders import edit_data

    order = place(fondue, 1)
    response = client.post(
        f"/backoffice/orders/{order.number}/edit/",
        edit_data(order, **{"lines-0-quantity": "4", "adjust_stock": "on"}),
        follow=True,
    )
    assert "Order saved; stock follows the new quantities." in response.content.decode()
    assert stock(fondue) == START - 4 and held(order) == {"FON-1": 4}
    response = client.post(
        f"/backoffice/orders/{order.number}/edit/", edit_data(order, **{"lines-0-quantity": "2"}), follow=True
    )
    assert "Order saved. Stock was not changed." in response.content.decode()
    assert stock(fondue) == START - 4


def test_refund_from_the_order_page_restocks_when_ticked(client, staff, place, fondue):
    order = place(fondue, 2)
    record_offline_payment(order, order.total)
    response = client.post(
        f"/backoffice/orders/{order.number}/action/",
        {"action": "refund", "amount": str(order.total), "restock": "on"},
        follow=True,
    )
    assert "2 items are back in stock." in response.content.decode()
    assert stock(fondue) == START


@pytest.mark.django_db(transaction=True)
def test_the_migration_records_what_existing_orders_hold(store, shipping):
    """Orders placed before the stock record existed: their stock-tracked lines become what they hold, unless their
    stock was already given back."""
    executor = MigrationExecutor(connection)
    executor.migrate([("orders", "0006_alter_orderevent_type"), ("catalog", "0002_storefront_indexes")])
    apps = executor.loader.project_state([("orders", "0006_alter_orderevent_type")]).apps
    Order, OrderLine = apps.get_model("orders", "Order"), apps.get_model("orders", "OrderLine")
    Product = apps.get_model("catalog", "Product")
    category = apps.get_model("catalog", "Category").objects.create(name="C", slug="c")
    fondue = Product.objects.create(category=category, name="Fondue", slug="f", sku="F", price=10, stock=5)
    open_order = Order.objects.create(number=1, email="a@b.ch", payment_method="invoice")
    restored = Order.objects.create(number=2, email="a@b.ch", payment_method="invoice", stock_restored=True)
    for order in (open_order, restored):
        for quantity, tracked in ((2, True), (1, True), (7, False)):
            OrderLine.objects.create(
                order=order, product=fondue, name="F", sku="F", unit_price=10, vat_rate=0, quantity=quantity,
                stock_tracked=tracked,
            )  # fmt: skip
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(OrderStock.objects.values_list("order_id", "product_id", "quantity")) == [(open_order.pk, fondue.pk, 3)]
    assert importlib.import_module("orders.migrations.0007_order_stock").backfill_stock


def add_line(order, product, quantity, adjust_stock):
    services.edit_order(order, {}, [services.LineChange(None, quantity, product.price, product)], None, adjust_stock)


def set_quantities(order, quantities: dict, adjust_stock=True):
    changes = [
        services.LineChange(line.pk, quantities[line.sku], line.unit_price)
        for line in order.lines.all()
        if line.sku in quantities
    ]
    services.edit_order(order, {}, changes, None, adjust_stock=adjust_stock)


@pytest.fixture
def mug(db):
    return ProductFactory(name="Mug", sku="MUG-1", price=Decimal("20.00"), stock=5)


def test_one_more_unit_with_adjusting_takes_one(place, fondue):
    order = place(fondue, 2)
    set_quantities(order, {"FON-1": 3})
    assert stock(fondue) == START - 3 and held(order) == {"FON-1": 3}


def test_two_lines_of_one_product_are_adjusted_together(place, fondue):
    order = place(fondue, 2)
    line = order.lines.get()
    services.edit_order(
        order,
        {},
        [services.LineChange(line.pk, 3, line.unit_price), services.LineChange(None, 2, fondue.price, fondue)],
        None,
        adjust_stock=True,
    )
    assert stock(fondue) == START - 5 and held(order) == {"FON-1": 5}


def test_reducing_a_product_the_order_does_not_hold_gives_nothing_back(place, fondue, mug):
    order = place(mug, 2)
    add_line(order, fondue, 1, adjust_stock=False)  # fondue (the lower id) is on the order but not held
    set_quantities(order, {"FON-1": 0, "MUG-1": 1})
    assert stock(fondue) == START  # nothing was taken, nothing comes back
    assert stock(mug) == 4 and held(order) == {"MUG-1": 1}  # the next product is still adjusted


def test_giving_a_product_back_leaves_the_other_products_and_orders_alone(place, fondue, mug):
    other = place(fondue, 1)
    order = place(fondue, 2)
    add_line(order, mug, 1, adjust_stock=True)
    set_quantities(order, {"FON-1": 0})
    assert held(order) == {"MUG-1": 1} and held(other) == {"FON-1": 1}
    assert stock(fondue) == START - 1 and stock(mug) == 4


def test_adjusting_with_nothing_left_says_none_are_left(place, fondue):
    order = place(fondue, 2)
    Product.objects.filter(pk=fondue.pk).update(stock=0)
    with translation.override("en"), pytest.raises(TransitionError, match=r"\(0 left\)"):
        set_quantities(order, {"FON-1": 3})


def test_adjusting_unlimited_or_deleted_products_changes_no_stock(place, fondue):
    ebook = ProductFactory(name="Ebook", sku="EB-1", stock=None, requires_shipping=False)
    order = place(ebook, 1)
    set_quantities(order, {"EB-1": 4})
    assert held(order) == {} and Product.objects.get(pk=ebook.pk).stock is None
    fondue_order = place(fondue, 2)
    fondue.delete()  # deleted from the catalog: its lines keep their snapshot, nothing to adjust
    set_quantities(fondue_order, {"FON-1": 1})
    assert fondue_order.lines.get().quantity == 1 and held(fondue_order) == {}


def test_restoring_names_every_product_given_back(place, fondue, mug):
    order = place(fondue, 2)
    add_line(order, mug, 3, adjust_stock=True)
    add_line(order, fondue, 1, adjust_stock=True)
    restored = services.cancel_order(order).events.get(type="stock_restored").data["items"]
    assert restored == {"FON-1": 3, "MUG-1": 3}
    assert (stock(fondue), stock(mug)) == (START, 5)


def manual(*items):
    return services.create_manual_order(
        services.NewOrder(items=[services.Item(p, q) for p, q in items], email="k@example.ch", payment_method="phone"),
        None,
    )


def test_a_new_order_takes_each_tracked_product_once_summed_over_its_lines(store, fondue, mug):
    ebook = ProductFactory(name="Ebook", sku="EB-1", stock=None, requires_shipping=False)
    order = manual((ebook, 1), (mug, 2), (fondue, 1), (mug, 1))  # unlimited first, one product on two lines
    assert held(order) == {"FON-1": 1, "MUG-1": 3}
    assert (stock(fondue), stock(mug)) == (START - 1, 2)


def test_a_new_order_of_a_sold_out_product_says_none_are_left(store, fondue):
    Product.objects.filter(pk=fondue.pk).update(stock=0)
    fondue.refresh_from_db()
    with translation.override("en"), pytest.raises(TransitionError) as refused:
        manual((fondue, 1))
    assert str(refused.value) == "Not enough stock of Fondue Set (0 left)."
