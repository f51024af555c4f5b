"""Sales → Orders and Process orders: the merchant's views of orders (staff only). Thin: parse, call a service,
render. Every change goes through ``orders.services`` or ``payments.services``."""

from datetime import datetime, time
from decimal import Decimal

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from payments import services as payments
from payments.providers import PROVIDERS, available_methods
from shop.backoffice.models import Store
from shop.backoffice.views import posted_next, staff_required
from shop.cart.models import Cart
from shop.catalog.models import Product
from shop.money import format_chf

from . import export, services, status, stock
from .forms import (
    SORTS,
    ConfirmForm,
    EditLineFormSet,
    LineFormSet,
    ManualOrderForm,
    NewLineFormSet,
    NoteForm,
    OrderEditForm,
    OrderFilterForm,
    RecordPaymentForm,
    RefundForm,
    TrackingForm,
)
from .models import Order, OrderEvent
from .status import OPEN_FULFILMENT, FulfilmentStatus, PaymentStatus, TransitionError

PER_PAGE = 50
COUNT_CAP = 10_000  # beyond this the list says "10,000+" instead of counting a million rows on every page
STATUS_COUNTS_TTL = 30  # seconds: the per-status counts scan the whole table, so they are cached briefly


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows (a COUNT over a LIMIT subquery), so big lists stay fast to page through."""

    @cached_property
    def count(self):
        return self.object_list[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP


def status_counts() -> dict:
    counts = cache.get("orders:status_counts")
    if counts is None:
        counts = dict(Order.objects.values_list("payment_status").annotate(n=Count("id")).order_by())
        cache.set("orders:status_counts", counts, STATUS_COUNTS_TTL)
    return counts


LIST_FIELDS = (
    "id",
    "number",
    "created_at",
    "email",
    "billing_name",
    "shipping_name",
    "total",
    "currency",
    "payment_method",
    "payment_status",
    "fulfilment_status",
    "is_test",
    "needs_attention",
)


def filtered_orders(form: OrderFilterForm):
    """The orders the filter form selects (all orders when it is invalid: the page says why)."""
    orders = Order.objects.filter(number__isnull=False)
    if not form.is_valid():
        return orders.order_by(*SORTS["-created"])
    data = form.cleaned_data
    if data["payment_status"]:
        orders = orders.filter(payment_status=data["payment_status"])
    if data["fulfilment_status"]:
        orders = orders.filter(fulfilment_status=data["fulfilment_status"])
    if data["payment_method"]:
        orders = orders.filter(payment_method=data["payment_method"])
    tz = timezone.get_current_timezone()
    if data["date_from"]:
        orders = orders.filter(created_at__gte=datetime.combine(data["date_from"], time.min, tz))
    if data["date_to"]:
        orders = orders.filter(created_at__lte=datetime.combine(data["date_to"], time.max, tz))
    if data["test"] == "exclude":
        orders = orders.filter(is_test=False)
    elif data["test"] == "only":
        orders = orders.filter(is_test=True)
    if data["attention"] == "yes":
        orders = orders.filter(needs_attention=True)
    elif data["attention"] == "refund":  # paid after a cancel, or paid twice: listed for a one-click refund
        orders = orders.filter(payments__surplus__gt="").distinct()
    query = data["q"]
    if query:
        number = query.lstrip("#")
        if number.isascii() and number.isdigit() and len(number) < 10:  # "²" is a digit to str.isdigit
            orders = orders.filter(number=int(number))
        elif "@" in query:
            orders = orders.filter(email__iexact=query) if " " not in query else orders.none()
        else:
            orders = orders.filter(
                Q(billing_name__icontains=query) | Q(shipping_name__icontains=query) | Q(email__icontains=query)
            )
    return orders.order_by(*SORTS[data["sort"] or "-created"])


@staff_required
@require_GET
def order_list(request):
    form = OrderFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, errors[0])
    orders = filtered_orders(form)
    page = CappedPaginator(orders.only(*LIST_FIELDS), PER_PAGE).get_page(request.GET.get("page"))
    seen = _int(request.GET.get("seen"))
    context = {"form": form, "page": page, "seen": seen, "query_string": _query_string(request, exclude={"page"})}
    if request.htmx and request.GET.get("fragment") == "rows":
        return render(request, "backoffice/orders/rows.html", context)
    counts = status_counts()
    context.update(
        latest_id=Order.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        payment_counts=[(value, label, counts.get(value, 0)) for value, label in PaymentStatus.choices],
    )
    return render(request, "backoffice/orders/list.html", context)


@staff_required
@require_GET
def order_export(request):
    """The filtered list as CSV for Excel (``orders.export``): ``;``-separated, names instead of codes, formulas
    defused. ``?sep=comma`` separates with commas; ``?lines=1`` writes one row per order line."""
    return export.orders_csv(filtered_orders(OrderFilterForm(request.GET or None)), request.GET)


def payment_hint(order) -> str:
    """What the merchant should do about the payment, in plain words."""
    provider = PROVIDERS.get(order.payment_method)
    if order.payment_status == PaymentStatus.PAID:
        return _("Paid — ready to hand over") if order.is_pickup else _("Paid — ready to ship")
    if order.payment_status == PaymentStatus.REFUNDED:
        return _("Refunded in full")
    if order.payment_status == PaymentStatus.PARTIALLY_REFUNDED:
        return _("Partly refunded")
    if order.payment_status == PaymentStatus.CANCELLED:
        return _("Cancelled")
    if provider is None:
        return _("Check the payment")
    if provider.is_online:
        return _("Online payment not processed — check with the provider")
    return {
        "bank_transfer": _("Bank transfer — contact the customer for payment"),
        "invoice": _("Invoice — wait for the customer's payment"),
        "phone": _("Phone order — call the customer to take the payment"),
        "cash_on_pickup": _("Cash on pickup — collect the payment at pickup"),
    }.get(order.payment_method, _("Check the payment"))


@staff_required
@require_GET
def process_orders(request):
    orders = payments.with_paid_amount(
        Order.objects.filter(
            number__isnull=False,
            fulfilment_status__in=OPEN_FULFILMENT,
            payment_status__in=[PaymentStatus.PAID, PaymentStatus.AWAITING_PAYMENT],
        )
        .only(*LIST_FIELDS, "is_pickup", "requires_shipping")
        .order_by("created_at", "id")
    )
    page = Paginator(orders, PER_PAGE).get_page(request.GET.get("page"))
    for order in page.object_list:
        order.balance_due = max(order.total - order.paid, 0)  # what "Record payment" records (a part may be paid)
        order.hint = payment_hint(order)
        order.offline = not getattr(PROVIDERS.get(order.payment_method), "is_online", False)
        order.can_record_payment = status.can_record_payment(order)
        order.moves = status.fulfilment_moves(order)
    return render(request, "backoffice/orders/process.html", {"page": page})


@staff_required
@require_GET
def order_detail(request, number):
    order = get_object_or_404(
        Order.objects.prefetch_related("lines", "payments__refunds", "payments__webhook_events"), number=number
    )
    events = order.events.select_related("user")
    moves = status.fulfilment_moves(order)
    paid = payments.paid_amount(order)
    owing = order.payment_status == PaymentStatus.AWAITING_PAYMENT or order.payment_status == PaymentStatus.PAID
    balance_due = max(order.total - paid, Decimal("0.00")) if owing else Decimal("0.00")  # nothing after a refund
    refund_due = max(paid - order.total, Decimal("0.00"))
    held = sum(stock.held(order).values())
    context = {
        "order": order,
        "events": events,
        "moves": [(move, move_label(order, move)) for move in moves],
        "can_ship": status.may_ship(order),
        "ship_needs_confirmation": services.outstanding_payment(order, balance_due) > 0,
        "digital_to_deliver": status.delivery(order) == status.Delivery.DIGITAL and FulfilmentStatus.DELIVERED in moves,
        "balance_due": balance_due,
        "paid": paid,
        "refund_due": refund_due,
        "held": held,
        "hint": payment_hint(order),
        "can_record_payment": status.can_record_payment(order),
        "can_cancel": status.can_cancel(order),
        "can_edit": status.can_edit(order),
        "can_pay_online": status.can_pay_online(order),
        "payment_form": RecordPaymentForm(initial={"amount": balance_due, "paid_on": timezone.localdate()}),
        "tracking_form": TrackingForm(
            initial={"tracking_number": order.tracking_number, "carrier": order.tracking_carrier or "swiss_post"}
        ),
        "note_form": NoteForm(),
        # failed e-mails the merchant has not sent again with success
        "failed_emails": order.emails.filter(status="failed").exclude(resends__status="sent").count(),
        "can_refund": status.can_refund(order),
        "refund_form": RefundForm(initial={"amount": refund_due or None, "restock": stock.restock_by_default(order)}),
        "can_send_payment_link": status.needs_payment(order),
        "confirm_form": ConfirmForm(),
        "Type": OrderEvent.Type,
    }
    return render(request, "backoffice/orders/detail.html", context)


def move_label(order, move) -> str:
    """The button for a fulfilment move, in the merchant's words."""
    if move == FulfilmentStatus.DELIVERED and order.is_pickup:
        return _("Mark picked up")
    return {
        FulfilmentStatus.PROCESSING: _("Start processing"),
        FulfilmentStatus.READY_FOR_PICKUP: _("Mark ready for pickup"),
        FulfilmentStatus.SHIPPED: _("Mark shipped"),
        FulfilmentStatus.DELIVERED: _("Mark delivered"),
        FulfilmentStatus.RETURNED: _("Mark returned"),
        FulfilmentStatus.WILL_NOT_DELIVER: _("Will not deliver"),
    }[move]


