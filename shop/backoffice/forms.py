"""Forms of the back office's settings pages. They parse and validate what the merchant typed, with messages that say
how to put it right; the views hand ``cleaned_data`` to ``services.py``. Nothing here writes to the database."""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import get_text_list
from django.utils.translation import gettext_lazy as _

from orders.models import COUNTRIES
from payments.providers import PROVIDERS
from shop.checkout.forms import POSTCODE
from shop.checkout.models import ShippingMethod
from shop.form_fields import FiniteDecimalField, Form, ModelForm, single_line

from .models import Store

# --- Swiss formats --------------------------------------------------------------------------------------------------

VAT_NUMBER = re.compile(r"CHE(\d{9})(MWST|TVA|IVA)")
IBAN_CH_LI = re.compile(r"(CH|LI)\d{7}[0-9A-Z]{12}")
PHONE = re.compile(r"\+?[0-9 ()./-]+")


def normalize_vat_number(value: str) -> str:
    """A Swiss VAT number in its official form, ``CHE-123.456.789 MWST`` (or TVA, IVA). Spaces, dots and dashes
    may be left out or misplaced, and lower case is fine. Only the format is checked, not the UID's check digit."""
    compact = re.sub(r"[\s.\-]", "", value.upper())
    match = VAT_NUMBER.fullmatch(compact)
    if not match:
        raise ValidationError(
            _("Enter the VAT number as CHE-123.456.789 MWST (or TVA, IVA), or leave the field empty."),
            code="vat_number",
        )
    digits, suffix = match.groups()
    return f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]} {suffix}"


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616: the country code and check digits moved to the end, letters as numbers (A=10 … Z=35), mod 97 is 1."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def normalize_iban(value: str) -> str:
    """A Swiss or Liechtenstein IBAN (CH/LI and 19 more characters, check digits mod 97), printed in groups of four:
    ``CH93 0076 2011 6238 5295 7``. Spaces may be anywhere; lower case is fine."""
    compact = re.sub(r"\s", "", value).upper()
    if not IBAN_CH_LI.fullmatch(compact):
        raise ValidationError(
            _(
                "Enter a Swiss or Liechtenstein IBAN: CH or LI followed by 19 digits and letters, "
                "e.g. CH93 0076 2011 6238 5295 7."
            ),
            code="iban_format",
        )
    if not iban_checksum_ok(compact):
        raise ValidationError(
            _("This IBAN is not valid: its check digits don't match. Please check it for typos."),
            code="iban_checksum",
        )
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


class PositionField(forms.IntegerField):
    """Where an item stands in a list the merchant orders (shipping methods, categories): 0 to 9999, one message."""

    def __init__(self, *, help_text="", **kwargs):
        message = _("Enter a whole number from 0 to 9999.")
        super().__init__(
            label=_("Position"),
            min_value=0,
            max_value=9999,
            help_text=help_text,
            error_messages=dict.fromkeys(("invalid", "min_value", "max_value", "required"), message),
            **kwargs,
        )


