"""A stand-in of Stripe's API on a local port (pytest-httpserver's ``HTTPServer``), for the real ``stripe`` SDK.

The shop reaches it through ``settings.STRIPE_API_BASE = standin.url``; nothing leaves the machine. It answers what
the SDK sends (form-encoded bodies with bracket keys such as ``line_items[0][price_data][unit_amount]``, ``expand[0]``
or ``expand[]``, Bearer auth with a test key, ``Idempotency-Key``) with the objects and errors Stripe documents
(``tests/stripe_events.py`` builds them from ``tests/fixtures/stripe/``):

- ``POST /v1/checkout/sessions`` (a key sent again with the same parameters: the same session; with other parameters:
  Stripe's ``idempotency_error``), ``GET /v1/checkout/sessions`` (``payment_intent=``, ``status=``),
  ``GET /v1/checkout/sessions/<id>`` (``expand``: ``payment_intent``,
  ``payment_intent.latest_charge``, ``line_items``), ``GET …/<id>/line_items``, ``POST …/<id>/expire``;
- ``POST /v1/refunds`` (over-refund: 400 ``amount_too_large`` with Stripe's message), ``GET /v1/refunds`` (a list),
  ``GET /v1/refunds/<id>``, ``GET /v1/payment_intents/<id>``, ``GET /v1/charges/<id>``, ``GET /v1/events/<id>``;
- the hosted page ``GET /pay/<cs_id>`` ("Stripe test page": Pay by card, Pay with TWINT, Cancel), whose buttons post
  back to it: paying completes the session, creates a PaymentIntent and its charge, posts a signed
  ``checkout.session.completed`` to the shop's webhook and redirects (303) to the session's ``success_url``.

What it does as Stripe documents it:

- ``Idempotency-Key`` on POSTs: once the endpoint has begun, its answer (an error too) is saved under the key and
  given again, marked ``Idempotent-Replayed``; a request whose parameters fail validation saves nothing; the same key
  with other parameters: ``idempotency_error``; keys are pruned after 24 hours: docs.stripe.com/idempotency
  ("Idempotent requests": "saving the resulting status code and body of the first request … regardless of whether
  it succeeds or fails", "We save results only after the execution of an endpoint begins");
- a Checkout Session's total at least the currency's minimum charge (CHF 0.50), else 400 ``amount_too_small``:
  the stripe SDK's ``params/_payment_intent_create_params.py`` (``amount``: "The minimum amount is $0.50 US or
  equivalent in charge currency", docs.stripe.com/currencies#minimum-and-maximum-charge-amounts) and
  docs.stripe.com/error-codes (``amount_too_small``);
- at most 99999999 minor units, else 400 ``amount_too_large``: the same ``amount`` text ("supports up to eight
  digits (e.g., a value of 99999999 …)") and docs.stripe.com/error-codes (``amount_too_large``);
- at most 100 line items, else 400 ``invalid_request_error`` on ``line_items``: the stripe SDK's
  ``params/checkout/_session_create_params.py`` (``line_items``: "For `payment` mode, there is a maximum of 100 line
  items");
- errors as Stripe shapes them (``{"error": {"type", "code", "message", "param"}}``): docs.stripe.com/api/errors.

Tests drive it directly too: ``pay``, ``settle`` (delayed methods), ``expire``, ``refund_in_dashboard``, ``send`` /
``send_event`` / ``resend`` (any event), ``flush`` (the events of API calls, held until asked: see
``api_event_delay``), ``fail_next`` / ``hang_next`` (provider errors and time-outs); ``calls`` and ``sent_events``
tell what happened. Standalone (a bench)::

    standin = StripeStandIn(webhook_url="http://127.0.0.1:8000/webhooks/stripe/", webhook_secret="whsec_…")
    standin.start()   # … settings.STRIPE_API_BASE = standin.url …   standin.stop()
"""

import copy
import html
import json
import os
import re
from urllib.parse import parse_qsl

import stripe
from werkzeug import Request, Response

