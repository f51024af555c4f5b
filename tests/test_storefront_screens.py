"""Storefront screens that work on a phone and with a keyboard (issue #10), checked on the real views: HEAD answers,
autofill hints, headings without gaps, focus on the first field in error, the meta description and the favicon; and
the summary endpoint that never redraws the payment methods the page already shows."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def u(name, **kwargs):
    with translation.override("en"):
        return reverse(name, kwargs=kwargs or None)


class Page(HTMLParser):
    """The parts of a page these tests look at: headings in order, tags with their attributes, the text of the title."""

    def __init__(self, html):
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.tags: list[tuple[str, dict]] = []
        self._heading = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), ""]

    def handle_endtag(self, tag):
        if self._heading and tag == f"h{self._heading[0]}":
            self.headings.append((self._heading[0], " ".join(self._heading[1].split())))
            self._heading = None

    def handle_data(self, data):
        if self._heading:
            self._heading[1] += data

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def assert_heading_order(html):
    """axe's heading-order: one h1 first, and a heading is at most one level deeper than the one before it."""
    levels = [level for level, _text in Page(html).headings]
    assert levels and levels[0] == 1 and levels.count(1) == 1, levels
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"h{before} → h{after} skips a level: {Page(html).headings}"
    return Page(html).headings


@pytest.fixture
def shop(store, shipping):
    coffee = CategoryFactory(name="Coffee", slug="coffee", description="Roasted in Bern, every week.")
    mug = ProductFactory(
        category=coffee,
        name="Enamel Mug",
        slug="enamel-mug",
        price=Decimal("24.50"),
        description="A <b>sturdy</b> enamel mug for the mountains. " * 10,
    )
    ProductFactory(category=coffee, name="Alpine Blend Coffee", slug="alpine-blend", price=Decimal("18.90"))
    return {"category": coffee, "mug": mug}


def with_cart(client, product):
    response = client.post(u("cart:add"), {"product": product.pk, "quantity": 1})
    assert response.status_code == 302


# --- HEAD ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    ["home", "category", "product", "search", "search-empty", "checkout", "order", "healthz"],
)
def test_pages_answer_head_with_200_and_no_body(client, english, shop, page, place):
    with_cart(client, shop["mug"])
    path = {
        "home": u("catalog:home"),
        "category": shop["category"].get_absolute_url(),
        "product": shop["mug"].get_absolute_url(),
        "search": u("catalog:search") + "?q=mug",
        "search-empty": u("catalog:search"),
        "checkout": u("checkout:checkout"),
        "order": None,
        "healthz": "/healthz",
    }[page]
    if page == "order":
        path = place(shop["mug"]).get_absolute_url()
    with translation.override("en"):
        get = client.get(path)
        head = client.head(path)
    assert get.status_code == 200 and get.content  # the same page, with its body
    assert head.status_code == 200, (page, head.status_code)
    assert head.content == b""
    assert head["Content-Type"] == get["Content-Type"]


def test_cart_answers_head(client, english, shop):
    with_cart(client, shop["mug"])
    assert client.head(u("cart:detail")).status_code == 200


def test_post_stays_refused_where_only_reading_is_allowed(client, english, shop):
    assert client.post(shop["mug"].get_absolute_url()).status_code == 405
    assert client.post("/healthz").status_code == 405
    assert client.put(u("checkout:checkout")).status_code == 405


# --- Autofill, phone keyboard ------------------------------------------------------------------------------------


def test_checkout_fields_say_what_they_hold(client, english, shop):
    with_cart(client, shop["mug"])
    page = Page(client.get(u("checkout:checkout")).content.decode())
    email = page.find("input", name="email")[0]
    assert (email["type"], email["autocomplete"]) == ("email", "email")
    phone = page.find("input", name="phone")[0]
    assert (phone["type"], phone["autocomplete"]) == ("tel", "tel")
    expected = {
        "name": "name",
        "company": "organization",
        "street": "street-address",
        "postcode": "postal-code",
        "city": "address-level2",
    }
    for section in ("shipping", "billing"):
        for field, token in expected.items():
            attrs = page.find("input", name=f"{section}_{field}")[0]
            assert attrs["autocomplete"] == f"{section} {token}", (section, field, attrs)
        country = page.find("select", name=f"{section}_country")[0]
        assert country["autocomplete"] == f"{section} country"
    assert page.find("input", name="shipping_postcode")[0]["inputmode"] == "numeric"


# --- Headings ----------------------------------------------------------------------------------------------------


