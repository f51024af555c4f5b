"""The merchant's catalog actions (back office Catalog → Products · Categories): one function per action, each in one
transaction. Views validate the input with the forms in ``forms.py``, then call one of these.

Storefront pages are cached per catalog version (``cache.py``). Every write here goes through ``save()`` or
``delete()``, never ``QuerySet.update()``, so the model signals bump the version; it is bumped once more when the
transaction commits, so that a storefront request which read the old rows while we were writing can't keep serving
them under the new version.
"""

from django.db import transaction
from django.db.models import Count, ProtectedError, Q

from .cache import bump_catalog_version
from .models import Category, Product


class InUseError(Exception):
    """The row is still needed elsewhere and can't be deleted; ``count`` says by how many."""

    def __init__(self, count: int):
        super().__init__(count)
        self.count = count


def _bump_on_commit() -> None:
    transaction.on_commit(bump_catalog_version)


@transaction.atomic
def save_form(form):
    """Save a valid ProductForm or CategoryForm (new row or change) and return the row."""
    saved = form.save()
    _bump_on_commit()
    return saved


# --- Products -------------------------------------------------------------------------------------------------------


def orders_with_product(product: Product) -> int:
    """On how many orders the product is (order lines keep a link to it)."""
    return product.order_lines.values("order_id").distinct().count()


@transaction.atomic
def set_product_active(pk: int, active: bool) -> Product:
    """Put a product on sale again, or take it out of the shop (it stays in the back office and on past orders).
    Raises Product.DoesNotExist for an unknown pk."""
    product = Product.objects.select_for_update().get(pk=pk)
    if product.is_active != active:
        product.is_active = active
        product.save(update_fields=["is_active", "updated_at"])
    _bump_on_commit()
    return product


@transaction.atomic
def delete_product(pk: int) -> str:
    """Delete a product that was never ordered; returns its name. A product on an order is refused with InUseError
    (deactivate it instead): orders link to their products. Carts holding it lose the line.

    The row is locked first, so an order being placed for it at the same moment either finishes before (and we
    refuse) or waits for the delete (and then finds the product gone)."""
    product = Product.objects.select_for_update().get(pk=pk)
    count = orders_with_product(product)
    if count:
        raise InUseError(count)
    name = product.name
    product.delete()
    _bump_on_commit()
    return name


# --- Categories -----------------------------------------------------------------------------------------------------


def categories_with_counts():
    """All categories, each with ``product_count`` and ``active_count`` (one query)."""
    return Category.objects.annotate(
        product_count=Count("products"),
        active_count=Count("products", filter=Q(products__is_active=True)),
    ).order_by("position", "name")


def next_category_position() -> int:
    last = Category.objects.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


@transaction.atomic
def set_category_active(pk: int, active: bool) -> Category:
    """Show a category (and its active products) in the shop again, or hide it with all its products.
    Raises Category.DoesNotExist for an unknown pk."""
    category = Category.objects.select_for_update().get(pk=pk)
    if category.is_active != active:
        category.is_active = active
        category.save(update_fields=["is_active"])
    _bump_on_commit()
    return category


@transaction.atomic
def delete_category(pk: int) -> str:
    """Delete an empty category; returns its name. A category with products is refused with InUseError (move or
    delete its products first). Raises Category.DoesNotExist for an unknown pk."""
    category = Category.objects.select_for_update().get(pk=pk)
    count = category.products.count()
    if count:
        raise InUseError(count)
    name = category.name
    try:
        category.delete()
    except ProtectedError as error:  # a product was added in between
        raise InUseError(category.products.count()) from error
    _bump_on_commit()
    return name
