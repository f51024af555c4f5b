import re

from django import forms
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from shop.form_fields import single_line

from .kinds import KINDS, SWITCHABLE, Kind
from .models import EmailSettings, OutgoingEmail


class EmailSettingsForm(forms.ModelForm):
    """Settings → Email: the sender, the merchant's addresses and one switch per notification."""

    class Meta:
        model = EmailSettings
        fields = ["sender_name", "sender_email", "merchant_recipients", "merchant_language", "copy_customer_emails"]
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


class TestEmailForm(forms.Form):
    to = forms.EmailField(
        label=_("Send a test e-mail to"), required=False, help_text=_("Empty: your notification addresses.")
    )


class EmailLogFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + list(OutgoingEmail.Status.choices)
    )
    kind = forms.ChoiceField(label=_("E-mail"), required=False, choices=[("", _("All"))] + list(Kind.choices))
    q = forms.CharField(label=_("Recipient or order number"), required=False, max_length=254)
