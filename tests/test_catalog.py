from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from shop.catalog.models import Product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def url(name, lang="en", **kwargs):
    with translation.override(lang):
        return reverse(name, kwargs=kwargs or None)


def test_root_redirects_to_the_shoppers_language(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-CH,fr;q=0.9")
    assert response.status_code == 302
    assert response["Location"] == "/fr/"
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="de-CH").headers["Location"] == "/de/"


def test_home_shows_featured_products_and_categories(client):
    featured = ProductFactory(name="Fondue Set", is_featured=True, price="129")
    hidden = ProductFactory(name="Hidden Thing", is_featured=True, is_active=False)
    response = client.get(url("catalog:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Featured products" in html
    assert featured.name in html and "CHF 129.–" in html
    assert featured.category.name in html
    assert hidden.name not in html


def test_category_page_sorts_and_paginates(client, settings):
    settings.PRODUCTS_PER_PAGE = 2
    cat = CategoryFactory(name="Coffee")
    ProductFactory(category=cat, name="Bravo", price="20")
    ProductFactory(category=cat, name="Alpha", price="30")
    ProductFactory(category=cat, name="Charlie", price="10")
    ProductFactory(name="Elsewhere")
    page1 = client.get(url("catalog:category", slug=cat.slug), {"sort": "price"}).content.decode()
    assert page1.index("Charlie") < page1.index("Bravo")
    assert "Alpha" not in page1 and "Elsewhere" not in page1
    assert "3 products" in page1 and "Page 1 of 2" in page1
    page2 = client.get(url("catalog:category", slug=cat.slug), {"sort": "price", "page": 2}).content.decode()
    assert "Alpha" in page2
    by_name = client.get(url("catalog:category", slug=cat.slug), {"sort": "name"}).content.decode()
    assert by_name.index("Alpha") < by_name.index("Bravo")
    desc = client.get(url("catalog:category", slug=cat.slug), {"sort": "-price"}).content.decode()
    assert desc.index("Alpha") < desc.index("Bravo")


@pytest.mark.parametrize("params", [{"page": "abc"}, {"page": "99999"}, {"page": "-1"}, {"sort": "drop table"}])
def test_category_page_tolerates_bad_parameters(client, params):
    product = ProductFactory()
    response = client.get(url("catalog:category", slug=product.category.slug), params)
    assert response.status_code == 200
    assert product.name in response.content.decode()


def test_unknown_or_inactive_category_is_404(client):
    assert client.get(url("catalog:category", slug="nope")).status_code == 404
    inactive = CategoryFactory(is_active=False)
    assert client.get(url("catalog:category", slug=inactive.slug)).status_code == 404


@pytest.mark.parametrize(
    ("stock", "shown"),
    [(None, "In stock"), (30, "In stock"), (3, "Only 3 left"), (1, "Only 1 left"), (0, "Sold out")],
)
def test_product_page_shows_price_and_stock_state(client, stock, shown):
    product = ProductFactory(name="Enamel Mug", price=Decimal("1234.50"), stock=stock, description="Numbered.")
    html = client.get(product.get_absolute_url()).content.decode()
    assert "Enamel Mug" in html and "CHF 1’234.50" in html and "Numbered." in html
    assert shown in html
    assert ("Add to cart" in html) is (stock != 0)


def test_inactive_product_is_404(client):
    product = ProductFactory(is_active=False)
    assert client.get(product.get_absolute_url()).status_code == 404


def test_search_finds_name_sku_and_description(client):
    ProductFactory(name="Dark Chocolate", sku="CHO-1")
    ProductFactory(name="Teapot", sku="KIT-77", description="Holds a litre of tea.")
    ProductFactory(name="Mystery", sku="ZZZ-9", is_active=False)
    search = url("catalog:search")
    assert "Dark Chocolate" in client.get(search, {"q": "chocolate"}).content.decode()
    assert "Teapot" in client.get(search, {"q": "kit-77"}).content.decode()
    assert "Teapot" in client.get(search, {"q": "LITRE"}).content.decode()
    assert "Mystery" not in client.get(search, {"q": "ZZZ"}).content.decode()
    assert "No products match" in client.get(search, {"q": "nothing-like-it"}).content.decode()


@pytest.mark.parametrize("q", ["", "   ", "x" * 5000, "%", "'; drop table x; --", "\u0000"])
def test_search_tolerates_any_query(client, q):
    assert client.get(url("catalog:search"), {"q": q}).status_code == 200


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        ("fr", ["Ajouter au panier", "Panier", "CHF 1’234.50"]),
        ("de", ["In den Warenkorb", "Warenkorb", "CHF 1’234.50"]),
        ("en", ["Add to cart", "Cart", "CHF 1’234.50"]),
    ],
)
def test_product_page_renders_in_each_language(client, lang, texts):
    product = ProductFactory(price="1234.50")
    html = client.get(url("catalog:product", lang=lang, slug=product.slug)).content.decode()
    assert f'<html lang="{lang}">' in html
    for text in texts:
        assert text in html


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_no_english_left_on_storefront_pages(client, lang):
    product = ProductFactory(stock=2, is_featured=True)
    pages = [
        url("catalog:home", lang),
        url("catalog:category", lang, slug=product.category.slug),
        url("catalog:product", lang, slug=product.slug),
        url("catalog:search", lang) + "?q=Product",
        url("cart:detail", lang),
    ]
    english = ["Add to cart", "Sort by", "Featured products", "Only 2 left", "Your cart is empty", "Search products"]
    for page in pages:
        html = client.get(page).content.decode()
        for text in english:
            assert text not in html, (page, text)


