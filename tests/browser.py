"""Steps the browser tests share."""

from playwright.sync_api import expect

from tests.factories import StaffFactory


def log_in(page, live_server, username="merchant"):
    """Create a merchant and log in through the real login page, as a person would."""
    StaffFactory(username=username)
    page.goto(live_server.url + "/backoffice/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("s3cret-pass")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
