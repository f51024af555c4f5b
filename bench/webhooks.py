"""Webhook benchmark (not a test; issue #11): signed Stripe events posted by concurrent clients to gunicorn, applied by
a real Celery worker on Redis, checked for "processed once".

    .venv/bin/python bench/webhooks.py                # --events 3000, 5 % duplicates, 16 clients
    .venv/bin/python bench/webhooks.py --help         # workers, worker class, Celery concurrency, client, …

PostgreSQL: DATABASE_URL or postgres://postgres@127.0.0.1:5432/bench_webhooks (created with createdb when missing,
migrated, its order, payment, webhook and outbox tables emptied). Redis: BENCH_REDIS_URL or redis://127.0.0.1:6379/5
(flushed), the broker and the cache as in production.

It seeds N orders awaiting payment by Stripe, each with a pending Payment (provider "stripe", provider reference
``cs_bench_<n>``), and N ``checkout.session.completed`` events (payment_status paid, amount_total and currency chf of
the payment, client_reference_id = the payment's reference), plus ~5 % exact duplicates of some of them, re-sent
either right behind the original (in flight at the same time) or later. A Stripe stand-in answers the worker's
re-read of the Checkout Session (``StripeProvider.fetch_status``, through STRIPE_API_BASE): ``tests/stripe_standin.py``
in a process of its own, its tables seeded with each payment's session, PaymentIntent and charge. Then gunicorn
(``shop.wsgi``, bench.settings, 2 × cores + 1 sync workers) and ``celery -A shop worker`` (prefork, 3 processes) are
started, and 16 httpx clients (threads) post every event, each signed with
``stripe.WebhookSignature.generate_signature_header`` as it is sent, to ``/webhooks/stripe/``.

It prints the accepted rate (2xx answers / wall time of the posting phase), p50 and p99 of the 2xx answers, the
non-2xx count, the time until every stored event was processed and the drain rate, the share of the machine's CPU
taken by other processes, and checks: every distinct event stored once, every event processed, each order Paid
exactly once (one ``payment_confirmed`` entry, payment status paid), no payment confirmed twice. Exit status 1 when a
check fails (the throughput target is reported, not enforced).
"""

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_webhooks"
DEFAULT_REDIS = "redis://127.0.0.1:6379/5"
CORES = os.cpu_count() or 1
TARGET_RATE, TARGET_P99_MS = 300.0, 100.0
# The tables the benchmark fills, emptied before each run (the rest of the database is left as migrate made it).
TABLES = (
    "payments_webhookevent",
    "payments_refund",
    "payments_payment",
    "notifications_outgoingemail",
    "orders_orderevent",
    "orders_orderline",
    "orders_orderstock",
    "orders_order",
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000, help="distinct events, one order each (3000)")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share of events re-sent (0.05)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument(
        "--client", choices=("threads", "asyncio"), default="threads", help="httpx clients: threads (default), asyncio"
    )
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync", help="gunicorn (sync)")
    parser.add_argument("--workers", type=int, default=2 * CORES + 1, help=f"gunicorn workers ({2 * CORES + 1})")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker (8)")
    parser.add_argument("--concurrency", type=int, default=3, help="Celery worker processes, prefork (3)")
    parser.add_argument("--worker-nice", type=int, default=0, help="nice value of the Celery worker (0)")
    parser.add_argument(
        "--worker-during",
        choices=("on", "off"),
        default="on",
        help="on: the Celery worker runs while events are posted, as in production (default); off: it is started "
        "once the posting phase is over, so that the two phases are measured apart",
    )
    parser.add_argument(
        "--wsgi",
        default="shop.wsgi:application",
        help="the WSGI application gunicorn serves (shop.wsgi:application); a candidate change kept outside the "
        "repository can be served this way, found through PYTHONPATH",
    )
    parser.add_argument("--celery-app", default="shop", help="the worker's -A (shop); see --wsgi")
    parser.add_argument("--no-emails", action="store_true", help="switch off the 'payment received' e-mail")
    parser.add_argument("--seed", type=int, default=11, help="random seed of the duplicates' positions")
    parser.add_argument("--drain-timeout", type=float, default=600, help="seconds to wait for processing (600)")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (logs)")
    parser.add_argument("--standin", metavar="SEED_JSON", help=argparse.SUPPRESS)  # internal: the stand-in process
    return parser.parse_args(argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(f"[bench/webhooks] {message}", flush=True)


# --- The Stripe stand-in, in a process of its own -------------------------------------------------------------------
# ``tests/stripe_standin.py`` answers the worker's GET /v1/checkout/sessions/<id>?expand[]=payment_intent.latest_charge
# from its in-memory tables, seeded here with each payment's session (complete, paid), PaymentIntent and charge. It
# runs apart from the load clients so that the two do not share a GIL; it counts as part of the benchmark in the CPU
# figures. It posts no webhook itself: the benchmark's clients do.


def run_standin(seed_file: str) -> int:
    import logging

    from tests.stripe_standin import StripeStandIn

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    seed = json.loads(Path(seed_file).read_text())
    standin = StripeStandIn(api_key="sk_test_bench")
    with standin.lock:
        for table in ("sessions", "payment_intents", "charges"):
            getattr(standin, table).update({obj["id"]: obj for obj in seed[table]})
    standin.start()
    print(f"ready {standin.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    standin.stop()
    return 0


# --- Preparation --------------------------------------------------------------------------------------------------


def prepare_env(tmp: Path, secret: str) -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DB)
    env.pop("EMAIL_HOST", None)  # e-mails as files in the temporary directory
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        VAR_DIR=str(tmp),
        STATIC_ROOT=str(tmp / "static"),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
        CELERY_TASK_ALWAYS_EAGER="0",
        PERIODIC_IN_PROCESS="0",
        LOG_LEVEL="WARNING",
        STRIPE_SECRET_KEY="sk_test_bench",
        STRIPE_WEBHOOK_SECRET=secret,
        SITE_URL="http://127.0.0.1:8000",
    )
    env.pop("CELERY_BROKER_URL", None)  # the broker is REDIS_URL, as in production
    (tmp / "static").mkdir()
    return env


def ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        raise SystemExit("bench/webhooks.py needs PostgreSQL (DATABASE_URL=postgres://…)")
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError:
        name = url.rsplit("/", 1)[1].split("?")[0]
        host = url.split("@", 1)[1].split("/", 1)[0]
        hostname, _, port = host.partition(":")
        log(f"creating database {name}")
        subprocess.run(["createdb", "-h", hostname, "-p", port or "5432", "-U", "postgres", name], check=True)


def seed(n: int, no_emails: bool) -> list[dict]:
    """Store, e-mail settings, n orders awaiting a Stripe payment, each with its pending Payment; returns what the
    events and the stand-in need of each payment."""
    from decimal import Decimal

    from django.db import connection

    from notifications.kinds import Kind
    from notifications.models import EmailSettings
    from orders.models import Order, OrderLine, OrderNumber
    from payments.models import Payment, PaymentMethod
    from shop.backoffice.models import Store

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    store = Store.load()
    store.email = "shop@alpenladen.ch"
    store.street, store.postcode, store.city = "Limmatquai 42", "8001", "Zürich"
    store.bank_iban = "CH93 0076 2011 6238 5295 7"
    store.save()
    email_settings = EmailSettings.load()
    email_settings.disabled_kinds = [Kind.PAYMENT_RECEIVED] if no_emails else []
    email_settings.save()
    PaymentMethod.objects.update_or_create(code="stripe", defaults={"is_enabled": True})
    languages = ["de", "fr", "en"]
    address = {
        f"{kind}_{field}": value
        for kind in ("shipping", "billing")
        for field, value in (
            ("name", "Bench Shopper"),
            ("street", "Bahnhofstrasse 1"),
            ("postcode", "8001"),
            ("city", "Zürich"),
            ("country", "CH"),
        )
    }
    orders = []
    for i in range(n):
        price = Decimal(20 + i % 480) + Decimal("0.50")
        orders.append(
            Order(
                number=100001 + i,
                email=f"shopper{i}@example.ch",
                language=languages[i % 3],
                payment_method="stripe",
                shipping_method_name="Swiss Post",
                shipping_total=Decimal("7.00"),
                subtotal=price,
                vat_total=((price + 7) * Decimal("0.081") / Decimal("1.081")).quantize(Decimal("0.01")),
                total=price + Decimal("7.00"),
                **address,
            )
        )
    orders = Order.objects.bulk_create(orders, batch_size=1000)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=o, name="Alpine Blend Coffee", sku="COF-1", unit_price=o.subtotal, vat_rate="8.10", quantity=1
            )
            for o in orders
        ],
        batch_size=1000,
    )
    OrderNumber.objects.update_or_create(pk=1, defaults={"last": 100000 + n})
    payments = Payment.objects.bulk_create(
        [
            Payment(order=o, provider="stripe", amount=o.total, currency="CHF", provider_reference=f"cs_bench_{i}")
            for i, o in enumerate(orders)
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
    return [
        {
            "n": i,
            "order": o.number,
            "email": o.email,
            "reference": p.reference,
            "session": p.provider_reference,
            "amount": p.amount_minor,
        }
        for i, (o, p) in enumerate(zip(orders, payments, strict=True))
    ]


def build_events(payments: list[dict]) -> tuple[dict, list[bytes]]:
    """The stand-in's tables (each session complete and paid, its PaymentIntent and charge) and one event body per
    payment (the session as the event carries it: the PaymentIntent by id)."""
    from tests import stripe_events as se

    tables = {"sessions": [], "payment_intents": [], "charges": []}
    bodies = []
    for p in payments:
        metadata = {"order": str(p["order"]), "payment": p["reference"]}
        intent = se.payment_intent(
            id=f"pi_bench_{p['n']}", amount=p["amount"], amount_received=p["amount"], currency="chf", metadata=metadata
        )
        charge = se.charge(
            amount=p["amount"],
            amount_captured=p["amount"],
            currency="chf",
            payment_intent=intent["id"],
            payment_method_details=se.card(amount=p["amount"]),
            metadata=metadata,
        )
        intent["latest_charge"] = charge["id"]
        session = se.checkout_session(
            id=p["session"],
            client_reference_id=p["reference"],
            metadata=metadata,
            amount_subtotal=p["amount"],
            amount_total=p["amount"],
            currency="chf",
            customer_email=p["email"],
            status="complete",
            payment_status="paid",
            payment_intent=intent["id"],
            url=None,
        )
        tables["sessions"].append(session)
        tables["payment_intents"].append(intent)
        tables["charges"].append(charge)
        bodies.append(se.payload(se.event(se.SESSION_COMPLETED, session, event_id=f"evt_bench_{p['n']}")).encode())
    return tables, bodies


def schedule(bodies: list[bytes], share: float, rng: random.Random, window: int) -> list[int]:
    """The order of sending: every event once, plus ``share`` of them again; half of the repeats right behind their
    original (within ``window``, so in flight at the same time), the other half later in the run."""
    order = list(range(len(bodies)))
    repeats = rng.sample(range(len(bodies)), round(share * len(bodies)))
    for k, index in enumerate(repeats):
        at = order.index(index)
        last = min(at + window, len(order)) if k % 2 == 0 else len(order)
        order.insert(rng.randint(at + 1, last), index)
    return order


# --- Load ---------------------------------------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> dict:
    import stripe

    return {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body.decode(), secret),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }


def post_asyncio(url: str, bodies, plan, secret, clients: int):
    import httpx

    results = []
    position = iter(plan)

    async def client_loop(client):
        for index in position:
            body = bodies[index]
            headers = sign(body, secret)
            started = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            results.append((index, status, time.perf_counter() - started))

    async def main():
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        pool = [httpx.AsyncClient(timeout=60, limits=limits) for _ in range(clients)]
        try:
            await asyncio.gather(*(client_loop(client) for client in pool))
        finally:
            for client in pool:
                await client.aclose()

    asyncio.run(main())
    return results


def post_threads(url: str, bodies, plan, secret, clients: int):
    import httpx

    results = []
    lock = threading.Lock()
    position = iter(plan)

    def client_loop():
        with httpx.Client(timeout=60) as client:
            while True:
                with lock:
                    index = next(position, None)
                if index is None:
                    return
                body = bodies[index]
                headers = sign(body, secret)
                started = time.perf_counter()
                try:
                    status = client.post(url, content=body, headers=headers).status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                results.append((index, status, time.perf_counter() - started))

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- CPU of other processes ---------------------------------------------------------------------------------------


def read_processes() -> dict:
    """{pid: (ppid, start time, cpu ticks, cmdline)}. Like bench/cpu_monitor.py, but a process is known by its pid and
    start time: PostgreSQL backends change their title with every statement ("idle", "INSERT", …)."""
    processes = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is fields[0]
        processes[int(name)] = (int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12]), cmdline)
    return processes


