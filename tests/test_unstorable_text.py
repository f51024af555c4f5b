"""Text the databases refuse is refused by the forms (issue #19): a NUL (PostgreSQL's text types refuse it), a lone
surrogate (it has no UTF-8 form: psycopg and sqlite3 refuse it) or the U+FFFD a decoder puts where the bytes were not
text gets a message at its field, in every text field of the storefront and the back office; whatever else was typed
is shown again and nothing is saved. On both databases: CI runs this file on PostgreSQL, where a NUL that reached a
query was a 500."""

import html
import importlib
import pkgutil

import pytest
from django import forms
from django.apps import apps
from django.core import serializers
from django.utils import translation

from shop.form_fields import UNSTORABLE_MESSAGE, StorableText, StorableTextForm, storable

pytestmark = pytest.mark.django_db

PROJECT = ("shop", "orders", "payments", "notifications")
with translation.override("en"):  # what the pages say: the tests run in English (conftest)
    MESSAGE = str(UNSTORABLE_MESSAGE)
# What a hostile or broken client can send. A lone surrogate can't be encoded as UTF-8: it is sent as the three bytes
# it would take (WTF-8), which Django decodes to U+FFFD; in the walk over the forms it is given to the form as it is.
BAD = {"nul": "a\x00b", "surrogate": "a\udc80b", "replacement": "a\ufffdb"}


def wire(value: str):
    """``value`` as the test client can post it: a lone surrogate as its bytes (in a list: the client would send
    bytes alone as a list of numbers)."""
    if any("\ud800" <= char <= "\udfff" for char in value):
        return [value.encode("utf-8", "surrogatepass")]
    return value


# --- The rule, on every form class --------------------------------------------------------------------------------


def project_forms():
    for package in PROJECT:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if info.name.rsplit(".", 1)[-1] in ("forms", "views", "backoffice", "settings_views"):
                importlib.import_module(info.name)
    found, todo = set(), [forms.BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in PROJECT and sub.__name__ not in ("Form", "ModelForm"):
                found.add(sub)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__name__}")


def test_the_walk_finds_the_forms_of_every_part_of_the_shop():
    found = project_forms()
    names = {cls.__name__ for cls in found}
    assert {"CheckoutForm", "ManualOrderForm", "OrderEditForm", "ProductForm", "StoreGeneralForm",
            "PaymentSettingsForm", "EmailSettingsForm", "ReminderForm", "StaffAuthenticationForm",
            "AbandonedCartFilterForm", "OrderFilterForm", "EmailLogFilterForm"} <= names  # fmt: skip
    assert len(found) >= 29  # as many as there were when this test was written


# Forms whose constructor needs more than data.
KWARGS = {
    "CheckoutForm": lambda: {"requires_shipping": True, "shipping_methods": [], "payment_methods": []},
    "ManualOrderForm": lambda: {"payment_methods": []},
}


@pytest.mark.parametrize("form_class", project_forms(), ids=lambda cls: cls.__name__)
def test_every_field_of_every_form_refuses_unstorable_text(form_class):
    assert issubclass(form_class, StorableTextForm), f"{form_class.__name__} must derive from shop.form_fields.Form"
    kwargs = KWARGS.get(form_class.__name__, dict)()
    fields = form_class(**kwargs).fields
    assert fields, form_class
    for name, field in fields.items():
        if isinstance(field, forms.BooleanField | forms.FileField):
            continue  # a tick is on or off, a file is not text
        for value in BAD.values():
            posted = [value] if isinstance(field, forms.MultipleChoiceField) else value
            form = form_class(data={name: posted}, **kwargs)
            assert name in form.errors, (form_class.__name__, name, value)
            if isinstance(field, forms.CharField | forms.ModelChoiceField):
                codes = [error.code for error in form.errors.as_data()[name]]
                assert codes[0] == StorableText.code, (form_class.__name__, name, codes)


# --- Through the pages: the message at the field, the rest kept, nothing saved -------------------------------------


def snapshot(leave_out=()):
    """Every row of the shop's tables, field by field (what "nothing is saved" compares)."""
    rows = {}
    for model in apps.get_models():
        if model.__module__.split(".")[0] in PROJECT and model._meta.label not in leave_out:
            rows[model._meta.label] = serializers.serialize("python", model.objects.order_by("pk"))
    return rows


@pytest.fixture
def world(store, shipping, place, category):
    import datetime as dt

    from django.utils import timezone

    from tests.factories import CartLineFactory, ProductFactory

    store.plan = "standard"
    store.save()
    fondue = ProductFactory(name="Fondue Set", sku="FON-1", price="129.00", stock=None, category=category)
    ProductFactory(name="Chocolate", sku="CHO-1", price="9.50", stock=None, category=category)
    left = CartLineFactory(
        product=fondue, cart__email="lea@example.ch", cart__last_activity_at=timezone.now() - dt.timedelta(days=1)
    )
    return {"order": place(fondue), "fondue": fondue, "cart": left.cart, "shipping": shipping, "category": category}


