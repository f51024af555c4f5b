"""Datatrans (cards, TWINT, PostFinance) through its Payment Page and JSON API v1, with a small httpx client of our
own (Datatrans has no maintained Python library).

Three checkout methods share this class and one webhook URL (``/webhooks/datatrans/``). One Datatrans transaction
per payment attempt: ``init`` (amount in Rappen, ``refno`` naming the order and the attempt, the method's payment
method codes, ``autoSettle`` as the merchant chose, the redirect and webhook URLs), the shopper pays on
``<pay base>/v1/start/<transactionId>``, Datatrans posts the transaction's status to the webhook, signed with
``Datatrans-Signature: t=<ms>,s0=<hex HMAC-SHA256 of t + body>``. Without auto-settle an authorised transaction is
settled by the pipeline (``capture``). Refunds are credits: each creates a transaction of its own (type ``credit``)
carrying the original's ``refno``. ``DATATRANS_API_BASE`` / ``DATATRANS_PAY_BASE`` point the shop at a local stand-in.
"""

import datetime as dt
import hashlib
import hmac
import logging
import re
import time

import httpx
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from shop.backoffice.models import Store

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


class Unreachable(ProviderUnreachable):
    """Datatrans down, slow or failing: whether it carried out the call is unknown; the same call (the same
    idempotency key) may be made again."""


class Refused(ProviderError):
    """Datatrans answered the call with an error (4xx): ``code`` is its error code, ``status`` the HTTP status."""

    def __init__(self, message: str, code: str = "", status: int = 0):
        super().__init__(message)
        self.code, self.status = code, status


HEADER = "Datatrans-Signature"
HOSTS = {
    "sandbox": ("https://api.sandbox.datatrans.com", "https://pay.sandbox.datatrans.com"),
    "live": ("https://api.datatrans.com", "https://pay.datatrans.com"),
}
# "A transactionId is only valid for 30 minutes" (docs: Redirect & Lightbox, initializing transactions).
TRANSACTION_LIFETIME = dt.timedelta(minutes=30)
# How old a signed webhook may be. Datatrans documents neither how long it retries a webhook nor a tolerance for
# its timestamp (API reference, "Webhook" and "Webhook signing": only that it calls the URL "after each
# authorization" and signs t + body): a retry that keeps its first signing time must still be taken, so the window
# is the longest retry period of our providers, PayPal's 3 days. A replay within it changes nothing: the event is
# stored once by its identity (transaction, status, latest step), and applied after re-reading the transaction.
WEBHOOK_WINDOW = dt.timedelta(days=3)
# How far ahead of our clock a timestamp may be (clocks drift).
FUTURE_SKEW = dt.timedelta(minutes=5)
# init: "refno", the merchant's reference, 1 to 40 characters (Datatrans's OpenAPI specification 2.0.45, InitRequest,
# SettleRequest and CreditRequest refno maxLength 40, release note 2.0.34; earlier ones said 20). Ours ("1001-57") is
# far shorter; a longer one is cut there.
REFNO_MAX = 40
# The connection check asks for the status of this transaction: 18 digits, as the status API takes them ("status
# transactionId length must be 18 digits"), and no real one (Datatrans's start with the date, yymmdd).
CHECK_TRANSACTION_ID = "999999999999999999"
LANGUAGES = ("de", "en", "fr", "it")
PAYMENT_KINDS = {
    "initialized": EventKind.PENDING,
    "challenge_required": EventKind.PENDING,
    "challenge_ongoing": EventKind.PENDING,
    "authenticated": EventKind.PENDING,
    "authorized": EventKind.AUTHORIZED,
    "settled": EventKind.SUCCEEDED,
    "transmitted": EventKind.SUCCEEDED,
    "canceled": EventKind.FAILED,
    "failed": EventKind.FAILED,
}
CREDIT_DONE = ("settled", "transmitted")
METHOD_NAMES = {
    "VIS": "Visa",
    "ECA": "Mastercard",
    "AMX": "American Express",
    "TWI": "TWINT",
    "PFC": "PostFinance",
    "PEF": "PostFinance",
}


