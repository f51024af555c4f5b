"""Settings → General · Payment · Shipping. Staff only; thin: parse with a form, call one service, render.

Every form is posted back to its own page: on success we redirect (so a reload doesn't post twice) with a message;
on bad input the page is rendered again, status 200, with what the merchant typed and a message at each field."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from payments.models import PaymentMethod
from shop.checkout.models import ShippingMethod

from . import payment_setup, services
from .forms import PaymentSettingsForm, ShippingMethodForm, ShippingRemoveForm, StoreGeneralForm
from .models import Store
from .views import staff_required

CHECK_FIELDS = gettext_lazy("Please correct the highlighted fields. Nothing has been saved yet.")


@staff_required
def index(request):
    return redirect("backoffice:settings_general")


@staff_required
@require_http_methods(["GET", "POST"])
def general(request):
    post = request.method == "POST"
    form = StoreGeneralForm(request.POST if post else None, request.FILES if post else None, instance=Store.load())
    if form.is_bound:
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in StoreGeneralForm.Meta.fields}
            if data["logo"] is None:  # no new file: keep the logo (False: the merchant cleared it)
                del data["logo"]
            elif data["logo"] is False:
                data["logo"] = ""
            services.update_store(data)
            messages.success(request, _("General settings saved."))
            return redirect("backoffice:settings_general")
        messages.error(request, CHECK_FIELDS)
    return render(request, "backoffice/settings/general.html", {"form": form})


@staff_required
@require_http_methods(["GET", "POST"])
def payment(request):
    store = Store.load()
    enabled_before = PaymentMethod.enabled_codes()
    if request.method == "POST":
        order = services.ordered_payment_codes(request.POST.getlist("order"))
        form = PaymentSettingsForm(request.POST, order_of_codes=order, enabled_before=enabled_before)
        if form.is_valid():
            services.save_payment_settings(form.order_of_codes, form.cleaned_data["enabled"], form.bank_data())
            messages.success(request, _("Payment settings saved."))
            moved = request.POST.get("move", "").partition(":")[0]
            anchor = f"#method-{moved}" if moved in form.order_of_codes else ""
            return redirect(reverse("backoffice:settings_payment") + anchor)
        messages.error(request, CHECK_FIELDS)
    else:
        form = saved_payment_form(store, enabled_before)
    return payment_page(request, form, store)


def saved_payment_form(store, enabled_before) -> PaymentSettingsForm:
    """Settings → Payment as saved."""
    initial = {name: getattr(store, name) for name in PaymentSettingsForm.BANK_FIELDS}
    initial["datatrans_auto_settle"] = "1" if store.datatrans_auto_settle else "0"
    initial["enabled"] = enabled_before
    return PaymentSettingsForm(
        initial=initial, order_of_codes=services.ordered_payment_codes(), enabled_before=enabled_before
    )


def payment_page(request, form, store, checks=None):
    """The page: the providers' blocks (``checks``: the connection checks just made, shown in their open blocks),
    the methods with their order, the warning when two of them take the same thing, the bank and invoice details."""
    rows = form.rows()
    context = {
        "form": form,
        "store": store,
        "rows": rows,
        "accounts": payment_setup.accounts(rows, store, checks),
        "overlaps": payment_setup.overlaps(rows),
    }
    return render(request, "backoffice/settings/payment.html", context)


@staff_required
@require_POST
def payment_check(request, account):
    """ "Check the connection": ask the provider whether it takes the configured keys (no database lock is held: the
    view writes nothing). With htmx, the outcome replaces its small area of the page; without JavaScript, the page
    again with the outcome in the provider's open block."""
    result = payment_setup.check(account)
    if result is None:
        raise Http404
    if request.htmx:
        return render(
            request, "backoffice/settings/includes/provider_check.html", {"account": {"key": account, "check": result}}
        )
    store = Store.load()
    return payment_page(request, saved_payment_form(store, PaymentMethod.enabled_codes()), store, {account: result})


@staff_required
@require_http_methods(["GET"])
def shipping(request):
    methods = list(ShippingMethod.objects.all())
    return render(
        request,
        "backoffice/settings/shipping.html",
        {"methods": methods, "none_active": not any(m.is_active for m in methods)},
    )


@staff_required
@require_http_methods(["GET", "POST"])
def shipping_edit(request, pk=None):
    if pk is None:
        method = ShippingMethod(position=services.next_shipping_position())
    else:
        method = get_object_or_404(ShippingMethod, pk=pk)
    form = ShippingMethodForm(request.POST if request.method == "POST" else None, instance=method)
    if form.is_bound:
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in services.SHIPPING_FIELDS}
            try:
                saved = services.save_shipping_method(data, pk=pk)
            except ShippingMethod.DoesNotExist as error:  # deleted meanwhile, in another tab
                raise Http404 from error
            message = _("Shipping method “%(name)s” added.") if pk is None else _("Shipping method “%(name)s” saved.")
            messages.success(request, message % {"name": saved.name})
            return redirect("backoffice:settings_shipping")
        messages.error(request, CHECK_FIELDS)
    return render(request, "backoffice/settings/shipping_form.html", {"form": form, "method": method})


@staff_required
@require_http_methods(["GET", "POST"])
def shipping_remove(request, pk):
    """The confirmation step before a method stops being offered: deactivate (recommended) or delete for good."""
    method = get_object_or_404(ShippingMethod, pk=pk)
    form = ShippingRemoveForm(request.POST if request.method == "POST" else None)
    if form.is_bound:
        if form.is_valid():
            try:
                if form.cleaned_data["action"] == "delete":
                    name = services.delete_shipping_method(pk)
                    message = _("Shipping method “%(name)s” deleted. Orders placed with it keep its name and cost.")
                else:
                    name = services.set_shipping_method_active(pk, False).name
                    message = _(
                        "Shipping method “%(name)s” is no longer offered at checkout. You can activate it again."
                    )
            except ShippingMethod.DoesNotExist as error:
                raise Http404 from error
            messages.success(request, message % {"name": name})
            return redirect("backoffice:settings_shipping")
        messages.error(request, form.errors["action"][0])
    context = {
        "method": method,
        "order_count": services.orders_using_shipping_method(pk),
        "only_active": services.is_only_active_shipping_method(method),
    }
    return render(request, "backoffice/settings/shipping_remove.html", context)


@staff_required
@require_POST
def shipping_activate(request, pk):
    try:
        method = services.set_shipping_method_active(pk, True)
    except ShippingMethod.DoesNotExist as error:
        raise Http404 from error
    messages.success(request, _("Shipping method “%(name)s” is offered at checkout again.") % {"name": method.name})
    return redirect("backoffice:settings_shipping")
