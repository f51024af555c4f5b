"""E-mail notifications: each trigger queues the right e-mail once, in the shopper's language, sent after the commit
through the outbox task, retried on failure, never lost when the broker is down."""

import email as email_lib
import smtplib
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from notifications import delivery, services, tasks
from notifications.kinds import KINDS, Kind
from notifications.models import EmailSettings, OutgoingEmail
from orders import services as orders
from orders.models import Order, OrderEvent
from payments import services as payments
from tests.factories import ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db

Status = OutgoingEmail.Status


@pytest.fixture
def merchant(store):
    store.email = "shop@alpenladen.ch"
    store.save()
    return store


def sent(kind=None, to=None):
    return [m for m in mail.outbox if (to is None or to in m.to) and (kind is None or m.extra_headers)]


def rows(kind, **filters):
    return list(OutgoingEmail.objects.filter(kind=kind, **filters))


def message_for(row) -> mail.EmailMessage:
    return next(m for m in mail.outbox if m.extra_headers.get("X-Shop-Email") == str(row.pk))


def html_of(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


# Placing an order ----------------------------------------------------------------------------------------------------


def test_order_placed_sends_confirmation_and_merchant_notification_once(place, merchant, fondue, commit):
    order = commit(place, fondue, 2, payment_method="bank_transfer", language="en")

    confirmation = rows(Kind.ORDER_CONFIRMATION)
    new_order = rows(Kind.NEW_ORDER)
    assert len(confirmation) == 1 and len(new_order) == 1 and OutgoingEmail.objects.count() == 2
    assert confirmation[0].to == "anna@example.ch" and confirmation[0].status == Status.SENT
    assert new_order[0].to == "shop@alpenladen.ch" and new_order[0].language == "de"

    message = message_for(confirmation[0])
    assert message.subject == f"Your order {order.number} at Alpenladen"
    assert "How to pay" in message.body and "CH93 0076 2011 6238 5295 7" in message.body
    assert "2 × Fondue Set: CHF 258.–" in message.body
    assert f"/en/order/{order.token}/" in message.body
    html = html_of(message)
    assert "CH93 0076 2011 6238 5295 7" in html and "Fondue Set" in html and "&lt;" not in html.split("<body")[1][:50]

    merchant_message = message_for(new_order[0])
    assert merchant_message.to == ["shop@alpenladen.ch"]
    assert f"/backoffice/orders/{order.number}/" in merchant_message.body
    assert merchant_message.subject.startswith(f"Neue Bestellung {order.number}")

    # every e-mail sent shows on the order's timeline
    events = OrderEvent.objects.filter(order=order, type=OrderEvent.Type.EMAIL_SENT)
    assert sorted(e.data["kind"] for e in events) == ["new_order", "order_confirmation"]


@pytest.mark.parametrize(
    ("language", "subject", "phrase"),
    [
        ("de", "Ihre Bestellung {n} bei Alpenladen", "Vielen Dank für Ihre Bestellung"),
        ("fr", "Votre commande {n} chez Alpenladen", "Merci pour votre commande"),
        ("en", "Your order {n} at Alpenladen", "Thank you for your order"),
    ],
)
def test_the_shopper_gets_the_language_used_at_checkout(place, merchant, fondue, commit, language, subject, phrase):
    order = commit(place, fondue, 1, language=language)
    message = message_for(rows(Kind.ORDER_CONFIRMATION)[0])
    assert message.subject == subject.format(n=order.number)
    assert phrase in message.body and phrase in html_of(message)
    assert "CHF 129.–" in message.body  # free shipping above CHF 100, the Swiss way in every language


def test_low_stock_tells_the_merchant_when_an_order_crosses_the_threshold(place, merchant, commit, settings):
    settings.LOW_STOCK_THRESHOLD = 5
    raclette = ProductFactory(name="Raclette Oven", sku="RAC-1", price=Decimal("80.00"), stock=7)
    commit(place, raclette, 1)  # 7 → 6: still above
    assert rows(Kind.LOW_STOCK) == []
    commit(place, raclette, 2)  # 6 → 4: crosses
    low = rows(Kind.LOW_STOCK)
    assert len(low) == 1 and low[0].context["products"][0]["stock"] == 4
    assert "Raclette Oven (RAC-1): 4" in message_for(low[0]).body
    commit(place, raclette, 1)  # 4 → 3: already low, no new e-mail
    assert len(rows(Kind.LOW_STOCK)) == 1


def test_several_merchant_addresses_each_get_the_new_order(place, merchant, fondue, commit):
    services.update_email_settings({"merchant_recipients": "a@alpenladen.ch\nb@alpenladen.ch"}, [])
    commit(place, fondue, 1)
    assert sorted(row.to for row in rows(Kind.NEW_ORDER)) == ["a@alpenladen.ch", "b@alpenladen.ch"]


def test_switched_off_notifications_are_not_sent(place, merchant, fondue, commit):
    services.update_email_settings({}, [Kind.ORDER_CONFIRMATION])
    commit(place, fondue, 1)
    assert rows(Kind.ORDER_CONFIRMATION) == [] and len(rows(Kind.NEW_ORDER)) == 1
    assert [m.to for m in mail.outbox] == [["shop@alpenladen.ch"]]


def test_copy_of_customer_emails_goes_to_the_merchant_as_bcc(place, merchant, fondue, commit):
    services.update_email_settings({"copy_customer_emails": True}, [])
    commit(place, fondue, 1)
    message = message_for(rows(Kind.ORDER_CONFIRMATION)[0])
    assert message.to == ["anna@example.ch"] and message.bcc == ["shop@alpenladen.ch"]
    assert message.reply_to == ["shop@alpenladen.ch"]


# Payment --------------------------------------------------------------------------------------------------------------


def test_a_duplicate_webhook_sends_payment_received_once(place, merchant, fondue, client, commit):
    from tests.test_webhooks import deliver, event

    order = commit(place, fondue, 1, payment_method="test", language="fr")
    payment = order.payments.get()
    body = event(payment, event_id="evt_dup")
    commit(deliver, client, body)
    commit(deliver, client, body)
    commit(deliver, client, event(payment, event_id="evt_other"))  # another event for the same payment
    received = rows(Kind.PAYMENT_RECEIVED)
    assert len(received) == 1 and received[0].language == "fr"
    assert message_for(received[0]).subject == f"Paiement reçu pour la commande {order.number}"
    assert Order.objects.get(pk=order.pk).payment_status == "paid"


def test_recording_an_offline_payment_sends_payment_received(place, merchant, fondue, commit):
    order = commit(place, fondue, 1)
    commit(payments.record_offline_payment, order, order.total)
    assert len(rows(Kind.PAYMENT_RECEIVED)) == 1


def test_a_zero_total_order_paid_at_once_gets_only_the_confirmation(place, merchant, commit):
    free = ProductFactory(name="Sample", price=Decimal("0.00"), requires_shipping=False, stock=None)
    order = commit(place, free, 1)
    assert order.payment_status == "paid"
    assert len(rows(Kind.ORDER_CONFIRMATION)) == 1 and rows(Kind.PAYMENT_RECEIVED) == []
    assert "Your payment has been received." in message_for(rows(Kind.ORDER_CONFIRMATION)[0]).body


# Fulfilment -----------------------------------------------------------------------------------------------------------


def test_shipped_with_tracking_sends_one_email_with_the_link(place, merchant, fondue, commit):
    order = commit(place, fondue, 1)
    commit(orders.assign_tracking, order, "99.00.123456.12345678", "swiss_post")
    assert rows(Kind.SHIPPED) == []  # not shipped yet: the number comes with the shipped e-mail
    commit(orders.ship_order, order, unpaid_ok=True)
    shipped = rows(Kind.SHIPPED)
    assert len(shipped) == 1
    body = message_for(shipped[0]).body
    assert "99.00.123456.12345678" in body and "https://service.post.ch/" in body
    # saving the same number again sends nothing; a corrected number is sent
    commit(orders.assign_tracking, order, "99.00.123456.12345678", "swiss_post")
    assert len(rows(Kind.SHIPPED)) == 1
    commit(orders.assign_tracking, order, "JJD000390007", "dhl")
    assert len(rows(Kind.SHIPPED)) == 2 and "JJD000390007" in message_for(rows(Kind.SHIPPED)[0]).body


def test_tracking_assigned_after_shipping_is_emailed(place, merchant, fondue, commit):
    order = commit(place, fondue, 1)
    commit(orders.ship_order, order, unpaid_ok=True)
    first = rows(Kind.SHIPPED)
    assert len(first) == 1 and "Tracking number" not in message_for(first[0]).body
    commit(orders.assign_tracking, order, "00340434161234567890", "dpd")
    assert len(rows(Kind.SHIPPED)) == 2


def test_status_changes_and_pickup(place, merchant, fondue, commit):
    order = commit(place, fondue, 1, language="de")
    commit(orders.start_processing, order)
    changed = rows(Kind.STATUS_CHANGED)
    assert len(changed) == 1
    assert message_for(changed[0]).subject == f"Bestellung {order.number}: In Bearbeitung"
    pickup = commit(place, fondue, 1, payment_method="cash_on_pickup", pickup=True)
    commit(orders.mark_ready_for_pickup, pickup)
    ready = rows(Kind.READY_FOR_PICKUP)
    assert len(ready) == 1 and "Limmatquai 42" in message_for(ready[0]).body


def test_a_refused_transition_sends_nothing(place, merchant, fondue, commit):
    order = commit(place, fondue, 1)
    commit(orders.ship_order, order, unpaid_ok=True)
    with pytest.raises(orders.TransitionError):
        commit(orders.ship_order, order, unpaid_ok=True)
    assert len(rows(Kind.SHIPPED)) == 1


def test_cancelling_a_paid_order_sends_one_cancellation_with_the_refund(place, merchant, fondue, commit):
    order = commit(place, fondue, 1)
    commit(payments.record_offline_payment, order, order.total)
    commit(orders.cancel_order, order, reason="Out of stock")
    cancelled = rows(Kind.CANCELLED)
    assert len(cancelled) == 1 and rows(Kind.STATUS_CHANGED) == [] and rows(Kind.REFUNDED) == []
    assert "We are refunding CHF 129.– to you." in message_for(cancelled[0]).body


def test_a_partial_refund(place, merchant, fondue, commit):
    order = commit(place, fondue, 1)
    commit(payments.record_offline_payment, order, order.total)
    commit(payments.refund, order, Decimal("29.00"), note="Scratched")
    order.refresh_from_db()
    assert order.payment_status == "partially_refunded"
    refunded = rows(Kind.REFUNDED)
    assert len(refunded) == 1 and "We have refunded CHF 29.– for your order" in message_for(refunded[0]).body
    with pytest.raises(payments.PaymentError, match="You can refund at most CHF 100.–"):
        payments.refund(order, Decimal("200"))
    with translation.override("de"), pytest.raises(payments.PaymentError, match="höchstens CHF 100.–"):
        payments.refund(order, Decimal("200"))
    commit(payments.refund, order, Decimal("100.00"))
    order.refresh_from_db()
    assert order.payment_status == "refunded" and len(rows(Kind.REFUNDED)) == 2


# Manual orders: confirmation and payment link -------------------------------------------------------------------------


def test_payment_link_switches_to_online_payment_and_emails_the_order_page(merchant, fondue, commit, client):
    staff = StaffFactory()
    new = orders.NewOrder(
        items=[orders.Item(fondue, 1)], email="kurt@example.ch", payment_method="phone", language="en", confirm=False
    )
    order = commit(orders.create_manual_order, new, staff, payment_link=True)
    assert order.payment_method == "test" and rows(Kind.ORDER_CONFIRMATION) == [] and rows(Kind.NEW_ORDER) == []
    link = rows(Kind.PAYMENT_LINK)
    assert len(link) == 1 and link[0].to == "kurt@example.ch"
    body = message_for(link[0]).body
    assert f"/en/order/{order.token}/" in body and "CHF 129.–" in body
    page = client.get(f"/en/order/{order.token}/")
    assert "Pay now" in page.content.decode()


def test_payment_link_needs_an_online_method(merchant, fondue, commit):
    from payments.models import PaymentMethod

    PaymentMethod.objects.filter(code="test").update(is_enabled=False)
    PaymentMethod.objects.filter(code="test").first().save()  # refresh the cached list
    order = commit(
        orders.create_manual_order,
        orders.NewOrder(items=[orders.Item(fondue, 1)], email="k@example.ch", payment_method="phone"),
        StaffFactory(),
    )
    with pytest.raises(payments.PaymentError, match="online payment method"):
        payments.send_payment_link(order, None)


# Delivery: retries, failures, the sweep -------------------------------------------------------------------------------


class FlakyBackend:
    """An e-mail backend whose first ``failures`` sends raise an SMTP error."""

    failures = 0
    calls = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).calls <= type(self).failures:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        mail.outbox.extend(messages)
        return len(messages)


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = "tests.test_notifications.FlakyBackend"
    FlakyBackend.calls = 0
    return FlakyBackend