CPU_PARTS = ("gunicorn", "celery", "postgres", "redis", "stand-in", "client")
PG_AUXILIARY = {"walwriter", "checkpointer", "background writer", "autovacuum launcher", "logical replication launcher"}


class CpuMonitor(threading.Thread):
    """bench/cpu_monitor.py's accounting for a benchmark of several processes, sampled from /proc every 0.5 s: the
    CPU of this process (the load clients), of the gunicorn, Celery and stand-in process trees, of the benchmark
    database's PostgreSQL backends and of redis-server (the broker; shared with anything else using that Redis) is
    "ours", per part; the rest is "other"."""

    def __init__(self, roots: dict[int, str], db: str):
        super().__init__(daemon=True)
        self.roots, self.db = {os.getpid(): "client", **roots}, db
        self.ticks: Counter = Counter()
        self.halt = threading.Event()

    def part(self, pid, processes) -> str:
        cmdline = processes[pid][3]
        if cmdline.startswith("postgres:"):
            if f" {self.db} " in f"{cmdline} " or cmdline.split(":")[-1].strip() in PG_AUXILIARY:
                return "postgres"  # the benchmark database's backends, and the WAL writer and others its writes wake
            return "other"
        if cmdline.split(" ", 1)[0].endswith("redis-server"):
            return "redis"
        for _ in range(20):
            if pid in self.roots:
                return self.roots[pid]
            if pid not in processes:
                break
            pid = processes[pid][0]
        return "other"

    def run(self):
        started = time.monotonic()
        before = read_processes()
        while not self.halt.wait(0.5):
            after = read_processes()
            for pid, (_ppid, start, ticks, _cmdline) in after.items():
                previous = before.get(pid)
                # A process seen for the first time started during the interval (or reused a pid): all its time is new.
                delta = ticks - previous[2] if previous and previous[1] == start else ticks
                if delta > 0:
                    self.ticks[self.part(pid, after)] += delta
            before = after
        self.elapsed = time.monotonic() - started

    def stop(self) -> dict[str, float]:
        """Percent of the machine (all cores) per part: "other", and ours by part."""
        self.halt.set()
        self.join()
        capacity = max(self.elapsed * os.sysconf("SC_CLK_TCK") * CORES, 1)
        return {part: 100 * ticks / capacity for part, ticks in self.ticks.items()}


