"""PayPal, through Orders v2 with PayPal's official ``paypal-server-sdk``. Being written (issue #12)."""

from django.utils.translation import gettext_lazy

from .base import Provider


class PayPalProvider(Provider):
    code = "paypal"
    brand = "PayPal"
    name = gettext_lazy("PayPal")
    description = gettext_lazy("Pay with your PayPal account.")
    is_online = True
    check_on_return = True
    required_settings = ("PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PAYPAL_WEBHOOK_ID")

    def is_available(self, store, *, pickup: bool) -> bool:
        return self.is_configured()