def test_an_smtp_failure_is_retried_then_sent(place, merchant, fondue, commit, flaky):
    flaky.failures = 2
    services.update_email_settings({}, [Kind.NEW_ORDER])
    order = commit(place, fondue, 1)
    row = rows(Kind.ORDER_CONFIRMATION)[0]
    assert row.status == Status.PENDING and row.attempts == 1 and "SMTPServerDisconnected" in row.last_error
    assert row.due_at > timezone.now() + delivery.LOST_AFTER + timedelta(seconds=50)  # the sweep waits for the retry
    assert delivery.deliver(row.pk) == 180  # second try fails: the next waits longer
    assert delivery.deliver(row.pk) is None
    row.refresh_from_db()
    assert row.status == Status.SENT and row.attempts == 3 and len(mail.outbox) == 1
    assert delivery.deliver(row.pk) is None and len(mail.outbox) == 1  # a late duplicate task sends nothing
    assert OrderEvent.objects.filter(order=order, type=OrderEvent.Type.EMAIL_SENT).count() == 1


def test_an_exhausted_email_is_failed_shown_and_can_be_resent(place, merchant, fondue, commit, flaky, client):
    flaky.failures = 100
    services.update_email_settings({}, [Kind.NEW_ORDER])
    order = commit(place, fondue, 1)
    row = rows(Kind.ORDER_CONFIRMATION)[0]
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        delivery.deliver(row.pk)
    row.refresh_from_db()
    assert row.status == Status.FAILED and row.attempts == delivery.MAX_ATTEMPTS == 6
    assert sum(delivery.RETRY_DELAYS) >= 50 * 60  # six tries over about an hour
    failed = OrderEvent.objects.get(order=order, type=OrderEvent.Type.EMAIL_FAILED)
    assert failed.data["kind"] == "order_confirmation"

    staff = StaffFactory()
    client.force_login(staff)
    page = client.get(reverse("backoffice:order", kwargs={"number": order.number}), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert "An e-mail to the customer could not be sent" in html and "SMTPServerDisconnected" in html
    log = client.get(reverse("backoffice:email_log") + "?status=failed", HTTP_ACCEPT_LANGUAGE="en")
    assert "anna@example.ch" in log.content.decode() and "Failed" in log.content.decode()

    flaky.failures = 0
    with mock.patch("django.db.transaction.on_commit", side_effect=lambda f, *a, **k: f()):
        response = client.post(
            reverse("backoffice:email_resend", kwargs={"pk": row.pk}), {"next": "https://evil.example/"}
        )
    assert response.status_code == 302 and response["Location"] == reverse("backoffice:email_log")
    resent = OutgoingEmail.objects.get(resend_of=row)
    assert resent.status == Status.SENT and resent.created_by == staff and len(mail.outbox) == 1
    page = client.get(reverse("backoffice:order", kwargs={"number": order.number}), HTTP_ACCEPT_LANGUAGE="en")
    assert "An e-mail to the customer could not be sent" not in page.content.decode()


def test_with_the_broker_down_the_sweep_sends_later(place, merchant, fondue, commit):
    from kombu.exceptions import OperationalError

    down = OperationalError("Connection refused")
    with (
        mock.patch("notifications.tasks.send_email.delay", side_effect=down),
        mock.patch("notifications.tasks.send_emails.delay", side_effect=down),
    ):
        order = commit(place, fondue, 1)
    waiting = OutgoingEmail.objects.filter(order=order)
    assert waiting.count() == 2 and all(r.status == Status.PENDING and r.due_at <= timezone.now() for r in waiting)
    assert mail.outbox == []

    assert tasks.sweep_outbox() == {"failed": 0, "handed_over": 2, "waiting": 0}  # the broker is back
    assert all(r.status == Status.SENT for r in waiting.all()) and len(mail.outbox) == 2
    assert tasks.sweep_outbox(now=timezone.now() + timedelta(hours=2))["handed_over"] == 0  # nothing twice


def test_a_row_whose_hand_over_never_happened_is_sent_by_the_sweep_later(place, merchant, fondue):
    order = place(fondue, 1)  # no commit callbacks: as if the process died between the commit and the hand-over
    assert tasks.sweep_outbox()["handed_over"] == 0  # not yet due: its hand-over may still be on its way
    later = timezone.now() + delivery.LOST_AFTER + timedelta(seconds=1)
    assert tasks.sweep_outbox(now=later)["handed_over"] == 2
    assert OutgoingEmail.objects.filter(order=order, status=Status.SENT).count() == 2 and len(mail.outbox) == 2


def test_the_sweep_fails_rows_that_used_up_their_tries(place, merchant, fondue, commit):
    order = place(fondue, 1)  # no commit: the rows stay pending
    OutgoingEmail.objects.filter(order=order).update(attempts=delivery.MAX_ATTEMPTS)
    assert tasks.sweep_outbox()["failed"] == 2
    assert OrderEvent.objects.filter(order=order, type=OrderEvent.Type.EMAIL_FAILED).count() == 2


def test_a_template_error_is_a_failed_try_not_a_lost_email(place, merchant, fondue, commit):
    with mock.patch("notifications.render.render_to_string", side_effect=ValueError("boom")):
        commit(place, fondue, 1)
    row = rows(Kind.ORDER_CONFIRMATION)[0]
    assert row.status == Status.PENDING and row.attempts == 1 and "boom" in row.last_error


def test_the_task_asks_celery_to_retry_with_the_delay(place, merchant, fondue, flaky):
    from celery.exceptions import Retry

    from notifications.tasks import send_email

    flaky.failures = 1
    order = place(fondue, 1)
    row = OutgoingEmail.objects.filter(order=order).first()
    with mock.patch.object(send_email, "retry", side_effect=Retry("retry")) as retry, pytest.raises(Retry):
        send_email.run(row.pk)
    retry.assert_called_once_with(countdown=60)


def test_one_message_per_transaction_and_a_failed_row_is_retried_alone(place, merchant, fondue, flaky):
    from notifications.tasks import send_email, send_emails

    flaky.failures = 1  # the first of the two e-mails fails once
    order = place(fondue, 1)
    pks = list(OutgoingEmail.objects.filter(order=order).order_by("pk").values_list("pk", flat=True))
    with (
        mock.patch.object(send_emails, "delay") as delay,
        mock.patch.object(send_email, "apply_async") as retry,
    ):
        assert tasks.hand_over(pks) == 2
        delay.assert_called_once_with(pks)  # the confirmation and the merchant's e-mail travel together
        send_emails.run(pks)
    retry.assert_called_once_with((pks[0],), countdown=60)
    assert [OutgoingEmail.objects.get(pk=pk).status for pk in pks] == [Status.PENDING, Status.SENT]


# Real parts -----------------------------------------------------------------------------------------------------------


def test_delivery_over_real_smtp(place, merchant, fondue, commit, smtp_sink):
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_sink.port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
    ):
        order = commit(place, fondue, 1, language="fr")
    assert OutgoingEmail.objects.filter(status=Status.SENT).count() == 2
    by_recipient = {tuple(rcpts): email_lib.message_from_bytes(content) for rcpts, content in smtp_sink.messages}
    message = by_recipient[("anna@example.ch",)]
    subject = str(email_lib.header.make_header(email_lib.header.decode_header(message["Subject"])))
    assert subject == f"Votre commande {order.number} chez Alpenladen"
    assert message.get_content_type() == "multipart/alternative"
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert "Merci pour votre commande" in parts["text/plain"] and "<html" in parts["text/html"]
    assert "Total\u00a0: CHF 129.–" in parts["text/plain"]  # French puts a (no-break) space before the colon
    assert ("shop@alpenladen.ch",) in by_recipient


