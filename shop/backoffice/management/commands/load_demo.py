"""``manage.py load_demo``: the demo shop of ``make run`` — the demo catalog and a demo merchant login.

Idempotent: run it again and nothing is duplicated. The merchant's password is generated once, kept in
``var/demo-merchant.txt`` (readable by you only) and printed on every run.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import translation

from payments.models import PaymentMethod
from payments.providers import PROVIDERS, provider_label
from shop.backoffice.services import ordered_payment_codes, set_payment_methods
from shop.catalog.demo import load_demo_catalog, load_demo_store

USERNAME = "merchant"


class Command(BaseCommand):
    help = "Load the demo catalog and create the demo merchant (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Printed with the back-office URL.")

    def handle(self, *args, base_url, **options):
        created = load_demo_catalog()
        load_demo_store()
        password = self._merchant_password()
        base_url = base_url.rstrip("/")
        online = self._offer_configured_providers()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalog ready ({created['categories']} categories and {created['products']} products new).\n"
            )
            + f"  Storefront:  {base_url}/\n"
            + f"  Back office: {base_url}/backoffice/\n"
            + f"  User:        {USERNAME}\n"
            + f"  Password:    {password}\n"
            + (
                f"  Online:      {online}\n"
                if online
                else "  Online:      test payments (set STRIPE_*, DATATRANS_* or PAYPAL_*: see the README)\n"
            )
        )

    def _offer_configured_providers(self) -> str:
        """Online providers configured in the environment are offered in the demo shop (first, in their order)."""
        configured = [p for p in PROVIDERS.values() if p.is_online and not p.test_only and p.is_configured()]
        enabled = PaymentMethod.enabled_codes()
        if configured and not all(p.code in enabled for p in configured):
            codes = [p.code for p in configured]
            order = ordered_payment_codes(codes + [code for code in enabled if code not in codes])
            set_payment_methods(order, set(enabled) | set(codes))
        described = []
        for provider in configured:  # the terminal's lines are in English, like the rest of the output
            api = getattr(settings, f"{provider.webhook_provider.upper()}_API_BASE", "")
            through = f" through {api}" if api else ""
            with translation.override("en"):
                described.append(provider_label(provider.code) + f" ({provider.mode()}{through})")
        return ", ".join(described)

    def _merchant_password(self) -> str:
        path = settings.VAR_DIR / "demo-merchant.txt"
        user_model = get_user_model()
        user = user_model.objects.filter(username=USERNAME).first()
        password = path.read_text().strip() if path.exists() else ""
        if user is None or not password or not user.check_password(password):
            password = password or secrets.token_urlsafe(12)
            if user is None:
                user = user_model(username=USERNAME, email="merchant@example.com")
            user.is_staff = True
            user.is_active = True
            user.set_password(password)
            user.save()
            path.write_text(password + "\n")
            path.chmod(0o600)
        return password