FULFILMENT_ACTIONS = {
    "processing": services.start_processing,
    "ready_for_pickup": services.mark_ready_for_pickup,
    "delivered": services.mark_delivered,
    "will_not_deliver": services.mark_will_not_deliver,
    "returned": services.mark_returned,
}


@staff_required
@require_POST
def order_action(request, number):
    order = get_object_or_404(Order, number=number)
    action = request.POST.get("action", "")
    back = posted_next(request)
    try:
        message = _perform(request, order, action)
    except services.UnpaidShipment as error:
        # Asked, not refused: the same request again with "ship anyway" ticked ships the order.
        fields = [(k, v) for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "unpaid_ok")]
        context = {"order": order, "question": str(error), "fields": fields, "back": back}
        return render(request, "backoffice/orders/confirm_ship.html", context, status=409)
    except TransitionError as error:
        messages.error(request, str(error))
    except payments.RefundPending as error:  # the provider did not answer: neither made nor refused yet
        messages.warning(request, str(error))
    except payments.PaymentError as error:
        messages.error(request, str(error))
    else:
        if message:
            messages.success(request, message)
        if action == "delete_test" and message:
            return redirect("backoffice:orders")
    if back:
        return redirect(back)
    return redirect("backoffice:order", number=order.number)


def _perform(request, order, action) -> str:
    user = request.user
    if action in FULFILMENT_ACTIONS:
        FULFILMENT_ACTIONS[action](order, user=user)
        return _("Fulfilment status changed to “%(status)s”.") % {"status": FulfilmentStatus(action).label}
    if action == "record_payment":
        form = RecordPaymentForm(request.POST)
        if request.POST.get("amount") is None:  # one-click from Process orders: the balance, today
            form = RecordPaymentForm({"amount": payments.balance_due(order), "paid_on": timezone.localdate()})
        if not form.is_valid():
            raise TransitionError(_first_error(form))
        data = form.cleaned_data
        payments.record_offline_payment(order, data["amount"], user=user, note=data["note"], paid_on=data["paid_on"])
        return _("Payment recorded.")
    unpaid_ok = request.POST.get("unpaid_ok") == "on"
    if action == "shipped":
        services.ship_order(order, unpaid_ok=unpaid_ok, user=user)
        return _("Fulfilment status changed to “%(status)s”.") % {"status": FulfilmentStatus.SHIPPED.label}
    if action in ("tracking", "tracking_shipped"):
        form = TrackingForm(request.POST)
        if not form.is_valid():
            raise TransitionError(_first_error(form))
        number, carrier = form.cleaned_data["tracking_number"], form.cleaned_data["carrier"]
        if action == "tracking_shipped":
            services.ship_order(order, tracking_number=number, carrier=carrier, unpaid_ok=unpaid_ok, user=user)
            return _("Tracking number saved; the order is marked shipped.")
        services.assign_tracking(order, number, carrier, user)
        return _("Tracking number saved.")
    if action == "refund":
        form = RefundForm(request.POST)
        if not form.is_valid():
            raise TransitionError(_first_error(form))
        data = form.cleaned_data
        restocked = services.refund_order(order, data["amount"], restock=data["restock"], user=user, note=data["note"])
        message = _("Refund of %(amount)s recorded; the customer is told by e-mail.") % {
            "amount": format_chf(data["amount"])
        }
        if restocked:
            message += " " + _("%(count)d items are back in stock.") % {"count": sum(restocked.values())}
        return message
    if action == "refund_surplus":
        payment = order.payments.filter(pk=_int(request.POST.get("payment"))).first()
        if payment is None:
            raise TransitionError(_("This payment is not to be refunded."))
        amount = payments.refund_surplus(payment, user=user)
        return _("%(amount)s refunded to the customer.") % {"amount": format_chf(amount)}
    if action == "payment_link":
        payments.send_payment_link(order, user)
        return _("The payment link is on its way to %(email)s.") % {"email": order.email}
    if action == "note":
        form = NoteForm(request.POST)
        if not form.is_valid():
            raise TransitionError(_first_error(form))
        services.add_note(order, form.cleaned_data["text"], user)
        return _("Note added.")
    if action in ("cancel", "delete_test"):
        form = ConfirmForm(request.POST)
        if not form.is_valid():
            raise TransitionError(_first_error(form))
        if action == "cancel":
            held = sum(stock.held(order).values())
            services.cancel_order(order, user=user, reason=form.cleaned_data["reason"])
            if held:
                return _("Order cancelled; %(count)d items are back in stock.") % {"count": held}
            return _("Order cancelled.")
        services.delete_test_order(order)
        return _("Test order %(number)s deleted.") % {"number": order.number}
    raise TransitionError(_("Unknown action."))


