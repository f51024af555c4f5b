"""Settings → General · Payment · Shipping: staff only, every save changes what checkout offers at once, and bad
input gets a clear message (status 200, nothing saved, nothing the merchant typed lost), never a server error."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from orders.models import Order
from payments.models import PaymentMethod
from payments.providers import PROVIDERS
from shop.backoffice import services
from shop.backoffice.forms import normalize_iban, normalize_vat_number
from shop.backoffice.models import Store
from shop.checkout.models import ShippingMethod
from tests.factories import ProductFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

GENERAL = "/backoffice/settings/general/"
PAYMENT = "/backoffice/settings/payment/"
SHIPPING = "/backoffice/settings/shipping/"
SHIPPING_ADD = "/backoffice/settings/shipping/new/"


def edit_url(method):
    return f"/backoffice/settings/shipping/{method.pk}/"


def remove_url(method):
    return f"/backoffice/settings/shipping/{method.pk}/remove/"


def u(name, **kwargs):
    with translation.override("en"):
        return reverse(name, kwargs=kwargs or None)


@pytest.fixture
def mug(db):
    return ProductFactory(name="Enamel Mug", sku="MUG-1", price=Decimal("24.50"), stock=10)


def checkout_page(client, product) -> str:
    """The checkout page a shopper gets with ``product`` in the cart (a separate session from the merchant's)."""
    from django.test import Client

    shopper = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert shopper.post(u("cart:add"), {"product": product.pk, "quantity": 1}).status_code == 302
    response = shopper.get(u("checkout:checkout"))
    assert response.status_code == 200
    return response.content.decode()


def html(response) -> str:
    return response.content.decode()


GENERAL_OK = {
    "name": "Bergladen",
    "street": "Bahnhofstrasse 1",
    "postcode": "8001",
    "city": "Zürich",
    "country": "CH",
    "email": "hallo@bergladen.ch",
    "phone": "+41 44 123 45 67",
    "vat_number": "che 123 456 789 mwst",
    "zero_total_status": "awaiting_payment",
    "plan": "standard",
    # test_mode unticked: off
}


def payment_data(**changes):
    data = {
        "order": ["test", "bank_transfer", "invoice", "cash_on_pickup", "phone"],
        "enabled": ["test", "bank_transfer", "invoice", "cash_on_pickup"],
        "bank_account_holder": "Alpenladen GmbH",
        "bank_iban": "CH93 0076 2011 6238 5295 7",
        "bank_name": "ZKB",
        "bank_instructions": "",
        "invoice_terms": "Payable within 30 days.",
    }
    data.update(changes)
    return data


def shipping_data(**changes):
    data = {
        "name": "Swiss Post Priority",
        "kind": "flat",
        "price": "9.00",
        "free_above": "",
        "pickup_address": "",
        "position": "5",
        "is_active": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- Access ---------------------------------------------------------------------------------------------------------


def all_pages(shipping):
    post = shipping["post"]
    return [GENERAL, PAYMENT, SHIPPING, SHIPPING_ADD, edit_url(post), remove_url(post), "/backoffice/settings/"]


def test_staff_sees_every_settings_page_with_the_current_one_marked(client, staff, store, shipping):
    assert client.get("/backoffice/settings/")["Location"] == GENERAL
    for path, current in [
        (GENERAL, "General"),
        (PAYMENT, "Payment"),
        (SHIPPING, "Shipping"),
        (SHIPPING_ADD, "Shipping"),
        (edit_url(shipping["post"]), "Shipping"),
    ]:
        page = html(client.get(path))
        assert f'aria-current="page">{current}</a>' in page, path
        assert page.count('aria-current="page"') == 1, path
    assert "csrfmiddlewaretoken" in html(client.get(GENERAL))


def test_every_settings_form_is_protected_against_csrf(store, shipping):
    from django.test import Client

    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(StaffFactory())
    post = shipping["post"]
    for path in (GENERAL, PAYMENT, SHIPPING_ADD, edit_url(post), remove_url(post), SHIPPING):
        page = html(client.get(path))
        assert page.count("<form") == page.count('name="csrfmiddlewaretoken"'), path
    for path, data in [
        (GENERAL, GENERAL_OK),
        (PAYMENT, payment_data()),
        (SHIPPING_ADD, shipping_data()),
        (edit_url(post), shipping_data()),
        (remove_url(post), {"action": "delete"}),
        (f"/backoffice/settings/shipping/{post.pk}/activate/", {}),
    ]:
        assert client.post(path, data).status_code == 403, path
    assert Store.load().name == "Alpenladen" and ShippingMethod.objects.filter(pk=post.pk, name="Swiss Post").exists()


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("fr", ["Paramètres généraux", "Mode test", "Enregistrer"]),
        ("de", ["Allgemeine Einstellungen", "Testmodus", "Speichern"]),
        ("en", ["General settings", "Test mode", "Save"]),
    ],
)
def test_settings_speak_the_merchants_language(client, staff, store, language, texts):
    page = html(client.get(GENERAL, HTTP_ACCEPT_LANGUAGE=language))
    assert f'<html lang="{language}">' in page
    for text in texts:
        assert text in page, (language, text)


