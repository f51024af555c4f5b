"""The stand-ins behave as the providers document it (each stand-in's module docstring cites the documents), and the
shop copes with it: each test meets a documented behaviour the way the shop does (its calls, its keys, its
webhooks), where the earlier stand-ins answered what the providers do not."""

import datetime as dt
import re

import pytest
import stripe
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest

from orders import services as order_services
from payments import services as payments
from payments import tasks
from payments.models import Payment, WebhookEvent
from payments.providers import PROVIDERS, EventKind, ProviderError
from payments.providers.datatrans import DATATRANS_METHODS, DatatransProvider, Refused, refno_of
from tests import datatrans_events, datatrans_standin, online, paypal_events, paypal_standin, stripe_standin
from tests.online import (
    browse,
    only_this_machine,  # noqa: F401 (an autouse fixture: nothing leaves the machine)
    paid_events,
    shopper_page,
    status,
)
from tests.online import latest_attempt as attempt
from tests.online import latest_reference as reference_of

pytestmark = pytest.mark.django_db

SITE = "https://alpenladen.example.ch"
CARD, STRIPE, PAYPAL = PROVIDERS["datatrans_card"], PROVIDERS["stripe"], PROVIDERS["paypal"]


def through(client, path: str, keywords):
    """Deliver a stand-in's webhooks to ``path`` with the test client (``keywords(headers)``: its arguments)."""
    return lambda body, headers: client.post(path, body, **keywords(headers)).status_code


@pytest.fixture
def datatrans(client, settings, store):
    """Datatrans's stand-in, the shop pointed at it and offering its three methods."""
    deliver = through(client, "/webhooks/datatrans/", online.signed_in("Datatrans-Signature"))
    with datatrans_standin.serving(deliver=deliver, hmac_key="4d" * 32) as standin:
        online.point_at(settings, standin, SITE, 2)
        online.enable(*(method.code for method in DATATRANS_METHODS))
        yield standin


@pytest.fixture
def deferred(store):
    store.datatrans_auto_settle = False
    store.save()


@pytest.fixture
def stripe_api(client, settings, store):
    deliver = through(client, "/webhooks/stripe/", online.signed_in("Stripe-Signature"))
    options = {"webhook_secret": "whsec_standins", "enabled_events": STRIPE.webhook_events}
    with stripe_standin.serving(deliver=deliver, **options) as standin:
        online.point_at(settings, standin, SITE, 2)
        online.enable("stripe")
        yield standin


@pytest.fixture
def paypal_api(client, settings, store):
    keywords = lambda headers: {"content_type": "application/json", **paypal_events.django_headers(headers)}  # noqa: E731
    with paypal_standin.serving(deliver=through(client, "/webhooks/paypal/", keywords)) as standin:
        online.point_at(settings, standin, SITE, 2)
        online.enable("paypal")
        yield standin


def init_body(**fields) -> dict:
    return {**datatrans_events.fixture("init_request"), **fields}


# --- Datatrans ------------------------------------------------------------------------------------------------------


def test_datatrans_cancels_a_settled_transaction_so_the_shop_asks_before_it_cancels(datatrans, place, fondue, commit):
    order = online.sent_to_pay(place, fondue, "datatrans_card")
    transaction_id = reference_of(order)
    settled = datatrans.pay(transaction_id, send=False)  # paid and settled at Datatrans; the webhook is late
    commit(order_services.cancel_order, order, reason="Out of stock")
    # the shop asked first and left the settled transaction alone (a cancel would take the money back unrecorded)
    assert not datatrans.calls_to(f"/v1/transactions/{transaction_id}/cancel")
    assert datatrans.transaction(transaction_id)["status"] == "settled"
    commit(datatrans.send, settled)  # the payment arrives: taken, and flagged for the merchant to refund
    payment = attempt(order)
    assert payment.status == "confirmed" and payment.surplus == Payment.Surplus.AFTER_CANCEL
    # what Datatrans does: a settled transaction (not yet transmitted) is cancelled, an initialised one is not
    path = f"/v1/transactions/{transaction_id}/cancel"
    assert CARD._call("a cancellation", "POST", path, {"refno": refno_of(payment)}, key="cancel-1") == {}
    assert datatrans.transaction(transaction_id)["status"] == "canceled"
    other = online.sent_to_pay(place, fondue, "datatrans_card")
    with pytest.raises(Refused, match="not authorized or settled") as refused:
        CARD._call("a cancellation", "POST", f"/v1/transactions/{reference_of(other)}/cancel", {}, key="cancel-2")
    assert refused.value.code == "INVALID_TRANSACTION_STATUS"