def _int(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19 else None


def _first_error(form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return ""


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _query_string(request, exclude=()):
    params = request.GET.copy()
    for key in (*exclude, "fragment", "seen"):
        params.pop(key, None)
    return params.urlencode()


def _manual_payment_methods():
    store = Store.load()
    methods = {p.code: p for p in available_methods(store, pickup=True)}
    methods.setdefault("phone", PROVIDERS["phone"])  # a phone order is always possible by hand
    return list(methods.values())


def _product_choices():
    return Product.objects.filter(is_active=True).only("sku", "name", "price").order_by("name")[:500]


@staff_required
@require_http_methods(["GET", "POST"])
def order_create(request):
    """Create an order by hand (phone orders). ``?cart=<pk>`` ("Place this order" on an abandoned cart's page): the
    form starts from that open cart (its items, e-mail, name, language and shipping method), and the order is placed
    from it, which marks it ordered (and won back, when a reminder went out about it)."""
    methods = _manual_payment_methods()
    initial = {"payment_method": "phone", "notify_customer": True}
    line_initial = None
    from_cart = None
    if request.method == "GET" and "cart" in request.GET:
        from_cart = _open_cart(request.GET["cart"])
        if from_cart is None:
            if request.GET["cart"]:
                messages.error(request, _("This cart is no longer open: it may have been ordered meanwhile."))
        else:
            initial.update(ManualOrderForm.initial_from_cart(from_cart))
            line_initial = [
                {"product": line.product.sku, "quantity": line.quantity}
                for line in from_cart.lines.select_related("product")
            ]
    posted = request.POST if request.method == "POST" else None  # an empty post is bound too: it gets its errors
    form = ManualOrderForm(posted, payment_methods=methods, initial=initial)
    lines = LineFormSet(posted, prefix="lines", initial=line_initial)
    if request.method == "POST":
        if form.is_valid() and lines.is_valid():
            items = [
                services.Item(row["product"], row["quantity"], row.get("unit_price"))
                for row in lines.cleaned_data
                if row.get("product")
            ]
            data = form.cleaned_data
            try:
                order = services.create_manual_order(
                    services.NewOrder(
                        items=items,
                        email=data["email"],
                        payment_method=data["payment_method"],
                        language=data["language"],
                        phone=data["phone"],
                        shipping_method=data["shipping_method"],
                        shipping_cost=data["shipping_cost"] if data["shipping_method"] else None,
                        shipping=form.address(),
                        billing=form.address(),
                        confirm=data["notify_customer"],
                        cart=data["cart"],
                    ),
                    request.user,
                    mark_as_paid=data["mark_paid"],
                    processing=data["start_processing"],
                    payment_link=data["send_payment_link"],
                )
            except TransitionError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Order %(number)s created.") % {"number": order.number})
                return redirect("backoffice:order", number=order.number)
        elif "cart" in form.errors:  # ordered meanwhile: say so, rather than only "check the fields"
            messages.error(request, form.errors["cart"][0])
        else:
            messages.error(request, _("Please check the highlighted fields."))
        from_cart = form.cleaned_data.get("cart")
        lines = _as_posted(lines, lambda: LineFormSet(prefix="lines"))
    return render(
        request,
        "backoffice/orders/create.html",
        {"form": form, "lines": lines, "products": _product_choices(), "from_cart": from_cart},
    )


def _as_posted(formset, fresh):
    """The formset to show again after a failed post: as posted, or ``fresh()`` when the post lacked the formset's
    management fields (an empty or hand-made post), which would show no rows at all."""
    return formset if formset.management_form.is_valid() else fresh()


def _open_cart(value):
    """The open cart behind ``?cart=`` (from an abandoned cart's page), or None for anything else."""
    if not str(value).isascii() or not str(value).isdigit() or len(value) > 18:
        return None
    return Cart.objects.filter(pk=int(value), status=Cart.Status.OPEN).select_related("shipping_method").first()


@staff_required
@require_http_methods(["GET", "POST"])
def order_edit(request, number):
    order = get_object_or_404(Order, number=number)
    current = list(order.lines.all())
    initial = {name: getattr(order, name) for name in services.EDITABLE_FIELDS}
    posted = request.POST if request.method == "POST" else None  # an empty post is bound too: it gets its errors
    form = OrderEditForm(posted, initial=initial)
    line_initial = [{"line": line.pk, "quantity": line.quantity, "unit_price": line.unit_price} for line in current]
    line_ids = [line.pk for line in current]
    lines = EditLineFormSet(posted, prefix="lines", initial=line_initial, line_ids=line_ids)
    new_lines = NewLineFormSet(posted, prefix="new")
    if request.method == "POST":
        if form.is_valid() and lines.is_valid() and new_lines.is_valid():
            changes = [
                services.LineChange(row["line"], row["quantity"], row["unit_price"]) for row in lines.cleaned_data
            ] + [
                services.LineChange(None, row["quantity"], row["unit_price"] or row["product"].price, row["product"])
                for row in new_lines.cleaned_data
                if row.get("product")
            ]
            adjust = form.cleaned_data["adjust_stock"]
            try:
                services.edit_order(order, form.cleaned_data, changes, request.user, adjust_stock=adjust)
            except TransitionError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("Order saved; stock follows the new quantities.")
                    if adjust
                    else _("Order saved. Stock was not changed."),
                )
                return redirect("backoffice:order", number=order.number)
        else:
            for error in lines.non_form_errors():
                messages.error(request, error)
            messages.error(request, _("Please check the highlighted fields."))
            lines = _as_posted(lines, lambda: EditLineFormSet(prefix="lines", initial=line_initial, line_ids=line_ids))
            new_lines = _as_posted(new_lines, lambda: NewLineFormSet(prefix="new"))
    rows = list(zip(current, lines.forms, strict=False))
    context = {
        "order": order,
        "form": form,
        "lines": lines,
        "rows": rows,
        "new_lines": new_lines,
        "products": _product_choices(),
        "paid": payments.paid_amount(order),
    }
    return render(request, "backoffice/orders/edit.html", context)
