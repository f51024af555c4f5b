from django.db import models
from django.utils.translation import gettext_lazy as _

from shop.cached_settings import CachedSettingsModel


class Store(CachedSettingsModel):
    """The merchant's store: one row (pk=1), read with ``Store.load()``."""

    class Plan(models.TextChoices):
        FREE = "free", _("Free")
        STANDARD = "standard", _("Standard")

    class ZeroTotalStatus(models.TextChoices):
        PAID = "paid", _("Paid")
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")

    name = models.CharField(_("store name"), max_length=120, default="Alpenladen")
    email = models.EmailField(_("store e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="CH")
    vat_number = models.CharField(_("VAT number"), max_length=40, blank=True)
    logo = models.ImageField(
        _("logo"), upload_to="store/", blank=True, help_text=_("Shown at the top of your e-mails (PNG or JPEG).")
    )
    plan = models.CharField(_("plan"), max_length=16, choices=Plan.choices, default=Plan.FREE)
    test_mode = models.BooleanField(
        _("test mode"),
        default=False,
        help_text=_("Orders placed in test mode are test orders; the test provider is offered."),
    )
    zero_total_status = models.CharField(
        _("status of orders with a zero total"),
        max_length=20,
        choices=ZeroTotalStatus.choices,
        default=ZeroTotalStatus.PAID,
    )
    bank_account_holder = models.CharField(_("account holder"), max_length=120, blank=True)
    bank_iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bank_name = models.CharField(_("bank"), max_length=120, blank=True)
    bank_instructions = models.TextField(_("bank transfer instructions"), blank=True)
    invoice_terms = models.TextField(_("invoice terms"), blank=True)
    # Datatrans: settle (take the money) at once when the shopper pays, or once the shop has recorded the payment,
    # so that an order cancelled or paid meanwhile has its authorisation released rather than refunded.
    datatrans_auto_settle = models.BooleanField(_("Datatrans settles at once"), default=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("store")

    def __str__(self):
        return self.name

    CACHE_KEY = "shop.store"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "Store":
        """The store, from the cache (Redis in production) or the database; saving it refreshes the cache."""
        return cls.cached(lambda: cls.objects.get_or_create(pk=1)[0])

    @property
    def address_lines(self) -> list[str]:
        return [line for line in (self.street, f"{self.postcode} {self.city}".strip()) if line]
