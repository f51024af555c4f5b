"""Datatrans (cards, TWINT, PostFinance) through the real pipeline: the shop's own httpx client talks HTTP to the
local stand-in of Datatrans's API (``tests.datatrans_standin``), whose webhooks are signed as Datatrans signs them
and posted to /webhooks/datatrans/ through the test client. What the shopper and the merchant see, and what the data
must be."""

import datetime as dt
import json
import re
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from notifications.models import OutgoingEmail
from orders import services as order_services
from orders.models import OrderEvent
from payments import services as payments
from payments import tasks
from payments.models import Payment, Refund, WebhookEvent
from payments.providers import PROVIDERS, EventKind, ProviderError, WebhookError, available_methods
from payments.providers.datatrans import DATATRANS_METHODS, method_of, refno_of, verify
from tests import datatrans_events as events
from tests import online
from tests.datatrans_standin import serving
from tests.online import T0, back_office, badge, count, order_url, paid_events, shopper_page, status
from tests.online import latest_attempt as attempt
from tests.online import latest_reference as tx_of

pytestmark = pytest.mark.django_db

HMAC_KEY = "3f" * 16 + "a1" * 16
CARD, TWINT, POSTFINANCE = (PROVIDERS[code] for code in ("datatrans_card", "datatrans_twint", "datatrans_postfinance"))


standin = online.client_standin(
    serving,
    "/webhooks/datatrans/",
    online.signed_in("Datatrans-Signature"),
    hmac_key=HMAC_KEY,
    merchant_id="1100012345",
    password="pw-alpenladen",
)
datatrans_settings = online.standin_settings(2, "https://alpenladen.example.ch", TWINT_LIMIT_CHF=5000)


@pytest.fixture
def enabled(store, datatrans_settings):
    """The store offers Datatrans's card, TWINT and PostFinance."""
    online.enable(*(method.code for method in DATATRANS_METHODS))
    return store


@pytest.fixture
def pay_with(place, fondue, enabled):
    """An order of CHF 129.– to pay with a Datatrans method, whose shopper was sent to the stand-in's page."""

    def _order(code="datatrans_card"):
        return online.sent_to_pay(place, fondue, code)

    return _order


@pytest.fixture
def order(pay_with):
    return pay_with()


@pytest.fixture
def deferred(store):
    """The merchant settles Datatrans payments later (Settings → Payment)."""
    store.datatrans_auto_settle = False
    store.save()
    return store


def post_webhook(client, body: bytes, signature: str | None):
    extra = {"HTTP_DATATRANS_SIGNATURE": signature} if signature is not None else {}
    return client.post("/webhooks/datatrans/", body, content_type="application/json", **extra)


# --- What is sent to Datatrans ------------------------------------------------------------------------------------


def test_init_sends_the_order_as_datatrans_documents_it(order, standin):
    payment = attempt(order)
    (call,) = standin.calls_to("/v1/transactions", "POST")
    documented = events.fixture("init_request")
    assert set(call.body) <= set(documented) and call.status == 201
    assert call.body == {
        "currency": "CHF",
        "refno": f"{order.number}-{payment.pk}",
        "amount": 12900,
        "paymentMethods": ["VIS", "ECA", "AMX"],
        "autoSettle": True,
        "language": "en",
        "redirect": {
            "successUrl": f"https://alpenladen.example.ch{order_url(order)}?payment=returned",
            "cancelUrl": f"https://alpenladen.example.ch{order_url(order)}?payment=cancelled",
            "errorUrl": f"https://alpenladen.example.ch{order_url(order)}?payment=failed",
        },
        "webhook": {"url": "https://alpenladen.example.ch/webhooks/datatrans/"},
    }
    assert call.idempotency_key and payment.reference in call.idempotency_key
    assert payment.provider_reference == standin.latest()["transactionId"]
    assert standin.latest()["status"] == "initialized"
    # valid for 30 minutes, counted conservatively
    assert timezone.now() + dt.timedelta(minutes=20) < payment.expires_at <= timezone.now() + dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    ("code", "methods"), [("datatrans_twint", ["TWI"]), ("datatrans_postfinance", ["PFC", "PEF"])], ids=["twint", "pf"]
)
def test_each_method_asks_for_its_own_payment_methods(pay_with, standin, code, methods):
    order = pay_with(code)
    assert standin.init_of(tx_of(order))["paymentMethods"] == methods