# --- General --------------------------------------------------------------------------------------------------------


def test_general_settings_are_saved_and_checkout_follows(client, staff, store, shipping, mug):
    assert "Test payment" in checkout_page(client, mug)
    response = client.post(GENERAL, GENERAL_OK)
    assert response.status_code == 302 and response["Location"] == GENERAL
    assert "General settings saved." in html(client.get(GENERAL))
    saved = Store.load()
    assert (saved.name, saved.city, saved.email, saved.phone) == (
        "Bergladen",
        "Zürich",
        "hallo@bergladen.ch",
        GENERAL_OK["phone"],
    )
    assert saved.vat_number == "CHE-123.456.789 MWST"  # written the official way
    assert (saved.test_mode, saved.zero_total_status, saved.plan) == (False, "awaiting_payment", "standard")
    assert saved.bank_iban == "CH93 0076 2011 6238 5295 7"  # the payment settings are left alone
    page = checkout_page(client, mug)
    assert "Test payment" not in page and "Test mode:" not in page  # test mode off: no test provider, no banner
    assert "Bergladen" in page


def test_turning_test_mode_on_offers_the_test_provider(client, staff, store, shipping, mug):
    store.test_mode = False
    store.save()
    assert "Test payment" not in checkout_page(client, mug)
    assert client.post(GENERAL, {**GENERAL_OK, "test_mode": "on"}).status_code == 302
    assert Store.load().test_mode is True
    assert "Test payment" in checkout_page(client, mug)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "not-an-address"}, "Please enter a valid e-mail address."),
        ({"vat_number": "123.456.789"}, "Enter the VAT number as CHE-123.456.789 MWST (or TVA, IVA)"),
        ({"vat_number": "CHE-123.456.78 MWST"}, "Enter the VAT number as CHE-123.456.789 MWST (or TVA, IVA)"),
        ({"vat_number": "CHE-123.456.789 VAT"}, "Enter the VAT number as CHE-123.456.789 MWST (or TVA, IVA)"),
        ({"phone": "call me maybe"}, "Enter a phone number with digits"),
        ({"postcode": "80011"}, "This postcode does not exist in the chosen country."),
        ({"city": ""}, "Please enter the city."),
        ({"name": "   "}, "Enter the store&#x27;s name"),
        ({"plan": "platinum"}, "Select a valid choice."),
        ({"zero_total_status": "maybe"}, "Select a valid choice."),
        ({"country": "XX"}, "Select a valid choice."),
    ],
)
def test_general_bad_input_is_explained_and_nothing_is_saved(client, staff, store, changes, message):
    before = Store.objects.values().get(pk=1)
    data = {**GENERAL_OK, "test_mode": "on", **changes}
    response = client.post(GENERAL, data)
    page = html(response)
    assert response.status_code == 200
    assert message in page
    assert "Please correct the highlighted fields. Nothing has been saved yet." in page
    assert 'aria-invalid="true"' in page
    assert Store.objects.values().get(pk=1) == before
    # What the merchant typed is still there, the bad value included, to be corrected.
    assert 'value="Bahnhofstrasse 1"' in page
    for name, value in changes.items():
        if value.strip() and name not in ("plan", "zero_total_status", "country"):
            assert f'value="{value}"' in page
    assert re.search(r'<input type="checkbox" name="test_mode"[^>]* checked>', page)


