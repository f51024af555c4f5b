"""Cart pages. With htmx, actions answer a fragment (and the header count out of band); without JavaScript they
answer a redirect, with the outcome in a message. Bad input is answered with a message, never an error page."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import recovery, services
from .forms import AddToCartForm, LineForm, UpdateLineForm, first_error


def _back(request, default="cart:detail"):
    """Where a non-JavaScript form post returns: the page it came from when that is ours, else the cart."""
    target = request.POST.get("next", "")
    # A path of ours only ("/en/p/…"): anything else — another site, or a bare word that redirect() would take for a
    # view name — goes to the default.
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return redirect(default)


@require_safe
def cart_detail(request):
    contents = services.review_cart(request.cart.token)
    for notice in contents.notices:
        messages.warning(request, notice)
    return render(request, "storefront/cart.html", {"contents": contents})


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    ok, message = False, ""
    if form.is_valid():
        try:
            cart, message = services.add_to_cart(
                request.cart.token, form.cleaned_data["product"], form.cleaned_data["quantity"], get_language()
            )
            request.cart.changed(cart)
            ok = True
        except services.CartError as error:
            message = str(error)
    else:
        message = first_error(form)
    if request.htmx:
        # Answered 200 either way: htmx swaps only 2xx, and the fragment carries the error.
        return render(request, "storefront/includes/add_result.html", {"ok": ok, "message": message})
    (messages.success if ok else messages.error)(request, message)
    return redirect("cart:detail") if ok else _back(request)


def _line_action(request, form_class, action):
    form = form_class(request.POST)
    if form.is_valid():
        try:
            message = action(form.cleaned_data)
            request.cart.changed()
            messages.success(request, message)
        except services.CartError as error:
            messages.error(request, str(error))
    else:
        messages.error(request, first_error(form))
    if request.htmx:
        contents = services.review_cart(request.cart.token)
        for notice in contents.notices:
            messages.warning(request, notice)
        return render(request, "storefront/includes/cart_body.html", {"contents": contents, "oob": True})
    return redirect("cart:detail")


@require_POST
def cart_update(request):
    return _line_action(
        request,
        UpdateLineForm,
        lambda data: services.update_line(request.cart.token, data["line"], data["quantity"]),
    )


@require_POST
def cart_remove(request):
    return _line_action(request, LineForm, lambda data: services.remove_line(request.cart.token, data["line"]))


def _recovery_failed(request, error):
    """The link can't restore a cart: say why (invalid: 400; expired, ordered, purged or emptied: 410)."""
    status = 400 if isinstance(error, recovery.InvalidLink) else 410
    return render(request, "storefront/cart_recover.html", {"error": str(error)}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def cart_recover(request, signed):
    """The link of a cart reminder: it makes the reminded cart this browser's cart, and checkout follows, filled in
    with what the shopper chose before. When this browser has a cart with items of its own, the shopper chooses
    first: add them to the recovered cart, or give them up (a POST with ``mode``)."""
    mode = request.POST.get("mode", "") if request.method == "POST" else ""
    if mode not in ("merge", "replace"):
        mode = ""
    try:
        restored = recovery.restore_cart(signed, request.cart.token, mode=mode)
    except recovery.RecoveryError as error:
        return _recovery_failed(request, error)
    if restored.needs_choice:
        lines = restored.cart.lines.select_related("product")
        return render(request, "storefront/cart_recover.html", {"signed": signed, "lines": lines})
    request.cart.changed(restored.cart)
    messages.success(request, _("Welcome back! Your cart is ready."))
    # Sold-out or withdrawn products must leave the cart before ordering: the cart page says which (it reviews the
    # cart again, so only the other notices — the quantities changed just now — are told here). Otherwise checkout.
    unavailable = services.review_cart(restored.cart.token).notices
    for notice in restored.notices:
        if notice not in unavailable:
            messages.warning(request, notice)
    return redirect("cart:detail" if unavailable else "checkout:checkout")