def test_postfinance_opens_datatrans_s_page_with_the_codes_of_the_setting(pay_with, standin, settings):
    settings.DATATRANS_POSTFINANCE_METHODS = ["PEF"]  # DATATRANS_POSTFINANCE_METHODS=PEF
    order = pay_with("datatrans_postfinance")
    assert standin.init_of(tx_of(order))["paymentMethods"] == ["PEF"]
    settings.DATATRANS_POSTFINANCE_METHODS = ["PFC", "PEF", "PFP"]
    assert [method_of({"paymentMethod": code, "card": {"masked": "1234"}}) for code in ("PEF", "PFP", "VIS")] == [
        "PostFinance",
        "PostFinance",
        "Visa •••• 1234",
    ]


def test_the_refno_may_have_40_characters_as_datatrans_documents_and_is_cut_there():
    def refno(number, pk):
        return refno_of(SimpleNamespace(order=SimpleNamespace(number=number), pk=pk))

    assert refno(10**28, 10**9) == f"{10**28}-{10**9}" and len(refno(10**28, 10**9)) == 40
    assert refno(10**29, 10**9) == f"{10**29}-{10**9}"[:40]


def test_deferred_settlement_is_asked_for(pay_with, standin, deferred):
    order = pay_with()
    assert standin.init_of(tx_of(order))["autoSettle"] is False


def test_the_refno_fits_datatrans_and_a_german_order_pays_in_german(place, fondue, enabled, standin):
    order = place(fondue, payment_method="datatrans_card", language="de")
    payments.start_payment(order, None)
    body = standin.init_of(tx_of(order))
    assert body["language"] == "de" and 1 <= len(body["refno"]) <= 20
    assert "/de/" in body["redirect"]["successUrl"]


def test_going_to_pay_again_reuses_the_open_transaction(order, standin):
    first = tx_of(order)
    url = payments.start_payment(order, None)
    assert url == f"{standin.url}/v1/start/{first}" and tx_of(order) == first
    assert len(standin.calls_to("/v1/transactions", "POST")) == 1
    assert len(standin.calls_to(f"/v1/transactions/{first}", "GET")) == 1  # asked whether it is still open


def test_every_call_carries_basic_auth_and_a_wrong_password_is_refused(order, standin, settings):
    settings.DATATRANS_PASSWORD = "not-the-password"
    with pytest.raises(ProviderError, match="Incorrect merchantId or password"):
        CARD.fetch_status(attempt(order))
    assert standin.calls[-1].status == 401


def test_the_same_idempotency_key_gives_the_same_transaction_and_another_body_an_error(standin):
    body = events.fixture("init_request")
    first = CARD._call("init", "POST", "/v1/transactions", body, key="k-1")
    again = CARD._call("init", "POST", "/v1/transactions", body, key="k-1")
    other = CARD._call("init", "POST", "/v1/transactions", body, key="k-2")
    assert first == again != other and len(standin.transactions) == 2
    with pytest.raises(ProviderError, match="different from the one first sent"):
        CARD._call("init", "POST", "/v1/transactions", {**body, "amount": 999}, key="k-1")
    assert all(call.idempotency_key for call in standin.calls if call.method == "POST")


def test_a_refused_init_tells_the_shopper_plainly_and_logs_datatrans_s_reason(order, standin, caplog):
    standin.fail_next("/v1/transactions", 400, events.fixture("error"), method="POST")
    payment = payments.create_payment(order, "datatrans_card")
    with pytest.raises(ProviderError) as refused:
        CARD.start(payment, None)
    assert str(refused.value) == "The payment could not be started. Please try again, or choose another payment method."
    assert "init.refno length must be between 1 and 40" in caplog.text
    assert "pw-alpenladen" not in caplog.text  # secrets never logged


# --- Paid, failed, cancelled, expired -------------------------------------------------------------------------------


def test_a_card_payment_makes_the_order_paid_once(order, standin, commit, client, staff):
    delivery = commit(standin.pay, tx_of(order))
    assert delivery.status == 200 and delivery.type == "payment.settled"
    payment = attempt(order)
    assert status(order) == "paid" and payment.status == "confirmed"
    assert payment.method_detail == "Visa •••• 0004" and payment.transaction_reference == payment.provider_reference
    assert paid_events(order) == 1 and count(order, OrderEvent.Type.PAYMENT_CONFIRMED) == 1
    assert OutgoingEmail.objects.filter(order=order, kind="payment_received").count() == 1
    assert badge(shopper_page(client, order)) == "Paid"
    event = WebhookEvent.objects.get()
    assert (event.provider, event.status, event.event_type) == ("datatrans", "processed", "payment.settled")
    assert event.payment == payment
    html = back_office(client, order)
    assert "Visa •••• 0004" in html and payment.provider_reference in html


@pytest.mark.parametrize(
    ("code", "method", "shown"),
    [("datatrans_twint", "twint", "TWINT"), ("datatrans_postfinance", "postfinance", "PostFinance")],
)
def test_twint_and_postfinance_show_as_such(pay_with, standin, commit, code, method, shown):
    order = pay_with(code)
    commit(standin.pay, tx_of(order), method)
    assert status(order) == "paid" and attempt(order).method_detail == shown


