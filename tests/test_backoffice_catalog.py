"""Catalog → Products · Categories: the merchant finds, adds and edits products and categories; every save shows on the
storefront at once; bad input gets a clear message (status 200, nothing saved), never a server error; nothing that is
on an order or still holds products can be deleted."""

import html as htmllib
import io
import re
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image

from shop.catalog.models import Category, Product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PRODUCTS = "/backoffice/catalog/products/"
PRODUCT_ADD = "/backoffice/catalog/products/new/"
CATEGORIES = "/backoffice/catalog/categories/"
CATEGORY_ADD = "/backoffice/catalog/categories/new/"


def edit_url(product):
    return f"/backoffice/catalog/products/{product.pk}/"


def remove_url(product):
    return f"/backoffice/catalog/products/{product.pk}/remove/"


def category_url(category):
    return f"/backoffice/catalog/categories/{category.pk}/"


def category_remove_url(category):
    return f"/backoffice/catalog/categories/{category.pk}/remove/"


def storefront(name, **kwargs):
    with translation.override("en"):
        return reverse(name, kwargs=kwargs or None)


def png(name="photo.png", size=(40, 30), fmt="PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 16, 46)).save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def text_of(html: str) -> str:
    """The page's text without tags, white space folded: what the merchant reads."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def errors_of(html: str) -> list[str]:
    return [htmllib.unescape(error) for error in re.findall(r'<p class="field__error">(.*?)</p>', html)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def coffee(db):
    return CategoryFactory(name="Coffee & Tea", slug="coffee-tea", position=1)


@pytest.fixture
def kitchen(db):
    return CategoryFactory(name="Kitchen", slug="kitchen", position=2)


def product_data(cat, **overrides):
    data = {
        "name": "Fondue Set",
        "slug": "",
        "sku": "FON-1",
        "category": cat.pk,
        "description": "For four.",
        "price": "129.00",
        "vat_rate": "8.10",
        "stock": "12",
        "requires_shipping": "on",
        "is_active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- Products list --------------------------------------------------------------------------------------------------


def test_products_list_shows_what_the_merchant_needs(client, staff, coffee):
    mug = ProductFactory(name="Enamel Mug", sku="MUG-1", category=coffee, price=Decimal("1234.50"), stock=3)
    mug.image.save("mug.png", ContentFile(png().read()))
    ProductFactory(name="Gift Card", sku="GIFT", category=coffee, price=Decimal("50"), stock=None)
    ProductFactory(name="Old Kettle", sku="KET-9", category=coffee, stock=0, is_active=False)
    response = client.get(PRODUCTS)
    html = response.content.decode()
    assert response.status_code == 200
    text = text_of(html)
    assert "3 products" in text
    assert "Enamel Mug MUG-1 Coffee & Tea CHF 1’234.50 3 · low Active" in text
    assert "Gift Card GIFT Coffee & Tea CHF 50.– Unlimited Active" in text
    assert "Old Kettle KET-9 Coffee & Tea CHF 10.– Sold out Inactive" in text
    assert f'<img src="{mug.image.url}"' in html
    assert f'href="{edit_url(mug)}"' in html
    assert html.count('aria-current="page"') == 1 and re.search(
        r'href="/backoffice/catalog/products/" aria-current', html
    )


def test_products_list_searches_filters_and_sorts(client, staff, coffee, kitchen):
    ProductFactory(name="Alpine Coffee", sku="COF-ALP", category=coffee, price=Decimal("18.90"), stock=40)
    ProductFactory(name="Espresso Cups", sku="KIT-ESP", category=kitchen, price=Decimal("39.00"), stock=2)
    ProductFactory(name="Teapot", sku="KIT-TEA", category=kitchen, price=Decimal("59.00"), stock=0, is_active=False)
    ProductFactory(name="Coffee Course", sku="SRV-1", category=coffee, price=Decimal("90.00"), stock=None)

    def names(**params):
        html = client.get(PRODUCTS, params).content.decode()
        return re.findall(r'<a href="/backoffice/catalog/products/\d+/">([^<]+)</a>', html)

    assert names(q="coffee") == ["Alpine Coffee", "Coffee Course"]
    assert names(q="kit-") == ["Espresso Cups", "Teapot"]  # SKU, any case
    assert names(category=kitchen.pk) == ["Espresso Cups", "Teapot"]
    assert names(status="inactive") == ["Teapot"]
    assert names(status="active", category=kitchen.pk) == ["Espresso Cups"]
    assert names(stock="in_stock") == ["Alpine Coffee"]
    assert names(stock="low") == ["Espresso Cups"]
    assert names(stock="sold_out") == ["Teapot"]
    assert names(stock="unlimited") == ["Coffee Course"]
    assert names(sort="-price") == ["Coffee Course", "Teapot", "Espresso Cups", "Alpine Coffee"]
    assert names(sort="stock") == ["Teapot", "Espresso Cups", "Alpine Coffee", "Coffee Course"]  # unlimited last
    assert names(sort="-stock") == ["Coffee Course", "Alpine Coffee", "Espresso Cups", "Teapot"]
    assert names(sort="sku") == ["Alpine Coffee", "Espresso Cups", "Teapot", "Coffee Course"]
    html = client.get(PRODUCTS, {"q": "nothing like it"}).content.decode()
    assert "No products match these filters." in html and "0 products" in html


def test_products_list_paginates_by_25_and_keeps_the_filters(client, staff, coffee):
    Product.objects.bulk_create(
        Product(category=coffee, name=f"Bean {i:02d}", slug=f"bean-{i}", sku=f"B-{i:02d}", price=Decimal("5"))
        for i in range(30)
    )
    html = client.get(PRODUCTS, {"q": "bean", "sort": "name"}).content.decode()
    assert html.count('<td class="product-thumb">') == 25 and "Page 1 of 2" in html and "30 products" in html
    assert "?q=bean&amp;sort=name&amp;page=2" in html
    html = client.get(PRODUCTS, {"q": "bean", "sort": "name", "page": 2}).content.decode()
    assert html.count('<td class="product-thumb">') == 5 and "Bean 29" in html and "Bean 00" not in html


@pytest.mark.parametrize(
    "params",
    [
        {"category": "999999"},
        {"category": "abc"},
        {"status": "maybe"},
        {"stock": "lots"},
        {"sort": "DROP TABLE"},
        {"page": "x"},
        {"page": "99999"},
        {"q": "a" * 500},
        {"q": "\x00"},
        {"q": "%_'"},
    ],
)
def test_products_list_bad_parameters_never_fail(client, staff, product, params):
    response = client.get(PRODUCTS, params)
    assert response.status_code == 200
    html = response.content.decode()
    if params.keys() & {"category", "status", "stock", "sort"}:
        assert 'class="message message--error"' in html and product.name in html  # the bad filter is left out


def test_products_list_queries_stay_constant(client, staff, django_assert_max_num_queries):
    categories = [CategoryFactory() for _ in range(5)]
    Product.objects.bulk_create(
        Product(
            category=categories[i % 5],
            name=f"Bulk {i:03d}",
            slug=f"bulk-{i}",
            sku=f"BULK-{i:03d}",
            price=Decimal("9.90"),
            stock=None if i % 4 == 0 else i % 9,
            image=f"products/bulk-{i}.png",
        )
        for i in range(300)
    )
    for params in ({}, {"page": 7, "sort": "-stock"}, {"q": "bulk", "stock": "low", "category": categories[2].pk}):
        with django_assert_max_num_queries(10):
            response = client.get(PRODUCTS, params)
        assert response.status_code == 200
    assert client.get(PRODUCTS).content.decode().count('<td class="product-thumb"><img') == 25


def test_products_page_without_categories_says_to_add_one_first(client, staff):
    html = text_of(client.get(PRODUCTS).content.decode())
    assert "No products yet." in html and "Every product is listed in a category: add a category first" in html


# --- Product form ---------------------------------------------------------------------------------------------------


def test_add_product_with_image(client, staff, coffee):
    response = client.post(PRODUCT_ADD, product_data(coffee, image=png("fondue.png")), follow=True)
    assert response.redirect_chain[-1][0] == PRODUCTS
    assert "Product “Fondue Set” added." in response.content.decode()
    product = Product.objects.get()
    assert (product.name, product.slug, product.sku, product.category, product.price, product.stock) == (
        "Fondue Set",
        "fondue-set",
        "FON-1",
        coffee,
        Decimal("129.00"),
        12,
    )
    assert product.vat_rate == "8.10" and product.requires_shipping and product.is_active and not product.is_featured
    assert product.image.name.startswith("products/fondue") and product.image.width == 40
    assert f'<img src="{product.image.url}"' in response.content.decode()


def test_slug_is_made_unique_from_the_name_and_can_be_given(client, staff, coffee):
    client.post(PRODUCT_ADD, product_data(coffee, name="Café Crème", sku="A"))
    client.post(PRODUCT_ADD, product_data(coffee, name="Café Crème", sku="B"))
    client.post(PRODUCT_ADD, product_data(coffee, name="Other", sku="C", slug="My-Own-Slug"))
    client.post(PRODUCT_ADD, product_data(coffee, name="水", sku="D"))
    assert list(Product.objects.order_by("sku").values_list("slug", flat=True)) == [
        "cafe-creme",
        "cafe-creme-2",
        "my-own-slug",
        "product",
    ]


def test_empty_stock_means_unlimited_and_prices_are_read_the_swiss_way(client, staff, coffee):
    client.post(PRODUCT_ADD, product_data(coffee, stock="", price="1’250,5"))
    product = Product.objects.get()
    assert product.stock is None and product.price == Decimal("1250.50")
    html = client.get(PRODUCTS).content.decode()
    assert "Unlimited" in html and "CHF 1’250.50" in html


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"price": "-1"}, "price", "The amount can't be negative."),
        ({"price": "abc"}, "price", "Enter an amount in francs, such as 7.50."),
        ({"price": "1.234"}, "price", "Enter at most two decimals"),
        ({"price": ""}, "price", "Enter an amount in francs"),
        ({"price": "99999999999"}, "price", "This amount is too large."),
        ({"stock": "-3"}, "stock", "Stock can't be negative."),
        ({"stock": "a dozen"}, "stock", "Enter a whole number of items"),
        ({"stock": "1.5"}, "stock", "Enter a whole number of items"),
        ({"stock": "99999999999999"}, "stock", "This number is too large."),
        ({"name": "   "}, "name", "Enter the product's name."),
        ({"sku": ""}, "sku", "Enter an SKU"),
        ({"category": ""}, "category", "Choose the category the product is listed in."),
        ({"category": "999999"}, "category", "This category no longer exists."),
        ({"category": "x"}, "category", "This category no longer exists."),
        ({"vat_rate": "7.7"}, "vat_rate", "Choose one of the Swiss VAT rates"),
        ({"slug": "café crème!"}, "slug", "Use only lower-case letters a–z, digits and hyphens"),
    ],
)
def test_bad_product_input_gets_a_clear_message_and_nothing_is_saved(client, staff, coffee, overrides, field, message):
    response = client.post(PRODUCT_ADD, product_data(coffee, **overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please correct the highlighted fields. Nothing has been saved yet." in html
    assert any(message in error for error in errors_of(html)), errors_of(html)
    assert f'id="id_{field}_error"' in html
    assert not Product.objects.exists()
    if overrides.get("name") is None:
        assert 'value="Fondue Set"' in html  # what the merchant typed is kept


def test_duplicate_sku_or_slug_is_refused(client, staff, coffee):
    ProductFactory(name="Fondue Pot", sku="FON-1", slug="fondue-pot")
    html = client.post(PRODUCT_ADD, product_data(coffee, sku="fon-1")).content.decode()
    assert "“Fondue Pot” already has the SKU FON-1. Each product needs its own SKU." in text_of(html)
    html = client.post(PRODUCT_ADD, product_data(coffee, sku="FON-2", slug="fondue-pot")).content.decode()
    assert "Another product already uses this address." in html
    assert Product.objects.count() == 1


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("notes.txt", b"just text", content_type="text/plain"), "not an image we can read"),
        (SimpleUploadedFile("photo.png", b"\x89PNG but broken", content_type="image/png"), "not an image we can read"),
        (SimpleUploadedFile("empty.png", b"", content_type="image/png"), "The uploaded file is empty."),
        ("tiff", "Upload a photo as a JPEG, PNG, GIF or WebP file."),
        ("bmp-as-jpg", "Upload a photo as a JPEG, PNG, GIF or WebP file."),
    ],
)
def test_only_real_images_are_accepted(client, staff, coffee, upload, message):
    if upload == "tiff":
        upload = png("scan.tiff", fmt="TIFF")
    elif upload == "bmp-as-jpg":
        upload = png("photo.jpg", fmt="BMP")
    response = client.post(PRODUCT_ADD, product_data(coffee, image=upload))
    assert response.status_code == 200
    assert any(message in error for error in errors_of(response.content.decode()))
    assert not Product.objects.exists()


def test_a_too_large_image_is_refused(client, staff, coffee, monkeypatch):
    monkeypatch.setattr("shop.catalog.forms.IMAGE_MAX_BYTES", 100)
    response = client.post(PRODUCT_ADD, product_data(coffee, image=png()))
    assert "This image is larger than 10 MB." in response.content.decode()
    assert not Product.objects.exists()


def test_edit_product_shows_it_and_keeps_or_removes_the_image(client, staff, coffee, kitchen):
    product = ProductFactory(name="Kettle", sku="KET-1", category=coffee, stock=None)
    product.image.save("kettle.png", ContentFile(png().read()))
    html = client.get(edit_url(product)).content.decode()
    assert "Edit “Kettle”" in html and 'value="KET-1"' in html and product.image.url in html
    client.post(edit_url(product), product_data(kitchen, name="Kettle 1 l", sku="KET-1", slug=product.slug))
    product.refresh_from_db()
    assert (product.name, product.category, product.stock, product.image.name.startswith("products/kettle")) == (
        "Kettle 1 l",
        kitchen,
        12,
        True,
    )
    client.post(edit_url(product), product_data(kitchen, sku="KET-1", slug=product.slug, remove_image="on"))
    product.refresh_from_db()
    assert not product.image


def test_failed_edit_keeps_the_saved_name_in_the_heading(client, staff, coffee):
    product = ProductFactory(name="Kettle", sku="KET-1", category=coffee)
    html = client.post(edit_url(product), product_data(coffee, name="Kettle XL", price="-1")).content.decode()
    assert "Edit “Kettle”" in html and 'value="Kettle XL"' in html
    product.refresh_from_db()
    assert product.name == "Kettle"


def test_unknown_product_or_category_is_404(client, staff):
    for url in (
        "/backoffice/catalog/products/999999/",
        "/backoffice/catalog/products/999999/remove/",
        "/backoffice/catalog/categories/999999/",
        "/backoffice/catalog/categories/999999/remove/",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"action": "delete"}).status_code == 404, url


def test_renamed_product_shows_its_new_name_on_the_storefront(client, staff, coffee):
    product = ProductFactory(name="Alpine Mug", sku="MUG-1", category=coffee, price=Decimal("20.00"), is_featured=True)
    page = storefront("catalog:product", slug=product.slug)
    assert "Alpine Mug" in client.get(page).content.decode()  # now cached
    assert "Alpine Mug" in client.get(storefront("catalog:home")).content.decode()
    data = product_data(coffee, name="Alpine Mug XL", sku="MUG-1", slug=product.slug, price="25", is_featured="on")
    assert client.post(edit_url(product), data).status_code == 302
    html = client.get(page).content.decode()
    assert "Alpine Mug XL" in html and "CHF 25.–" in html
    assert "Alpine Mug XL" in client.get(storefront("catalog:home")).content.decode()
    client.post(remove_url(product), {"action": "deactivate"})
    assert client.get(page).status_code == 404


def test_new_category_and_hidden_category_show_on_the_storefront(client, staff, coffee):
    ProductFactory(name="Alpine Mug", category=coffee)
    assert "Coffee &amp; Tea" in client.get(storefront("catalog:home")).content.decode()
    client.post(CATEGORY_ADD, {"name": "Books", "slug": "", "position": "5", "is_active": "on"})
    assert "Books" in client.get(storefront("catalog:home")).content.decode()
    client.post(category_remove_url(coffee), {"action": "deactivate"})
    assert client.get(storefront("catalog:category", slug="coffee-tea")).status_code == 404


# --- Deactivate or delete a product ---------------------------------------------------------------------------------


def test_product_never_ordered_can_be_deleted_after_confirming(client, staff, product):
    html = client.get(remove_url(product)).content.decode()
    assert "Remove “Alpine Blend Coffee”?" in html and "Delete “Alpine Blend Coffee”" in html
    assert Product.objects.filter(pk=product.pk).exists()  # the GET only asks
    response = client.post(remove_url(product), {"action": "delete"}, follow=True)
    assert "Product “Alpine Blend Coffee” deleted." in response.content.decode()
    assert not Product.objects.filter(pk=product.pk).exists()


def test_ordered_product_can_only_be_deactivated(client, staff, place, product):
    place(product)
    html = text_of(client.get(remove_url(product)).content.decode())
    assert "This product is on 1 order." in html
    assert "A product that has been ordered can't be deleted" in html and "Delete “" not in html
    response = client.post(remove_url(product), {"action": "delete"}, follow=True)
    assert "“Alpine Blend Coffee” can't be deleted: it is on 1 order. Deactivate it instead." in text_of(
        response.content.decode()
    )
    assert Product.objects.filter(pk=product.pk, is_active=True).exists()
    response = client.post(remove_url(product), {"action": "deactivate"}, follow=True)
    assert "is deactivated: shoppers no longer see it" in response.content.decode()
    product.refresh_from_db()
    assert not product.is_active
    client.post(remove_url(product), {"action": "activate"})
    product.refresh_from_db()
    assert product.is_active


def test_remove_with_an_unknown_action_changes_nothing(client, staff, product):
    response = client.post(remove_url(product), {"action": "explode"})
    assert response.status_code == 200 and "Choose whether to deactivate or delete." in response.content.decode()
    assert Product.objects.filter(pk=product.pk, is_active=True).exists()


# --- Categories -----------------------------------------------------------------------------------------------------


def test_categories_list_counts_products_in_one_query(client, staff, coffee, kitchen, django_assert_max_num_queries):
    for i in range(3):
        ProductFactory(category=coffee, is_active=i != 0)
    CategoryFactory(name="Archive", is_active=False)
    for i in range(20):
        ProductFactory(category=CategoryFactory(name=f"More {i}", position=10 + i))
    with django_assert_max_num_queries(10):
        response = client.get(CATEGORIES)
    text = text_of(response.content.decode())
    assert "1 Coffee & Tea coffee-tea 3 products 2 active Visible" in text
    assert "2 Kitchen kitchen none Visible" in text
    assert "Archive" in text and "Hidden" in text
    assert f'href="{PRODUCTS}?category={coffee.pk}"' in response.content.decode()


def test_add_and_edit_a_category(client, staff, coffee):
    html = client.get(CATEGORY_ADD).content.decode()
    assert 'name="position" value="2"' in html  # after the last one
    response = client.post(
        CATEGORY_ADD, {"name": "Chocolate & Sweets", "slug": "", "description": "Sweet.", "position": "2"}, follow=True
    )
    assert "Category “Chocolate &amp; Sweets” added." in response.content.decode()
    category = Category.objects.get(name="Chocolate & Sweets")
    assert (category.slug, category.position, category.is_active) == ("chocolate-sweets", 2, False)
    client.post(
        category_url(category), {"name": "Sweets", "slug": "sweets", "position": "0", "is_active": "on"}, follow=True
    )
    category.refresh_from_db()
    assert (category.name, category.slug, category.position, category.is_active) == ("Sweets", "sweets", 0, True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "position": "1"}, "Enter the category's name."),
        ({"name": "X", "position": "-1"}, "Enter a whole number from 0 to 9999."),
        ({"name": "X", "position": "first"}, "Enter a whole number from 0 to 9999."),
        ({"name": "X", "slug": "coffee-tea", "position": "1"}, "Another category already uses this address."),
        ({"name": "X", "slug": "a b", "position": "1"}, "Use only lower-case letters"),
    ],
)
def test_bad_category_input_gets_a_clear_message(client, staff, coffee, data, message):
    response = client.post(CATEGORY_ADD, data)
    assert response.status_code == 200
    assert any(message in error for error in errors_of(response.content.decode()))
    assert Category.objects.count() == 1


def test_category_with_products_cant_be_deleted(client, staff, coffee):
    ProductFactory(category=coffee)
    ProductFactory(category=coffee)
    html = text_of(client.get(category_remove_url(coffee)).content.decode())
    assert "This category can't be deleted: 2 products are in it." in html and "Delete “" not in html
    response = client.post(category_remove_url(coffee), {"action": "delete"}, follow=True)
    assert "“Coffee & Tea” can't be deleted: 2 products are in it." in text_of(response.content.decode())
    assert Category.objects.filter(pk=coffee.pk).exists()
    client.post(category_remove_url(coffee), {"action": "deactivate"})
    coffee.refresh_from_db()
    assert not coffee.is_active and coffee.products.count() == 2


def test_empty_category_is_deleted_after_confirming(client, staff, kitchen):
    assert "Delete “Kitchen”" in client.get(category_remove_url(kitchen)).content.decode()
    response = client.post(category_remove_url(kitchen), {"action": "delete"}, follow=True)
    assert "Category “Kitchen” deleted." in response.content.decode()
    assert not Category.objects.exists()


# --- Navigation -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "current"),
    [
        (PRODUCTS, "Products"),
        (PRODUCT_ADD, "Products"),
        (CATEGORIES, "Categories"),
        (CATEGORY_ADD, "Categories"),
    ],
)
def test_navigation_marks_the_catalog_page(client, staff, url, current):
    html = client.get(url).content.decode()
    assert '<p class="bo-nav__section">Catalog</p>' in html
    assert re.findall(r'aria-current="page">([^<]+)<', html) == [current]


def test_catalog_root_leads_to_products(client, staff):
    response = client.get("/backoffice/catalog/")
    assert response.status_code == 302 and response["Location"] == PRODUCTS


def test_dashboard_low_stock_links_to_the_product_page(client, staff):
    product = ProductFactory(name="Last Nusstorte", stock=1)
    html = client.get("/backoffice/").content.decode()
    assert f'<a href="{edit_url(product)}">Last Nusstorte</a>' in html
