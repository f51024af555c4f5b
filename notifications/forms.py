import re

from django import forms
from django.core.validators import validate_email
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from shop.form_fields import Form, ModelForm, single_line

from .kinds import KINDS, SWITCHABLE, Kind
from .models import EmailSettings, OutgoingEmail

MAX_SECOND_REMINDER_HOURS = 168  # a week after the first reminder at the most
SECOND_REMINDER_HOURS_ERROR = _("Enter a whole number of hours from 0 to 168 (0: no second reminder).")


class EmailSettingsForm(ModelForm):
    """Settings → Email: the sender, the merchant's addresses, one switch per notification and the automatic
    abandoned-cart reminders."""

    CART_REMINDER_FIELDS = ["cart_reminders", "cart_second_reminder_hours", "cart_reminder_consent"]

    # Not required: a form posted without the field at all (an older page, a script) keeps the hours set; an empty
    # one is explained (``clean_cart_second_reminder_hours``).
    cart_second_reminder_hours = forms.IntegerField(
        label=capfirst(EmailSettings._meta.get_field("cart_second_reminder_hours").verbose_name),
        help_text=EmailSettings._meta.get_field("cart_second_reminder_hours").help_text,
        min_value=0,
        max_value=MAX_SECOND_REMINDER_HOURS,
        required=False,
        error_messages=dict.fromkeys(("invalid", "min_value", "max_value"), SECOND_REMINDER_HOURS_ERROR),
    )

    class Meta:
        model = EmailSettings
        fields = [
            "sender_name",
            "sender_email",
            "merchant_recipients",
            "merchant_language",
            "copy_customer_emails",
            "cart_reminders",
            "cart_second_reminder_hours",
            "cart_reminder_consent",
        ]
        widgets = {"merchant_recipients": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in SWITCHABLE:
            self.fields[f"send_{kind}"] = forms.BooleanField(
                label=Kind(kind).label,
                help_text=KINDS[kind].help,
                required=False,
                initial=self.instance.is_enabled(kind),
            )

    def switches(self, to_merchant: bool):
        return [self[f"send_{kind}"] for kind in SWITCHABLE if KINDS[kind].to_merchant == to_merchant]

    def customer_switches(self):
        return self.switches(False)

    def merchant_switches(self):
        return self.switches(True)

    def cart_reminder_fields(self):
        return [self[name] for name in self.CART_REMINDER_FIELDS]

    def clean_cart_second_reminder_hours(self):
        hours = self.cleaned_data["cart_second_reminder_hours"]
        if hours is None:
            if self.add_prefix("cart_second_reminder_hours") in self.data:
                raise forms.ValidationError(SECOND_REMINDER_HOURS_ERROR)
            return self.instance.cart_second_reminder_hours
        return hours

    def clean_sender_name(self):
        return single_line(self.cleaned_data["sender_name"])

    def clean_merchant_recipients(self):
        addresses = [a for a in re.split(r"[\s,;]+", self.cleaned_data["merchant_recipients"]) if a]
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                bad.append(address)
        if bad:
            raise forms.ValidationError(_("Not an e-mail address: %(addresses)s") % {"addresses": ", ".join(bad)})
        if len(addresses) > 10:
            raise forms.ValidationError(_("Enter at most 10 addresses."))
        return "\n".join(dict.fromkeys(addresses))

    def disabled_kinds(self) -> list[str]:
        return [kind for kind in SWITCHABLE if not self.cleaned_data.get(f"send_{kind}")]


class TestEmailForm(Form):
    to = forms.EmailField(
        label=_("Send a test e-mail to"), required=False, help_text=_("Empty: your notification addresses.")
    )


class EmailLogFilterForm(Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + list(OutgoingEmail.Status.choices)
    )
    kind = forms.ChoiceField(label=_("E-mail"), required=False, choices=[("", _("All"))] + list(Kind.choices))
    q = forms.CharField(label=_("Recipient or order number"), required=False, max_length=254)
