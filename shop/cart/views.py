"""Cart pages. With htmx, actions answer a fragment (and the header count out of band); without JavaScript they
answer a redirect, with the outcome in a message. Bad input is answered with a message, never an error page."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.views.decorators.http import require_POST, require_safe

from . import services
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
