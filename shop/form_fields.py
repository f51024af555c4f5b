"""Form fields shared by the storefront and the back office, and the base classes of every form of the shop."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator as ProhibitNull
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Characters no text column can take, refused in every text field (``StorableTextForm``):
# - U+0000 (NUL): PostgreSQL's text types refuse it ("PostgreSQL text fields cannot contain NUL (0x00) bytes");
# - U+D800–U+DFFF (lone surrogates): they have no UTF-8 form, so neither psycopg nor sqlite3 can send them;
# - U+FFFD (the replacement character): what Django's decoder puts in place of bytes that are not UTF-8 (a form
#   posted in another encoding, a surrogate sent as bytes) and what a browser sends for a lone surrogate: the text
#   typed was lost on the way, and saving the stand-in would keep a corrupted name for good.
# Every other character is kept: a UTF-8 database stores all of Unicode from U+0001 up (checked on PostgreSQL 15:
# control characters, U+FFFE/U+FFFF, noncharacters, U+10FFFF).
UNSTORABLE = re.compile("[\x00\ud800-\udfff\ufffd]")
UNSTORABLE_MESSAGE = gettext_lazy("This field contains a character that cannot be saved.")


def storable(value) -> bool:
    """Whether a text (or each text of a list, as a multiple choice posts) can be saved as it is."""
    if isinstance(value, list | tuple):
        return all(storable(item) for item in value)
    return not (isinstance(value, str) and UNSTORABLE.search(value))


@deconstructible
class StorableText:
    """A validator that refuses the characters of ``UNSTORABLE``; it stands in for Django's
    ``ProhibitNullCharactersValidator``, which refuses NUL only."""

    code = "unstorable"

    def __call__(self, value):
        if not storable(value if isinstance(value, list | tuple) else str(value)):
            raise ValidationError(UNSTORABLE_MESSAGE, code=self.code)

    def __eq__(self, other):
        return isinstance(other, StorableText)


def refuse_unstorable(field: forms.Field) -> None:
    """Give ``field`` the ``StorableText`` check, in place of Django's NUL check: every text field (CharField and
    its kinds: e-mail, slug, user name …) as a validator, and a model choice before it looks the value up. Other
    fields take no text: a number, a date or a choice with such a character is invalid anyway."""
    if isinstance(field, forms.CharField):
        kept = [v for v in field.validators if not isinstance(v, ProhibitNull | StorableText)]
        field.validators = [StorableText(), *kept]  # first: its message is the one a page shows
    elif isinstance(field, forms.ModelChoiceField):
        field.validate_no_null_characters = StorableText()


class StorableTextForm:
    """The rule every form of the shop follows (``Form``, ``ModelForm``; a test walks them all): text the database
    can't store is refused with a message at its field, whatever else was typed is shown again, nothing is saved.
    Applied when the form is cleaned, so that fields added in ``__init__`` have it too."""

    def full_clean(self):
        for field in self.fields.values():
            refuse_unstorable(field)
        super().full_clean()


class Form(StorableTextForm, forms.Form):
    pass


class ModelForm(StorableTextForm, forms.ModelForm):
    pass


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