def test_headings_have_no_gaps_on_category_search_and_checkout(client, english, shop):
    category = assert_heading_order(client.get(shop["category"].get_absolute_url()).content.decode())
    assert (1, "Coffee") in category and (2, "Enamel Mug") in category  # cards right under the h1
    found = assert_heading_order(client.get(u("catalog:search") + "?q=mug").content.decode())
    assert (2, "Enamel Mug") in found
    assert_heading_order(client.get(u("catalog:search") + "?q=nothing-matches").content.decode())
    assert_heading_order(client.get(u("catalog:search")).content.decode())
    with_cart(client, shop["mug"])
    checkout = assert_heading_order(client.get(u("checkout:checkout")).content.decode())
    assert [text for _level, text in checkout] == [
        "Checkout",
        "1. Contact",
        "2. Delivery",
        "Shipping address",
        "3. Billing address",
        "Payment",
        "Your order",
    ]
    assert (3, "Shipping address") in checkout


def test_headings_stay_in_order_where_cards_sit_under_a_section(client, english, shop):
    home = assert_heading_order(client.get(u("catalog:home")).content.decode())
    assert (3, "Enamel Mug") in home  # under "New arrivals" (h2)
    product = assert_heading_order(client.get(shop["mug"].get_absolute_url()).content.decode())
    assert (2, "You may also like") in product and (3, "Alpine Blend Coffee") in product


def test_headings_on_a_checkout_without_shipping(client, english, store):
    with_cart(client, ProductFactory(name="E-book", slug="e-book", requires_shipping=False, stock=None))
    headings = assert_heading_order(client.get(u("checkout:checkout")).content.decode())
    assert [text for _level, text in headings] == [
        "Checkout",
        "1. Contact",
        "2. Billing address",
        "Payment",
        "Your order",
    ]


# --- Focus after a failed submit ---------------------------------------------------------------------------------


def test_the_first_field_in_error_gets_the_focus(client, english, shop):
    with_cart(client, shop["mug"])
    data = {
        "email": "anna@example.ch",
        "payment_method": "bank_transfer",
        "shipping_method": _post_pk(),
        "shipping_name": "Anna",
        "shipping_street": "",  # missing
        "shipping_postcode": "99",  # wrong too, but further down
        "shipping_city": "Zürich",
        "billing_same": "on",
    }
    page = Page(client.post(u("checkout:checkout"), data).content.decode())
    focused = [(tag, a.get("name")) for tag, a in page.tags if "autofocus" in a]
    assert focused == [("input", "shipping_street")]
    street = page.find("input", name="shipping_street")[0]
    assert street["aria-invalid"] == "true" and "id_shipping_street_error" in street["aria-describedby"]

    page = Page(client.post(u("checkout:checkout"), {**data, "email": "not-an-email"}).content.decode())
    assert [a.get("name") for _tag, a in page.tags if "autofocus" in a] == ["email"]


def _post_pk():
    from shop.checkout.models import ShippingMethod

    return ShippingMethod.objects.exclude(kind="pickup").get().pk


def test_a_payment_method_not_offered_gets_the_focus_and_a_clear_message(client, english, shop):
    with_cart(client, shop["mug"])
    data = {
        "email": "anna@example.ch",
        "payment_method": "cash_on_pickup",  # not with shipping
        "shipping_method": _post_pk(),
        "shipping_name": "Anna",
        "shipping_street": "Gasse 1",
        "shipping_postcode": "8001",
        "shipping_city": "Zürich",
        "billing_same": "on",
    }
    html = client.post(u("checkout:checkout"), data).content.decode()
    assert "Please choose one of the payment methods offered for this delivery." in html
    page = Page(html)
    assert [a.get("value") for _tag, a in page.tags if "autofocus" in a] == ["test"]  # the first one offered
    assert page.find("fieldset", id="payment-methods")[0]["aria-describedby"] == "payment-error"
    assert not [a for a in page.find("input", name="payment_method") if "checked" in a]  # they choose again


def test_no_autofocus_on_a_fresh_checkout(client, english, shop):
    with_cart(client, shop["mug"])
    assert "autofocus" not in client.get(u("checkout:checkout")).content.decode()


# --- Meta description, favicon ------------------------------------------------------------------------------------


def _description(html):
    metas = Page(html).find("meta", name="description")
    assert len(metas) == 1, metas
    return metas[0]["content"]


def test_storefront_pages_have_a_meta_description(client, english, shop):
    default = "Alpenladen – Good things from Switzerland, delivered to your door."
    assert _description(client.get(u("catalog:home")).content.decode()) == default
    assert _description(client.get(u("catalog:search") + "?q=mug").content.decode()) == default
    product = _description(client.get(shop["mug"].get_absolute_url()).content.decode())
    assert product.startswith("A sturdy enamel mug for the mountains.") and len(product) <= 160  # tags dropped
    assert _description(client.get(shop["category"].get_absolute_url()).content.decode()) == (
        "Roasted in Bern, every week."
    )
    bare = ProductFactory(category=shop["category"], name="Plain Cup", slug="plain-cup", description="")
    assert _description(client.get(bare.get_absolute_url()).content.decode()) == f"Plain Cup · {default}"
    with_cart(client, shop["mug"])
    assert _description(client.get(u("checkout:checkout")).content.decode()) == default
    assert _description(client.get(u("cart:detail")).content.decode()) == default


