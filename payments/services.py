"""Payment workflows: one function per action on an order's payments.

Every one of them takes the order's row lock first (``orders.events.lock_order``) and then reads the payments it
changes: the order lock serialises all writers of an order's payments, so the payment rows need no lock of their own.
No provider API is called while the order is locked. Dependencies run one way: ``orders.services`` calls this
module; this module calls the payment-status moves (``orders.payment_status``), the events leaf and notifications,
never ``orders.services``. Webhooks arrive through ``payments.webhooks`` and are applied by ``payments.tasks``."""

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.kinds import Kind
from notifications.services import notify
from orders import payment_status
from orders.events import lock_order, record_event
from orders.models import OrderEvent
from orders.status import PaymentStatus, can_pay_online, needs_payment
from shop.backoffice.models import Store
from shop.money import format_chf, from_minor, to_minor

from .models import Payment, Refund
from .providers import (
    RECORDED_BY_STAFF,
    EventKind,
    PaymentState,
    ProviderError,
    ProviderUnreachable,
    available_methods,
    get_provider,
    method_offers,
    provider_label,
)

logger = logging.getLogger(__name__)

Actor = OrderEvent.Actor


class PaymentError(Exception):
    """A payment action that can't be done; the message is for the user."""


class RefundPending(PaymentError):
    """A provider did not answer a refund in time (or failed): whether it refunded is unknown. The reservation stays
    pending, counted as refunded, until the provider's list of refunds or its webhook says (``settle_stale_refunds``);
    the message says so to the merchant."""


def paid_amount(order) -> Decimal:
    """Confirmed payments minus their refunds."""
    confirmed = order.payments.filter(status=Payment.Status.CONFIRMED)
    paid = confirmed.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    refunds = Refund.objects.filter(payment__in=confirmed).exclude(status=Refund.Status.FAILED)
    refunded = refunds.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    return paid - refunded


def balance_due(order) -> Decimal:
    return max(order.total - paid_amount(order), Decimal("0.00"))


def with_paid_amount(orders):
    """``orders`` annotated with ``paid`` (what ``paid_amount`` says), as subqueries: a list page shows each order's
    balance in the same number of queries whatever it holds."""
    money = DecimalField(max_digits=12, decimal_places=2)
    confirmed = Payment.objects.filter(order=OuterRef("pk"), status=Payment.Status.CONFIRMED).order_by()
    refunds = (
        Refund.objects.filter(payment__order=OuterRef("pk"), payment__status=Payment.Status.CONFIRMED)
        .exclude(status=Refund.Status.FAILED)
        .order_by()
    )
    total = {"s": Sum("amount")}
    return orders.annotate(
        paid=Coalesce(Subquery(confirmed.values("order").annotate(**total).values("s")[:1]), 0, output_field=money)
        - Coalesce(Subquery(refunds.values("payment__order").annotate(**total).values("s")[:1]), 0, output_field=money)
    )


def create_payment(order, provider_code: str, amount=None) -> Payment:
    return Payment.objects.create(
        order=order, provider=provider_code, amount=order.total if amount is None else amount, currency=order.currency
    )


def online_provider(order):
    """The order's online provider when the shopper may pay through it now; PaymentError saying why not otherwise."""
    provider = get_provider(order.payment_method)
    if provider is None or not provider.is_online:
        raise PaymentError(_("This order is paid offline."))
    if provider.test_only and not order.is_test:
        raise PaymentError(_("Test payments are for test orders only."))
    if not provider.is_configured():
        raise PaymentError(_("This payment method is not available at the moment. Please choose another one."))
    due = balance_due(order)
    if due > 0:
        try:  # an amount the method does not take (TWINT above its limit): said now, nothing recorded or asked
            provider.check_amount(to_minor(due), order.currency)
        except ProviderError as error:
            raise PaymentError(str(error)) from error
    return provider