def test_every_template_renders_in_every_language(store, settings):
    """Each e-mail, in each language, without a template error or an unknown variable, and translated."""
    from notifications.preview import preview

    settings.TEMPLATES = [{**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"]}}]
    settings.TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = "INVALID{%s}"
    english = {kind: preview(kind, "en") for kind in KINDS}
    for language in ("de", "fr", "en"):
        for kind in KINDS:
            subject, text, html = preview(kind, language)
            for part in (subject, text, html):
                assert "INVALID{" not in part, (kind, language, part)
                assert part.strip()
            if language != "en":
                assert subject != english[kind][0], (kind, language)
                assert text != english[kind][1], (kind, language)


# Settings → Email -----------------------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, store, staff):
    return client


def test_email_settings_save_switches_and_addresses(staff_client):
    url = reverse("backoffice:settings_email")
    page = staff_client.get(url).content.decode()
    assert "Order placed notification" in page and "Send a test e-mail" in page
    form = {
        "sender_name": "Alpenladen Team",
        "sender_email": "hello@alpenladen.ch",
        "merchant_recipients": "a@alpenladen.ch, b@alpenladen.ch",
        "merchant_language": "fr",
        "send_order_confirmation": "on",
        "send_new_order": "on",
    }
    response = staff_client.post(url, form)
    assert response.status_code == 302
    saved = EmailSettings.load()
    assert saved.merchant_recipients == "a@alpenladen.ch\nb@alpenladen.ch" and saved.merchant_language == "fr"
    assert saved.is_enabled(Kind.ORDER_CONFIRMATION) and saved.is_enabled(Kind.NEW_ORDER)
    assert not saved.is_enabled(Kind.SHIPPED) and not saved.copy_customer_emails


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("merchant_recipients", "a@alpenladen.ch\nnot-an-address", "Not an e-mail address: not-an-address"),
        ("sender_email", "nope", "Enter a valid email address."),
        ("merchant_language", "xx", "Select a valid choice."),
    ],
)
def test_email_settings_bad_input_is_explained_and_nothing_saved(staff_client, field, value, message):
    response = staff_client.post(reverse("backoffice:settings_email"), {"merchant_language": "de", field: value})
    assert response.status_code == 200 and message in response.content.decode()
    assert EmailSettings.load().merchant_recipients == ""