def test_general_page_explains_test_mode(client, staff, store):
    page = html(client.get(GENERAL))
    assert "the Test payment method is offered at checkout" in page
    assert "marked as a test order" in page


# --- Payment --------------------------------------------------------------------------------------------------------


def test_payment_page_lists_every_provider_and_says_when_the_test_provider_is_offered(client, staff, store):
    page = html(client.get(PAYMENT))
    for provider in PROVIDERS.values():
        assert str(provider.name) in page
    assert "Offered only in test mode. Test mode is on, so shoppers see it." in page
    store.test_mode = False
    store.save()
    assert "Offered only in test mode. Test mode is off, so shoppers don't see it." in html(client.get(PAYMENT))


def test_disabling_bank_transfer_removes_it_from_checkout(client, staff, store, shipping, mug):
    assert 'value="bank_transfer"' in checkout_page(client, mug)
    response = client.post(PAYMENT, payment_data(enabled=["test", "invoice", "cash_on_pickup"]))
    assert response.status_code == 302
    assert "Payment settings saved." in html(client.get(PAYMENT))
    assert PaymentMethod.enabled_codes() == ["test", "invoice", "cash_on_pickup"]
    page = checkout_page(client, mug)
    assert 'value="bank_transfer"' not in page and 'value="invoice"' in page
    # and enabling it again brings it back
    client.post(PAYMENT, payment_data())
    assert 'value="bank_transfer"' in checkout_page(client, mug)


def test_move_buttons_reorder_the_methods_at_checkout_without_javascript(client, staff, store, shipping, mug):
    page = checkout_page(client, mug)
    assert page.index('value="bank_transfer"') < page.index('value="invoice"')
    response = client.post(PAYMENT, {**payment_data(), "move": "invoice:up"})
    assert response.status_code == 302 and response["Location"] == PAYMENT + "#method-invoice"
    assert list(PaymentMethod.objects.values_list("code", flat=True)) == [
        "test",
        "invoice",
        "bank_transfer",
        "cash_on_pickup",
        "phone",
        # providers without a row yet come last, in their own order
        "stripe",
        "datatrans_card",
        "datatrans_twint",
        "datatrans_postfinance",
        "paypal",
    ]
    page = checkout_page(client, mug)
    assert page.index('value="invoice"') < page.index('value="bank_transfer"')
    settings_page = html(client.get(PAYMENT))
    assert settings_page.index('id="method-invoice"') < settings_page.index('id="method-bank_transfer"')
    # The first row can't go further up, the last can't go further down: no change, no error.
    assert client.post(PAYMENT, {**payment_data(order=["test", "invoice"]), "move": "test:up"}).status_code == 302
    assert PaymentMethod.objects.first().code == "test"


