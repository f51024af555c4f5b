"""Storefront catalog: home, category pages, product pages, search. Query counts stay constant with the catalog size."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from .models import Category, Product

SORTS = {
    "newest": (_("Newest"), ("-created_at", "-id")),
    "price": (_("Price: low to high"), ("price", "id")),
    "-price": (_("Price: high to low"), ("-price", "-id")),
    "name": (_("Name: A to Z"), ("name", "id")),
}
DEFAULT_SORT = "newest"
SEARCH_MAX_LENGTH = 100

# The card needs no description: leave the longest column out of list queries.
CARD_FIELDS = ("id", "name", "slug", "price", "stock", "image", "category_id", "created_at")


def _cards(queryset):
    return queryset.only(*CARD_FIELDS)


def _sorted_page(request, queryset):
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    paginator = Paginator(_cards(queryset).order_by(*SORTS[sort][1]), settings.PRODUCTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))  # bad or out-of-range pages fall back, never a 404 or 500
    return {"page": page, "sort": sort, "sorts": [(key, label) for key, (label, _order) in SORTS.items()]}


@require_GET
def home(request):
    available = Product.objects.available()
    return render(
        request,
        "storefront/home.html",
        {
            "featured": list(_cards(available.filter(is_featured=True)).order_by("name")[:8]),
            "newest": list(_cards(available).order_by("-created_at", "-id")[:8]),
        },
    )


@require_GET
def category(request, slug):
    category = get_object_or_404(Category, slug=slug, is_active=True)
    context = _sorted_page(request, Product.objects.filter(category=category, is_active=True))
    return render(request, "storefront/category.html", {"category": category, **context})


@require_GET
def product(request, slug):
    product = get_object_or_404(
        Product.objects.available().select_related("category").prefetch_related("images"), slug=slug
    )
    related = list(
        _cards(Product.objects.filter(category_id=product.category_id, is_active=True).exclude(pk=product.pk)).order_by(
            "-is_featured", "name"
        )[:4]
    )
    return render(request, "storefront/product.html", {"product": product, "related": related})


@require_GET
def search(request):
    # Control characters (NUL among them, which PostgreSQL refuses) are dropped; white space is folded.
    raw = "".join(ch for ch in request.GET.get("q", "") if ch.isprintable() or ch.isspace())
    query = " ".join(raw.split())[:SEARCH_MAX_LENGTH]
    context = {"query": query, "too_short": False}
    if query:
        products = Product.objects.available().filter(
            Q(name__icontains=query)
            | Q(sku__iexact=query)
            | Q(sku__istartswith=query)
            | Q(description__icontains=query)
        )
        context.update(_sorted_page(request, products))
    return render(request, "storefront/search.html", context)
