from django.conf import settings
from django.urls import translate_url
from django.utils.functional import SimpleLazyObject

from shop.backoffice.models import Store
from shop.catalog.cache import cached, catalog_version
from shop.catalog.models import Category


def _language_links(request) -> list[tuple[str, str, str]]:
    """(code, name, URL of this page in that language) for the language switch: plain links, no form."""
    path = request.get_full_path()
    current = path.split("/", 2)[1] if path.count("/") >= 2 else ""
    codes = {code for code, _name in settings.LANGUAGES}
    if current in codes:  # storefront URLs differ only by their language prefix: swap it (cheap)
        rest = path[len(current) + 1 :]
        return [(code, str(name), f"/{code}{rest}") for code, name in settings.LANGUAGES]
    return [(code, str(name), translate_url(path, code)) for code, name in settings.LANGUAGES]


def shop(request):
    """What every storefront page shows: the store's name, the category navigation, the cart count (lazily)."""
    return {
        "store_name": Store.load().name,
        "nav_categories": cached("nav", lambda: list(Category.objects.filter(is_active=True).only("name", "slug"))),
        "catalog_version": catalog_version(),
        "language_links": SimpleLazyObject(lambda: _language_links(request)),
    }
