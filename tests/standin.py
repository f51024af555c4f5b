"""What the local stand-ins of payment providers (``tests/stripe_standin.py``, ``datatrans_standin.py``,
``paypal_standin.py``) have in common: a pytest-httpserver ``HTTPServer`` that records every API call, fails or
delays the calls a test asks it to, routes the others through a table, shows a hosted page, and posts signed
webhooks to the shop (at once, later, or when ``flush()``ed).

A provider's stand-in subclasses ``ProviderStandIn`` and keeps what is its own: its endpoints and objects, its
authentication and idempotency rules, its signing, its page's contents. What the base keeps of idempotency is what the
three providers document alike: an answer is kept under its key for a while (``IDEMPOTENCY_SECONDS``), and, where the
provider says so (``CONFLICT_IN_FLIGHT``), a request sent again while the first with its key is still being answered
is refused (``_in_flight_error``) rather than carried out twice.
"""

import argparse
import base64
import copy
import html
import os
import re
import threading
import time
import types
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

Deliver = Callable[[bytes, dict], int]  # (raw body, headers) -> the HTTP status the shop answered


class ProviderError(Exception):
    """An error answer in the provider's shape: raised while answering a call, sent as its answer."""

    def __init__(self, status: int, body: dict, message: str):
        super().__init__(message)
        self.status, self.body = status, body


@dataclass
class Call:
    """One API request the stand-in received: ``body``, what it carried (decoded); ``idempotency_key``, the header
    the provider reads as one (``ProviderStandIn.IDEMPOTENCY_HEADER``)."""

    method: str
    path: str
    body: Any
    idempotency_key: str | None
    status: int = 0
    replayed: bool = False


@dataclass
class Delivery:
    """One webhook the stand-in posted (or tried to): the event, and what the shop answered (None: not sent)."""

    event: dict
    body: bytes
    headers: dict
    status: int | None = None
    error: str = ""

    @staticmethod
    def type_of(event: dict) -> str:
        """An event's type (what ``enabled_events`` name); a provider whose events say it elsewhere overrides it."""
        return event["type"]

    @property
    def type(self) -> str:
        return self.type_of(self.event)


@dataclass
class Fault:
    """What ``fail_next`` or ``hang_next`` asked for the next ``times`` requests to ``path``."""

    path: str | re.Pattern
    method: str | None
    kind: str  # "fail" | "hang"
    times: int
    status: int = 500
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return bool(self.path.fullmatch(path)) if isinstance(self.path, re.Pattern) else self.path == path


def money(amount: int, currency: str) -> str:
    """Minor units as the pages show them: ``CHF 129.00``."""
    return f"{currency.upper()} {amount / 100:,.2f}"