def test_a_declined_card_fails_the_attempt(order, standin, commit, client):
    delivery = commit(standin.decline, tx_of(order))
    assert delivery.status == 200 and delivery.type == "payment.failed"
    payment = attempt(order)
    assert status(order) == "awaiting_payment" and payment.status == "failed"
    assert payment.failure_message == "The payment was declined: declined"
    html = shopper_page(client, order, "?payment=failed")
    assert "Your payment did not go through." in html and "Try again: Card" in html


def test_cancelling_on_datatrans_s_page_fails_the_attempt_and_the_shopper_can_try_again(order, standin, commit, client):
    # Datatrans posts no webhook for a cancellation on its page (tests/test_standins.py): should one come all the same
    standin.also_post("cancel")
    first = tx_of(order)
    commit(standin.cancel, first)
    assert attempt(order).status == "failed" and attempt(order).failure_message == "The payment was cancelled."
    html = shopper_page(client, order, "?payment=cancelled")
    assert status(order) == "awaiting_payment" and "Try again: Card" in html
    assert "You cancelled the payment" in html and "did not go through" not in html
    url = payments.start_payment(order, None)  # a new attempt, a new transaction
    assert order.payments.count() == 2 and tx_of(order) != first and url.endswith(tx_of(order))


def test_a_payment_still_initialised_waits(order, standin, commit):
    tx = standin.transaction(tx_of(order))
    assert commit(standin.send, tx).status == 200
    assert attempt(order).status == "pending" and WebhookEvent.objects.get().kind == EventKind.PENDING


# --- Deferred settlement -----------------------------------------------------------------------------------------


def test_an_authorised_payment_is_settled_by_the_shop_and_paid(pay_with, deferred, standin, commit):
    order = pay_with()
    transaction_id = tx_of(order)
    delivery = commit(standin.pay, transaction_id)
    assert delivery.type == "payment.authorized" and delivery.status == 200
    (settle,) = standin.calls_to(f"/v1/transactions/{transaction_id}/settle", "POST")
    payment = attempt(order)
    assert settle.status == 204 and settle.idempotency_key == f"settle:{transaction_id}"
    assert settle.body == {"amount": 12900, "currency": "CHF", "refno": refno_of(payment)}
    assert standin.transaction(transaction_id)["status"] == "settled"
    assert status(order) == "paid" and payment.method_detail == "Visa •••• 0004" and paid_events(order) == 1
    assert commit(standin.flush) == []  # Datatrans posts no webhook after a settlement
    assert paid_events(order) == 1 and len(standin.calls_to(f"/v1/transactions/{transaction_id}/settle")) == 1


def test_an_authorisation_for_a_cancelled_order_is_released_not_taken(pay_with, deferred, standin, commit):
    order = pay_with()
    transaction_id = tx_of(order)
    evt = standin.pay(transaction_id, send=False)  # authorised at Datatrans; the webhook is late
    commit(order_services.cancel_order, order, reason="Out of stock")
    commit(standin.send, evt)
    assert not standin.calls_to(f"/v1/transactions/{transaction_id}/settle")
    assert standin.transaction(transaction_id)["status"] == "canceled"
    assert status(order) == "cancelled" and attempt(order).status == "failed"
    assert not attempt(order).surplus and paid_events(order) == 0


def test_an_authorisation_of_another_amount_is_released_not_taken(pay_with, deferred, standin, commit):
    order = pay_with()
    transaction_id = tx_of(order)
    with standin.lock:
        standin._init[transaction_id]["amount"] = 100  # what Datatrans authorised: CHF 1.–
    commit(standin.pay, transaction_id)
    assert not standin.calls_to(f"/v1/transactions/{transaction_id}/settle")
    assert standin.transaction(transaction_id)["status"] == "canceled"
    payment = attempt(order)
    assert status(order) == "awaiting_payment" and payment.status == "failed"
    assert "authorised CHF 1.00 instead of CHF 129.00" in payment.failure_message


def test_settling_twice_takes_the_money_once(pay_with, deferred, standin, commit):
    order = pay_with()
    standin.pay(tx_of(order), send=False)
    payment = attempt(order)
    first, second = CARD.capture(payment), CARD.capture(payment)
    assert first.type == second.type == EventKind.SUCCEEDED and first.amount_minor == second.amount_minor == 12900
    assert len(standin.calls_to(f"/v1/transactions/{tx_of(order)}/settle")) == 1


