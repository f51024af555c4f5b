"""Checkout and the shopper's order page. Thin: parse, call a service, render. Totals come from the server only."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orders.models import Order
from orders.status import can_pay_online
from payments import services as payments
from payments.providers import available_methods, get_provider
from shop.backoffice.models import Store
from shop.cart import services as cart_services

from . import services
from .forms import CheckoutForm, EmailForm


def _build(request, data=None):
    """Everything the checkout page needs, for the current cart and (when posted) the shopper's choices."""
    contents = cart_services.review_cart(request.cart.token)
    store = Store.load()
    requires_shipping = any(item.product.requires_shipping for item in contents.lines)
    methods = services.shipping_methods() if requires_shipping else []
    by_id = {m.pk: m for m in methods}
    chosen = None
    if requires_shipping:
        try:
            chosen = by_id.get(int((data or {}).get("shipping_method", "")))
        except (TypeError, ValueError):
            chosen = None
        chosen = chosen or (methods[0] if methods else None)
    payment_methods = available_methods(store, pickup=bool(chosen and chosen.is_pickup))
    initial = {
        "email": contents.cart.email if contents.cart else "",
        "shipping_method": chosen.pk if chosen else None,
        "payment_method": payment_methods[0].code if payment_methods else None,
        "billing_same": True,
    }
    form = CheckoutForm(
        data,
        initial=initial,
        requires_shipping=requires_shipping,
        shipping_methods=methods,
        payment_methods=payment_methods,
    )
    lines = [item.line for item in contents.lines if item.available]
    totals = services.cart_totals(lines, chosen if requires_shipping else None)
    return {
        "contents": contents,
        "form": form,
        "store": store,
        "requires_shipping": requires_shipping,
        "shipping_methods": methods,
        "chosen_shipping": chosen,
        "payment_methods": payment_methods,
        "totals": totals,
    }


def _order_form(request):
    """The posted form, checked without reading the cart: place_order reads and checks the cart itself, under its
    lock. Whether addresses are needed follows the posted shipping method; place_order refuses a cart that needs
    shipping without one."""
    methods = services.shipping_methods()
    try:
        chosen = next((m for m in methods if m.pk == int(request.POST.get("shipping_method", ""))), None)
    except ValueError:
        chosen = None
    return CheckoutForm(
        request.POST,
        requires_shipping=chosen is not None,
        shipping_methods=methods,
        payment_methods=available_methods(Store.load(), pickup=bool(chosen and chosen.is_pickup)),
    )


@require_http_methods(["GET", "POST"])
def checkout(request):
    if request.method == "POST":
        form = _order_form(request)
        if form.is_valid():
            return _place(request, form)
    context = _build(request, request.POST if request.method == "POST" else None)
    contents = context["contents"]
    if contents.is_empty:
        messages.info(request, _("Your cart is empty."))
        return redirect("cart:detail")
    if contents.has_unavailable or (contents.notices and request.method == "POST"):
        # The stock changed under the shopper: never order other quantities than the ones they saw.
        for notice in contents.notices:
            messages.warning(request, notice)
        if contents.has_unavailable:
            messages.error(request, _("Please remove the products that are no longer available before ordering."))
        return redirect("cart:detail")
    for notice in contents.notices:
        messages.warning(request, notice)
    if request.method == "POST":
        email = EmailForm({"email": request.POST.get("email", "")})
        if email.is_valid():  # kept even when the rest is incomplete: abandoned-cart recovery needs it
            services.save_contact_email(request.cart.token, email.cleaned_data["email"])
        messages.error(request, _("Please check the highlighted fields."))
    return render(request, "storefront/checkout.html", context)


def _place(request, form):
    data = services.CheckoutData(
        email=form.cleaned_data["email"],
        phone=form.cleaned_data["phone"],
        payment_method=form.cleaned_data["payment_method"],
        shipping_method_id=form.cleaned_data["shipping_method"],
        shipping=form.address("shipping"),
        billing=form.address("billing"),
    )
    try:
        order = services.place_order(request.cart.token, data, get_language())
    except services.CheckoutError as error:
        messages.error(request, str(error))
        return redirect("cart:detail" if error.to_cart else "checkout:checkout")
    request.cart.forget()
    if can_pay_online(order):
        try:
            return redirect(payments.start_payment(order, request))
        except payments.PaymentError as error:
            messages.error(request, str(error))
    messages.success(request, _("Thank you! Your order %(number)s has been placed.") % {"number": order.number})
    return redirect(order.get_absolute_url())


@require_POST
def checkout_summary(request):
    """htmx: the order summary (and the payment methods, which depend on pickup) for the current choices."""
    context = _build(request, request.POST)
    email = EmailForm({"email": request.POST.get("email", "")})
    context["email_saved"] = email.is_valid() and services.save_contact_email(
        request.cart.token, email.cleaned_data["email"]
    )
    return render(request, "storefront/includes/checkout_summary.html", {**context, "oob": True})


@require_GET
def order_detail(request, token):
    order = get_object_or_404(Order.objects.prefetch_related("lines", "payments"), token=token)
    provider = get_provider(order.payment_method)
    store = Store.load()
    context = {
        "order": order,
        "store": store,
        "provider": provider,
        "instructions": provider.instructions(order, store) if provider else "",
        "can_pay": can_pay_online(order),
        "pending": any(p.status == "pending" for p in order.payments.all()),
        "failed": [p for p in order.payments.all() if p.status == "failed"],
    }
    template = "storefront/includes/order_status.html" if request.htmx else "storefront/order.html"
    return render(request, template, context)


@require_POST
def order_pay(request, token):
    order = get_object_or_404(Order, token=token)
    try:
        return redirect(payments.start_payment(order, request))
    except payments.PaymentError as error:
        messages.error(request, str(error))
        return redirect(reverse("checkout:order", kwargs={"token": order.token}))
