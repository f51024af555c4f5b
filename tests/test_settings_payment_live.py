"""Settings → Payment as the path to live: one collapsed block per provider saying its state at a glance, in plain
words what to create at the provider, where each value comes from and how to switch from the sandbox to live payments;
the webhook URL with a copy button; a button that asks the provider whether it takes the configured keys (against the
local stand-ins, with right and wrong keys, and with the provider down); and the warning when two methods offered at
once take the same thing. In the browser: the page's height, the copy button, the check with and without JavaScript."""

import re
import socket
import urllib.parse

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from playwright.sync_api import expect

from payments.providers import PROVIDERS
from payments.providers.base import ConnectionCheck
from tests import datatrans_standin, paypal_standin, stripe_standin
from tests.browser import log_in
from tests.factories import StaffFactory
from tests.online import enable, only_this_machine  # noqa: F401 (nothing leaves the machine)
from tests.test_backoffice_settings import PAYMENT, html
from tests.test_settings_payment_providers import block

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SITE_URL = "https://shop.example.ch"
KEYS = ("stripe", "datatrans", "paypal")


def check_url(key: str) -> str:
    return f"/backoffice/settings/payment/check/{key}/"


def summary(page: str, key: str) -> str:
    """The one line a provider's collapsed block shows, its tags stripped."""
    text = re.search(r"<summary.*?</summary>", block(page, key), re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def standins(settings):
    """The three stand-ins, running, and the shop pointed at them (their keys, their addresses)."""
    with stripe_standin.serving() as stripe, datatrans_standin.serving() as datatrans, paypal_standin.serving() as pp:
        for standin in (stripe, datatrans, pp):
            standin.configure(settings)
        settings.SITE_URL = SITE_URL
        settings.PROVIDER_TIMEOUT = 5
        yield {"stripe": stripe, "datatrans": datatrans, "paypal": pp}


@pytest.fixture
def nothing_configured(settings):
    for name in {name for provider in PROVIDERS.values() for name in provider.required_settings}:
        setattr(settings, name, "")
    settings.SITE_URL = SITE_URL
    return settings


# --- The blocks -----------------------------------------------------------------------------------------------------


def test_each_provider_has_one_collapsed_block_that_says_its_state(client, staff, store, standins):
    enable("stripe", "datatrans_card", "datatrans_twint", "bank_transfer")
    page = html(client.get(PAYMENT))
    assert re.findall(r'<details class="provider" id="provider-(\w+)"[^>]*>', page) == [*KEYS, "test"]
    assert '<details class="provider" id="provider-stripe" open' not in page  # collapsed until asked
    assert summary(page, "stripe") == "Stripe Configured Sandbox Enabled: Card or TWINT"
    assert summary(page, "datatrans") == "Datatrans Configured Sandbox Enabled: Card, TWINT"
    assert summary(page, "paypal") == "PayPal Configured Sandbox Not enabled"
    assert summary(page, "test") == "Test payment Test mode on Enabled"
    # one block for Datatrans's three methods, one webhook URL
    assert page.count(f"{SITE_URL}/webhooks/datatrans/") == 1


def test_unconfigured_and_live_providers_say_so_at_a_glance(client, staff, store, nothing_configured):
    page = html(client.get(PAYMENT))
    for key in KEYS:
        assert summary(page, key).endswith("Not configured Not enabled"), key
    nothing_configured.STRIPE_SECRET_KEY, nothing_configured.STRIPE_WEBHOOK_SECRET = "sk_live_51x", "whsec_1"
    nothing_configured.DATATRANS_MERCHANT_ID, nothing_configured.DATATRANS_PASSWORD = "3000011111", "pw"
    nothing_configured.DATATRANS_HMAC_KEY, nothing_configured.DATATRANS_MODE = "ab" * 32, "live"
    nothing_configured.PAYPAL_CLIENT_ID, nothing_configured.PAYPAL_CLIENT_SECRET = "id", "secret"
    nothing_configured.PAYPAL_WEBHOOK_ID, nothing_configured.PAYPAL_MODE = "WH1", "live"
    page = html(client.get(PAYMENT))
    for key in KEYS:
        assert "Configured Live" in summary(page, key), key
    assert "<code>DATATRANS_MODE=live</code>" in block(page, "datatrans")
    assert "<code>PAYPAL_MODE=live</code>" in block(page, "paypal")


def test_the_blocks_say_in_plain_words_how_to_go_live(client, staff, store, nothing_configured):
    page = html(client.get(PAYMENT))
    assert "README" not in page
    # why secrets live in the environment, and who sets them, once for all providers
    assert (
        "Keys and passwords are never stored in the shop's database or shown here, so that a leaked backup or a "
        "staff account can't be used to take the money: whoever runs your shop's server or hosting sets them as "
        "environment variables." in page
    )
    stripe, datatrans, paypal = (block(page, key) for key in KEYS)
    assert "Create an account at stripe.com." in stripe
    assert "Have STRIPE_SECRET_KEY replaced with the live secret key (sk_live_…)" in stripe
    assert "Ask Datatrans (datatrans.ch) for a merchant account" in datatrans
    assert "Have DATATRANS_MODE set to live, and DATATRANS_MERCHANT_ID, DATATRANS_PASSWORD and" in datatrans
    assert "Create a PayPal business account, then an app for the shop on developer.paypal.com" in paypal
    assert "Have PAYPAL_MODE set to live, and PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET and PAYPAL_WEBHOOK_ID" in paypal
    for text, key in ((stripe, "stripe"), (datatrans, "datatrans"), (paypal, "paypal")):
        provider = next(p for p in PROVIDERS.values() if p.webhook_provider == key)
        for name in provider.required_settings:  # each value the server needs, where it comes from, and its state
            assert re.search(rf'<dt><code>{name}</code> <span class="badge-status badge-status--off">Missing', text)
        assert "Give these to whoever runs your shop's server or hosting" in text
    # the webhook events to subscribe to, under the URL
    assert re.findall(r"<li><code>([^<]+)</code>", stripe) == list(PROVIDERS["stripe"].webhook_events)
    assert "Needs no account and no keys." in block(page, "test")


def test_above_and_below_point_where_the_things_are(client, staff, store, standins):
    page = html(client.get(PAYMENT))
    for key in KEYS:
        text = block(page, key)
        webhook = text.index(f'id="webhook-{key}"')
        going_live = text.index("3. Going live")
        check = text.index("4. Check the connection")
        for match in re.finditer(r"[^.<>]*\babove\b", text):
            assert match.start() > webhook, (key, match.group(0))
        for match in re.finditer(r"[^.<>]*\bbelow\b", text):
            assert match.start() < check, (key, match.group(0))
            if "Going live" in match.group(0):
                assert match.start() < going_live, key
    # the methods' rows point up to the blocks, the bank details are below them
    assert page.index('id="provider-stripe"') < page.index('id="method-stripe"')
    assert page.index("Shoppers get the account details below.") < page.index('name="bank_iban"')


def test_the_copy_button_copies_the_exact_webhook_url(client, staff, store, standins):
    page = html(client.get(PAYMENT))
    for key in KEYS:
        text = block(page, key)
        field = re.search(rf'<input type="text" id="webhook-{key}"[^>]*>', text).group(0)
        assert f'value="{SITE_URL}/webhooks/{key}/"' in field and " readonly" in field  # selectable by hand too
        button = re.search(rf'<button type="button"[^>]*data-copy="webhook-{key}"[^>]*>([^<]*)</button>', text)
        assert button.group(1) == "Copy" and " hidden" in button.group(0)  # shown by the script
    # the script is the back office's own file: the Content-Security-Policy allows no inline script
    assert '<script src="/static/js/backoffice.js"></script>' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "onclick" not in page


# --- Check the connection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_check_says_connected_with_the_stand_in_s_keys(client, staff, store, standins, key):
    response = client.post(check_url(key), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    fragment = html(response)
    assert fragment.lstrip().startswith('<div class="provider__result" id="check-' + key)
    assert "Connected (sandbox)" in fragment and "<html" not in fragment


def test_datatrans_live_mode_says_connected_live(client, staff, store, standins, settings):
    settings.DATATRANS_MODE = "live"  # the stand-in stays the address: live keys, as far as the shop knows
    assert "Connected (live)" in html(client.post(check_url("datatrans"), HTTP_HX_REQUEST="true"))


def test_without_javascript_the_page_comes_back_with_the_outcome_in_the_open_block(client, staff, store, standins):
    response = client.post(check_url("paypal"))
    assert response.status_code == 200
    page = html(response)
    assert '<details class="provider" id="provider-paypal" open>' in page
    assert "Connected (sandbox)" in block(page, "paypal")
    assert '<details class="provider" id="provider-stripe">' in page  # the others stay closed
    assert 'name="bank_iban"' in page  # the whole page, its form as saved


@pytest.mark.parametrize(
    ("key", "wrong", "message"),
    [
        ("stripe", {"STRIPE_SECRET_KEY": "sk_test_not_the_stand_in_s"}, "Stripe refused the secret key"),
        ("datatrans", {"DATATRANS_PASSWORD": "wrong"}, "Datatrans refused the merchant id or password"),
        ("paypal", {"PAYPAL_CLIENT_SECRET": "wrong"}, "PayPal refused the app&#x27;s client id or secret"),
    ],
)
def test_check_says_when_the_provider_refuses_the_keys(client, staff, store, standins, settings, key, wrong, message):
    if key == "stripe":
        standins["stripe"].api_key = "sk_test_standin"
    for name, value in wrong.items():
        setattr(settings, name, value)
    fragment = html(client.post(check_url(key), HTTP_HX_REQUEST="true"))
    assert "Not connected." in fragment and message in fragment and "Connected (" not in fragment
    assert "wrong" not in fragment and "not_the_stand_in" not in fragment  # the value itself is never shown


@pytest.mark.parametrize(
    ("key", "base", "message"),
    [
        ("stripe", "STRIPE_API_BASE", "Stripe could not be reached."),
        ("datatrans", "DATATRANS_API_BASE", "Datatrans could not be reached."),
        ("paypal", "PAYPAL_API_BASE", "PayPal could not be reached."),
    ],
)
def test_check_says_when_the_provider_cannot_be_reached(client, staff, store, standins, settings, key, base, message):
    setattr(settings, base, f"http://127.0.0.1:{closed_port()}")
    fragment = html(client.post(check_url(key), HTTP_HX_REQUEST="true"))
    assert "Not connected." in fragment and message in fragment


def test_check_says_when_the_provider_fails(client, staff, store, standins):
    standins["datatrans"].fail_next(re.compile(r"/v1/transactions/\d+"), 503)
    fragment = html(client.post(check_url("datatrans"), HTTP_HX_REQUEST="true"))
    assert "Datatrans could not be reached." in fragment


def test_check_warns_of_a_signing_key_that_cannot_work(client, staff, store, standins, settings):
    settings.STRIPE_WEBHOOK_SECRET = "sk_test_pasted_in_the_wrong_place"
    settings.DATATRANS_HMAC_KEY = "not hexadecimal"
    stripe = html(client.post(check_url("stripe"), HTTP_HX_REQUEST="true"))
    assert "Connected (sandbox)" in stripe
    assert "STRIPE_WEBHOOK_SECRET does not look like a webhook signing secret" in stripe
    assert "pasted_in_the_wrong_place" not in stripe
    datatrans = html(client.post(check_url("datatrans"), HTTP_HX_REQUEST="true"))
    assert "Connected (sandbox)" in datatrans and "DATATRANS_HMAC_KEY is not the key Datatrans shows" in datatrans


def test_a_setting_the_provider_s_library_cannot_use_is_reported_not_a_server_error(
    client, staff, store, standins, settings
):
    settings.DATATRANS_API_BASE = "http://\x00127.0.0.1"  # httpx.InvalidURL, which is no httpx.HTTPError
    fragment = html(client.post(check_url("datatrans"), HTTP_HX_REQUEST="true"))
    assert "Not connected." in fragment
    assert "The check failed before reaching the provider: the server&#x27;s log says why." in fragment


def test_check_of_an_unconfigured_provider_asks_nothing(client, staff, store, nothing_configured):
    page = html(client.get(PAYMENT))
    assert "Check the connection to Stripe" not in page  # no button until the values are set
    fragment = html(client.post(check_url("stripe"), HTTP_HX_REQUEST="true"))
    assert "Not configured yet: there is nothing to check." in fragment


def test_the_check_button_is_staff_only_posted_and_protected(client, store, standins):
    assert client.post(check_url("stripe"))["Location"].startswith("/backoffice/login/")
    client.force_login(StaffFactory(is_staff=False))
    assert client.post(check_url("stripe")).status_code == 403
    staff_client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    staff_client.force_login(StaffFactory())
    assert staff_client.get(check_url("stripe")).status_code == 405
    assert staff_client.post(check_url("stripe")).status_code == 403  # no CSRF token
    page = html(staff_client.get(PAYMENT))
    assert page.count("<form") == page.count('name="csrfmiddlewaretoken"')
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert "Connected (sandbox)" in html(staff_client.post(check_url("stripe"), {"csrfmiddlewaretoken": token}))
    for key in ("test", "bank_transfer", "unknown"):
        assert staff_client.post(check_url(key), {"csrfmiddlewaretoken": token}).status_code == 404
    assert len(standins["stripe"].calls_to("/v1/checkout/sessions", "GET")) == 1  # one check, one call


@pytest.mark.django_db(transaction=True)
def test_no_provider_is_asked_inside_a_database_transaction(client, staff, store, monkeypatch):
    seen = []

    def check_connection(self):
        seen.append(transaction.get_connection().in_atomic_block)
        return ConnectionCheck(True, "sandbox")

    monkeypatch.setattr(type(PROVIDERS["stripe"]), "check_connection", check_connection)
    assert "Connected (sandbox)" in html(client.post(check_url("stripe"), HTTP_HX_REQUEST="true"))
    assert "Connected (sandbox)" in html(client.post(check_url("stripe")))
    assert seen == [False, False]


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    data=st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=4),
)
def test_whatever_is_posted_to_the_check_never_gives_a_server_error(client, staff, store, monkeypatch, key, data):
    monkeypatch.setattr(
        type(PROVIDERS["paypal"]), "check_connection", lambda self: ConnectionCheck(False, "", "PayPal said no.")
    )
    response = client.post(check_url(urllib.parse.quote(key, safe="")) if key else check_url("x"), data)
    assert response.status_code in (200, 404)


