"""Datatrans (cards, TWINT, PostFinance) through its Payment Page, with a small httpx client of our own.

Being written (issue #12): three checkout methods share one provider class and one webhook URL."""

from django.utils.translation import gettext_lazy

from .base import Provider


class DatatransProvider(Provider):
    brand = "Datatrans"
    is_online = True
    webhook_code = "datatrans"
    required_settings = ("DATATRANS_MERCHANT_ID", "DATATRANS_PASSWORD", "DATATRANS_HMAC_KEY")

    def __init__(self, code: str, name, description, methods: tuple[str, ...]):
        self.code, self.name, self.description, self.methods = code, name, description, methods

    def is_available(self, store, *, pickup: bool) -> bool:
        return self.is_configured()


DATATRANS_METHODS = (
    DatatransProvider(
        "datatrans_card",
        gettext_lazy("Card"),
        gettext_lazy("Visa, Mastercard or American Express on Datatrans's secure page."),
        ("VIS", "ECA", "AMX"),
    ),
    DatatransProvider("datatrans_twint", gettext_lazy("TWINT"), gettext_lazy("Pay with the TWINT app."), ("TWI",)),
    DatatransProvider(
        "datatrans_postfinance",
        gettext_lazy("PostFinance"),
        gettext_lazy("Pay with PostFinance Pay or your PostFinance Card."),
        ("PFC",),
    ),
)