def test_bank_details_are_saved_and_shown_to_shoppers(client, staff, store, shipping, mug, place):
    response = client.post(
        PAYMENT,
        payment_data(bank_iban="li21 0881 0000 2324 013a a", bank_account_holder="Berg AG", invoice_terms="10 days"),
    )
    assert response.status_code == 302
    saved = Store.load()
    assert (saved.bank_iban, saved.bank_account_holder) == ("LI21 0881 0000 2324 013A A", "Berg AG")
    order = place(mug)
    page = html(client.get(order.get_absolute_url()))
    assert "LI21 0881 0000 2324 013A A" in page and "Berg AG" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bank_iban": "CH93 0076 2011 6238 5295 8"}, "This IBAN is not valid: its check digits don&#x27;t match."),
        ({"bank_iban": "DE89 3704 0044 0532 0130 00"}, "Enter a Swiss or Liechtenstein IBAN"),
        ({"bank_iban": "CH93 0076 2011 6238 5295"}, "Enter a Swiss or Liechtenstein IBAN"),
        ({"bank_iban": ""}, "Bank transfer is offered: enter the IBAN shoppers should pay to"),
        ({"enabled": []}, "Enable at least one payment method"),
        ({"enabled": ["bitcoin"]}, "Select a valid choice."),
    ],
)
def test_payment_bad_input_is_explained_and_nothing_is_saved(client, staff, store, changes, message):
    before = (Store.objects.values().get(pk=1), list(PaymentMethod.objects.values()))
    response = client.post(
        PAYMENT, {**payment_data(bank_account_holder="Neue Inhaberin", **changes), "move": "phone:up"}
    )
    page = html(response)
    assert response.status_code == 200
    assert message in page
    assert "Nothing has been saved yet." in page
    assert (Store.objects.values().get(pk=1), list(PaymentMethod.objects.values())) == before
    assert 'value="Neue Inhaberin"' in page  # what was typed stays
    if changes.get("bank_iban"):
        assert f'value="{changes["bank_iban"]}"' in page
    # the move the merchant asked for shows, not yet saved
    assert page.index('id="method-phone"') < page.index('id="method-cash_on_pickup"')


def test_a_provider_without_a_row_gets_one(client, staff, store):
    PaymentMethod.objects.get(code="phone").delete()
    assert client.post(PAYMENT, payment_data(enabled=["bank_transfer", "phone"])).status_code == 302
    assert PaymentMethod.enabled_codes() == ["bank_transfer", "phone"]
    assert set(PaymentMethod.objects.values_list("code", flat=True)) == set(PROVIDERS)


# --- Shipping -------------------------------------------------------------------------------------------------------


def test_new_shipping_method_appears_at_checkout(client, staff, store, shipping, mug):
    assert "Swiss Post Priority" not in checkout_page(client, mug)
    response = client.post(SHIPPING_ADD, shipping_data(price="9,50", free_above="CHF 1’000.–"))
    assert response.status_code == 302 and response["Location"] == SHIPPING
    list_page = html(client.get(SHIPPING))
    assert "Shipping method “Swiss Post Priority” added." in list_page and "CHF 9.50" in list_page
    method = ShippingMethod.objects.get(name="Swiss Post Priority")
    assert (method.price, method.free_above, method.position) == (Decimal("9.50"), Decimal("1000.00"), 5)
    page = checkout_page(client, mug)
    assert "Swiss Post Priority" in page and "CHF 9.50" in page


def test_add_form_proposes_the_next_position(client, staff, store, shipping):
    assert 'name="position" value="2"' in html(client.get(SHIPPING_ADD))


def test_editing_a_method_changes_checkout(client, staff, store, shipping, mug):
    post = shipping["post"]
    data = shipping_data(name="Swiss Post Economy", price="5.50", free_above="80", position="0")
    assert client.post(edit_url(post), data).status_code == 302
    post.refresh_from_db()
    assert (post.name, post.price, post.free_above) == ("Swiss Post Economy", Decimal("5.50"), Decimal("80.00"))
    page = checkout_page(client, mug)
    assert "Swiss Post Economy" in page and "CHF 5.50" in page and "Free from CHF 80.–" in page
    # Unticking "offered at checkout" takes it off the checkout.
    assert client.post(edit_url(post), {**data, "is_active": ""}).status_code == 302
    assert "Swiss Post Economy" not in checkout_page(client, mug)