def checkout_data(world):
    return {
        "email": "anna@example.ch",
        "phone": "+41 79 123 45 67",
        "payment_method": "bank_transfer",
        "shipping_method": world["shipping"]["post"].pk,
        "shipping_name": "Anna Muster",
        "shipping_company": "Muster AG",
        "shipping_street": "Bahnhofstrasse 1",
        "shipping_postcode": "8001",
        "shipping_city": "Zürich",
        "shipping_country": "CH",
        # billing_same unticked: the billing address is asked for too
        "billing_name": "Beat Muster",
        "billing_company": "Beat GmbH",
        "billing_street": "Seeweg 2",
        "billing_postcode": "3000",
        "billing_city": "Bern",
        "billing_country": "CH",
    }


def manual_data(world):
    from tests.test_backoffice_manual_orders import manual

    return manual(**{"lines-1-product": "", "lines-1-quantity": "", "company": "Muster AG"})


def edit_data(world):
    from tests.test_backoffice_manual_orders import edit_data

    return edit_data(world["order"], **{"adjustment_label": "Goodwill", "new-0-product": "", "shipping_company": "X"})


def general_data(world):
    from tests.test_backoffice_settings import GENERAL_OK

    return dict(GENERAL_OK)


def payment_data(world):
    from tests.test_backoffice_settings import payment_data

    return payment_data(bank_instructions="Reference: your order number")


def shipping_data(world):
    from tests.test_backoffice_settings import shipping_data

    return shipping_data(kind="pickup", pickup_address="Limmatquai 1, Zürich")


def product_data(world):
    return {"name": "Kettle", "slug": "kettle", "sku": "KET-1", "category": world["category"].pk,
            "description": "Copper.", "price": "49.00", "vat_rate": "8.1", "stock": "3"}  # fmt: skip


def action(name, **data):
    return lambda world: {"action": name, **data}


# id → (url, valid data, the text fields, what is shown again from the valid data)
PAGES = {
    "checkout": (lambda w: "/en/checkout/", checkout_data,
                 ("email", "phone", "shipping_name", "shipping_company", "shipping_street", "shipping_postcode",
                  "shipping_city", "billing_name", "billing_company", "billing_street", "billing_postcode",
                  "billing_city")),
    "new order": (lambda w: "/backoffice/orders/new/", manual_data,
                  ("email", "phone", "name", "company", "street", "postcode", "city", "lines-0-product")),
    "edit order": (lambda w: f"/backoffice/orders/{w['order'].number}/edit/", edit_data,
                   ("email", "phone", "adjustment_label", "shipping_name", "shipping_company", "shipping_street",
                    "shipping_postcode", "shipping_city", "billing_name", "new-0-product")),
    "settings general": (lambda w: "/backoffice/settings/general/", general_data,
                         ("name", "street", "postcode", "city", "email", "phone", "vat_number")),
    "settings payment": (lambda w: "/backoffice/settings/payment/", payment_data,
                         ("bank_account_holder", "bank_iban", "bank_name", "bank_instructions", "invoice_terms")),
    "new shipping method": (lambda w: "/backoffice/settings/shipping/new/", shipping_data, ("name", "pickup_address")),
    "settings email": (lambda w: "/backoffice/settings/email/",
                       lambda w: {"sender_name": "Alpenladen", "sender_email": "shop@alpenladen.ch",
                                  "merchant_recipients": "anna@alpenladen.ch", "merchant_language": "de"},
                       ("sender_name", "sender_email", "merchant_recipients")),
    "new product": (lambda w: "/backoffice/catalog/products/new/", product_data,
                    ("name", "slug", "sku", "description")),
    "new category": (lambda w: "/backoffice/catalog/categories/new/",
                     lambda w: {"name": "Kitchen", "slug": "kitchen", "description": "Pots.", "position": "3"},
                     ("name", "slug", "description")),
}  # fmt: skip
CASES = [(page, field) for page, (_url, _data, fields) in PAGES.items() for field in fields]