def basic_credentials(request: Request) -> tuple[str, str]:
    """The user and password of a Basic ``Authorization`` header (empty when there is none or it is not Basic)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password


def button(action: str, label: str, css_class: str = "") -> str:
    """A button of a hosted page: it posts ``action`` back to the page."""
    attribute = f' class="{css_class}"' if css_class else ""
    return (
        f'<form method="post"><input type="hidden" name="action" value="{action}">'
        f'<button type="submit"{attribute}>{label}</button></form>'
    )


PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
:root {{ --radius: 12px; --button-radius: 6px; --border: #d5dbe1; --on-primary: #fff; --primary-weight: normal;
        {theme} }}
body {{ font-family: system-ui, sans-serif; background: var(--page); color: var(--text); margin: 0; }}
main {{ max-width: 26rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: var(--radius);
       box-shadow: 0 2px 12px var(--shadow); }}
h1 {{ font-size: 1.1rem; color: var(--heading); margin-top: 0; }}
.amount {{ font-size: 2rem; font-weight: 600; margin: .5rem 0; }}
.muted {{ color: var(--muted); font-size: .9rem; }}
form {{ margin: .5rem 0; }}
button {{ width: 100%; padding: .75rem; font-size: 1rem; border-radius: var(--button-radius);
         border: 1px solid var(--border); background: #fff; cursor: pointer; }}
button.primary {{ background: var(--primary); color: var(--on-primary); border-color: var(--primary);
                 font-weight: var(--primary-weight); }}
button.ghost {{ border: 0; color: var(--ghost); }}
</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


class ProviderStandIn(HTTPServer):
    """A provider's API, hosted page and webhooks, in memory. Subclasses set the class attributes below and
    implement ``_serve_page``, ``_answer``, ``_json``, ``_fault_body`` and ``configure``."""

    PROVIDER = ""  # "Stripe": the page's title ("Stripe test page") and the command line's words
    PAGE_THEME = ""  # the page's colours, as the CSS custom properties of ``PAGE``
    IDEMPOTENCY_HEADER = "Idempotency-Key"
    IDEMPOTENCY_SECONDS: float | None = None  # how long the provider keeps an answer under its key (None: forever)
    CONFLICT_IN_FLIGHT = False  # a POST whose key's first request is still being answered: ``_in_flight_error``
    ROUTES: tuple[tuple[str, str, str], ...] = ()  # (method, path pattern, name of the handler)
    PORT = 0  # ``python -m``'s default port
    WEBHOOK_PATH = ""  # the shop's webhook, below ``--shop``
    SENDS = "events"  # what the command line says the stand-in posts
    SHOP_SETTINGS: tuple[str, ...] = ()  # the settings (of ``configure``) the command line tells the shop
    Call = Call
    Delivery = Delivery

    def __init__(
        self,
        webhook_url: str | None = None,
        *,
        deliver: Deliver | None = None,
        enabled_events: tuple[str, ...] | None = None,
        webhook_delay: float | None = 0.0,
        api_event_delay: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        """``webhook_url`` (or ``deliver``, a callable taking the raw body and the headers) receives the webhooks;
        ``enabled_events``: the event types the webhook is subscribed to (by default all); ``webhook_delay``: seconds
        between the hosted page's redirect and its webhook (0: the webhook is answered before the redirect; None:
        held until ``flush()``); ``api_event_delay``: seconds after which the webhooks an API call causes are sent,
        None to hold them until ``flush()``."""
        super().__init__(host=host, port=port, threaded=True)
        self.webhook_url, self.deliver, self.enabled_events = webhook_url, deliver, enabled_events
        self.webhook_delay, self.api_event_delay = webhook_delay, api_event_delay
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self.sent_events: list[Delivery] = []
        self.held_events: list[dict] = []
        self._idempotent: dict = {}  # key -> (when it was stored, what the stand-in keeps of the first answer)
        self._in_flight: set[str] = set()  # the keys of the POSTs being answered now
        self._answering = 0  # requests being answered now
        self._faults: list[Fault] = []
        self._timers: list[threading.Timer] = []
        self.expect_request(re.compile(r"/.*")).respond_with_handler(self._handle)

    # Lifecycle -------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base to put in the shop's settings (``configure`` does)."""
        return self.url_for("/").rstrip("/")

    def configure(self, settings) -> None:
        """Point the shop at this stand-in (Django's ``settings``)."""
        raise NotImplementedError

    def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        super().stop()

    def wait_for_calls(self, timeout: float = 10.0) -> None:
        """Wait until every request received has been answered (a slow one, ``hang_next``, is carried out all the
        same once the shop has stopped waiting for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self._answering:
                    return
            time.sleep(0.01)
        raise TimeoutError("the stand-in is still answering a request")

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        """Wait until the webhooks sent later (``webhook_delay``, ``api_event_delay``) have been posted."""
        deadline = time.monotonic() + timeout
        for timer in list(self._timers):
            timer.join(max(0.0, deadline - time.monotonic()))

    # Driving it from a test ------------------------------------------------------------------------------------

    def flush(self) -> list[Delivery]:
        """Send the events held back (``api_event_delay`` or ``webhook_delay`` None), in the order they happened."""
        with self.lock:
            held, self.held_events = self.held_events, []
        return [self._send(evt) for evt in held]

    def fail_next(self, path, status: int = 500, body: dict | None = None, *, method=None, times=1, headers=None):
        """The next ``times`` requests to ``path`` (exact, or a compiled pattern) answer ``status`` with ``body``
        (by default the provider's error of that status) and ``headers``."""
        if body is None:
            body = self._fault_body(status)
        with self.lock:
            self._faults.append(Fault(path, method, "fail", times, status, body, dict(headers or {})))

    def hang_next(self, path, seconds: float, *, method=None, times=1):
        """The next ``times`` requests to ``path`` are answered only after ``seconds`` (a time-out on the shop's
        side when longer than its ``PROVIDER_TIMEOUT``; the request is carried out all the same, as at a provider)."""
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

    def _handle(self, request: Request) -> Response:
        """Every request: the provider's pages, or an API call, recorded, faulted when asked, then answered."""
        page = self._serve_page(request)
        if page is not None:
            return page
        call = self.Call(request.method, request.path, None, request.headers.get(self.IDEMPOTENCY_HEADER))
        with self.lock:
            self.calls.append(call)
            self._answering += 1
        claimed = None
        try:
            self._read(request, call)
            claimed = self._claim(request.method, call.idempotency_key)
            fault = self._take_fault(request.method, request.path)
            if fault is not None and fault.kind == "hang":
                time.sleep(fault.seconds)
            elif fault is not None:
                call.status = fault.status
                return self._json(fault.body, fault.status, fault.headers)
            status, body, headers = self._answer(request, call)
        except ProviderError as error:
            status, body, headers = error.status, error.body, {}
        finally:
            with self.lock:
                self._answering -= 1
                if claimed is not None:
                    self._in_flight.discard(claimed)
        call.status = status
        return self._json(body, status, headers, call)

    # Idempotency ---------------------------------------------------------------------------------------------------

    def _claim(self, method: str, key: str | None) -> str | None:
        """A POST with a key, while ``CONFLICT_IN_FLIGHT``: the key is being answered from now on (returned, to be
        released). Raises ``_in_flight_error`` when another request with the key is being answered (a retry sent
        before the first one's answer, as after a client's time-out)."""
        if not self.CONFLICT_IN_FLIGHT or method != "POST" or not key:
            return None
        with self.lock:
            if key in self._in_flight:
                raise self._in_flight_error(key)
            self._in_flight.add(key)
        return key

    def _in_flight_error(self, key: str) -> ProviderError:
        """The provider's answer to a request whose key's first request is still being answered."""
        raise NotImplementedError

    def _recall(self, key):
        """What was kept under an idempotency key (under the lock); None when nothing is, or what was is older than
        ``IDEMPOTENCY_SECONDS`` (the provider pruned it: the key makes a new request)."""
        entry = self._idempotent.get(key)
        if entry is None:
            return None
        stored_at, kept = entry
        if self.IDEMPOTENCY_SECONDS is not None and time.time() - stored_at >= self.IDEMPOTENCY_SECONDS:
            del self._idempotent[key]
            return None
        return copy.deepcopy(kept)

    def _keep(self, key, kept) -> None:
        """Keep what a request with an idempotency key was answered (under the lock), from now on."""
        self._idempotent[key] = (time.time(), copy.deepcopy(kept))

    def _serve_page(self, request: Request) -> Response | None:
        """The answer to a request that is no API call (the hosted page), None for an API call."""
        return None

    def _read(self, request: Request, call: Call) -> None:
        """What to decode into ``call`` before faults are applied (by default nothing: ``_answer`` reads the body)."""

    def _answer(self, request: Request, call: Call) -> tuple[int, Any, dict]:
        """An API call's status, body and headers: authenticated, read into ``call.body``, routed."""
        raise NotImplementedError

    def _json(self, body, status: int, headers: dict, call: Call | None = None) -> Response:
        """The response; ``call``: the call it answers (None: the answer of a fault, sent as asked)."""
        raise NotImplementedError

    def _fault_body(self, status: int) -> dict:
        """``fail_next``'s body when none is given: the provider's error for ``status``."""
        raise NotImplementedError

    def _no_route(self, method: str, path: str) -> ProviderError:
        raise NotImplementedError

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _endpoint(self, method: str, path: str) -> tuple[Callable, dict]:
        """The handler of a request (from ``ROUTES``, the first that matches) and the ids its path names."""
        for route_method, pattern, name in self.ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return getattr(self, name), match.groupdict()
        raise self._no_route(method, path)

    # Webhooks ------------------------------------------------------------------------------------------------------

    def _post(self, delivery: Delivery) -> Delivery:
        """Post a signed webhook to the shop (or hand it to ``deliver``), recording it and what the shop answered."""
        with self.lock:
            self.sent_events.append(delivery)
            url = self._webhook_url(delivery.event)
        try:
            if self.deliver is not None:
                delivery.status = self.deliver(delivery.body, delivery.headers)
            elif url:
                request = urllib.request.Request(url, data=delivery.body, headers=delivery.headers, method="POST")
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (a local URL)
                    delivery.status = response.status
        except urllib.error.HTTPError as error:
            delivery.status, delivery.error = error.code, error.read().decode(errors="replace")
        except OSError as error:
            delivery.error = str(error)
        return delivery

    def _webhook_url(self, evt: dict) -> str | None:
        """Where an event goes (under the lock)."""
        return self.webhook_url

    def _send(self, evt: dict) -> Delivery:
        """Send an event as it is, signed as the provider signs it."""
        raise NotImplementedError

    def _subscribed(self, evt: dict) -> bool:
        return self.enabled_events is None or self.Delivery.type_of(evt) in self.enabled_events

    def _send_or_return(self, evt: dict, send: bool):
        """What a test driver returns: the Delivery (None when the webhook is not subscribed to the event), or the
        event itself when ``send`` is False."""
        if not send:
            return evt
        if not self._subscribed(evt):
            return None
        return self._send(evt)

    def _api_event(self, evt: dict) -> None:
        """An event an API call caused: held until ``flush()``, or sent after ``api_event_delay`` seconds."""
        if self.api_event_delay is None:
            self._hold(evt)
        else:
            self._later(self.api_event_delay, evt)

    def _page_event(self, evt: dict) -> None:
        """An event of the hosted page: sent before its redirect, after ``webhook_delay`` seconds, or held."""
        if self.webhook_delay is None:
            self._hold(evt)
        elif self.webhook_delay:
            self._later(self.webhook_delay, evt)
        else:
            self._send_or_return(evt, True)

    def _hold(self, evt: dict) -> None:
        with self.lock:
            if self._subscribed(evt):
                self.held_events.append(evt)

    def _later(self, seconds: float, evt: dict) -> None:
        if not self._subscribed(evt):
            return
        timer = threading.Timer(seconds, self._send, args=(evt,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    # The hosted page -------------------------------------------------------------------------------------------

    def _page(self, body: str, status: int = 200, lang: str = "en") -> Response:
        title = html.escape(f"{self.PROVIDER} test page")
        page = PAGE.format(lang=lang, title=title, theme=self.PAGE_THEME, body=body)
        return Response(page, status, content_type="text/html; charset=utf-8")

    def _redirect(self, url: str | None) -> Response:
        """Back to the shop (303), or a last page when the shop gave no URL."""
        if not url:
            return self._page("<p>Done. You can close this page.</p>")
        return Response("", 303, {"Location": url})

    # The command line ------------------------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """The provider's own options of ``python -m``; each ``dest`` is an argument of the constructor."""

    def shop_environment(self) -> str:
        """The settings to serve the shop with, as ``configure`` sets them."""
        settings = types.SimpleNamespace()
        self.configure(settings)
        return " ".join(f"{name}={getattr(settings, name)}" for name in self.SHOP_SETTINGS)


@contextmanager
def serving(cls: type[ProviderStandIn], **options):
    """A started stand-in (``cls(**options)``), stopped at the end; an error one of its handlers met is raised then,
    so that a test never passes over a request the stand-in could not answer."""
    server = cls(**options)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.check_handler_errors()


def main(cls: type[ProviderStandIn], description: str) -> None:
    """``python -m tests.<provider>_standin``: the stand-in on its own port, posting to the shop of ``make run``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=int(os.environ.get("STANDIN_PORT", str(cls.PORT))))
    parser.add_argument("--shop", default=os.environ.get("SITE_URL", "http://127.0.0.1:8000"), help="the shop's URL")
    cls.add_arguments(parser)
    options = vars(parser.parse_args())
    shop = options.pop("shop")
    standin = cls(webhook_url=shop.rstrip("/") + cls.WEBHOOK_PATH, api_event_delay=0.5, **options)
    standin.start()
    print(
        f"{cls.PROVIDER} stand-in on {standin.url}, sending its {cls.SENDS} to {standin.webhook_url}. "
        f"Serve the shop with:\n  {standin.shop_environment()} make run\nCtrl-C stops it."
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()