def test_settled_before_authorised_is_paid_once(pay_with, deferred, standin, commit):
    standin.also_post("settle")  # more than Datatrans documents: the settlement's status posted too
    order = pay_with()
    transaction_id = tx_of(order)
    authorized = standin.pay(transaction_id, send=False)
    CARD.capture(attempt(order))  # settled meanwhile (the reconciliation, say); its webhook comes first
    (settled,) = standin.held  # the settlement's webhook, still held
    commit(standin.flush)
    assert status(order) == "paid" and settled["status"] == "settled"
    commit(standin.send, authorized)  # the authorisation's webhook, late
    assert status(order) == "paid" and paid_events(order) == 1
    assert len(standin.calls_to(f"/v1/transactions/{transaction_id}/settle")) == 1


# --- Refunds (credits) -------------------------------------------------------------------------------------------


def test_a_refund_from_the_back_office_is_a_credit_recorded_once(order, standin, commit, client, staff):
    standin.also_post("credit")  # more than Datatrans documents: should the credit's status come as well
    commit(standin.pay, tx_of(order))
    payment = attempt(order)
    response = commit(
        client.post,
        f"/backoffice/orders/{order.number}/action/",
        {"action": "refund", "amount": "40.00", "note": "Customer asked"},
        follow=True,
    )
    assert "the customer is told by e-mail" in response.content.decode()
    (call,) = standin.calls_to(f"/v1/transactions/{payment.provider_reference}/credit", "POST")
    assert call.status == 200 and call.idempotency_key
    assert call.body == {"amount": 4000, "currency": "CHF", "refno": refno_of(payment)}
    (refund,) = Refund.objects.all()
    credit = standin.transaction(refund.provider_reference)
    assert credit["type"] == "credit" and credit["refno"] == refno_of(payment) and refund.amount == Decimal("40.00")
    assert status(order) == "partially_refunded"
    (delivery,) = commit(standin.flush)  # the credit's webhook
    assert delivery.type == "credit.settled" and delivery.status == 200
    assert Refund.objects.count() == 1 and count(order, OrderEvent.Type.REFUNDED) == 1
    assert OutgoingEmail.objects.filter(order=order, kind="refunded").count() == 1
    assert WebhookEvent.objects.get(event_type="credit.settled").status == "processed"


def test_credits_from_datatrans_s_admin_tool_are_recorded_once(order, standin, commit, client, staff):
    standin.also_post("credit")  # more than Datatrans documents: a credit's status posted
    commit(standin.pay, tx_of(order))
    first = commit(standin.credit_in_dashboard, tx_of(order), 4000)
    assert status(order) == "partially_refunded"
    commit(standin.resend, standin.sent_events[-1])  # Datatrans delivers it again
    assert list(Refund.objects.values_list("amount", "provider_reference")) == [
        (Decimal("40.00"), first["transactionId"])
    ]
    assert OutgoingEmail.objects.filter(order=order, kind="refunded").count() == 1
    rest = commit(standin.credit_in_dashboard, tx_of(order))  # the rest: CHF 89.–
    assert rest["detail"]["credit"]["amount"] == 8900 and status(order) == "refunded"
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("40.00"), Decimal("89.00")]
    assert count(order, OrderEvent.Type.REFUNDED) == 2
    assert badge(shopper_page(client, order)) == "Refunded"


def test_a_credit_datatrans_refuses_is_shown_and_not_recorded(order, standin, commit, client, staff):
    commit(standin.pay, tx_of(order))
    body = events.error("credit.amount 12900 is above what is left to credit (0)", "CREDIT_AMOUNT_EXCEEDED")
    standin.fail_next(f"/v1/transactions/{tx_of(order)}/credit", 400, body, method="POST")
    response = client.post(
        f"/backoffice/orders/{order.number}/action/", {"action": "refund", "amount": "129.00"}, follow=True
    )
    html = response.content.decode()
    assert "The provider refused the refund" in html and "is above what is left to credit" in html
    assert status(order) == "paid" and not Refund.objects.exists()


def test_a_credit_that_times_out_is_recorded_when_its_webhook_comes(order, standin, commit, client, staff, settings):
    standin.also_post("credit")  # more than Datatrans documents: a credit's status posted
    commit(standin.pay, tx_of(order))
    settings.PROVIDER_TIMEOUT = 0.5
    path = f"/v1/transactions/{tx_of(order)}/credit"
    standin.hang_next(path, 1.0, method="POST")  # Datatrans credits, but answers too late
    url = f"/backoffice/orders/{order.number}/action/"
    response = commit(client.post, url, {"action": "refund", "amount": "129.00"}, follow=True)
    assert (
        "Datatrans could not be reached, so whether it made the refund is not known yet." in response.content.decode()
    )
    assert status(order) == "paid" and Refund.objects.get().status == "pending"
    time.sleep(0.6)  # the slow credit is carried out at Datatrans meanwhile
    credits = [tx for tx in standin.transactions.values() if tx["type"] == "credit"]
    assert len(credits) == 1
    commit(standin.flush)  # its webhook
    assert status(order) == "refunded" and Refund.objects.get().provider_reference == credits[0]["transactionId"]
    response = commit(client.post, url, {"action": "refund", "amount": "129.00"}, follow=True)
    assert "Only paid orders can be refunded." in response.content.decode()
    assert len(standin.calls_to(path)) == 1 and Refund.objects.count() == 1


