"""Catalog → Products · Categories: the merchant's catalog pages (staff only). Thin: parse with a form, save or call
one service, render.

Forms post back to their own page: on success we redirect with a message; on bad input the page is rendered again,
status 200, with what the merchant typed and a message at each field. Removing asks first: a product that is on an
order can only be deactivated (orders link to it), a category that still holds products can only be hidden."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods

from shop.backoffice.settings_views import CHECK_FIELDS
from shop.backoffice.views import staff_required

from . import services
from .forms import PRODUCT_SORTS, CategoryForm, ProductFilterForm, ProductForm, RemoveForm
from .models import Category, Product

PER_PAGE = 25
DEFAULT_SORT = "name"
SAVED_MEANWHILE = gettext_lazy(
    "Another product or category with the same SKU or address was saved at the same moment. Nothing has been saved: "
    "please check the fields and save again."
)


def _save(request, form, message, to):
    """Save a bound form: the redirect to ``to`` with ``message`` when it is saved, else None (the page is rendered
    again with the form's errors)."""
    if form.is_valid():
        try:
            saved = services.save_form(form)
        except IntegrityError:
            form.add_error(None, SAVED_MEANWHILE)
        else:
            messages.success(request, message % {"name": saved.name})
            return redirect(to)
    messages.error(request, CHECK_FIELDS)
    return None


@staff_required
@require_GET
def index(request):
    return redirect("backoffice:products")


# --- Products -------------------------------------------------------------------------------------------------------


def filtered_products(form: ProductFilterForm):
    """The products the filter form selects. Invalid filters are left out (the page says why), the others apply.

    The stock states don't overlap: in stock = more than LOW_STOCK_THRESHOLD, low = 1 to the threshold, sold out = 0,
    unlimited = no stock count kept."""
    form.is_valid()
    data = form.cleaned_data if form.is_bound else {}
    products = Product.objects.select_related("category").defer("description", "category__description")
    if data.get("q"):
        products = products.filter(Q(name__icontains=data["q"]) | Q(sku__icontains=data["q"]))
    if data.get("category"):
        products = products.filter(category_id=int(data["category"]))
    if data.get("status"):
        products = products.filter(is_active=data["status"] == "active")
    threshold = settings.LOW_STOCK_THRESHOLD
    stock = data.get("stock")
    if stock == "in_stock":
        products = products.filter(stock__gt=threshold)
    elif stock == "low":
        products = products.filter(stock__gte=1, stock__lte=threshold)
    elif stock == "sold_out":
        products = products.filter(stock__lte=0)
    elif stock == "unlimited":
        products = products.filter(stock__isnull=True)
    return products.order_by(*PRODUCT_SORTS[data.get("sort") or DEFAULT_SORT][1])


@staff_required
@require_GET
def product_list(request):
    categories = list(Category.objects.only("id", "name").order_by("position", "name"))
    form = ProductFilterForm(request.GET or None, categories=categories)
    products = filtered_products(form)
    for errors in form.errors.values():
        messages.error(request, errors[0])
    page = Paginator(products, PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query_string": params.urlencode(),
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")),
        "has_categories": bool(categories),
        "threshold": settings.LOW_STOCK_THRESHOLD,
    }
    return render(request, "backoffice/catalog/products.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def product_edit(request, pk=None):
    product = Product() if pk is None else get_object_or_404(Product.objects.select_related("category"), pk=pk)
    saved_state = {
        "name": product.name,
        "image": product.image,
        "in_shop": product.pk is not None and product.is_active and product.category.is_active,
        "url": product.get_absolute_url() if product.pk else "",  # before the form changes the slug it validates
    }
    if request.method == "POST":
        form = ProductForm(request.POST, request.FILES, instance=product)
    else:
        form = ProductForm(instance=product)
    if form.is_bound:
        message = _("Product “%(name)s” added.") if pk is None else _("Product “%(name)s” saved.")
        if response := _save(request, form, message, "backoffice:products"):
            return response
    context = {
        "form": form,
        "product": product,
        "saved": saved_state,  # the form changes the instance as it validates: show what is saved
        "image_again": form.is_bound and "image" in request.FILES and not form.has_error("image"),
        "has_categories": Category.objects.exists(),
    }
    return render(request, "backoffice/catalog/product_form.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def product_remove(request, pk):
    """The confirmation step before a product leaves the shop: deactivate it, or delete it if it was never ordered."""
    product = get_object_or_404(Product, pk=pk)
    form = RemoveForm(request.POST if request.method == "POST" else None)
    if form.is_bound:
        if form.is_valid():
            try:
                if form.cleaned_data["action"] == "delete":
                    name = services.delete_product(pk)
                    messages.success(request, _("Product “%(name)s” deleted.") % {"name": name})
                else:
                    active = form.cleaned_data["action"] == "activate"
                    name = services.set_product_active(pk, active).name
                    message = (
                        _("Product “%(name)s” is for sale in the shop again.")
                        if active
                        else _(
                            "Product “%(name)s” is deactivated: shoppers no longer see it. You can activate it again."
                        )
                    )
                    messages.success(request, message % {"name": name})
            except Product.DoesNotExist as error:  # deleted meanwhile, in another tab
                raise Http404 from error
            except services.InUseError as error:
                messages.error(request, _in_orders_message(product.name, error.count))
                return redirect("backoffice:product_remove", pk=pk)
            return redirect("backoffice:products")
        messages.error(request, form.errors["action"][0])
    context = {"product": product, "order_count": services.orders_with_product(product)}
    return render(request, "backoffice/catalog/product_remove.html", context)


def _in_orders_message(name: str, count: int) -> str:
    return ngettext(
        "“%(name)s” can't be deleted: it is on %(count)s order. Deactivate it instead.",
        "“%(name)s” can't be deleted: it is on %(count)s orders. Deactivate it instead.",
        count,
    ) % {"name": name, "count": count}


# --- Categories -----------------------------------------------------------------------------------------------------


@staff_required
@require_GET
def category_list(request):
    return render(request, "backoffice/catalog/categories.html", {"categories": services.categories_with_counts()})


@staff_required
@require_http_methods(["GET", "POST"])
def category_edit(request, pk=None):
    if pk is None:
        category = Category(position=services.next_category_position())
    else:
        category = get_object_or_404(Category, pk=pk)
    saved_name = category.name
    form = CategoryForm(request.POST if request.method == "POST" else None, instance=category)
    if form.is_bound:
        message = _("Category “%(name)s” added.") if pk is None else _("Category “%(name)s” saved.")
        if response := _save(request, form, message, "backoffice:categories"):
            return response
    context = {
        "form": form,
        "category": category,
        "saved_name": saved_name,
        "product_count": category.products.count() if category.pk else 0,
    }
    return render(request, "backoffice/catalog/category_form.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def category_remove(request, pk):
    """Delete an empty category; one with products can only be hidden (the page says so)."""
    category = get_object_or_404(Category, pk=pk)
    form = RemoveForm(request.POST if request.method == "POST" else None)
    if form.is_bound:
        if form.is_valid():
            action = form.cleaned_data["action"]
            try:
                if action == "delete":
                    name = services.delete_category(pk)
                    messages.success(request, _("Category “%(name)s” deleted.") % {"name": name})
                else:
                    name = services.set_category_active(pk, action == "activate").name
                    message = (
                        _("Category “%(name)s” is visible in the shop again.")
                        if action == "activate"
                        else _("Category “%(name)s” is hidden: shoppers no longer see it or its products.")
                    )
                    messages.success(request, message % {"name": name})
            except Category.DoesNotExist as error:
                raise Http404 from error
            except services.InUseError as error:
                messages.error(request, _has_products_message(category.name, error.count))
                return redirect("backoffice:category_remove", pk=pk)
            return redirect("backoffice:categories")
        messages.error(request, form.errors["action"][0])
    context = {"category": category, "product_count": category.products.count()}
    return render(request, "backoffice/catalog/category_remove.html", context)


def _has_products_message(name: str, count: int) -> str:
    return ngettext(
        "“%(name)s” can't be deleted: %(count)s product is in it. Move it to another category first, or hide "
        "the category.",
        "“%(name)s” can't be deleted: %(count)s products are in it. Move them to another category first, or hide "
        "the category.",
        count,
    ) % {"name": name, "count": count}
