"""A stand-in of Datatrans's JSON API v1 and its Payment Page on a local port (pytest-httpserver's ``HTTPServer``).

The shop reaches it through ``settings.DATATRANS_API_BASE`` and ``DATATRANS_PAY_BASE`` (both ``standin.url``);
nothing leaves the machine. It checks Basic auth (merchant id and password) and answers as Datatrans documents
(``tests/datatrans_events.py`` builds the bodies from ``tests/fixtures/datatrans/``):

- ``POST /v1/transactions`` (init: 201 ``{"transactionId"}`` and a Location header; 400 with Datatrans's error body
  for a missing or bad property), ``GET /v1/transactions/<id>`` (the status; 404 ``TRANSACTION_NOT_FOUND``),
  ``POST …/<id>/settle`` (204; an authorised transaction only), ``POST …/<id>/cancel`` (204; an authorised or settled
  one), ``POST …/<id>/credit`` (200 ``{"transactionId"}`` of the new credit transaction; up to what was settled);
- the Payment Page ``GET /v1/start/<id>`` ("Datatrans test page": Pay by card, Pay with TWINT, Pay with PostFinance
  as the transaction's ``paymentMethods`` allow, Decline, Cancel), whose buttons post back to it: paying authorises
  (and settles when ``autoSettle``), posts the signed status to the webhook and redirects (303) to ``successUrl``;
  Decline (a failed authorisation) posts it too and redirects to ``errorUrl``; Cancel redirects to ``cancelUrl``.

What it does as Datatrans documents it (the API reference, ``datatrans-openapi-specification-2.0.45.json`` in
github.com/datatrans/openapi-java-sdk-generator, ``src/main/resources/``; "spec" below):

- cancel takes a transaction that is ``authorized`` or ``settled`` (not yet ``transmitted``), else 400
  ``INVALID_TRANSACTION_STATUS``: spec, ``paths./v1/transactions/{transactionId}/cancel`` ("The transaction must
  either be in status `authorized` or `settled`") and ``TransactionsErrorCode``;
- webhooks only after an authorisation (paid, or declined), none after settle, cancel or credit: spec, section
  "Webhook" ("After each authorization Datatrans tries to call the configured Webhook (POST) URL"); a test that needs
  more asks for it (``webhooks_after`` / ``also_post``: the history ``action`` names of spec ``Action``);
- payment method codes upper-case, three letters, from the spec's list: spec, ``InitRequest.paymentMethods`` (enum,
  ``maxLength``/``minLength`` 3) and ``StatusResponse.paymentMethod``;
- ``detail.fail.reason`` lower-case, one of spec ``FailDetail.reason`` (``declined``, ``card_invalid``, …);
- history dates to the second (``2024-07-10T12:14:20Z``): spec, ``paths./v1/transactions/{transactionId}.get``,
  example ``statusResponse``;
- ``refno`` of 1 to 40 characters (init, settle, credit): spec, ``InitRequest.refno``, ``SettleRequest.refno``,
  ``CreditRequest.refno`` (``maxLength`` 40; release notes 2.0.34 "increase the maximum length of `refno` to 40");
- ``Idempotency-Key`` on POSTs: every answer of an endpoint (errors too) is stored under its key and given again to
  the same request; another body: 422; a retry while the first request is still being answered: 409; keys are kept
  60 minutes: spec, section "Idempotency" (the table of scenarios). Answers of ``fail_next`` are not stored (a
  provider that is down answers before any endpoint runs).

Tests drive it directly too: ``pay``, ``decline``, ``cancel``, ``credit_in_dashboard``, ``send`` / ``resend`` (any
status, signed afresh), ``flush`` (the webhooks held back: ``webhook_delay`` / ``api_event_delay`` None),
``fail_next`` / ``hang_next`` (errors and time-outs); ``calls`` and ``sent_events`` tell what happened.
"""

import copy
import html
import json
import os
import re
import time

from werkzeug import Request, Response

from tests import datatrans_events as events
from tests import standin
from tests.standin import Call, ProviderError, ProviderStandIn, basic_credentials, button, money