def postfinance_methods() -> tuple[str, ...]:
    """The payment method codes the PostFinance method opens Datatrans's page with (DATATRANS_POSTFINANCE_METHODS):
    Datatrans documents PostFinance as "PFC" (PostFinance Card, in PostFinance's app: PostFinance Pay) and "PEF"
    (PostFinance E-Finance), docs.datatrans.ch, Payment methods → PostFinance."""
    return tuple(settings.DATATRANS_POSTFINANCE_METHODS)


def method_name(code: str) -> str:
    """What the shopper paid with, for a payment method code of Datatrans ("PostFinance" for every code of the
    PostFinance setting)."""
    if code in postfinance_methods():
        return "PostFinance"
    return METHOD_NAMES.get(code, code)


def _int(value) -> int | None:
    return value if type(value) is int else None


def amount_of(tx: dict) -> int | None:
    """What a transaction moved: settled (or credited) when it was, else what was authorised."""
    detail = tx.get("detail") if isinstance(tx.get("detail"), dict) else {}
    for step in ("settle", "credit", "authorize"):
        part = detail.get(step)
        if isinstance(part, dict) and _int(part.get("amount")) is not None:
            return part["amount"]
    return None


def method_of(tx: dict) -> str:
    """ "Visa •••• 0004", "TWINT", "PostFinance": what the shopper paid with."""
    code = str(tx.get("paymentMethod") or "")
    name = method_name(code)
    card = tx.get("card") if isinstance(tx.get("card"), dict) else {}
    masked = str(card.get("masked") or "")
    if masked and name not in ("TWINT", "PostFinance"):
        return f"{name} •••• {masked[-4:]}".strip()
    return name


def failure_of(tx: dict) -> str:
    detail = tx.get("detail") if isinstance(tx.get("detail"), dict) else {}
    fail = detail.get("fail") if isinstance(detail.get("fail"), dict) else {}
    if tx.get("status") == "canceled":
        return _("The payment was cancelled.")
    message = str(fail.get("message") or fail.get("reason") or "")
    return _("The payment was declined: %(reason)s") % {"reason": message} if message else ""


def state_of(tx: dict) -> PaymentState:
    """Our terms for a payment transaction's status."""
    kind = PAYMENT_KINDS.get(str(tx.get("status") or ""), EventKind.PENDING)
    return PaymentState(
        type=kind,
        amount_minor=amount_of(tx),
        currency=str(tx.get("currency") or "").upper(),
        message=failure_of(tx) if kind == EventKind.FAILED else "",
        details={"transaction_reference": str(tx.get("transactionId") or ""), "method": method_of(tx)},
    )


def refno_of(payment) -> str:
    """The order number and our id of the attempt ("1001-57"): what the merchant searches for in Datatrans's admin
    tool, and what links a credit (ours or from the admin tool) back to the attempt."""
    return f"{payment.order.number}-{payment.pk}"[:REFNO_MAX]


def reference_for_refno(refno: str) -> str:
    """Our payment reference for a refno we gave (``refno_of``); "" for any other."""
    from payments.models import Payment

    match = re.fullmatch(r"(\d+)-(\d+)", refno or "")
    if not match:
        return ""
    codes = [method.code for method in DATATRANS_METHODS]
    found = Payment.objects.filter(pk=int(match.group(2)), order__number=int(match.group(1)), provider__in=codes)
    return found.values_list("reference", flat=True).first() or ""


@sensitive_variables()
def sign(key_hex: str, timestamp: str, body: bytes) -> str:
    """s0 of the Datatrans-Signature header: HMAC-SHA256, keyed by the hex-decoded key, of the timestamp and body."""
    return hmac.new(bytes.fromhex(key_hex), timestamp.encode() + body, hashlib.sha256).hexdigest()


@sensitive_variables()
def verify(body: bytes, header: str | None, key_hex: str, now: float | None = None) -> int:
    """Check a Datatrans-Signature header (``t=<ms>,s0=<hex>``) on the raw body; returns t. Raises WebhookError."""
    timestamp, signatures = signature_header(header, "s0")
    expected = sign(key_hex, str(timestamp), body)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise WebhookError("signature does not match")
    age = (time.time() if now is None else now) - timestamp / 1000
    if not -FUTURE_SKEW.total_seconds() <= age <= WEBHOOK_WINDOW.total_seconds():
        raise WebhookError("timestamp outside the window")
    return timestamp


