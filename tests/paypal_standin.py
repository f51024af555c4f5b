"""A stand-in of PayPal's REST API on a local port (pytest-httpserver's ``HTTPServer``), for the real
``paypal-server-sdk``.

The shop reaches it through ``settings.PAYPAL_API_BASE = standin.url``; nothing leaves the machine. It answers what
the SDK sends (JSON bodies, OAuth 2 client credentials with Basic auth, then Bearer tokens, ``PayPal-Request-Id``,
``Prefer``) with the objects and errors PayPal documents (``tests/paypal_events.py`` builds them from
``tests/fixtures/paypal/``):

- ``POST /v1/oauth2/token``;
- ``POST /v2/checkout/orders`` (the amounts must add up; an invoice id already paid: ``DUPLICATE_INVOICE_ID``),
  ``GET /v2/checkout/orders/<id>`` (an order past its time lapses: 404 ``RESOURCE_NOT_FOUND``, see below),
  ``POST /v2/checkout/orders/<id>/capture`` (``ORDER_NOT_APPROVED``, ``ORDER_ALREADY_CAPTURED``);
- ``GET /v2/payments/captures/<id>``, ``POST /v2/payments/captures/<id>/refund`` (more than is left:
  ``REFUND_AMOUNT_EXCEEDED``), ``GET /v2/payments/refunds/<id>``;
- ``GET /v1/notifications/certs/<id>``: the certificate of the key the stand-in signs its webhooks with;
- the approval page ``GET /checkoutnow?token=<order id>`` ("PayPal test page": Pay with PayPal, Cancel): paying
  approves the order, posts a signed ``CHECKOUT.ORDER.APPROVED`` and redirects (303) to the order's ``return_url``
  with ``token`` and ``PayerID``, as PayPal does.

What it does as PayPal documents it:

- an order's time, on the stand-in's clock (``time.time()``, which the tests' ``clock`` moves): 3 hours from its
  creation for the payer to reach the approval page (``GET /checkoutnow``, or ``redirect``), then 3 hours from then
  to approve it and capture it; past that, an order not captured is gone: ``GET``, capture and the approval page
  answer 404 ``RESOURCE_NOT_FOUND`` / ``INVALID_RESOURCE_ID``. PayPal's Orders v2 reference, the ``order`` object's
  ``links`` ("The API caller has 3 hours … from the time the order is created, to redirect your payer. Once
  redirected, the API caller has 3 hours for the payer to approve the order and either authorize or capture the
  order"; paypal-server-sdk 2.4.0's ``models/order.py`` says 6 hours for both: ``REDIRECT_WINDOW`` and
  ``APPROVAL_WINDOW`` take the shorter), and PayPal's "Orders v2 errors" (get order, capture: 404
  ``RESOURCE_NOT_FOUND``; no "expired" error is documented for an order);
- a POST sent again with the same ``PayPal-Request-Id`` gets the first answer again, for 6 hours: paypal-server-sdk
  2.4.0, ``controllers/orders_controller.py`` (``paypal_request_id``: "The server stores keys for 6 hours").

The events an API call causes (a capture, a refund) are held until ``flush()`` (or sent after ``api_event_delay``
seconds). Tests drive it directly too: ``redirect``, ``approve``, ``expire``, ``deny`` (the next capture is
declined), ``refund_in_dashboard``, ``reverse``, ``send`` / ``send_event`` / ``resend``, ``fail_next`` /
``hang_next``; ``calls`` and ``sent_events`` tell what happened. Standalone:
``python -m tests.paypal_standin --shop http://127.0.0.1:8000``.
"""

import copy
import datetime as dt
import html
import json
import re
import time
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from werkzeug import Request, Response

from tests import paypal_events as events
from tests import standin
from tests.standin import ProviderError, ProviderStandIn, basic_credentials, button

