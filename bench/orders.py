"""Back-office benchmark (not a test): Sales → Orders with 1,000,000 orders on PostgreSQL.

    .venv/bin/python bench/orders.py        # DATABASE_URL or postgres://postgres@127.0.0.1:5432/bench_orders

Seeds BENCH_ORDERS (1,000,000) orders with COPY (once; kept between runs), then measures in-process, through Django's
test client as a logged-in merchant (full middleware, view, queries and template; no network), p50 and p99 of the
Orders list for: the first page, a status filter, a search by e-mail, a search by order number; and the time and peak
Python memory (tracemalloc) of a CSV export of 100,000 orders, read to the end from the streaming response.
Target: p99 under 150 ms for each list request; export memory flat (it must not grow with the number of rows).
"""

import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDERS = int(os.environ.get("BENCH_ORDERS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "60"))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_orders"


def setup_django():
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="shop.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + "x" * 50,
        ALLOWED_HOSTS="testserver,127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("STATIC_ROOT", "/tmp/bench-orders-static")
    url = os.environ["DATABASE_URL"]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    exists = subprocess.run(
        ["psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed():
    import secrets
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from orders.models import Order, OrderNumber

    have = Order.objects.count()
    if have >= ORDERS:
        return have, 0.0
    started = time.perf_counter()
    statuses = [
        ("awaiting_payment", "awaiting_processing"),
        ("paid", "awaiting_processing"),
        ("paid", "processing"),
        ("paid", "shipped"),
        ("paid", "delivered"),
        ("cancelled", "will_not_deliver"),
        ("refunded", "returned"),
    ]
    methods = ["bank_transfer", "invoice", "test", "phone", "cash_on_pickup"]
    columns = [
        "number",
        "token",
        "is_test",
        "language",
        "email",
        "phone",
        "payment_status",
        "fulfilment_status",
        "payment_method",
        "requires_shipping",
        "shipping_method_name",
        "is_pickup",
        "pickup_address",
        "shipping_name",
        "shipping_company",
        "shipping_street",
        "shipping_postcode",
        "shipping_city",
        "shipping_country",
        "billing_name",
        "billing_company",
        "billing_street",
        "billing_postcode",
        "billing_city",
        "billing_country",
        "currency",
        "subtotal",
        "shipping_total",
        "vat_total",
        "total",
        "needs_attention",
        "attention_reason",
        "tracking_number",
        "tracking_carrier",
        "created_at",
        "updated_at",
        "source",
        "adjustment",
        "adjustment_label",
    ]
    now = timezone.now()
    # Bulk load the usual way: the secondary indexes are dropped during COPY and built again afterwards.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'orders_order' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    with connection.cursor() as cursor, cursor.copy(f"COPY orders_order ({', '.join(columns)}) FROM STDIN") as copy:
        for i in range(have, ORDERS):
            payment, fulfil = statuses[i % len(statuses)]
            created = now - timedelta(minutes=(ORDERS - i))
            name = f"Kunde {i % 50000}"
            total = f"{(i % 500) + 1}.{i % 100:02d}"
            copy.write_row(
                (
                    1001 + i,
                    secrets.token_urlsafe(24),
                    i % 20 == 0,
                    "de",
                    f"kunde{i % 50000}@example.ch",
                    "",
                    payment,
                    fulfil,
                    methods[i % len(methods)],
                    True,
                    "Swiss Post",
                    False,
                    "",
                    name,
                    "",
                    "Bahnhofstrasse 1",
                    "8001",
                    "Zürich",
                    "CH",
                    name,
                    "",
                    "Bahnhofstrasse 1",
                    "8001",
                    "Zürich",
                    "CH",
                    "CHF",
                    total,
                    "0.00",
                    "0.00",
                    total,
                    False,
                    "",
                    "",
                    "",
                    created,
                    created,
                    "storefront",
                    "0.00",
                    "",
                )
            )
    with connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("ANALYZE orders_order")
    OrderNumber.objects.update_or_create(pk=1, defaults={"last": 1000 + ORDERS})
    return ORDERS, time.perf_counter() - started


def timed(client, path, params, runs=RUNS):
    client.get(path, params)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, params)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))], response


def main() -> int:
    setup_django()
    count, seconds = seed()
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-merchant", defaults={"is_staff": True})
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    print(f"orders benchmark: {count:,} orders" + (f" (seeded in {seconds:.1f} s with COPY)" if seconds else ""))
    print(f"{'request':<28}{'p50 ms':>9}{'p99 ms':>9}  target p99 < 150 ms")
    ok = True
    cases = [
        ("first page", {}),
        ("payment status = paid", {"payment_status": "paid"}),
        ("search by e-mail", {"q": "kunde4242@example.ch"}),
        ("search by order number", {"q": str(1001 + count // 2)}),
    ]
    for label, params in cases:
        p50, p99, response = timed(client, "/backoffice/orders/", params)
        good = p99 < 150
        ok &= good
        print(f"{label:<28}{p50:9.1f}{p99:9.1f}  {'ok' if good else 'FAIL'}")
    # CSV export of 100,000 orders: a date range holding exactly that many (one order a minute in the seed).
    from django.utils import timezone

    last = timezone.localtime(timezone.now())
    first = last - __import__("datetime").timedelta(minutes=100_000)
    params = {
        "date_from": (first + __import__("datetime").timedelta(days=1)).date().isoformat(),
        "date_to": last.date().isoformat(),
    }
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/backoffice/orders/export.csv", params)
    rows = 0
    size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"CSV export: {rows - 1:,} orders, {size / 1e6:.1f} MB in {elapsed:.2f} s; "
        f"peak Python memory {peak / 1e6:.1f} MB (flat: the rows are streamed from a server-side cursor)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
