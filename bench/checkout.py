"""Checkout benchmark (not a test): concurrent shoppers placing bank-transfer orders against limited stock.

    .venv/bin/python bench/checkout.py            # PostgreSQL: DATABASE_URL or postgres://postgres@127.0.0.1/bench_checkout

It migrates a fresh database, seeds one product with limited stock and one cart per order attempt (more attempts than
stock, so the end of the run is a race for the last units), serves the shop with gunicorn and production settings,
and lets BENCH_SHOPPERS (50) concurrent shoppers press **Order** (POST /en/checkout/) as fast as answers come back.
Only the Order request is timed. It prints orders/s, p50 and p99 of the Order request, the answers by kind, and checks
``orders placed + stock left == starting stock``. Any answer other than an order or "sold out" is an error.
"""

import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOCK = int(os.environ.get("BENCH_STOCK", "1500"))
ATTEMPTS = int(os.environ.get("BENCH_ATTEMPTS", "2000"))
SHOPPERS = int(os.environ.get("BENCH_SHOPPERS", "50"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 2) + 1)))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_checkout"
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.setdefault("DATABASE_URL", DEFAULT_DB)
    env.update(
        DJANGO_SETTINGS_MODULE="shop.settings",
        DEBUG="0",
        SECRET_KEY="bench-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        VAR_DIR=str(tmp),
        STATIC_ROOT=str(tmp / "static"),
        LOG_LEVEL="WARNING",
        # As in production, the e-mails of each order are handed to a broker (Redis) after the commit and sent by a
        # worker elsewhere (measured by bench/emails.py); no worker runs here, the queue is flushed before each run.
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_BROKER_URL=BROKER,
    )
    subprocess.run(["redis-cli", "-u", BROKER, "flushdb"], check=True, capture_output=True)
    return env


def recreate_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)