from tests import standin
from tests import stripe_events as events
from tests.standin import Delivery, ProviderError, ProviderStandIn, button, money

MIN_LIFETIME, MAX_LIFETIME = 30 * 60, 24 * 3600  # what Stripe allows for a Checkout Session's expires_at
# docs.stripe.com/currencies#minimum-and-maximum-charge-amounts, in minor units (the shop charges in CHF)
MINIMUM_CHARGE = {"chf": 50, "eur": 50, "usd": 50, "gbp": 30}
MAXIMUM_AMOUNT = 99_999_999  # "up to eight digits"
MAX_LINE_ITEMS = 100  # in `payment` mode


class StripeFault(ProviderError):
    """An error answer in Stripe's shape; ``validation``: the request's parameters failed validation, so Stripe saves
    nothing under its idempotency key (the endpoint did not begin)."""

    def __init__(self, status: int, message: str, *, validation: bool = False, **kwargs):
        super().__init__(status, events.error(message, **kwargs), message)
        self.validation = validation


def invalid(message: str, **kwargs) -> StripeFault:
    """400 for parameters that fail validation (not saved under the idempotency key)."""
    return StripeFault(400, message, validation=True, **kwargs)


def missing(kind: str, value: str, param: str) -> StripeFault:
    return StripeFault(404, f"No such {kind}: '{value}'", code="resource_missing", param=param)


def decode_form(pairs) -> dict:
    """Stripe's form encoding back into nested values: ``a[b][0][c]=1`` → ``{"a": {"b": [{"c": "1"}]}}``;
    ``a[]=x`` appends to a list."""
    root: dict = {}
    for key, value in pairs:
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        if not match:
            raise invalid(f"Invalid parameter name: {key}", param=key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for position, part in enumerate(parts):
            if not isinstance(node, dict):
                raise invalid(f"Invalid parameter: {key}", param=key)
            part = part or str(len(node))  # "expand[]": the next index
            if position == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(value):
    if isinstance(value, dict):
        value = {key: _lists(item) for key, item in value.items()}
        if value and all(key.isdigit() for key in value):
            return [value[key] for key in sorted(value, key=int)]
    return value


def _int(params: dict, name: str, label: str | None = None, *, minimum: int = 0) -> int:
    raw = params.get(name)
    label = label or name
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {raw}", code="parameter_invalid_integer", param=label) from None
    if number < minimum:
        kind = "positive integer" if minimum > 0 else "non-negative integer"
        raise invalid(f"Invalid {kind}", code="parameter_invalid_integer", param=label)
    return number


class Call(standin.Call):
    """One API request the stand-in received; ``params``: its form (or query) decoded."""

    @property
    def params(self) -> dict:
        return self.body

    @params.setter
    def params(self, value: dict) -> None:
        self.body = value


DEFAULT_FAULTS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("invalid_request_error", "Invalid API Key provided."),
    402: ("card_error", "Your card was declined."),
    404: ("invalid_request_error", "Unrecognized request URL."),
    409: ("idempotency_error", "There is currently another in-progress request using this Stripe token."),
    429: ("invalid_request_error", "Too many requests hit the API too quickly."),
}