def start_payment(order, request) -> str:
    """A payment attempt for what is still due (the open one again, while its provider session lasts); returns the
    provider's URL to send the shopper to. The provider is called after the order's lock is released."""
    provider = online_provider(order)
    with transaction.atomic():
        order = lock_order(order)
        if not can_pay_online(order):
            raise PaymentError(_("This order needs no payment."))
        payment = order.payments.filter(provider=provider.code, status=Payment.Status.PENDING).last()
        if payment is not None and payment.expires_at and payment.expires_at <= timezone.now():
            _fail(order, payment, _("The payment session expired."), Actor.SYSTEM)
            payment = None
        if payment is None:
            payment = create_payment(order, provider.code, balance_due(order))
        record_event(order, OrderEvent.Type.PAYMENT_STARTED, Actor.SHOPPER, provider=provider.code)
    try:
        redirect = provider.start(payment, request)
    except ProviderError as error:
        raise PaymentError(str(error)) from error
    if redirect.provider_reference and redirect.provider_reference != payment.provider_reference:
        with transaction.atomic():
            lock_order(payment.order_id)
            Payment.objects.filter(pk=payment.pk).update(
                provider_reference=redirect.provider_reference, expires_at=redirect.expires_at
            )
    return redirect.url


def _remember(payment, details: dict) -> None:
    """Keep what the provider told of a payment: its transaction id, the method used."""
    changed = []
    for field, key in (("transaction_reference", "transaction_reference"), ("method_detail", "method")):
        value = str(details.get(key) or "")[: Payment._meta.get_field(field).max_length]
        if value and getattr(payment, field) != value:
            setattr(payment, field, value)
            changed.append(field)
    if changed:
        payment.save(update_fields=changed)


def confirm_payment(payment, actor=Actor.PROVIDER, user=None, details=None, **data) -> bool:
    """Confirm a payment (idempotent); the order turns Paid once confirmed payments minus refunds cover its total.

    Money that arrives when nothing is due (the order was cancelled, or already paid in another tab) is confirmed
    all the same, flagged on the order, and listed for refund."""
    with transaction.atomic():
        order = lock_order(payment.order_id)
        payment = Payment.objects.get(pk=payment.pk)  # read after the order lock: current for this whole workflow
        _remember(payment, details or {})
        if not payment.confirm():
            return False
        record_event(
            order,
            OrderEvent.Type.PAYMENT_CONFIRMED,
            actor,
            user=user,
            provider=payment.provider,
            amount=str(payment.amount),
            reference=payment.reference,
            **data,
        )
        if order.payment_status == PaymentStatus.AWAITING_PAYMENT:
            if paid_amount(order) >= order.total:
                payment_status.mark_paid(order, actor, user)
        elif actor != Actor.STAFF:
            cancelled = order.payment_status == PaymentStatus.CANCELLED
            payment.surplus = Payment.Surplus.AFTER_CANCEL if cancelled else Payment.Surplus.PAID_TWICE
            payment.save(update_fields=["surplus"])
            with translation.override("en"):  # the stored reason is one language; it names the provider in it
                method = provider_label(payment.provider)
            reason = (
                f"{format_chf(payment.amount, payment.currency)} paid by {method} "
                f"({payment.reference}) "
                + ("after the order was cancelled" if cancelled else "although the order was already paid")
                + ": refund it from the payments below."
            )
            payment_status.flag_order(
                order, reason, actor, event_type=OrderEvent.Type.PAYMENT_SURPLUS, reference=payment.reference
            )
    return True


def _fail(order, payment, message, actor, **data) -> bool:
    """Fail an attempt read under the order's lock, with its timeline entry (False: already done, nothing changed)."""
    if not payment.fail(message):
        return False
    record_event(
        order,
        OrderEvent.Type.PAYMENT_FAILED,
        actor,
        provider=payment.provider,
        reference=payment.reference,
        message=message,
        **data,
    )
    return True


def fail_payment(payment, message="", actor=Actor.PROVIDER, **data) -> bool:
    """Record a failed attempt (idempotent; a failure after the confirmation changes nothing)."""
    with transaction.atomic():
        order = lock_order(payment.order_id)
        return _fail(order, Payment.objects.get(pk=payment.pk), message, actor, **data)


