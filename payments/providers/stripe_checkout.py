"""Stripe, through Checkout Sessions (the ``stripe`` package's ``StripeClient``).

One Checkout Session per payment attempt, in Rappen and CHF, named by our payment reference (``client_reference_id``
and metadata) and created with a deterministic idempotency key; the shopper pays on Stripe's page with what the
merchant's Stripe account allows (cards, TWINT). Webhooks are verified by the library (``construct_event``, 300 s
tolerance). ``STRIPE_API_BASE`` points the client at a local stand-in of Stripe's API (tests, trying the shop).
"""

import datetime as dt
import json
import logging

import stripe
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.money import to_minor

from .base import (
    EventKind,
    PaymentState,
    Provider,
    ProviderError,
    ProviderEvent,
    ProviderRefund,
    Redirect,
    WebhookError,
)

logger = logging.getLogger(__name__)

HEADER = "Stripe-Signature"
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
    sandbox_help = gettext_lazy(
        "To try it: in Stripe's dashboard switch to test mode, copy the test secret key into STRIPE_SECRET_KEY, "
        "add the webhook URL below and copy its signing secret into STRIPE_WEBHOOK_SECRET. Pay with the test card "
        "4242 4242 4242 4242, any future date, any CVC."
    )
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

    def client(self) -> stripe.StripeClient:
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses=base,
            max_network_retries=2,
            http_client=stripe.RequestsClient(timeout=settings.PROVIDER_TIMEOUT),
        )

    def _call(self, what: str, call, *, for_shopper=False) -> dict:
        """One API call, its answer as plain data. Stripe down, overloaded or slow: "could not be reached"; a refusal
        gives Stripe's message to the merchant, and a plain sentence to a shopper (Stripe's is logged)."""
        try:
            return call().to_dict()
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as error:
            logger.warning("Stripe could not be reached (%s): %s", what, error)
            raise ProviderError(_("Stripe could not be reached. Please try again in a moment.")) from error
        except stripe.StripeError as error:
            logger.warning("Stripe refused %s: %s", what, error.user_message or error)
            if for_shopper:
                raise ProviderError(
                    _("The payment could not be started. Please try again, or choose another payment method.")
                ) from error
            raise ProviderError(error.user_message or str(error)) from error

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

    def parse_webhook(self, body: bytes, headers) -> list[ProviderEvent]:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise WebhookError("Stripe is not configured")
        # The library's check (what construct_event runs first: HMAC-SHA256 of "t.body", 300 s tolerance), then the
        # body read once as plain data: building the SDK's object tree as well cost a sixth of the request.
        try:
            stripe.WebhookSignature.verify_header(body, headers.get(HEADER), secret, tolerance=300)
        except stripe.SignatureVerificationError as error:
            raise WebhookError("signature does not match") from error
        except (ValueError, UnicodeDecodeError) as error:
            raise WebhookError("malformed event") from error
        try:
            return [self.event(json.loads(body))]
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

    def cancel(self, payment) -> None:
        if not payment.provider_reference:
            return
        try:
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
