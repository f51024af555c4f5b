"""Sales → Abandoned carts (back office): the carts shoppers left with an e-mail before ordering, to win them back.

A feature of the Standard plan: on the Free plan the page says what it does and where to switch."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from payments.providers import provider_label
from shop.backoffice.models import Store
from shop.backoffice.views import staff_required

from . import services
from .forms import AbandonedCartFilterForm

PER_PAGE = 50
LANGUAGES = dict(settings.LANGUAGES)


@staff_required
@require_GET
def abandoned_carts(request):
    store = Store.load()
    if store.plan != Store.Plan.STANDARD:
        return render(request, "backoffice/carts/standard_only.html", {"section": "abandoned_carts"})
    form = AbandonedCartFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    show, query = data.get("show") or "abandoned", " ".join((data.get("q") or "").split())
    carts = services.abandoned_carts() if show == "abandoned" else services.ordered_after_leaving()
    if query:
        carts = carts.filter(email__icontains=query)
    value = ExpressionWrapper(F("lines__quantity") * F("lines__product__price"), output_field=DecimalField())
    carts = carts.select_related("shipping_method").annotate(items=Sum("lines__quantity"), total=Sum(value))
    page = Paginator(carts, PER_PAGE).get_page(request.GET.get("page"))
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
            "query_string": urlencode({k: v for k, v in (("show", show), ("q", query)) if v}),
            "idle_minutes": settings.CART_ABANDONED_AFTER_MINUTES,
        },
    )


@staff_required
@require_GET
def abandoned_cart(request, pk):
    """One left cart: its lines at today's prices, what the shopper chose, and what happened to it."""
    if Store.load().plan != Store.Plan.STANDARD:
        return render(request, "backoffice/carts/standard_only.html", {"section": "abandoned_carts"})
    cart = get_object_or_404(services.left_carts().select_related("shipping_method"), pk=pk)
    lines = list(cart.lines.select_related("product"))
    ordered = services.ordered_after_leaving().filter(pk=cart.pk).exists()
    return render(
        request,
        "backoffice/carts/cart.html",
        {
            "section": "abandoned_carts",
            "cart": cart,
            "lines": lines,
            "total": sum((line.total for line in lines), 0),
            "ordered": ordered,
            # what happened to the cart, oldest first (the reminders sent join it)
            "history": sorted(
                [(cart.created_at, _("Cart created")), (cart.last_activity_at, _("Last activity of the shopper"))]
            ),
            "payment_label": provider_label(cart.payment_method) if cart.payment_method else "",
            "language_label": LANGUAGES.get(cart.language, cart.language),
        },
    )
