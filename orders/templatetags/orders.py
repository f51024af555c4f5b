from django import template

from orders.status import FulfilmentStatus, PaymentStatus
from payments.providers import provider_label

register = template.Library()
LABELS = {**dict(PaymentStatus.choices), **dict(FulfilmentStatus.choices)}


@register.filter
def status_label(value):
    """The translated label of a payment or fulfilment status value (for timelines)."""
    return LABELS.get(value, value)


@register.filter
def provider_name(code):
    """A payment's provider in words ("bank_transfer" → "Bank transfer", "manual" → "Recorded by staff")."""
    return provider_label(code)
