from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shop.form_fields import Form


def _quantity_message() -> str:
    return gettext("Please enter a quantity between 1 and %(max)d.") % {"max": settings.CART_MAX_QUANTITY}


# Translated when shown, not when this module is imported (a lazy string formatted at import would be frozen in the
# language active at that moment).
QUANTITY_MESSAGE = lazy(_quantity_message, str)()


def quantity_field(required=True):
    limit = settings.CART_MAX_QUANTITY
    message = QUANTITY_MESSAGE
    return forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=limit,
        required=required,
        error_messages={"invalid": message, "min_value": message, "max_value": message, "required": message},
    )


class AddToCartForm(Form):
    product = forms.IntegerField(
        min_value=1,
        max_value=2**62,
        error_messages={
            "invalid": _("Sorry, this product is not available."),
            "min_value": _("Sorry, this product is not available."),
            "max_value": _("Sorry, this product is not available."),
            "required": _("Sorry, this product is not available."),
        },
    )
    quantity = quantity_field(required=False)

    def clean_quantity(self):
        return self.cleaned_data.get("quantity") or 1


class LineForm(Form):
    line = forms.IntegerField(
        min_value=1,
        max_value=2**62,
        error_messages={
            key: _("This item is no longer in your cart.") for key in ("invalid", "min_value", "max_value", "required")
        },
    )


class UpdateLineForm(LineForm):
    quantity = quantity_field()


def first_error(form) -> str:
    """The message to show for an invalid form: its first error, as the shopper should read it."""
    for errors in form.errors.values():
        return str(errors[0])
    return ""


PERIODS = (7, 30, 90, 365)  # days the "Recovered sales" summary can look back
DEFAULT_PERIOD = 30


class AbandonedCartFilterForm(Form):
    """Sales → Abandoned carts: which carts, an e-mail to search for, and the period of the recovered sales (an invalid
    filter shows the default)."""

    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("abandoned", _("To win back")),
            ("reminded", _("Reminded")),
            ("not_reminded", _("Not reminded yet")),
            ("recovered", _("Recovered")),
            ("ordered", _("Ordered later")),
        ],
    )
    q = forms.CharField(label=_("E-mail"), required=False, max_length=254)
    period = forms.TypedChoiceField(
        label=_("Period"),
        required=False,
        coerce=int,
        empty_value=DEFAULT_PERIOD,
        choices=[
            (7, _("Last 7 days")),
            (30, _("Last 30 days")),
            (90, _("Last 90 days")),
            (365, _("Last 365 days")),
        ],
    )


class ReminderForm(Form):
    """An abandoned cart's page → "Send reminder": the merchant's words above the items (prefilled, editable)."""

    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Shown above the items and the link to the cart. Leave it empty for the standard text."),
    )