LIFETIME = 30 * 60  # a transactionId is valid for 30 minutes
METHODS = {"card": events.CARD_METHODS, "twint": ("TWI",), "postfinance": ("PFC", "PEF")}
KNOWN_METHODS, FAIL_REASONS = events.PAYMENT_METHODS, events.FAIL_REASONS
REFNO_MAX = 40  # spec, InitRequest.refno (and settle's, credit's): 1 to 40 characters
# What Datatrans posts to the webhook after, by the history action that made the status: an authorisation only.
WEBHOOKS_AFTER = ("authorize",)
ACTIONS = ("authorize", "settle", "cancel", "credit")


class DatatransFault(ProviderError):
    """An error answer in Datatrans's shape."""

    def __init__(self, status: int, message: str, code: str = "INVALID_PROPERTY"):
        super().__init__(status, events.error(message, code), message)


def check_refno(refno, request: str) -> None:
    """A request's ``refno``: mandatory, 1 to 40 characters (spec: ``InitRequest``, ``SettleRequest``,
    ``CreditRequest``)."""
    if not isinstance(refno, str) or not 1 <= len(refno) <= REFNO_MAX:
        raise DatatransFault(400, f"{request}.refno length must be between 1 and {REFNO_MAX}")


class Delivery(standin.Delivery):
    """One webhook the stand-in posted (or tried to): the transaction's status sent, and what the shop answered."""

    @property
    def transaction(self) -> dict:
        return self.event

    @staticmethod
    def type_of(event: dict) -> str:
        """``payment.settled``, ``credit.settled``…"""
        return f"{event['type']}.{event['status']}"