def test_previews_in_each_language(staff_client):
    for kind in KINDS:
        for language in ("de", "fr", "en"):
            url = reverse("backoffice:settings_email_preview", kwargs={"kind": kind, "language": language})
            page = staff_client.get(url)
            assert page.status_code == 200 and 'id="email-subject"' in page.content.decode()
            frame = staff_client.get(url + "?part=html")
            assert frame.status_code == 200 and frame["X-Frame-Options"] == "SAMEORIGIN"
    html = staff_client.get(
        reverse("backoffice:settings_email_preview", kwargs={"kind": "shipped", "language": "de"}) + "?part=html"
    ).content.decode()
    assert "99.00.123456.12345678" in html and "Sendung verfolgen" in html
    missing = reverse("backoffice:settings_email_preview", kwargs={"kind": "nope", "language": "de"})
    assert staff_client.get(missing).status_code == 404


def test_send_a_test_email(staff_client, merchant):
    with mock.patch("django.db.transaction.on_commit", side_effect=lambda f, *a, **k: f()):
        response = staff_client.post(reverse("backoffice:settings_email_test"), {"to": ""})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["shop@alpenladen.ch"]]
    assert mail.outbox[0].subject == "Test-E-Mail von Alpenladen"  # the merchant's language (German by default)
    bad = staff_client.post(reverse("backoffice:settings_email_test"), {"to": "nope"}, follow=True)
    assert "Enter a valid email address." in bad.content.decode()


