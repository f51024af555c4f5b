from django import template

from orders.status import FulfilmentStatus, PaymentStatus

register = template.Library()
LABELS = {**dict(PaymentStatus.choices), **dict(FulfilmentStatus.choices)}


@register.filter
def status_label(value):
    """The translated label of a payment or fulfilment status value (for timelines)."""
    return LABELS.get(value, value)
