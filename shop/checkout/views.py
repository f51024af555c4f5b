"""Checkout and the shopper's order page. Thin: parse, call a service, render. Totals come from the server only."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from notifications.models import EmailSettings
from orders.models import Order
from orders.status import PaymentStatus, can_pay_online, needs_payment
from payments import services as payments
from payments import tasks as payment_tasks
from payments.models import Payment, PaymentMethod
from payments.providers import available_methods, get_provider, method_offers
from shop.backoffice.models import Store
from shop.cart import services as cart_services

from . import services
from .forms import CheckoutForm


def _payment_choices(store, methods, chosen, lines, total):
    """Every payment method this checkout can show, whatever the shopper picks as delivery, each with the deliveries
    it is offered with ("pickup", "delivery"), those it is shown unavailable with because it can't take the amount
    (TWINT above its limit: ``refused_with``, and why: ``refusal``), and which of these it is for the current choice.

    The page renders all of them once and never redraws them (see static/js/checkout.js): a method not offered for the
    current delivery is disabled, and hidden unless it is refused with its reason; it is shown again in place when the
    shopper changes the delivery. Which deliveries a method goes with is still the providers' decision
    (``method_offers``), taken here on the server.
    """
    kinds = {True: "pickup", False: "delivery"}
    reachable = {m.is_pickup for m in methods} or {False}  # no shipping (digital cart): as a delivery
    now_pickup = bool(chosen and chosen.is_pickup)
    # the amount of each kind of delivery: the current choice's total (``total``) for its own kind, the lowest total
    # for the other (a method that takes it is offered with that kind; placing the order checks the exact total)
    amounts: dict[bool, object] = {}
    for method in methods:
        amount = services.cart_totals(lines, method).total
        amounts[method.is_pickup] = min(amount, amounts.get(method.is_pickup, amount))
    amounts[now_pickup] = total
    offered_with: dict[str, list[str]] = {}
    refused_with: dict[str, list[str]] = {}
    refusals: dict[str, str] = {}
    providers = {}
    for pickup in sorted(reachable):
        for offer in method_offers(store, pickup=pickup, amount=amounts.get(pickup, total)):
            code = offer.method.code
            providers[code] = offer.method
            if offer.refusal:
                refused_with.setdefault(code, []).append(kinds[pickup])
                refusals[code] = offer.refusal
            else:
                offered_with.setdefault(code, []).append(kinds[pickup])
    now = kinds[now_pickup]
    position = {code: index for index, code in enumerate(PaymentMethod.enabled_codes())}
    return [
        {
            "method": providers[code],
            "offered_with": " ".join(offered_with.get(code, [])),
            "refused_with": " ".join(refused_with.get(code, [])),
            "refusal": refusals.get(code, ""),
            "offered": now in offered_with.get(code, []),
            "refused": now in refused_with.get(code, []),
        }
        for code in sorted(providers, key=lambda code: position.get(code, len(position)))
    ]


def _build(request, data=None):
    """Everything the checkout page needs, for the current cart and (when posted) the shopper's choices.

    Before anything is posted the page starts from what the cart kept of an earlier visit (``save_checkout_choices``;
    a recovery link brings it to any browser): the e-mail, the name, the shipping and payment methods when they are
    still offered, the consent to reminders. The chosen delivery, the payment methods and the totals follow."""
    contents = cart_services.review_cart(request.cart.token)
    cart = contents.cart
    store = Store.load()
    requires_shipping = any(item.product.requires_shipping for item in contents.lines)
    methods = services.shipping_methods() if requires_shipping else []
    by_id = {m.pk: m for m in methods}
    chosen = None
    if requires_shipping:
        if data is None:
            chosen = by_id.get(cart.shipping_method_id) if cart else None
        else:
            try:
                chosen = by_id.get(int(data.get("shipping_method", "")))
            except (TypeError, ValueError):
                chosen = None
        chosen = chosen or (methods[0] if methods else None)
    lines = [item.line for item in contents.lines if item.available]
    totals = services.cart_totals(lines, chosen if requires_shipping else None)
    payment_methods = available_methods(store, pickup=bool(chosen and chosen.is_pickup), amount=totals.total)
    offered = [p.code for p in payment_methods]
    # The shopper's choice when it is offered; when they have not chosen yet, the one the cart kept if this delivery
    # offers it, else the first one; none when they chose one that this delivery does not offer (the form's error
    # then asks them to choose).
    posted = (data or {}).get("payment_method") or ""
    default_payment = offered[0] if offered else None
    if data is None and cart and cart.payment_method in offered:
        default_payment = cart.payment_method
    chosen_payment = posted if posted in offered else (None if posted else default_payment)
    asks_consent = EmailSettings.load().cart_reminder_consent
    initial = {
        "email": cart.email if cart else "",
        "shipping_method": chosen.pk if chosen else None,
        "payment_method": default_payment,
        "billing_same": True,
        "reminder_consent": bool(cart and cart.reminder_consent),
    }
    if cart and cart.shopper_name:
        # the name goes where this delivery asks for it: the shipping address, or the billing one (pickup, digital)
        asks_shipping_address = requires_shipping and not (chosen and chosen.is_pickup)
        initial["shipping_name" if asks_shipping_address else "billing_name"] = cart.shopper_name
    form = CheckoutForm(
        data,
        initial=initial,
        requires_shipping=requires_shipping,
        shipping_methods=methods,
        payment_methods=payment_methods,
        asks_consent=asks_consent,
    )
    return {
        "contents": contents,
        "form": form,
        "store": store,
        "requires_shipping": requires_shipping,
        "shipping_methods": methods,
        "chosen_shipping": chosen,
        "payment_methods": payment_methods,
        "payment_choices": _payment_choices(store, methods, chosen, lines, totals.total),
        "payment_offer": " ".join(offered),
        "chosen_payment": chosen_payment,
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
        asks_consent=EmailSettings.load().cart_reminder_consent,
    )


@require_http_methods(["GET", "HEAD", "POST"])
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
        # kept even when the rest is incomplete: abandoned-cart recovery needs it
        services.save_checkout_choices(request.cart.token, request.POST, get_language())
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
    """htmx: the order summary for the current choices. It replaces the summary only, which holds no input: what the
    shopper is clicking, typing or has focused is never redrawn (issue #10).

    The payment methods are redrawn (out of band) only when the methods the page offers (``payment_offer``, kept up
    to date by static/js/checkout.js the moment the delivery changes) differ from the server's: the merchant changed
    them meanwhile, or the script did not run. The script then keeps the shopper's current choice and the focus."""
    context = _build(request, request.POST)
    context["email_saved"] = services.save_checkout_choices(request.cart.token, request.POST, get_language())
    context["redraw_payment"] = request.POST.get("payment_offer") != context["payment_offer"]
    return render(request, "storefront/includes/checkout_summary.html", {**context, "oob": True})


RETURNS = ("returned", "cancelled", "failed")  # ?payment=… on the way back from the provider's page


def _payment_state(order, returned: str) -> dict:
    """What the order page says of an online payment: being confirmed (it updates itself), cancelled, failed."""
    attempts = [p for p in order.payments.all() if get_provider(p.provider) and get_provider(p.provider).is_online]
    latest = attempts[-1] if attempts else None
    pending = latest is not None and latest.status == Payment.Status.PENDING
    can_pay = can_pay_online(order)
    state = ""
    if order.payment_status == PaymentStatus.AWAITING_PAYMENT and latest is not None:
        if pending and returned:  # just back from the provider's page; otherwise "Pay now" opens it again
            state = {"cancelled": "cancelled", "failed": "failed"}.get(returned, "confirming")
        elif latest.status == Payment.Status.FAILED and returned == "cancelled":
            state = "cancelled"  # the provider's webhook told first (Datatrans): still the shopper's own choice
        elif latest.status == Payment.Status.FAILED:
            state = "expired" if latest.expires_at and latest.expires_at <= timezone.now() else "failed"
    offers = []
    if needs_payment(order) and state != "confirming":
        offers = method_offers(
            Store.load(), pickup=order.is_pickup, test=order.is_test, amount=payments.balance_due(order)
        )
    # the order's own method when it can't take what is due (TWINT above its limit): no "Pay now", but why not
    own = next((offer.refusal for offer in offers if offer.method.code == order.payment_method), "")
    others = [offer for offer in offers if offer.method.code != order.payment_method]
    return {
        "can_pay": can_pay and not own,
        "own_refusal": own if can_pay else "",
        "payment_state": state,
        "latest_payment": latest,
        "returned": returned,
        "poll": state == "confirming",
        # each with the reason it can't take the amount, shown beside it (disabled); the first that can is checked
        "other_methods": others,
        "first_other": next((offer.method.code for offer in others if not offer.refusal), ""),
    }


def _check_on_return(order) -> bool:
    """Back from a provider that wants asking at once (PayPal: the approved order is captured now, not when its
    webhook comes): ask it about the open attempt. True when the attempt changed."""
    latest = order.payments.last()
    provider = get_provider(latest.provider) if latest else None
    if provider is None or not provider.check_on_return or latest.status != Payment.Status.PENDING:
        return False
    return payment_tasks.reconcile_payment(latest, via="return")


@require_safe
def order_detail(request, token):
    order = get_object_or_404(Order.objects.prefetch_related("lines", "payments"), token=token)
    provider = get_provider(order.payment_method)
    store = Store.load()
    returned = request.GET.get("payment", "")
    if returned == "returned" and not request.htmx and _check_on_return(order):
        order = get_object_or_404(Order.objects.prefetch_related("lines", "payments"), token=token)
    context = {
        "order": order,
        "store": store,
        "provider": provider,
        "instructions": provider.instructions(order, store) if provider else "",
        **_payment_state(order, returned if returned in RETURNS else ""),
    }
    template = "storefront/includes/order_status.html" if request.htmx else "storefront/order.html"
    return render(request, template, context)


@require_POST
def order_pay(request, token):
    """Pay now (again), or with another of the enabled methods (``method``): online ones go to the provider."""
    order = get_object_or_404(Order, token=token)
    method = request.POST.get("method", "")
    try:
        if method and method != order.payment_method:
            payments.choose_method(order, method)
            order.refresh_from_db()
            if not get_provider(order.payment_method).is_online:
                messages.success(request, _("Payment method changed: please see below how to pay."))
                return redirect(reverse("checkout:order", kwargs={"token": order.token}))
        return redirect(payments.start_payment(order, request))
    except payments.PaymentError as error:
        messages.error(request, str(error))
    return redirect(reverse("checkout:order", kwargs={"token": order.token}))