def test_a_test_email_without_any_address_says_so(staff_client):
    response = staff_client.post(reverse("backoffice:settings_email_test"), {"to": ""}, follow=True)
    assert "There is no address to send to" in response.content.decode()


def test_email_log_query_count_is_constant(staff_client, place, fondue, django_assert_max_num_queries):
    fondue.stock = None
    fondue.save()
    for _ in range(30):
        place(fondue, 1)
    assert OutgoingEmail.objects.count() >= 30
    with django_assert_max_num_queries(8):
        page = staff_client.get(reverse("backoffice:email_log"))
    assert page.status_code == 200 and page.content.decode().count("anna@example.ch") >= 30
    for query in ("?q=%23" + str(Order.objects.first().number), "?q=anna@example.ch", "?status=xx", "?page=zz"):
        assert staff_client.get(reverse("backoffice:email_log") + query).status_code == 200


# The order page: refund and payment link ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "Enter a number."),
        ("-5", "Ensure this value is greater than or equal to 0.01."),
        ("500", "You can refund at most CHF 129.–."),
        ("", "This field is required."),
    ],
)
def test_refund_bad_input_is_explained_and_changes_nothing(staff_client, place, fondue, commit, amount, message):
    order = commit(place, fondue, 1)
    commit(payments.record_offline_payment, order, order.total)
    url = reverse("backoffice:order_action", kwargs={"number": order.number})
    response = staff_client.post(url, {"action": "refund", "amount": amount}, follow=True)
    assert response.status_code == 200 and message in response.content.decode()
    order.refresh_from_db()
    assert order.payment_status == "paid" and rows(Kind.REFUNDED) == []


