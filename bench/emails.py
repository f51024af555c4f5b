"""E-mail benchmark (not a test): 10,000 queued e-mails sent by a real Celery worker (2 processes) on Redis through a
local SMTP sink.

    .venv/bin/python bench/emails.py     # PostgreSQL: DATABASE_URL or postgres://postgres@127.0.0.1/bench_emails
                                         # Redis: BENCH_REDIS_URL or redis://127.0.0.1:6379/14 (flushed)

It migrates a fresh database, seeds 100 orders (two lines each) and BENCH_EMAILS (10,000) outbox rows (order
confirmations in German, French and English, rendered at send time like real ones), starts the SMTP sink
(``bench/smtp_sink.py``), hands every row to Redis in a message of its own (``send_email``, the task ``notify()``
queues after a commit), then starts ``celery worker -c BENCH_CONCURRENCY`` (2, prefork) and waits until all are sent.
It prints e-mails/s from the first to the last row sent, and checks that every row ended ``sent`` after exactly one
try and that the sink got each e-mail once.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMAILS = int(os.environ.get("BENCH_EMAILS", "10000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "2"))
POOL = os.environ.get("BENCH_POOL", "prefork")
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_emails"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_env(tmp: Path, smtp_port: int) -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DB)
    env.update(
        DJANGO_SETTINGS_MODULE="shop.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        VAR_DIR=str(tmp),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="0",
        LOG_LEVEL="WARNING",
    )
    return env


def recreate_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)


def seed() -> list[int]:
    from decimal import Decimal

    from notifications.kinds import Kind
    from notifications.models import OutgoingEmail
    from orders.models import Order, OrderLine
    from shop.backoffice.models import Store

    store = Store.load()
    store.email = "shop@alpenladen.ch"
    store.street, store.postcode, store.city = "Limmatquai 42", "8001", "Zürich"
    store.bank_iban = "CH93 0076 2011 6238 5295 7"
    store.save()
    languages = ["de", "fr", "en"]
    orders = []
    for i in range(100):
        order = Order.objects.create(
            number=1001 + i,
            email=f"shopper{i}@example.ch",
            language=languages[i % 3],
            payment_method="bank_transfer",
            shipping_method_name="Swiss Post",
            shipping_total=Decimal("7.00"),
            subtotal=Decimal("56.70"),
            vat_total=Decimal("1.95"),
            total=Decimal("63.70"),
            **{f"{k}_name": f"Shopper {i}" for k in ("shipping", "billing")},
            **{f"{k}_street": "Bahnhofstrasse 1" for k in ("shipping", "billing")},
            **{f"{k}_postcode": "8001" for k in ("shipping", "billing")},
            **{f"{k}_city": "Zürich" for k in ("shipping", "billing")},
            **{f"{k}_country": "CH" for k in ("shipping", "billing")},
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    name="Alpine Blend Coffee",
                    sku="COF-1",
                    unit_price="18.90",
                    vat_rate="2.60",
                    quantity=2,
                ),
                OrderLine(
                    order=order, name="Swiss Chocolate", sku="CHO-1", unit_price="18.90", vat_rate="2.60", quantity=1
                ),
            ]
        )
        orders.append(order)
    rows = OutgoingEmail.objects.bulk_create(
        [
            OutgoingEmail(
                kind=Kind.ORDER_CONFIRMATION,
                order=orders[i % 100],
                to=orders[i % 100].email,
                language=orders[i % 100].language,
            )
            for i in range(EMAILS)
        ],
        batch_size=2000,
    )
    return [row.pk for row in rows]


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-emails-"))
    smtp_port = free_port()
    env = prepare_env(tmp, smtp_port)
    python = str(ROOT / ".venv" / "bin" / "python")
    recreate_database(env["DATABASE_URL"])
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "flushdb"], check=True, capture_output=True)

    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db.models import Max, Min

    from notifications.models import OutgoingEmail
    from notifications.tasks import send_email

    pks = seed()
    ids_file = tmp / "received.txt"
    sink = subprocess.Popen(
        [python, str(ROOT / "bench" / "smtp_sink.py"), str(smtp_port), str(ids_file)], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout.readline().strip() == "ready"
    try:
        started = time.perf_counter()
        for pk in pks:  # one message per e-mail: the worker's cost per e-mail, Celery's included
            send_email.delay(pk)
        handed = time.perf_counter() - started
        worker_log = open(tmp / "worker.log", "w")  # noqa: SIM115
        common = ["-l", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"]
        if POOL == "solo":  # CONCURRENCY single-process workers: no pool parent between Redis and the work
            commands = [
                [python, "-m", "celery", "-A", "shop", "worker", "-P", "solo", "-n", f"bench{i}@%h", *common]
                for i in range(CONCURRENCY)
            ]
        else:  # one prefork worker: a parent process feeding CONCURRENCY child processes
            commands = [
                [python, "-m", "celery", "-A", "shop", "worker", "-P", "prefork", "-c", str(CONCURRENCY), *common]
            ]
        workers = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT)
            for command in commands
        ]
        started = time.perf_counter()
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT).count() >= EMAILS:
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        worker_log.close()
    finally:
        sink.terminate()
        sink.wait(timeout=10)

    first, last = OutgoingEmail.objects.aggregate(first=Min("sent_at"), last=Max("sent_at")).values()
    sending = (last - first).total_seconds() if first and last else float("inf")
    statuses = Counter(OutgoingEmail.objects.values_list("status", flat=True))
    tries = Counter(OutgoingEmail.objects.values_list("attempts", flat=True))
    received = Counter(ids_file.read_text().split()) if ids_file.exists() else Counter()
    duplicates = sum(1 for count in received.values() if count > 1)
    print(f"e-mails:            {EMAILS:,} ({CONCURRENCY} worker processes, {POOL}, Redis, SMTP sink on 127.0.0.1)")
    print(f"handed to Redis:    {handed:.2f} s ({EMAILS / handed:.0f}/s), before the worker starts")
    print(f"worker start → all sent: {elapsed:.2f} s (includes the worker's start-up)")
    print(f"first → last sent:  {sending:.2f} s")
    print(f"throughput:         {EMAILS / sending:.0f} e-mails/s")
    print(f"rows by status:     {dict(statuses)}; tries per row: {dict(tries)}")
    print(f"sink received:      {sum(received.values()):,} messages, {len(received):,} distinct, {duplicates} twice")
    ok = statuses == {"sent": EMAILS} and tries == {1: EMAILS} and len(received) == EMAILS and not duplicates
    print("check:              " + ("OK: every row sent exactly once" if ok else f"FAILED (see {tmp}/worker.log)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
