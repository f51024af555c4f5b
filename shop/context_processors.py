from django.conf import settings

from shop.catalog.models import Category


def shop(request):
    """What every storefront page shows: the store's name, the category navigation, the cart count (lazily)."""
    return {
        "store_name": settings.SHOP_NAME,
        "nav_categories": Category.objects.filter(is_active=True).only("name", "slug"),
    }