def test_a_credit_that_arrives_before_the_payment_is_not_lost(order, standin, commit):
    standin.also_post("credit")  # more than Datatrans documents: a credit's status posted
    settled = standin.pay(tx_of(order), send=False)  # paid at Datatrans; its webhook is late
    commit(standin.credit_in_dashboard, tx_of(order))  # refunded in full; the credit's webhook comes first
    assert WebhookEvent.objects.get().status == "processed"
    commit(standin.send, settled)
    assert paid_events(order) <= 1 and Refund.objects.count() == 1 and status(order) == "refunded"
    assert count(order, OrderEvent.Type.PAYMENT_CONFIRMED) == 1


def test_a_credit_of_an_attempt_the_shop_never_heard_of_is_found_by_asking_datatrans(order, standin, commit):
    settled = standin.pay(tx_of(order), send=False)
    credit = standin.credit_in_dashboard(tx_of(order), 1000, send=False)
    assert CARD.find_reference(credit["transactionId"]) == attempt(order).reference
    assert CARD.find_reference(settled["transactionId"]) == attempt(order).reference


# --- Signatures and duplicates ------------------------------------------------------------------------------------


def test_a_forged_or_tampered_webhook_is_refused_and_nothing_stored(order, standin, commit, client):
    tx = standin.pay(tx_of(order), send=False)
    assert commit(standin.send, tx, key="00" * 32).status == 400  # signed with another key
    body, headers = events.signed(tx, HMAC_KEY)
    tampered = body.replace(b'"amount": 12900', b'"amount": 100')
    assert tampered != body
    signature = headers["Datatrans-Signature"]
    for raw, header in [
        (tampered, signature),
        (body, None),
        (body, ""),
        (body, "t=1,s0=nothex"),
        (body, signature.replace("s0=", "s1=")),
        (body, "s0=" + signature.split("s0=")[1]),
        (body, "t=abc," + signature.split(",")[1]),
    ]:
        assert post_webhook(client, raw, header).status_code == 400
    assert not WebhookEvent.objects.exists() and status(order) == "awaiting_payment"
    assert commit(standin.send, tx).status == 200  # the same body, signed with the merchant's key
    assert status(order) == "paid"


@pytest.mark.parametrize(
    "offset",
    [301, -(3 * 24 * 3600 + 60), -(30 * 24 * 3600)],
    ids=["ahead-of-our-clock", "older-than-three-days", "a-month-old"],
)
def test_a_webhook_signed_outside_the_window_is_refused(order, standin, commit, offset):
    tx = standin.pay(tx_of(order), send=False)
    delivery = commit(standin.send, tx, timestamp_ms=events.now_ms() + offset * 1000)
    assert delivery.status == 400
    assert not WebhookEvent.objects.exists() and status(order) == "awaiting_payment"


@pytest.mark.parametrize(
    "offset", [-3600, -(3 * 24 * 3600 - 60), 290], ids=["an-hour-old", "nearly-three-days-old", "a-little-ahead"]
)
def test_a_webhook_inside_the_window_is_taken(order, standin, commit, offset):
    """Datatrans documents no retry period and no tolerance: a retry that keeps its first signing time (after an
    outage of the shop) is taken for as long as our providers retry, PayPal's 3 days."""
    tx = standin.pay(tx_of(order), send=False)
    assert commit(standin.send, tx, timestamp_ms=events.now_ms() + offset * 1000).status == 200
    assert status(order) == "paid"


def test_a_replayed_old_delivery_changes_nothing(order, standin, commit, client):
    """Inside the window a replay is stopped by the event's identity: the same status of the same transaction."""
    delivery = commit(standin.pay, tx_of(order))
    header = delivery.headers["Datatrans-Signature"]
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        again = post_webhook(client, delivery.body, header)
    assert again.status_code == 200
    assert WebhookEvent.objects.count() == 1 and count(order, OrderEvent.Type.PAYMENT_CONFIRMED) == 1


