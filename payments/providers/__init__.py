"""The payment methods, one module per provider behind one small base class (``base.Provider``)."""

from payments.models import PaymentMethod

from .base import Provider, ProviderEvent, WebhookError
from .offline import BankTransfer, CashOnPickup, Invoice, PhoneOrder
from .test import TestProvider

PROVIDERS: dict[str, Provider] = {
    provider.code: provider for provider in (BankTransfer(), Invoice(), PhoneOrder(), CashOnPickup(), TestProvider())
}


def get_provider(code: str) -> Provider | None:
    return PROVIDERS.get(code)


def available_methods(store, *, pickup: bool) -> list[Provider]:
    """The methods the merchant enabled, in their order, that can be used for this checkout."""
    enabled = PaymentMethod.enabled_codes()
    return [
        PROVIDERS[code] for code in enabled if code in PROVIDERS and PROVIDERS[code].is_available(store, pickup=pickup)
    ]


__all__ = ["PROVIDERS", "Provider", "ProviderEvent", "WebhookError", "available_methods", "get_provider"]