def busy_before(seconds: float = 1.0) -> float:
    """Share of the machine's CPU busy before anything of the benchmark runs (all processes)."""

    def ticks():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + values[4]

    total1, idle1 = ticks()
    time.sleep(seconds)
    total2, idle2 = ticks()
    return 100 * (1 - (idle2 - idle1) / max(total2 - total1, 1))


# --- Run ----------------------------------------------------------------------------------------------------------


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def stop_process(process, name, timeout=10):
    """SIGTERM, then (a Celery worker finishing its prefetched tasks, say) SIGQUIT, then SIGKILL. What a stopped
    worker leaves in Redis does not matter: the benchmark's Redis database is flushed at the start."""
    if process is None or process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGQUIT, signal.SIGKILL):
        process.send_signal(sig)
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            log(f"{name} still running {timeout} s after {sig.name}")


def main(args) -> int:
    if args.standin:
        return run_standin(args.standin)

    def terminated(signum, _frame):
        log(f"signal {signal.Signals(signum).name} received")
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    secret = "whsec_" + secrets.token_hex(16)
    env = prepare_env(tmp, secret)
    python = str(ROOT / ".venv" / "bin" / "python")
    processes: dict[str, subprocess.Popen] = {}
    ok = interrupted = False
    try:
        busy = busy_before()
        if busy > 10:
            log(f"WARNING: the machine is busy before the start ({busy:.0f} % CPU): figures will be low and noisy")
        ensure_database(env["DATABASE_URL"])
        log("migrate")
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "flushdb"], check=True, capture_output=True)
        os.environ.update(env)
        import django

        django.setup()
        log(f"seeding {args.events} orders and payments")
        payments = seed(args.events, args.no_emails)
        tables, bodies = build_events(payments)
        plan = schedule(bodies, args.duplicates, random.Random(args.seed), window=args.clients)
        (tmp / "standin.json").write_text(json.dumps(tables))

        standin = subprocess.Popen(
            [python, str(Path(__file__).resolve()), "--standin", str(tmp / "standin.json")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=open(tmp / "standin.log", "w"),  # noqa: SIM115
            text=True,
        )
        processes["stand-in"] = standin
        line = standin.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError(f"the Stripe stand-in did not start (see {tmp / 'standin.log'})")
        standin_url = line[1]
        env["STRIPE_API_BASE"] = standin_url
        os.environ["STRIPE_API_BASE"] = standin_url

        port = free_port()
        gunicorn = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            args.wsgi,
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.workers),
            "-k",
            args.worker_class,
            "--backlog",
            "2048",
        ]
        if args.worker_class == "gthread":
            gunicorn += ["--threads", str(args.threads)]
        processes["gunicorn"] = subprocess.Popen(
            gunicorn,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "gunicorn.log", "w"),  # noqa: SIM115
        )
        worker_log = open(tmp / "worker.log", "w")  # noqa: SIM115
        worker_command = [
            *(["nice", "-n", str(args.worker_nice)] if args.worker_nice else []),
            python,
            "-m",
            "celery",
            "-A",
            args.celery_app,
            "worker",
            "-P",
            "prefork",
            "-c",
            str(args.concurrency),
            "-n",
            f"bench-webhooks-{os.getpid()}@%h",
            "-l",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ]

        def start_worker():
            processes["celery"] = subprocess.Popen(
                worker_command, cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT
            )
            from shop.celery import app

            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if processes["celery"].poll() is not None:
                    raise RuntimeError(f"the Celery worker exited (see {tmp / 'worker.log'})")
                if app.control.ping(timeout=0.5):
                    return
            raise RuntimeError("the Celery worker did not answer a ping within 60 s")

        import httpx

        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or processes["gunicorn"].poll() is not None:
                raise RuntimeError(f"gunicorn did not start (see {tmp / 'gunicorn.log'})")
            time.sleep(0.1)
        if args.worker_during == "on":
            start_worker()
        # Warm-up, not counted: every gunicorn worker loads the webhook view and stripe (a bad signature: 400, no row).
        with httpx.Client(timeout=10) as client:
            for _ in range(4 * args.workers):
                client.post(base + "/webhooks/stripe/", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})

        url = base + "/webhooks/stripe/"
        roots = {process.pid: name for name, process in processes.items()}
        db_name = env["DATABASE_URL"].rsplit("/", 1)[1].split("?")[0]
        monitor = CpuMonitor(roots, db_name)
        monitor.start()
        log(
            f"posting {len(plan)} events ({len(plan) - len(bodies)} repeats) from {args.clients} {args.client} "
            f"clients to gunicorn {args.workers} {args.worker_class} workers"
            + (f" × {args.threads} threads" if args.worker_class == "gthread" else "")
        )
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        wall_started = time.time()
        started = time.perf_counter()
        post = post_asyncio if args.client == "asyncio" else post_threads
        results = post(url, bodies, plan, secret, args.clients)
        posting = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_post = monitor.stop()
        answers = Counter(status for _, status, _ in results)
        log(f"posted in {posting:.2f} s; answers: {dict(answers)}")
        accepted_events = {index for index, status, _ in results if isinstance(status, int) and 200 <= status < 300}
        client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)

        # Drain: wait until every stored event has left "received".
        from django.db.models import Count, Max, Min

        from payments.models import WebhookEvent

        monitor = CpuMonitor(roots, db_name)
        monitor.start()
        if args.worker_during == "off":
            log("starting the Celery worker")
            drain_started = time.time()
            start_worker()
            monitor.roots[processes["celery"].pid] = "celery"
        else:
            drain_started = wall_started
        log("waiting until every stored event is processed")
        deadline = time.monotonic() + args.drain_timeout
        counts = {}
        while time.monotonic() < deadline:
            counts = dict(WebhookEvent.objects.values_list("status").annotate(n=Count("id")))
            if not counts.get(WebhookEvent.Status.RECEIVED) and sum(counts.values()) >= len(accepted_events):
                break
            time.sleep(0.1)
        else:
            log(f"not every event processed within {args.drain_timeout:.0f} s")
        drained_at = time.time()
        cpu_drain = monitor.stop()
        window = WebhookEvent.objects.aggregate(
            first=Min("received_at"), last_received=Max("received_at"), last=Max("processed_at")
        )

        ok = report(
            args,
            results=results,
            posting=posting,
            client_cpu=client_cpu,
            cpu_post=cpu_post,
            cpu_drain=cpu_drain,
            wall_started=wall_started,
            drain_started=drain_started,
            drained_at=drained_at,
            window=window,
            counts=counts,
            n=len(bodies),
            repeats=len(plan) - len(bodies),
            payments=payments,
            busy=busy,
            tmp=tmp,
        )
        return 0 if ok else 1
    except KeyboardInterrupt:
        log("interrupted")
        interrupted = True
        return 130
    finally:
        for name in ("gunicorn", "celery", "stand-in"):
            stop_process(processes.get(name), name)
        if (ok or interrupted) and not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"logs kept in {tmp}")