class MoneyField(FiniteDecimalField):
    """An amount in francs, ≥ 0, two decimals at most. Takes what Swiss merchants type: ``7.50``, ``7,50``,
    ``1’250``, ``CHF 7.–``."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 10)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault(
            "error_messages",
            {
                "required": _("Enter an amount in francs, such as 7.50."),
                "invalid": _("Enter an amount in francs, such as 7.50."),
                "min_value": _("The amount can't be negative."),
                "max_decimal_places": _("Enter at most two decimals (Rappen), such as 7.50."),
                "max_digits": _("This amount is too large."),
                "max_whole_digits": _("This amount is too large."),
            },
        )
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        # A text field, not type=number: browsers send nothing at all for what they can't parse (e.g. "7,50").
        return {"inputmode": "decimal", "autocomplete": "off"}

    def to_python(self, value):
        if isinstance(value, str):
            value = re.sub(r"(?i)^\s*(chf|fr\.)\s*", "", value)
            value = re.sub(r"[\s'’]", "", value)
            value = re.sub(r"\.[-–]$", "", value)  # "7.–"
            if "," in value and "." not in value:
                value = value.replace(",", ".")
        return super().to_python(value)


# --- Settings → General ---------------------------------------------------------------------------------------------


class StoreGeneralForm(ModelForm):
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRIES)

    class Meta:
        model = Store
        fields = [
            "name",
            "street",
            "postcode",
            "city",
            "country",
            "email",
            "phone",
            "vat_number",
            "logo",
            "test_mode",
            "zero_total_status",
            "plan",
        ]
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        labels = {
            "email": _("E-mail"),
            "phone": _("Phone"),
            "zero_total_status": _("Payment status of orders with a zero total"),
        }
        help_texts = {
            "name": _("Shoppers see it on every page of the shop."),
            "email": _("Where shoppers can reach you."),
            "phone": _("For example +41 44 123 45 67."),
            "vat_number": _("Your Swiss VAT number, e.g. CHE-123.456.789 MWST. Leave empty if you are not registered."),
            "test_mode": _(
                "Try your shop without real money: the Test payment method is offered at checkout, and every order "
                "placed is marked as a test order. Switch test mode off before you open the shop."
            ),
            "zero_total_status": _(
                "An order whose total is zero (free products, no shipping cost) has nothing to pay: choose Paid to "
                "process it at once, or Awaiting payment to check it first."
            ),
        }
        error_messages = {
            "name": {"required": _("Enter the store's name: shoppers see it on every page.")},
            "email": {"invalid": _("Please enter a valid e-mail address.")},
        }

    def clean_name(self):
        name = single_line(self.cleaned_data["name"].strip())
        if not name:
            raise ValidationError(_("Enter the store's name: shoppers see it on every page."), code="required")
        return name

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and not (PHONE.fullmatch(phone) and 6 <= sum(c.isdigit() for c in phone) <= 15):
            raise ValidationError(
                _("Enter a phone number with digits, spaces and + ( ) - / only, e.g. +41 44 123 45 67."),
                code="phone",
            )
        return phone

    def clean_vat_number(self):
        vat_number = self.cleaned_data["vat_number"].strip()
        return normalize_vat_number(vat_number) if vat_number else ""

    def clean(self):
        data = super().clean()
        address = {name: data.get(name) or "" for name in ("street", "postcode", "city")}
        if any(address.values()):  # an address, if any, is a whole one (it is printed on invoices)
            missing = {
                "street": _("Please enter the street and number."),
                "postcode": _("Please enter the postcode."),
                "city": _("Please enter the city."),
            }
            for name, message in missing.items():
                if name in data and not address[name]:
                    self.add_error(name, message)
        country = data.get("country")
        if address["postcode"] and country in POSTCODE and not re.fullmatch(POSTCODE[country], address["postcode"]):
            self.add_error("postcode", _("This postcode does not exist in the chosen country."))
        return data


# --- Settings → Payment ---------------------------------------------------------------------------------------------


class PaymentSettingsForm(Form):
    """The methods offered (checkboxes ``enabled``), their order (hidden ``order`` inputs, one per row, changed by the
    up/down buttons ``move=<code>:up|down`` without JavaScript), the bank details and the invoice terms."""

    enabled = forms.MultipleChoiceField(
        label=_("Payment methods offered"),
        choices=[(code, provider.name) for code, provider in PROVIDERS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    bank_account_holder = forms.CharField(
        label=_("Account holder"),
        max_length=120,
        required=False,
        help_text=_("Leave empty to use the store's name."),
    )
    bank_iban = forms.CharField(
        label=_("IBAN"),
        max_length=50,
        required=False,
        help_text=_("Swiss or Liechtenstein account, e.g. CH93 0076 2011 6238 5295 7."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    bank_name = forms.CharField(label=_("Bank"), max_length=120, required=False)
    bank_instructions = forms.CharField(
        label=_("Bank transfer instructions"),
        max_length=2000,
        required=False,
        help_text=_("Added below the account details shoppers see after ordering."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    invoice_terms = forms.CharField(
        label=_("Invoice terms"),
        max_length=2000,
        required=False,
        help_text=_("Shown to shoppers who pay by invoice, e.g. “Payable within 30 days.”"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    datatrans_auto_settle = forms.TypedChoiceField(
        label=_("When Datatrans takes the money"),
        choices=[
            ("1", _("At once, when the shopper pays")),
            ("0", _("When the shop has recorded the payment: an order cancelled meanwhile is never charged")),
        ],
        coerce=lambda value: value == "1",
        empty_value=True,
        required=False,
        widget=forms.RadioSelect,
    )

    BANK_FIELDS = ("bank_account_holder", "bank_iban", "bank_name", "bank_instructions", "invoice_terms")
    STORE_FIELDS = (*BANK_FIELDS, "datatrans_auto_settle")

    def __init__(self, *args, order_of_codes=(), enabled_before=(), **kwargs):
        """``enabled_before``: the codes offered until now (saved). A provider that is not configured can't be
        enabled, but one enabled before its variables were removed may stay enabled (it is not offered meanwhile)."""
        super().__init__(*args, **kwargs)
        self.order_of_codes = self._apply_move(order_of_codes)
        self.enabled_before = set(enabled_before)

    @staticmethod
    def needs_setup(provider) -> bool:
        """An online provider that needs the shop's environment (the test provider needs nothing)."""
        return provider.is_online and not provider.test_only

    def can_enable(self, code) -> bool:
        provider = PROVIDERS[code]
        return code in self.enabled_before or not self.needs_setup(provider) or provider.is_configured()

    def _apply_move(self, codes):
        """The order the rows are in: the posted order (``codes``), with the move the merchant asked for."""
        codes = list(codes)
        if not self.is_bound:
            return codes
        code, _sep, direction = (self.data.get("move") or "").partition(":")
        if code in codes and direction in ("up", "down"):
            index = codes.index(code)
            other = index - 1 if direction == "up" else index + 1
            if 0 <= other < len(codes):
                codes[index], codes[other] = codes[other], codes[index]
        return codes

    def clean_bank_iban(self):
        iban = self.cleaned_data["bank_iban"].strip()
        return normalize_iban(iban) if iban else ""

    def clean(self):
        data = super().clean()
        enabled = data.get("enabled")
        if "enabled" in data and not enabled:
            raise ValidationError(
                _("Enable at least one payment method, otherwise shoppers can't place orders."), code="none_enabled"
            )
        for code in enabled or ():
            if not self.can_enable(code):
                provider = PROVIDERS[code]
                self.add_error(
                    "enabled",
                    ValidationError(
                        _(
                            "%(name)s can't be offered until it is configured: set %(variables)s in the shop's "
                            "environment, then enable it."
                        ),
                        code="not_configured",
                        params={
                            "name": provider.name,
                            "variables": get_text_list(provider.missing_settings(), _("and")),
                        },
                    ),
                )
        if enabled and "bank_transfer" in enabled and "bank_iban" in data and not data["bank_iban"]:
            self.add_error(
                "bank_iban",
                ValidationError(
                    _("Bank transfer is offered: enter the IBAN shoppers should pay to, or disable bank transfer."),
                    code="iban_required",
                ),
            )
        return data

    def rows(self) -> list[dict]:
        """One row per provider, in the order shown, ticked as posted (or as saved, before posting)."""
        if self.is_bound:
            enabled = self.data.getlist("enabled") if hasattr(self.data, "getlist") else self.data.get("enabled", [])
        else:
            enabled = self.initial.get("enabled", [])
        last = len(self.order_of_codes) - 1
        rows = []
        for i, code in enumerate(self.order_of_codes):
            provider, locked = PROVIDERS[code], not self.can_enable(code)
            rows.append(
                {
                    "code": code,
                    "provider": provider,
                    # a checkbox that can't be ticked shows unticked, whatever was posted
                    "enabled": code in enabled and not locked,
                    "locked": locked,
                    "first": i == 0,
                    "last": i == last,
                    "setup": self.setup(provider) if self.needs_setup(provider) else None,
                }
            )
        return rows

    @staticmethod
    def setup(provider) -> dict:
        """An online method's state in its row: configured or not, sandbox or live, and the provider's block on the
        page (``account``), which says how to set it up. The secrets themselves are never read out here (only
        whether they are set)."""
        configured = provider.is_configured()
        return {
            "configured": configured,
            "mode": provider.mode() if configured else "",
            "brand": provider.brand or provider.name,
            "account": provider.webhook_provider,
        }

    def bank_data(self) -> dict:
        """The store's payment settings from the form: the bank details, the invoice terms, Datatrans's settling."""
        data = {name: self.cleaned_data[name].strip() for name in self.BANK_FIELDS}
        data["datatrans_auto_settle"] = self.cleaned_data["datatrans_auto_settle"] is not False
        return data