def test_refund_from_the_order_page(staff_client, place, fondue, commit):
    order = commit(place, fondue, 1)
    commit(payments.record_offline_payment, order, order.total)
    url = reverse("backoffice:order_action", kwargs={"number": order.number})
    with mock.patch("django.db.transaction.on_commit", side_effect=lambda f, *a, **k: f()):
        response = staff_client.post(url, {"action": "refund", "amount": "29.00", "note": "Scratch"}, follow=True)
    html = response.content.decode()
    assert "Refund of CHF 29.– recorded; the customer is told by e-mail." in html
    assert "Partially refunded" in html and len(rows(Kind.REFUNDED, status=Status.SENT)) == 1


def test_payment_link_from_the_order_page(staff_client, place, fondue, commit):
    order = commit(place, fondue, 1, payment_method="bank_transfer")
    url = reverse("backoffice:order_action", kwargs={"number": order.number})
    page = staff_client.get(reverse("backoffice:order", kwargs={"number": order.number})).content.decode()
    assert "E-mail payment link" in page
    response = staff_client.post(url, {"action": "payment_link"}, follow=True)
    assert "The payment link is on its way to anna@example.ch." in response.content.decode()
    order.refresh_from_db()
    assert order.payment_method == "test" and len(rows(Kind.PAYMENT_LINK)) == 1
    commit(payments.record_offline_payment, order, order.total)
    again = staff_client.post(url, {"action": "payment_link"}, follow=True)
    assert "This order needs no payment." in again.content.decode() and len(rows(Kind.PAYMENT_LINK)) == 1