def test_language_switch_keeps_the_page(client):
    product = ProductFactory()
    html = client.get(url("catalog:category", "de", slug=product.category.slug) + "?sort=price&page=1").content.decode()
    assert f'href="/fr/c/{product.category.slug}/?sort=price&amp;page=1" lang="fr"' in html
    assert f'href="/en/c/{product.category.slug}/?sort=price&amp;page=1" lang="en"' in html
    assert 'lang="de" hreflang="de" class="lang lang--current" aria-current="true"' in html


@pytest.fixture
def big_catalog(db):
    cat = CategoryFactory(name="Big", slug="big")
    Product.objects.bulk_create(
        Product(
            category=cat,
            name=f"Bulk product {i}",
            slug=f"bulk-{i}",
            sku=f"BULK-{i:05d}",
            price=Decimal(i % 200) + Decimal("0.50"),
            stock=i % 7,
            description="Searchable bulk item",
        )
        for i in range(1000)
    )
    return cat


@pytest.mark.parametrize("sort", ["newest", "price", "-price", "name"])
def test_category_page_queries_do_not_grow_with_the_catalog(client, big_catalog, django_assert_max_num_queries, sort):
    client.post(url("cart:add"), {"product": Product.objects.first().pk, "quantity": 1})  # with a cart cookie too
    with django_assert_max_num_queries(8):
        response = client.get(url("catalog:category", slug="big"), {"sort": sort, "page": 3})
    assert response.status_code == 200
    assert response.content.decode().count('class="card"') == 24


def test_search_queries_do_not_grow_with_the_catalog(client, big_catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = client.get(url("catalog:search"), {"q": "bulk", "page": 2})
    assert response.status_code == 200
    assert "1000 products found" in response.content.decode()


def test_home_and_product_queries_are_bounded(client, big_catalog, django_assert_max_num_queries):
    Product.objects.filter(pk__in=Product.objects.values("pk")[:20]).update(is_featured=True)
    with django_assert_max_num_queries(8):
        assert client.get(url("catalog:home")).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(url("catalog:product", slug="bulk-5")).status_code == 200


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_cached_pages_show_changes_at_once(client):
    """Storefront fragments are cached per catalog version: a change to a product or its stock shows at once."""
    product = ProductFactory(name="Alpine Mug", price="20.00", stock=10, is_featured=True)
    category_url = url("catalog:category", slug=product.category.slug)
    assert "CHF 20.–" in client.get(product.get_absolute_url()).content.decode()
    assert "In stock" in client.get(category_url).content.decode()
    product.price = Decimal("25.00")
    product.save()
    assert "CHF 25.–" in client.get(product.get_absolute_url()).content.decode()
    assert "CHF 25.–" in client.get(url("catalog:home")).content.decode()
    ProductFactory(category=product.category, name="Second Mug")
    assert "2 products" in client.get(category_url).content.decode()


def test_stock_taken_by_an_order_shows_on_cached_pages(client, place, django_capture_on_commit_callbacks):
    product = ProductFactory(name="Last Nusstorte", stock=3)
    assert "Only 3 left" in client.get(product.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        place(product, 3)
    html = client.get(product.get_absolute_url()).content.decode()
    assert "Sold out" in html and "Add to cart" not in html
    assert "Sold out" in client.get(url("catalog:category", slug=product.category.slug)).content.decode()