def test_the_signature_is_datatrans_s_hmac_of_t_and_the_body():
    body = events.payload(events.fixture("transaction_payment"))
    t = 1_700_000_000_000
    header = f"t={t},s0={events.signature(body, HMAC_KEY, t)}"
    assert verify(body, header, HMAC_KEY, now=t / 1000) == t
    import hashlib
    import hmac

    expected = hmac.new(bytes.fromhex(HMAC_KEY), str(t).encode() + body, hashlib.sha256).hexdigest()
    assert header.endswith(expected)
    with pytest.raises(WebhookError):
        verify(body + b" ", header, HMAC_KEY, now=t / 1000)
    with pytest.raises(WebhookError):
        verify(body, header, "ab" * 32, now=t / 1000)


def test_a_retried_delivery_signed_afresh_is_one_event(order, standin, commit):
    delivery = commit(standin.pay, tx_of(order))
    again = commit(standin.resend, delivery)
    assert again.status == 200 and again.headers["Datatrans-Signature"] != delivery.headers["Datatrans-Signature"]
    assert WebhookEvent.objects.count() == 1 and paid_events(order) == 1
    assert count(order, OrderEvent.Type.PAYMENT_CONFIRMED) == 1


def test_each_status_of_a_transaction_is_an_event_of_its_own(pay_with, deferred, standin, commit):
    standin.also_post("settle")  # more than Datatrans documents: the settlement's status posted too
    order = pay_with()
    commit(standin.pay, tx_of(order))
    commit(standin.flush)
    assert sorted(WebhookEvent.objects.values_list("event_type", flat=True)) == [
        "payment.authorized",
        "payment.settled",
    ]
    assert paid_events(order) == 1


def test_webhooks_the_shop_cannot_use_are_stored_and_ignored(order, standin, commit):
    stranger = events.transaction(refno="999-1")  # another shop's transaction, settled
    assert commit(standin.send, stranger).status == 200
    check = events.transaction(type="card_check", status="authorized")
    assert commit(standin.send, check).status == 200
    assert sorted(WebhookEvent.objects.values_list("event_type", "status")) == [
        ("card_check.authorized", "ignored"),
        ("payment.settled", "ignored"),
    ]
    assert status(order) == "awaiting_payment" and attempt(order).status == "pending"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"status": "settled"}',
        b'{"transactionId": 12}',
        json.dumps({"transactionId": ""}).encode(),
    ],
)
def test_a_signed_body_that_is_no_transaction_is_refused_without_an_error(client, body, enabled):
    signature = events.signature_header(body, HMAC_KEY)
    assert post_webhook(client, body, signature).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_signed_transaction_with_values_that_cannot_be_right_is_rejected(order, standin, commit):
    tx = standin.pay(tx_of(order), send=False)
    tx["detail"]["settle"]["amount"] = -12900
    assert commit(standin.send, tx).status == 200  # answered, so that Datatrans stops sending it
    event = WebhookEvent.objects.get()
    assert event.status == "rejected" and "amount" in event.error and status(order) == "awaiting_payment"


# --- Out of order, mismatches, surplus ------------------------------------------------------------------------------


def test_failed_after_settled_leaves_the_order_paid(order, standin, commit):
    delivery = commit(standin.pay, tx_of(order))
    failed = {**delivery.transaction, "status": "failed", "detail": {"fail": {"reason": "declined"}}}
    failed["history"] = [*failed["history"], events.history("authorize", 12900, success=False)]
    commit(standin.send, failed)
    assert status(order) == "paid" and attempt(order).status == "confirmed" and paid_events(order) == 1


def test_settled_after_a_credit_changes_nothing(order, standin, commit):
    standin.also_post("credit")  # more than Datatrans documents: a credit's status posted
    delivery = commit(standin.pay, tx_of(order))
    commit(standin.credit_in_dashboard, tx_of(order))
    assert status(order) == "refunded"
    commit(standin.resend, delivery)
    commit(standin.send, standin.transaction(tx_of(order)))  # the original's status after the credit
    assert status(order) == "refunded" and paid_events(order) == 1
    assert not attempt(order).surplus and not order.needs_attention


@pytest.mark.parametrize(("field", "value"), [("amount", 100), ("amount", 12901), ("currency", "EUR")])
def test_an_amount_or_currency_that_differs_is_flagged_not_paid(order, standin, commit, client, staff, field, value):
    transaction_id = tx_of(order)
    with standin.lock:
        if field == "amount":
            standin._init[transaction_id]["amount"] = value
        else:
            standin.transactions[transaction_id]["currency"] = value
    assert commit(standin.pay, transaction_id).status == 200
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment" and attempt(order).status == "pending"
    assert order.needs_attention and "not marked paid" in order.attention_reason
    assert count(order, OrderEvent.Type.PAYMENT_MISMATCH) == 1
    assert "not marked paid" in back_office(client, order)


