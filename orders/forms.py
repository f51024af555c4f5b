from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from payments.providers import PROVIDERS

from .status import FulfilmentStatus, PaymentStatus
from .tracking import Carrier

SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-total": ("-total", "-id"),
    "total": ("total", "id"),
}


class OrderFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    payment_status = forms.ChoiceField(
        label=_("Payment status"), required=False, choices=[("", _("All"))] + PaymentStatus.choices
    )
    fulfilment_status = forms.ChoiceField(
        label=_("Fulfilment status"), required=False, choices=[("", _("All"))] + FulfilmentStatus.choices
    )
    payment_method = forms.ChoiceField(label=_("Payment method"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    test = forms.ChoiceField(
        label=_("Test orders"),
        required=False,
        choices=[("", _("Included")), ("exclude", _("Left out")), ("only", _("Only test orders"))],
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
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        data["q"] = "".join(ch for ch in data.get("q", "") if ch.isprintable()).strip()
        return data


class RecordPaymentForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount received (CHF)"),
        min_value=Decimal("0.01"),
        max_value=Decimal("1000000"),
        decimal_places=2,
        max_digits=10,
    )
    paid_on = forms.DateField(label=_("Date received"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=500)

    def clean_paid_on(self):
        paid_on = self.cleaned_data["paid_on"]
        if paid_on > timezone.localdate():
            raise forms.ValidationError(_("The date can't be in the future."))
        return paid_on


class TrackingForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)
    carrier = forms.ChoiceField(label=_("Carrier"), choices=Carrier.choices, initial=Carrier.SWISS_POST)

    def clean_tracking_number(self):
        number = "".join(self.cleaned_data["tracking_number"].split())
        if not number.replace("-", "").replace(".", "").isalnum():
            raise forms.ValidationError(_("A tracking number has only letters, digits, dots and dashes."))
        return number


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Staff note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, I am sure"), error_messages={"required": _("Please tick the box to confirm.")}
    )
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=500)
