import os
import shutil
from decimal import Decimal

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run there without this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The helpers of the online providers' tests assert too: pytest's messages for them, as for the tests.
pytest.register_assert_rewrite("tests.online")

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM:
        if os.environ.get("CI"):  # CI must run them: fail rather than skip
            pytest.fail("chromium is missing in CI: .ci/run must apt-get install it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-quic",
        ],
    }


@pytest.fixture
def artifacts():
    """The folder browser tests save their screenshots in (look at them)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "artifacts"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def category(db):
    from tests.factories import CategoryFactory

    return CategoryFactory()


@pytest.fixture
def product(db):
    from tests.factories import ProductFactory

    return ProductFactory(name="Alpine Blend Coffee", price="18.90", stock=20)


@pytest.fixture
def fondue(db):
    from tests.factories import ProductFactory

    return ProductFactory(name="Fondue Set", sku="FON-1", price=Decimal("129.00"), stock=20)


@pytest.fixture
def english(client):
    """The test client asks for English pages."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def staff(client, english):
    """A merchant (staff user "anna") logged in on the test client, which asks for English pages."""
    from tests.factories import StaffFactory

    user = StaffFactory(username="anna")
    client.force_login(user)
    return user


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run an action and then what would run after its commit (the hand-over to Celery, eager in tests)."""

    def _commit(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return _commit


@pytest.fixture(autouse=True)
def english_by_default():
    """Every test starts in English, whatever the test before it left active (a request activates its language and
    leaves it so): a test that needs another language says so (``translation.override``, a /de/ or /fr/ URL)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def fresh_cache():
    """The store settings are cached; every test starts from its own database state."""
    from django.core.cache import cache

    from shop.catalog import cache as catalog_cache

    cache.clear()
    catalog_cache._local.clear()
    yield
    cache.clear()
    catalog_cache._local.clear()


@pytest.fixture
def store(db):
    from shop.backoffice.models import Store

    store = Store.load()
    store.name = "Alpenladen"
    store.test_mode = True
    store.bank_account_holder = "Alpenladen GmbH"
    store.bank_iban = "CH93 0076 2011 6238 5295 7"
    store.save()
    # Transactional tests flush the tables, the rows of data migrations with them: put the defaults back.
    from payments.models import PaymentMethod

    for position, code in enumerate(["test", "bank_transfer", "invoice", "cash_on_pickup", "phone"]):
        PaymentMethod.objects.get_or_create(code=code, defaults={"position": position, "is_enabled": code != "phone"})
    return store


@pytest.fixture
def shipping(db):
    from shop.checkout.models import ShippingMethod

    return {
        "post": ShippingMethod.objects.create(name="Swiss Post", price=Decimal("7.00"), free_above=Decimal("100")),
        "pickup": ShippingMethod.objects.create(
            name="Pickup Zurich", kind="pickup", price=Decimal("0"), pickup_address="Limmatquai 42, Zürich", position=1
        ),
    }


@pytest.fixture
def place(store, shipping):
    """Place an order through the real service: ``place(product, quantity, payment_method="bank_transfer")``."""
    from shop.cart.services import add_to_cart
    from shop.checkout.services import CheckoutData, place_order

    def _place(product, quantity=1, payment_method="bank_transfer", pickup=False, language="en"):
        cart, _message = add_to_cart(None, product.pk, quantity)
        method = shipping["pickup" if pickup else "post"]
        data = CheckoutData(
            email="anna@example.ch",
            payment_method=payment_method,
            shipping_method_id=method.pk,
            shipping={"name": "Anna", "street": "Gasse 1", "postcode": "8001", "city": "Zürich", "country": "CH"},
        )
        return place_order(cart.token, data, language)

    return _place


@pytest.fixture
def smtp_sink():
    """A real SMTP server (aiosmtpd) on a free local port, keeping what it receives."""
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            self.messages.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    sink.port = port
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def shopper(english):
    """The shopper's test client, asking for English pages (the online providers' tests over HTTP)."""
    return english


@pytest.fixture
def clock():
    """The clock stopped at ``tests.online.T0``, moved on by the test (the online providers' reconciliation)."""
    import time_machine

    from tests.online import T0

    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller
