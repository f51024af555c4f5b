"""The merchant in headless Chromium: logs in, finds the shopper's test order, records its payment, ships it with a
Swiss Post tracking number and sees both on the timeline, with the e-mails the shopper got; sets up the e-mails."""

from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.factories import ProductFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_merchant_records_payment_and_ships(page, live_server, place, artifacts):
    StaffFactory(username="merchant")
    order = place(ProductFactory(name="Cast-Iron Fondue Set", price=Decimal("129.00"), stock=5))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(live_server.url + "/backoffice/")
    expect(page).to_have_url(live_server.url + "/backoffice/login/?next=/backoffice/")
    page.get_by_label("Username").fill("merchant")
    page.get_by_label("Password").fill("s3cret-pass")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Orders", exact=True).click()
    row = page.get_by_role("row").filter(has_text=f"#{order.number}")
    expect(row).to_contain_text("Awaiting payment")
    expect(row).to_contain_text("Test")
    row.get_by_role("link", name=f"#{order.number}").click()

    expect(page.get_by_role("heading", name=f"Order #{order.number}")).to_be_visible()
    expect(page.get_by_text("Bank transfer — contact the customer for payment")).to_be_visible()
    page.get_by_label("Note (optional)").fill("Received on the ZKB account")
    page.get_by_role("button", name="Record payment", exact=True).click()
    expect(page.get_by_text("Payment recorded.")).to_be_visible()

    page.get_by_label("Tracking number").fill("99.00.123456.12345678")
    page.get_by_label("Carrier").select_option("swiss_post")
    page.get_by_role("button", name="Save and mark shipped").click()
    expect(page.get_by_text("Tracking number saved; the order is marked shipped.")).to_be_visible()

    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Awaiting payment → Paid")
    expect(timeline).to_contain_text("Tracking number assigned: 99.00.123456.12345678")
    expect(timeline).to_contain_text("Awaiting processing → Shipped")
    expect(timeline).to_contain_text("merchant")
    link = page.get_by_role("link", name="99.00.123456.12345678")
    expect(link).to_have_attribute("href", "https://service.post.ch/ekp-web/ui/entry/search/99.00.123456.12345678")
    # the shopper was told at each step, and the timeline says so
    expect(timeline).to_contain_text("E-mail sent: Order shipped → anna@example.ch")
    expect(timeline).to_contain_text("E-mail sent: Payment received → anna@example.ch")
    page.screenshot(path=artifacts / "backoffice-order.png", full_page=True)
    order.refresh_from_db()
    assert (order.payment_status, order.fulfilment_status) == ("paid", "shipped")
    shipped = [m for m in mail.outbox if "99.00.123456.12345678" in m.body]
    assert len(shipped) == 1 and shipped[0].to == ["anna@example.ch"]
    assert "https://service.post.ch/ekp-web/ui/entry/search/99.00.123456.12345678" in shipped[0].body


def test_merchant_sets_up_email_notifications(page, live_server, store, artifacts):
    from notifications.models import EmailSettings

    StaffFactory(username="merchant")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/backoffice/login/")
    page.get_by_label("Username").fill("merchant")
    page.get_by_label("Password").fill("s3cret-pass")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Email", exact=True).click()
    expect(page.get_by_role("heading", name="E-mail settings")).to_be_visible()

    page.get_by_label("Order status changed").uncheck()
    page.get_by_label("Send notifications for you to").fill("orders@alpenladen.ch\nowner@alpenladen.ch")
    page.get_by_label("Send me a copy of customer e-mails").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("E-mail settings saved.")).to_be_visible()
    saved = EmailSettings.objects.get()
    assert saved.disabled_kinds == ["status_changed"] and saved.copy_customer_emails
    assert saved.merchant_recipients == "orders@alpenladen.ch\nowner@alpenladen.ch"

    page.get_by_role("row").filter(has_text="Order shipped").get_by_role("link", name="FR").click()
    expect(page.locator("#email-subject")).to_have_text("Votre commande 1001 est en route")
    frame = page.frame_locator("iframe.email-frame")
    expect(frame.get_by_role("link", name="Suivre votre colis")).to_be_visible()
    page.screenshot(path=artifacts / "backoffice-email-preview.png", full_page=True)

    page.get_by_role("link", name="E-mail settings").click()
    page.get_by_role("button", name="Send a test e-mail").click()
    expect(page.get_by_role("heading", name="E-mail log")).to_be_visible()
    expect(page.get_by_text("Test e-mail sent to orders@alpenladen.ch, owner@alpenladen.ch.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="owner@alpenladen.ch")).to_contain_text("Sent")
    assert sorted(m.to[0] for m in mail.outbox) == ["orders@alpenladen.ch", "owner@alpenladen.ch"]


def test_merchant_is_asked_before_shipping_an_unpaid_order_and_delivers_a_digital_one(
    page, live_server, place, artifacts
):
    StaffFactory(username="merchant")
    order = place(ProductFactory(name="Raclette Oven", price=Decimal("46.00"), stock=5))  # + CHF 7.– shipping
    ebook = place(
        ProductFactory(name="Fondue Recipes (PDF)", price=Decimal("12.00"), stock=None, requires_shipping=False)
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/backoffice/login/")
    page.get_by_label("Username").fill("merchant")
    page.get_by_label("Password").fill("s3cret-pass")
    page.get_by_role("button", name="Log in").click()

    page.goto(live_server.url + "/backoffice/orders/process/")
    card = page.locator(".process-card").filter(has_text=f"#{order.number}")
    card.get_by_role("button", name="Mark shipped").click()
    expect(page.get_by_role("alert")).to_have_text("Payment of CHF 53.– is still outstanding — ship anyway?")
    page.screenshot(path=str(artifacts / "ship-unpaid-question.png"))
    page.get_by_role("link", name="Don't ship yet").click()
    expect(page).to_have_url(live_server.url + "/backoffice/orders/process/")
    card.get_by_role("button", name="Mark shipped").click()
    page.get_by_role("button", name="Ship anyway").click()
    expect(page).to_have_url(live_server.url + "/backoffice/orders/process/")
    expect(page.locator(".process-card").filter(has_text=f"#{order.number}")).to_have_count(0)  # shipped: done

    digital = page.locator(".process-card").filter(has_text=f"#{ebook.number}")
    expect(digital.get_by_role("button", name="Mark shipped")).to_have_count(0)
    digital.get_by_role("button", name="Mark delivered").click()
    page.goto(live_server.url + f"/backoffice/orders/{ebook.number}/")
    expect(page.locator(".timeline")).to_contain_text("Awaiting processing → Delivered")
    page.screenshot(path=str(artifacts / "digital-delivered.png"), full_page=True)
