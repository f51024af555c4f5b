from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from shop.money import format_chf


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("1", "CHF 1.–"),
        ("1.00", "CHF 1.–"),
        ("0", "CHF 0.–"),
        ("0.05", "CHF 0.05"),
        ("18.9", "CHF 18.90"),
        ("1234.5", "CHF 1’234.50"),
        ("1234", "CHF 1’234.–"),
        ("1234567.89", "CHF 1’234’567.89"),
        ("999.995", "CHF 1’000.–"),
        ("-5", "CHF -5.–"),
    ],
)
def test_swiss_format(amount, shown):
    assert format_chf(Decimal(amount)) == shown


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_template_filter_is_the_same_in_every_language(language):
    template = Template("{{ a|chf }} {{ b|chf }}")
    with translation.override(language):
        assert template.render(Context({"a": Decimal("1"), "b": Decimal("1234.50")})) == "CHF 1.– CHF 1’234.50"


def test_filter_tolerates_junk():
    assert Template("[{{ a|chf }}]").render(Context({"a": "not money"})) == "[]"
    assert Template("[{{ a|chf }}]").render(Context({"a": None})) == "[]"
