"""A stand-in of Datatrans's JSON API v1 and its Payment Page on a local port (pytest-httpserver's ``HTTPServer``).

The shop reaches it through ``settings.DATATRANS_API_BASE`` and ``DATATRANS_PAY_BASE`` (both ``standin.url``);
nothing leaves the machine. It checks Basic auth (merchant id and password) and answers as Datatrans documents
(``tests/datatrans_events.py`` builds the bodies from ``tests/fixtures/datatrans/``):

- ``POST /v1/transactions`` (init: 201 ``{"transactionId"}`` and a Location header; 400 with Datatrans's error body
  for a missing or bad property), ``GET /v1/transactions/<id>`` (the status; 404 ``TRANSACTION_NOT_FOUND``),
  ``POST …/<id>/settle`` (204; an authorised transaction only), ``POST …/<id>/cancel`` (204; an authorised one
  only), ``POST …/<id>/credit`` (200 ``{"transactionId"}`` of the new credit transaction; up to what was settled);
- ``Idempotency-Key`` on POSTs: the same key with the same body is answered as the first time; with another body,
  422 (Datatrans keeps keys 60 minutes);
- the Payment Page ``GET /v1/start/<id>`` ("Datatrans test page": Pay by card, Pay with TWINT, Pay with PostFinance
  as the transaction's ``paymentMethods`` allow, Decline, Cancel), whose buttons post back to it: paying authorises
  (and settles when ``autoSettle``), posts the signed status to the webhook and redirects (303) to ``successUrl``;
  Decline to ``errorUrl``, Cancel to ``cancelUrl``, each with its webhook.

Tests drive it directly too: ``pay``, ``decline``, ``cancel``, ``credit_in_dashboard``, ``send`` / ``resend`` (any
status, signed afresh), ``flush`` (the webhooks of API calls, held until asked: ``api_event_delay``),
``fail_next`` / ``hang_next`` (errors and time-outs); ``calls`` and ``sent_events`` tell what happened.
"""

import base64
import copy
import html
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests import datatrans_events as events

Deliver = Callable[[bytes, dict], int]  # (raw body, headers) -> the HTTP status the shop answered
LIFETIME = 30 * 60  # a transactionId is valid for 30 minutes
METHODS = {"card": events.CARD_METHODS, "twint": ("TWI",), "postfinance": ("PFC",)}
KNOWN_METHODS = {*events.CARD_METHODS, "TWI", "PFC", "PEF", "PAP"}


class DatatransFault(Exception):
    """An error answer in Datatrans's shape."""

    def __init__(self, status: int, message: str, code: str = "INVALID_PROPERTY"):
        super().__init__(message)
        self.status, self.body = status, events.error(message, code)


def money(amount: int, currency: str) -> str:
    return f"{currency.upper()} {amount / 100:,.2f}"


@dataclass
class Call:
    """One API request the stand-in received."""

    method: str
    path: str
    body: dict | None
    idempotency_key: str | None
    status: int = 0


@dataclass
class Delivery:
    """One webhook the stand-in posted (or tried to): the status sent, and what the shop answered (None: not sent)."""

    transaction: dict
    body: bytes
    headers: dict
    status: int | None = None
    error: str = ""

    @property
    def type(self) -> str:
        """``payment.settled``, ``credit.settled``…"""
        return f"{self.transaction['type']}.{self.transaction['status']}"


@dataclass
class Fault:
    path: str | re.Pattern
    method: str | None
    kind: str  # "fail" | "hang"
    times: int
    status: int = 500
    body: dict | None = None
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return bool(self.path.fullmatch(path)) if isinstance(self.path, re.Pattern) else self.path == path