def test_datatrans_posts_a_webhook_after_an_authorisation_only(
    datatrans, deferred, place, fondue, commit, client, staff
):
    order = online.sent_to_pay(place, fondue, "datatrans_card")
    delivery = commit(datatrans.pay, reference_of(order))  # authorised: the webhook; the shop settles it
    assert delivery.type == "payment.authorized" and status(order) == "paid"
    url = f"/backoffice/orders/{order.number}/action/"
    commit(client.post, url, {"action": "refund", "amount": "40.00"})  # a credit, recorded from Datatrans's answer
    assert status(order) == "partially_refunded"
    assert commit(datatrans.flush) == []  # nothing after the settlement or the credit
    other = online.sent_to_pay(place, fondue, "datatrans_card")
    first = reference_of(other)
    assert datatrans.cancel(first) is None  # the shopper cancels on Datatrans's page: no webhook either
    assert [d.type for d in datatrans.sent_events] == ["payment.authorized"]
    assert "You cancelled the payment" in shopper_page(client, other, "?payment=cancelled")
    url = payments.start_payment(other, None)  # trying again: the same attempt, a new transaction
    assert other.payments.count() == 1 and reference_of(other) != first and url.endswith(reference_of(other))


@pytest.mark.parametrize(
    ("codes", "taken"),
    [
        (["VIS", "ECA", "AMX"], True),
        (["TWI"], True),
        (["PEF"], True),
        (["MFX"], True),
        (["twi"], False),
        (["VISA"], False),
    ],
)
def test_datatrans_takes_its_upper_case_method_codes_only(datatrans, place, fondue, caplog, codes, taken):
    order = place(fondue, payment_method="datatrans_card")
    payment = payments.create_payment(order, "datatrans_card")
    method = DatatransProvider("datatrans_card", "Card", "", tuple(codes))
    if taken:
        redirect = method.start(payment, None)
        assert datatrans.init_of(redirect.provider_reference)["paymentMethods"] == codes
        return
    with pytest.raises(ProviderError, match="The payment could not be started"):
        method.start(payment, None)
    assert "is not a valid payment method" in caplog.text and datatrans.calls[-1].status == 400


def test_datatrans_fail_reasons_are_lower_case_as_documented(datatrans, place, fondue, commit):
    order = online.sent_to_pay(place, fondue, "datatrans_card")
    delivery = commit(datatrans.decline, reference_of(order))
    assert delivery.transaction["detail"]["fail"]["reason"] == "declined" in datatrans_events.FAIL_REASONS
    assert attempt(order).failure_message == "The payment was declined: declined"
    with pytest.raises(ValueError, match="no fail reason"):
        datatrans.decline(reference_of(order), reason="DECLINED")


def test_datatrans_dates_to_the_second_and_the_shop_still_tells_two_statuses_apart(
    datatrans, deferred, place, fondue, commit, clock
):
    datatrans.also_post("settle")
    order = online.sent_to_pay(place, fondue, "datatrans_card")
    commit(datatrans.pay, reference_of(order))  # authorised, and settled by the shop within the same second
    commit(datatrans.flush)
    tx = datatrans.transaction(reference_of(order))
    dates = {entry["date"] for entry in tx["history"]}
    assert len(dates) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", dates.pop())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", tx["detail"]["init"]["expires"])
    types = sorted(WebhookEvent.objects.values_list("event_type", flat=True))
    assert types == ["payment.authorized", "payment.settled"] and paid_events(order) == 1


def test_datatrans_takes_a_refno_of_up_to_40_characters(datatrans):
    answer = CARD._call("a transaction", "POST", "/v1/transactions", init_body(refno="R" * 40), key="refno-40")
    assert datatrans.transaction(answer["transactionId"])["refno"] == "R" * 40
    for refno in ("", "R" * 41):
        with pytest.raises(Refused, match="init.refno length must be between 1 and 40"):
            CARD._call("a transaction", "POST", "/v1/transactions", init_body(refno=refno), key=f"refno-{len(refno)}")