def report(
    args,
    *,
    results,
    posting,
    client_cpu,
    cpu_post,
    cpu_drain,
    wall_started,
    drain_started,
    drained_at,
    window,
    counts,
    n,
    repeats,
    payments,
    busy,
    tmp,
) -> bool:
    """Print the figures and the checks; True when every check passed."""
    from django.db.models import Count, Q

    from notifications.kinds import Kind
    from notifications.models import OutgoingEmail
    from orders.models import Order, OrderEvent
    from orders.status import PaymentStatus
    from payments.models import Payment, WebhookEvent

    accepted = sorted(latency for _, status, latency in results if isinstance(status, int) and 200 <= status < 300)
    refused = [status for _, status, _ in results if not (isinstance(status, int) and 200 <= status < 300)]
    rate = len(accepted) / posting
    p50 = statistics.median(accepted) * 1000 if accepted else float("nan")
    p99 = percentile(accepted, 0.99) * 1000 if accepted else float("nan")
    server = f"gunicorn {args.workers} {args.worker_class} workers" + (
        f" × {args.threads} threads" if args.worker_class == "gthread" else ""
    )
    print()
    print(
        f"webhook benchmark {time.strftime('%Y-%m-%d %H:%M %Z')}: {n} checkout.session.completed events + {repeats} "
        f"repeats, {args.clients} {args.client} clients, {server}, Celery prefork -c {args.concurrency}"
        + (f" nice {args.worker_nice}" if args.worker_nice else "")
        + " "
        f"(during the posting: {args.worker_during}), {CORES} cores, e-mails {'off' if args.no_emails else 'on'}, "
        f"CPU busy before start {busy:.0f} %"
    )
    print(f"  posting phase     {len(results)} requests in {posting:.2f} s")
    verdict = "PASS" if rate >= TARGET_RATE and p99 < TARGET_P99_MS else "FAIL"
    print(
        f"  accepted/s        {rate:8.1f}   (2xx answers / wall time; target >= {TARGET_RATE:.0f} with p99 < "
        f"{TARGET_P99_MS:.0f} ms: {verdict})"
    )
    slowest = accepted[-1] * 1000 if accepted else 0
    print(f"  2xx latency       p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {slowest:.1f} ms")
    print(f"  non-2xx           {len(refused)}" + (f"  {dict(Counter(refused))}" if refused else ""))
    print(f"  client CPU        {client_cpu:.1f} s of {posting:.1f} s (the load client shares the cores)")
    machine_busy = max(cpu_post.get("other", 0), cpu_drain.get("other", 0)) > 10
    print(
        f"  other CPU         {cpu_post.get('other', 0):.0f} % of the machine while posting, "
        f"{cpu_drain.get('other', 0):.0f} % while draining"
        + ("   [machine busy: figures not trustworthy]" if machine_busy else "")
    )
    for phase, cpu in (("posting", cpu_post), ("draining", cpu_drain)):
        parts = ", ".join(f"{part} {cpu.get(part, 0):.0f}" for part in CPU_PARTS)
        print(f"  CPU {phase:<9}     % of the machine: {parts}")
    stored = sum(counts.values())
    processed = counts.get(WebhookEvent.Status.PROCESSED, 0)
    if window["first"] and window["last"]:
        # from the rows' own timestamps: first received (or the worker's start) → last processed
        begin = window["first"].timestamp() if args.worker_during == "on" else drain_started
        span = window["last"].timestamp() - begin
        print(
            f"  drain             all {processed} processed {drained_at - drain_started:.2f} s after "
            + ("the first post" if args.worker_during == "on" else "the worker was started")
            + f" ({max(drained_at - wall_started - posting, 0):.2f} s after the last answer); "
            + ("first received" if args.worker_during == "on" else "worker start")
            + f" → last processed {span:.2f} s: {processed / span if span > 0 else 0:.0f} events/s"
        )
    else:
        print("  drain             nothing processed")
    emails = OutgoingEmail.objects.filter(kind=Kind.PAYMENT_RECEIVED)
    print(
        f"  e-mails           {emails.count()} 'payment received' queued, "
        f"{emails.filter(status=OutgoingEmail.Status.SENT).count()} sent by the end (not waited for)"
    )

    checks = []
    ids = set(WebhookEvent.objects.values_list("event_id", flat=True))
    expected = {f"evt_bench_{p['n']}" for p in payments}
    checks.append(
        (
            "every distinct event stored once",
            stored == n and ids == expected and not refused,
            f"{stored} rows, {len(ids & expected)} of {n} events, {len(refused)} refused",
        )
    )
    checks.append(("every event processed", processed == n, f"{dict(counts)}"))
    confirmed = dict(
        OrderEvent.objects.filter(type=OrderEvent.Type.PAYMENT_CONFIRMED).values_list("order").annotate(c=Count("id"))
    )
    orders = Order.objects.count()
    paid = Order.objects.filter(payment_status=PaymentStatus.PAID).count()
    to_paid = (
        OrderEvent.objects.filter(type=OrderEvent.Type.PAYMENT_STATUS, new_value=PaymentStatus.PAID)
        .values("order")
        .annotate(c=Count("id"))
        .filter(c__gt=1)
        .count()
    )
    checks.append(
        (
            "each order Paid exactly once",
            orders == n and paid == n and len(confirmed) == n and set(confirmed.values()) == {1} and not to_paid,
            f"{paid} of {orders} paid, {len(confirmed)} with a payment_confirmed entry, "
            f"{sum(1 for c in confirmed.values() if c > 1)} with more than one, {to_paid} turned Paid twice",
        )
    )
    payments_qs = Payment.objects.all()
    references = list(
        OrderEvent.objects.filter(type=OrderEvent.Type.PAYMENT_CONFIRMED).values_list("data__reference", flat=True)
    )
    flagged = payments_qs.filter(~Q(surplus="")).count() + Order.objects.filter(needs_attention=True).count()
    checks.append(
        (
            "no payment confirmed twice",
            len(references) == len(set(references)) and not flagged,
            f"{len(references)} confirmations of {len(set(references))} payments, {flagged} surplus or flagged",
        )
    )
    reread = payments_qs.filter(method_detail="Visa •••• 4242", transaction_reference__startswith="pi_bench_").count()
    checks.append(
        (
            "every payment re-read from the stand-in",
            reread == n,
            f"{reread} of {n} with the method and PaymentIntent of the expanded session",
        )
    )
    for name, passed, detail in checks:
        print(f"  check             {'OK  ' if passed else 'FAIL'} {name}: {detail}")
    ok = all(passed for _, passed, _ in checks)
    if not ok:
        print(f"  logs: {tmp}")
    return ok


if __name__ == "__main__":
    sys.exit(main(parse_args()))