class DatatransStandIn(HTTPServer):
    """Datatrans's API and Payment Page, in memory. See the module's docstring."""

    def __init__(
        self,
        webhook_url: str | None = None,
        hmac_key: str = "6a" * 32,
        *,
        deliver: Deliver | None = None,
        merchant_id: str = "1100000000",
        password: str = "standin-password",
        webhook_delay: float | None = 0.0,
        api_event_delay: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        """``webhook_url`` (or ``deliver``, a callable taking the raw body and the headers) receives the webhooks
        when the init named none; ``webhook_delay``: seconds between the Payment Page's redirect and its webhook
        (0: sent before the redirect; None: held until ``flush()``); ``api_event_delay``: the same for the webhooks
        of API calls (settle, cancel, credit), None by default."""
        super().__init__(host=host, port=port, threaded=True)
        self.webhook_url, self.hmac_key, self.deliver = webhook_url, hmac_key, deliver
        self.merchant_id, self.password = merchant_id, password
        self.webhook_delay, self.api_event_delay = webhook_delay, api_event_delay
        self.lock = threading.RLock()
        self.transactions: dict[str, dict] = {}
        self.calls: list[Call] = []
        self.sent_events: list[Delivery] = []
        self.held: list[dict] = []
        self._init: dict[str, dict] = {}  # per transaction: the init's body (redirect, webhook, autoSettle, methods)
        self._created: dict[str, float] = {}
        self._webhooks: dict[
            str, str
        ] = {}  # per transaction: the webhook URL its init named (a credit: its original's)
        self._idempotent: dict[str, tuple] = {}
        self._faults: list[Fault] = []
        self._timers: list[threading.Timer] = []
        self.expect_request(re.compile(r"/.*")).respond_with_handler(self._handle)

    # Lifecycle -------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base to put in ``settings.DATATRANS_API_BASE`` and ``DATATRANS_PAY_BASE``."""
        return self.url_for("/").rstrip("/")

    def configure(self, settings) -> None:
        """Point the shop at this stand-in: its merchant id, password and HMAC key, its address."""
        settings.DATATRANS_MERCHANT_ID = self.merchant_id
        settings.DATATRANS_PASSWORD = self.password
        settings.DATATRANS_HMAC_KEY = self.hmac_key
        settings.DATATRANS_API_BASE = self.url
        settings.DATATRANS_PAY_BASE = self.url
        settings.DATATRANS_MODE = "sandbox"

    def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        super().stop()

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for timer in list(self._timers):
            timer.join(max(0.0, deadline - time.monotonic()))

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
        (or the status when not sent)."""
        with self.lock:
            tx = self._pay(transaction_id, method)
        return self._send_or_return(tx, send)

    def decline(self, transaction_id: str, method: str = "card", *, send: bool = True):
        """The shopper's card is declined: status ``failed``, ``detail.fail``."""
        with self.lock:
            tx = self._decline(transaction_id, method)
        return self._send_or_return(tx, send)

    def cancel(self, transaction_id: str, *, send: bool = True):
        """The shopper cancels on the Payment Page: status ``canceled``."""
        with self.lock:
            tx = self._cancel_on_page(transaction_id)
        return self._send_or_return(tx, send)

    def credit_in_dashboard(self, transaction_id: str, amount: int | None = None, *, send: bool = True) -> dict:
        """The merchant credits in Datatrans's admin tool (all that is left by default): a credit transaction with
        the original's refno, and its webhook sent at once. Returns the credit's status."""
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
        delivery = Delivery(copy.deepcopy(tx), body, headers)
        with self.lock:
            self.sent_events.append(delivery)
            url = self._webhooks.get(tx["transactionId"]) or self.webhook_url
        try:
            if self.deliver is not None:
                delivery.status = self.deliver(body, headers)
            elif url:
                request = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (a local URL)
                    delivery.status = response.status
        except urllib.error.HTTPError as error:
            delivery.status, delivery.error = error.code, error.read().decode(errors="replace")
        except OSError as error:
            delivery.error = str(error)
        return delivery

    def resend(self, delivery: Delivery, **kwargs) -> Delivery:
        """Datatrans retrying a delivery: the same body, signed afresh (a new t)."""
        time.sleep(0.002)  # a new millisecond
        return self.send(json.loads(delivery.body), **kwargs)

    def flush(self) -> list[Delivery]:
        """Send the webhooks held back (``api_event_delay`` or ``webhook_delay`` None), in order."""
        with self.lock:
            held, self.held = self.held, []
        return [self.send(tx) for tx in held]

    def fail_next(self, path, status: int = 500, body: dict | None = None, *, method=None, times=1):
        """The next ``times`` requests to ``path`` (exact, or a compiled pattern) answer ``status`` with ``body``."""
        if body is None:
            body = events.error("Internal server error", "UNKNOWN_ERROR") if status >= 500 else events.error("Bad")
        with self.lock:
            self._faults.append(Fault(path, method, "fail", times, status, body))

    def hang_next(self, path, seconds: float, *, method=None, times=1):
        """The next ``times`` requests to ``path`` are answered after ``seconds`` (carried out all the same)."""
        with self.lock:
            self._faults.append(Fault(path, method, "hang", times, seconds=seconds))

    def calls_to(self, path: str, method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path == path and (method is None or c.method == method.upper())]

    @property
    def sent_types(self) -> list[str]:
        with self.lock:
            return [delivery.type for delivery in self.sent_events]

    # The HTTP side -----------------------------------------------------------------------------------------------

    ROUTES = (
        ("POST", r"/v1/transactions", "_init_transaction"),
        ("GET", r"/v1/transactions/(?P<id>\d+)", "_status"),
        ("POST", r"/v1/transactions/(?P<id>\d+)/settle", "_settle"),
        ("POST", r"/v1/transactions/(?P<id>\d+)/cancel", "_cancel"),
        ("POST", r"/v1/transactions/(?P<id>\d+)/credit", "_credit_call"),
    )

    def _handle(self, request: Request) -> Response:
        if request.path.startswith("/v1/start/"):
            return self._payment_page(request)
        key = request.headers.get("Idempotency-Key")
        call = Call(request.method, request.path, None, key)
        with self.lock:
            self.calls.append(call)
        try:
            fault = self._take_fault(request.method, request.path)
            if fault is not None and fault.kind == "hang":
                time.sleep(fault.seconds)
            elif fault is not None:
                call.status = fault.status
                return self._json(fault.body, fault.status)
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
            status, answer, headers = self._route(request.method, request.path, body, key)
        except DatatransFault as error:
            status, answer, headers = error.status, error.body, {}
        call.status = status
        return self._json(answer, status, headers)

    @staticmethod
    def _json(body, status: int, headers: dict | None = None) -> Response:
        if body is None:
            return Response(b"", status, headers or {})
        return Response(json.dumps(body), status, headers or {}, content_type="application/json")

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            user = password = ""
        if not header.startswith("Basic ") or (user, password) != (self.merchant_id, self.password):
            raise DatatransFault(401, "Incorrect merchantId or password", "UNAUTHORIZED")

    def _route(self, method: str, path: str, body: dict | None, key: str | None):
        found = [
            (name, match)
            for route_method, pattern, name in self.ROUTES
            if route_method == method and (match := re.fullmatch(pattern, path))
        ]
        if not found:
            raise DatatransFault(404, f"No endpoint {method} {path}", "NOT_FOUND")
        name, match = found[0]
        with self.lock:
            if method == "POST" and key and key in self._idempotent:
                first_path, first_body, answer = self._idempotent[key]
                if (first_path, first_body) != (path, body):
                    raise DatatransFault(
                        422,
                        "The request body is different from the one first sent with this Idempotency-Key",
                        "IDEMPOTENCY_KEY_REUSED",
                    )
                return copy.deepcopy(answer)
            answer = copy.deepcopy(getattr(self, name)(body, **match.groupdict()))
            if method == "POST" and key:
                self._idempotent[key] = (path, copy.deepcopy(body), copy.deepcopy(answer))
        return answer

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
        if not isinstance(refno, str) or not 1 <= len(refno) <= 20:
            raise DatatransFault(400, "init.refno length must be between 1 and 20")
        methods = body.get("paymentMethods", list(KNOWN_METHODS))
        if not isinstance(methods, list) or not methods or any(m not in KNOWN_METHODS for m in methods):
            raise DatatransFault(400, "init.paymentMethods contains an unknown payment method")
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
        tx["status"] = "settled"
        tx["detail"]["settle"] = {"amount": amount}
        tx["history"].append(events.history("settle", amount))
        self._api_event(tx)
        return 204, None, {}

    def _cancel(self, body: dict, id: str):
        tx = self._tx(id)
        if tx["status"] != "authorized":
            raise DatatransFault(
                400, f"The transaction is {tx['status']}, not authorized", "INVALID_TRANSACTION_STATUS"
            )
        tx["status"] = "canceled"
        tx["detail"]["cancel"] = {"reversal": True}
        tx["history"].append(events.history("cancel", tx["detail"]["authorize"]["amount"]))
        self._api_event(tx)
        return 204, None, {}

    def _credit_call(self, body: dict, id: str):
        original = self._tx(id)
        amount = body.get("amount")
        if type(amount) is not int or amount <= 0:
            raise DatatransFault(400, "credit.amount must be a positive integer")
        if body.get("currency") != original["currency"]:
            raise DatatransFault(400, "credit.currency does not match the transaction's currency")
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

    def _decline(self, transaction_id: str, method: str) -> dict:
        tx, init, code = self._open(transaction_id, method)
        tx["paymentMethod"] = code
        tx["status"] = "failed"
        tx["detail"]["fail"] = {"reason": "DECLINED", "message": "declined"}
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
        """The webhook an API call causes: held until ``flush()``, or sent after ``api_event_delay`` seconds."""
        if self.api_event_delay is None:
            self.held.append(copy.deepcopy(tx))
        else:
            self._later(self.api_event_delay, copy.deepcopy(tx))

    def _send_or_return(self, tx: dict, send: bool):
        return self.send(tx) if send else tx

    def _later(self, seconds: float, tx: dict) -> None:
        timer = threading.Timer(seconds, self.send, args=(tx,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _page_webhook(self, tx: dict) -> None:
        if self.webhook_delay is None:
            with self.lock:
                self.held.append(tx)
        elif self.webhook_delay:
            self._later(self.webhook_delay, tx)
        else:
            self.send(tx)

    # The Payment Page ----------------------------------------------------------------------------------------------

    def _payment_page(self, request: Request) -> Response:
        transaction_id = request.path.removeprefix("/v1/start/").strip("/")
        with self.lock:
            known = transaction_id in self.transactions
            tx = copy.deepcopy(self.transactions[transaction_id]) if known else None
            init = copy.deepcopy(self._init.get(transaction_id, {}))
            expired = known and self._expired(transaction_id)
        title = "Datatrans test page"
        if tx is None:
            return self._page(title, "<p>Something went wrong: this payment page does not exist.</p>", 404)
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
                return self._page(title, f"<p>{html.escape(str(error))}</p>", 400)
            if done is not None:
                self._page_webhook(done)
                if not url:
                    return self._page(title, "<p>Done. You can close this page.</p>")
                return Response("", 303, {"Location": f"{url}"})
        if tx["status"] != "initialized" or expired:
            state = "has expired" if expired else f"is {tx['status']}"
            return self._page(title, f"<p>This transaction {state}.</p>", 410)
        amount = html.escape(money(init.get("amount", 0), tx["currency"]))
        button = (
            '<form method="post"><input type="hidden" name="action" value="{0}">'
            '<button type="submit"{2}>{1}</button></form>'
        )
        allowed = init.get("paymentMethods") or list(KNOWN_METHODS)
        buttons = []
        if any(m in allowed for m in events.CARD_METHODS):
            buttons.append(button.format("card", "Pay by card", ' class="primary"'))
        if "TWI" in allowed:
            buttons.append(button.format("twint", "Pay with TWINT", ' class="primary"'))
        if "PFC" in allowed:
            buttons.append(button.format("postfinance", "Pay with PostFinance", ' class="primary"'))
        buttons.append(button.format("decline", "Decline", ""))
        card_note = " Visa 4900 0000 0000 0004." if any(m in allowed for m in events.CARD_METHODS) else ""
        buttons.append(button.format("cancel", "Cancel", ' class="ghost"'))
        body = (
            f'<p class="amount">{amount}</p><p>Reference {html.escape(tx["refno"])}</p>'
            f'<p class="muted">Test mode: no money moves.{card_note}</p>{"".join(buttons)}'
        )
        return self._page(title, body)

    @staticmethod
    def _page(title: str, body: str, status: int = 200) -> Response:
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f3f5f7; color: #1d2633; margin: 0; }}
main {{ max-width: 26rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 8px;
       box-shadow: 0 2px 12px rgba(0, 0, 0, .1); }}
h1 {{ font-size: 1.1rem; color: #0a5c8a; margin-top: 0; }}
.amount {{ font-size: 2rem; font-weight: 600; margin: .5rem 0; }}
.muted {{ color: #5b6675; font-size: .9rem; }}
form {{ margin: .5rem 0; }}
button {{ width: 100%; padding: .75rem; font-size: 1rem; border-radius: 6px; border: 1px solid #c9d1da;
         background: #fff; cursor: pointer; }}
button.primary {{ background: #0a5c8a; color: #fff; border-color: #0a5c8a; }}
button.ghost {{ border: 0; color: #5b6675; }}
</style></head>
<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"""
        return Response(page, status, content_type="text/html; charset=utf-8")


@contextmanager
def serving(**options):
    """A started stand-in (``DatatransStandIn(**options)``), stopped at the end; an error one of its handlers met is
    raised then, so that a test never passes over a request the stand-in could not answer."""
    server = DatatransStandIn(**options)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.check_handler_errors()


def main() -> None:
    """Datatrans's API and Payment Page on http://127.0.0.1:12112, posting its webhooks to the shop served by
    ``make run`` — to try card, TWINT and PostFinance payments, settlement and credits without a Datatrans account."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("STANDIN_PORT", "12112")))
    parser.add_argument("--shop", default=os.environ.get("SITE_URL", "http://127.0.0.1:8000"), help="the shop's URL")
    parser.add_argument("--hmac-key", default=os.environ.get("DATATRANS_HMAC_KEY", "6a" * 32))
    options = parser.parse_args()
    standin = DatatransStandIn(
        webhook_url=options.shop.rstrip("/") + "/webhooks/datatrans/",
        hmac_key=options.hmac_key,
        api_event_delay=0.5,
        port=options.port,
    )
    standin.start()
    print(
        f"Datatrans stand-in on {standin.url}, sending its webhooks to {standin.webhook_url}. Serve the shop with:\n"
        f"  DATATRANS_MERCHANT_ID={standin.merchant_id} DATATRANS_PASSWORD={standin.password} "
        f"DATATRANS_HMAC_KEY={options.hmac_key} DATATRANS_API_BASE={standin.url} DATATRANS_PAY_BASE={standin.url} "
        "make run\n"
        "Ctrl-C stops it."
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
