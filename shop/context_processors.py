from shop.backoffice.models import Store
from shop.catalog.models import Category


def shop(request):
    """What every storefront page shows: the store's name, the category navigation, the cart count (lazily)."""
    return {
        "store_name": Store.load().name,
        "nav_categories": Category.objects.filter(is_active=True).only("name", "slug"),
    }
