import os
import shutil

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run there without this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

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
def category(db):
    from tests.factories import CategoryFactory

    return CategoryFactory()


@pytest.fixture
def product(db):
    from tests.factories import ProductFactory

    return ProductFactory(name="Alpine Blend Coffee", price="18.90", stock=20)
