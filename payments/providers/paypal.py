"""PayPal, through Orders v2 with PayPal's official ``paypal-server-sdk`` (``PaypalServersdkClient``).

One PayPal order per payment attempt (intent CAPTURE, CHF), named by our payment reference (``custom_id``) and created
with a deterministic ``PayPal-Request-Id``; the shopper approves it on PayPal's page and the shop captures it, when
they come back (``check_on_return``) or on ``CHECKOUT.ORDER.APPROVED``, whichever is first (the capture carries a
request id of its own: captured once). ``PAYPAL_API_BASE`` points the SDK at a local stand-in of PayPal's API.

Webhooks are verified locally, as PayPal documents it (``paypal_webhooks``): no API round trip per event, so events are
taken even while PayPal's API is slow.
"""

import datetime as dt
import hashlib
import json
import logging
import re
import threading
from decimal import Decimal, InvalidOperation

import httpx
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_breakdown import AmountBreakdown
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.item_request import ItemRequest
from paypalserversdk.models.money import Money
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import PaypalWalletExperienceContext
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from shop.backoffice.models import Store
from shop.money import to_minor

from . import budget, paypal_webhooks
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
)
from .paypal_http import BudgetHttpClient

logger = logging.getLogger(__name__)

# A PayPal order the payer has not approved lapses after 3 hours (PayPal then no longer knows it: 404); reconciliation
# asks about it until then, and gives it up an hour later.
ORDER_LIFETIME = dt.timedelta(hours=3)
# The connection check asks for this order, which does not exist (PayPal's order ids are 17 capital letters and digits).
CHECK_ORDER_ID = "0SHOPCHECK0000000"
LOCALES = {"de": "de-CH", "fr": "fr-CH", "en": "en-CH", "it": "it-CH"}
MONEY = re.compile(r"\d{1,10}(\.\d{1,2})?")
ORDER_OPEN = ("CREATED", "SAVED", "PAYER_ACTION_REQUIRED")
REFUND_STATUS = {"COMPLETED": "succeeded", "PENDING": "pending", "FAILED": "failed", "CANCELLED": "canceled"}
CAPTURE_EVENTS = {
    "PAYMENT.CAPTURE.COMPLETED": EventKind.SUCCEEDED,
    "PAYMENT.CAPTURE.PENDING": EventKind.PENDING,
    "PAYMENT.CAPTURE.DENIED": EventKind.FAILED,
    "PAYMENT.CAPTURE.DECLINED": EventKind.FAILED,
}
REFUND_EVENTS = ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED")
# What a capture's status says of the money: refunded or reversed later, it was taken all the same (the refunds are
# recorded from fetch_refunds).
CAPTURE_KIND = {
    "COMPLETED": EventKind.SUCCEEDED,
    "PARTIALLY_REFUNDED": EventKind.SUCCEEDED,
    "REFUNDED": EventKind.SUCCEEDED,
    "REVERSED": EventKind.SUCCEEDED,
    "PENDING": EventKind.PENDING,
    "DECLINED": EventKind.FAILED,
    "FAILED": EventKind.FAILED,
}


class PayPalError(ProviderError):
    """PayPal refused a call: its HTTP status, its error name and the issues of its details."""

    def __init__(self, message: str, status: int = 0, name: str = "", issues: tuple[str, ...] = ()):
        super().__init__(message)
        self.status, self.name, self.issues = status, name, issues


class PayPalUnreachable(PayPalError, ProviderUnreachable):
    """PayPal did not answer in time, the connection failed, or it answered 5xx, 408 or 429: whether it carried out
    the call is unknown (a call with a ``PayPal-Request-Id`` may be made again)."""


class _Configuration(Configuration):
    """The SDK's configuration, with another base URI when ``base_uri`` is given (a local stand-in of PayPal's API),
    and the HTTP client bounded by the time budget (``BudgetHttpClient``). The SDK maps its two environments to
    PayPal's hosts and asks ``get_base_uri`` for each call's URL; it has no setting of its own for another host."""

    def __init__(self, *, base_uri: str = "", **kwargs):
        self._base_uri = base_uri
        super().__init__(**kwargs)

    def get_base_uri(self, server=Server.DEFAULT):
        return self._base_uri or super().get_base_uri(server)

    def create_http_client(self):
        return BudgetHttpClient(self)