class StripeStandIn(ProviderStandIn):
    """Stripe's API and hosted checkout page, in memory. See the module's docstring."""

    PROVIDER = "Stripe"
    PAGE_THEME = (
        "--page: #f6f9fc; --text: #30313d; --shadow: rgba(50, 50, 93, .12); --heading: #635bff; --muted: #6a7383;"
        " --ghost: #6a7383; --primary: #635bff;"
    )
    ROUTES = (
        ("POST", r"/v1/checkout/sessions", "_create_session"),
        ("GET", r"/v1/checkout/sessions", "_list_sessions"),
        ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)", "_get_session"),
        ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)/line_items", "_get_line_items"),
        ("POST", r"/v1/checkout/sessions/(?P<id>[^/]+)/expire", "_expire_session"),
        ("POST", r"/v1/refunds", "_create_refund"),
        ("GET", r"/v1/refunds", "_list_refunds"),
        ("GET", r"/v1/refunds/(?P<id>[^/]+)", "_get_refund"),
        ("GET", r"/v1/payment_intents/(?P<id>[^/]+)", "_get_payment_intent"),
        ("GET", r"/v1/charges/(?P<id>[^/]+)", "_get_charge"),
        ("GET", r"/v1/events/(?P<id>[^/]+)", "_get_event"),
    )
    IDEMPOTENCY_SECONDS = 24 * 3600  # "keys … at least 24 hours old" are pruned
    PORT = 12111
    WEBHOOK_PATH = "/webhooks/stripe/"
    SHOP_SETTINGS = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE")
    Call = Call

    def __init__(
        self,
        webhook_url: str | None = None,
        webhook_secret: str = "whsec_standin",
        *,
        api_key: str | None = None,
        **options,
    ):
        """``webhook_url`` (or ``deliver``, a callable taking the raw body and the headers) receives the events,
        signed with ``webhook_secret``; ``api_key``: the only key accepted (by default any ``sk_test_…``);
        ``enabled_events``, ``webhook_delay``, ``api_event_delay`` (the events an API call causes: a refund, an
        expiry), ``host``, ``port``: see ``ProviderStandIn``."""
        super().__init__(webhook_url, **options)
        self.webhook_secret, self.api_key = webhook_secret, api_key
        self.sessions: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.events: dict[str, dict] = {}
        self._extras: dict[str, dict] = {}  # per session created here: its line items and payment_intent_data

    def configure(self, settings) -> None:
        """Point the shop at this stand-in: its key, its webhook secret, its address (Django's ``settings``)."""
        settings.STRIPE_SECRET_KEY = self.api_key or "sk_test_standin"
        settings.STRIPE_WEBHOOK_SECRET = self.webhook_secret
        settings.STRIPE_API_BASE = self.url

    @classmethod
    def add_arguments(cls, parser) -> None:
        parser.add_argument(
            "--secret",
            dest="webhook_secret",
            metavar="SECRET",
            default=os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_standin"),
        )

    # Driving it from a test ------------------------------------------------------------------------------------

    def session(self, session_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self._session(session_id))

    def latest_session(self) -> dict:
        with self.lock:
            return copy.deepcopy(list(self.sessions.values())[-1])

    def pay(self, session_id: str, method: str = "card", *, delayed: bool = False, send: bool = True):
        """The shopper pays on the hosted page (``method`` "card" or "twint"); ``delayed``: a method whose outcome
        comes later (the session completes unpaid; ``settle`` finishes it). Sends ``checkout.session.completed``
        unless ``send`` is False; returns the Delivery (or the event when not sent)."""
        with self.lock:
            evt = self._complete(session_id, method, delayed=delayed)
        return self._send_or_return(evt, send)

    def settle(self, session_id: str, *, succeeded: bool = True, send: bool = True):
        """A delayed payment's outcome: ``checkout.session.async_payment_succeeded`` or ``…_failed``."""
        with self.lock:
            session = self._session(session_id)
            if session["status"] != "complete" or session["payment_status"] != "unpaid":
                raise ValueError(f"{session_id} has no delayed payment to settle")
            intent = self.payment_intents[session["payment_intent"]]
            charge = self.charges[intent["latest_charge"]]
            if succeeded:
                session["payment_status"] = "paid"
                intent.update(status="succeeded", amount_received=intent["amount"])
                charge.update(status="succeeded", paid=True, captured=True, amount_captured=charge["amount"])
            else:
                intent.update(status="requires_payment_method", last_payment_error={"message": "Payment failed"})
                charge.update(status="failed", failure_code="payment_declined", failure_message="Payment failed")
            kind = events.SESSION_ASYNC_SUCCEEDED if succeeded else events.SESSION_ASYNC_FAILED
            evt = self._event(kind, session)
        return self._send_or_return(evt, send)

    def expire(self, session_id: str, *, send: bool = True):
        """Stripe expires an open session (its time ran out): ``checkout.session.expired``."""
        with self.lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise ValueError(f"{session_id} is {session['status']}, not open")
            session.update(status="expired", url=None)
            evt = self._event(events.SESSION_EXPIRED, session)
        return self._send_or_return(evt, send)

    def refund_in_dashboard(self, payment_intent: str, amount: int | None = None, *, send: bool = True) -> dict:
        """The merchant refunds in Stripe's dashboard: a refund, and ``charge.refunded`` sent at once."""
        with self.lock:
            refund, evts = self._refund({"payment_intent": payment_intent, **({"amount": amount} if amount else {})})
        for evt in evts:
            self._send_or_return(evt, send)
        return copy.deepcopy(refund)

    def send(self, type: str, obj: dict, **kwargs) -> Delivery:
        """Build an event of ``type`` around ``obj`` and send it (``timestamp``, ``secret``: see ``send_event``)."""
        options = {key: kwargs.pop(key) for key in ("timestamp", "secret", "signature") if key in kwargs}
        evt = events.event(type, obj, **kwargs)
        with self.lock:
            self.events[evt["id"]] = evt
        return self.send_event(evt, **options)

    def send_event(self, evt: dict, *, timestamp: int | None = None, secret: str | None = None, signature=None):
        """Post an event to the shop, signed at ``timestamp`` (now) with ``secret`` (the endpoint's), or with the
        ``signature`` header given as it is. Returns the Delivery."""
        body = events.payload(evt).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature or events.signature_header(body, secret or self.webhook_secret, timestamp),
        }
        return self._post(Delivery(evt, body, headers))

    def resend(self, event_id: str, **kwargs) -> Delivery:
        """Send a stored event again (Stripe retrying a delivery): same id, fresh signature."""
        with self.lock:
            evt = copy.deepcopy(self.events[event_id])
        return self.send_event(evt, **kwargs)

    def _send(self, evt: dict) -> Delivery:
        return self.send_event(evt)

    # The HTTP side -----------------------------------------------------------------------------------------------

    def _serve_page(self, request: Request) -> Response | None:
        return self._hosted_page(request) if request.path.startswith("/pay/") else None

    def _read(self, request: Request, call: Call) -> None:
        """The form (or the query) decoded before faults, so that a failed call shows what was sent too."""
        raw = request.get_data(as_text=True) if request.method == "POST" else request.query_string.decode()
        call.params = decode_form(parse_qsl(raw, keep_blank_values=True))

    def _answer(self, request: Request, call: Call) -> tuple[int, dict, dict]:
        self._authenticate(request)
        status, body, call.replayed = self._route(request.method, request.path, call.params, call.idempotency_key)
        return status, body, {"Idempotent-Replayed": "true"} if call.replayed else {}

    def _json(self, body, status: int, headers: dict, call: Call | None = None) -> Response:
        headers = {"Request-Id": events.new_id("req_", 14), "Stripe-Version": stripe.api_version, **headers}
        if call is not None and call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        return Response(json.dumps(body, indent=2), status, headers, content_type="application/json")

    def _fault_body(self, status: int) -> dict:
        # The SDK retries 5xx and 409 answers itself (``max_network_retries``): to make Stripe look down, fail as many
        # times as it tries.
        kind, message = DEFAULT_FAULTS.get(status, ("api_error", "An unknown error occurred"))
        return events.error(message, type=kind)

    def _no_route(self, method: str, path: str) -> StripeFault:
        return StripeFault(404, f"Unrecognized request URL ({method}: {path}).")

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise StripeFault(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        key = header[7:].strip()
        if (self.api_key and key != self.api_key) or not key.startswith(("sk_test_", "rk_test_")):
            raise StripeFault(401, f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}")

    def _route(self, method: str, path: str, params: dict, key: str | None):
        """The endpoint's answer, and whether it is replayed. Stripe's idempotency layer: a POST with a key seen in
        the last 24 hours gets the first answer again (an error too), or an ``idempotency_error`` for other
        parameters; an answer to parameters that failed validation is not saved."""
        handler, ids = self._endpoint(method, path)
        idempotent = method == "POST" and bool(key)
        with self.lock:
            first = self._recall(key) if idempotent else None
            if first is not None:
                first_path, first_params, status, body = first
                if (first_path, first_params) != (path, params):
                    raise StripeFault(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                return status, body, True
            try:
                status, body = 200, handler(params, **ids)
                body = self._expand(copy.deepcopy(body), params.get("expand") or [])
            except StripeFault as refused:
                if refused.validation or not idempotent:
                    raise
                status, body = refused.status, refused.body  # the endpoint began: its error is saved as its answer
            if idempotent:
                self._keep(key, (path, params, status, body))
        return status, copy.deepcopy(body), False

    def _expand(self, obj: dict, paths) -> dict:
        if not isinstance(paths, list):
            raise StripeFault(400, "Invalid array", param="expand")
        for path in paths:
            self._expand_one(obj, path.split("."), path)
        return obj

    def _expand_one(self, obj, parts: list[str], path: str) -> None:
        name = parts[0]
        if name == "line_items" and isinstance(obj, dict) and obj.get("object") == "checkout.session":
            obj[name] = self._get_line_items({}, obj["id"])  # only there when asked for
        elif not isinstance(obj, dict) or name not in obj:
            raise StripeFault(400, f"This property cannot be expanded ({path}).", param="expand")
        elif isinstance(obj[name], str):
            obj[name] = copy.deepcopy(self._lookup(obj[name]))
        if len(parts) > 1 and obj[name] is not None:
            self._expand_one(obj[name], parts[1:], path)

    def _lookup(self, object_id: str) -> dict:
        for prefix, table in (("cs_", self.sessions), ("pi_", self.payment_intents), ("ch_", self.charges)):
            if object_id.startswith(prefix) and object_id in table:
                return table[object_id]
        if object_id.startswith("re_") and object_id in self.refunds:
            return self.refunds[object_id]
        raise StripeFault(404, f"No such object: '{object_id}'", code="resource_missing")

    # API resources (called under the lock) ------------------------------------------------------------------

    def _session(self, session_id: str) -> dict:
        if session_id not in self.sessions:
            raise missing("checkout.session", session_id, "session")
        session = self.sessions[session_id]
        if session["status"] == "open" and session["expires_at"] <= events.now():
            session.update(status="expired", url=None)  # its time ran out (``expire`` sends the event)
        return session

    def _create_session(self, params: dict) -> dict:
        if params.get("mode") != "payment":
            raise invalid("This stand-in of Stripe supports `mode=payment` only.", param="mode")
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise invalid("You must provide at least one line item.", param="line_items")
        if len(items) > MAX_LINE_ITEMS:
            raise invalid(
                f"You can only pass up to {MAX_LINE_ITEMS} line items in `payment` mode; you passed {len(items)}.",
                param="line_items",
            )
        lines, currencies = [], set()
        for index, item in enumerate(items):
            prefix = f"line_items[{index}]"
            data = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(data, dict) or not isinstance(data.get("product_data"), dict):
                raise invalid(
                    f"Missing required param: {prefix}[price_data].",
                    code="parameter_missing",
                    param=f"{prefix}[price_data]",
                )
            unit = _int(data, "unit_amount", f"{prefix}[price_data][unit_amount]")
            quantity = _int(item, "quantity", f"{prefix}[quantity]", minimum=1)
            currency = str(data.get("currency", "")).lower()
            if not re.fullmatch(r"[a-z]{3}", currency):
                raise invalid(f"Invalid currency: {currency}", param=f"{prefix}[price_data][currency]")
            currencies.add(currency)
            name = str(data["product_data"].get("name") or "")
            if not name:
                raise invalid(
                    "Missing required param: name.",
                    code="parameter_missing",
                    param=f"{prefix}[price_data][product_data][name]",
                )
            lines.append({"name": name, "unit_amount": unit, "quantity": quantity, "currency": currency})
        if len(currencies) > 1:
            raise invalid("All line items must use the same currency.", param="line_items")
        currency = currencies.pop()
        amount = sum(line["unit_amount"] * line["quantity"] for line in lines)
        minimum = MINIMUM_CHARGE.get(currency, 50)
        if amount < minimum:
            raise invalid(
                "The Checkout Session's total amount due must add up to at least "
                f"{money(minimum, currency)}: the specified amount is less than the minimum amount allowed.",
                code="amount_too_small",
                param="line_items",
            )
        if amount > MAXIMUM_AMOUNT:
            raise invalid(
                "The specified amount is greater than the maximum amount allowed "
                f"({money(MAXIMUM_AMOUNT, currency)}). Use a lower amount and try again.",
                code="amount_too_large",
                param="line_items",
            )
        created = events.now()
        expires_at = _int(params, "expires_at") if "expires_at" in params else created + MAX_LIFETIME
        if expires_at - created > MAX_LIFETIME:
            message = "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation."
            raise invalid(message, param="expires_at")
        if expires_at - created < MIN_LIFETIME:
            message = "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation."
            raise invalid(message, param="expires_at")
        metadata = params.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise invalid("Invalid object", param="metadata")
        session = events.checkout_session(
            created=created,
            expires_at=expires_at,
            amount_subtotal=amount,
            amount_total=amount,
            currency=currency,
            client_reference_id=params.get("client_reference_id"),
            customer_email=params.get("customer_email"),
            metadata=metadata,
            locale=params.get("locale"),
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
            payment_method_types=params.get("payment_method_types") or ["card", "twint"],
        )
        session["url"] = f"{self.url}/pay/{session['id']}"
        self.sessions[session["id"]] = session
        self._extras[session["id"]] = {"lines": lines, "intent": params.get("payment_intent_data") or {}}
        return session

    def _list_sessions(self, params: dict) -> dict:
        sessions = [self._session(id) for id in reversed(self.sessions)]  # the most recent first
        for name in ("payment_intent", "status"):  # the filters Stripe has that the shop might use
            if params.get(name):
                sessions = [s for s in sessions if s.get(name) == params[name]]
        limit = _int(params, "limit", minimum=1) if "limit" in params else 10
        url = "/v1/checkout/sessions"
        return {"object": "list", "url": url, "has_more": len(sessions) > limit, "data": sessions[:limit]}

    def _get_session(self, params: dict, id: str) -> dict:
        return self._session(id)

    def _get_line_items(self, params: dict, id: str) -> dict:
        self._session(id)
        data = [
            {
                "id": f"li_{id[-20:]}{index}",
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": line["unit_amount"] * line["quantity"],
                "amount_tax": 0,
                "amount_total": line["unit_amount"] * line["quantity"],
                "currency": line["currency"],
                "description": line["name"],
                "price": {"object": "price", "currency": line["currency"], "unit_amount": line["unit_amount"]},
                "quantity": line["quantity"],
            }
            for index, line in enumerate(self._lines(id))
        ]
        return {"object": "list", "data": data, "has_more": False, "url": f"/v1/checkout/sessions/{id}/line_items"}

    def _lines(self, session_id: str) -> list[dict]:
        """The session's line items; one for its total when the session was put in the tables directly (a bench)."""
        if session_id in self._extras:
            return self._extras[session_id]["lines"]
        session = self.sessions[session_id]
        return [
            {"name": "Order", "unit_amount": session["amount_total"], "quantity": 1, "currency": session["currency"]}
        ]

    def _expire_session(self, params: dict, id: str) -> dict:
        session = self._session(id)
        if session["status"] != "open":
            raise StripeFault(
                400,
                f"Only Checkout Sessions with a status of `open` can be expired; this one is `{session['status']}`.",
                param="session",
            )
        session.update(status="expired", url=None)
        self._api_event(self._event(events.SESSION_EXPIRED, session))
        return session

    def _create_refund(self, params: dict) -> dict:
        refund, evts = self._refund(params)
        for evt in evts:
            self._api_event(evt)
        return refund

    def _refund(self, params: dict) -> tuple[dict, list[dict]]:
        if params.get("payment_intent"):
            intent = self.payment_intents.get(params["payment_intent"])
            if intent is None:
                raise missing("payment_intent", params["payment_intent"], "payment_intent")
            charge = self.charges.get(intent.get("latest_charge") or "")
        elif params.get("charge"):
            charge = self.charges.get(params["charge"])
            if charge is None:
                raise missing("charge", params["charge"], "charge")
        else:
            raise invalid("One of the following params should be provided for this request: payment_intent or charge.")
        if charge is None or charge["status"] != "succeeded":
            raise StripeFault(
                400, "This PaymentIntent does not have a successful charge to refund.", code="charge_not_refundable"
            )
        left = charge["amount"] - charge["amount_refunded"]
        amount = _int(params, "amount", minimum=1) if "amount" in params else left
        if left <= 0:
            message = f"Charge {charge['id']} has already been refunded."
            raise StripeFault(400, message, code="charge_already_refunded")
        if amount > left:
            what = "charge amount" if charge["amount_refunded"] == 0 else "unrefunded amount on charge"
            message = (
                f"Refund amount ({money(amount, charge['currency'])}) is greater than {what} "
                f"({money(left, charge['currency'])})"
            )
            raise StripeFault(400, message, code="amount_too_large", param="amount")
        refund = events.refund(
            amount=amount,
            charge=charge["id"],
            currency=charge["currency"],
            payment_intent=charge["payment_intent"],
            metadata=params.get("metadata") or {},
            reason=params.get("reason"),
        )
        if charge["payment_method_details"].get("type") != "card":
            refund["destination_details"] = {"type": charge["payment_method_details"]["type"]}
        self.refunds[refund["id"]] = refund
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        evts = [
            self._event(events.CHARGE_REFUNDED, charge, previous_attributes=previous),
            self._event(events.REFUND_CREATED, refund),
        ]
        return refund, evts

    def _list_refunds(self, params: dict) -> dict:
        refunds = list(reversed(self.refunds.values()))  # the most recent first
        if params.get("payment_intent"):
            if params["payment_intent"] not in self.payment_intents:
                raise missing("payment_intent", params["payment_intent"], "payment_intent")
            refunds = [r for r in refunds if r["payment_intent"] == params["payment_intent"]]
        if params.get("charge"):
            refunds = [r for r in refunds if r["charge"] == params["charge"]]
        limit = _int(params, "limit", minimum=1) if "limit" in params else 10
        if limit > 100:
            raise invalid("This value must be less than or equal to 100.", param="limit")
        return {"object": "list", "url": "/v1/refunds", "has_more": len(refunds) > limit, "data": refunds[:limit]}

    def _get_refund(self, params: dict, id: str) -> dict:
        if id not in self.refunds:
            raise missing("refund", id, "id")
        return self.refunds[id]

    def _get_payment_intent(self, params: dict, id: str) -> dict:
        if id not in self.payment_intents:
            raise missing("payment_intent", id, "intent")
        return self.payment_intents[id]

    def _get_charge(self, params: dict, id: str) -> dict:
        if id not in self.charges:
            raise missing("charge", id, "charge")
        return self.charges[id]

    def _get_event(self, params: dict, id: str) -> dict:
        if id not in self.events:
            raise missing("event", id, "id")
        return self.events[id]

    # Payments and events (under the lock) ---------------------------------------------------------------------

    def _complete(self, session_id: str, method: str, *, delayed: bool) -> dict:
        session = self._session(session_id)
        if session["status"] != "open":
            raise ValueError(f"{session_id} is {session['status']}: it can no longer be paid")
        if method not in ("card", "twint"):
            raise ValueError(f"unknown method {method!r}")
        amount, currency = session["amount_total"], session["currency"]
        intent_data = self._extras.get(session_id, {}).get("intent") or {}
        details = events.card(amount=amount) if method == "card" else events.twint()
        intent = events.payment_intent(
            amount=amount,
            amount_received=0 if delayed else amount,
            currency=currency,
            description=intent_data.get("description"),
            metadata=intent_data.get("metadata") or {},
            payment_method_types=[method],
            payment_method_options={}
            if method == "twint"
            else events.fixture("payment_intent")["payment_method_options"],
            receipt_email=session.get("customer_email"),
            status="processing" if delayed else "succeeded",
        )
        charge = events.charge(
            amount=amount,
            amount_captured=0 if delayed else amount,
            captured=not delayed,
            currency=currency,
            description=intent["description"],
            metadata={},  # Stripe copies no metadata from the PaymentIntent to its charge
            paid=not delayed,
            payment_intent=intent["id"],
            payment_method=intent["payment_method"],
            payment_method_details=details,
            receipt_email=session.get("customer_email"),
            status="pending" if delayed else "succeeded",
        )
        charge["billing_details"]["email"] = session.get("customer_email")
        intent["latest_charge"] = charge["id"]
        self.payment_intents[intent["id"]] = intent
        self.charges[charge["id"]] = charge
        session.update(
            status="complete",
            payment_status="unpaid" if delayed else "paid",
            payment_intent=intent["id"],
            url=None,
            customer_details={
                "address": charge["billing_details"]["address"],
                "email": session.get("customer_email"),
                "name": charge["billing_details"]["name"],
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        )
        return self._event(events.SESSION_COMPLETED, session)

    def _event(self, type: str, obj: dict, **kwargs) -> dict:
        evt = events.event(type, obj, request_id=None, **kwargs)
        self.events[evt["id"]] = evt
        return evt

    def _api_event(self, evt: dict) -> None:
        evt["request"] = {"id": events.new_id("req_", 14), "idempotency_key": None}  # caused by an API request
        super()._api_event(evt)

    # The hosted page -------------------------------------------------------------------------------------------

    def _hosted_page(self, request: Request) -> Response:
        session_id = request.path.removeprefix("/pay/").strip("/")
        with self.lock:
            session = copy.deepcopy(self._session(session_id)) if session_id in self.sessions else None
        if session is None:
            return self._page("<p>Something went wrong: this payment page does not exist.</p>", 404)
        if request.method == "POST":
            action = request.form.get("action", "")
            if action == "cancel":
                return self._back(session.get("cancel_url"), session_id)
            if action in ("card", "twint") and session["status"] == "open":
                with self.lock:
                    evt = self._complete(session_id, action, delayed=False)
                self._page_event(evt)
                return self._back(session.get("success_url"), session_id)
        if session["status"] != "open":
            state = "has been paid" if session["status"] == "complete" else "has expired"
            return self._page(f"<p>This checkout session {state}.</p>", 410)
        amount = html.escape(money(session["amount_total"], session["currency"]))
        lines = "".join(
            f"<li>{html.escape(line['name'])} × {line['quantity']}: "
            f"{html.escape(money(line['unit_amount'] * line['quantity'], line['currency']))}</li>"
            for line in self._lines(session_id)
        )
        buttons = (
            button("card", "Pay by card", "primary")
            + button("twint", "Pay with TWINT")
            + button("cancel", "Cancel", "ghost")
        )
        email = html.escape(session.get("customer_email") or "")
        body = (
            f'<p class="amount">{amount}</p><ul>{lines}</ul>'
            f'<p>{email}</p><p class="muted">Test mode: no money moves. Card 4242 4242 4242 4242.</p>{buttons}'
        )
        return self._page(body)

    def _back(self, url: str | None, session_id: str) -> Response:
        return self._redirect(url and url.replace("{CHECKOUT_SESSION_ID}", session_id))


def serving(**options):
    """A started stand-in (``StripeStandIn(**options)``), stopped at the end (see ``tests.standin.serving``)."""
    return standin.serving(StripeStandIn, **options)


def main() -> None:
    """``make stripe-standin``: Stripe's API and its hosted page on http://127.0.0.1:12111, posting its events to the
    shop served by ``make run`` — to try card and TWINT payments, refunds and expiries without a Stripe account."""
    standin.main(StripeStandIn, main.__doc__)


if __name__ == "__main__":
    main()