def test_a_forged_amount_in_a_signed_webhook_is_checked_against_datatrans(order, standin, commit):
    standin.pay(tx_of(order), send=False)
    claimed = standin.transaction(tx_of(order))
    claimed["detail"]["settle"]["amount"] = 1  # what the webhook says; the status look-up has the last word
    commit(standin.send, claimed)
    assert status(order) == "paid" and attempt(order).amount == Decimal("129.00")


def test_a_second_payment_of_a_paid_order_is_flagged_for_refund(order, standin, commit, client, staff):
    first = attempt(order)
    second = payments.create_payment(order, "datatrans_twint")
    redirect = TWINT.start(second, None)
    Payment.objects.filter(pk=second.pk).update(provider_reference=redirect.provider_reference)
    commit(standin.pay, first.provider_reference)
    commit(standin.pay, redirect.provider_reference, "twint")
    second.refresh_from_db()
    assert status(order) == "paid" and paid_events(order) == 1
    assert second.status == "confirmed" and second.surplus == Payment.Surplus.PAID_TWICE
    assert "Paid again: the order was already paid" in back_office(client, order)


def test_cancelling_an_order_leaves_an_unpaid_transaction_to_lapse(order, standin, commit):
    transaction_id = tx_of(order)
    commit(order_services.cancel_order, order, reason="Customer asked")
    # asked first: an initialised transaction is not cancelled (Datatrans would refuse it), it lapses after 30 minutes
    assert standin.calls_to(f"/v1/transactions/{transaction_id}", "GET")
    assert not standin.calls_to(f"/v1/transactions/{transaction_id}/cancel")
    assert standin.transaction(transaction_id)["status"] == "initialized"
    assert status(order) == "cancelled" and attempt(order).status == "failed"


# --- Provider errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "503", "timeout"])
def test_datatrans_down_or_slow_at_start_keeps_the_order(place, fondue, enabled, standin, settings, fault):
    order = place(fondue, payment_method="datatrans_card")
    if fault == "timeout":
        settings.PROVIDER_TIMEOUT = 0.5
        standin.hang_next("/v1/transactions", 1.0, method="POST")
    else:
        standin.fail_next("/v1/transactions", int(fault), method="POST")
    with pytest.raises(payments.PaymentError, match="Datatrans could not be reached. Please try again in a moment."):
        payments.start_payment(order, None)
    assert status(order) == "awaiting_payment" and attempt(order).status == "pending"
    assert not attempt(order).provider_reference
    time.sleep(0.6)  # the slow call is carried out at Datatrans meanwhile
    # Datatrans is back: the same attempt gets its transaction (after a time-out: the one Datatrans made)
    made = list(standin.transactions)
    payments.start_payment(order, None)
    assert order.payments.count() == 1 and tx_of(order)
    if fault == "timeout":
        assert tx_of(order) == made[0] and len(standin.transactions) == 1


def test_a_credit_with_datatrans_down_stays_pending_until_given_back(order, standin, commit, client, staff):
    """A 502: Datatrans may or may not have credited. Pending; none is heard of within the hour: given back, and
    the merchant told on the order."""
    commit(standin.pay, tx_of(order))
    standin.fail_next(f"/v1/transactions/{tx_of(order)}/credit", 502, method="POST")
    response = client.post(
        f"/backoffice/orders/{order.number}/action/", {"action": "refund", "amount": "129.00"}, follow=True
    )
    assert (
        "Datatrans could not be reached, so whether it made the refund is not known yet." in response.content.decode()
    )
    assert status(order) == "paid" and Refund.objects.get().status == "pending"
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        assert commit(tasks.settle_stale_refunds) == 1
    assert not Refund.objects.exists() and payments.paid_amount(order) == order.total
    order.refresh_from_db()
    assert order.needs_attention and "The refund of CHF 129.– through Datatrans (Card)" in order.attention_reason
    assert "was not made: Datatrans does not list it. Refund it again if it is still due." in order.attention_reason


# --- TWINT's limit -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "offered"),
    [(500_000, "CHF", True), (500_001, "CHF", False), (1000, "EUR", False), (1000, "CHF", True)],
)
def test_twint_takes_chf_up_to_its_limit(amount, currency, offered):
    assert TWINT.accepts(amount, currency) is offered
    assert CARD.accepts(amount, currency) and POSTFINANCE.accepts(amount, currency)


def test_twint_above_its_limit_is_not_offered_and_not_started(place, fondue, enabled, standin, settings):
    settings.TWINT_LIMIT_CHF = 100
    codes = [p.code for p in available_methods(enabled, pickup=False, amount=Decimal("129.00"))]
    assert "datatrans_card" in codes and "datatrans_twint" not in codes
    assert "datatrans_twint" in [p.code for p in available_methods(enabled, pickup=False, amount=Decimal("99.00"))]
    settings.TWINT_LIMIT_CHF = 5000
    order = place(fondue, payment_method="datatrans_twint")
    settings.TWINT_LIMIT_CHF = 100  # lowered meanwhile
    with pytest.raises(payments.PaymentError, match="TWINT takes payments up to CHF 100.–. Please choose another"):
        payments.start_payment(order, None)
    assert not standin.calls_to("/v1/transactions", "POST")