class DatatransStandIn(ProviderStandIn):
    """Datatrans's API and Payment Page, in memory. See the module's docstring."""

    PROVIDER = "Datatrans"
    PAGE_THEME = (
        "--page: #f3f5f7; --text: #1d2633; --radius: 8px; --shadow: rgba(0, 0, 0, .1); --heading: #0a5c8a;"
        " --muted: #5b6675; --ghost: #5b6675; --border: #c9d1da; --primary: #0a5c8a;"
    )
    ROUTES = (
        ("POST", r"/v1/transactions", "_init_transaction"),
        ("GET", r"/v1/transactions/(?P<id>\d+)", "_status"),
        ("POST", r"/v1/transactions/(?P<id>\d+)/settle", "_settle"),
        ("POST", r"/v1/transactions/(?P<id>\d+)/cancel", "_cancel"),
        ("POST", r"/v1/transactions/(?P<id>\d+)/credit", "_credit_call"),
    )
    IDEMPOTENCY_SECONDS = 60 * 60  # spec, "Idempotency": keys remain stored for 60 minutes
    CONFLICT_IN_FLIGHT = True  # spec, "Idempotency": retried before the first request completed: 409 Conflict
    PORT = 12112
    WEBHOOK_PATH = "/webhooks/datatrans/"
    SENDS = "webhooks"
    SHOP_SETTINGS = (
        "DATATRANS_MERCHANT_ID",
        "DATATRANS_PASSWORD",
        "DATATRANS_HMAC_KEY",
        "DATATRANS_API_BASE",
        "DATATRANS_PAY_BASE",
    )
    Delivery = Delivery

    def __init__(
        self,
        webhook_url: str | None = None,
        hmac_key: str = "6a" * 32,
        *,
        merchant_id: str = "1100000000",
        password: str = "standin-password",
        webhooks_after: tuple[str, ...] = WEBHOOKS_AFTER,
        **options,
    ):
        """``webhook_url`` (or ``deliver``) receives the webhooks when the init named none, signed with
        ``hmac_key``; ``merchant_id`` / ``password``: the Basic auth accepted; ``webhooks_after``: the actions whose
        statuses are posted (Datatrans: an authorisation only; a test may add "settle", "cancel", "credit");
        ``webhook_delay``, ``api_event_delay`` (the webhooks of settle, cancel, credit, when posted), ``host``,
        ``port``: see ``ProviderStandIn``."""
        super().__init__(webhook_url, **options)
        self.hmac_key, self.merchant_id, self.password = hmac_key, merchant_id, password
        self.webhooks_after = set()
        self.also_post(*webhooks_after)
        self.transactions: dict[str, dict] = {}
        self._init: dict[str, dict] = {}  # per transaction: the init's body (redirect, webhook, autoSettle, methods)
        self._created: dict[str, float] = {}
        self._webhooks: dict[str, str] = {}  # per transaction: the webhook its init named (a credit: its original's)

    def also_post(self, *actions: str) -> None:
        """Post the statuses these actions make as well ("settle", "cancel" on the page or by the API, "credit"):
        more than Datatrans documents, for a test that needs such a webhook."""
        unknown = set(actions) - set(ACTIONS)
        if unknown:
            raise ValueError(f"no such action: {', '.join(sorted(unknown))}")
        with self.lock:
            self.webhooks_after.update(actions)

    @property
    def held(self) -> list[dict]:
        """The webhooks held back (``flush()`` sends them)."""
        return self.held_events

    def configure(self, settings) -> None:
        """Point the shop at this stand-in: its merchant id, password and HMAC key, its address."""
        settings.DATATRANS_MERCHANT_ID = self.merchant_id
        settings.DATATRANS_PASSWORD = self.password
        settings.DATATRANS_HMAC_KEY = self.hmac_key
        settings.DATATRANS_API_BASE = self.url
        settings.DATATRANS_PAY_BASE = self.url
        settings.DATATRANS_MODE = "sandbox"

    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument("--hmac-key", default=os.environ.get("DATATRANS_HMAC_KEY", "6a" * 32))

    # Driving it from a test ------------------------------------------------------------------------------------

    def transaction(self, transaction_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self._tx(transaction_id))

    def latest(self) -> dict:
        with self.lock:
            return copy.deepcopy(list(self.transactions.values())[-1])

    def init_of(self, transaction_id: str) -> dict:
        """The body of the init that created a transaction."""
        with self.lock:
            return copy.deepcopy(self._init[transaction_id])

    def pay(self, transaction_id: str, method: str = "card", *, send: bool = True):
        """The shopper pays on the Payment Page (``method`` "card", "twint" or "postfinance"): authorised, and
        settled when the init asked ``autoSettle``. Sends the webhook unless ``send`` is False; returns the Delivery
        (or the status when not sent). The drivers below send a webhook only where Datatrans would
        (``webhooks_after``); otherwise they return None."""
        with self.lock:
            tx = self._pay(transaction_id, method)
        return self._send_or_return(tx, send)

    def decline(self, transaction_id: str, method: str = "card", *, reason: str = "declined", send: bool = True):
        """The authorisation fails: status ``failed``, ``detail.fail.reason`` (one of ``FAIL_REASONS``)."""
        with self.lock:
            tx = self._decline(transaction_id, method, reason)
        return self._send_or_return(tx, send)

    def cancel(self, transaction_id: str, *, send: bool = True):
        """The shopper cancels on the Payment Page: status ``canceled`` (no webhook unless "cancel" is posted)."""
        with self.lock:
            tx = self._cancel_on_page(transaction_id)
        return self._send_or_return(tx, send)

    def credit_in_dashboard(self, transaction_id: str, amount: int | None = None, *, send: bool = True) -> dict:
        """The merchant credits in Datatrans's admin tool (all that is left by default): a credit transaction with
        the original's refno (its webhook sent at once when "credit" is posted). Returns the credit's status."""
        with self.lock:
            original = self._tx(transaction_id)
            credit = self._credit(original, amount, source="admin")
        self._send_or_return(credit, send)
        return copy.deepcopy(credit)

    def send(self, tx: dict, *, timestamp_ms: int | None = None, key: str | None = None, signature: str | None = None):
        """Post a transaction's status to the shop, signed at ``timestamp_ms`` (now) with ``key`` (the merchant's
        HMAC key), or with the ``signature`` header given as it is. Returns the Delivery."""
        body = events.payload(tx)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Datatrans-Webhook",
            events.HEADER: signature or events.signature_header(body, key or self.hmac_key, timestamp_ms),
        }
        return self._post(Delivery(copy.deepcopy(tx), body, headers))

    def resend(self, delivery: Delivery, **kwargs) -> Delivery:
        """Datatrans retrying a delivery: the same body, signed afresh (a new t)."""
        time.sleep(0.002)  # a new millisecond
        return self.send(json.loads(delivery.body), **kwargs)

    def _send(self, tx: dict) -> Delivery:
        return self.send(tx)

    def _webhook_url(self, tx: dict) -> str | None:
        return self._webhooks.get(tx["transactionId"]) or self.webhook_url

    def _subscribed(self, tx: dict) -> bool:
        """Whether Datatrans posts this status: the action that made it (its latest history entry) is one of
        ``webhooks_after``. ``send`` posts any status all the same."""
        history = tx.get("history") or [{}]
        with self.lock:
            return super()._subscribed(tx) and history[-1].get("action") in self.webhooks_after

    # The HTTP side -----------------------------------------------------------------------------------------------

    def _serve_page(self, request: Request) -> Response | None:
        return self._payment_page(request) if request.path.startswith("/v1/start/") else None

    def _answer(self, request: Request, call: Call) -> tuple[int, dict | None, dict]:
        self._authenticate(request)
        body = None
        if request.method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
            except ValueError:
                raise DatatransFault(400, "Invalid JSON payload", "INVALID_JSON_PAYLOAD") from None
            if not isinstance(body, dict):
                raise DatatransFault(400, "Invalid JSON payload", "INVALID_JSON_PAYLOAD")
        call.body = body
        return self._route(request.method, request.path, body, call.idempotency_key)

    def _json(self, body, status: int, headers: dict, call: Call | None = None) -> Response:
        if body is None:
            return Response(b"", status, headers)
        return Response(json.dumps(body), status, headers, content_type="application/json")

    def _in_flight_error(self, key: str) -> DatatransFault:
        # spec, "Idempotency": 409 Conflict (its body is not documented)
        return DatatransFault(409, "A request with this Idempotency-Key is still being processed", "UNKNOWN_ERROR")

    def _fault_body(self, status: int) -> dict:
        return events.error("Internal server error", "UNKNOWN_ERROR") if status >= 500 else events.error("Bad")

    def _no_route(self, method: str, path: str) -> DatatransFault:
        return DatatransFault(404, f"No endpoint {method} {path}", "NOT_FOUND")

    def _authenticate(self, request: Request) -> None:
        if basic_credentials(request) != (self.merchant_id, self.password):
            raise DatatransFault(401, "Incorrect merchantId or password", "UNAUTHORIZED")

    def _route(self, method: str, path: str, body: dict | None, key: str | None):
        """The endpoint's answer; a POST with an ``Idempotency-Key`` seen within 60 minutes gets the answer its first
        request got (an error too), or 422 when its body differs."""
        handler, ids = self._endpoint(method, path)
        keyed = method == "POST" and bool(key)
        with self.lock:
            first = self._recall(key) if keyed else None
            if first is not None:
                first_path, first_body, answer = first
                if (first_path, first_body) != (path, body):
                    raise DatatransFault(
                        422,
                        "The request body is different from the one first sent with this Idempotency-Key",
                        "IDEMPOTENCY_KEY_REUSED",
                    )
                return answer
            try:
                answer = copy.deepcopy(handler(body, **ids))
            except DatatransFault as refused:  # an error of the endpoint is its answer: kept like any other
                answer = (refused.status, refused.body, {})
            if keyed:
                self._keep(key, (path, body, answer))
        return copy.deepcopy(answer)

    # API resources (called under the lock) ------------------------------------------------------------------

    def _tx(self, transaction_id: str) -> dict:
        if transaction_id not in self.transactions:
            raise DatatransFault(404, "transaction not found", "TRANSACTION_NOT_FOUND")
        return self.transactions[transaction_id]

    def _status(self, body, id: str):
        return 200, self._tx(id), {}

    def _init_transaction(self, body: dict, **ids):
        amount, currency, refno = body.get("amount"), body.get("currency"), body.get("refno")
        if type(amount) is not int or amount <= 0:
            raise DatatransFault(400, "init.amount must be a positive integer")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise DatatransFault(400, "init.currency must be a 3 letter ISO code")
        check_refno(refno, "init")
        methods = body.get("paymentMethods", sorted(KNOWN_METHODS))
        if not isinstance(methods, list) or not methods:
            raise DatatransFault(400, "init.paymentMethods must be a non-empty array")
        for index, code in enumerate(methods):
            if code not in KNOWN_METHODS:  # upper-case three-letter codes only: "vis" is no payment method
                raise DatatransFault(400, f"init.paymentMethods[{index}] {code!r} is not a valid payment method")
        if "TWI" in methods and currency != "CHF":
            raise DatatransFault(400, "TWI does not support the currency " + currency, "UNSUPPORTED_CURRENCY")
        redirect = body.get("redirect") or {}
        if not isinstance(redirect, dict) or not redirect.get("successUrl"):
            raise DatatransFault(400, "init.redirect.successUrl is mandatory for the Redirect integration")
        auto_settle = body.get("autoSettle", False)
        if not isinstance(auto_settle, bool):
            raise DatatransFault(400, "init.autoSettle must be a boolean")
        transaction_id = events.new_transaction_id()
        while transaction_id in self.transactions:
            transaction_id = events.new_transaction_id()
        created = time.time()
        tx = {
            "transactionId": transaction_id,
            "merchantId": self.merchant_id,
            "type": "payment",
            "status": "initialized",
            "currency": currency,
            "refno": refno,
            "detail": {"init": {"expires": events.date(created + LIFETIME)}},
            "language": body.get("language", "en"),
            "history": [events.history("init", amount)],
        }
        self.transactions[transaction_id] = tx
        self._init[transaction_id] = copy.deepcopy(body)
        self._created[transaction_id] = created
        if isinstance(body.get("webhook"), dict) and body["webhook"].get("url"):
            self._webhooks[transaction_id] = str(body["webhook"]["url"])
        return 201, {"transactionId": transaction_id}, {"Location": f"{self.url}/v1/start/{transaction_id}"}

    def _expired(self, transaction_id: str) -> bool:
        tx = self.transactions[transaction_id]
        return tx["status"] == "initialized" and time.time() - self._created[transaction_id] > LIFETIME

    def _settle(self, body: dict, id: str):
        tx = self._tx(id)
        if tx["status"] != "authorized":
            raise DatatransFault(
                400, f"The transaction is {tx['status']}, not authorized", "INVALID_TRANSACTION_STATUS"
            )
        authorized = tx["detail"]["authorize"]["amount"]
        amount = body.get("amount")
        if type(amount) is not int or not 0 < amount <= authorized:
            raise DatatransFault(400, "settle.amount must be positive and not above the authorized amount")
        if body.get("currency") != tx["currency"]:
            raise DatatransFault(400, "settle.currency does not match the transaction's currency")
        check_refno(body.get("refno"), "settle")
        tx["status"] = "settled"
        tx["detail"]["settle"] = {"amount": amount}
        tx["history"].append(events.history("settle", amount))
        self._api_event(tx)
        return 204, None, {}

    def _cancel(self, body: dict, id: str):
        """An authorised transaction, or a settled one not yet transmitted to the acquirer: its money is not taken."""
        tx = self._tx(id)
        if tx["type"] != "payment" or tx["status"] not in ("authorized", "settled"):
            raise DatatransFault(
                400, f"The transaction is {tx['status']}, not authorized or settled", "INVALID_TRANSACTION_STATUS"
            )
        amount = (tx["detail"].get("settle") or tx["detail"]["authorize"])["amount"]
        tx["status"] = "canceled"
        tx["detail"]["cancel"] = {"reversal": True}
        tx["history"].append(events.history("cancel", amount))
        self._api_event(tx)
        return 204, None, {}

    def _credit_call(self, body: dict, id: str):
        original = self._tx(id)
        amount = body.get("amount")
        if type(amount) is not int or amount <= 0:
            raise DatatransFault(400, "credit.amount must be a positive integer")
        if body.get("currency") != original["currency"]:
            raise DatatransFault(400, "credit.currency does not match the transaction's currency")
        check_refno(body.get("refno"), "credit")
        credit = self._credit(original, amount, source="api")
        self._api_event(credit)
        return 200, {"transactionId": credit["transactionId"], "acquirerAuthorizationCode": "104050"}, {}

    def _credit(self, original: dict, amount: int | None, *, source: str) -> dict:
        if original["type"] != "payment" or original["status"] not in ("settled", "transmitted"):
            raise DatatransFault(
                400, f"The transaction is {original['status']}, not settled", "INVALID_TRANSACTION_STATUS"
            )
        left = original["detail"]["settle"]["amount"] - self._credited(original)
        amount = left if amount is None else amount
        if left <= 0 or amount > left:
            raise DatatransFault(
                400, f"credit.amount {amount} is above what is left to credit ({left})", "CREDIT_AMOUNT_EXCEEDED"
            )
        credit = events.credit(original, amount, history=[events.history("credit", amount, source=source)])
        self.transactions[credit["transactionId"]] = credit
        if original["transactionId"] in self._webhooks:
            self._webhooks[credit["transactionId"]] = self._webhooks[original["transactionId"]]
        original["history"].append(events.history("credit", amount, source=source))
        return credit

    def _credited(self, original: dict) -> int:
        return sum(
            tx["detail"]["credit"]["amount"]
            for tx in self.transactions.values()
            if tx["type"] == "credit"
            and tx["refno"] == original["refno"]
            and tx["status"] in ("settled", "transmitted")
        )

    # Payments (under the lock) ------------------------------------------------------------------------------------

    def _open(self, transaction_id: str, method: str) -> tuple[dict, dict, str]:
        tx = self._tx(transaction_id)
        if tx["status"] != "initialized" or self._expired(transaction_id):
            raise ValueError(f"{transaction_id} is {tx['status']}: it can no longer be paid")
        init = self._init.get(transaction_id, {})
        allowed = [m for m in METHODS.get(method, ()) if m in init.get("paymentMethods", KNOWN_METHODS)]
        if not allowed:
            raise ValueError(f"{transaction_id} does not take {method}")
        return tx, init, allowed[0]

    def _pay(self, transaction_id: str, method: str) -> dict:
        tx, init, code = self._open(transaction_id, method)
        amount = init.get("amount", tx["history"][0]["amount"])
        tx["paymentMethod"] = code
        if code in events.TEST_CARDS:
            tx["card"] = {
                "masked": events.TEST_CARDS[code],
                "expiryMonth": "06",
                "expiryYear": "28",
                "info": {"brand": "VISA CREDIT" if code == "VIS" else code, "type": "credit", "country": "CH"},
                "3D": {"authenticationResponse": "Y"},
            }
        elif code == "TWI":
            tx["twi"] = {"alias": "AAABcHxr-sDssdexyrAAAAAAAAAAAAAAAAA"}
        auto_settle = bool(init.get("autoSettle", False))
        tx["detail"]["authorize"] = {"amount": amount, "acquirerAuthorizationCode": "103035"}
        tx["history"].append(events.history("authorize", amount, source="redirect", autoSettle=auto_settle))
        tx["status"] = "authorized"
        if auto_settle:
            tx["status"] = "settled"
            tx["detail"]["settle"] = {"amount": amount}
        return copy.deepcopy(tx)

    def _decline(self, transaction_id: str, method: str, reason: str = "declined") -> dict:
        if reason not in FAIL_REASONS:
            raise ValueError(f"Datatrans has no fail reason {reason!r}")
        tx, init, code = self._open(transaction_id, method)
        tx["paymentMethod"] = code
        tx["status"] = "failed"
        tx["detail"]["fail"] = {"reason": reason, "message": reason.replace("_", " ")}
        amount = init.get("amount", tx["history"][0]["amount"])
        tx["history"].append(events.history("authorize", amount, source="redirect", success=False))
        return copy.deepcopy(tx)

    def _cancel_on_page(self, transaction_id: str) -> dict:
        tx = self._tx(transaction_id)
        if tx["status"] != "initialized":
            raise ValueError(f"{transaction_id} is {tx['status']}: nothing to cancel")
        tx["status"] = "canceled"
        tx["history"].append(events.history("cancel", tx["history"][0]["amount"], source="redirect"))
        return copy.deepcopy(tx)

    # Webhooks ------------------------------------------------------------------------------------------------------

    def _api_event(self, tx: dict) -> None:
        super()._api_event(copy.deepcopy(tx))  # as it is now: the transaction changes on

    # The Payment Page ----------------------------------------------------------------------------------------------

    def _payment_page(self, request: Request) -> Response:
        transaction_id = request.path.removeprefix("/v1/start/").strip("/")
        with self.lock:
            known = transaction_id in self.transactions
            tx = copy.deepcopy(self.transactions[transaction_id]) if known else None
            init = copy.deepcopy(self._init.get(transaction_id, {}))
            expired = known and self._expired(transaction_id)
        if tx is None:
            return self._page("<p>Something went wrong: this payment page does not exist.</p>", 404)
        redirect = init.get("redirect") or {}
        if request.method == "POST" and tx["status"] == "initialized" and not expired:
            action = request.form.get("action", "")
            try:
                with self.lock:
                    if action == "cancel":
                        done, url = self._cancel_on_page(transaction_id), redirect.get("cancelUrl")
                    elif action == "decline":
                        done, url = self._decline(transaction_id, "card"), redirect.get("errorUrl")
                    elif action in METHODS:
                        done, url = self._pay(transaction_id, action), redirect.get("successUrl")
                    else:
                        done = url = None
            except ValueError as error:
                return self._page(f"<p>{html.escape(str(error))}</p>", 400)
            if done is not None:
                self._page_event(done)
                return self._redirect(url)
        if tx["status"] != "initialized" or expired:
            state = "has expired" if expired else f"is {tx['status']}"
            return self._page(f"<p>This transaction {state}.</p>", 410)
        amount = html.escape(money(init.get("amount", 0), tx["currency"]))
        allowed = init.get("paymentMethods") or sorted(KNOWN_METHODS)
        buttons = []
        if any(m in allowed for m in events.CARD_METHODS):
            buttons.append(button("card", "Pay by card", "primary"))
        if "TWI" in allowed:
            buttons.append(button("twint", "Pay with TWINT", "primary"))
        if any(m in allowed for m in METHODS["postfinance"]):
            buttons.append(button("postfinance", "Pay with PostFinance", "primary"))
        buttons.append(button("decline", "Decline"))
        card_note = " Visa 4900 0000 0000 0004." if any(m in allowed for m in events.CARD_METHODS) else ""
        buttons.append(button("cancel", "Cancel", "ghost"))
        body = (
            f'<p class="amount">{amount}</p><p>Reference {html.escape(tx["refno"])}</p>'
            f'<p class="muted">Test mode: no money moves.{card_note}</p>{"".join(buttons)}'
        )
        return self._page(body)


def serving(**options):
    """A started stand-in (``DatatransStandIn(**options)``), stopped at the end (see ``tests.standin.serving``)."""
    return standin.serving(DatatransStandIn, **options)


def main() -> None:
    """Datatrans's API and Payment Page on http://127.0.0.1:12112, posting its webhooks to the shop served by
    ``make run`` — to try card, TWINT and PostFinance payments, settlement and credits without a Datatrans account."""
    standin.main(DatatransStandIn, main.__doc__)


if __name__ == "__main__":
    main()
