"""The payment methods, one module per provider behind one small base class (``base.Provider``)."""

from typing import NamedTuple

from django.utils.translation import gettext_lazy

from payments.models import PaymentMethod
from shop.money import store_currency, to_minor

from .base import (
    EventKind,
    PaymentState,
    Provider,
    ProviderError,
    ProviderEvent,
    ProviderRefund,
    ProviderUnreachable,
    Redirect,
    WebhookError,
)
from .datatrans import DATATRANS_METHODS
from .offline import BankTransfer, CashOnPickup, Invoice, PhoneOrder
from .paypal import PayPalProvider
from .stripe_checkout import StripeProvider
from .test import TestProvider

PROVIDERS: dict[str, Provider] = {
    provider.code: provider
    for provider in (
        StripeProvider(),
        *DATATRANS_METHODS,
        PayPalProvider(),
        BankTransfer(),
        Invoice(),
        PhoneOrder(),
        CashOnPickup(),
        TestProvider(),
    )
}


def get_provider(code: str) -> Provider | None:
    return PROVIDERS.get(code)


def webhook_receiver(code: str) -> Provider | None:
    """The provider that verifies and parses the webhooks of ``/webhooks/<code>/`` (Datatrans's three methods share
    one URL: any of them reads its events)."""
    return next((p for p in PROVIDERS.values() if p.is_online and p.webhook_provider == code), None)


def webhook_methods(code: str) -> list[str]:
    """The method codes whose payments the events of ``/webhooks/<code>/`` are about."""
    return [p.code for p in PROVIDERS.values() if p.is_online and p.webhook_provider == code]


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
    if not provider.brand or provider.brand == str(provider.name):  # "PayPal", not "PayPal (PayPal)"
        return str(provider.name)
    return f"{provider.brand} ({provider.name})"


class Offer(NamedTuple):
    """A method this checkout can show, and why it can't take the amount to pay ("" when it can)."""

    method: Provider
    refusal: str = ""


def method_offers(store, *, pickup: bool, test: bool | None = None, amount=None, currency: str = "") -> list[Offer]:
    """The methods the merchant enabled, in their order, that can be used for this checkout: an online provider
    only when configured, the test provider only for a test order (``test``; by default, one placed now). When the
    ``amount`` to pay is known (a Decimal), each says why it can't take it ("TWINT takes payments up to CHF
    5’000.–"), or "" when it can: checkout shows such a method as unavailable, with the reason."""
    test = store.test_mode if test is None else test
    enabled = PaymentMethod.enabled_codes()
    minor = to_minor(amount) if amount is not None else None
    currency = currency or store_currency()
    return [
        Offer(PROVIDERS[code], PROVIDERS[code].refusal(minor, currency) if minor is not None else "")
        for code in enabled
        if code in PROVIDERS
        and PROVIDERS[code].is_available(store, pickup=pickup)
        and (test or not PROVIDERS[code].test_only)
        and (not PROVIDERS[code].is_online or PROVIDERS[code].is_configured())
    ]


def available_methods(
    store, *, pickup: bool, test: bool | None = None, amount=None, currency: str = ""
) -> list[Provider]:
    """The methods of ``method_offers`` that can take the amount (all of them when it is not known)."""
    offers = method_offers(store, pickup=pickup, test=test, amount=amount, currency=currency)
    return [offer.method for offer in offers if not offer.refusal]


__all__ = [
    "PROVIDERS",
    "RECORDED_BY_STAFF",
    "EventKind",
    "Offer",
    "PaymentState",
    "Provider",
    "ProviderError",
    "ProviderEvent",
    "ProviderRefund",
    "ProviderUnreachable",
    "Redirect",
    "WebhookError",
    "available_methods",
    "get_provider",
    "method_offers",
    "provider_label",
    "webhook_methods",
    "webhook_receiver",
]
