import re

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import COUNTRIES
from shop.form_fields import Form

ADDRESS_FIELDS = ("name", "company", "street", "postcode", "city", "country")
POSTCODE = {"CH": r"[1-9]\d{3}", "LI": r"94\d{2}", "DE": r"\d{5}", "AT": r"\d{4}", "FR": r"\d{5}", "IT": r"\d{5}"}


# Each address field says what it holds (HTML autofill tokens), in its section ("shipping" or "billing"), so that
# browsers and password managers fill both addresses correctly: name → (label, max length, autofill token).
_ADDRESS_TEXT = {
    "name": (_("Full name"), 120, "name"),
    "company": (_("Company (optional)"), 120, "organization"),
    "street": (_("Street and number"), 200, "street-address"),
    "postcode": (_("Postcode"), 12, "postal-code"),
    "city": (_("City"), 100, "address-level2"),
}


def _address_field(section, name):
    if name == "country":
        return forms.ChoiceField(
            label=_("Country"),
            choices=COUNTRIES,
            initial="CH",
            required=False,
            widget=forms.Select({"autocomplete": f"{section} country"}),
        )
    label, max_length, token = _ADDRESS_TEXT[name]
    attrs = {"autocomplete": f"{section} {token}"}
    if name == "postcode":
        attrs["inputmode"] = "numeric"  # digits in every country we deliver to (POSTCODE): a phone's number pad
    return forms.CharField(label=label, max_length=max_length, required=False, widget=forms.TextInput(attrs))


class EmailForm(Form):
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput({"autocomplete": "email"}),
        error_messages={
            "required": _("Please enter your e-mail address."),
            "invalid": _("Please enter a valid e-mail address."),
        },
    )


class CheckoutForm(EmailForm):
    """Everything the Order button sends. Which parts are required depends on the cart and the chosen methods."""

    # Asked only when Settings → Email says so (``asks_consent``); unticked until the shopper ticks it.
    reminder_consent = forms.BooleanField(
        label=_("Remind me by e-mail if I don't finish my order"), required=False, initial=False
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=40,
        required=False,
        widget=forms.TextInput({"type": "tel", "autocomplete": "tel"}),
    )
    shipping_name, shipping_company, shipping_street, shipping_postcode, shipping_city, shipping_country = (
        _address_field("shipping", name) for name in ADDRESS_FIELDS
    )
    shipping_method = forms.TypedChoiceField(label=_("Shipping method"), coerce=int, required=False, empty_value=None)
    billing_same = forms.BooleanField(label=_("Billing address same as shipping address"), required=False, initial=True)
    billing_name, billing_company, billing_street, billing_postcode, billing_city, billing_country = (
        _address_field("billing", name) for name in ADDRESS_FIELDS
    )
    payment_method = forms.ChoiceField(
        label=_("Payment method"),
        error_messages={
            "required": _("Please choose a payment method."),
            "invalid_choice": _("Please choose one of the payment methods offered for this delivery."),
        },
    )

    # The fields in the order the page shows them: after a failed submit the first one with an error gets the focus.
    PAGE_ORDER = (
        "email",
        "reminder_consent",
        "phone",
        "shipping_method",
        *(f"shipping_{name}" for name in ADDRESS_FIELDS),
        "billing_same",
        *(f"billing_{name}" for name in ADDRESS_FIELDS),
        "payment_method",
    )

    def __init__(self, *args, requires_shipping: bool, shipping_methods, payment_methods, asks_consent=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not asks_consent:
            del self.fields["reminder_consent"]
        self.requires_shipping = requires_shipping
        self.shipping_methods = {m.pk: m for m in shipping_methods}
        self.fields["shipping_method"].choices = [(m.pk, m.name) for m in shipping_methods]
        self.fields["payment_method"].choices = [(p.code, p.name) for p in payment_methods]
        if not requires_shipping:
            self.fields["billing_same"].initial = False

    @property
    def first_invalid(self) -> str | None:
        """The name of the first field, in page order, that has an error (None when the form is valid or unbound)."""
        return next((name for name in self.PAGE_ORDER if name in self.errors), None)

    def full_clean(self):
        super().full_clean()
        # Server-rendered focus for the shopper who submitted with errors: the browser moves to the first field in
        # need (scrolled clear of the sticky header by scroll-padding-top), and its aria-describedby reads the error.
        # The radio groups are rendered by the template, which puts autofocus on them itself.
        name = self.first_invalid
        if name and name not in ("shipping_method", "payment_method"):
            self.fields[name].widget.attrs["autofocus"] = True

    @property
    def chosen_shipping_method(self):
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return self.shipping_methods.get(data.get("shipping_method"))

    def address_needed(self, prefix: str, data: dict) -> bool:
        if prefix == "shipping":
            method = self.shipping_methods.get(data.get("shipping_method"))
            return self.requires_shipping and not (method and method.is_pickup)
        return not (self.address_needed("shipping", data) and data.get("billing_same"))

    def clean(self):
        data = super().clean()
        if self.requires_shipping and data.get("shipping_method") is None and "shipping_method" not in self.errors:
            self.add_error("shipping_method", _("Please choose a shipping method."))
        for prefix in ("shipping", "billing"):
            if not self.address_needed(prefix, data):
                continue
            required = {
                "name": _("Please enter your full name."),
                "street": _("Please enter the street and number."),
                "postcode": _("Please enter the postcode."),
                "city": _("Please enter the city."),
            }
            for name, message in required.items():
                if not (data.get(f"{prefix}_{name}") or "").strip():
                    self.add_error(f"{prefix}_{name}", message)
            country = data.get(f"{prefix}_country") or "CH"
            data[f"{prefix}_country"] = country
            postcode = (data.get(f"{prefix}_postcode") or "").strip()
            if postcode and not re.fullmatch(POSTCODE[country], postcode):
                self.add_error(f"{prefix}_postcode", _("This postcode does not exist in the chosen country."))
        return data

    def address(self, prefix: str) -> dict:
        if not self.address_needed(prefix, self.cleaned_data):
            return {}
        return {name: (self.cleaned_data.get(f"{prefix}_{name}") or "").strip() for name in ADDRESS_FIELDS}

    def shipping_fields(self):
        return [self[f"shipping_{name}"] for name in ADDRESS_FIELDS]

    def billing_fields(self):
        return [self[f"billing_{name}"] for name in ADDRESS_FIELDS]
