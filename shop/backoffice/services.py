"""The merchant's settings actions (Settings → General · Payment · Shipping): one function per action, each in one
transaction. Views parse and validate the input with the forms in ``forms.py``, then call exactly one of these.

Checkout reads the store, the payment methods and the shipping methods from the cache; the models' ``save()`` and
``delete()`` clear it. Every write here goes through them, never through ``QuerySet.update()``, and the cache is cleared
once more when the transaction commits, so that a checkout which read the old rows while we were writing can't put a
stale copy back into the cache for its five minutes.
"""

from django.core.cache import cache
from django.db import transaction

from orders.models import Order
from payments.models import PaymentMethod
from payments.providers import PROVIDERS
from shop.checkout.models import ShippingMethod

from .models import Store

STORE_GENERAL_FIELDS = (
    "name",
    "logo",
    "email",
    "phone",
    "street",
    "postcode",
    "city",
    "country",
    "vat_number",
    "test_mode",
    "zero_total_status",
    "plan",
)
STORE_PAYMENT_FIELDS = (
    "bank_account_holder",
    "bank_iban",
    "bank_name",
    "bank_instructions",
    "invoice_terms",
    "datatrans_auto_settle",
)
SHIPPING_FIELDS = ("name", "kind", "price", "free_above", "pickup_address", "is_active", "position")


def _clear_cache_on_commit(key: str) -> None:
    transaction.on_commit(lambda: cache.delete(key))


@transaction.atomic
def update_store(store_data: dict) -> Store:
    """Change the store's settings (any of the General and Payment fields); the others stay as they are."""
    unknown = set(store_data) - set(STORE_GENERAL_FIELDS) - set(STORE_PAYMENT_FIELDS)
    if unknown:
        raise ValueError(f"not a store setting: {', '.join(sorted(unknown))}")
    store = Store.objects.select_for_update().filter(pk=1).first() or Store(pk=1)
    for name, value in store_data.items():
        setattr(store, name, value)
    store.save()
    _clear_cache_on_commit(Store.CACHE_KEY)
    return store


def ordered_payment_codes(order_of_codes=()) -> list[str]:
    """Every provider's code once: those given first, in their order (unknown ones and repeats dropped), then the
    rest in their saved order (providers without a row yet last)."""
    saved = [code for code in PaymentMethod.objects.values_list("code", flat=True) if code in PROVIDERS]
    result: list[str] = []
    for code in [*order_of_codes, *saved, *PROVIDERS]:
        if code in PROVIDERS and code not in result:
            result.append(code)
    return result


@transaction.atomic
def set_payment_methods(order_of_codes, enabled_codes) -> list[PaymentMethod]:
    """Offer the providers in ``enabled_codes``, in the order of ``order_of_codes``; every provider gets a row."""
    enabled = set(enabled_codes)
    rows = {m.code: m for m in PaymentMethod.objects.select_for_update().order_by("pk")}
    result = []
    for position, code in enumerate(ordered_payment_codes(order_of_codes)):
        method = rows.get(code) or PaymentMethod(code=code)
        if method.pk is None or (method.position, method.is_enabled) != (position, code in enabled):
            method.position, method.is_enabled = position, code in enabled
            method.save()
        result.append(method)
    _clear_cache_on_commit(PaymentMethod.CACHE_KEY)
    return result


@transaction.atomic
def save_payment_settings(order_of_codes, enabled_codes, bank_data: dict) -> Store:
    """Settings → Payment in one go: the methods offered and their order, the bank details and the invoice terms."""
    unknown = set(bank_data) - set(STORE_PAYMENT_FIELDS)
    if unknown:
        raise ValueError(f"not a payment setting: {', '.join(sorted(unknown))}")
    set_payment_methods(order_of_codes, enabled_codes)
    return update_store(bank_data)


def next_shipping_position() -> int:
    last = ShippingMethod.objects.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


@transaction.atomic
def save_shipping_method(data: dict, pk: int | None = None) -> ShippingMethod:
    """Create a shipping method (``pk`` None) or change one. Raises ShippingMethod.DoesNotExist for an unknown pk."""
    unknown = set(data) - set(SHIPPING_FIELDS)
    if unknown:
        raise ValueError(f"not a shipping method field: {', '.join(sorted(unknown))}")
    method = ShippingMethod() if pk is None else ShippingMethod.objects.select_for_update().get(pk=pk)
    for name, value in data.items():
        setattr(method, name, value)
    method.save()
    _clear_cache_on_commit(ShippingMethod.CACHE_KEY)
    return method


def orders_using_shipping_method(pk: int) -> int:
    """How many orders were placed with this method (shown before deleting it)."""
    return Order.objects.filter(shipping_method_id=pk).count()


def is_only_active_shipping_method(method: ShippingMethod) -> bool:
    """True when no other method is offered at checkout (removing this one leaves shoppers without shipping)."""
    return method.is_active and not ShippingMethod.objects.filter(is_active=True).exclude(pk=method.pk).exists()


@transaction.atomic
def set_shipping_method_active(pk: int, active: bool) -> ShippingMethod:
    """Offer a method at checkout again, or stop offering it (it stays in the list and in past orders)."""
    method = ShippingMethod.objects.select_for_update().get(pk=pk)
    if method.is_active != active:
        method.is_active = active
        method.save()
    _clear_cache_on_commit(ShippingMethod.CACHE_KEY)
    return method


@transaction.atomic
def delete_shipping_method(pk: int) -> str:
    """Delete a method for good; returns its name. Orders placed with it keep their snapshot (name, cost, pickup
    address): ``Order.shipping_method`` is set to NULL."""
    method = ShippingMethod.objects.select_for_update().get(pk=pk)
    name = method.name
    method.delete()
    _clear_cache_on_commit(ShippingMethod.CACHE_KEY)
    return name
