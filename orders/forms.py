from datetime import date
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from payments.providers import PROVIDERS
from shop.cart.models import Cart
from shop.catalog.models import Product
from shop.checkout.models import ShippingMethod
from shop.form_fields import FiniteDecimalField, Form

from .models import COUNTRIES
from .status import FulfilmentStatus, PaymentStatus
from .tracking import Carrier

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # the dates the order filters accept
SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-total": ("-total", "-id"),
    "total": ("total", "id"),
}


class OrderFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    payment_status = forms.ChoiceField(
        label=_("Payment status"), required=False, choices=[("", _("All"))] + PaymentStatus.choices
    )
    fulfilment_status = forms.ChoiceField(
        label=_("Fulfilment status"), required=False, choices=[("", _("All"))] + FulfilmentStatus.choices
    )
    payment_method = forms.ChoiceField(label=_("Payment method"), required=False)
    date_from = forms.DateField(
        label=pgettext_lazy("start date", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=pgettext_lazy("end date", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    test = forms.ChoiceField(
        label=_("Test orders"),
        required=False,
        choices=[("", _("Included")), ("exclude", _("Left out")), ("only", _("Only test orders"))],
    )
    attention = forms.ChoiceField(
        label=_("Needs attention"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Needs attention")), ("refund", _("Money to refund"))],
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("-created", _("Newest first")),
            ("created", _("Oldest first")),
            ("-total", _("Highest total")),
            ("total", _("Lowest total")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payment_method"].choices = [("", _("All"))] + [(c, p.name) for c, p in PROVIDERS.items()]

    def clean(self):
        data = super().clean()
        for name in ("date_from", "date_to"):  # a year-1 date can't be turned into a time zone's datetime
            if data.get(name) and not FIRST_DAY <= data[name] <= LAST_DAY:
                self.add_error(name, _("Choose a date between 2000 and 2099."))
                data[name] = None
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        data["q"] = "".join(ch for ch in data.get("q", "") if ch.isprintable()).strip()
        return data


def payment_amount_field(label) -> FiniteDecimalField:
    """An amount of money that changes hands (a payment received, a refund): CHF 0.01 to 1,000,000, in cents."""
    return FiniteDecimalField(
        label=label, min_value=Decimal("0.01"), max_value=Decimal("1000000"), decimal_places=2, max_digits=10
    )


class RecordPaymentForm(Form):
    amount = payment_amount_field(_("Amount received (CHF)"))
    paid_on = forms.DateField(label=_("Date received"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=500)

    def clean_paid_on(self):
        paid_on = self.cleaned_data["paid_on"]
        if paid_on > timezone.localdate():
            raise forms.ValidationError(_("The date can't be in the future."))
        return paid_on


class RefundForm(Form):
    amount = payment_amount_field(_("Amount to refund (CHF)"))
    restock = forms.BooleanField(
        label=_("Restock items"),
        required=False,
        help_text=_(
            "Only with a full refund: puts the items the order holds back in stock. A partial refund never restocks."
        ),
    )
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=500)


class TrackingForm(Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)
    carrier = forms.ChoiceField(label=_("Carrier"), choices=Carrier.choices, initial=Carrier.SWISS_POST)

    def clean_tracking_number(self):
        number = "".join(self.cleaned_data["tracking_number"].split())
        if not number.replace("-", "").replace(".", "").isalnum():
            raise forms.ValidationError(_("A tracking number has only letters, digits, dots and dashes."))
        return number


class NoteForm(Form):
    text = forms.CharField(label=_("Staff note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class ConfirmForm(Form):
    confirm = forms.BooleanField(
        label=_("Yes, I am sure"), error_messages={"required": _("Please tick the box to confirm.")}
    )
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=500)


def _money_field(label, required=True):
    return FiniteDecimalField(
        label=label,
        required=required,
        min_value=Decimal("0"),
        max_value=Decimal("1000000"),
        decimal_places=2,
        max_digits=10,
    )


class SkuField(forms.CharField):
    """A product chosen by its SKU (the page lists them in a datalist)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        product = Product.objects.filter(sku__iexact=value.strip()).first()
        if product is None:
            raise forms.ValidationError(_("No product has the SKU “%(sku)s”.") % {"sku": value})
        return product


class LineForm(Form):
    product = SkuField(
        label=_("SKU"), required=False, max_length=64, widget=forms.TextInput(attrs={"list": "product-skus"})
    )
    quantity = forms.IntegerField(label=_("Quantity"), required=False, min_value=1, max_value=999)
    unit_price = _money_field(_("Unit price (empty: catalog price)"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("product") and not data.get("quantity"):
            self.add_error("quantity", _("Please enter a quantity."))
        return data


LineFormSet = forms.formset_factory(LineForm, extra=5, max_num=50)


CART_GONE = _(
    "This cart has been ordered meanwhile: no order was created. Look in Sales → Orders before placing it again."
)


class ManualOrderForm(Form):
    email = forms.EmailField(label=_("Customer e-mail"))
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    language = forms.ChoiceField(
        label=_("Customer's language"), choices=[("de", "Deutsch"), ("fr", "Français"), ("en", "English")]
    )
    name = forms.CharField(label=_("Full name"), max_length=120)
    company = forms.CharField(label=_("Company (optional)"), required=False, max_length=120)
    street = forms.CharField(label=_("Street and number"), max_length=200)
    postcode = forms.CharField(label=_("Postcode"), max_length=12)
    city = forms.CharField(label=_("City"), max_length=100)
    country = forms.ChoiceField(label=_("Country"), initial="CH")
    shipping_method = forms.ModelChoiceField(
        label=_("Shipping method"), queryset=None, required=False, empty_label=_("No shipping (digital or handed over)")
    )
    shipping_cost = _money_field(_("Shipping cost (empty: the method's price)"), required=False)
    payment_method = forms.ChoiceField(label=_("Payment method"))
    mark_paid = forms.BooleanField(label=_("Already paid"), required=False)
    start_processing = forms.BooleanField(label=_("Start processing at once"), required=False)
    notify_customer = forms.BooleanField(label=_("E-mail the order confirmation to the customer"), required=False)
    send_payment_link = forms.BooleanField(
        label=_("E-mail the customer a link to pay online"),
        required=False,
        help_text=_("Needs an online payment method (the test provider in test mode)."),
    )
    # "Place this order" on an abandoned cart's page: the order is placed from that cart (which it marks ordered).
    cart = forms.ModelChoiceField(
        queryset=Cart.objects.filter(status=Cart.Status.OPEN),
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": CART_GONE},
    )

    def __init__(self, *args, payment_methods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = COUNTRIES
        self.fields["shipping_method"].queryset = ShippingMethod.objects.filter(is_active=True)
        self.fields["payment_method"].choices = [(p.code, p.name) for p in payment_methods]

    @classmethod
    def initial_from_cart(cls, cart) -> dict:
        """What an abandoned cart says of the order (New order from "Place this order"): the shopper's e-mail, name,
        language and shipping method, when still offered."""
        languages = {code for code, _label in cls.base_fields["language"].choices}
        initial = {"cart": cart.pk, "email": cart.email, "name": cart.shopper_name}
        if cart.language in languages:
            initial["language"] = cart.language
        if cart.shipping_method_id and cart.shipping_method.is_active:
            initial["shipping_method"] = cart.shipping_method_id
        return initial

    def address(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("name", "company", "street", "postcode", "city", "country")}


# "Shipping address: City" — French puts a no-break space before the colon, so the label is a translated pattern.
ADDRESS_LABEL = _("%(address)s: %(field)s")


class OrderEditForm(Form):
    email = forms.EmailField(label=_("E-mail"))
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    shipping_total = _money_field(_("Shipping cost"))
    adjustment = FiniteDecimalField(
        label=_("Discount (−) or surcharge (+)"),
        min_value=Decimal("-1000000"),
        max_value=Decimal("1000000"),
        decimal_places=2,
        max_digits=10,
    )
    adjustment_label = forms.CharField(label=_("Label for the discount or surcharge"), required=False, max_length=120)
    adjust_stock = forms.BooleanField(
        label=_("Adjust stock"),
        required=False,
        help_text=_(
            "Ticked: more units are taken from stock, fewer are put back. "
            "Not ticked: stock stays as it is, whatever the quantities."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind, title in (("shipping", _("Shipping address")), ("billing", _("Billing address"))):
            for name, label, length in (
                ("name", _("Full name"), 120),
                ("company", _("Company"), 120),
                ("street", _("Street and number"), 200),
                ("postcode", _("Postcode"), 12),
                ("city", _("City"), 100),
            ):
                self.fields[f"{kind}_{name}"] = forms.CharField(
                    label=ADDRESS_LABEL % {"address": title, "field": label}, required=False, max_length=length
                )
            self.fields[f"{kind}_country"] = forms.ChoiceField(
                label=ADDRESS_LABEL % {"address": title, "field": _("Country")},
                choices=[("", "–"), *COUNTRIES],
                required=False,
            )


class EditLineForm(Form):
    line = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=999, help_text=_("0 removes the line."))
    unit_price = _money_field(_("Unit price"))


class BaseEditLineFormSet(forms.BaseFormSet):
    """The order's lines, each exactly once: a form posted for other lines (the page was open while the order changed,
    or hand-made) is refused as a whole."""

    def __init__(self, *args, line_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.line_ids = sorted(line_ids)

    def clean(self):
        if any(self.errors):
            return
        posted = [form.cleaned_data.get("line") for form in self.forms]
        counts = (self.initial_form_count(), self.total_form_count())
        if None in posted or sorted(posted) != self.line_ids or counts != (len(self.line_ids),) * 2:
            raise forms.ValidationError(
                _("The order's lines have changed since this page was opened: please reload it and try again.")
            )


EditLineFormSet = forms.formset_factory(EditLineForm, formset=BaseEditLineFormSet, extra=0, max_num=200)
NewLineFormSet = forms.formset_factory(LineForm, extra=2, max_num=20)