@pytest.mark.parametrize("bad", ["nul", "surrogate"])
@pytest.mark.parametrize(("page", "field"), CASES, ids=[f"{page}: {field}" for page, field in CASES])
def test_a_page_refuses_unstorable_text_at_its_field_keeps_the_rest_and_saves_nothing(
    client, staff, world, page, field, bad
):
    url, data, fields = PAGES[page]
    if page == "checkout":
        client.post("/en/cart/add/", {"product": world["fondue"].pk, "quantity": "1"})
    posted = data(world)
    posted[field] = wire(BAD[bad])
    kept = next(name for name in fields if name != field)
    before = snapshot(leave_out={"cart.Cart"} if page == "checkout" else ())
    response = client.post(url(world), posted)
    assert response.status_code == 200, response.get("Location")
    shown = html.unescape(response.content.decode())
    assert MESSAGE in shown
    assert f'value="{posted[kept]}"' in shown or f"{posted[kept]}</textarea>" in shown, kept
    assert snapshot(leave_out={"cart.Cart"} if page == "checkout" else ()) == before
    if page == "checkout":
        from shop.cart.models import Cart

        assert all(storable(cart.shopper_name) and storable(cart.email) for cart in Cart.objects.all())


def order_action_url(world):
    return f"/backoffice/orders/{world['order'].number}/action/"


# id → (url, the form as posted with the field to spoil): the answer is a message (on the page a redirect leads to)
ONE_FIELD = {
    "staff note": (order_action_url, {"action": "note", "text": "Called back"}, "text"),
    "record payment note": (
        order_action_url, {"action": "record_payment", "amount": "129.00", "paid_on": "2026-01-05", "note": "x"}, "note"
    ),
    "refund note": (order_action_url, {"action": "refund", "amount": "1.00", "note": "x"}, "note"),
    "tracking number": (
        order_action_url, {"action": "tracking", "tracking_number": "99.00.123", "carrier": "swiss_post"},
        "tracking_number",
    ),
    "cancel reason": (order_action_url, {"action": "cancel", "confirm": "on", "reason": "x"}, "reason"),
    "reminder message": (
        lambda w: f"/backoffice/abandoned-carts/{w['cart'].pk}/remind/", {"message": "Dear Lea"}, "message"
    ),
    "test e-mail address": (lambda w: "/backoffice/settings/email/test/", {"to": "anna@example.ch"}, "to"),
}  # fmt: skip


@pytest.mark.parametrize("bad", ["nul", "surrogate"])
@pytest.mark.parametrize("case", list(ONE_FIELD))
def test_an_action_refuses_unstorable_text_with_a_message_and_does_nothing(client, staff, world, case, bad):
    url, data, field = ONE_FIELD[case]
    before = snapshot()
    response = client.post(url(world), {**data, field: wire(BAD[bad])}, follow=True)
    assert response.status_code == 200
    assert MESSAGE in html.unescape(response.content.decode())
    assert snapshot() == before


@pytest.mark.parametrize("bad", ["nul", "surrogate"])
@pytest.mark.parametrize("field", ["username", "password"])
def test_the_login_refuses_unstorable_text(client, english, settings, field, bad):
    from tests.factories import StaffFactory

    settings.AXES_ENABLED = True
    StaffFactory(username="anna", password="pw-12345678")
    data = {"username": "anna", "password": "pw-12345678", field: wire(BAD[bad])}
    response = client.post("/backoffice/login/", data)
    assert response.status_code == 200 and MESSAGE in html.unescape(response.content.decode())
    assert "_auth_user_id" not in client.session


FILTERS = [
    "/backoffice/orders/",
    "/backoffice/orders/export.csv",
    "/backoffice/orders/process/",
    "/backoffice/catalog/products/",
    "/backoffice/abandoned-carts/",
    "/backoffice/settings/email/log/",
    "/en/search/",
]


@pytest.mark.parametrize("bad", ["nul", "surrogate"])
@pytest.mark.parametrize("path", FILTERS)
def test_a_search_with_unstorable_text_is_answered(client, staff, world, path, bad):
    response = client.get(path, {"q": wire(BAD[bad])})
    assert response.status_code == 200
    if response.streaming:
        b"".join(response.streaming_content)
    elif path == "/backoffice/orders/":
        assert MESSAGE in html.unescape(response.content.decode())  # the filter says why it was left out