def test_pickup_needs_an_address(client, staff, store, shipping):
    response = client.post(SHIPPING_ADD, shipping_data(name="Pickup Bern", kind="pickup", price="0"))
    assert response.status_code == 200
    assert "Enter the pickup address and opening hours" in html(response)
    assert not ShippingMethod.objects.filter(name="Pickup Bern").exists()
    response = client.post(
        SHIPPING_ADD, shipping_data(name="Pickup Bern", kind="pickup", price="0", pickup_address="Marktgasse 1, Bern")
    )
    assert response.status_code == 302
    assert ShippingMethod.objects.get(name="Pickup Bern").pickup_address == "Marktgasse 1, Bern"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": "abc"}, "Enter an amount in francs, such as 7.50."),
        ({"price": "-1"}, "The amount can&#x27;t be negative."),
        ({"price": "7.555"}, "Enter at most two decimals (Rappen), such as 7.50."),
        ({"price": "123456789012"}, "This amount is too large."),
        ({"price": "NaN"}, "Enter an amount in francs, such as 7.50."),
        ({"price": "1e400"}, "This amount is too large."),
        ({"price": ""}, "Enter an amount in francs, such as 7.50."),
        ({"free_above": "-0.01"}, "The amount can&#x27;t be negative."),
        ({"free_above": "ten"}, "Enter an amount in francs, such as 7.50."),
        ({"name": ""}, "Enter a name: shoppers see it at checkout."),
        ({"kind": "drone"}, "Choose flat rate or in-store pickup."),
        ({"position": "first"}, "Enter a whole number from 0 to 9999."),
        ({"position": "99999999999999999999"}, "Enter a whole number from 0 to 9999."),
    ],
)
def test_shipping_bad_input_is_explained_and_nothing_is_saved(client, staff, store, shipping, changes, message):
    before = list(ShippingMethod.objects.values())
    for path in (SHIPPING_ADD, edit_url(shipping["post"])):
        response = client.post(path, shipping_data(**changes))
        page = html(response)
        assert response.status_code == 200, path
        assert message in page, path
        assert "Nothing has been saved yet." in page
        for name, value in changes.items():
            if value and name != "kind":
                assert f'value="{value}"' in page  # what was typed stays, to be corrected
        assert 'value="Swiss Post Priority"' in page or "name" in changes
    assert list(ShippingMethod.objects.values()) == before


def test_remove_asks_first_and_deactivating_keeps_the_method(client, staff, store, shipping, mug, place):
    post = shipping["post"]
    order = place(mug)
    page = html(client.get(remove_url(post)))
    assert "Remove “Swiss Post”?" in page
    assert "1 order was placed with this method." in page
    assert "Deactivate (recommended)" in page and "This can't be undone." in page
    assert ShippingMethod.objects.filter(pk=post.pk, is_active=True).exists()  # GET changes nothing
    response = client.post(remove_url(post), {"action": "deactivate"})
    assert response.status_code == 302 and response["Location"] == SHIPPING
    list_page = html(client.get(SHIPPING))
    assert "is no longer offered at checkout" in list_page and "Inactive" in list_page and "Swiss Post" in list_page
    assert "Swiss Post" not in checkout_page(client, mug)
    order.refresh_from_db()
    assert order.shipping_method_id == post.pk
    # and back again
    assert client.post(f"/backoffice/settings/shipping/{post.pk}/activate/").status_code == 302
    assert "Swiss Post" in checkout_page(client, mug)


def test_deleting_a_used_method_keeps_the_orders_snapshot(client, staff, store, shipping, mug, place):
    post = shipping["post"]
    order = place(mug)
    response = client.post(remove_url(post), {"action": "delete"})
    assert response.status_code == 302
    assert "Shipping method “Swiss Post” deleted." in html(client.get(SHIPPING))
    assert not ShippingMethod.objects.filter(pk=post.pk).exists()
    order = Order.objects.get(pk=order.pk)
    assert order.shipping_method_id is None and order.shipping_method_name == "Swiss Post"
    assert order.shipping_total == Decimal("7.00")
    assert "Swiss Post" not in checkout_page(client, mug)
    assert client.get(edit_url(post)).status_code == 404