def apply_state(
    payment, kind, amount_minor, currency, *, message="", details=None, actor=Actor.PROVIDER, **data
) -> str:
    """What a provider said of an attempt (a webhook, or our asking it): confirm after checking the amount and the
    currency, or fail. Returns why it was not applied ("" when it was, or when there was nothing to do)."""
    if kind == EventKind.SUCCEEDED:
        if amount_minor != payment.amount_minor or currency != payment.currency:
            return flag_mismatch(payment, amount_minor, currency, actor=actor, **data)
        confirm_payment(payment, actor, details=details, **data)
    elif kind == EventKind.FAILED:
        fail_payment(payment, message or _("The payment was declined or cancelled."), actor, **data)
    elif kind == EventKind.EXPIRED:
        fail_payment(payment, message or _("The payment session expired unpaid."), actor, **data)
    elif details:
        with transaction.atomic():
            lock_order(payment.order_id)
            _remember(Payment.objects.get(pk=payment.pk), details)
    return ""


def take_authorized(payment, provider) -> PaymentState | None:
    """An attempt the provider holds authorised (PayPal approved, Datatrans not auto-settled): take the money with
    ``provider.capture``, or let it go (``provider.cancel``) when nothing is due any more (the order was cancelled or
    paid meanwhile, or the attempt was closed): money never taken is money never to refund. Call with no lock held;
    returns the state to apply (None: the attempt is confirmed already). Raises ProviderError (nothing taken)."""
    payment = Payment.objects.select_related("order").get(pk=payment.pk)
    if payment.status == Payment.Status.CONFIRMED:
        return None
    order = payment.order
    reason = ""
    if payment.status == Payment.Status.FAILED:
        reason = _("Not taken: this payment attempt had been closed.")
    elif order.payment_status == PaymentStatus.CANCELLED:
        reason = _("Not taken: the order was cancelled.")
    elif not needs_payment(order):
        reason = _("Not taken: the order was paid already.")
    if reason:
        try:
            provider.cancel(payment)
        except ProviderError as error:  # the authorisation lapses at the provider by itself
            logger.warning("Could not release %s at %s: %s", payment.reference, payment.provider, error)
        return PaymentState(EventKind.FAILED, message=reason)
    # A race with a cancellation from here on is caught when confirming: the payment is flagged to refund.
    return provider.capture(payment)


def close_open_attempts(order, message: str, actor=Actor.SYSTEM) -> int:
    """Expire the provider sessions of an order's open online attempts (the order was cancelled, or the shopper
    chose another method), then fail them; a payment that still arrives is flagged. Call outside any transaction:
    each provider is called with no lock held. Returns how many attempts were closed."""
    closed = 0
    for payment in order.payments.filter(status=Payment.Status.PENDING):
        provider = get_provider(payment.provider)
        if provider is None or not provider.is_online:
            continue
        try:
            provider.cancel(payment)
        except ProviderError as error:  # the session stays open at the provider: a late payment will be flagged
            logger.warning("Could not expire %s at %s: %s", payment.reference, payment.provider, error)
        closed += fail_payment(payment, message, actor)
    return closed


def pending_offline_payment(order) -> Payment | None:
    """The attempt a merchant's "payment received" is recorded against: a pending payment of the order's own offline
    method. A pending online attempt is never taken (its provider may still confirm it)."""
    provider = get_provider(order.payment_method)
    if provider is None or provider.is_online:
        return None
    return order.payments.filter(status=Payment.Status.PENDING, provider=provider.code).last()


def record_offline_payment(order, amount, user=None, note="", paid_on=None) -> Payment:
    """The merchant records money received (bank transfer, invoice, phone, cash, or an online order paid otherwise)."""
    with transaction.atomic():
        order = lock_order(order)
        if order.payment_status != PaymentStatus.AWAITING_PAYMENT:
            raise PaymentError(_("This order needs no payment."))
        payment = pending_offline_payment(order)
        if payment is None:
            provider = get_provider(order.payment_method)
            code = order.payment_method if provider and not provider.is_online else RECORDED_BY_STAFF
            payment = create_payment(order, code, amount)
        payment.amount = amount
        payment.note = note
        payment.save(update_fields=["amount", "note"])
        confirm_payment(payment, Actor.STAFF, user, paid_on=str(paid_on or timezone.localdate()), note=note)
    return payment


