from django import template
from django.utils.text import capfirst
from django.utils.translation import get_language, get_language_info

from notifications.kinds import Kind

register = template.Library()


@register.filter
def email_kind(value) -> str:
    """The name of an e-mail kind ("order_confirmation" → "Order confirmation"), in the active language."""
    return str(dict(Kind.choices).get(value, value))


@register.simple_tag
def colon() -> str:
    """The colon after a label, as the active language writes it: "Total:" but "Total :" in French (with a no-break
    space, so that it never starts a line)."""
    return "\u00a0:" if (get_language() or "").startswith("fr") else ":"


@register.filter
def language_name(code) -> str:
    """A language as its speakers write it, whatever the page's language: "de" → "Deutsch", "fr" → "Français",
    "en" → "English" (a customer's language, an e-mail's). Never the code, unless Django knows no such language."""
    code = str(code or "").strip()
    if not code:
        return ""
    try:
        info = get_language_info(code.lower().replace("_", "-"))
    except KeyError:
        try:
            info = get_language_info(code.lower().replace("_", "-").split("-")[0])
        except KeyError:
            return code
    return capfirst(info["name_local"])
