"""PayPal's events through the real pipeline: the shop's real ``paypal-server-sdk`` talks HTTP to the local stand-in of
PayPal's API (``tests.paypal_standin``), whose webhooks are signed as PayPal signs them (SHA256withRSA with a test key
whose certificate it serves) and posted to /webhooks/paypal/ through the test client. What the shopper and the
merchant see, and what the data must be."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from notifications.models import OutgoingEmail
from orders import services as order_services
from orders.models import OrderEvent
from payments import services as payments
from payments import tasks
from payments.models import Refund, WebhookEvent
from payments.providers import PROVIDERS, EventKind, ProviderError, WebhookError, paypal_webhooks
from tests import online
from tests import paypal_events as events
from tests.online import back_office, badge, count, order_url, paid_events, shopper_page, status
from tests.online import latest_attempt as attempt
from tests.online import latest_reference as paypal_order
from tests.paypal_standin import serving

pytestmark = pytest.mark.django_db

CLIENT_ID = "AalpenladenStandinClientId"
CLIENT_SECRET = "EalpenladenStandinSecret"
WEBHOOK_ID = "8PT597110X687430LKGECATA"


standin = online.client_standin(
    serving,
    "/webhooks/paypal/",
    lambda headers: {"content_type": "application/json", **events.django_headers(headers)},
    webhook_id=WEBHOOK_ID,
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
    enabled_events=PROVIDERS["paypal"].webhook_events,
)
paypal_settings = online.standin_settings(2, "https://alpenladen.example.ch")


@pytest.fixture
def paypal(store, paypal_settings):
    """The store offers PayPal."""
    online.enable("paypal")
    return PROVIDERS["paypal"]


@pytest.fixture
def order(place, fondue, paypal):
    """An order of CHF 129.– to pay by PayPal, whose shopper was sent to approve a PayPal order of the stand-in."""
    return online.sent_to_pay(place, fondue, "paypal")


def captures(standin) -> list[str]:
    return [c.path for c in standin.calls if c.path.endswith("/capture") and c.status == 201]


# --- The order PayPal is asked for ------------------------------------------------------------------------------


def test_an_order_is_created_with_what_the_sdk_sends(order, standin):
    payment = attempt(order)
    (call,) = standin.calls_to("/v2/checkout/orders", "POST")
    hour = call.request_id.rsplit(":", 1)[1]
    assert call.request_id == f"paypal-order:{payment.reference}:12900:{hour}" and len(hour) == 10
    (unit,) = call.body["purchase_units"]
    assert call.body["intent"] == "CAPTURE"
    assert unit["amount"] == {
        "currency_code": "CHF",
        "value": "129.00",
        "breakdown": {"item_total": {"currency_code": "CHF", "value": "129.00"}},
    }
    assert unit["items"] == [
        {"name": "Fondue Set", "unit_amount": {"currency_code": "CHF", "value": "129.00"}, "quantity": "1"}
    ]
    assert unit["custom_id"] == payment.reference and unit["description"] == f"Order {order.number}"
    assert unit["invoice_id"] == f"{order.number}-{payment.reference}"
    context = call.body["payment_source"]["paypal"]["experience_context"]
    assert context["return_url"] == f"https://alpenladen.example.ch{order_url(order)}?payment=returned"
    assert context["cancel_url"] == f"https://alpenladen.example.ch{order_url(order)}?payment=cancelled"
    assert (context["locale"], context["brand_name"], context["shipping_preference"]) == (
        "en-CH",
        "Alpenladen",
        "NO_SHIPPING",
    )
    paypal_order_ = standin.order(payment.provider_reference)
    assert paypal_order_["status"] == "PAYER_ACTION_REQUIRED"
    created = dt.datetime.fromisoformat(paypal_order_["create_time"].replace("Z", "+00:00"))
    assert payment.expires_at == created + dt.timedelta(hours=3)  # PayPal's orders lapse unapproved after 3 hours


@pytest.mark.parametrize(("language", "locale"), [("de", "de-CH"), ("fr", "fr-CH")])
def test_paypals_page_speaks_the_orders_language(place, fondue, paypal, standin, language, locale):
    order = place(fondue, payment_method="paypal", language=language)
    payments.start_payment(order, None)
    (call,) = standin.calls_to("/v2/checkout/orders", "POST")
    context = call.body["payment_source"]["paypal"]["experience_context"]
    assert context["locale"] == locale and f"/{language}/" in context["return_url"]


def test_the_lines_and_shipping_add_up_to_what_the_attempt_asks(place, product, paypal, standin):
    order = place(product, 2, payment_method="paypal")  # 2 × 18.90 + 7.– Swiss Post
    payments.start_payment(order, None)
    (unit,) = standin.order(paypal_order(order))["purchase_units"]
    assert [(i["name"], i["quantity"], i["unit_amount"]["value"]) for i in unit["items"]] == [
        ("Alpine Blend Coffee", "2", "18.90")
    ]
    assert unit["amount"]["value"] == "44.80" and unit["amount"]["breakdown"]["shipping"]["value"] == "7.00"


def test_a_balance_is_asked_as_one_line(place, fondue, paypal, standin):
    order = place(fondue, payment_method="paypal")
    payment = payments.create_payment(order, "paypal", Decimal("29.00"))  # what was left after a partial payment
    PROVIDERS["paypal"].start(payment, None)
    (unit,) = standin.latest_order()["purchase_units"]
    assert unit["items"] == [
        {"name": f"Order {order.number}", "unit_amount": {"currency_code": "CHF", "value": "29.00"}, "quantity": "1"}
    ]


def test_trying_again_goes_back_to_the_open_paypal_order(order, standin, client):
    first = paypal_order(order)
    url = payments.start_payment(order, None)  # the shopper cancelled on PayPal's page and clicks Pay again
    assert url == f"{standin.url}/checkoutnow?token={first}"
    assert len(standin.calls_to("/v2/checkout/orders", "POST")) == 1 and paypal_order(order) == first


def test_a_lapsed_paypal_order_is_replaced_by_a_new_one(order, standin):
    first = paypal_order(order)
    standin.expire(first)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1, minutes=5)):
        url = payments.start_payment(order, None)
    assert first not in url and paypal_order(order) != first
    requests = [c.request_id for c in standin.calls_to("/v2/checkout/orders", "POST")]
    assert len(requests) == 2 and requests[0] != requests[1]  # another hour: another request id


def test_the_same_request_id_gives_the_same_order(paypal, order, standin):
    (call,) = standin.calls_to("/v2/checkout/orders", "POST")
    again = (
        PROVIDERS["paypal"]
        .client()
        .orders.create_order(
            {"body": call.body, "paypal_request_id": call.request_id, "prefer": "return=representation"}
        )
    )
    assert again.body.id == paypal_order(order) and len(standin.orders) == 1


def test_a_shopper_is_never_shown_paypals_refusal(order, standin, paypal):
    body = events.error(
        422, "UNPROCESSABLE_ENTITY", "The requested action could not be performed.", "PAYEE_ACCOUNT_RESTRICTED"
    )
    standin.fail_next("/v2/checkout/orders", 422, body)
    other = payments.create_payment(order, "paypal", Decimal("1.00"))
    with pytest.raises(ProviderError) as caught:
        paypal.start(other, None)
    assert str(caught.value) == "The payment could not be started. Please try again, or choose another payment method."


@pytest.mark.parametrize("trouble", ["down", "slow"])
def test_paypal_down_or_slow_at_checkout_is_said_as_such(place, fondue, paypal, standin, settings, trouble):
    settings.PROVIDER_TIMEOUT = 0.5
    if trouble == "down":
        standin.fail_next("/v2/checkout/orders", 503, times=3)
    else:
        standin.hang_next("/v2/checkout/orders", 1.0, times=3)
    order = place(fondue, payment_method="paypal")
    with pytest.raises(payments.PaymentError, match="PayPal could not be reached. Please try again in a moment."):
        payments.start_payment(order, None)
    assert len(standin.calls_to("/v2/checkout/orders", "POST")) == 3  # the client's two retries, one request id
    assert len({c.request_id for c in standin.calls_to("/v2/checkout/orders", "POST")}) == 1
    assert attempt(order).status == "pending" and status(order) == "awaiting_payment"


def test_wrong_credentials_are_paypals_refusal_for_the_merchant(paypal, settings):
    settings.PAYPAL_CLIENT_SECRET = "not-the-secret"  # another client: the cache is keyed on the values
    with pytest.raises(ProviderError, match="Client Authentication failed"):
        paypal.find_reference("3C679366HH908993F")


def test_a_token_paypal_no_longer_takes_is_replaced_once(paypal, standin):
    paypal.find_reference("3C679366HH908993F")  # the client now holds a token
    with standin.lock:
        standin.tokens.clear()  # PayPal revoked it before its end (the credentials were rotated, say)
    assert paypal.find_reference("3C679366HH908993F") == ""  # asked again with a new token: answered
    assert len(standin.calls_to("/v1/oauth2/token", "POST")) == 2
    with standin.lock:
        standin.tokens.clear()
    standin.fail_next(
        "/v1/oauth2/token", 401, {"error": "invalid_client", "error_description": "Client Authentication failed"}
    )
    with pytest.raises(ProviderError, match="Client Authentication failed"):  # a refused new token: said, no loop
        paypal.find_reference("3C679366HH908993F")


def test_the_client_is_built_once_per_settings(paypal, settings):
    first = paypal.client()
    assert paypal.client() is first
    settings.PROVIDER_TIMEOUT = 3
    assert paypal.client() is not first
    assert paypal.client().config.get_base_uri() == settings.PAYPAL_API_BASE
    settings.PAYPAL_API_BASE = ""
    settings.PAYPAL_MODE = "live"
    assert paypal.client().config.get_base_uri() == "https://api-m.paypal.com"
    assert paypal.mode() == "live"


# --- Approved, captured, paid -----------------------------------------------------------------------------------


def test_an_approved_order_is_captured_and_paid_once(order, standin, commit, client):
    delivery = commit(standin.approve, paypal_order(order))
    assert delivery.status == 200 and delivery.type == "CHECKOUT.ORDER.APPROVED"
    assert status(order) == "paid"
    payment = attempt(order)
    capture = standin.capture_of(payment.provider_reference)
    assert payment.status == "confirmed" and payment.transaction_reference == capture["id"]
    assert payment.method_detail == "PayPal (anna.muster@example.ch)"
    (call,) = standin.calls_to(f"/v2/checkout/orders/{payment.provider_reference}/capture")
    assert call.request_id == f"paypal-capture:{payment.reference}:{payment.provider_reference}"
    # PayPal's PAYMENT.CAPTURE.COMPLETED for it, and the approval sent again: nothing more
    (completed,) = commit(standin.flush)
    assert completed.type == "PAYMENT.CAPTURE.COMPLETED" and completed.status == 200
    commit(standin.resend, delivery.event["id"])
    assert paid_events(order) == 1 and count(order, OrderEvent.Type.PAYMENT_CONFIRMED) == 1
    assert OutgoingEmail.objects.filter(order=order, kind="payment_received").count() == 1
    assert sorted(WebhookEvent.objects.values_list("event_type", "status")) == [
        ("CHECKOUT.ORDER.APPROVED", "processed"),
        ("PAYMENT.CAPTURE.COMPLETED", "processed"),
    ]
    assert len(captures(standin)) == 1
    assert badge(shopper_page(client, order)) == "Paid"


def test_the_return_page_captures_at_once(order, standin, client, commit):
    standin.approve(paypal_order(order), send=False)  # approved; PayPal's webhook comes later
    html = commit(shopper_page, client, order, f"?payment=returned&token={paypal_order(order)}&PayerID=QYR5Z8XDVJNXQ")
    assert badge(html) == "Paid" and "Thank you for your order." in html
    assert status(order) == "paid" and len(captures(standin)) == 1
    assert order.events.get(type=OrderEvent.Type.PAYMENT_CONFIRMED).data["via"] == "return"
    commit(standin.send, events.ORDER_APPROVED, standin.order(paypal_order(order)) | {"status": "APPROVED"})
    commit(standin.flush)
    assert paid_events(order) == 1 and len(captures(standin)) == 1


def test_capturing_twice_takes_the_money_once(order, standin, paypal):
    standin.approve(paypal_order(order), send=False)
    payment = attempt(order)
    first, second = paypal.capture(payment), paypal.capture(payment)
    assert (
        first == second and first.type == EventKind.SUCCEEDED and (first.amount_minor, first.currency) == (12900, "CHF")
    )
    assert len(standin.captures) == 1
    replays = standin.calls_to(f"/v2/checkout/orders/{payment.provider_reference}/capture")
    assert [c.replayed for c in replays] == [False, True]
    # another request id (another shop process with other code): PayPal says ORDER_ALREADY_CAPTURED; read the order
    payment.reference = "pay_other"
    assert paypal.capture(payment) == first and len(standin.captures) == 1


def test_a_completed_capture_before_the_approval_is_paid_once(order, standin, commit, paypal):
    approved = standin.approve(paypal_order(order), send=False)
    paypal.capture(attempt(order))  # captured (the return page's request), its answer lost
    (completed,) = commit(standin.flush)  # PAYMENT.CAPTURE.COMPLETED first
    assert completed.status == 200 and status(order) == "paid"
    commit(standin.send_event, approved)  # then the approval, late
    assert status(order) == "paid" and paid_events(order) == 1 and len(standin.captures) == 1
    assert WebhookEvent.objects.get(event_type="CHECKOUT.ORDER.APPROVED").status == "ignored"


def test_a_declined_capture_fails_the_attempt(order, standin, commit, client):
    standin.deny(paypal_order(order))
    commit(standin.approve, paypal_order(order))
    assert attempt(order).status == "failed" and status(order) == "awaiting_payment"
    (declined,) = commit(standin.flush)
    assert declined.type == "PAYMENT.CAPTURE.DECLINED" and declined.status == 200
    html = shopper_page(client, order)
    assert "Your payment did not go through." in html and "Try again: PayPal" in html
    assert count(order, OrderEvent.Type.PAYMENT_FAILED) == 1


def test_a_denied_capture_after_the_payment_changes_nothing(order, standin, commit):
    commit(standin.approve, paypal_order(order))
    capture = standin.capture_of(paypal_order(order))
    denied = {**capture, "status": "DECLINED", "supplementary_data": {"related_ids": {"order_id": paypal_order(order)}}}
    assert commit(standin.send, events.CAPTURE_DENIED, denied).status == 200
    assert status(order) == "paid" and attempt(order).status == "confirmed" and paid_events(order) == 1


def test_a_pending_capture_is_paid_when_it_completes(order, standin, commit, client):
    standin.hold(paypal_order(order))
    commit(standin.approve, paypal_order(order))
    assert status(order) == "awaiting_payment" and attempt(order).status == "pending"
    assert "Your payment is being confirmed" in shopper_page(client, order, "?payment=returned")
    commit(standin.flush)  # PAYMENT.CAPTURE.PENDING
    capture = standin.capture_of(paypal_order(order))
    commit(standin.complete_pending, capture["id"])
    assert status(order) == "paid" and paid_events(order) == 1


def test_an_order_cancelled_before_the_approval_is_not_captured(order, standin, commit):
    commit(order_services.cancel_order, order, reason="Out of stock")
    commit(standin.approve, paypal_order(order))  # the shopper still had PayPal's page open
    assert not standin.captures and status(order) == "cancelled"
    assert attempt(order).status == "failed" and not attempt(order).surplus


# --- Mismatches -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("value", "1.00"), ("value", "129.01"), ("currency_code", "EUR")])
def test_an_amount_or_currency_that_differs_is_flagged_not_paid(order, standin, commit, client, staff, field, value):
    with standin.lock:
        standin.orders[paypal_order(order)]["purchase_units"][0]["amount"][field] = value
    assert commit(standin.approve, paypal_order(order)).status == 200
    order.refresh_from_db()
    assert order.payment_status == "awaiting_payment" and attempt(order).status == "pending"
    assert order.needs_attention and "not marked paid" in order.attention_reason
    assert count(order, OrderEvent.Type.PAYMENT_MISMATCH) == 1
    assert "Needs attention" in back_office(client, order)


def test_a_completed_event_that_lies_about_the_amount_is_taken_from_paypal(order, standin, commit):
    standin.approve(paypal_order(order), send=False)
    PROVIDERS["paypal"].capture(attempt(order))
    (completed,) = standin.held_events
    standin.held_events.clear()
    completed["resource"]["amount"]["value"] = "1.00"  # signed, but PayPal's API has the last word
    commit(standin.send_event, completed)
    assert status(order) == "paid" and not order.needs_attention


# --- Refunds ------------------------------------------------------------------------------------------------------


def test_a_refund_from_the_back_office_goes_through_paypal_once(order, standin, commit, client, staff):
    commit(standin.approve, paypal_order(order))
    commit(standin.flush)
    capture_id = attempt(order).transaction_reference
    response = commit(
        client.post,
        f"/backoffice/orders/{order.number}/action/",
        {"action": "refund", "amount": "40.00", "note": "Broken lid"},
        follow=True,
    )
    assert "the customer is told by e-mail" in response.content.decode()
    (call,) = standin.calls_to(f"/v2/payments/captures/{capture_id}/refund", "POST")
    assert call.body == {"amount": {"currency_code": "CHF", "value": "40.00"}, "custom_id": attempt(order).reference}
    assert call.request_id.startswith("refund:") and call.request_id.endswith(attempt(order).reference)
    (refund,) = Refund.objects.all()
    assert refund.provider_reference in standin.refunds and refund.amount == Decimal("40.00")
    assert status(order) == "partially_refunded"
    (delivery,) = commit(standin.flush)  # PayPal's PAYMENT.CAPTURE.REFUNDED for it: nothing more
    assert delivery.type == "PAYMENT.CAPTURE.REFUNDED" and delivery.status == 200
    assert Refund.objects.count() == 1 and count(order, OrderEvent.Type.REFUNDED) == 1
    assert WebhookEvent.objects.get(event_type="PAYMENT.CAPTURE.REFUNDED").status == "processed"
    assert OutgoingEmail.objects.filter(order=order, kind="refunded").count() == 1


def test_refunds_from_paypals_dashboard_are_recorded_once(order, standin, commit, client, staff):
    commit(standin.approve, paypal_order(order))
    capture_id = attempt(order).transaction_reference
    first = commit(standin.refund_in_dashboard, capture_id, 4000)
    assert status(order) == "partially_refunded"
    refunded = next(d for d in standin.sent_events if d.type == "PAYMENT.CAPTURE.REFUNDED")
    commit(standin.resend, refunded.event["id"])  # PayPal sends it again
    assert list(Refund.objects.values_list("amount", "provider_reference")) == [(Decimal("40.00"), first["id"])]
    rest = commit(standin.refund_in_dashboard, capture_id)
    assert rest["amount"]["value"] == "89.00" and status(order) == "refunded"
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("40.00"), Decimal("89.00")]
    assert OutgoingEmail.objects.filter(order=order, kind="refunded").count() == 2
    assert badge(shopper_page(client, order)) == "Refunded"


def test_a_reversed_capture_counts_as_refunded(order, standin, commit):
    commit(standin.approve, paypal_order(order))
    capture_id = attempt(order).transaction_reference
    assert commit(standin.reverse, capture_id).status == 200
    (refund,) = Refund.objects.all()
    assert refund.provider_reference == f"reversal:{capture_id}" and refund.amount == Decimal("129.00")
    assert status(order) == "refunded"
    commit(standin.resend, standin.sent_events[-1].event["id"])
    assert Refund.objects.count() == 1


def test_a_refund_that_arrives_before_the_payment_is_not_lost(order, standin, commit, paypal):
    approved = standin.approve(paypal_order(order), send=False)
    paypal.capture(attempt(order))  # captured; every event is late
    standin.held_events.clear()
    capture_id = standin.capture_of(paypal_order(order))["id"]
    commit(standin.refund_in_dashboard, capture_id)  # PAYMENT.CAPTURE.REFUNDED names only the capture
    assert Refund.objects.count() == 1 and status(order) == "refunded"
    commit(standin.send_event, approved)
    commit(standin.send, events.CAPTURE_COMPLETED, standin.capture_of(paypal_order(order)) | {"status": "COMPLETED"})
    assert status(order) == "refunded" and paid_events(order) <= 1 and Refund.objects.count() == 1
    assert not attempt(order).surplus


def test_a_refund_paypal_refuses_is_shown_and_not_recorded(order, standin, commit, client, staff):
    commit(standin.approve, paypal_order(order))
    capture_id = attempt(order).transaction_reference
    body = events.error(
        422,
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed.",
        "REFUND_NOT_ALLOWED",
        "Full refund refused - partial refund has already been done on this payment.",
    )
    standin.fail_next(f"/v2/payments/captures/{capture_id}/refund", 422, body)
    response = client.post(
        f"/backoffice/orders/{order.number}/action/", {"action": "refund", "amount": "129.00"}, follow=True
    )
    html = response.content.decode()
    assert "The provider refused the refund" in html and "partial refund has already been done" in html
    assert status(order) == "paid" and not Refund.objects.exists()


def test_a_refund_with_paypal_down_is_said_and_kept_pending(order, standin, commit, client, staff, settings):
    commit(standin.approve, paypal_order(order))
    capture_id = attempt(order).transaction_reference
    settings.PROVIDER_TIMEOUT = 0.5
    standin.hang_next(f"/v2/payments/captures/{capture_id}/refund", 1.0, times=3)  # PayPal refunds, answers late
    url = f"/backoffice/orders/{order.number}/action/"
    response = commit(client.post, url, {"action": "refund", "amount": "129.00"}, follow=True)
    assert "PayPal could not be reached, so whether it made the refund is not known yet." in response.content.decode()
    assert status(order) == "paid" and Refund.objects.get().status == "pending"
    assert len(standin.refunds) == 1  # three tries with one request id: one refund at PayPal
    commit(standin.flush)  # its PAYMENT.CAPTURE.REFUNDED
    assert status(order) == "refunded" and Refund.objects.get().amount == Decimal("129.00")


# --- Signatures ---------------------------------------------------------------------------------------------------


def approval_of(order, standin) -> dict:
    return standin.approve(paypal_order(order), send=False)  # approved at PayPal; the event is sent by the test


def refused(order, delivery) -> bool:
    return delivery.status == 400 and not WebhookEvent.objects.exists() and status(order) == "awaiting_payment"


def test_a_forged_body_is_refused_and_nothing_stored(order, standin, commit):
    evt = approval_of(order, standin)
    body = events.payload(evt)
    tampered = body.replace(b'"value":"129.00"', b'"value":"1.00"')
    assert tampered != body
    signed = events.signature_headers(body, WEBHOOK_ID, standin.key, standin.cert_url)
    assert refused(order, commit(standin.send_event, evt, body=tampered, headers=signed))
    assert commit(standin.send_event, evt).status == 200 and status(order) == "paid"  # the real one


@pytest.mark.parametrize(
    "forgery",
    [
        "wrong_webhook_id",
        "other_key",
        "other_host",
        "plain_http",
        "outside_the_standin",
        "lookalike_host",
        "stale",
        "ahead",
    ],
)
def test_a_badly_signed_event_is_refused(order, standin, commit, forgery):
    evt = approval_of(order, standin)
    options = {
        "wrong_webhook_id": {"webhook_id": "3LL06591KB946052S"},
        "other_key": {"key": events.SigningKey()},  # the stand-in's certificate, somebody else's key
        "other_host": {"cert_url": "https://api.example.com/v1/notifications/certs/CERT-1"},
        "plain_http": {"cert_url": "http://api.paypal.com/v1/notifications/certs/CERT-1"},
        "outside_the_standin": {"cert_url": "http://127.0.0.1:1/v1/notifications/certs/CERT-1"},
        "lookalike_host": {"cert_url": "https://api.paypal.com.example.net/v1/notifications/certs/CERT-1"},
        "stale": {"transmission_time": events.timestamp(timezone.now() - dt.timedelta(days=3, minutes=1))},
        "ahead": {"transmission_time": events.timestamp(timezone.now() + dt.timedelta(minutes=6))},
    }[forgery]
    assert refused(order, commit(standin.send_event, evt, **options))


@pytest.mark.parametrize(
    "age", [dt.timedelta(minutes=6), dt.timedelta(hours=20), dt.timedelta(days=2, hours=23, minutes=50)]
)
def test_an_event_inside_the_window_is_taken(order, standin, commit, age):
    """PayPal retries "up to 25 times over the course of three days" and does not document re-signing a retry: a
    transmission is taken for 3 days after its time."""
    evt = approval_of(order, standin)
    sent = events.timestamp(timezone.now() - age)
    assert commit(standin.send_event, evt, transmission_time=sent).status == 200 and status(order) == "paid"


def test_a_delivery_sent_again_with_the_same_body_is_answered_and_stored_once(order, standin, commit, client):
    delivery = commit(standin.send_event, approval_of(order, standin))
    fetched = len(standin.calls_to(standin.cert_path, "GET"))
    again = commit(client.post, "/webhooks/paypal/", delivery.body, content_type="application/json",
                   **events.django_headers(delivery.headers))  # fmt: skip
    assert again.status_code == 200
    assert WebhookEvent.objects.count() == 1 and paid_events(order) == 1
    assert len(standin.calls_to(standin.cert_path, "GET")) == fetched


def test_a_known_transmission_with_another_body_of_the_same_crc32_is_refused(order, standin, commit, client):
    """PayPal signs only the CRC32 of the body: a genuine delivery's headers with another body of the same CRC32
    carry a valid signature. The transmission id, stored with a digest of the body, gives the forgery away."""
    genuine = commit(standin.send_event, approval_of(order, standin))
    capture = {"id": "0TP11111AA1111111", "status": "COMPLETED", "amount": events.money(1)}

    forged_event = events.payload(events.event(events.CAPTURE_COMPLETED, capture, id="WH-FORGED-TAG"))

    def make(tag, pad):  # the forged event's bytes, with a varying id and 4 bytes to solve for in its summary
        body = forged_event.replace(b"WH-FORGED-TAG", f"WH-FORGED-{tag}".encode())
        return body.replace(b'"summary":"', b'"summary":"' + pad, 1)

    forged = events.with_crc32_of(genuine.body, make)
    paypal_webhooks.verify_signature(forged, genuine.headers, WEBHOOK_ID)  # the signature alone would take it
    response = client.post("/webhooks/paypal/", forged, content_type="application/json",
                           **events.django_headers(genuine.headers))  # fmt: skip
    assert response.status_code == 400
    assert list(WebhookEvent.objects.values_list("event_type", flat=True)) == [events.ORDER_APPROVED]


@pytest.mark.parametrize(
    "change",
    [
        {"Paypal-Transmission-Time": "yesterday"},
        {"Paypal-Auth-Algo": "SHA1withRSA"},
        {"Paypal-Transmission-Sig": "not base64 !"},
        {"Paypal-Transmission-Id": "é"},
    ],
)
def test_the_certificate_is_fetched_only_after_the_cheap_checks_pass(order, standin, commit, change):
    evt = approval_of(order, standin)
    signed = events.signature_headers(events.payload(evt), WEBHOOK_ID, standin.key, standin.cert_url) | change
    assert refused(order, commit(standin.send_event, evt, headers=signed))
    stale = events.timestamp(timezone.now() - dt.timedelta(days=4))
    assert refused(order, commit(standin.send_event, evt, transmission_time=stale))
    assert refused(order, commit(standin.send_event, evt, body=b"[" * 10_000))
    assert standin.calls_to(standin.cert_path, "GET") == []


@pytest.mark.parametrize(
    "certificate",
    [
        {"self_signed": True},  # chains to no trusted root
        {"name": "messageverificationcerts.paypal.com.example.net"},  # issued by a trusted root, not PayPal's name
        {"name": "paypal.com.evil.example"},
    ],
)
def test_a_certificate_that_is_not_paypal_s_is_refused(order, standin, commit, certificate):
    key = events.SigningKey(**certificate)
    path = standin.add_certificate(key)
    assert refused(order, commit(standin.send_event, approval_of(order, standin), key=key, cert_url=standin.url + path))


def test_the_trust_store_decides_which_roots_are_trusted(order, standin, commit, settings):
    """The trust store is a setting: PayPal's real certificates chain to Mozilla's roots (certifi's bundle, the
    default), the stand-in's to its own root, which Mozilla's bundle does not hold."""
    import certifi

    evt = approval_of(order, standin)
    settings.PAYPAL_CERT_TRUST_STORE = certifi.where()
    assert refused(order, commit(standin.send_event, evt))
    settings.PAYPAL_CERT_TRUST_STORE = events.trust_store_path()
    assert commit(standin.send_event, evt).status == 200 and status(order) == "paid"


def test_an_expired_certificate_is_refused(order, standin, commit):
    now = dt.datetime.now(dt.UTC)
    key = events.SigningKey(not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1))
    path = standin.add_certificate(key)
    assert refused(order, commit(standin.send_event, approval_of(order, standin), key=key, cert_url=standin.url + path))


@pytest.mark.parametrize(
    "header",
    [
        "Paypal-Transmission-Id",
        "Paypal-Transmission-Time",
        "Paypal-Transmission-Sig",
        "Paypal-Cert-Url",
        "Paypal-Auth-Algo",
    ],
)
def test_an_event_missing_a_signature_header_is_refused(order, standin, commit, header):
    evt = approval_of(order, standin)
    signed = events.signature_headers(events.payload(evt), WEBHOOK_ID, standin.key, standin.cert_url)
    del signed[header]
    assert refused(order, commit(standin.send_event, evt, headers=signed))


def test_malformed_signature_values_are_refused(order, standin, commit):
    evt = approval_of(order, standin)
    body = events.payload(evt)
    for change in (
        {"Paypal-Transmission-Sig": "not base64 !"},
        {"Paypal-Auth-Algo": "SHA1withRSA"},
        {"Paypal-Transmission-Time": "yesterday"},
        {"Paypal-Cert-Url": "https://api.paypal.com/" + "x" * 600},
    ):
        signed = events.signature_headers(body, WEBHOOK_ID, standin.key, standin.cert_url) | change
        assert refused(order, commit(standin.send_event, evt, headers=signed))
    signed = events.signature_headers(b"not json", WEBHOOK_ID, standin.key, standin.cert_url)
    assert refused(order, commit(standin.send_event, evt, body=b"not json", headers=signed))


def test_the_certificate_is_fetched_once_for_many_events(order, standin, commit):
    evt = approval_of(order, standin)
    for _ in range(3):
        assert commit(standin.send_event, evt).status == 200
    commit(standin.send, "PAYMENT.CAPTURE.SOMETHING_NEW", {"id": "X"})
    assert len(standin.calls_to(standin.cert_path, "GET")) == 1
    assert WebhookEvent.objects.count() == 2  # the approval stored once (by its id), and the unknown event
    paypal_webhooks._certificates.clear()  # another process: the cache has it
    commit(standin.send, "PAYMENT.CAPTURE.SOMETHING_NEW", {"id": "Y"})
    assert len(standin.calls_to(standin.cert_path, "GET")) == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77", True),
        ("https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77", True),
        ("https://paypal.com/cert", True),
        ("https://api.paypal.com:443/cert", True),
        ("https://api.paypal.com:8443/cert", False),
        ("https://evilpaypal.com/cert", False),
        ("https://paypal.com.evil.example/cert", False),
        ("https://user@api.paypal.com/cert", False),
        ("http://api.paypal.com/cert", False),
        ("ftp://api.paypal.com/cert", False),
        ("https://[::1/cert", False),
    ],
)
def test_only_paypals_certificate_urls_are_fetched(paypal_settings, url, allowed):
    paypal_settings.PAYPAL_API_BASE = ""
    assert paypal_webhooks.allowed_cert_url(url) is allowed


def test_webhooks_are_refused_while_paypal_is_not_configured(order, standin, commit, settings):
    evt = approval_of(order, standin)
    settings.PAYPAL_WEBHOOK_ID = ""
    with pytest.raises(WebhookError):
        PROVIDERS["paypal"].parse_webhook(events.payload(evt), {})


# --- What each event means ----------------------------------------------------------------------------------------


def capture_resource(**fields) -> dict:
    return events.fixture("capture") | fields


@pytest.mark.parametrize(
    ("type", "kind"),
    [
        (events.CAPTURE_COMPLETED, EventKind.SUCCEEDED),
        (events.CAPTURE_PENDING, EventKind.PENDING),
        (events.CAPTURE_DENIED, EventKind.FAILED),
        (events.CAPTURE_DECLINED, EventKind.FAILED),
    ],
)
def test_capture_events_in_our_terms(paypal, type, kind):
    event = paypal.event(events.event(type, capture_resource()))
    assert (event.type, event.payment_reference, event.provider_reference) == (kind, "pay_example", "5O190127TN364715T")
    assert (event.amount_minor, event.currency, event.problem) == (12900, "CHF", "")
    assert event.details["transaction_reference"] == "3C679366HH908993F" and event.provider_type == type


def test_the_approval_in_our_terms(paypal):
    resource = events.fixture("order") | {"status": "APPROVED"}
    event = paypal.event(events.event(events.ORDER_APPROVED, resource))
    assert (event.type, event.payment_reference, event.provider_reference) == (
        EventKind.AUTHORIZED,
        "pay_example",
        "5O190127TN364715T",
    )
    assert (event.amount_minor, event.currency) == (12900, "CHF")


def test_refunds_and_reversals_in_our_terms(paypal):
    refund = paypal.event(events.event(events.CAPTURE_REFUNDED, events.fixture("refund")))
    assert (refund.type, refund.payment_reference) == (EventKind.REFUNDED, "pay_example")
    assert refund.details == {"transaction_reference": "3C679366HH908993F", "refund_reference": "1JU08902781691411"}
    from_dashboard = events.fixture("refund")
    del from_dashboard["custom_id"]
    assert paypal.event(events.event(events.CAPTURE_REFUNDED, from_dashboard)).payment_reference == "3C679366HH908993F"
    reversed_ = paypal.event(events.event(events.CAPTURE_REVERSED, capture_resource(status="REVERSED")))
    assert (reversed_.type, reversed_.details["transaction_reference"]) == (EventKind.REFUNDED, "3C679366HH908993F")


@pytest.mark.parametrize("value", ["12.345", "-1.00", "1e3", "", "NaN", 129])
def test_an_amount_that_cant_be_right_is_a_problem(paypal, value):
    event = paypal.event(
        events.event(events.CAPTURE_COMPLETED, capture_resource(amount={"currency_code": "CHF", "value": value}))
    )
    assert event.problem and event.amount_minor is None


def test_other_events_are_ignored(paypal, order, standin, commit):
    assert paypal.event(events.event("CUSTOMER.DISPUTE.CREATED", {"id": "PP-D-1"})).type == EventKind.IGNORED
    stranger = events.fixture("order") | {"status": "APPROVED", "id": "9X123456789012345"}
    stranger["purchase_units"][0]["custom_id"] = "pay_somebody_else"
    assert commit(standin.send, events.ORDER_APPROVED, stranger).status == 200
    assert WebhookEvent.objects.get().status == "ignored" and status(order) == "awaiting_payment"
    assert not standin.captures


def test_a_signed_event_with_a_wrong_amount_is_stored_rejected(order, standin, commit):
    resource = capture_resource(amount={"currency_code": "CHF", "value": "12.345"})
    assert commit(standin.send, events.CAPTURE_COMPLETED, resource).status == 200
    assert WebhookEvent.objects.get().status == "rejected" and status(order) == "awaiting_payment"


# --- Reconciliation -----------------------------------------------------------------------------------------------


@pytest.fixture
def late_order(clock, place, fondue, paypal):
    """An order whose shopper went to PayPal at T0; no webhook arrives."""
    return online.sent_to_pay(place, fondue, "paypal")


def test_reconciliation_captures_an_approved_order(late_order, standin, clock, commit):
    standin.approve(paypal_order(late_order), send=False)
    clock.shift(dt.timedelta(minutes=31))
    assert commit(tasks.reconcile_payments) == 1
    assert status(late_order) == "paid" and len(standin.captures) == 1
    assert late_order.events.get(type=OrderEvent.Type.PAYMENT_CONFIRMED).data["via"] == "reconciliation"


def test_reconciliation_finds_a_lapsed_order_expired(late_order, standin, clock):
    clock.shift(dt.timedelta(hours=3, minutes=1))  # PayPal forgot the unapproved order
    assert tasks.reconcile_payments() == 1
    assert attempt(late_order).status == "failed" and status(late_order) == "awaiting_payment"
    assert late_order.events.get(type=OrderEvent.Type.PAYMENT_FAILED).data["via"] == "reconciliation"


def test_reconciliation_with_paypal_down_changes_nothing(late_order, standin, clock, commit):
    order_id = paypal_order(late_order)
    standin.approve(order_id, send=False)
    clock.shift(dt.timedelta(minutes=31))
    standin.fail_next(f"/v2/checkout/orders/{order_id}", 500, method="GET", times=3)
    assert tasks.reconcile_payments() == 0
    assert attempt(late_order).status == "pending" and not standin.captures
    clock.shift(dt.timedelta(minutes=11))
    assert commit(tasks.reconcile_payments) == 1 and status(late_order) == "paid"


def test_a_capture_with_paypal_down_is_taken_by_the_sweep(order, standin, commit):
    order_id = paypal_order(order)
    standin.fail_next(f"/v2/checkout/orders/{order_id}/capture", 503, times=3)
    assert commit(standin.approve, order_id).status == 200  # stored; its capture failed: kept for later
    assert WebhookEvent.objects.get().status == "received" and status(order) == "awaiting_payment"
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        assert commit(tasks.sweep_webhook_events) == 1
    assert status(order) == "paid" and len(standin.captures) == 1


def test_a_capture_that_times_out_is_one_capture_when_asked_again(order, standin, commit, settings):
    order_id = paypal_order(order)
    settings.PROVIDER_TIMEOUT = 0.5
    standin.hang_next(f"/v2/checkout/orders/{order_id}/capture", 1.0, times=3)  # PayPal captures, answers late
    commit(standin.approve, order_id)
    assert status(order) == "awaiting_payment" and len(standin.captures) == 1
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        commit(tasks.sweep_webhook_events)
    assert status(order) == "paid" and len(standin.captures) == 1 and paid_events(order) == 1


# --- The merchant's side ------------------------------------------------------------------------------------------


def test_the_back_office_links_to_paypals_activity(order, standin, commit, client, staff, settings):
    commit(standin.approve, paypal_order(order))
    payment = attempt(order)
    url = f"https://www.sandbox.paypal.com/activity/payment/{payment.transaction_reference}"
    assert PROVIDERS["paypal"].dashboard_url(payment) == url
    assert url in back_office(client, order) and "PayPal (anna.muster@example.ch)" in back_office(client, order)
    settings.PAYPAL_MODE = "live"
    assert PROVIDERS["paypal"].dashboard_url(payment).startswith("https://www.paypal.com/activity/payment/")


def test_cancelling_an_unapproved_order_calls_nothing_at_paypal(order, standin, commit):
    before = len(standin.calls)
    commit(order_services.cancel_order, order, reason="Customer asked")
    assert len(standin.calls) == before  # PayPal has no cancel: the order lapses by itself
    assert status(order) == "cancelled" and attempt(order).status == "failed"


def test_transmission_ids_are_forgotten_once_no_signature_can_be_taken_for_them(order, standin, commit):
    from payments.models import WebhookDelivery

    commit(standin.send_event, approval_of(order, standin))
    assert WebhookDelivery.objects.count() == 1
    with time_machine.travel(timezone.now() + dt.timedelta(days=6)):
        tasks.sweep_webhook_events()
    assert WebhookDelivery.objects.count() == 1  # still inside the 3 days of the window and the margin after it
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, minutes=1)):
        tasks.sweep_webhook_events()
    assert not WebhookDelivery.objects.exists()