def settle_pending_amount(order, actor=Actor.STAFF, user=None) -> None:
    """After an edit changed the total: the pending attempts ask for what is now due, so that a later payment of the
    new amount is not a mismatch; when nothing is due any more, they are closed and the order is paid. Call under the
    order lock."""
    if order.payment_status != PaymentStatus.AWAITING_PAYMENT:
        return
    due = balance_due(order)
    pending = order.payments.filter(status=Payment.Status.PENDING)
    if due > 0:
        pending.exclude(amount=due).update(amount=due)
        return
    for payment in pending:
        payment.fail(_("Nothing is due any more after the order was edited"))
    if order.total > 0 or Store.load().zero_total_status == PaymentStatus.PAID:
        payment_status.mark_paid(order, actor, user, reason="edited")


def _refundable(payment) -> Decimal:
    refunds = payment.refunds.exclude(status=Refund.Status.FAILED)
    return payment.amount - (refunds.aggregate(s=Sum("amount"))["s"] or Decimal("0"))


def _reserve(parts, note="") -> list[Refund]:
    """Under the order's lock: a pending Refund row for each part, before any provider is called, so that a refund
    running at the same time sees the money as gone and can't refund it twice. The row's id is the idempotency key
    of the provider call: the same reservation asked twice is the same refund at the provider."""
    return [
        Refund.objects.create(payment=payment, amount=amount, note=note, status=Refund.Status.PENDING)
        for payment, amount in parts
        if amount > 0
    ]


def _refund_at_providers(rows) -> tuple[list[tuple[Refund, str | None, Decimal]], list[Refund], Refund | None, str]:
    """Call each online provider for its reserved part, with no lock held; offline payments are only recorded (the
    merchant pays the money back). Returns (what went back, the parts not made, the part whose outcome is unknown,
    the provider's message): after a refusal, or a provider that did not answer (``ProviderUnreachable``: its part
    stays pending), the parts after it are not asked."""
    done = []
    for index, row in enumerate(rows):
        provider = get_provider(row.payment.provider)
        if provider is None or not provider.is_online:
            done.append((row, None, row.amount))
            continue
        try:
            answer = provider.refund(row.payment, to_minor(row.amount), f"refund:{row.pk}")
        except ProviderUnreachable as error:
            return done, rows[index + 1 :], row, str(error)
        except ProviderError as error:
            return done, rows[index:], None, str(error)
        done.append((row, answer.reference, min(from_minor(answer.amount_minor), row.amount)))
    return done, [], None, ""


def _settle(order, done, not_made) -> list[Refund]:
    """Under the order's lock: the reservations made become refunds, those not made are released (one whose outcome
    is unknown is neither: it stays pending). A reservation the provider's webhook already took over
    (``record_provider_refunds``) is not counted again."""
    Refund.objects.filter(pk__in=[row.pk for row in not_made], status=Refund.Status.PENDING).delete()
    settled = []
    for row, reference, amount in done:
        if reference and Refund.objects.filter(provider_reference=reference).exclude(pk=row.pk).exists():
            Refund.objects.filter(pk=row.pk, status=Refund.Status.PENDING).delete()  # recorded by its webhook
            continue
        made = Refund.objects.filter(pk=row.pk, status=Refund.Status.PENDING).update(
            status=Refund.Status.DONE, provider_reference=reference, amount=amount
        )
        if made:
            row.status, row.provider_reference, row.amount = Refund.Status.DONE, reference, amount
            settled.append(row)
    return settled