def test_removing_the_last_active_method_warns(client, staff, store, shipping):
    services.set_shipping_method_active(shipping["pickup"].pk, False)
    page = html(client.get(remove_url(shipping["post"])))
    assert "This is the only shipping method offered at checkout" in page
    client.post(remove_url(shipping["post"]), {"action": "deactivate"})
    assert "No shipping method is offered at checkout" in html(client.get(SHIPPING))


@pytest.mark.parametrize("data", [{}, {"action": "explode"}])
def test_remove_without_a_valid_choice_changes_nothing(client, staff, store, shipping, data):
    response = client.post(remove_url(shipping["post"]), data)
    assert response.status_code == 200
    assert "Choose whether to deactivate or delete this method." in html(response)
    assert ShippingMethod.objects.filter(is_active=True).count() == 2


def test_unknown_method_is_a_404(client, staff, store):
    for path in ("/backoffice/settings/shipping/999/", "/backoffice/settings/shipping/999/remove/"):
        assert client.get(path).status_code == 404
    assert client.post("/backoffice/settings/shipping/999/activate/").status_code == 404


def test_shipping_list_queries_do_not_grow_with_the_methods(client, staff, store, django_assert_max_num_queries):
    for i in range(60):
        ShippingMethod.objects.create(name=f"Courier {i}", price=Decimal("12.00"), position=i, is_active=i % 2 == 0)
    with django_assert_max_num_queries(8):
        page = html(client.get(SHIPPING))
    assert "Courier 59" in page


# --- Formats --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("CH93 0076 2011 6238 5295 7", "CH93 0076 2011 6238 5295 7"),
        ("ch9300762011623852957", "CH93 0076 2011 6238 5295 7"),
        (" CH56 0483 5012 3456 7800 9 ", "CH56 0483 5012 3456 7800 9"),
        ("LI21 0881 0000 2324 013A A", "LI21 0881 0000 2324 013A A"),
    ],
)
def test_iban_accepts_spaces_and_lower_case(typed, stored):
    assert normalize_iban(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["CH93 0076 2011 6238 5295 8", "CH39 0076 2011 6238 5295 7", "FR14 2004 1010 0505 0001 3M02 606", "CH93-0076", "x"],
)
def test_iban_refuses_wrong_check_digits_and_other_countries(typed):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        normalize_iban(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("CHE-123.456.789 MWST", "CHE-123.456.789 MWST"),
        ("che123456789tva", "CHE-123.456.789 TVA"),
        ("CHE 123 456 789 IVA", "CHE-123.456.789 IVA"),
    ],
)
def test_vat_number_is_written_the_official_way(typed, stored):
    assert normalize_vat_number(typed) == stored


# --- Whatever is posted, never a server error -----------------------------------------------------------------------

FORMS = {
    GENERAL: list(GENERAL_OK) + ["test_mode"],
    PAYMENT: ["order", "enabled", "move", "bank_account_holder", "bank_iban", "bank_name", "bank_instructions"],
    SHIPPING_ADD: list(shipping_data()),
    "edit": list(shipping_data()),
    "remove": ["action"],
}


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    form=st.sampled_from(sorted(FORMS)),
    values=st.lists(st.text(max_size=80), min_size=1, max_size=12),
    ticked=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_arbitrary_input_to_any_settings_form_never_gives_a_server_error(
    client, staff, store, shipping, form, values, ticked
):
    path = {"edit": edit_url(shipping["post"]), "remove": remove_url(shipping["post"])}.get(form, form)
    data = {name: values[i % len(values)] for i, name in enumerate(FORMS[form]) if ticked[i]}
    exists = ShippingMethod.objects.filter(pk=shipping["post"].pk).exists()  # "delete" may have been posted before
    response = client.post(path, data)
    assert response.status_code in ((200, 302) if exists or form not in ("edit", "remove") else (404,))
    if response.status_code == 200:
        page = html(response)
        assert "field__error" in page or "message--error" in page
    # whatever happened, the shop still works
    assert client.get(SHIPPING).status_code == 200