def test_the_checkout_shows_twint_above_its_limit_unavailable_with_the_reason(client, enabled, fondue, settings):
    settings.TWINT_LIMIT_CHF = 100
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        add, checkout = reverse("cart:add"), reverse("checkout:checkout")
    client.post(add, {"product": fondue.pk, "quantity": 1})
    page = client.get(checkout).content.decode()
    card = re.search(r'<input type="radio" name="payment_method" value="datatrans_card"[^>]*>', page).group(0)
    twint = re.search(r'<input type="radio" name="payment_method" value="datatrans_twint"[^>]*>', page).group(0)
    assert "disabled" not in card and 'data-offered-with="delivery"' in card
    assert "disabled" in twint and 'data-offered-with=""' in twint and 'data-refused-with="delivery"' in twint
    assert "TWINT takes payments up to CHF 100.–." in page


# --- Reconciliation ------------------------------------------------------------------------------------------------


@pytest.fixture
def late_order(clock, pay_with):
    """An order whose shopper went to Datatrans at T0; Datatrans's webhook never arrives."""
    return pay_with()


def asked(standin, order) -> int:
    return len(standin.calls_to(f"/v1/transactions/{tx_of(order)}", "GET"))


def test_reconciliation_finds_a_payment_whose_webhook_was_lost(late_order, standin, clock, commit):
    order = late_order
    standin.pay(tx_of(order), send=False)
    clock.shift(dt.timedelta(minutes=29))
    assert tasks.reconcile_payments() == 0 and asked(standin, order) == 0
    clock.shift(dt.timedelta(minutes=2))
    assert commit(tasks.reconcile_payments) == 1 and asked(standin, order) == 1
    assert status(order) == "paid" and attempt(order).method_detail == "Visa •••• 0004"
    assert order.events.get(type=OrderEvent.Type.PAYMENT_CONFIRMED).data["via"] == "reconciliation"


def test_reconciliation_settles_an_authorised_payment(deferred, late_order, standin, clock, commit):
    order = late_order
    standin.pay(tx_of(order), send=False)
    clock.shift(dt.timedelta(minutes=31))
    assert commit(tasks.reconcile_payments) == 1
    assert len(standin.calls_to(f"/v1/transactions/{tx_of(order)}/settle", "POST")) == 1
    assert status(order) == "paid"


def test_reconciliation_fails_a_declined_attempt(late_order, standin, clock):
    order = late_order
    standin.decline(tx_of(order), send=False)
    clock.shift(dt.timedelta(minutes=31))
    assert tasks.reconcile_payments() == 1
    assert attempt(order).status == "failed" and status(order) == "awaiting_payment"


def test_reconciliation_gives_up_on_a_transaction_long_past_its_end(late_order, standin, clock, client):
    order = late_order
    clock.shift(dt.timedelta(minutes=45))
    assert tasks.reconcile_payments() == 0  # still initialised: the shopper may be paying
    clock.shift(dt.timedelta(hours=1))  # 30 minutes to pay, an hour's grace: no webhook ever came
    assert tasks.reconcile_payments() == 1
    assert attempt(order).status == "failed" and status(order) == "awaiting_payment"
    assert "The time to pay ran out" in shopper_page(client, order)


def test_reconciliation_with_datatrans_down_changes_nothing(late_order, standin, clock, commit):
    order = late_order
    standin.pay(tx_of(order), send=False)
    clock.shift(dt.timedelta(minutes=31))
    standin.fail_next(f"/v1/transactions/{tx_of(order)}", 503, method="GET")
    assert tasks.reconcile_payments() == 0
    assert attempt(order).status == "pending" and attempt(order).checked_at == T0 + dt.timedelta(minutes=31)
    clock.shift(dt.timedelta(minutes=11))
    assert commit(tasks.reconcile_payments) == 1 and status(order) == "paid"


def test_reconciliation_with_datatrans_slow_changes_nothing(late_order, standin, clock, settings):
    order = late_order
    standin.pay(tx_of(order), send=False)
    clock.shift(dt.timedelta(minutes=31))
    settings.PROVIDER_TIMEOUT = 0.3
    standin.hang_next(f"/v1/transactions/{tx_of(order)}", 0.8, method="GET")
    assert tasks.reconcile_payments() == 0
    assert attempt(order).status == "pending"
