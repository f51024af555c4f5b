"""Storefront catalog: home, category pages, product pages, search. Query counts stay constant with the catalog size."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from .cache import cached
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


def _sorted_page(request, queryset, count=None):
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    paginator = Paginator(_cards(queryset).order_by(*SORTS[sort][1]), settings.PRODUCTS_PER_PAGE)
    if count is not None:
        paginator.count = count  # known from the cache: no COUNT query
    page = paginator.get_page(request.GET.get("page"))  # bad or out-of-range pages fall back, never a 404 or 500
    return {"page": page, "sort": sort, "sorts": [(key, label) for key, (label, _order) in SORTS.items()]}


@require_safe
def home(request):
    def build():
        available = Product.objects.available()
        return {
            "featured": list(_cards(available.filter(is_featured=True)).order_by("name")[:8]),
            "newest": list(_cards(available).order_by("-created_at", "-id")[:8]),
        }

    return render(request, "storefront/home.html", cached("home", build))


@require_safe
def category(request, slug):
    def build():
        category = Category.objects.filter(slug=slug, is_active=True).first()
        count = Product.objects.filter(category=category, is_active=True).count() if category else 0
        return (category, count)

    category, count = cached(f"category:{slug}", build)
    if category is None:
        raise Http404("No such category")
    context = _sorted_page(request, Product.objects.filter(category=category, is_active=True), count=count)
    return render(request, "storefront/category.html", {"category": category, **context})


@require_safe
def product(request, slug):
    def build():
        product = (
            Product.objects.available().select_related("category").prefetch_related("images").filter(slug=slug).first()
        )
        if product is None:
            return (None, [])
        related = _cards(
            Product.objects.filter(category_id=product.category_id, is_active=True).exclude(pk=product.pk)
        ).order_by("-is_featured", "name")[:4]
        return (product, list(related))

    product, related = cached(f"product:{slug}", build)
    if product is None:
        raise Http404("No such product")
    return render(request, "storefront/product.html", {"product": product, "related": related})


@require_safe
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
