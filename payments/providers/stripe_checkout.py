"""Stripe, through Checkout Sessions (the ``stripe`` package's ``StripeClient``).

One Checkout Session per payment attempt, in Rappen and CHF, named by our payment reference (``client_reference_id``
and metadata) and created with a deterministic idempotency key; the shopper pays on Stripe's page with what the
merchant's Stripe account allows (cards, TWINT). Webhooks are verified by the library (``construct_event``, 300 s
tolerance). ``STRIPE_API_BASE`` points the client at a local stand-in of Stripe's API (tests, trying the shop).
"""

import datetime as dt
import logging

import httpx
import stripe
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from shop.money import to_minor

from . import budget
from .base import (
    ConnectionCheck,
    EventKind,
    PaymentState,
    Provider,
    ProviderError,
    ProviderEvent,
    ProviderRefund,
    ProviderUnreachable,
    Redirect,
    WebhookError,
    load_json,
    signature_header,
)

logger = logging.getLogger(__name__)

HEADER = "Stripe-Signature"
# Stripe signs each delivery, retries included, anew: 300 s is the library's default and what Stripe recommends.
TOLERANCE_SECONDS = 300
# Stripe allows a Checkout Session to live 30 minutes to 24 hours; reconciliation asks about it until then.
SESSION_LIFETIME = dt.timedelta(hours=23)
SESSION_EVENTS = {
    "checkout.session.async_payment_succeeded": EventKind.SUCCEEDED,
    "checkout.session.async_payment_failed": EventKind.FAILED,
    "checkout.session.expired": EventKind.EXPIRED,
}
REFUND_EVENTS = ("charge.refunded", "refund.updated", "refund.created")
LOCALES = {"de": "de", "fr": "fr", "en": "en"}
# What Stripe takes, checked before it is asked (a refused session would leave the shopper with "the payment could
# not be started"). The smallest charge per currency, in minor units: "The minimum amount is $0.50 US or equivalent
# in charge currency" (stripe SDK, PaymentIntentCreateParams.amount), CHF 0.50 in Stripe's table of minimum charge
# amounts (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts); other currencies fall back to 50.
MINIMUM_MINOR = {"CHF": 50, "EUR": 50, "USD": 50, "GBP": 30}
# "The amount value supports up to eight digits (e.g., a value of 99999999 for a USD charge of $999,999.99)" (ibid.).
MAXIMUM_MINOR = 99_999_999
# "For `payment` mode, there is a maximum of 100 line items" (stripe SDK, SessionCreateParams.line_items): an order
# of more lines is paid through one line for the balance.
MAX_LINE_ITEMS = 100


def session_kind(session) -> str:
    """What a Checkout Session says of the payment, whatever event carried it."""
    if session.get("status") == "expired":
        return EventKind.EXPIRED
    if session.get("status") == "complete":
        return {"paid": EventKind.SUCCEEDED, "unpaid": EventKind.PENDING}.get(
            session.get("payment_status"), EventKind.IGNORED
        )
    return EventKind.PENDING


def method_of(payment_intent) -> str:
    """ "Visa •••• 4242", "TWINT"…: the method the shopper paid with, from the PaymentIntent's latest charge."""
    charge = payment_intent.get("latest_charge") if payment_intent and not isinstance(payment_intent, str) else None
    details = charge.get("payment_method_details") if charge and not isinstance(charge, str) else None
    if not details:
        return ""
    kind = details.get("type", "")
    if kind == "card" and details.get("card"):
        card = details["card"]
        return f"{str(card.get('brand', '')).title()} •••• {card.get('last4', '')}".strip()
    return {"twint": "TWINT", "paypal": "PayPal", "klarna": "Klarna"}.get(kind, kind.replace("_", " ").title())


