"""Settings → Payment for online providers: whether each is configured (and which environment variables are missing),
sandbox or live, the exact webhook URL and events to enter in the provider's dashboard. A provider that is not
configured can't be enabled (refused on the server too); the secrets never appear on the page. (The path to live,
the connection check and the overlap warning: tests/test_settings_payment_live.py.)"""

import re

import pytest
from playwright.sync_api import expect

from payments.models import PaymentMethod
from payments.providers import PROVIDERS, available_methods
from shop.backoffice.models import Store
from tests.browser import log_in
from tests.test_backoffice_settings import PAYMENT, html, payment_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SECRET_KEY = "sk_test_abc"
WEBHOOK_SECRET = "whsec_x"
SITE_URL = "https://shop.example.ch"
STRIPE_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "refund.updated",
)


@pytest.fixture
def unconfigured(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_API_BASE = ""
    settings.SITE_URL = SITE_URL
    return settings


@pytest.fixture
def configured(unconfigured):
    unconfigured.STRIPE_SECRET_KEY = SECRET_KEY
    unconfigured.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return unconfigured


def block(page: str, key: str) -> str:
    """A provider's collapsed block (``<details id="provider-<key>">``)."""
    return re.search(rf'<details class="provider" id="provider-{key}".*?</details>', page, re.S).group(0)


def value_state(page: str, key: str, name: str) -> str:
    """ "Set" or "Missing": what the provider's block says of one of its environment variables."""
    pattern = rf"<code>{name}</code> <span class=\"badge-status badge-status--\w+\">(\w+)</span>"
    return re.search(pattern, block(page, key)).group(1)


def checkbox(page: str, code: str) -> str:
    """The <input> tag of a method's "offered" checkbox."""
    return re.search(rf'<input type="checkbox" name="enabled" value="{code}"[^>]*>', page).group(0)


def stripe_enabled() -> bool:
    return PaymentMethod.objects.filter(code="stripe", is_enabled=True).exists()


def with_stripe(**changes):
    data = payment_data(**changes)
    return {**data, "order": [*data["order"], "stripe"], "enabled": [*data["enabled"], "stripe"]}


def test_unconfigured_stripe_names_the_variables_to_set_and_cannot_be_ticked(client, staff, store, unconfigured):
    page = html(client.get(PAYMENT))
    # the method's row points to Stripe's block, which names the values to set
    assert 'Not configured: set up <a href="#provider-stripe">Stripe</a> above.' in page
    assert page.index('id="provider-stripe"') < page.index('id="method-stripe"')
    assert value_state(page, "stripe", "STRIPE_SECRET_KEY") == "Missing"
    assert value_state(page, "stripe", "STRIPE_WEBHOOK_SECRET") == "Missing"
    tag = checkbox(page, "stripe")
    assert " disabled" in tag and " checked" not in tag
    assert 'aria-describedby="description-stripe status-stripe"' in tag
    status = re.search(r'<p class="method__status" id="status-stripe">(.*?)</p>', page, re.S).group(1)
    summary = re.search(r"<summary.*?</summary>", block(page, "stripe"), re.S).group(0)
    for text in (status, summary):
        assert "Sandbox" not in text and "Live<" not in text
    assert "Not configured" in summary and "Enabled, but not offered" not in page
    # the webhook URL is there already: creating the endpoint is how the merchant gets STRIPE_WEBHOOK_SECRET
    assert f'value="{SITE_URL}/webhooks/stripe/" readonly' in page
    # the other methods can be ticked as before
    assert " disabled" not in checkbox(page, "bank_transfer") and " disabled" not in checkbox(page, "test")


def test_only_the_missing_variable_is_named(client, staff, store, unconfigured):
    unconfigured.STRIPE_SECRET_KEY = SECRET_KEY
    page = html(client.get(PAYMENT))
    assert value_state(page, "stripe", "STRIPE_SECRET_KEY") == "Set"
    assert value_state(page, "stripe", "STRIPE_WEBHOOK_SECRET") == "Missing"
    assert SECRET_KEY not in page


def test_configured_sandbox_shows_the_webhook_to_enter_and_never_the_secrets(client, staff, store, configured):
    page = html(client.get(PAYMENT))
    status = re.search(r'<p class="method__status" id="status-stripe">(.*?)</p>', page, re.S).group(1)
    assert "Configured" in status and "Sandbox" in status and "Live" not in status
    assert "Not configured" not in re.search(r'<tr id="method-stripe".*?</tr>', page, re.S).group(0)
    assert '<label for="webhook-stripe">Webhook URL</label>' in page
    webhook = re.search(r'<input type="text" id="webhook-stripe"[^>]*>', page).group(0)
    assert f'value="{SITE_URL}/webhooks/stripe/"' in webhook and " readonly" in webhook and "name=" not in webhook
    assert 'aria-describedby="webhook-help-stripe webhook-events-stripe"' in webhook
    events = re.search(r'<ul class="method__events" id="webhook-events-stripe">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<code>([^<]+)</code>", events) == list(PROVIDERS["stripe"].webhook_events)
    assert set(STRIPE_EVENTS) <= set(PROVIDERS["stripe"].webhook_events)
    assert " disabled" not in checkbox(page, "stripe")
    # the page says what a key looks like (sk_test_…), never the key itself
    assert SECRET_KEY not in page and WEBHOOK_SECRET not in page and not re.search(r"sk_test_\w", page)
    # the test provider keeps its note, and no setup block
    assert "Offered only in test mode." in page and 'id="status-test"' not in page


def test_live_key_shows_live(client, staff, store, configured):
    configured.STRIPE_SECRET_KEY = "sk_live_51abcdef"
    page = html(client.get(PAYMENT))
    status = re.search(r'<p class="method__status" id="status-stripe">(.*?)</p>', page, re.S).group(1)
    assert "Live" in status and "Sandbox" not in status
    assert not re.search(r"sk_live_\w", page)


def test_the_stand_in_api_is_shown_only_when_set(client, staff, store, configured):
    stand_in = "The shop talks to a stand-in of the provider's API at <code>{}</code>, not to the provider"
    page = html(client.get(PAYMENT))
    assert "stand-in" not in block(page, "stripe") and "README" not in page
    configured.STRIPE_API_BASE = "http://127.0.0.1:12111"
    assert stand_in.format("http://127.0.0.1:12111") in block(html(client.get(PAYMENT)), "stripe")
    configured.STRIPE_API_BASE = "http://user:hunter2@127.0.0.1:12111"
    page = html(client.get(PAYMENT))
    assert stand_in.format("http://127.0.0.1:12111") in page and "hunter2" not in page


def test_enabling_unconfigured_stripe_is_refused_and_nothing_is_saved(client, staff, store, unconfigured):
    before = (Store.objects.values().get(pk=1), list(PaymentMethod.objects.values()))
    response = client.post(PAYMENT, with_stripe(bank_account_holder="Neue Inhaberin"))
    page = html(response)
    assert response.status_code == 200
    assert (
        "Card or TWINT can&#x27;t be offered until it is configured: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET "
        "in the shop&#x27;s environment, then enable it." in page
    )
    assert "Nothing has been saved yet." in page
    assert (Store.objects.values().get(pk=1), list(PaymentMethod.objects.values())) == before
    assert not stripe_enabled()
    tag = checkbox(page, "stripe")  # shown as it can be: unticked, locked, pointing at the error
    assert " disabled" in tag and " checked" not in tag and "methods-errors" in tag
    assert 'value="Neue Inhaberin"' in page


def test_enabling_configured_stripe_is_saved_and_offered(client, staff, store, configured):
    response = client.post(PAYMENT, with_stripe())
    assert response.status_code == 302
    assert stripe_enabled()
    assert "stripe" in [p.code for p in available_methods(Store.load(), pickup=False)]
    page = html(client.get(PAYMENT))
    assert " checked" in checkbox(page, "stripe") and "Enabled, but not offered" not in page


def test_enabled_stripe_whose_variables_were_removed_is_not_offered_and_can_be_switched_off(
    client, staff, store, configured
):
    assert client.post(PAYMENT, with_stripe()).status_code == 302
    configured.STRIPE_WEBHOOK_SECRET = ""
    page = html(client.get(PAYMENT))
    assert "Enabled, but not offered to shoppers until it is configured." in page
    assert 'Not configured: set up <a href="#provider-stripe">Stripe</a> above.' in page
    assert value_state(page, "stripe", "STRIPE_WEBHOOK_SECRET") == "Missing"
    tag = checkbox(page, "stripe")
    assert " checked" in tag and " disabled" not in tag  # still enabled, and the merchant can untick it
    assert "stripe" not in [p.code for p in available_methods(Store.load(), pickup=False)]
    # Saving the page with it still ticked keeps it enabled (nothing else is lost) …
    assert client.post(PAYMENT, with_stripe(bank_name="PostFinance")).status_code == 302
    assert stripe_enabled() and Store.load().bank_name == "PostFinance"
    # … unticking it switches it off, and then it can't be ticked again until configured.
    assert client.post(PAYMENT, {**with_stripe(), "enabled": payment_data()["enabled"]}).status_code == 302
    assert not stripe_enabled()
    assert " disabled" in checkbox(html(client.get(PAYMENT)), "stripe")
    assert client.post(PAYMENT, with_stripe()).status_code == 200
    assert not stripe_enabled()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_payment_settings_page_in_the_browser(page, live_server, store, configured, artifacts):
    log_in(page, live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + PAYMENT)
    expect(page.get_by_role("heading", name="Payment settings")).to_be_visible()
    page.locator("#provider-stripe summary").click()
    webhook = page.locator("#provider-stripe").get_by_label("Webhook URL")
    expect(webhook).to_have_value(f"{SITE_URL}/webhooks/stripe/")
    expect(webhook).not_to_be_editable()
    expect(page.get_by_role("checkbox", name="Card or TWINT")).to_be_enabled()
    expect(page.locator("#status-stripe")).to_contain_text("Configured")
    expect(page.locator("#status-stripe")).to_contain_text("Sandbox")
    page.locator("#method-stripe").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "backoffice-payment-providers.png", full_page=True)
    page.get_by_role("checkbox", name="Card or TWINT").check()
    page.get_by_role("button", name="Save", exact=True).last.click()
    expect(page.get_by_text("Payment settings saved.")).to_be_visible()
    assert stripe_enabled()
    # the webhook secret removed from the environment: still enabled, not offered, and said so
    configured.STRIPE_WEBHOOK_SECRET = ""
    page.reload()
    row = page.locator("#method-stripe")
    expect(row).to_contain_text("Not configured: set up Stripe above.")
    expect(row).to_contain_text("Enabled, but not offered to shoppers until it is configured.")
    expect(page.get_by_role("checkbox", name="Card or TWINT")).to_be_checked()
    row.screenshot(path=artifacts / "backoffice-payment-provider-unconfigured.png")


@pytest.fixture
def all_configured(configured):
    configured.DATATRANS_MERCHANT_ID = "1100000000"
    configured.DATATRANS_PASSWORD = "dt-password-not-shown"
    configured.DATATRANS_HMAC_KEY = "6a" * 32
    configured.DATATRANS_API_BASE = configured.DATATRANS_PAY_BASE = ""
    configured.PAYPAL_CLIENT_ID = "pp-client"
    configured.PAYPAL_CLIENT_SECRET = "pp-secret-not-shown"
    configured.PAYPAL_WEBHOOK_ID = "WH-1"
    configured.PAYPAL_API_BASE = ""
    return configured


def test_datatrans_s_three_methods_are_set_up_once_and_paypal_shows_its_events(client, staff, store, all_configured):
    page = html(client.get(PAYMENT))
    datatrans = block(page, "datatrans")
    assert f'value="{SITE_URL}/webhooks/datatrans/" readonly' in datatrans
    assert "The shop sends this URL with every payment" in datatrans and "use the sandbox account" in datatrans
    assert page.count('id="provider-datatrans"') == 1 and page.count("/webhooks/datatrans/") == 1
    assert "Enabled: Card, TWINT, PostFinance" not in datatrans  # none of them ticked yet
    for code in ("datatrans_card", "datatrans_twint", "datatrans_postfinance"):
        row = re.search(rf'<tr id="method-{code}".*?</tr>', page, re.S).group(0)
        assert "Configured" in row and "Sandbox" in row
        assert "webhook" not in row.lower() and " disabled" not in checkbox(page, code)
    paypal = block(page, "paypal")
    assert f'value="{SITE_URL}/webhooks/paypal/" readonly' in paypal and "(PayPal)" not in paypal
    assert re.findall(r"<li><code>([^<]+)</code>", paypal) == list(PROVIDERS["paypal"].webhook_events)
    assert "dt-password-not-shown" not in page and "pp-secret-not-shown" not in page and "6a6a6a" not in page


def test_unconfigured_datatrans_names_its_variables_once(client, staff, store, unconfigured):
    unconfigured.DATATRANS_MERCHANT_ID = unconfigured.DATATRANS_PASSWORD = unconfigured.DATATRANS_HMAC_KEY = ""
    page = html(client.get(PAYMENT))
    assert page.count("<code>DATATRANS_MERCHANT_ID</code>") == 1
    assert value_state(page, "datatrans", "DATATRANS_MERCHANT_ID") == "Missing"
    for code in ("datatrans_card", "datatrans_twint", "datatrans_postfinance"):
        row = re.search(rf'<tr id="method-{code}".*?</tr>', page, re.S).group(0)
        assert 'Not configured: set up <a href="#provider-datatrans">Datatrans</a> above.' in row
    assert " disabled" in checkbox(page, "datatrans_twint")
    data = payment_data()
    response = client.post(PAYMENT, {**data, "enabled": [*data["enabled"], "datatrans_twint"]})
    assert response.status_code == 200 and "TWINT can&#x27;t be offered until it is configured" in html(response)
    assert not PaymentMethod.objects.filter(code="datatrans_twint", is_enabled=True).exists()


def test_the_merchant_chooses_when_datatrans_takes_the_money(client, staff, store, all_configured):
    page = html(client.get(PAYMENT))
    assert re.search(r'<input type="radio" name="datatrans_auto_settle" value="1"[^>]*checked', page)
    data = payment_data()
    saved = client.post(
        PAYMENT, {**data, "enabled": [*data["enabled"], "datatrans_twint"], "datatrans_auto_settle": "0"}
    )
    assert saved.status_code == 302
    assert Store.load().datatrans_auto_settle is False
    assert PaymentMethod.objects.filter(code="datatrans_twint", is_enabled=True).exists()
    page = html(client.get(PAYMENT))
    assert re.search(r'<input type="radio" name="datatrans_auto_settle" value="0"[^>]*checked', page)
    # a value that is not one of the two choices: a clear message, nothing saved
    response = client.post(PAYMENT, {**data, "datatrans_auto_settle": "sometimes"})
    assert (
        response.status_code == 200
        and "Select a valid choice. sometimes is not one of the available choices." in html(response)
    )
    assert Store.load().datatrans_auto_settle is False


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_payment_settings_with_every_provider_in_the_browser(page, live_server, store, all_configured, artifacts):
    log_in(page, live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + PAYMENT)
    expect(page.locator("#status-datatrans_twint")).to_contain_text("Configured")
    page.get_by_label("When the shop has recorded the payment: an order cancelled meanwhile is never charged").check()
    page.get_by_role("checkbox", name="TWINT (Datatrans)").check()
    page.screenshot(path=artifacts / "backoffice-payment-all-providers.png", full_page=True)
    page.get_by_role("button", name="Save", exact=True).last.click()
    expect(page.get_by_text("Payment settings saved.")).to_be_visible()
    assert Store.load().datatrans_auto_settle is False
