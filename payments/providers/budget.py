"""Time budgets for the calls to the payment providers' APIs.

A web request must answer well inside gunicorn's worker time-out (``--timeout 30``, docker-compose.yml): a worker past
it is killed, and the shopper gets an error page for an order that is already placed. So every provider call made in
a request shares one deadline: ``PROVIDER_BUDGET`` seconds from the request's start (``ProviderBudgetMiddleware``),
for all its calls together, retries and the pauses between them included. Background tasks (applying a webhook event,
reconciling a payment, settling a refund left pending) give each event or payment ``PROVIDER_TASK_BUDGET``; a call
made anywhere else (the shell, a management command) gets ``PROVIDER_BUDGET`` for itself. Budgets nest: an inner one
never ends after the one around it.

One attempt (one HTTP exchange) ends within ``PROVIDER_TIMEOUT`` and within the budget, whatever comes first; a retry
is made only while the budget leaves room for the pause and for an attempt worth making (``RETRY_ROOM``).

The three providers reach their APIs through one httpx client (``http_client``) whose network layer bounds every
operation (connecting, each write, each read of the answer) by the time left: a provider that accepts the connection
and never answers, or sends its answer one byte at a time, is cut off at the deadline, not after a per-read time-out
that each trickled byte would start again (httpx's own time-outs are per operation). Two waits are bounded less
tightly: the TLS handshake waits at most the time left when it starts for each of its reads, and the name lookup is
the system resolver's. Stripe's SDK
reaches it through ``StripeProvider``'s HTTP client, PayPal's SDK through ``PayPalProvider``'s, Datatrans's calls
directly. Proxies from the environment are not used for these calls (they would bypass the bounded network layer).

A call cut off by its budget raises the HTTP library's time-out (``httpx.TimeoutException``): for the providers, the
provider "could not be reached", and what it did with the call is unknown (``ProviderUnreachable``).
"""

import contextlib
import ssl
import threading
import time
from contextvars import ContextVar

import httpcore
import httpx
from django.conf import settings

# A retry is worth making when at least this long (or the whole attempt time-out, when shorter) is left after its
# pause: a provider that answers at all answers its API calls within a second or two.
RETRY_ROOM = 2.0

_deadline: ContextVar[float | None] = ContextVar("provider_deadline", default=None)


@contextlib.contextmanager
def limit(seconds: float):
    """The provider calls made inside end within ``seconds`` from now, or sooner when a budget around it ends
    sooner."""
    end = time.monotonic() + max(0.0, float(seconds))
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextlib.contextmanager
def task():
    """Around one background task's provider calls for one event or payment: ``PROVIDER_TASK_BUDGET`` (within the web
    request's budget when the task runs in one: eager tasks without a broker). Also a decorator."""
    with limit(settings.PROVIDER_TASK_BUDGET):
        yield


@contextlib.contextmanager
def call():
    """Around one provider call (what a provider's ``_call`` makes, retries included): the budget it is made in, or
    ``PROVIDER_BUDGET`` of its own when no budget was entered."""
    if _deadline.get() is None:
        with limit(settings.PROVIDER_BUDGET):
            yield
    else:
        yield


@contextlib.contextmanager
def attempt():
    """Around one attempt (one HTTP exchange, the whole answer read): ``PROVIDER_TIMEOUT``, within the budget."""
    with call(), limit(settings.PROVIDER_TIMEOUT):
        yield


def left() -> float:
    """Seconds left of the budget (infinite outside any)."""
    deadline = _deadline.get()
    return float("inf") if deadline is None else deadline - time.monotonic()


def room_for_retry(pause: float) -> bool:
    """Whether another attempt is worth making after a pause of ``pause`` seconds."""
    return left() - pause >= min(RETRY_ROOM, settings.PROVIDER_TIMEOUT)


def pause_before_retry(pause: float) -> bool:
    """Sleep ``pause`` seconds and say True when the budget has room for it and a retry; False (no sleep) if not."""
    if not room_for_retry(pause):
        return False
    if pause > 0:
        time.sleep(pause)
    return True


# The bounded network layer -------------------------------------------------------------------------------------------


def _bounded(timeout: float | None, error: type[Exception]) -> float:
    """An operation's time-out: its own, and never past the deadline; ``error`` when the deadline has passed."""
    if _deadline.get() is None:  # used outside any budget: each operation waits PROVIDER_TIMEOUT at most
        return settings.PROVIDER_TIMEOUT if timeout is None else min(timeout, settings.PROVIDER_TIMEOUT)
    remaining = left()
    if remaining <= 0:
        raise error("the time budget for the provider's answer is spent")
    return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the deadline of the call using it (read when the
    operation starts: a pooled connection serves each call with that call's budget)."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """httpcore's own network backend, its connections bounded by the deadline (``_Stream``)."""

    def __init__(self):
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class Transport(httpx.HTTPTransport):
    """httpx's transport, its connections made through the bounded network backend. httpx takes no network backend
    of its own: the connection pool it keeps (``_pool``) is replaced by one built with it (httpx's keep-alive limits,
    no limit on connections)."""

    def __init__(self, ssl_context: ssl.SSLContext):
        super().__init__(verify=ssl_context, trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):  # pragma: no cover
            raise RuntimeError(
                "httpx.HTTPTransport no longer keeps its pool in _pool: see payments/providers/budget.py"
            )
        # waiting for a free connection would be a wait the network layer can't bound: there is no limit
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=None,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_Backend(),
        )


_clients: dict[str, httpx.Client] = {}
_clients_lock = threading.Lock()


def http_client(cafile: str = "") -> httpx.Client:
    """The process's client for the providers' APIs (one per trust store: ``cafile``, or certifi's), thread-safe and
    kept: its connections are reused from call to call. Use it inside ``attempt()``: its own time-outs are off, the
    network layer bounds each exchange by the attempt's deadline."""
    with _clients_lock:
        client = _clients.get(cafile)
        if client is None:
            context = ssl.create_default_context(cafile=cafile) if cafile else httpx.create_ssl_context()
            client = _clients[cafile] = httpx.Client(transport=Transport(context), trust_env=False, timeout=None)
    return client