class BudgetHTTPClient(stripe.HTTPClient):
    """Stripe's SDK over the providers' bounded httpx client (``budget``): each attempt (the whole answer read) ends
    within PROVIDER_TIMEOUT and the time budget, and the SDK's retries (``max_network_retries``: on a lost
    connection, a 409, a 5xx, or when Stripe says ``Stripe-Should-Retry``) are made only while the budget has room for
    the pause and another attempt. A retry is safe: the SDK sends every POST with an ``Idempotency-Key`` (ours, or one
    it generates once per request and keeps for its retries; _api_requestor.py), and "retries with the same key
    return the saved response" (https://docs.stripe.com/api/idempotent_requests). Written after the SDK's own
    ``HTTPXClient`` (stripe/_http_client.py), the documented way to give the SDK another HTTP client."""

    name = "httpx-budget"

    @sensitive_variables("headers")  # the secret key, in Authorization
    def request(self, method, url, headers, post_data=None):
        try:
            with budget.attempt():
                response = self._client().request(method, url, headers=headers, content=post_data)
        except httpx.HTTPError as error:
            self._handle_request_error(error)
        return response.content, response.status_code, response.headers

    def request_stream(self, method, url, headers, post_data=None):
        """Streamed answers (file downloads, which the shop does not use): read whole as well, within the budget."""
        content, status, response_headers = self.request(method, url, headers, post_data)
        return iter([content]), status, response_headers

    def close(self):
        """The client is the process's, shared with the other providers: kept open."""

    @staticmethod
    def _client() -> httpx.Client:
        return budget.http_client(stripe.ca_bundle_path)

    def _handle_request_error(self, error: Exception):
        # a connection that failed or timed out may be tried again (within the budget); a malformed URL, not
        retry = isinstance(error, httpx.TransportError) and not isinstance(error, httpx.UnsupportedProtocol)
        raise stripe.APIConnectionError(
            f"Stripe could not be reached ({type(error).__name__}: {error})", should_retry=retry
        ) from error

    def _should_retry(self, response, api_connection_error, num_retries, max_network_retries):
        if not budget.room_for_retry(self.INITIAL_DELAY):  # the SDK pauses at least this long before a retry
            return False
        return super()._should_retry(response, api_connection_error, num_retries, max_network_retries)

    def _sleep_time_seconds(self, num_retries: int) -> float:
        pause = super()._sleep_time_seconds(num_retries)
        return pause if budget.room_for_retry(pause) else self.INITIAL_DELAY


def _id(value) -> str:
    """An id the API gives either as a string or as an expanded object."""
    if not value:
        return ""
    return value if isinstance(value, str) else str(value.get("id", ""))