REDIRECT_WINDOW = 3 * 3600  # seconds from an order's creation for the payer to reach the approval page
APPROVAL_WINDOW = 3 * 3600  # seconds from then to approve and capture it
ORDER_OPEN = ("CREATED", "PAYER_ACTION_REQUIRED")


class PayPalFault(ProviderError):
    """An error answer in PayPal's shape."""

    def __init__(self, status: int, name: str, message: str, issue: str = "", description: str = ""):
        super().__init__(status, events.error(status, name, message, issue, description), message)


def unprocessable(issue: str, description: str) -> PayPalFault:
    return PayPalFault(
        422,
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
        issue,
        description,
    )


def invalid(issue: str, description: str, field_name: str = "") -> PayPalFault:
    fault = PayPalFault(
        400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."
    )
    fault.body["details"] = [{"field": field_name, "location": "body", "issue": issue, "description": description}]
    return fault


def not_found() -> PayPalFault:
    return PayPalFault(
        404,
        "RESOURCE_NOT_FOUND",
        "The specified resource does not exist.",
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist. Please check the resource ID and try again.",
    )


def minor(value, label: str) -> int:
    """PayPal's decimal string in Rappen."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,10}(\.\d{1,2})?", value):
        raise invalid("INVALID_PARAMETER_VALUE", "The value of a field is invalid.", label)
    try:
        return int(Decimal(value) * 100)
    except InvalidOperation:
        raise invalid("INVALID_PARAMETER_VALUE", "The value of a field is invalid.", label) from None


def amount_text(amount: dict) -> str:
    return f"{amount['currency_code']} {Decimal(amount['value']):,.2f}"


class Call(standin.Call):
    """One API request the stand-in received; ``request_id``: its ``PayPal-Request-Id``."""

    @property
    def request_id(self) -> str | None:
        return self.idempotency_key


class Delivery(standin.Delivery):
    """One webhook the stand-in posted (or tried to); its type in the event's ``event_type``."""

    @staticmethod
    def type_of(event: dict) -> str:
        return event["event_type"]


DEFAULT_FAULTS = {
    400: ("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."),
    401: ("AUTHENTICATION_FAILURE", "Authentication failed due to invalid authentication credentials."),
    403: ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    422: ("UNPROCESSABLE_ENTITY", "The requested action could not be performed."),
    429: ("RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error has occurred."),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
}