def _refunded(order, rows, *, actor, user=None, note="", change_status=True, **data) -> bool:
    """After refunds were made (under the order's lock): the order's status, the timeline, the shopper's e-mail.
    Money that came in although nothing was due leaves a paid order paid. Returns whether nothing paid is left."""
    left = paid_amount(order)
    if not rows:
        return left <= 0
    total = sum((row.amount for row in rows), Decimal("0"))
    for payment in {row.payment for row in rows}:
        if payment.surplus and _refundable(payment) <= 0:  # the extra money is back with the shopper
            payment.surplus = ""
            payment.save(update_fields=["surplus"])
    status = order.payment_status
    surplus_only = status == PaymentStatus.PAID and left >= order.total
    if change_status and status in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED) and not surplus_only:
        payment_status.set_refund_status(order, full=left <= 0, actor=actor, user=user)
    record_event(order, OrderEvent.Type.REFUNDED, actor, user=user, amount=str(total), note=note, **data)
    if change_status:
        notify(Kind.REFUNDED, order=order, key=f"refund:{rows[0].pk}", amount=str(total), full=left <= 0)
    return left <= 0


def _make_refunds(order, rows, **options) -> tuple[list[Refund], bool]:
    """The provider calls for reserved refunds (no lock held), then what they did, under the order's lock.
    Raises PaymentError with the provider's message when one refused, after recording what did go back;
    RefundPending when one did not answer (its part stays pending, to be settled from the provider's list)."""
    done, not_made, unknown, error = _refund_at_providers(rows)
    with transaction.atomic():
        order = lock_order(order)
        settled = _settle(order, done, not_made)
        full = _refunded(order, settled, **options)
    if unknown is not None:
        logger.warning("Refund %s of %s left pending: %s", unknown.pk, unknown.payment.reference, error)
        raise RefundPending(_pending(unknown, done))
    if error:
        raise PaymentError(_refused(error, done))
    return settled, full


def refund(order, amount: Decimal, actor=Actor.STAFF, user=None, note="") -> bool:
    """Refund part or all of what was paid, the latest payments first, through their providers (offline payments:
    recorded). The order becomes Partially refunded or Refunded, and the shopper is told. Returns True when nothing
    paid is left. A provider's refusal raises PaymentError with its message, after recording what did go back."""
    with transaction.atomic():
        order = lock_order(order)
        if order.payment_status not in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
            raise PaymentError(_("Only paid orders can be refunded."))
        available = paid_amount(order)
        if amount <= 0 or amount > available:
            raise PaymentError(_("You can refund at most %(amount)s.") % {"amount": format_chf(available)})
        parts, left = [], amount
        for payment in order.payments.filter(status=Payment.Status.CONFIRMED).order_by("-pk"):
            take = min(left, _refundable(payment))
            if take > 0:
                parts.append((payment, take))
                left -= take
        rows = _reserve(parts, note)
    _settled, full = _make_refunds(order, rows, actor=actor, user=user, note=note)
    return full


def refund_all(order, actor=Actor.STAFF, user=None, note="") -> Decimal:
    """Refund everything paid on an order through the providers, without changing its status (cancelling does).
    Raises PaymentError when a provider refuses, after recording what did go back."""
    with transaction.atomic():
        order = lock_order(order)
        confirmed = order.payments.filter(status=Payment.Status.CONFIRMED).order_by("pk")
        rows = _reserve([(payment, _refundable(payment)) for payment in confirmed], note)
    settled, _full = _make_refunds(order, rows, actor=actor, user=user, note=note, change_status=False)
    return sum((row.amount for row in settled), Decimal("0"))


def refund_surplus(payment, user=None) -> Decimal:
    """Refund, in one click, money that came in although nothing was due (paid after the order was cancelled, or
    paid twice). The order's status stays as it is."""
    with transaction.atomic():
        order = lock_order(payment.order_id)
        payment = Payment.objects.get(pk=payment.pk)
        if not payment.surplus or payment.status != Payment.Status.CONFIRMED:
            raise PaymentError(_("This payment is not to be refunded."))
        rows = _reserve([(payment, _refundable(payment))])
    settled, _full = _make_refunds(order, rows, actor=Actor.STAFF, user=user, surplus=True)
    return sum((row.amount for row in settled), Decimal("0"))