class StripeProvider(Provider):
    code = "stripe"
    brand = "Stripe"
    logo = "img/providers/stripe.svg"
    name = gettext_lazy("Card or TWINT")
    description = gettext_lazy("Pay by card (Visa, Mastercard, American Express) or TWINT on Stripe's secure page.")
    is_online = True
    required_settings = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
    offers = ("card", "twint")
    setup_intro = gettext_lazy(
        "Create an account at stripe.com. Shoppers pay on Stripe's page, and Stripe tells the shop of each payment "
        "through a webhook."
    )
    webhook_help = gettext_lazy(
        "In Stripe's dashboard, under Developers → Webhooks, add an endpoint with this URL and these events:"
    )
    setting_help = (
        (
            "STRIPE_SECRET_KEY",
            gettext_lazy(
                "The secret key, under Developers → API keys: it starts with sk_test_ in the sandbox and with "
                "sk_live_ for real payments."
            ),
        ),
        (
            "STRIPE_WEBHOOK_SECRET",
            gettext_lazy("The signing secret of the webhook endpoint above (whsec_…), shown on the endpoint's page."),
        ),
    )
    sandbox_help = gettext_lazy(
        "To try it, use the keys of Stripe's sandbox (test mode) and pay with the test card 4242 4242 4242 4242, any "
        "future date and any CVC: no real money moves."
    )
    # Stripe's go-live checklist (docs.stripe.com/get-started/checklist/go-live): "switching between them is mostly a
    # matter of swapping your API keys"; a live webhook endpoint is another endpoint, with its own signing secret.
    live_steps = (
        gettext_lazy("Activate your Stripe account for payments: Stripe asks for your business and bank details."),
        gettext_lazy(
            "Leave the sandbox (test mode) in Stripe's dashboard and add the webhook URL above once more, with the "
            "same events: live payments have their own endpoint and signing secret."
        ),
        gettext_lazy(
            "Have STRIPE_SECRET_KEY replaced with the live secret key (sk_live_…) and STRIPE_WEBHOOK_SECRET with the "
            "live endpoint's signing secret. This page then shows Live."
        ),
    )
    dashboard_home = "https://dashboard.stripe.com/"
    # The events to send to /webhooks/stripe/ (Stripe's dashboard: Developers → Webhooks → Add endpoint).
    webhook_events = (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "charge.refunded",
        "refund.updated",
    )

    def is_available(self, store, *, pickup: bool) -> bool:
        return self.is_configured()

    def refusal(self, amount_minor: int, currency: str) -> str:
        minimum = MINIMUM_MINOR.get(currency.upper(), 50)
        if amount_minor < minimum:
            return self.takes_from(minimum, currency)
        if amount_minor > MAXIMUM_MINOR:
            return self.takes_up_to(MAXIMUM_MINOR, currency)
        return ""

    def mode(self) -> str:
        return "live" if settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")) else "sandbox"

    @sensitive_variables()
    def client(self) -> stripe.StripeClient:
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses=base,
            max_network_retries=2,  # within the time budget: BudgetHTTPClient
            http_client=BudgetHTTPClient(),
        )

    @sensitive_variables()
    def _call(self, what: str, call, *, for_shopper=False) -> dict:
        """One API call, its answer as plain data, retries included within the time budget (``budget``). Stripe down,
        overloaded or slow: "could not be reached" (``ProviderUnreachable``: what Stripe did is unknown); a refusal
        gives Stripe's message to the merchant, and a plain sentence to a shopper (Stripe's is logged)."""
        try:
            with budget.call():
                return call().to_dict()
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as error:
            logger.warning("Stripe could not be reached (%s): %s", what, error)
            raise ProviderUnreachable(_("Stripe could not be reached. Please try again in a moment.")) from error
        except stripe.StripeError as error:
            logger.warning("Stripe refused %s: %s", what, error.user_message or error)
            if for_shopper:
                raise ProviderError(
                    _("The payment could not be started. Please try again, or choose another payment method.")
                ) from error
            raise ProviderError(error.user_message or str(error)) from error

    def check_connection(self) -> ConnectionCheck:
        """One authenticated read: the latest Checkout Session, the object the shop works with (a restricted key
        without that permission is refused too). Stripe answers a key it does not take with 401
        (``AuthenticationError``), a restricted key without the permission with 403 (``PermissionError``)."""
        if not self.is_configured():
            return ConnectionCheck(False, problem=_("Not configured yet: there is nothing to check."))
        note = ""
        if not settings.STRIPE_WEBHOOK_SECRET.startswith("whsec_"):
            note = _(
                "STRIPE_WEBHOOK_SECRET does not look like a webhook signing secret (whsec_…): Stripe's webhooks "
                "would be refused."
            )
        try:
            self._call("the connection check", lambda: self.client().v1.checkout.sessions.list(params={"limit": 1}))
        except ProviderError as error:
            cause = error.__cause__
            if isinstance(cause, stripe.AuthenticationError):
                problem = _(
                    "Stripe refused the secret key: check STRIPE_SECRET_KEY (sk_test_… for the sandbox, sk_live_… "
                    "for real payments)."
                )
            elif isinstance(cause, stripe.PermissionError):
                problem = _("This key may not read Checkout Sessions: give the restricted key that permission.")
            else:
                problem = str(error)
            return ConnectionCheck(False, self.mode(), problem, note)
        return ConnectionCheck(True, self.mode(), note=note)

    # Shopper side -----------------------------------------------------------------------------------------------

    def start(self, payment, request) -> Redirect:
        """The attempt's open session again (the shopper cancelled on Stripe's page and tries again), or a new one.
        An amount Stripe does not take is refused here, without asking Stripe."""
        self.check_amount(payment.amount_minor, payment.currency)
        if payment.provider_reference and (payment.expires_at is None or payment.expires_at > timezone.now()):
            session = self._call(
                "the Checkout Session",
                lambda: self.client().v1.checkout.sessions.retrieve(payment.provider_reference),
                for_shopper=True,
            )
            if session.get("status") == "open":
                return self._redirect(session)
            if session.get("status") == "complete":
                raise ProviderError(_("This payment is being confirmed. Please wait a moment."))
        order = payment.order
        with translation.override(order.language):
            order_url = settings.SITE_URL + order.get_absolute_url()
        # to the hour: the same attempt asked again within the hour (a double click, a retry after a time-out) sends
        # the same parameters with the same key, and Stripe answers with the same session
        expires_at = (timezone.now() + SESSION_LIFETIME).replace(minute=0, second=0, microsecond=0)
        params = {
            "mode": "payment",
            "client_reference_id": payment.reference,
            "metadata": {"order": str(order.number), "payment": payment.reference},
            "payment_intent_data": {
                "description": f"Order {order.number}",
                "metadata": {"order": str(order.number), "payment": payment.reference},
            },
            "line_items": self.line_items(payment),
            "customer_email": order.email,
            "locale": LOCALES.get(order.language, "auto"),
            "success_url": order_url + "?payment=returned",
            "cancel_url": order_url + "?payment=cancelled",
            "expires_at": int(expires_at.timestamp()),
        }
        key = f"checkout-session:{payment.reference}:{payment.amount_minor}:{params['expires_at']}"
        session = self._call(
            "a Checkout Session",
            lambda: self.client().v1.checkout.sessions.create(params=params, options={"idempotency_key": key}),
            for_shopper=True,
        )
        return self._redirect(session)

    @staticmethod
    def _redirect(session: dict) -> Redirect:
        expires = session.get("expires_at")
        return Redirect(
            url=session["url"],
            provider_reference=session["id"],
            expires_at=dt.datetime.fromtimestamp(expires, dt.UTC) if type(expires) is int else None,
        )

    def line_items(self, payment) -> list[dict]:
        """The order's lines when this attempt pays the whole order in at most ``MAX_LINE_ITEMS`` lines; one line for
        the balance otherwise."""
        order = payment.order
        lines = [(line.name, to_minor(line.unit_price), line.quantity) for line in order.lines.all()]
        if order.shipping_total:
            lines.append((order.shipping_method_name or "Shipping", to_minor(order.shipping_total), 1))
        itemised = (
            len(lines) <= MAX_LINE_ITEMS
            and all(price > 0 for _, price, _ in lines)
            and sum(p * q for _, p, q in lines) == payment.amount_minor
        )
        if not itemised:
            lines = [(f"Order {order.number}", payment.amount_minor, 1)]
        return [
            {
                "price_data": {
                    "currency": payment.currency.lower(),
                    "unit_amount": price,
                    "product_data": {"name": name},
                },
                "quantity": quantity,
            }
            for name, price, quantity in lines
        ]

    # Webhooks ---------------------------------------------------------------------------------------------------

    @sensitive_variables()
    def parse_webhook(self, body: bytes, headers) -> list[ProviderEvent]:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise WebhookError("Stripe is not configured")
        # The header's shape first (printable ASCII, one t of digits, v1 signatures of 64 hex digits): the library
        # compares what it is given with hmac.compare_digest, which raises on a non-ASCII signature. Then the
        # library's check (what construct_event runs first: HMAC-SHA256 of "t.body", 300 s tolerance), then the body
        # read once as plain data: building the SDK's object tree as well cost a sixth of the request.
        header = headers.get(HEADER)
        signature_header(header, "v1")
        try:
            stripe.WebhookSignature.verify_header(body, header, secret, tolerance=TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as error:
            raise WebhookError("signature does not match") from error
        except (ValueError, UnicodeDecodeError) as error:
            raise WebhookError("malformed event") from error
        raw = load_json(body)
        try:
            return [self.event(raw)]
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise WebhookError("malformed event") from error

    def event(self, raw: dict) -> ProviderEvent:
        """Our terms for a verified Stripe event (``raw``: the body as sent, kept with the stored event)."""
        kind, obj = raw["type"], raw["data"]["object"]
        if not isinstance(kind, str) or not isinstance(obj, dict) or not isinstance(raw["id"], str):
            raise ValueError("not an event")
        base = {"event_id": raw["id"], "provider_type": kind, "raw": raw}
        if kind.startswith("checkout.session."):
            amount = obj.get("amount_total")
            return ProviderEvent(
                **base,
                type=session_kind(obj) if kind == "checkout.session.completed" else SESSION_EVENTS.get(kind, "ignored"),
                payment_reference=str(obj.get("client_reference_id") or obj.get("id") or ""),
                provider_reference=str(obj.get("id") or ""),
                amount_minor=amount if type(amount) is int else None,
                currency=str(obj.get("currency") or "").upper(),
                details={"transaction_reference": _id(obj.get("payment_intent"))},
                problem="" if amount is None or type(amount) is int else "the amount is not a whole number of Rappen",
            )
        if kind in REFUND_EVENTS:
            # What was refunded is read back from Stripe when the event is applied (the charge names no refund ids).
            return ProviderEvent(
                **base,
                type=EventKind.REFUNDED,
                payment_reference=_id(obj.get("payment_intent")),
                currency=str(obj.get("currency") or "").upper(),
                details={"transaction_reference": _id(obj.get("payment_intent"))},
            )
        return ProviderEvent(**base, type=EventKind.IGNORED, payment_reference="")

    # The API ----------------------------------------------------------------------------------------------------

    def fetch_status(self, payment) -> PaymentState | None:
        if not payment.provider_reference:
            return None
        session = self._call(
            "the Checkout Session",
            lambda: self.client().v1.checkout.sessions.retrieve(
                payment.provider_reference, params={"expand": ["payment_intent.latest_charge"]}
            ),
        )
        amount = session.get("amount_total")
        return PaymentState(
            type=session_kind(session),
            amount_minor=amount if type(amount) is int else None,
            currency=str(session.get("currency") or "").upper(),
            details={
                "transaction_reference": _id(session.get("payment_intent")),
                "method": method_of(session.get("payment_intent")),
            },
        )

    def fetch_refunds(self, payment) -> list[ProviderRefund]:
        if not payment.transaction_reference:
            return []
        refunds = self._call(
            "the refunds",
            lambda: self.client().v1.refunds.list(
                params={"payment_intent": payment.transaction_reference, "limit": 100}
            ),
        )
        return [ProviderRefund(r["id"], r["amount"], r.get("status", "succeeded")) for r in refunds["data"]]

    def find_reference(self, transaction_reference: str) -> str:
        """Our reference of the payment a PaymentIntent belongs to (a refund's event names only the PaymentIntent,
        and may arrive before the session's)."""
        sessions = self._call(
            "the Checkout Session of a PaymentIntent",
            lambda: self.client().v1.checkout.sessions.list(
                params={"payment_intent": transaction_reference, "limit": 1}
            ),
        )
        return next((str(s.get("client_reference_id") or "") for s in sessions["data"]), "")

    def refund(self, payment, amount_minor: int, key: str) -> ProviderRefund:
        if not payment.transaction_reference:
            raise ProviderError(_("Stripe has not named the payment to refund yet."))
        refund = self._call(
            "a refund",
            lambda: self.client().v1.refunds.create(
                params={
                    "payment_intent": payment.transaction_reference,
                    "amount": amount_minor,
                    "metadata": {"payment": payment.reference},
                },
                options={"idempotency_key": key},
            ),
        )
        if refund.get("status") in ("failed", "canceled"):
            raise ProviderError(refund.get("failure_reason") or _("Stripe refused the refund."))
        return ProviderRefund(refund["id"], refund["amount"], refund.get("status", "succeeded"))

    @sensitive_variables()
    def cancel(self, payment) -> None:
        if not payment.provider_reference:
            return
        try:
            with budget.call():
                self.client().v1.checkout.sessions.expire(payment.provider_reference)
        except stripe.InvalidRequestError as error:
            # Only open sessions can be expired: one that is already complete or expired is closed already.
            logger.info("Stripe session %s not expired: %s", payment.provider_reference, error.user_message or error)
        except stripe.StripeError as error:
            raise ProviderError(error.user_message or str(error)) from error

    def dashboard_url(self, payment) -> str:
        prefix = "https://dashboard.stripe.com/" + ("" if self.mode() == "live" else "test/")
        if payment.transaction_reference:
            return f"{prefix}payments/{payment.transaction_reference}"
        return ""