class DatatransProvider(Provider):
    brand = "Datatrans"
    logo = "img/providers/datatrans.svg"
    is_online = True
    webhook_code = "datatrans"
    required_settings = ("DATATRANS_MERCHANT_ID", "DATATRANS_PASSWORD", "DATATRANS_HMAC_KEY")
    # Datatrans has no event types to subscribe to: it posts every status change of a transaction to the webhook
    # URL (set in its admin tool, and sent with each init).
    webhook_events = ()
    webhook_note = gettext_lazy(
        "The shop sends this URL with every payment: there is nothing to add for it in Datatrans's dashboard."
    )
    setup_intro = gettext_lazy(
        "Ask Datatrans (datatrans.ch) for a merchant account: you get a sandbox account to try it at once, and a "
        "live one with your contract. Card, TWINT and PostFinance are the same account: set it up once, then offer "
        "the methods Datatrans has activated for you."
    )
    # Datatrans's API reference (openapi.json of datatrans/openapi-java-sdk-generator), "Authentication": the password
    # is under UPP Administration > Security; "Webhook signing": the HMAC key, once "Important parameters will be
    # digitally signed (HMAC-SHA256) and sent with payment messages" is chosen there.
    webhook_help = gettext_lazy(
        "In Datatrans's dashboard, under UPP Administration → Security, choose that important parameters are "
        "digitally signed (HMAC-SHA256) and sent with payment messages: Datatrans then shows the HMAC key."
    )
    setting_help = (
        (
            "DATATRANS_MERCHANT_ID",
            gettext_lazy("Your merchant id, shown in Datatrans's dashboard (sandbox ids start with 1100)."),
        ),
        (
            "DATATRANS_PASSWORD",
            gettext_lazy("The server-to-server password, under UPP Administration → Security."),
        ),
        (
            "DATATRANS_HMAC_KEY",
            gettext_lazy("The HMAC key shown there once signing is on (digits 0–9 and letters a–f)."),
        ),
    )
    mode_setting = "DATATRANS_MODE"
    sandbox_help = gettext_lazy(
        "To try it, use the sandbox account and pay on the sandbox's payment page with Datatrans's test cards, or "
        "the TWINT and PostFinance test flows: no real money moves."
    )
    # docs.datatrans.ch (FAQ): merchant ids issued for testing (11000…) are only accepted by the sandbox.
    live_steps = (
        gettext_lazy(
            "Your live account has its own merchant id, password and HMAC key: switch on the signing in its "
            "dashboard too, as above."
        ),
        gettext_lazy(
            "Have DATATRANS_MODE set to live, and DATATRANS_MERCHANT_ID, DATATRANS_PASSWORD and DATATRANS_HMAC_KEY "
            "replaced with the live account's values (a sandbox merchant id only works in the sandbox). This page "
            "then shows Live."
        ),
        gettext_lazy(
            "Ask Datatrans to activate each method you offer (cards, TWINT, PostFinance) on the live account."
        ),
    )

    def __init__(self, code: str, name, description, methods):
        """``methods``: Datatrans's payment method codes for init, or a function that gives them (a setting)."""
        self.code, self.name, self.description, self._methods = code, name, description, methods

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self._methods() if callable(self._methods) else self._methods)

    @property
    def offers(self) -> tuple[str, ...]:
        return {"datatrans_card": ("card",), "datatrans_twint": ("twint",)}.get(self.code, (self.code,))

    def is_available(self, store, *, pickup: bool) -> bool:
        return self.is_configured()

    @property
    def is_twint(self) -> bool:
        return self.methods == ("TWI",)

    def refusal(self, amount_minor: int, currency: str) -> str:
        if self.is_twint:
            if currency != "CHF":
                return self.takes_only("CHF")
            if amount_minor > settings.TWINT_LIMIT_CHF * 100:
                return self.takes_up_to(settings.TWINT_LIMIT_CHF * 100, currency)
        return ""

    def mode(self) -> str:
        return "live" if settings.DATATRANS_MODE == "live" else "sandbox"

    @property
    def dashboard_home(self) -> str:
        return "https://admin.datatrans.com/" if self.mode() == "live" else "https://admin.sandbox.datatrans.com/"

    def api_base(self) -> str:
        return settings.DATATRANS_API_BASE or HOSTS[self.mode()][0]

    def pay_base(self) -> str:
        return settings.DATATRANS_PAY_BASE or HOSTS[self.mode()][1]

    # The client ---------------------------------------------------------------------------------------------------

    @sensitive_variables()
    def _call(self, what: str, method: str, path: str, body: dict | None = None, *, key: str = "", for_shopper=False):
        """One API call; its JSON answer ({} for 204). Datatrans down, slow or failing (5xx): "could not be reached";
        a refusal (4xx) gives Datatrans's message to the merchant, and a plain sentence to a shopper (Datatrans's is
        logged). Every POST carries an ``Idempotency-Key``: the same business action asked again is the same call.

        One attempt, no retry: connecting, sending and reading the whole answer end within PROVIDER_TIMEOUT and the
        time budget of the request or task (``budget``), however slowly Datatrans sends its answer."""
        headers = {"Accept": "application/json"}
        if method == "POST":
            headers["Idempotency-Key"] = key
        try:
            with budget.attempt():
                response = budget.http_client().request(
                    method,
                    self.api_base() + path,
                    json=body,
                    headers=headers,
                    auth=(settings.DATATRANS_MERCHANT_ID, settings.DATATRANS_PASSWORD),
                )
        except httpx.HTTPError as error:
            logger.warning("Datatrans could not be reached (%s): %s", what, type(error).__name__)
            raise Unreachable(_("Datatrans could not be reached. Please try again in a moment.")) from error
        if response.status_code >= 500 or response.status_code == 409:  # 409: the same key still being processed
            logger.warning("Datatrans could not be reached (%s): HTTP %s", what, response.status_code)
            raise Unreachable(_("Datatrans could not be reached. Please try again in a moment."))
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        if response.status_code >= 400:
            error = answer.get("error") if isinstance(answer, dict) and isinstance(answer.get("error"), dict) else {}
            code = str(error.get("code") or "")
            message = str(error.get("message") or code or f"HTTP {response.status_code}")
            logger.warning("Datatrans refused %s: %s %s", what, code, message)
            if for_shopper:
                raise Refused(
                    _("The payment could not be started. Please try again, or choose another payment method."),
                    code,
                    response.status_code,
                )
            raise Refused(_("Datatrans refused it: %(message)s") % {"message": message}, code, response.status_code)
        if not isinstance(answer, dict):
            raise ProviderError(_("Datatrans sent an answer the shop does not understand."))
        return answer

    def check_connection(self) -> ConnectionCheck:
        """The status of a transaction that does not exist (``CHECK_TRANSACTION_ID``). Datatrans's API reference
        (api-reference.datatrans.ch; its openapi.json in datatrans/openapi-java-sdk-generator): every call is
        authenticated by HTTP basic auth with the merchant id and password ("Authentication"), so 401 means it
        refused them; once past that, an unknown transaction is Datatrans's own error (TRANSACTION_NOT_FOUND,
        "transactionId not found"; a malformed id is INVALID_PROPERTY), which means it took them."""
        if not self.is_configured():
            return ConnectionCheck(False, problem=_("Not configured yet: there is nothing to check."))
        mode, note = self.mode(), ""
        try:
            bytes.fromhex(settings.DATATRANS_HMAC_KEY)
        except ValueError:
            note = _(
                "DATATRANS_HMAC_KEY is not the key Datatrans shows (digits 0–9 and letters a–f): its webhooks would "
                "be refused."
            )
        try:
            self._call("the connection check", "GET", f"/v1/transactions/{CHECK_TRANSACTION_ID}")
        except Refused as error:
            if error.status in (401, 403):
                problem = _(
                    "Datatrans refused the merchant id or password: check DATATRANS_MERCHANT_ID and "
                    "DATATRANS_PASSWORD, and that DATATRANS_MODE is this account's (sandbox or live)."
                )
                return ConnectionCheck(False, mode, problem, note)
            if not error.code:  # not one of Datatrans's error answers: another server at that address
                problem = _(
                    "The address the shop uses for Datatrans answered, but not as Datatrans does (HTTP %(status)s)."
                ) % {"status": error.status}
                return ConnectionCheck(False, mode, problem, note)
        except ProviderError as error:
            return ConnectionCheck(False, mode, str(error), note)
        return ConnectionCheck(True, mode, note=note)

    def transaction(self, transaction_id: str, *, for_shopper=False) -> dict:
        return self._call(
            "the transaction's status", "GET", f"/v1/transactions/{transaction_id}", for_shopper=for_shopper
        )

    # Shopper side -----------------------------------------------------------------------------------------------

    def start(self, payment, request) -> Redirect:
        """The attempt's transaction again while Datatrans still takes it (the shopper came back from its page and
        tries again), or a new one."""
        self.check_amount(payment.amount_minor, payment.currency)  # TWINT above its limit: Datatrans is not asked
        now = timezone.now()
        previous = payment.provider_reference or ""
        if previous and payment.expires_at and payment.expires_at > now:
            tx = self.transaction(previous, for_shopper=True)
            if tx.get("status") == "initialized":
                return Redirect(self._page(previous), previous, payment.expires_at)
            if PAYMENT_KINDS.get(tx.get("status")) in (EventKind.SUCCEEDED, EventKind.AUTHORIZED):
                raise ProviderError(_("This payment is being confirmed. Please wait a moment."))
        order = payment.order
        with translation.override(order.language):
            order_url = settings.SITE_URL + order.get_absolute_url()
        auto_settle = self._auto_settle()
        body = {
            "currency": payment.currency,
            "refno": refno_of(payment),
            "amount": payment.amount_minor,
            "paymentMethods": list(self.methods),
            "autoSettle": auto_settle,
            "redirect": {
                "successUrl": order_url + "?payment=returned",
                "cancelUrl": order_url + "?payment=cancelled",
                "errorUrl": order_url + "?payment=failed",
            },
            "webhook": {"url": self.webhook_url()},
        }
        if order.language in LANGUAGES:
            body["language"] = order.language
        # The same attempt, amount and settlement, replacing the same transaction, within the same ten minutes (a
        # double click, a retry after a time-out): the same key and body, so Datatrans answers with the same
        # transaction. Datatrans keeps keys 60 minutes; the window keeps a replayed answer well inside its 30.
        window = int(now.timestamp()) // 600 * 600
        key = f"init:{payment.reference}:{payment.amount_minor}:{int(auto_settle)}:{previous or '-'}:{window}"
        answer = self._call("a transaction", "POST", "/v1/transactions", body, key=key, for_shopper=True)
        transaction_id = str(answer.get("transactionId") or "")
        if not transaction_id:
            raise ProviderError(
                _("The payment could not be started. Please try again, or choose another payment method.")
            )
        # counted from the window's start: a transaction replayed from earlier in it ends no later than this says
        expires_at = dt.datetime.fromtimestamp(window, dt.UTC) + TRANSACTION_LIFETIME
        return Redirect(self._page(transaction_id), transaction_id, expires_at)

    def _page(self, transaction_id: str) -> str:
        return f"{self.pay_base()}/v1/start/{transaction_id}"

    @staticmethod
    def _auto_settle() -> bool:
        """The merchant's choice in Settings → Payment: Datatrans settles at once, or the shop does (``capture``)."""
        return Store.load().datatrans_auto_settle

    # Webhooks ---------------------------------------------------------------------------------------------------

    @sensitive_variables()
    def parse_webhook(self, body: bytes, headers) -> list[ProviderEvent]:
        key = settings.DATATRANS_HMAC_KEY
        if not key:
            raise WebhookError("Datatrans is not configured")
        try:
            timestamp = verify(body, headers.get(HEADER), key)
        except ValueError as error:  # a key that is not hex
            raise WebhookError("Datatrans's HMAC key is not hexadecimal") from error
        raw = load_json(body)
        try:
            return [self.event(raw, timestamp)]
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise WebhookError("malformed event") from error

    def event(self, raw: dict, timestamp: int = 0) -> ProviderEvent:
        """Our terms for a verified webhook body (a transaction's status, as the status API gives it)."""
        if not isinstance(raw, dict) or not isinstance(raw["transactionId"], str) or not raw["transactionId"]:
            raise ValueError("not a transaction")
        transaction_id, kind, status = raw["transactionId"], str(raw.get("type") or ""), str(raw.get("status") or "")
        # Datatrans's webhooks carry no event id. One status of one transaction is one event: the id is the
        # transaction, its status and the date of its latest history entry (the change that caused this webhook).
        # Not the header's t: Datatrans signs each delivery afresh, so a retried delivery would count as new.
        history = raw.get("history") if isinstance(raw.get("history"), list) else []
        latest = history[-1] if history and isinstance(history[-1], dict) else {}
        when = str(latest.get("date") or "") or str(timestamp)
        base = {
            "event_id": f"{transaction_id}:{status}:{when}",
            "provider_type": f"{kind}.{status}"[:100],
            "raw": raw,
            "amount_minor": amount_of(raw),
            "currency": str(raw.get("currency") or "").upper(),
        }
        amount = amount_of(raw)
        problem = ""
        if amount is not None and amount <= 0:
            problem = "the amount is not a positive number of Rappen"
        if kind == "payment":
            state = state_of(raw)
            return ProviderEvent(
                **base,
                type=state.type,
                payment_reference=transaction_id,
                provider_reference=transaction_id,
                message=state.message,
                details=state.details,
                problem=problem,
            )
        if kind == "credit":
            # A refund (ours, or from the admin tool): a transaction of its own, carrying the original's refno. What
            # was refunded is read back when the event is applied (``fetch_refunds``); the attempt is found by the
            # refno (``find_reference`` asks Datatrans about this credit when the payment is not known yet).
            refno = str(raw.get("refno") or "")
            return ProviderEvent(
                **base,
                type=EventKind.REFUNDED if status in CREDIT_DONE else EventKind.IGNORED,
                payment_reference=reference_for_refno(refno) or refno,
                details={"transaction_reference": transaction_id, "refund_reference": transaction_id, "refno": refno},
                problem=problem,
            )
        return ProviderEvent(**{**base, "amount_minor": None}, type=EventKind.IGNORED, payment_reference="")

    # The API ----------------------------------------------------------------------------------------------------

    def fetch_status(self, payment) -> PaymentState | None:
        if not payment.provider_reference:
            return None
        return state_of(self.transaction(payment.provider_reference))

    def capture(self, payment) -> PaymentState:
        """Settle an authorised transaction for the attempt's amount (idempotent: one already settled is reported
        as it is). An authorisation of another amount or currency is not taken: it is released."""
        state = self.fetch_status(payment)
        if state is None:
            raise ProviderError(_("Datatrans has not named the transaction yet."))
        if state.type != EventKind.AUTHORIZED:
            return state
        if state.amount_minor != payment.amount_minor or state.currency != payment.currency:
            self.cancel(payment)
            return PaymentState(
                EventKind.FAILED,
                message=_("Not taken: Datatrans authorised %(got)s instead of %(due)s.")
                % {
                    "got": f"{state.currency} {(state.amount_minor or 0) / 100:.2f}",
                    "due": f"{payment.currency} {payment.amount_minor / 100:.2f}",
                },
            )
        transaction_id = payment.provider_reference
        body = {"amount": payment.amount_minor, "currency": payment.currency, "refno": refno_of(payment)}
        self._call(
            "the settlement", "POST", f"/v1/transactions/{transaction_id}/settle", body, key=f"settle:{transaction_id}"
        )
        settled = self.fetch_status(payment)
        if settled.type == EventKind.AUTHORIZED:  # settled: Datatrans has not shown it yet
            return PaymentState(EventKind.SUCCEEDED, payment.amount_minor, payment.currency, details=settled.details)
        return settled

    def cancel(self, payment) -> None:
        """Release an authorised transaction the shop will not settle. Datatrans cancels a settled transaction too,
        until it is transmitted (API reference, ``POST /v1/transactions/{transactionId}/cancel``: "authorized or
        settled"), which would take back money the shop may have recorded as taken: so the status is asked first, and
        only an authorised transaction is cancelled. One never authorised (the shopper left the page) lapses after 30
        minutes; one settled stays as it is (money back is a credit)."""
        if not payment.provider_reference:
            return
        transaction_id = payment.provider_reference
        try:
            status = str(self.transaction(transaction_id).get("status") or "")
        except Refused as error:  # not a transaction of this merchant: nothing to release
            logger.info("Datatrans transaction %s not cancelled: %s", transaction_id, error)
            return
        if status != "authorized":
            logger.info("Datatrans transaction %s not cancelled: it is %s", transaction_id, status or "unknown")
            return
        try:
            self._call(
                "a cancellation",
                "POST",
                f"/v1/transactions/{transaction_id}/cancel",
                {"refno": refno_of(payment)},
                key=f"cancel:{transaction_id}",
            )
        except Refused as error:
            logger.info("Datatrans transaction %s not cancelled: %s", transaction_id, error)

    def refund(self, payment, amount_minor: int, key: str) -> ProviderRefund:
        if not payment.provider_reference:
            raise ProviderError(_("Datatrans has not named the payment to refund yet."))
        transaction_id = payment.provider_reference
        body = {"amount": amount_minor, "currency": payment.currency, "refno": refno_of(payment)}
        answer = self._call("a credit", "POST", f"/v1/transactions/{transaction_id}/credit", body, key=key)
        credit_id = str(answer.get("transactionId") or "")
        if not credit_id:
            raise ProviderError(_("Datatrans sent an answer the shop does not understand."))
        return ProviderRefund(credit_id, amount_minor)

    def fetch_refunds(self, payment) -> list[ProviderRefund]:
        """Every credit of the attempt, ours and the admin tool's. Datatrans's API lists no credits of a transaction
        and has no search by refno: each credit is a transaction of its own that carries the original's refno, and
        Datatrans tells us of each by its webhook. So: the credits we made (our refunds), and those its webhooks
        named with this attempt's refno, each asked of Datatrans for what it became."""
        from payments.models import WebhookEvent

        refno = refno_of(payment)
        ours = payment.refunds.exclude(provider_reference=None).values_list("provider_reference", flat=True)
        told = WebhookEvent.objects.filter(
            provider=self.webhook_provider,
            event_type__startswith="credit.",
            payment_reference__in=[refno, payment.reference],
        ).values_list("details", flat=True)
        credits = list(dict.fromkeys([*ours, *(d.get("refund_reference", "") for d in told if isinstance(d, dict))]))
        refunds = []
        for credit_id in filter(None, credits):
            tx = self.transaction(credit_id)
            if tx.get("type") != "credit" or str(tx.get("refno") or "") != refno:
                continue
            status = str(tx.get("status") or "")
            outcome = (
                "succeeded" if status in CREDIT_DONE else "failed" if status in ("failed", "canceled") else "pending"
            )
            refunds.append(ProviderRefund(credit_id, amount_of(tx) or 0, outcome))
        return refunds

    def find_reference(self, transaction_reference: str) -> str:
        """Our reference of the attempt a transaction belongs to, by its refno (a credit names only that)."""
        try:
            tx = self.transaction(transaction_reference)
        except Refused as error:  # not a transaction of this merchant (TRANSACTION_NOT_FOUND): none of ours
            logger.info("Datatrans transaction %s not found: %s", transaction_reference, error)
            return ""
        return reference_for_refno(str(tx.get("refno") or ""))

    def dashboard_url(self, payment) -> str:
        # Datatrans documents no link to a transaction's page in its admin tool (the merchant searches by refno).
        return ""


DATATRANS_METHODS = (
    DatatransProvider(
        "datatrans_card",
        gettext_lazy("Card"),
        gettext_lazy("Visa, Mastercard or American Express on Datatrans's secure page."),
        ("VIS", "ECA", "AMX"),
    ),
    DatatransProvider(
        "datatrans_twint",
        gettext_lazy("TWINT"),
        gettext_lazy("Pay with the TWINT app on your phone."),
        ("TWI",),
    ),
    DatatransProvider(
        "datatrans_postfinance",
        gettext_lazy("PostFinance"),
        gettext_lazy("Pay with PostFinance Pay or your PostFinance Card."),
        postfinance_methods,
    ),
)