def test_datatrans_answers_a_key_again_as_it_first_did_even_a_refusal(datatrans, deferred, place, fondue):
    order = online.sent_to_pay(place, fondue, "datatrans_card")
    datatrans.pay(reference_of(order), send=False)  # authorised, not settled yet
    payment = attempt(order)
    with pytest.raises(Refused, match="not settled"):
        CARD.refund(payment, 12900, "refund:first")
    CARD.capture(payment)
    with pytest.raises(Refused, match="not settled"):  # the same key: Datatrans's first answer, not a new credit
        CARD.refund(payment, 12900, "refund:first")
    assert CARD.refund(payment, 12900, "refund:second").amount_minor == 12900  # the shop's next reservation: a new key
    calls = datatrans.calls_to(f"/v1/transactions/{reference_of(order)}/credit", "POST")
    assert [call.status for call in calls] == [400, 400, 200]


def test_datatrans_answers_409_while_a_key_s_first_request_is_being_answered(datatrans, place, fondue, settings):
    order = place(fondue, payment_method="datatrans_card")
    settings.PROVIDER_TIMEOUT = 0.5
    datatrans.hang_next("/v1/transactions", 2.0, method="POST")  # Datatrans makes the transaction, but slowly
    for _attempt in range(2):  # the shop gives up, the shopper tries again at once: the same key, still in flight
        with pytest.raises(payments.PaymentError, match="Datatrans could not be reached"):
            payments.start_payment(order, None)
    assert datatrans.calls_to("/v1/transactions", "POST")[1].status == 409
    datatrans.wait_for_calls()
    payments.start_payment(order, None)  # once it is done: its answer, the transaction it made
    assert len(datatrans.transactions) == 1 and reference_of(order) == next(iter(datatrans.transactions))
    assert [call.status for call in datatrans.calls_to("/v1/transactions", "POST")] == [201, 409, 201]


def test_datatrans_keeps_an_idempotency_key_60_minutes(datatrans, clock):
    def init():
        return CARD._call("a transaction", "POST", "/v1/transactions", init_body(), key="init-k")["transactionId"]

    first = init()
    clock.shift(dt.timedelta(minutes=59))
    assert init() == first
    clock.shift(dt.timedelta(minutes=2))
    assert init() != first and len(datatrans.transactions) == 2


# --- Stripe ----------------------------------------------------------------------------------------------------------


def session_params(unit: int = 12900, quantity: int = 1, lines: int = 1) -> dict:
    item = {"price_data": {"currency": "chf", "unit_amount": unit, "product_data": {"name": "Fondue Set"}}}
    return {"mode": "payment", "line_items": [{**item, "quantity": quantity}] * lines}


def create_session(params: dict, key: str):
    return STRIPE.client().v1.checkout.sessions.create(params=params, options={"idempotency_key": key})


def test_stripe_gives_a_refused_refund_s_answer_again_for_its_key(stripe_api, place, fondue):
    order = online.sent_to_pay(place, fondue, "stripe")
    session_id = reference_of(order)
    stripe_api.pay(session_id, "twint", delayed=True, send=False)  # the charge is pending: nothing to refund yet
    Payment.objects.filter(pk=attempt(order).pk).update(
        transaction_reference=stripe_api.session(session_id)["payment_intent"]
    )
    payment = attempt(order)
    with pytest.raises(ProviderError, match="does not have a successful charge"):
        STRIPE.refund(payment, 12900, "refund:first")
    stripe_api.settle(session_id, send=False)
    with pytest.raises(ProviderError, match="does not have a successful charge"):  # the first answer, replayed
        STRIPE.refund(payment, 12900, "refund:first")
    assert STRIPE.refund(payment, 12900, "refund:second").amount_minor == 12900  # the next reservation's key
    calls = stripe_api.calls_to("/v1/refunds", "POST")
    assert [(call.status, call.replayed) for call in calls] == [(400, False), (400, True), (200, False)]