# --- Settings → Shipping --------------------------------------------------------------------------------------------


class ShippingMethodForm(ModelForm):
    price = MoneyField(label=_("Price (CHF)"), help_text=_("0 for free shipping or pickup."))
    free_above = MoneyField(
        label=_("Free from an order subtotal of (CHF)"),
        required=False,
        help_text=_("Leave empty to always charge the price."),
    )
    position = PositionField(help_text=_("Methods are listed at checkout from the lowest number to the highest."))

    class Meta:
        model = ShippingMethod
        fields = ["name", "kind", "price", "free_above", "pickup_address", "is_active", "position"]
        widgets = {"pickup_address": forms.Textarea(attrs={"rows": 3})}
        labels = {"is_active": _("Offered at checkout")}
        help_texts = {
            "name": _("Shoppers see it at checkout, e.g. “Swiss Post Priority”."),
            "pickup_address": _("Required for in-store pickup; shoppers see it at checkout and on their order."),
            "is_active": _("Untick to stop offering this method without deleting it."),
        }
        error_messages = {
            "name": {"required": _("Enter a name: shoppers see it at checkout.")},
            "kind": {"invalid_choice": _("Choose flat rate or in-store pickup.")},
        }

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Enter a name: shoppers see it at checkout."), code="required")
        return name

    def clean(self):
        data = super().clean()
        data["pickup_address"] = (data.get("pickup_address") or "").strip()
        if data.get("kind") == ShippingMethod.Kind.PICKUP and not data["pickup_address"] and not self.has_error("kind"):
            self.add_error(
                "pickup_address",
                ValidationError(
                    _("Enter the pickup address and opening hours: shoppers need them to collect their order."),
                    code="required",
                ),
            )
        return data


class ShippingRemoveForm(Form):
    action = forms.ChoiceField(
        choices=[("deactivate", _("Deactivate")), ("delete", _("Delete"))],
        error_messages={
            "required": _("Choose whether to deactivate or delete this method."),
            "invalid_choice": _("Choose whether to deactivate or delete this method."),
        },
    )
