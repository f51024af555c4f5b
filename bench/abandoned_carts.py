"""Abandoned-carts benchmark (not a test): Sales → Abandoned carts and the reminder round with 10,000 left carts.

    .venv/bin/python bench/abandoned_carts.py   # PostgreSQL: DATABASE_URL or postgres://postgres@127.0.0.1/bench_carts

It migrates a fresh database and seeds BENCH_CARTS (10,000) carts left over the last 13 days (one to three lines
each, German, French and English), a first reminder on a third of them and 100 carts won back by an order. Then, in
this process (the embedded default: tasks in-process, e-mails written as files under a temporary folder):

- the list and a cart's page through Django's test client as a logged-in merchant: median ms over 20 requests and
  the number of queries, for the first and a deep page, each filter, and a search;
- the beat round (``send_due_reminders``, 200 reminders a round, each rendered and written like a real e-mail):
  reminders per second;
- the 30-day purge of all of them (the clock moved on by 31 days): carts per second, outbox addresses erased.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARTS = int(os.environ.get("BENCH_CARTS", "10000"))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_carts"


def recreate_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)


def seed():
    from decimal import Decimal

    from django.utils import timezone

    from orders.models import Order
    from shop.backoffice.models import Store
    from shop.cart.models import Cart, CartLine, CartReminder
    from shop.catalog.models import Category, Product

    store = Store.load()
    store.plan, store.test_mode = Store.Plan.STANDARD, False
    store.save()
    category = Category.objects.create(name="Mugs", slug="mugs")
    products = Product.objects.bulk_create(
        Product(category=category, name=f"Mug {i}", slug=f"mug-{i}", sku=f"MUG-{i}", price=Decimal("24.50"), stock=50)
        for i in range(50)
    )
    now = timezone.now()
    languages = ["de", "fr", "en"]
    carts = Cart.objects.bulk_create(
        (
            Cart(
                email=f"shopper{i}@example.ch",
                shopper_name=f"Shopper {i}",
                language=languages[i % 3],
                last_activity_at=now - timedelta(hours=3) - timedelta(minutes=(i * 13 * 24 * 60) // CARTS),
            )
            for i in range(CARTS)
        ),
        batch_size=2000,
    )
    CartLine.objects.bulk_create(
        (
            CartLine(cart=cart, product=products[(i + n) % len(products)], quantity=1 + n)
            for i, cart in enumerate(carts)
            for n in range(1 + i % 3)
        ),
        batch_size=5000,
    )
    CartReminder.objects.bulk_create(
        (
            CartReminder(cart=cart, kind="first", created_at=cart.last_activity_at + timedelta(hours=2))
            for cart in carts[::3]
        ),
        batch_size=5000,
    )
    for i, cart in enumerate(carts[1:300:3]):  # reminded carts won back by an order
        order = Order.objects.create(
            email=cart.email, number=1001 + i, total=Decimal("49.00"), payment_method="invoice"
        )
        Cart.objects.filter(pk=cart.pk).update(recovered_order=order, recovered_via="email", recovered_at=now)
    subprocess.run(["psql", os.environ["DATABASE_URL"], "-qc", "ANALYZE"], check=True)
    return carts


def timed(client, url, runs=20):
    from django.db import connection

    client.get(url)  # warm: the store and the settings cached, the session read once
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(queries)


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-carts-"))
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="shop.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + "x" * 50,
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        VAR_DIR=str(tmp),
        LOG_LEVEL="WARNING",
        PERIODIC_IN_PROCESS="0",
        STATIC_ROOT=str(tmp / "static"),  # with DEBUG off the pages need the manifest
    )
    os.environ.pop("REDIS_URL", None)
    recreate_database(os.environ["DATABASE_URL"])
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import time_machine
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from notifications.models import EmailSettings, OutgoingEmail
    from shop.cart import recovery, services

    started = time.perf_counter()
    carts = seed()
    print(f"seeded {CARTS:,} left carts in {time.perf_counter() - started:.1f} s")

    user = get_user_model().objects.create_user("merchant", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    base = "/backoffice/abandoned-carts/"
    pages = [
        ("list, page 1", base),
        ("list, page 100", base + "?page=100"),
        ("reminded", base + "?show=reminded"),
        ("not reminded yet", base + "?show=not_reminded"),
        ("recovered", base + "?show=recovered&period=365"),
        ("ordered later", base + "?show=ordered"),
        ("search an e-mail", base + "?q=shopper4242"),
        ("a cart's page", base + f"{carts[3].pk}/"),
    ]
    print(f"{'page':20} {'ms (median of 20)':>18} {'queries':>8}")
    for name, url in pages:
        ms, queries = timed(client, url)
        print(f"{name:20} {ms:18.1f} {queries:8d}")

    email_settings = EmailSettings.load()
    email_settings.cart_reminders, email_settings.cart_reminders_since = True, timezone.now()
    email_settings.save()
    rounds, sent, started = 0, 0, time.perf_counter()
    while rounds < 5:
        result = recovery.send_due_reminders()
        rounds, sent = rounds + 1, sent + result["first"] + result["second"]
    elapsed = time.perf_counter() - started
    written = OutgoingEmail.objects.filter(kind="abandoned_cart", status="sent").count()
    print(f"beat rounds: {sent} reminders in {rounds} rounds, {elapsed:.2f} s: {sent / elapsed:.0f} reminders/s")
    print(f"  ({written} e-mails rendered and written; {services.abandoned_carts().count():,} carts to win back)")

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        started = time.perf_counter()
        purged = services.purge_stale_carts()
        elapsed = time.perf_counter() - started
    erased = OutgoingEmail.objects.filter(kind="abandoned_cart", to="").count()
    print(f"purge: {purged:,} carts in {elapsed:.2f} s ({purged / elapsed:,.0f}/s), {erased} outbox addresses erased")
    return 0


if __name__ == "__main__":
    sys.exit(main())
