from shop.backoffice.models import Store
from shop.catalog.cache import cached, catalog_version
from shop.catalog.models import Category


def shop(request):
    """What every storefront page shows: the store's name, the category navigation, the cart count (lazily)."""
    return {
        "store_name": Store.load().name,
        "nav_categories": cached("nav", lambda: list(Category.objects.filter(is_active=True).only("name", "slug"))),
        "catalog_version": catalog_version(),
    }