# --- Two methods that take the same thing ---------------------------------------------------------------------------


def overlap_warnings(page: str) -> list[str]:
    return re.findall(r'<div class="message message--warning method__overlap" role="status"><p>([^<]+)</p>', page)


def test_two_methods_taking_cards_or_twint_are_pointed_out(client, staff, store, standins):
    enable("stripe", "datatrans_card", "bank_transfer")
    assert overlap_warnings(html(client.get(PAYMENT))) == [
        "Two methods take card payments: Card or TWINT (Stripe) and Card (Datatrans). Shoppers see both at checkout; "
        "untick one unless you mean to offer both."
    ]
    enable("stripe", "datatrans_card", "datatrans_twint")
    warnings = overlap_warnings(html(client.get(PAYMENT)))
    assert len(warnings) == 2
    assert warnings[1].startswith("Two methods take TWINT: Card or TWINT (Stripe) and TWINT (Datatrans).")
    # one provider for each thing: no warning
    enable("datatrans_card", "datatrans_twint", "datatrans_postfinance", "paypal")
    from payments.models import PaymentMethod

    PaymentMethod.objects.filter(code="stripe").update(is_enabled=False)
    assert overlap_warnings(html(client.get(PAYMENT))) == []


def test_a_method_that_is_not_offered_overlaps_nothing(client, staff, store, standins, settings):
    enable("stripe", "datatrans_card")
    settings.DATATRANS_PASSWORD = ""  # Datatrans not configured: its card method is not offered
    assert overlap_warnings(html(client.get(PAYMENT))) == []