def test_stripe_keeps_nothing_for_parameters_that_fail_validation(stripe_api):
    for _try in range(2):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            create_session(session_params(unit=49), "too-small")
    assert refused.value.code == "amount_too_small" and refused.value.param == "line_items"
    assert [call.replayed for call in stripe_api.calls_to("/v1/checkout/sessions", "POST")] == [False, False]


@pytest.mark.parametrize(
    ("unit", "quantity", "lines", "code"),
    [
        (50, 1, 1, None),  # CHF 0.50, Stripe's minimum charge
        (49, 1, 1, "amount_too_small"),
        (99_999_999, 1, 1, None),  # eight digits at most
        (50_000_000, 2, 1, "amount_too_large"),
        (100, 1, 100, None),
        (100, 1, 101, "line_items"),  # 100 line items at most
    ],
)
def test_stripe_enforces_its_limits_on_a_checkout_session(stripe_api, unit, quantity, lines, code):
    params = session_params(unit, quantity, lines)
    if code is None:
        assert create_session(params, "limits").amount_total == unit * quantity * lines
        return
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create_session(params, "limits")
    error = refused.value
    assert error.http_status == 400 and error.error.type == "invalid_request_error" and error.param == "line_items"
    assert error.code == (None if code == "line_items" else code)


def test_stripe_prunes_an_idempotency_key_after_24_hours(stripe_api, clock):
    first = create_session(session_params(), "a-day")
    clock.shift(dt.timedelta(hours=23, minutes=59))
    assert create_session(session_params(), "a-day").id == first.id
    clock.shift(dt.timedelta(minutes=2))
    assert create_session(session_params(), "a-day").id != first.id


# --- PayPal ----------------------------------------------------------------------------------------------------------


def test_paypal_gives_a_payer_who_reached_its_page_3_hours_from_then(clock, paypal_api, place, fondue, commit):
    # (the clock first: the stand-in's certificate is made valid from the stopped clock's day)
    order = online.sent_to_pay(place, fondue, "paypal")
    order_id = reference_of(order)
    clock.shift(dt.timedelta(hours=2, minutes=50))
    assert browse(f"{paypal_api.url}/checkoutnow?token={order_id}")[0] == 200  # the payer reaches PayPal's page
    clock.shift(dt.timedelta(hours=2))  # 4 h 50 after the order was made
    commit(paypal_api.approve, order_id)
    assert status(order) == "paid" and attempt(order).status == "confirmed"
    # an order whose payer never came lapses 3 hours after it was made
    other = online.sent_to_pay(place, fondue, "paypal")
    clock.shift(dt.timedelta(hours=3, minutes=1))
    assert PAYPAL.fetch_status(attempt(other)).type == EventKind.EXPIRED
    with pytest.raises(paypal_standin.PayPalFault):
        paypal_api.approve(reference_of(other))


def test_paypal_forgets_an_approved_order_not_captured_within_3_hours_of_the_redirect(
    paypal_api, place, fondue, commit, clock
):
    order = online.sent_to_pay(place, fondue, "paypal")
    clock.shift(dt.timedelta(minutes=10))
    paypal_api.approve(reference_of(order), send=False)  # approved on PayPal's page; its webhook is lost
    clock.shift(dt.timedelta(hours=3, minutes=1))  # and the reconciliation did not get through meanwhile
    assert commit(tasks.reconcile_payments) == 1
    assert attempt(order).status == "failed" and status(order) == "awaiting_payment"
    assert not [call for call in paypal_api.calls if call.path.endswith("/capture")]


def test_paypal_keeps_a_request_id_6_hours(paypal_api, clock):
    body = OrderRequest(
        intent=CheckoutPaymentIntent.CAPTURE,
        purchase_units=[PurchaseUnitRequest(amount=AmountWithBreakdown("CHF", "129.00"))],
    )

    def create() -> str:
        call = lambda: PAYPAL.client().orders.create_order({"body": body, "paypal_request_id": "six-hours"})  # noqa: E731
        return PAYPAL._call("an order", call)["id"]

    first = create()
    clock.shift(dt.timedelta(hours=5, minutes=59))
    assert create() == first
    clock.shift(dt.timedelta(minutes=2))
    assert create() != first