def seed(env: dict) -> list[str]:
    """Store, shipping, one product with STOCK units, ATTEMPTS carts; returns the signed cart cookies."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from decimal import Decimal

    from django.core.signing import get_cookie_signer

    from shop.backoffice.models import Store
    from shop.cart.middleware import SALT
    from shop.cart.models import Cart, CartLine
    from shop.catalog.models import Category, Product
    from shop.checkout.models import ShippingMethod

    store = Store.load()
    store.bank_iban = "CH93 0076 2011 6238 5295 7"
    store.save()
    ShippingMethod.objects.create(name="Swiss Post", price=Decimal("7.00"))
    category = Category.objects.create(name="Bench", slug="bench")
    product = Product.objects.create(
        category=category, name="Limited Fondue Set", slug="limited", sku="LIM-1", price=Decimal("129.00"), stock=STOCK
    )
    carts = Cart.objects.bulk_create(Cart(email="bench@example.ch") for _ in range(ATTEMPTS))
    CartLine.objects.bulk_create(CartLine(cart=cart, product=product, quantity=1) for cart in carts)
    signer = get_cookie_signer(salt="cart" + SALT)
    return [signer.sign(cart.token) for cart in carts]


FORM = {
    "email": "bench@example.ch",
    "payment_method": "bank_transfer",
    "shipping_name": "Bench Shopper",
    "shipping_street": "Bahnhofstrasse 1",
    "shipping_postcode": "8001",
    "shipping_city": "Zürich",
    "shipping_country": "CH",
    "billing_same": "on",
}


async def run_load(base: str, cookies: list[str]) -> tuple[list[float], dict, float]:
    import httpx

    queue: asyncio.Queue[str] = asyncio.Queue()
    for cookie in cookies:
        queue.put_nowait(cookie)
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    limits = httpx.Limits(max_connections=SHOPPERS, max_keepalive_connections=SHOPPERS)

    async def shopper(client: httpx.AsyncClient, first_cookie: str):
        # One GET to obtain the CSRF cookie and form token (not timed), then Order after Order.
        page = await client.get("/en/checkout/", cookies={"cart": first_cookie})
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        csrf = client.cookies.get("csrftoken")
        data = {**FORM, "csrfmiddlewaretoken": token}
        page_method = re.search(r'name="shipping_method" value="(\d+)"', page.text).group(1)
        data["shipping_method"] = page_method
        while True:
            try:
                cookie = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            response = await client.post(
                "/en/checkout/",
                data=data,
                cookies={"cart": cookie, "csrftoken": csrf},
                headers={"Referer": base + "/en/checkout/"},
            )
            latencies.append(time.perf_counter() - started)
            # A shopper follows the redirect and reads the "thank you" message; this one does not, so it must not
            # carry the unread messages (a growing cookie, then a session) into the next Order.
            client.cookies.clear()
            location = response.headers.get("location", "")
            if response.status_code == 302 and "/order/" in location:
                kind = "order placed"
            elif response.status_code == 302 and location.endswith("/cart/"):
                kind = "sold out"
            else:
                kind = f"error {response.status_code}"
            outcomes[kind] = outcomes.get(kind, 0) + 1

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as warm:
        await warm.get("/healthz")
    firsts = [queue.get_nowait() for _ in range(SHOPPERS)]
    clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(SHOPPERS)]
    for cookie in firsts:
        queue.put_nowait(cookie)  # the first GETs only read the cart; every cart is still ordered once
    started = time.perf_counter()
    try:
        await asyncio.gather(*(shopper(client, cookie) for client, cookie in zip(clients, firsts, strict=True)))
    finally:
        for client in clients:
            await client.aclose()
    return latencies, outcomes, time.perf_counter() - started


def run_wrk(base: str, cookies: list[str], tmp: Path) -> tuple[dict, float, float, float]:
    """The same load from wrk (C, light on CPU): the Python client takes about half a core from the server."""
    import urllib.parse

    import httpx

    with httpx.Client(base_url=base) as client:  # one GET for a CSRF cookie and form token, shared by every request
        page = client.get("/en/checkout/", cookies={"cart": cookies[0]})
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        method = re.search(r'name="shipping_method" value="(\d+)"', page.text).group(1)
        csrf = client.cookies.get("csrftoken")
    (tmp / "cookies.txt").write_text("\n".join(cookies) + "\n")
    threads = 2
    env = {
        **os.environ,
        "BENCH_COOKIES": str(tmp / "cookies.txt"),
        "BENCH_WRK_THREADS": str(threads),
        "BENCH_CSRF": csrf,
        "BENCH_BODY": urllib.parse.urlencode({**FORM, "shipping_method": method, "csrfmiddlewaretoken": token}),
    }
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{SHOPPERS}",
            "-d120s",
            "--timeout",
            "30s",
            "-s",
            str(ROOT / "bench" / "checkout.lua"),
            base + "/en/checkout/",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK "))
    values = dict(item.split("=") for item in line.split()[1:])
    outcomes = {"order placed": int(values["placed"]), "sold out": int(values["soldout"])}
    if int(values["errors"]):
        outcomes["error"] = int(values["errors"])
    return outcomes, float(values["seconds"]), float(values["p50_ms"]), float(values["p99_ms"])


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-checkout-"))
    env = prepare_env(tmp)
    python = str(ROOT / ".venv" / "bin" / "python")
    recreate_database(env["DATABASE_URL"])
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    cookies = seed(env)
    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "shop.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(WORKERS),
            "--access-logfile",
            "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
        ],
        cwd=ROOT,
        env=env,
        stderr=open(tmp / "gunicorn.log", "w"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        import resource

        client = os.environ.get("BENCH_CLIENT", "wrk" if shutil.which("wrk") else "python")
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN if client == "wrk" else resource.RUSAGE_SELF)
        if client == "wrk":
            outcomes, elapsed, p50, p99 = run_wrk(base, cookies, tmp)
        else:
            latencies, outcomes, elapsed = asyncio.run(run_load(base, cookies))
            latencies.sort()
            p50 = statistics.median(latencies) * 1000
            p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN if client == "wrk" else resource.RUSAGE_SELF)
        client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    finally:
        server.terminate()
        server.wait(10)

    from django.db.models import Max, Min

    from orders.models import Order
    from shop.catalog.models import Product

    placed = Order.objects.count()
    window = Order.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    order_seconds = (window["last"] - window["first"]).total_seconds() if placed > 1 else elapsed
    left = Product.objects.get(sku="LIM-1").stock
    print(
        f"checkout benchmark: {SHOPPERS} concurrent shoppers, {ATTEMPTS} Order attempts, stock {STOCK}, "
        f"gunicorn {WORKERS} sync workers, client {client}, {env['DATABASE_URL'].split('@')[-1]}"
    )
    print(
        f"  orders/s          {placed / order_seconds:8.1f}   ({placed} orders placed within {order_seconds:.2f} s, "
        f"first to last; the load ran {elapsed:.1f} s)"
    )
    print(f"  Order request     p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    print(f"  answers           {dict(sorted(outcomes.items()))}")
    print(f"  load client CPU   {client_cpu:.1f} s of {elapsed:.1f} s (it shares the 2 cores with the server)")
    consistent = placed + left == STOCK
    print(
        f"  stock check       {placed} placed + {left} left = {placed + left} (start {STOCK}): "
        f"{'OK' if consistent else 'MISMATCH'}"
    )
    errors = sum(n for kind, n in outcomes.items() if kind.startswith("error"))
    if errors:
        print(f"  ERRORS: {errors}; gunicorn log: {tmp / 'gunicorn.log'}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if consistent and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