def test_every_page_links_the_favicon_and_it_is_served(client, english, shop):
    from django.contrib.staticfiles import finders

    page = Page(client.get(u("catalog:home")).content.decode())
    icons = {a["href"]: a for a in page.find("link", rel="icon")}
    assert set(icons) == {"/static/img/favicon.ico", "/static/img/favicon.svg"}
    assert icons["/static/img/favicon.svg"]["type"] == "image/svg+xml"
    assert finders.find("img/favicon.ico") and finders.find("img/favicon.svg")
    assert Page(client.get(u("backoffice:login")).content.decode()).find("link", rel="icon")  # the back office too

    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/img/favicon.ico"
    assert client.head("/favicon.ico").status_code == 302
    with open(finders.find("img/favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file


def test_the_static_favicon_answers_200(live_server):
    import httpx

    for path in ("/favicon.ico", "/static/img/favicon.svg", "/static/img/apple-touch-icon.png"):
        response = httpx.get(live_server.url + path, follow_redirects=True)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("image/"), (path, response.headers["content-type"])


# --- The summary never redraws what the page shows (issue #10) ----------------------------------------------------


def test_the_summary_redraws_the_payment_methods_only_when_the_offer_differs(client, english, shop):
    with_cart(client, shop["mug"])
    page = Page(client.get(u("checkout:checkout")).content.decode())
    offer = page.find("input", name="payment_offer")[0]["value"]
    assert offer == "test bank_transfer invoice"
    # Every method the checkout can offer is on the page; cash on pickup hidden and disabled until pickup is chosen.
    radios = {a["value"]: a for a in page.find("input", name="payment_method")}
    assert list(radios) == ["test", "bank_transfer", "invoice", "cash_on_pickup"]
    assert radios["cash_on_pickup"]["data-offered-with"] == "pickup" and "disabled" in radios["cash_on_pickup"]
    assert radios["test"]["data-offered-with"] == "delivery pickup" and "disabled" not in radios["test"]
    assert "checked" in radios["test"]

    post, pickup = _post_pk(), _pickup_pk()
    same = client.post(u("checkout:summary"), {"shipping_method": post, "payment_offer": offer, "email": ""})
    html = same.content.decode()
    assert 'id="checkout-summary"' in html and 'id="payment-methods"' not in html  # nothing the shopper touches
    # The script updates payment_offer as soon as pickup is chosen: the page already shows what the server offers.
    html = client.post(
        u("checkout:summary"),
        {"shipping_method": pickup, "payment_offer": "test bank_transfer invoice cash_on_pickup"},
    ).content.decode()
    assert 'id="payment-methods"' not in html and "Pickup Zurich" in html
    # A page whose offer is out of date (the merchant changed the methods, no script) gets the block, with the
    # shopper's choice kept.
    html = client.post(
        u("checkout:summary"),
        {"shipping_method": pickup, "payment_offer": offer, "payment_method": "invoice"},
    ).content.decode()
    block = Page(html)
    assert block.find("fieldset", id="payment-methods")[0]["hx-swap-oob"] == "true"
    checked = [a["value"] for a in block.find("input", name="payment_method") if "checked" in a]
    assert checked == ["invoice"]


def _pickup_pk():
    from shop.checkout.models import ShippingMethod

    return ShippingMethod.objects.get(kind="pickup").pk


def test_a_digital_cart_offers_the_delivery_methods_only(client, english, store, shipping):
    with_cart(client, ProductFactory(name="E-book", slug="e-book", requires_shipping=False, stock=None))
    page = Page(client.get(u("checkout:checkout")).content.decode())
    radios = page.find("input", name="payment_method")
    assert [a["value"] for a in radios] == ["test", "bank_transfer", "invoice"]
    assert all("disabled" not in a for a in radios)


def test_the_checkout_loads_its_script_from_our_own_static_files(client, english, shop):
    with_cart(client, shop["mug"])
    page = Page(client.get(u("checkout:checkout")).content.decode())
    sources = [a.get("src", "") for a in page.find("script")]
    assert "/static/js/checkout.js" in sources
    assert all(src.startswith("/static/") for src in sources if src)
    html = client.get(u("checkout:checkout")).content.decode()
    assert not re.search(r"\son[a-z]+=", html.split("<main", 1)[1])  # no inline event handlers in the checkout
