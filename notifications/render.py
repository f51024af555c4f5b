"""Turn an outgoing e-mail into a message: subject, plain text and HTML, in the recipient's language."""

import re
from decimal import Decimal
from email.utils import formataddr, make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from orders.status import FulfilmentStatus
from payments.providers import get_provider
from shop.cart import links
from shop.money import format_chf

from . import optout
from .kinds import KINDS, Kind
from .models import EmailSettings, OutgoingEmail

MSGID_DOMAIN = urlsplit(settings.SITE_URL).hostname or "localhost"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def order_url(order) -> str:
    """The shopper's order page (reached by its unguessable token), in the active language."""
    return absolute(reverse("checkout:order", kwargs={"token": order.token}))


def build_context(kind: str, *, store, order=None, lines=None, cart=None, cart_lines=None, data=None) -> dict:
    """Everything the templates of ``kind`` use. ``lines`` may be given for an order that is not saved (previews)."""
    data = dict(data or {})
    context = {
        "kind": kind,
        "store": store,
        "logo_url": absolute(store.logo.url) if getattr(store, "logo", None) else "",
        "site_url": absolute(reverse("catalog:home")),
        "data": data,
    }
    if order is not None:
        provider = get_provider(order.payment_method)
        context.update(
            order=order,
            lines=list(order.lines.all()) if lines is None else lines,
            order_url=order_url(order),
            backoffice_url=absolute(reverse("backoffice:order", kwargs={"number": order.number or 0})),
            payment_method=str(provider.name) if provider else order.payment_method,
            instructions=(
                provider.instructions(order, store)
                if provider and not provider.is_online and order.payment_status == "awaiting_payment"
                else ""
            ),
        )
        if "status" in data:
            context["status_label"] = str(dict(FulfilmentStatus.choices).get(data["status"], data["status"]))
    if cart is not None or cart_lines is not None:
        if cart_lines is None:
            cart_lines = list(cart.lines.select_related("product"))
        context.update(
            cart=cart,
            cart_lines=cart_lines,
            cart_total=sum((line.product.price * line.quantity for line in cart_lines), Decimal("0.00")),
            # the signed link that restores this cart in any browser (a preview has no cart: the cart page)
            cart_url=absolute(links.recovery_path(cart) if cart is not None else reverse("cart:detail")),
        )
    if kind == Kind.ABANDONED_CART:
        context["opt_out_url"] = opt_out_url(data.get("to") or (cart.email if cart is not None else ""))
    return context


def opt_out_url(address: str) -> str:
    """The page that stops reminders to ``address`` (also the ``List-Unsubscribe`` target, one click by POST)."""
    return absolute(reverse("notifications:opt_out", kwargs={"token": optout.opt_out_token(address)}))


def subject_for(kind: str, context: dict) -> str:
    order = context.get("order")
    products = context["data"].get("products", [])
    return str(KINDS[kind].subject) % {
        "number": order.number if order else "",
        "store": context["store"].name,
        "status": context.get("status_label", ""),
        "total": format_chf(order.total, order.currency) if order else "",
        "products": ", ".join(p["name"] for p in products)[:120],
    }


def tidy_text(text: str) -> str:
    """Plain text without the blank lines and trailing spaces that template tags leave behind."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def render(kind: str, language: str, **kwargs) -> tuple[str, str, str]:
    """Subject, text and HTML of an e-mail in ``language``."""
    with translation.override(language):
        context = build_context(kind, **kwargs)
        context["language"] = language
        subject = " ".join(subject_for(kind, context).split())
        context["subject"] = subject
        text = tidy_text(render_to_string(f"emails/{kind}.txt", context))
        html = render_to_string(f"emails/{kind}.html", context)
    return subject, text, html


def sender(store, email_settings: EmailSettings) -> str:
    return formataddr(
        (email_settings.sender_name or store.name, email_settings.sender_email or settings.DEFAULT_FROM_EMAIL)
    )


def list_unsubscribe(address: str, language: str) -> dict:
    """RFC 2369 and 8058: mail programs offer "Unsubscribe", which POSTs to the opt-out page in one click."""
    with translation.override(language):
        url = opt_out_url(address)
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def build_message(email: OutgoingEmail, *, store, email_settings=None, connection=None) -> EmailMultiAlternatives:
    email_settings = email_settings or EmailSettings.load()
    data = {**email.context, "to": email.to}
    subject, text, html = render(email.kind, email.language, store=store, order=email.order, cart=email.cart, data=data)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=sender(store, email_settings),
        to=[email.to],
        bcc=[a for a in email.bcc.split() if a],
        reply_to=[store.email] if store.email and email.kind not in (Kind.NEW_ORDER, Kind.LOW_STOCK) else None,
        headers={
            "Message-ID": make_msgid(f"email-{email.pk}", domain=urlsplit(settings.SITE_URL).hostname or "localhost"),
            "X-Shop-Email": str(email.pk),
            **(list_unsubscribe(email.to, email.language) if email.kind == Kind.ABANDONED_CART else {}),
        },
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message
