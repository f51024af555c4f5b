"""The payment methods, one module per provider behind one small base class (``base.Provider``)."""

from django.utils.translation import gettext_lazy

from payments.models import PaymentMethod

from .base import (
    EventKind,
    PaymentState,
    Provider,
    ProviderError,
    ProviderEvent,
    ProviderRefund,
    Redirect,
    WebhookError,
)
from .offline import BankTransfer, CashOnPickup, Invoice, PhoneOrder
from .stripe_checkout import StripeProvider
from .test import TestProvider

PROVIDERS: dict[str, Provider] = {
    provider.code: provider
    for provider in (StripeProvider(), BankTransfer(), Invoice(), PhoneOrder(), CashOnPickup(), TestProvider())
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
    if provider is None:
        return code
    return f"{provider.brand} ({provider.name})" if provider.brand else str(provider.name)


def available_methods(store, *, pickup: bool, test: bool | None = None) -> list[Provider]:
    """The methods the merchant enabled, in their order, that can be used for this checkout: an online provider
    only when configured, the test provider only for a test order (``test``; by default, one placed now)."""
    test = store.test_mode if test is None else test
    enabled = PaymentMethod.enabled_codes()
    return [
        PROVIDERS[code]
        for code in enabled
        if code in PROVIDERS
        and PROVIDERS[code].is_available(store, pickup=pickup)
        and (test or not PROVIDERS[code].test_only)
        and (not PROVIDERS[code].is_online or PROVIDERS[code].is_configured())
    ]


__all__ = [
    "PROVIDERS",
    "RECORDED_BY_STAFF",
    "EventKind",
    "PaymentState",
    "Provider",
    "ProviderError",
    "ProviderEvent",
    "ProviderRefund",
    "Redirect",
    "WebhookError",
    "available_methods",
    "get_provider",
    "provider_label",
]