# --- In the browser ---------------------------------------------------------------------------------------------------

# Measured at 1280 px with every provider configured: 3,910 px before the blocks (the issue counted 4,262), 2,600 after.
MAX_HEIGHT = 2800


@pytest.fixture
def live_standins(settings, live_server):
    with stripe_standin.serving() as stripe, datatrans_standin.serving() as datatrans, paypal_standin.serving() as pp:
        for standin in (stripe, datatrans, pp):
            standin.configure(settings)
        settings.SITE_URL = live_server.url
        settings.PROVIDER_TIMEOUT = 5
        yield {"stripe": stripe, "datatrans": datatrans, "paypal": pp}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_is_short_and_its_blocks_work(page, live_server, store, live_standins, settings, artifacts):
    log_in(page, live_server)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + PAYMENT)
        page.screenshot(path=artifacts / f"backoffice-payment-{width}.png", full_page=True)
        if width == 1280:
            height = page.evaluate("document.documentElement.scrollHeight")
            assert height <= MAX_HEIGHT, f"Settings → Payment is {height} px tall at 1280 px (at most {MAX_HEIGHT})"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + PAYMENT)
    stripe = page.locator("#provider-stripe")
    expect(stripe.get_by_label("Webhook URL")).not_to_be_visible()  # collapsed
    stripe.locator("summary").click()
    expect(stripe.get_by_label("Webhook URL")).to_have_value(live_server.url + "/webhooks/stripe/")
    stripe.get_by_role("button", name="Copy").click()
    expect(stripe.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == live_server.url + "/webhooks/stripe/"
    # the check answers in its own small area (htmx), the page stays as it is
    stripe.get_by_role("button", name="Check the connection to Stripe").click()
    expect(stripe.get_by_role("status")).to_have_text("Connected (sandbox)")
    assert page.url == live_server.url + PAYMENT
    stripe.screenshot(path=artifacts / "backoffice-payment-stripe-block.png")
    # PayPal down: said so, in PayPal's block
    settings.PAYPAL_API_BASE = f"http://127.0.0.1:{closed_port()}"
    page.locator("#provider-paypal summary").click()
    page.locator("#provider-paypal").get_by_role("button", name="Check the connection to PayPal").click()
    expect(page.locator("#check-paypal")).to_contain_text("PayPal could not be reached.")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_check_works_without_javascript(browser, live_server, store, live_standins, artifacts):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(live_server.url + PAYMENT)
    datatrans = page.locator("#provider-datatrans")
    expect(datatrans.get_by_role("button", name="Copy")).to_be_hidden()  # nothing to copy with: select the URL
    datatrans.locator("summary").click()
    datatrans.get_by_role("button", name="Check the connection to Datatrans").click()
    expect(page.locator("#provider-datatrans")).to_have_attribute("open", "")
    expect(page.locator("#check-datatrans")).to_have_text("Connected (sandbox)")
    page.locator("#provider-datatrans").screenshot(path=artifacts / "backoffice-payment-datatrans-no-js.png")
    context.close()
