"""A real Celery worker process against the machine's Redis sends an order's e-mails over real SMTP.

Runs where ``REDIS_URL`` is set (CI sets it); the worker uses the test database, so the test commits for real."""

import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.db import connection

from notifications.models import OutgoingEmail
from tests.factories import ProductFactory

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL"),
    pytest.mark.django_db(transaction=True),
]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(smtp_sink, tmp_path):
    """``celery worker`` in its own process, on a queue of its own, sending to the SMTP sink."""
    queue = f"test-emails-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "EMAIL_USE_TLS": "0",
        "VAR_DIR": str(tmp_path),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "shop", "worker", "-Q", queue, "-P", "solo", "-l", "INFO"]
        + ["--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield queue, tmp_path / "worker.log"
    process.terminate()
    process.wait(timeout=20)
    log.close()


def test_a_real_worker_sends_the_order_emails(place, store, worker, smtp_sink):
    from celery import current_app

    from notifications.tasks import send_email, send_emails

    queue, log = worker
    store.email = "shop@alpenladen.ch"
    store.save()
    product = ProductFactory(name="Fondue Set", price=Decimal("129.00"), stock=5)
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        # The hand-over after the commit is the real one, only aimed at this test's queue.
        with (
            mock.patch.object(send_email, "delay", lambda pk: send_email.apply_async((pk,), queue=queue)),
            mock.patch.object(send_emails, "delay", lambda pks: send_emails.apply_async((pks,), queue=queue)),
        ):
            order = place(product, 1, language="de")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if OutgoingEmail.objects.filter(order=order, status=OutgoingEmail.Status.SENT).count() == 2:
                break
            time.sleep(0.2)
    finally:
        current_app.conf.task_always_eager = eager
    rows = OutgoingEmail.objects.filter(order=order)
    assert sorted((row.kind, row.status, row.attempts) for row in rows) == [
        ("new_order", "sent", 1),
        ("order_confirmation", "sent", 1),
    ], f"worker log:\n{log.read_text()}"
    assert sorted(rcpts[0] for rcpts, _ in smtp_sink.messages) == ["anna@example.ch", "shop@alpenladen.ch"]