_clients: dict[str, PaypalServersdkClient] = {}
_clients_lock = threading.Lock()


@sensitive_variables()
def _fetch_token(last_token, auth):
    """The SDK swallows a failed token request (and then reports only "OAuthToken is undefined"): asked through this
    hook, PayPal's refusal or time-out reaches ``_call`` as it is."""
    return auth.fetch_token()


@sensitive_variables()
def _client_key() -> str:
    values = (
        settings.PAYPAL_CLIENT_ID,
        settings.PAYPAL_CLIENT_SECRET,
        settings.PAYPAL_MODE,
        settings.PAYPAL_API_BASE,
        float(settings.PROVIDER_TIMEOUT),
    )
    return hashlib.sha256(repr(values).encode()).hexdigest()  # the secret is part of it: never kept in clear here


def forget_client() -> None:
    """Drop the client of the current settings, and with it its OAuth token (PayPal refused the token)."""
    with _clients_lock:
        _clients.pop(_client_key(), None)


@sensitive_variables()
def client() -> PaypalServersdkClient:
    """The SDK's client for the current settings, built once per set of values (it keeps its OAuth token)."""
    key = _client_key()
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            config = _Configuration(
                base_uri=settings.PAYPAL_API_BASE,
                environment=Environment.PRODUCTION if settings.PAYPAL_MODE == "live" else Environment.SANDBOX,
                timeout=float(settings.PROVIDER_TIMEOUT),  # per attempt, within the budget: BudgetHttpClient
                # every POST we send carries a PayPal-Request-Id, so retrying one is safe: PayPal answers it once
                # ("retry idempotent calls that fail with network timeouts or HTTP 5xx status codes",
                # https://developer.paypal.com/reference/guidelines/idempotency); the token's POST asks for a token
                # again. Within the time budget only: BudgetHttpClient.
                max_retries=2,
                backoff_factor=0.25,
                retry_methods=["GET", "POST"],
                client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                    o_auth_client_id=settings.PAYPAL_CLIENT_ID,
                    o_auth_client_secret=settings.PAYPAL_CLIENT_SECRET,
                    o_auth_token_provider=_fetch_token,
                ),
            )
            found = _clients[key] = PaypalServersdkClient(config=config)
    return found


def _decimal(minor: int) -> str:
    return f"{Decimal(minor) / 100:.2f}"


def _money(value) -> tuple[int | None, str, str]:
    """(Rappen, currency, problem) of a PayPal amount object ``{"currency_code": "CHF", "value": "129.00"}``."""
    if not isinstance(value, dict):
        return None, "", ""
    currency, amount = str(value.get("currency_code") or "").upper(), value.get("value")
    if amount is None:
        return None, currency, ""
    if not isinstance(amount, str) or not MONEY.fullmatch(amount):
        return None, currency, "the amount is not a number of francs and Rappen"
    try:
        return to_minor(Decimal(amount)), currency, ""
    except InvalidOperation:
        return None, currency, "the amount is not a number of francs and Rappen"


def _link(obj: dict, rel: str) -> str:
    for link in obj.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == rel:
            return str(link.get("href") or "")
    return ""


def _captures(order: dict) -> list[dict]:
    return [
        capture
        for unit in order.get("purchase_units") or []
        for capture in ((unit.get("payments") or {}).get("captures") or [])
    ]


def _text(value, limit: int = 120) -> str:
    return str(value)[:limit] if isinstance(value, str | int) and not isinstance(value, bool) else ""


def method_of(order: dict) -> str:
    """ "PayPal (anna@example.ch)": the account the payer approved with."""
    email = ((order.get("payment_source") or {}).get("paypal") or {}).get("email_address")
    if not email or not isinstance(email, str):
        email = (order.get("payer") or {}).get("email_address")
    text = f"PayPal ({email})" if isinstance(email, str) and email else "PayPal"
    return text if len(text) <= 80 else "PayPal"


class PayPalProvider(Provider):
    code = "paypal"
    brand = "PayPal"
    logo = "img/providers/paypal.svg"
    name = gettext_lazy("PayPal")
    description = gettext_lazy("Pay with your PayPal account.")
    is_online = True
    check_on_return = True
    required_settings = ("PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PAYPAL_WEBHOOK_ID")
    offers = ("paypal",)
    setup_intro = gettext_lazy(
        "Create a PayPal business account, then an app for the shop on developer.paypal.com, under Apps & "
        "Credentials: the app holds the keys the shop uses."
    )
    webhook_help = gettext_lazy("In the app's settings, under Webhooks, add a webhook with this URL and these events:")
    setting_help = (
        ("PAYPAL_CLIENT_ID", gettext_lazy("The app's client id, under Apps & Credentials.")),
        ("PAYPAL_CLIENT_SECRET", gettext_lazy("The app's secret, next to its client id.")),
        ("PAYPAL_WEBHOOK_ID", gettext_lazy("The id PayPal gives the webhook above, in the app's list of webhooks.")),
    )
    mode_setting = "PAYPAL_MODE"
    sandbox_help = gettext_lazy(
        "To try it, create the app under Sandbox and pay with one of the sandbox's personal test accounts "
        "(Testing Tools → Sandbox Accounts): no real money moves."
    )
    live_steps = (
        gettext_lazy(
            "On developer.paypal.com, switch from Sandbox to Live and create the app there too: a live app has its "
            "own client id and secret."
        ),
        gettext_lazy("Add the webhook URL above to the live app, with the same events, and note its webhook id."),
        gettext_lazy(
            "Have PAYPAL_MODE set to live, and PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET and PAYPAL_WEBHOOK_ID replaced "
            "with the live app's values. This page then shows Live."
        ),
    )
    dashboard_home = "https://developer.paypal.com/dashboard/applications"
    # The events to send to /webhooks/paypal/ (PayPal's developer dashboard: Apps & Credentials → the app →
    # Webhooks → Add webhook); its webhook id goes into PAYPAL_WEBHOOK_ID.
    webhook_events = (
        "CHECKOUT.ORDER.APPROVED",
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.PENDING",
        "PAYMENT.CAPTURE.DENIED",
        "PAYMENT.CAPTURE.DECLINED",
        "PAYMENT.CAPTURE.REFUNDED",
        "PAYMENT.CAPTURE.REVERSED",
    )

    def is_available(self, store, *, pickup: bool) -> bool:
        return self.is_configured()

    def mode(self) -> str:
        return "live" if settings.PAYPAL_MODE == "live" else "sandbox"

    def client(self) -> PaypalServersdkClient:
        return client()

    @sensitive_variables()
    def _call(self, what: str, call, *, for_shopper=False, fresh_token=False) -> dict:
        """One API call, its answer as plain data (the body as PayPal sent it). PayPal down, overloaded or slow:
        "could not be reached"; a refusal gives PayPal's message to the merchant, and a plain sentence to a shopper
        (PayPal's is logged, with its debug id). A token PayPal no longer takes (revoked before its end, the
        credentials rotated) is dropped and the call made once more with a new one: ``call`` asks for the client.
        All of it, retries and the token's request included, within the time budget (``budget``)."""
        with budget.call():  # the retry with a new token too
            try:
                response = call()
            except ApiException as error:
                if error.response_code == 401 and not fresh_token:
                    forget_client()
                    return self._call(what, call, for_shopper=for_shopper, fresh_token=True)
                status = error.response_code
                body = _json(getattr(error.response, "text", ""))
                name = str(body.get("name") or body.get("error") or "")
                message = str(body.get("message") or body.get("error_description") or error.reason)
                issues = tuple(
                    str(detail.get("issue") or "") for detail in body.get("details") or [] if isinstance(detail, dict)
                )
                if status >= 500 or status in (408, 429):
                    logger.warning(
                        "PayPal could not be reached (%s): %s %s %s", what, status, name, body.get("debug_id")
                    )
                    raise PayPalUnreachable(
                        _("PayPal could not be reached. Please try again in a moment."), status
                    ) from error
                described = "; ".join(
                    str(d.get("description") or d.get("issue"))
                    for d in body.get("details") or []
                    if isinstance(d, dict) and (d.get("description") or d.get("issue"))
                )
                text = f"{message} ({described})" if described and described not in message else message
                logger.warning(
                    "PayPal refused %s: %s %s %s (debug id %s)", what, status, name, text, body.get("debug_id")
                )
                if for_shopper:
                    text = _("The payment could not be started. Please try again, or choose another payment method.")
                raise PayPalError(text, status, name, issues) from error
            except (httpx.HTTPError, OSError, AuthValidationException) as error:
                logger.warning("PayPal could not be reached (%s): %s", what, type(error).__name__)
                raise PayPalUnreachable(_("PayPal could not be reached. Please try again in a moment.")) from error
            return _json(getattr(response, "text", ""))

    def check_connection(self) -> ConnectionCheck:
        """An OAuth token for the app's client id and secret, then the details of an order that does not exist:
        PayPal answers 401 for credentials it does not take and 404 ("The specified resource does not exist") once
        it took them (Orders v2, ``orders.get``: paypal/paypal-rest-api-specifications, checkout_orders_v2.json)."""
        if not self.is_configured():
            return ConnectionCheck(False, problem=_("Not configured yet: there is nothing to check."))
        try:
            self._get_order(CHECK_ORDER_ID)
        except PayPalError as error:
            if error.status in (401, 403):
                problem = _(
                    "PayPal refused the app's client id or secret: check PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET, "
                    "and that PAYPAL_MODE is the app's (sandbox or live)."
                )
                return ConnectionCheck(False, self.mode(), problem)
            if error.status != 404:
                return ConnectionCheck(False, self.mode(), str(error))
        return ConnectionCheck(True, self.mode())

    # Shopper side -----------------------------------------------------------------------------------------------

    def start(self, payment, request) -> Redirect:
        """The attempt's open PayPal order again (the shopper cancelled on PayPal's page and tries again), or a new
        one."""
        if payment.provider_reference and (payment.expires_at is None or payment.expires_at > timezone.now()):
            try:
                order = self._get_order(payment.provider_reference, for_shopper=True)
            except PayPalError as error:
                if error.status != 404:
                    raise
                order = {}
            if order.get("status") in ORDER_OPEN and self._approval_url(order):
                return self._redirect(order, payment.expires_at)
            if order.get("status") in ("APPROVED", "COMPLETED"):
                raise ProviderError(_("This payment is being confirmed. Please wait a moment."))
        order = payment.order
        with translation.override(order.language):
            order_url = settings.SITE_URL + order.get_absolute_url()
        now = timezone.now()
        brand = (Store.load().name or "")[:127]
        body = OrderRequest(
            intent=CheckoutPaymentIntent.CAPTURE,
            purchase_units=[self.purchase_unit(payment)],
            payment_source=PaymentSource(
                paypal=PaypalWallet(
                    experience_context=PaypalWalletExperienceContext(
                        **({"brand_name": brand} if brand else {}),
                        locale=LOCALES.get(order.language, "de-CH"),
                        shipping_preference="NO_SHIPPING",
                        return_url=order_url + "?payment=returned",
                        cancel_url=order_url + "?payment=cancelled",
                        user_action="PAY_NOW",
                    )
                )
            ),
        )
        # to the hour: the same attempt asked again within the hour (a double click, a retry after a time-out) sends
        # the same request id and PayPal answers with the same order; PayPal keeps request ids 6 hours, longer than
        # an order lives, so a later try gets a new order
        key = f"paypal-order:{payment.reference}:{payment.amount_minor}:{now:%Y%m%d%H}"
        created = self._call(
            "an order",
            lambda: self.client().orders.create_order(
                {"body": body, "paypal_request_id": key, "prefer": "return=representation"}
            ),
            for_shopper=True,
        )
        if not self._approval_url(created):
            logger.warning("PayPal order %s has no approval link", created.get("id"))
            raise ProviderError(
                _("The payment could not be started. Please try again, or choose another payment method.")
            )
        return self._redirect(created, _parse_time(created.get("create_time"), now) + ORDER_LIFETIME)

    @staticmethod
    def _approval_url(order: dict) -> str:
        return _link(order, "payer-action") or _link(order, "approve")

    def _redirect(self, order: dict, expires_at) -> Redirect:
        return Redirect(url=self._approval_url(order), provider_reference=str(order["id"]), expires_at=expires_at)

    def purchase_unit(self, payment) -> PurchaseUnitRequest:
        """The order's lines when this attempt pays the whole order (PayPal checks that they add up); one line for
        the balance otherwise."""
        order = payment.order
        currency = payment.currency
        lines = [(line.name, to_minor(line.unit_price), line.quantity) for line in order.lines.all()]
        shipping = to_minor(order.shipping_total or 0)
        itemised = (
            bool(lines)
            and all(price > 0 for _, price, _ in lines)
            and shipping >= 0
            and sum(p * q for _, p, q in lines) + shipping == payment.amount_minor
        )
        if not itemised:
            lines, shipping = [(f"Order {order.number}", payment.amount_minor, 1)], 0
        item_total = sum(p * q for _, p, q in lines)
        breakdown = AmountBreakdown(
            item_total=Money(currency, _decimal(item_total)),
            **({"shipping": Money(currency, _decimal(shipping))} if shipping else {}),
        )
        return PurchaseUnitRequest(
            amount=AmountWithBreakdown(currency, _decimal(payment.amount_minor), breakdown),
            custom_id=payment.reference,
            # PayPal refuses an invoice id it has seen paid: one per attempt, naming the order
            invoice_id=f"{order.number}-{payment.reference}"[:127],
            description=f"Order {order.number}",
            items=[
                ItemRequest(name=name[:127], unit_amount=Money(currency, _decimal(price)), quantity=str(quantity))
                for name, price, quantity in lines
            ],
        )

    # Webhooks ---------------------------------------------------------------------------------------------------

    def parse_webhook(self, body: bytes, headers) -> list[ProviderEvent]:
        webhook_id = settings.PAYPAL_WEBHOOK_ID
        if not webhook_id:
            raise WebhookError("PayPal is not configured")
        raw = load_json(body)  # a cheap check first: no certificate is fetched for a body that can't be an event
        paypal_webhooks.verify_signature(body, headers, webhook_id)
        try:
            return [self.event(raw)]
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise WebhookError("malformed event") from error

    def delivery_id(self, headers) -> str:
        return (headers.get("Paypal-Transmission-Id") or "").strip()

    def event(self, raw: dict) -> ProviderEvent:
        """Our terms for a verified PayPal event (``raw``: the body as sent, kept with the stored event)."""
        kind, resource, event_id = raw["event_type"], raw["resource"], raw["id"]
        if not isinstance(kind, str) or not isinstance(resource, dict) or not isinstance(event_id, str):
            raise ValueError("not an event")
        base = {"event_id": event_id, "provider_type": kind, "raw": raw}
        if kind == "CHECKOUT.ORDER.APPROVED":
            unit = next(iter(resource.get("purchase_units") or []), {})
            unit = unit if isinstance(unit, dict) else {}
            amount, currency, problem = _money(unit.get("amount"))
            order_id = _text(resource.get("id"))
            return ProviderEvent(
                **base,
                type=EventKind.AUTHORIZED,
                payment_reference=_text(unit.get("custom_id")) or order_id,
                provider_reference=order_id,
                amount_minor=amount,
                currency=currency,
                problem=problem,
            )
        if kind in CAPTURE_EVENTS:
            amount, currency, problem = _money(resource.get("amount"))
            related = ((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
            order_id, capture_id = _text(related), _text(resource.get("id"))
            reason = (resource.get("status_details") or {}).get("reason")
            return ProviderEvent(
                **base,
                type=CAPTURE_EVENTS[kind],
                payment_reference=_text(resource.get("custom_id")) or order_id or capture_id,
                provider_reference=order_id,
                amount_minor=amount,
                currency=currency,
                message=_("PayPal declined the payment.") if CAPTURE_EVENTS[kind] == EventKind.FAILED else "",
                details={"transaction_reference": capture_id, "reason": _text(reason)},
                problem=problem,
            )
        if kind in REFUND_EVENTS:
            # A refund names its capture in its "up" link; a reversal is the capture itself. What was refunded is
            # read back from PayPal when the event is applied.
            up = _link(resource, "up")
            capture_id = up.rstrip("/").rsplit("/", 1)[-1] if "/captures/" in up else _text(resource.get("id"))
            amount, currency, problem = _money(resource.get("amount"))
            return ProviderEvent(
                **base,
                type=EventKind.REFUNDED,
                payment_reference=_text(resource.get("custom_id")) or capture_id,
                currency=currency,
                details={"transaction_reference": capture_id, "refund_reference": _text(resource.get("id"))},
                problem=problem,
            )
        return ProviderEvent(**base, type=EventKind.IGNORED, payment_reference="")

    # The API ----------------------------------------------------------------------------------------------------

    def _get_order(self, order_id: str, *, for_shopper=False) -> dict:
        return self._call(
            "the order", lambda: self.client().orders.get_order({"id": order_id}), for_shopper=for_shopper
        )

    def _order_id(self, payment) -> str:
        """The PayPal order of an attempt; for one that only knows its capture, the capture names it."""
        if payment.provider_reference:
            return payment.provider_reference
        if payment.transaction_reference:
            capture = self._get_capture(payment.transaction_reference)
            return _text(((capture.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id"))
        return ""

    def _get_capture(self, capture_id: str) -> dict:
        return self._call(
            "the capture", lambda: self.client().payments.get_captured_payment({"capture_id": capture_id})
        )

    def fetch_status(self, payment) -> PaymentState | None:
        order_id = self._order_id(payment)
        if not order_id:
            return None
        try:
            order = self._get_order(order_id)
        except PayPalError as error:
            if error.status == 404:  # an order lapses unapproved after 3 hours, and PayPal forgets it
                return PaymentState(EventKind.EXPIRED, message=_("The PayPal order expired unpaid."))
            raise
        return self.state(order)

    def state(self, order: dict) -> PaymentState:
        """What a PayPal order says of the payment."""
        status = order.get("status")
        unit = next(iter(order.get("purchase_units") or []), {})
        if status in ORDER_OPEN:
            return PaymentState(EventKind.PENDING)
        if status == "APPROVED":
            amount, currency, _problem = _money(unit.get("amount"))
            return PaymentState(EventKind.AUTHORIZED, amount, currency)
        if status == "VOIDED":
            return PaymentState(EventKind.FAILED, message=_("The PayPal order was voided."))
        captures = _captures(order)
        if status == "COMPLETED" and captures:
            capture = captures[-1]
            kind = CAPTURE_KIND.get(capture.get("status"), EventKind.PENDING)
            amount, currency, _problem = _money(capture.get("amount"))
            details = {"transaction_reference": _text(capture.get("id")), "method": method_of(order)}
            if kind == EventKind.FAILED:
                return PaymentState(kind, message=_("PayPal declined the payment."), details=details)
            return PaymentState(kind, amount, currency, details=details)
        return PaymentState(EventKind.PENDING)

    def capture(self, payment) -> PaymentState:
        """Capture the approved order. The request id is the attempt's and the order's: asked again (a webhook and
        the return page at once, a retry), PayPal answers with the same capture."""
        order_id = payment.provider_reference
        if not order_id:
            raise ProviderError(_("PayPal has not named the order to capture yet."))
        key = f"paypal-capture:{payment.reference}:{order_id}"
        try:
            order = self._call(
                "a capture",
                lambda: self.client().orders.capture_order(
                    {"id": order_id, "paypal_request_id": key, "prefer": "return=representation"}
                ),
            )
        except PayPalError as error:
            if "ORDER_ALREADY_CAPTURED" in error.issues:  # captured by another request id: its outcome
                return self.state(self._get_order(order_id))
            if error.status == 404 or "ORDER_EXPIRED" in error.issues:
                return PaymentState(EventKind.EXPIRED, message=_("The PayPal order expired unpaid."))
            if "ORDER_NOT_APPROVED" in error.issues:
                return PaymentState(EventKind.PENDING)
            if error.status == 422 and error.issues:  # INSTRUMENT_DECLINED, PAYER_ACTION_REQUIRED, …
                return PaymentState(EventKind.FAILED, message=str(error)[:300])
            raise
        return self.state(order)

    def fetch_refunds(self, payment) -> list[ProviderRefund]:
        """The refunds of the order's captures (ours and the dashboard's), and a reversed capture as one refund of
        its amount."""
        order_id = self._order_id(payment)
        if not order_id:
            return []
        order = self._get_order(order_id)
        found = []
        for unit in order.get("purchase_units") or []:
            for refund in (unit.get("payments") or {}).get("refunds") or []:
                amount, _currency, _problem = _money(refund.get("amount"))
                if refund.get("id") and amount is not None:
                    found.append(
                        ProviderRefund(str(refund["id"]), amount, REFUND_STATUS.get(refund.get("status"), "pending"))
                    )
        for capture in _captures(order):
            amount, _currency, _problem = _money(capture.get("amount"))
            if capture.get("status") == "REVERSED" and amount is not None:
                found.append(ProviderRefund(f"reversal:{capture['id']}", amount, "succeeded"))
        return found

    def find_reference(self, transaction_reference: str) -> str:
        """Our reference of the payment a capture belongs to (a refund's event names only the capture, and may
        arrive before the capture's)."""
        try:
            return _text(self._get_capture(transaction_reference).get("custom_id"))
        except PayPalError as error:
            if error.status == 404:
                return ""
            raise

    def refund(self, payment, amount_minor: int, key: str) -> ProviderRefund:
        if not payment.transaction_reference:
            raise ProviderError(_("PayPal has not named the payment to refund yet."))
        body = RefundRequest(amount=Money(payment.currency, _decimal(amount_minor)), custom_id=payment.reference)
        refund = self._call(
            "a refund",
            lambda: self.client().payments.refund_captured_payment(
                {
                    "capture_id": payment.transaction_reference,
                    "body": body,
                    # our key names the refund in this shop's database: with the payment, it is PayPal-wide unique
                    "paypal_request_id": f"{key}:{payment.reference}"[:108],
                    "prefer": "return=representation",
                }
            ),
        )
        status = REFUND_STATUS.get(refund.get("status"), "pending")
        if status in ("failed", "canceled"):
            reason = (refund.get("status_details") or {}).get("reason")
            raise ProviderError(_("PayPal refused the refund.") + (f" ({reason})" if reason else ""))
        amount, _currency, _problem = _money(refund.get("amount"))
        return ProviderRefund(str(refund["id"]), amount if amount is not None else amount_minor, status)

    def cancel(self, payment) -> None:
        """Nothing to do: PayPal has no call to cancel an order not captured; it lapses by itself (3 hours unapproved,
        and an approved order is only paid once we capture it)."""

    def dashboard_url(self, payment) -> str:
        if not payment.transaction_reference:
            return ""
        host = "https://www.paypal.com" if self.mode() == "live" else "https://www.sandbox.paypal.com"
        return f"{host}/activity/payment/{payment.transaction_reference}"


def _json(text) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _parse_time(value, default: dt.datetime) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return default
    return parsed if parsed.tzinfo else default
