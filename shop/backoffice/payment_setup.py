"""Settings → Payment, the path to live: one block per provider account (Stripe; Datatrans, whose card, TWINT and
PostFinance methods share one account; PayPal; the test provider), what its summary line says at a glance, and the
warning when two methods offered at once take the same thing (two "card" or two "TWINT" choices at checkout).

Read only: the secrets are never read out here, only whether they are set. ``check`` is the one call to a provider,
made by the view under no database lock."""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payments.providers import PROVIDERS
from payments.providers.base import ConnectionCheck, Provider

logger = logging.getLogger(__name__)

# What two methods may both take, and the sentence that says so (one per thing: the words differ by language).
OVERLAPS = {
    "card": gettext_lazy(
        "Two methods take card payments: %(methods)s. Shoppers see both at checkout; untick one unless you mean to "
        "offer both."
    ),
    "twint": gettext_lazy(
        "Two methods take TWINT: %(methods)s. Shoppers see both at checkout; untick one unless you mean to offer both."
    ),
}


def account_providers() -> dict[str, list[Provider]]:
    """The online methods by the account they belong to (its webhook's code: "stripe", "datatrans", "paypal",
    "test"), in the order of ``PROVIDERS``."""
    accounts: dict[str, list[Provider]] = {}
    for provider in PROVIDERS.values():
        if provider.is_online:
            accounts.setdefault(provider.webhook_provider, []).append(provider)
    return accounts


def method_label(provider: Provider) -> str:
    """ "Card or TWINT (Stripe)": the method as the table of methods names it."""
    if provider.brand and provider.brand != str(provider.name):
        return f"{provider.name} ({provider.brand})"
    return str(provider.name)


def api_base(provider: Provider) -> str:
    """The local stand-in the shop talks to instead of the provider (``<PROVIDER>_API_BASE``), without any
    credentials someone put into the address; "" when the shop talks to the provider itself."""
    address = (getattr(settings, f"{provider.webhook_provider.upper()}_API_BASE", "") or "").strip()
    if not address:
        return ""
    parts = urlsplit(address)
    if parts.username or parts.password:
        address = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return address


def check(key: str) -> ConnectionCheck | None:
    """Ask the provider of account ``key`` whether it takes the configured keys; None for an unknown account (or the
    test provider, which has none). A diagnosis, so whatever goes wrong in it is said, never a server error: a
    setting the provider's library can't even use (an address that is no URL, say) is logged and reported."""
    methods = account_providers().get(key)
    if not methods or methods[0].test_only:
        return None
    try:
        return methods[0].check_connection()
    except Exception:
        logger.exception("The connection check of %s failed", key)
        return ConnectionCheck(
            False, problem=_("The check failed before reaching the provider: the server's log says why.")
        )


def accounts(rows: list[dict], store, checks: dict | None = None) -> list[dict]:
    """One block per account, for the template: its state at a glance (configured, sandbox or live, the methods
    ticked in ``rows``), what to create at the provider and where each value comes from, the webhook, the steps to
    live payments, and the outcome of a connection check just made (``checks``: key → ConnectionCheck)."""
    ticked = {row["code"] for row in rows if row["enabled"]}
    checks = checks or {}
    blocks = []
    for key, methods in account_providers().items():
        provider = methods[0]
        missing = set(provider.missing_settings())
        values = [
            {"name": name, "help": text, "set": name not in missing}
            for name, text in provider.setting_help or [(name, "") for name in provider.required_settings]
        ]
        configured = provider.is_configured() and not provider.test_only
        blocks.append(
            {
                "key": key,
                "provider": provider,
                "brand": provider.brand or str(provider.name),
                "test": provider.test_only,
                "test_mode": store.test_mode,
                "configured": configured,
                "mode": provider.mode() if configured else "",
                "enabled": [str(m.name) for m in methods if m.code in ticked],
                # "Enabled: Card or TWINT", but only "Enabled" for PayPal: its one method is the provider itself
                "name_methods": len(methods) > 1 or str(provider.name) != (provider.brand or str(provider.name)),
                "values": values,
                "mode_setting": provider.mode_setting,
                "mode_value": (getattr(settings, provider.mode_setting, "") or "") if provider.mode_setting else "",
                "webhook_url": provider.webhook_url(),
                "webhook_events": tuple(provider.webhook_events),
                "api_base": api_base(provider),
                "check": checks.get(key),
            }
        )
    return blocks


def overlaps(rows: list[dict]) -> list[str]:
    """A warning for each thing two methods offered at checkout both take (enabled as ticked in ``rows``, and
    configured: a method not configured is not offered)."""
    offered = [
        row["provider"]
        for row in rows
        if row["enabled"] and not row["provider"].test_only and row["provider"].is_configured()
    ]
    warnings = []
    for thing, sentence in OVERLAPS.items():
        taking = [method_label(p) for p in offered if thing in p.offers]
        if len(taking) > 1:
            warnings.append(sentence % {"methods": get_text_list(taking, _("and"))})
    return warnings
