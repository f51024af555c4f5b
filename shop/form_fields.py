"""Form fields shared by the storefront and the back office."""

from django import forms
from django.utils.translation import gettext as _


class FiniteDecimalField(forms.DecimalField):
    """A decimal that is a number: "NaN", "sNaN" and "Infinity" parse as decimals but are refused as invalid input
    (a signalling NaN even raises when compared, which Django does to tell whether a field changed)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and not value.is_finite():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value


def single_line(value: str) -> str:
    """A name that goes into e-mail headers or one line of a page: a line break (which would also let a header be
    injected) is refused."""
    if "\r" in value or "\n" in value:
        raise forms.ValidationError(_("A name can't contain line breaks."), code="line_break")
    return value