def record_provider_refunds(payment, refunds, actor=Actor.PROVIDER, **data) -> Decimal:
    """Refunds the provider reports for a payment (made from its dashboard, or ours coming back by webhook): each is
    recorded once, by the provider's id; one of ours still waiting for its provider's answer is taken over. A
    refund of an attempt not yet confirmed confirms it first, so that a "succeeded" arriving after the "refunded"
    changes nothing."""
    with transaction.atomic():
        order = lock_order(payment.order_id)
        payment = Payment.objects.get(pk=payment.pk)
        made = [r for r in refunds if r.status in ("succeeded", "pending") and r.amount_minor > 0]
        known = set(
            Refund.objects.filter(provider_reference__in=[r.reference for r in made]).values_list(
                "provider_reference", flat=True
            )
        )
        _failed_at_provider(order, payment, refunds, actor)
        new = [r for r in made if r.reference not in known]
        if not new:
            return Decimal("0")
        if payment.status != Payment.Status.CONFIRMED:
            confirm_payment(payment, actor, **data)
            order = lock_order(order.pk)
            payment = Payment.objects.get(pk=payment.pk)
        rows = []
        for reported in new:
            amount = from_minor(reported.amount_minor)
            reserved = payment.refunds.filter(status=Refund.Status.PENDING, amount=amount, provider_reference=None)
            row = reserved.order_by("pk").first()
            if row is not None:
                row.status, row.provider_reference = Refund.Status.DONE, reported.reference
                row.save(update_fields=["status", "provider_reference"])
            elif min(amount, _refundable(payment)) > 0:
                amount = min(amount, _refundable(payment))
                row = Refund.objects.create(payment=payment, amount=amount, provider_reference=reported.reference)
            else:
                continue
            rows.append(row)
        _refunded(order, rows, actor=actor, **data)
    return sum((row.amount for row in rows), Decimal("0"))


def _failed_at_provider(order, payment, reported, actor) -> None:
    """Refunds the provider took and then reports failed: no longer counted as refunded, and the order flagged for the
    merchant (refund again, or pay the money back another way). Once per refund. Under the order's lock."""
    failed = [r.reference for r in reported if r.status in ("failed", "canceled")]
    for row in payment.refunds.filter(provider_reference__in=failed, status=Refund.Status.DONE):
        row.status = Refund.Status.FAILED
        row.save(update_fields=["status"])
        with translation.override("en"):
            method = provider_label(payment.provider)
        reason = (
            f"Refund {row.provider_reference} of {format_chf(row.amount, payment.currency)} failed at {method}: "
            "the money did not go back to the customer."
        )
        payment_status.flag_order(order, reason, actor, reference=row.provider_reference)


def release_reservations(payment, before) -> int:
    """Refund reservations of a payment older than ``before`` that no provider answer settled (the provider did not
    answer in time, or the process died between the provider call and the settling): given back, so that the money
    counts as paid again, and the order flagged for the merchant (who was told the refund was pending). Call after
    ``record_provider_refunds`` has taken over those the provider did make."""
    with transaction.atomic():
        order = lock_order(payment.order_id)
        stale = list(payment.refunds.filter(status=Refund.Status.PENDING, created_at__lte=before))
        if stale:
            logger.warning("Released %d refund reservation(s) of %s never settled", len(stale), payment.reference)
            Refund.objects.filter(pk__in=[row.pk for row in stale]).delete()
        with translation.override("en"):  # the stored reason is one language, as the others
            method = provider_label(payment.provider)
        provider = get_provider(payment.provider)
        brand = (provider.brand if provider else "") or method
        for row in stale:
            reason = (
                f"The refund of {format_chf(row.amount, payment.currency)} through {method} ({payment.reference}) "
                f"was not made: {brand} does not list it. Refund it again if it is still due."
            )
            payment_status.flag_order(order, reason, Actor.SYSTEM, reference=payment.reference)
    return len(stale)


def _pending(row, done) -> str:
    provider = get_provider(row.payment.provider)
    name = (provider.brand or str(provider.name)) if provider else row.payment.provider
    values = {"provider": name, "amount": format_chf(row.amount, row.payment.currency)}
    message = _(
        "%(provider)s could not be reached, so whether it made the refund is not known yet. The refund of %(amount)s "
        "stays pending at the provider: the shop checks it with %(provider)s and records it once confirmed. Do not "
        "refund it again."
    )
    if done:
        message = _("Part of the refund went through.") + " " + message
    return message % values