class PayPalStandIn(ProviderStandIn):
    """PayPal's API and approval page, in memory. See the module's docstring."""

    PROVIDER = "PayPal"
    PAGE_THEME = (
        "--page: #f5f7fa; --text: #001c64; --shadow: rgba(0, 28, 100, .12); --heading: #003087; --muted: #515354;"
        " --ghost: #0070e0; --button-radius: 999px; --primary: #ffc439; --on-primary: #001c64; --primary-weight: 600;"
    )
    IDEMPOTENCY_HEADER = "PayPal-Request-Id"
    IDEMPOTENCY_SECONDS = 6 * 3600
    REDIRECT_WINDOW, APPROVAL_WINDOW = REDIRECT_WINDOW, APPROVAL_WINDOW
    ROUTES = (
        ("POST", r"/v2/checkout/orders", "_create_order"),
        ("GET", r"/v2/checkout/orders/(?P<id>[^/]+)", "_get_order"),
        ("POST", r"/v2/checkout/orders/(?P<id>[^/]+)/capture", "_capture_order"),
        ("GET", r"/v2/payments/captures/(?P<id>[^/]+)", "_get_capture"),
        ("POST", r"/v2/payments/captures/(?P<id>[^/]+)/refund", "_refund_capture"),
        ("GET", r"/v2/payments/refunds/(?P<id>[^/]+)", "_get_refund"),
    )
    PORT = 12113
    WEBHOOK_PATH = "/webhooks/paypal/"
    SHOP_SETTINGS = (
        "PAYPAL_CLIENT_ID",
        "PAYPAL_CLIENT_SECRET",
        "PAYPAL_WEBHOOK_ID",
        "PAYPAL_API_BASE",
        "PAYPAL_CERT_TRUST_STORE",
    )
    Call = Call
    Delivery = Delivery

    def __init__(
        self,
        webhook_url: str | None = None,
        webhook_id: str = "WH-STANDIN-0000000000",
        *,
        client_id: str = "standin-client-id",
        client_secret: str = "standin-client-secret",
        payer_email: str = "anna.muster@example.ch",
        **options,
    ):
        """``webhook_url`` (or ``deliver``) receives the events, signed for ``webhook_id``; ``client_id`` /
        ``client_secret``: the app's credentials; ``payer_email``: who approves on the page; ``enabled_events``,
        ``webhook_delay``, ``api_event_delay``, ``host``, ``port``: see ``ProviderStandIn``."""
        super().__init__(webhook_url, **options)
        self.webhook_id, self.client_id, self.client_secret = webhook_id, client_id, client_secret
        self.payer_email = payer_email
        self.orders: dict[str, dict] = {}
        self.captures: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.events: dict[str, dict] = {}
        self.tokens: set[str] = set()
        self.redirected: dict[str, float] = {}  # per order: when the payer first reached the approval page
        self.declined: set[str] = set()  # orders whose next capture is declined
        self.pending: set[str] = set()  # orders whose next capture stays pending
        self.key = events.SigningKey()
        self.certificates: dict[str, bytes] = {}
        self.cert_path = self.add_certificate(self.key)

    @property
    def cert_url(self) -> str:
        return self.url + self.cert_path

    def configure(self, settings) -> None:
        """Point the shop at this stand-in: its app's credentials, its webhook id, its address."""
        settings.PAYPAL_CLIENT_ID = self.client_id
        settings.PAYPAL_CLIENT_SECRET = self.client_secret
        settings.PAYPAL_WEBHOOK_ID = self.webhook_id
        settings.PAYPAL_MODE = "sandbox"
        settings.PAYPAL_API_BASE = self.url
        settings.PAYPAL_CERT_TRUST_STORE = events.trust_store_path()

    def add_certificate(self, key: "events.SigningKey") -> str:
        """Serve ``key``'s certificate; returns its path (``/v1/notifications/certs/CERT-…``)."""
        path = f"/v1/notifications/certs/CERT-360caa42-{events.new_id(8).lower()}-{events.new_id(8).lower()}"
        with self.lock:
            self.certificates[path] = key.pem
        return path

    # Driving it from a test ------------------------------------------------------------------------------------

    def order(self, order_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self._order(order_id))

    def latest_order(self) -> dict:
        with self.lock:
            return copy.deepcopy(list(self.orders.values())[-1])

    def redirect(self, order_id: str) -> None:
        """The payer reaches the approval page (as ``GET /checkoutnow?token=…`` does): from now on, 3 hours to approve
        and capture the order."""
        with self.lock:
            self._redirected(self._order(order_id))

    def approve(self, order_id: str, *, send: bool = True):
        """The payer approves the order on PayPal's page: ``CHECKOUT.ORDER.APPROVED`` (the Delivery; the event when
        not sent)."""
        with self.lock:
            evt = self._approve(order_id)
        return self._send_or_return(evt, send)

    def expire(self, order_id: str) -> None:
        """The order lapses (its time ran out): PayPal no longer knows it."""
        with self.lock:
            self._order(order_id)
            del self.orders[order_id]
            self.redirected.pop(order_id, None)

    def deny(self, order_id: str) -> None:
        """The next capture of this order is declined (the payer's funding failed at PayPal)."""
        with self.lock:
            self.declined.add(order_id)

    def hold(self, order_id: str) -> None:
        """The next capture of this order stays pending (PayPal reviews it)."""
        with self.lock:
            self.pending.add(order_id)

    def complete_pending(self, capture_id: str, *, send: bool = True):
        """A pending capture completes: ``PAYMENT.CAPTURE.COMPLETED``."""
        with self.lock:
            capture = self.captures[capture_id]
            capture.update(status="COMPLETED", update_time=events.timestamp())
            capture.pop("status_details", None)
            evt = self._event(events.CAPTURE_COMPLETED, capture)
        return self._send_or_return(evt, send)

    def capture_of(self, order_id: str) -> dict:
        with self.lock:
            order = self._order(order_id)
            return copy.deepcopy(order["purchase_units"][0]["payments"]["captures"][-1])

    def refund_in_dashboard(self, capture_id: str, amount_minor: int | None = None, *, send: bool = True) -> dict:
        """The merchant refunds in PayPal's dashboard: a refund (without our custom_id), and
        ``PAYMENT.CAPTURE.REFUNDED`` sent at once."""
        body = {"amount": events.money(amount_minor)} if amount_minor else {}
        with self.lock:
            refund, evt = self._refund(capture_id, body)
        self._send_or_return(evt, send)
        return copy.deepcopy(refund)

    def reverse(self, capture_id: str, *, send: bool = True):
        """The payer's bank or PayPal takes the money back (a reversal): ``PAYMENT.CAPTURE.REVERSED``."""
        with self.lock:
            capture = self.captures[capture_id]
            capture.update(status="REVERSED", update_time=events.timestamp())
            evt = self._event(events.CAPTURE_REVERSED, capture)
        return self._send_or_return(evt, send)

    def send(self, type: str, resource: dict, **options) -> Delivery:
        """Build an event of ``type`` around ``resource`` and send it (options: see ``send_event``)."""
        evt = events.event(type, resource, api=self.url)
        with self.lock:
            self.events[evt["id"]] = evt
        return self.send_event(evt, **options)

    def send_event(
        self,
        evt: dict,
        *,
        body: bytes | None = None,
        key: "events.SigningKey | None" = None,
        cert_url: str | None = None,
        webhook_id: str | None = None,
        transmission_time: str | None = None,
        headers: dict | None = None,
    ) -> Delivery:
        """Post an event to the shop as a new transmission signed with the stand-in's key for its webhook id, or
        with what is given: another ``key``, ``cert_url``, ``webhook_id`` or ``transmission_time``; ``body`` (sent
        instead of the event's, signed or not: see ``headers``); ``headers`` replace the signed ones as given."""
        raw = events.payload(evt)
        sent = raw if body is None else body
        signed = events.signature_headers(
            raw,
            webhook_id or self.webhook_id,
            key or self.key,
            cert_url or self.cert_url,
            transmission_time=transmission_time,
        )
        return self._post(Delivery(evt, sent, signed if headers is None else headers))

    def resend(self, event_id: str, **options) -> Delivery:
        """Send a stored event again (PayPal retrying, or "Resend" in its dashboard): the same event id, a new
        transmission."""
        with self.lock:
            evt = copy.deepcopy(self.events[event_id])
        return self.send_event(evt, **options)

    def _send(self, evt: dict) -> Delivery:
        return self.send_event(evt)

    # The HTTP side -----------------------------------------------------------------------------------------------

    def _serve_page(self, request: Request) -> Response | None:
        if request.path == "/checkoutnow":
            return self._approval_page(request)
        if request.method == "GET" and request.path in self.certificates:
            with self.lock:
                self.calls.append(Call("GET", request.path, None, None, 200))
                pem = self.certificates[request.path]
            return Response(pem, 200, content_type="application/x-pem-file")
        return None

    def _answer(self, request: Request, call: Call) -> tuple[int, dict, dict]:
        if request.path == "/v1/oauth2/token" and request.method == "POST":
            return 200, self._token(request), {}
        self._authenticate(request)
        raw = request.get_data(as_text=True)
        if raw:
            try:
                call.body = json.loads(raw)
            except ValueError:
                raise invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.") from None
        status, body, call.replayed = self._route(request, call.body, call.request_id)
        return status, body, {}

    def _json(self, body, status: int, headers: dict, call: Call | None = None) -> Response:
        headers = {"Paypal-Debug-Id": events.new_id(13).lower(), **headers}
        return Response(json.dumps(body), status, headers, content_type="application/json")

    def _fault_body(self, status: int) -> dict:
        # The shop's client retries 5xx answers twice: to make PayPal look down, fail three times.
        name, message = DEFAULT_FAULTS.get(status, ("INTERNAL_SERVER_ERROR", "An internal server error occurred."))
        return events.error(status, name, message)

    def _no_route(self, method: str, path: str) -> PayPalFault:
        return not_found()

    def _token(self, request: Request) -> dict:
        if basic_credentials(request) != (self.client_id, self.client_secret):
            raise _OAuthFault()
        if request.form.get("grant_type") != "client_credentials":
            raise _OAuthFault("unsupported_grant_type", "Grant Type is NULL")
        token = events.fixture("token")
        token["access_token"] = "A21AA" + events.new_id(60)
        with self.lock:
            self.tokens.add(token["access_token"])
        return token

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        with self.lock:
            known = header.startswith("Bearer ") and header[7:] in self.tokens
        if not known:
            raise PayPalFault(
                401,
                "AUTHENTICATION_FAILURE",
                "Authentication failed due to invalid authentication credentials or a missing Authorization parameter.",
            )

    def _route(self, request: Request, body, request_id: str | None):
        handler, ids = self._endpoint(request.method, request.path)
        key = (request.path, request_id) if request.method == "POST" and request_id else None
        with self.lock:
            first = self._recall(key) if key else None
            if first is not None:  # PayPal's idempotency: the same answer for the same request id
                status, answer = first
                return status, answer, True
            status, answer = handler(body or {}, request, **ids)
            if key:
                self._keep(key, (status, answer))
        return status, answer, False

    # API resources (called under the lock) ------------------------------------------------------------------

    def _order(self, order_id: str) -> dict:
        """An order PayPal still knows: one not captured lapses 3 hours after its creation when the payer has not
        reached the approval page by then, else 3 hours after they did; PayPal then forgets it (404)."""
        order = self.orders.get(order_id)
        if order is None:
            raise not_found()
        if order["status"] in (*ORDER_OPEN, "APPROVED") and self._deadline(order) <= time.time():
            del self.orders[order_id]
            self.redirected.pop(order_id, None)
            raise not_found()
        return order

    def _deadline(self, order: dict) -> float:
        if order["id"] in self.redirected:
            return self.redirected[order["id"]] + self.APPROVAL_WINDOW
        created = dt.datetime.fromisoformat(order["create_time"].replace("Z", "+00:00")).timestamp()
        return created + self.REDIRECT_WINDOW

    def _redirected(self, order: dict) -> None:
        """The payer reached the approval page (the first time counts)."""
        self.redirected.setdefault(order["id"], time.time())

    def _view(self, order: dict) -> dict:
        """An order as the API shows it: its captures without their supplementary data."""
        shown = copy.deepcopy(order)
        for unit in shown["purchase_units"]:
            for capture in (unit.get("payments") or {}).get("captures") or []:
                capture.pop("supplementary_data", None)
        return shown

    def _create_order(self, body: dict, request: Request):
        if body.get("intent") != "CAPTURE":
            raise invalid("INVALID_PARAMETER_VALUE", "This stand-in of PayPal supports intent CAPTURE only.", "/intent")
        units = body.get("purchase_units")
        if not isinstance(units, list) or len(units) != 1 or not isinstance(units[0], dict):
            raise invalid("INVALID_ARRAY_LENGTH", "This stand-in takes exactly one purchase unit.", "/purchase_units")
        unit = copy.deepcopy(units[0])
        amount = unit.get("amount") or {}
        total = minor(amount.get("value"), "/purchase_units/@reference_id=='default'/amount/value")
        currency = amount.get("currency_code")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise invalid("INVALID_PARAMETER_VALUE", "The value of a field is invalid.", "/amount/currency_code")
        breakdown = amount.get("breakdown") or {}
        if unit.get("items"):
            item_total = sum(
                minor((item.get("unit_amount") or {}).get("value"), "/items/unit_amount") * int(item.get("quantity", 0))
                for item in unit["items"]
            )
            if (
                "item_total" not in breakdown
                or minor(breakdown["item_total"].get("value"), "/item_total") != item_total
            ):
                raise unprocessable(
                    "ITEM_TOTAL_MISMATCH", "Should equal sum of (unit_amount * quantity) across all items."
                )
        parts = sum(minor(breakdown[name]["value"], name) for name in ("item_total", "shipping") if name in breakdown)
        if breakdown and parts != total:
            raise unprocessable(
                "AMOUNT_MISMATCH", "Should equal item_total + tax_total + shipping + handling + insurance - discount."
            )
        invoice = unit.get("invoice_id")
        if invoice and any(
            o["purchase_units"][0].get("invoice_id") == invoice and o["status"] == "COMPLETED"
            for o in self.orders.values()
        ):
            raise unprocessable("DUPLICATE_INVOICE_ID", "Duplicate Invoice ID detected.")
        order_id = events.new_id()
        paypal = (body.get("payment_source") or {}).get("paypal")
        context = (paypal or {}).get("experience_context") or body.get("application_context") or {}
        unit.setdefault("reference_id", "default")
        unit["payee"] = events.fixture("order")["purchase_units"][0]["payee"]
        rel = "payer-action" if paypal is not None else "approve"
        order = {
            "id": order_id,
            "intent": "CAPTURE",
            "status": "PAYER_ACTION_REQUIRED" if paypal is not None else "CREATED",
            **({"payment_source": {"paypal": {}}} if paypal is not None else {}),
            "purchase_units": [unit],
            "create_time": events.timestamp(),
            "links": [
                {"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/checkoutnow?token={order_id}", "rel": rel, "method": "GET"},
            ],
            "_context": context,  # kept for the approval page; not shown
        }
        self.orders[order_id] = order
        return 201, self._public(order)

    def _public(self, order: dict) -> dict:
        shown = self._view(order)
        shown.pop("_context", None)
        return shown

    def _get_order(self, body: dict, request: Request, id: str):
        return 200, self._public(self._order(id))

    def _approve(self, order_id: str) -> dict:
        order = self._order(order_id)
        if order["status"] not in ORDER_OPEN:
            raise ValueError(f"{order_id} is {order['status']}: it can no longer be approved")
        self._redirected(order)  # approved on the page: the payer was there
        payer = events.fixture("payer")
        payer["email_address"] = self.payer_email
        order.update(status="APPROVED", payer=payer, update_time=events.timestamp())
        order["payment_source"] = {
            "paypal": {
                "email_address": self.payer_email,
                "account_id": payer["payer_id"],
                "account_status": "VERIFIED",
                "name": payer["name"],
                "address": payer["address"],
            }
        }
        order["links"] = [
            {"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"},
            {"href": f"{self.url}/v2/checkout/orders/{order_id}/capture", "rel": "capture", "method": "POST"},
        ]
        return self._event(events.ORDER_APPROVED, self._public(order))

    def _capture_order(self, body: dict, request: Request, id: str):
        order = self._order(id)
        if order["status"] == "COMPLETED":
            raise unprocessable(
                "ORDER_ALREADY_CAPTURED",
                "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
            )
        if order["status"] != "APPROVED":
            raise unprocessable(
                "ORDER_NOT_APPROVED",
                "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' "
                "url returned as part of the HATEOAS links within the Create Order call or provide a valid "
                "payment_source in the request.",
            )
        unit = order["purchase_units"][0]
        capture = events.fixture("capture")
        capture_id = events.new_id()
        status = "DECLINED" if id in self.declined else "PENDING" if id in self.pending else "COMPLETED"
        self.declined.discard(id)
        self.pending.discard(id)
        now = events.timestamp()
        capture.update(
            id=capture_id,
            status=status,
            amount=copy.deepcopy(unit["amount"]),
            invoice_id=unit.get("invoice_id"),
            custom_id=unit.get("custom_id"),
            supplementary_data={"related_ids": {"order_id": id}},
            create_time=now,
            update_time=now,
            links=[
                {"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/v2/payments/captures/{capture_id}/refund", "rel": "refund", "method": "POST"},
                {"href": f"{self.url}/v2/checkout/orders/{id}", "rel": "up", "method": "GET"},
            ],
        )
        capture["amount"].pop("breakdown", None)
        gross = minor(capture["amount"]["value"], "amount")
        fee = round(gross * 0.034) + 35
        capture["seller_receivable_breakdown"] = {
            "gross_amount": events.money(gross, capture["amount"]["currency_code"]),
            "paypal_fee": events.money(fee, capture["amount"]["currency_code"]),
            "net_amount": events.money(gross - fee, capture["amount"]["currency_code"]),
        }
        if status == "PENDING":
            capture["status_details"] = {"reason": "PENDING_REVIEW"}
        if status == "DECLINED":
            capture.pop("seller_receivable_breakdown")
        self.captures[capture_id] = capture  # the same object as the order's: one state for both
        unit["payments"] = {"captures": [capture]}
        order.update(status="COMPLETED", update_time=now)
        order["links"] = [{"href": f"{self.url}/v2/checkout/orders/{id}", "rel": "self", "method": "GET"}]
        kind = {"COMPLETED": events.CAPTURE_COMPLETED, "PENDING": events.CAPTURE_PENDING}.get(
            status, events.CAPTURE_DECLINED
        )
        self._api_event(self._event(kind, capture))
        return 201, self._public(order)

    def _get_capture(self, body: dict, request: Request, id: str):
        if id not in self.captures:
            raise not_found()
        return 200, self.captures[id]

    def _refund_capture(self, body: dict, request: Request, id: str):
        refund, evt = self._refund(id, body)
        self._api_event(evt)
        return 201, refund

    def _refund(self, capture_id: str, body: dict) -> tuple[dict, dict]:
        capture = self.captures.get(capture_id)
        if capture is None:
            raise not_found()
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            if capture["status"] == "REFUNDED":
                raise unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
            raise unprocessable(
                "CANNOT_BE_REFUNDED" if capture["status"] != "PENDING" else "TRANSACTION_REFUSED",
                f"The capture is {capture['status']} and can't be refunded.",
            )
        currency = capture["amount"]["currency_code"]
        order = self.orders[capture["supplementary_data"]["related_ids"]["order_id"]]
        unit = order["purchase_units"][0]
        done = sum(minor(r["amount"]["value"], "amount") for r in unit["payments"].get("refunds", []))
        left = minor(capture["amount"]["value"], "amount") - done
        amount = body.get("amount")
        if amount is not None and amount.get("currency_code") != currency:
            raise unprocessable("CURRENCY_MISMATCH", "Currency of capture must be the same as currency of refund.")
        value = minor(amount["value"], "/amount/value") if amount else left
        if value <= 0:
            raise invalid("INVALID_PARAMETER_VALUE", "The value of a field is invalid.", "/amount/value")
        if value > left:
            raise unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
            )
        refund = events.fixture("refund")
        refund_id = events.new_id()
        now = events.timestamp()
        refund.update(
            id=refund_id,
            amount=events.money(value, currency),
            invoice_id=body.get("invoice_id", capture.get("invoice_id")),
            create_time=now,
            update_time=now,
            links=[
                {"href": f"{self.url}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"},
            ],
        )
        if body.get("custom_id"):
            refund["custom_id"] = body["custom_id"]
        else:
            refund.pop("custom_id", None)
        refund["seller_payable_breakdown"] = {
            "gross_amount": events.money(value, currency),
            "paypal_fee": events.money(0, currency),
            "net_amount": events.money(value, currency),
            "total_refunded_amount": events.money(done + value, currency),
        }
        self.refunds[refund_id] = refund
        unit["payments"].setdefault("refunds", []).append(refund)
        capture["status"] = "REFUNDED" if value == left else "PARTIALLY_REFUNDED"
        capture["update_time"] = now
        return copy.deepcopy(refund), self._event(events.CAPTURE_REFUNDED, refund)

    def _get_refund(self, body: dict, request: Request, id: str):
        if id not in self.refunds:
            raise not_found()
        return 200, self.refunds[id]

    # Events ----------------------------------------------------------------------------------------------------

    def _event(self, type: str, resource: dict) -> dict:
        evt = events.event(type, resource, api=self.url)
        self.events[evt["id"]] = evt
        return evt

    # The approval page -----------------------------------------------------------------------------------------

    def _approval_page(self, request: Request) -> Response:
        order_id = request.args.get("token", "")
        with self.lock:
            try:
                found = self._order(order_id)
            except PayPalFault:
                order = None
            else:
                if found["status"] in ORDER_OPEN:
                    self._redirected(found)
                order = copy.deepcopy(found)
        if order is None:
            return self._page("<p>Sorry, this payment session has expired or does not exist.</p>", 404)
        context = order.get("_context") or {}
        if request.method == "POST":
            action = request.form.get("action", "")
            if action == "cancel":
                return self._back(context.get("cancel_url"), {"token": order_id})
            if action == "pay" and order["status"] in ORDER_OPEN:
                with self.lock:
                    evt = self._approve(order_id)
                self._page_event(evt)
                payer_id = events.fixture("payer")["payer_id"]
                return self._back(context.get("return_url"), {"token": order_id, "PayerID": payer_id})
        if order["status"] not in ORDER_OPEN:
            return self._page("<p>This payment has already been approved.</p>", 410)
        unit = order["purchase_units"][0]
        brand = html.escape(context.get("brand_name") or "the merchant")
        lines = "".join(
            f"<li>{html.escape(item['name'])} × {html.escape(str(item['quantity']))}: "
            f"{html.escape(amount_text(item['unit_amount']))}</li>"
            for item in unit.get("items") or []
        )
        body = (
            f"<p>Pay {brand}</p>"
            f'<p class="amount">{html.escape(amount_text(unit["amount"]))}</p><ul>{lines}</ul>'
            f"<p>{html.escape(self.payer_email)}</p>"
            '<p class="muted">Sandbox: no money moves.</p>'
            + button("pay", "Pay with PayPal", "primary")
            + button("cancel", "Cancel", "ghost")
        )
        lang = html.escape((context.get("locale") or "en").split("-")[0])
        return self._page(body, lang=lang)

    def _back(self, url: str | None, params: dict) -> Response:
        return self._redirect(url and url + ("&" if "?" in url else "?") + urlencode(params))


class _OAuthFault(PayPalFault):
    """The token endpoint's own error shape: ``{"error", "error_description"}``."""

    def __init__(self, error: str = "invalid_client", description: str = "Client Authentication failed"):
        ProviderError.__init__(self, 401, {"error": error, "error_description": description}, description)


def serving(**options):
    """A started stand-in (``PayPalStandIn(**options)``), stopped at the end (see ``tests.standin.serving``)."""
    return standin.serving(PayPalStandIn, **options)


def main() -> None:
    """PayPal's API and its approval page on http://127.0.0.1:12113, posting its signed events to the shop served by
    ``make run`` — to try PayPal payments and refunds without a PayPal account."""
    standin.main(PayPalStandIn, main.__doc__)


if __name__ == "__main__":
    main()
