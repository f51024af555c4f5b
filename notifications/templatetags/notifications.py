from django import template

from notifications.kinds import Kind

register = template.Library()


@register.filter
def email_kind(value) -> str:
    """The name of an e-mail kind ("order_confirmation" → "Order confirmation"), in the active language."""
    return str(dict(Kind.choices).get(value, value))