@pytest.mark.parametrize("bad", ["nul", "surrogate"])
@pytest.mark.parametrize("field", ["shipping_name", "billing_name", "email"])
def test_checkout_keeps_no_unstorable_text_on_the_cart_as_the_shopper_types(client, world, field, bad):
    """The summary (htmx) saves the name and e-mail on the cart as they are typed, for abandoned-cart reminders."""
    from shop.cart.models import Cart

    client.post("/en/cart/add/", {"product": world["fondue"].pk, "quantity": "1"})
    data = {**checkout_data(world), field: wire(BAD[bad])}
    response = client.post("/en/checkout/summary/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    cart = Cart.objects.filter(status=Cart.Status.OPEN).exclude(pk=world["cart"].pk).get()
    assert storable(cart.shopper_name) and storable(cart.email)
    assert (cart.email == "") if field == "email" else (cart.email == "anna@example.ch")


# --- What reaches the forms: raw bodies ----------------------------------------------------------------------------


@pytest.fixture
def with_cart(client, world):
    """A shopper with the fondue in their cart."""
    client.post("/en/cart/add/", {"product": world["fondue"].pk, "quantity": "1"})
    return client


def raw_checkout(client, body: bytes, content_type="application/x-www-form-urlencoded"):
    return client.generic("POST", "/en/checkout/", body, content_type=content_type)


def form_body(world, **fields: bytes) -> bytes:
    from urllib.parse import urlencode

    data = {**checkout_data(world), **fields}
    return urlencode(data).encode()


def test_a_percent_encoded_surrogate_arrives_as_a_replacement_and_is_refused_at_its_field(with_cart, world):
    body = form_body(world).replace(b"shipping_name=Anna+Muster", b"shipping_name=Anna%ED%B2%80")  # U+DC80
    before = snapshot(leave_out={"cart.Cart"})
    response = raw_checkout(with_cart, body)
    page = html.unescape(response.content.decode())
    assert response.status_code == 200 and MESSAGE in page and 'value="Bahnhofstrasse 1"' in page
    assert snapshot(leave_out={"cart.Cart"}) == before


@pytest.mark.parametrize("raw", [b"Anna\xed\xb2\x80", b"Z\xfcrich", b"\xff\xfe"])
def test_a_form_body_that_is_not_utf8_is_a_400(with_cart, world, raw):
    """Django would read it as Latin-1: the surrogate's bytes as "í²\\x80", a text that could be saved."""
    body = form_body(world).replace(b"shipping_name=Anna+Muster", b"shipping_name=" + raw)
    before = snapshot(leave_out={"cart.Cart"})
    response = raw_checkout(with_cart, body)
    assert response.status_code == 400
    assert snapshot(leave_out={"cart.Cart"}) == before


def test_a_form_body_that_declares_another_charset_is_a_400_as_django_answers(with_cart, world):
    response = raw_checkout(with_cart, form_body(world), "application/x-www-form-urlencoded; charset=latin-1")
    assert response.status_code == 400


def test_a_multipart_body_that_is_not_utf8_is_refused_at_its_field(with_cart, world):
    boundary = "XyZ"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in checkout_data(world).items() if k != "shipping_city"]  # fmt: skip
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="shipping_city"\r\n\r\n'.encode())
    parts.append(b"Z\xfcrich\r\n" + f"--{boundary}--\r\n".encode())
    response = raw_checkout(with_cart, b"".join(parts), f"multipart/form-data; boundary={boundary}")
    page = html.unescape(response.content.decode())
    assert response.status_code == 200 and MESSAGE in page and 'value="Anna Muster"' in page


def test_a_query_string_that_is_not_utf8_only_filters(client, staff, world):
    response = client.get("/backoffice/orders/", QUERY_STRING="q=Z%FCrich&payment_status=paid")
    assert response.status_code == 200 and MESSAGE in html.unescape(response.content.decode())
    for path in ("/backoffice/orders/", "/en/search/"):  # raw bytes: Django reads them as Latin-1 ("Zü")
        assert client.get(path, QUERY_STRING="q=Z\xfc").status_code == 200


# --- What the databases refuse, so that the rule's list stays right -------------------------------------------------


@pytest.mark.parametrize(
    "text", ["tab\tline\nfeed\r", "\x01\x1f\x7f\x85", "\ufffe\uffff\ufdd0", "\U0010ffff", "\u2028\u200b", "\ufffd"]
)
def test_the_database_keeps_every_other_character(store, text):
    """Only U+0000 and the surrogates can't be stored (U+FFFD can, but stands for text lost on the way)."""
    from shop.backoffice.models import Store

    store.name = f"Alpen{text}laden"
    store.save()
    assert Store.objects.get(pk=store.pk).name == f"Alpen{text}laden"


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b", "\udfff"])
def test_the_database_refuses_what_the_forms_refuse(store, text):
    from django.db import connection, transaction

    from shop.backoffice.models import Store

    store.name = text
    if text == "a\x00b" and connection.vendor == "sqlite":
        store.save()  # SQLite keeps a NUL; PostgreSQL refuses it
        assert Store.objects.get(pk=store.pk).name == text
        return
    with pytest.raises(Exception) as refused, transaction.atomic():
        store.save()
    assert isinstance(refused.value, ValueError | UnicodeError) or "NUL" in str(refused.value)
