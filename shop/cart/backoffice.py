"""Sales → Abandoned carts (back office): the carts shoppers left with an e-mail before ordering, to win them back.

The list shows each cart's recovery status (``recovery.describe``: not reminded, a reminder scheduled or sent,
recovered, ordered, opted out) and, on top, what recovered carts brought in a chosen period. A cart's page tells its
history and lets the merchant send a reminder of their own or place the order for the shopper (New order, prefilled).

The filters are disjoint: "To win back" (abandoned and not recovered), split into "Reminded" and "Not reminded yet";
"Recovered" (won back by an order that is not a test order, ordered or still open); "Ordered later" (the e-mail has
ordered since, from another cart, without that order winning this cart back).

A feature of the Standard plan: on the Free plan the page says what it does and where to switch."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import DecimalField, Exists, F, OuterRef, Q, Subquery, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from notifications.models import EmailOptOut, EmailSettings
from notifications.optout import address_hash
from payments.providers import provider_label
from shop.backoffice.models import Store
from shop.backoffice.views import staff_required

from . import recovery, services
from .forms import DEFAULT_PERIOD, AbandonedCartFilterForm, ReminderForm
from .models import Cart, CartLine, CartReminder
from .recovery import Status

PER_PAGE = 50
LANGUAGES = dict(settings.LANGUAGES)
# The statuses after which the merchant has nothing more to send (the page says why instead of offering the form).
NOTHING_TO_SEND = (Status.RECOVERED, Status.ORDERED, Status.OPTED_OUT)


def _standard_only(request):
    return render(request, "backoffice/carts/standard_only.html", {"section": "abandoned_carts"})


def _reminded():
    return Exists(CartReminder.objects.filter(cart=OuterRef("pk")))


def _listed(show: str):
    """The carts of a filter of the list (see the module's docstring)."""
    if show == "recovered":
        return recovery.recovered_carts()
    if show == "ordered":
        return services.ordered_after_leaving().exclude(recovered_order__isnull=False, recovered_order__is_test=False)
    carts = services.abandoned_carts().filter(recovered_order__isnull=True)
    if show == "reminded":
        return carts.filter(_reminded())
    if show == "not_reminded":
        return carts.exclude(_reminded())
    return carts


def _with_contents(carts):
    """Items and total at today's prices, as subqueries (the rows are not multiplied, nothing is grouped)."""
    lines = CartLine.objects.filter(cart=OuterRef("pk")).order_by().values("cart")
    value = Sum(F("quantity") * F("product__price"), output_field=DecimalField(max_digits=12, decimal_places=2))
    return carts.annotate(
        items=Subquery(lines.annotate(n=Sum("quantity")).values("n")[:1]),
        total=Subquery(lines.annotate(t=value).values("t")[:1]),
    )


@staff_required
@require_GET
def abandoned_carts(request):
    store = Store.load()
    if store.plan != Store.Plan.STANDARD:
        return _standard_only(request)
    form = AbandonedCartFilterForm(request.GET)
    form.is_valid()  # a field that is not valid falls back to its default, the others still apply
    data = form.cleaned_data
    show, query = data.get("show") or "abandoned", " ".join((data.get("q") or "").split())
    period = data.get("period") or DEFAULT_PERIOD
    carts = _listed(show)
    if query:
        carts = carts.filter(email__icontains=query)
    carts = recovery.with_reminders(_with_contents(carts.select_related("shipping_method", "recovered_order")))
    page = Paginator(carts, PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    page.object_list = list(page.object_list)
    recovery.describe(page.object_list, ordered=show == "ordered", now=now)
    for cart in page.object_list:
        cart.payment_label = provider_label(cart.payment_method) if cart.payment_method else ""
        cart.language_label = LANGUAGES.get(cart.language, cart.language)
    return render(
        request,
        "backoffice/carts/abandoned.html",
        {
            "section": "abandoned_carts",
            "page": page,
            "form": form,
            "show": show,
            "query": query,
            "period": period,
            "recovered": recovery.recovered_figures(now - timedelta(days=period)),
            "query_string": urlencode(
                {k: v for k, v in (("show", show), ("q", query), ("period", period)) if v and v != DEFAULT_PERIOD}
            ),
            "idle_minutes": settings.CART_ABANDONED_AFTER_MINUTES,
        },
    )


def _cart_or_404(pk):
    """A cart the pages show: one left (with an item and an e-mail, for the idle time) or one won back."""
    shown = Q(recovered_order__isnull=False) | Q(pk__in=services.left_carts().values("pk"))
    carts = recovery.with_reminders(Cart.objects.select_related("shipping_method", "recovered_order"))
    return get_object_or_404(carts.filter(shown), pk=pk)


def _cart_page(request, cart, form=None):
    """One cart: its lines at today's prices, what the shopper chose, what happened to it and what can be done."""
    now = timezone.now()
    lines = list(cart.lines.select_related("product"))
    ordered = cart.status == Cart.Status.OPEN and services.ordered_after_leaving().filter(pk=cart.pk).exists()
    recovery.describe([cart], ordered=ordered, now=now)
    reminders = list(cart.reminders.select_related("email", "sent_by"))
    opt_out = EmailOptOut.objects.filter(address_hash=address_hash(cart.email)).first() if cart.email else None
    history = [
        {"when": cart.created_at, "what": _("Cart created")},
        {"when": cart.last_activity_at, "what": _("Last activity of the shopper")},
        *({"when": reminder.created_at, "reminder": reminder} for reminder in reminders),
    ]
    if cart.recovery_opened_at:
        history.append({"when": cart.recovery_opened_at, "what": _("The shopper opened the link of a reminder")})
    if cart.recovered_at and cart.recovered_order_id:
        history.append({"when": cart.recovered_at, "recovered": True})
    if opt_out is not None:
        history.append({"when": opt_out.created_at, "what": _("The shopper asked for no more reminders")})
    history.sort(key=lambda entry: entry["when"])

    # What the merchant can do: send a reminder of their own (or why not), place the order for the shopper.
    status = cart.outlook.status
    consent_asked = EmailSettings.load().cart_reminder_consent
    why_not = ""
    if status == Status.RECOVERED:
        why_not = _("This cart has been won back: no reminder needed.")
    elif status == Status.ORDERED:
        why_not = _("This shopper has ordered since: no reminder needed.")
    elif status == Status.OPTED_OUT:
        why_not = _("This shopper asked for no more reminders: none can be sent.")
    elif consent_asked and not cart.reminder_consent:
        why_not = _("This shopper did not agree to reminders at checkout: none can be sent.")
    next_manual_at = cart.last_manual_at + recovery.MANUAL_INTERVAL if cart.last_manual_at else None
    if next_manual_at and next_manual_at <= now:
        next_manual_at = None
    if form is None and not why_not:
        form = ReminderForm(initial={"message": recovery.default_message(cart)})
    return render(
        request,
        "backoffice/carts/cart.html",
        {
            "section": "abandoned_carts",
            "cart": cart,
            "lines": lines,
            "total": sum((line.total for line in lines), 0),
            "history": history,
            "opted_out": opt_out is not None,
            "consent_asked": consent_asked,
            "reminder_language": LANGUAGES.get(cart.language or settings.LANGUAGE_CODE, cart.language),
            "why_not": why_not,
            "next_manual_at": next_manual_at,
            "form": form,
            "can_order": cart.status == Cart.Status.OPEN and status not in (Status.RECOVERED, Status.ORDERED),
            "payment_label": provider_label(cart.payment_method) if cart.payment_method else "",
            "language_label": LANGUAGES.get(cart.language, cart.language),
        },
    )


@staff_required
@require_GET
def abandoned_cart(request, pk):
    """One left cart (or one won back)."""
    if Store.load().plan != Store.Plan.STANDARD:
        return _standard_only(request)
    return _cart_page(request, _cart_or_404(pk))


@staff_required
@require_POST
def abandoned_cart_remind(request, pk):
    """A cart's page → "Send reminder": the merchant's own reminder with their message (``recovery.send_reminder``
    holds to its rules). Refused: the page again, with the reason and the message as typed."""
    if Store.load().plan != Store.Plan.STANDARD:
        return _standard_only(request)
    cart = _cart_or_404(pk)
    form = ReminderForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please check the highlighted fields."))
        return _cart_page(request, cart, form)
    try:
        recovery.send_reminder(cart.pk, request.user, form.cleaned_data["message"])
    except recovery.RecoveryError as error:
        messages.error(request, str(error))
        return _cart_page(request, cart, form)
    messages.success(request, _("Reminder sent to %(email)s.") % {"email": cart.email})
    return redirect("backoffice:abandoned_cart", pk=cart.pk)
