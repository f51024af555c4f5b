import re
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from shop.catalog.models import Category, Product
from tests.factories import ProductFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_demo_shop_has_what_the_readme_promises(demo, client):
    assert Category.objects.count() >= 3
    assert 18 <= Product.objects.count() <= 25
    test_product = Product.objects.get(name="Test product")
    assert str(test_product.price) == "1.00"
    assert Product.objects.filter(requires_shipping=False).exists()  # a digital product
    assert Product.objects.filter(requires_shipping=True).exists()
    assert all(p.image and p.image.storage.exists(p.image.name) for p in Product.objects.all())
    html = client.get(test_product.get_absolute_url()).content.decode()
    assert "CHF 1.–" in html


def test_demo_prints_a_working_merchant_login(demo, client):
    assert "http://127.0.0.1:8000/backoffice/" in demo
    user = re.search(r"User:\s+(\S+)", demo).group(1)
    password = re.search(r"Password:\s+(\S+)", demo).group(1)
    assert client.login(username=user, password=password)
    response = client.get("/backoffice/")
    assert response.status_code == 200
    assert "Dashboard" in response.content.decode()


def test_demo_loads_twice_without_duplicates(demo):
    counts = (Category.objects.count(), Product.objects.count(), get_user_model().objects.count())
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert (Category.objects.count(), Product.objects.count(), get_user_model().objects.count()) == counts
    assert re.search(r"Password:\s+(\S+)", out.getvalue()).group(1) == re.search(r"Password:\s+(\S+)", demo).group(1)
    assert (settings.VAR_DIR / "demo-merchant.txt").stat().st_mode & 0o077 == 0


def test_login_refuses_non_staff_and_bad_passwords(client):
    get_user_model().objects.create_user("shopper", password="pw-12345678")
    response = client.post("/backoffice/login/", {"username": "shopper", "password": "pw-12345678"})
    assert "This account has no access to the back office." in response.content.decode()
    response = client.post("/backoffice/login/", {"username": "nobody", "password": "x"})
    assert response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()


def test_staff_login_and_dashboard_shows_low_stock(client):
    StaffFactory(username="anna")
    ProductFactory(name="Last Nusstorte", stock=1)
    ProductFactory(name="Plenty of Mugs", stock=500)
    response = client.post("/backoffice/login/", {"username": "anna", "password": "s3cret-pass"})
    assert response.status_code == 302 and response["Location"] == "/backoffice/"
    html = client.get("/backoffice/").content.decode()
    assert "Last Nusstorte" in html and "Plenty of Mugs" not in html
    response = client.post("/backoffice/logout/")
    assert response.status_code == 302
    assert client.get("/backoffice/").status_code == 302


@pytest.mark.parametrize(("language", "text"), [("fr", "Tableau de bord"), ("de", "Übersicht"), ("en", "Dashboard")])
def test_backoffice_speaks_the_merchants_language(client, language, text):
    client.force_login(StaffFactory())
    html = client.get("/backoffice/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<html lang="{language}">' in html and text in html


def test_django_admin_is_at_its_own_path(client):
    response = client.get("/django-admin/")
    assert response.status_code == 302 and "/django-admin/login/" in response["Location"]


def test_failed_logins_are_rate_limited(client, settings):
    settings.AXES_ENABLED = True
    StaffFactory(username="bea")
    for _ in range(4):
        response = client.post("/backoffice/login/", {"username": "bea", "password": "wrong"})
        assert (
            response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()
        )
    assert client.post("/backoffice/login/", {"username": "bea", "password": "wrong"}).status_code == 429
    response = client.post("/backoffice/login/", {"username": "bea", "password": "s3cret-pass"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert client.get("/backoffice/").status_code == 302  # not logged in