def _refused(error: str, done) -> str:
    if done:
        return _("Part of the refund went through; the provider refused the rest: %(error)s") % {"error": error}
    return _("The provider refused the refund: %(error)s") % {"error": error}


def send_payment_link(order, user):
    """E-mail the customer a link to their order page, where "Pay now" pays online (orders created by staff).

    An order with an offline method, or with an online one that does not take the amount due (Stripe under
    CHF 0.50), switches to the first online method the merchant enabled that takes it."""
    with transaction.atomic():
        order = lock_order(order)
        if not needs_payment(order):
            raise PaymentError(_("This order needs no payment."))
        due = balance_due(order)
        online_now = can_pay_online(order)
        refusal = get_provider(order.payment_method).refusal(to_minor(due), order.currency) if online_now else ""
        if not online_now or refusal:
            store = Store.load()
            offered = available_methods(store, pickup=order.is_pickup, test=order.is_test, amount=due)
            online = [p for p in offered if p.is_online]
            if not online and refusal:
                raise PaymentError(_("No online payment method takes this amount: %(reason)s") % {"reason": refusal})
            if not online:
                raise PaymentError(
                    _("A payment link needs an online payment method: enable one under Settings → Payment.")
                )
            old, order.payment_method = order.payment_method, online[0].code
            order.save(update_fields=["payment_method", "updated_at"])
            for payment in order.payments.filter(status=Payment.Status.PENDING, provider=old):
                payment.fail(_("Replaced by an online payment"))
            record_event(
                order,
                OrderEvent.Type.EDITED,
                Actor.STAFF,
                user=user,
                changes={"payment_method": [old, order.payment_method]},
            )
        return notify(Kind.PAYMENT_LINK, order=order, user=user)


def choose_method(order, code: str) -> None:
    """The shopper picks another of the enabled methods for an order still awaiting payment (a declined card, a
    cancelled TWINT payment): the open attempts of the old one are closed at their provider first."""
    offers = method_offers(Store.load(), pickup=order.is_pickup, test=order.is_test, amount=balance_due(order))
    refusals = {offer.method.code: offer.refusal for offer in offers}
    if code not in refusals:
        raise PaymentError(_("Please choose one of the payment methods offered."))
    if not needs_payment(order):
        raise PaymentError(_("This order needs no payment."))
    if refusals[code]:  # TWINT above its limit: shown unavailable on the order page, with this reason
        raise PaymentError(f"{refusals[code]} {_('Please choose another payment method.')}")
    if code != order.payment_method:
        close_open_attempts(order, _("The shopper chose another payment method."), Actor.SHOPPER)
    with transaction.atomic():
        order = lock_order(order)
        if not needs_payment(order):
            raise PaymentError(_("This order needs no payment."))
        if code == order.payment_method:
            return
        old, order.payment_method = order.payment_method, code
        order.save(update_fields=["payment_method", "updated_at"])
        for payment in order.payments.filter(status=Payment.Status.PENDING).exclude(provider=code):
            _fail(order, payment, _("The shopper chose another payment method."), Actor.SHOPPER)
        if not get_provider(code).is_online:
            create_payment(order, code, balance_due(order))
        record_event(order, OrderEvent.Type.EDITED, Actor.SHOPPER, changes={"payment_method": [old, code]})


def flag_mismatch(payment, reported_minor, reported_currency, actor=Actor.PROVIDER, **data) -> str:
    """A provider reported an amount or currency that is not what this payment asks for: the order is flagged for
    the merchant and not marked paid. Returns the reason."""
    reason = (
        f"Payment {payment.reference} reported "
        f"{format_chf(from_minor(reported_minor or 0), reported_currency or '?')}"
        f" but {format_chf(payment.amount, payment.currency)} was due; not marked paid."
    )
    with transaction.atomic():
        lock_order(payment.order_id)
        # kept on the attempt too: reconciliation stops asking about it; the merchant decides
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING).update(failure_message=reason[:300])
        payment_status.flag_order(payment.order_id, reason, actor, **data)
    return reason
