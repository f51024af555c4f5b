"""The embedded default (SQLite) takes concurrent shoppers: 32 of them adding to their carts at once get no error.

This runs a real server process (gunicorn, 2 workers × 16 threads, so writers compete across processes and threads)
on a fresh SQLite file configured exactly as ``make run`` configures it, whatever database the rest of the suite uses.
"""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.concurrency

ROOT = Path(__file__).resolve().parent.parent
SHOPPERS = 32
ROUNDS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sqlite_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(VAR_DIR=str(tmp_path), DEBUG="1", DJANGO_SETTINGS_MODULE="shop.settings", PYTHONUNBUFFERED="1")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*manage, "load_demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "shop.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "16", "-k", "gthread"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "gunicorn.log", "w"),  # noqa: SIM115 — closed with the process
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start: " + (tmp_path / "gunicorn.log").read_text())
        yield base, tmp_path / "shop.sqlite3"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_32_shoppers_add_to_their_carts_at_once(sqlite_server):
    base, database = sqlite_server
    start = threading.Barrier(SHOPPERS)
    statuses, errors = [], []

    def shopper():
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                page = client.get("/en/p/cof-alp-500/").text
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
                product = re.search(r'name="product" value="(\d+)"', page).group(1)
                start.wait()
                for _ in range(ROUNDS):
                    response = client.post(
                        "/en/cart/add/",
                        data={"csrfmiddlewaretoken": token, "product": product, "quantity": "1"},
                        headers={"HX-Request": "true", "Referer": base + "/en/p/cof-alp-500/"},
                    )
                    statuses.append(response.status_code)
                    if "was added to your cart" not in response.text:
                        errors.append(response.text[:300])
                cart = client.get("/en/cart/")
                statuses.append(cart.status_code)
                if "Alpine Blend Coffee Beans 500 g" not in cart.text:
                    errors.append("cart lost its line")
        except Exception as error:  # noqa: BLE001 — collected and asserted below
            errors.append(repr(error))

    threads = [threading.Thread(target=shopper) for _ in range(SHOPPERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert statuses.count(200) == SHOPPERS * (ROUNDS + 1)
    with sqlite3.connect(database) as db:
        carts = db.execute("SELECT COUNT(*) FROM cart_cart").fetchone()[0]
        quantities = [q for (q,) in db.execute("SELECT quantity FROM cart_cartline")]
    assert carts == SHOPPERS
    assert quantities == [ROUNDS] * SHOPPERS
