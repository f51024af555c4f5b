"""The payment methods, one module per provider behind one small base class (``base.Provider``)."""

from django.utils.translation import gettext_lazy

from payments.models import PaymentMethod

from .base import Provider, ProviderEvent, WebhookError
from .offline import BankTransfer, CashOnPickup, Invoice, PhoneOrder
from .test import TestProvider

PROVIDERS: dict[str, Provider] = {
    provider.code: provider for provider in (BankTransfer(), Invoice(), PhoneOrder(), CashOnPickup(), TestProvider())
}


def get_provider(code: str) -> Provider | None:
    return PROVIDERS.get(code)


# The provider code of money the merchant records for an order that was to be paid online (the shopper paid by bank
# transfer after all, say): a payment of its own, never the online attempt that a webhook may still confirm.
RECORDED_BY_STAFF = "manual"


def provider_label(code: str) -> str:
    """The name people read for a payment's provider code (never the code itself)."""
    if code == RECORDED_BY_STAFF:
        return str(gettext_lazy("Recorded by staff"))
    provider = PROVIDERS.get(code)
    return str(provider.name) if provider else code


def available_methods(store, *, pickup: bool) -> list[Provider]:
    """The methods the merchant enabled, in their order, that can be used for this checkout."""
    enabled = PaymentMethod.enabled_codes()
    return [
        PROVIDERS[code] for code in enabled if code in PROVIDERS and PROVIDERS[code].is_available(store, pickup=pickup)
    ]


__all__ = [
    "PROVIDERS",
    "RECORDED_BY_STAFF",
    "Provider",
    "ProviderEvent",
    "WebhookError",
    "available_methods",
    "get_provider",
    "provider_label",
]
