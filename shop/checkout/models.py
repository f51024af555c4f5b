from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from shop.cached_settings import CachedSettingsModel


class ShippingMethod(CachedSettingsModel):
    """A way to get the goods to the shopper: a flat rate (free above an amount, if set) or pickup in a store."""

    class Kind(models.TextChoices):
        FLAT = "flat", _("Flat rate")
        PICKUP = "pickup", _("In-store pickup")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FLAT)
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)]
    )
    free_above = models.DecimalField(
        _("free from an order subtotal of"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    pickup_address = models.TextField(_("pickup address and opening hours"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("shipping method")
        verbose_name_plural = _("shipping methods")

    CACHE_KEY = "shop.shipping_methods"

    def __str__(self):
        return self.name

    @classmethod
    def active(cls) -> list["ShippingMethod"]:
        """The active methods, in order; cached (checkout reads them on every request), refreshed on save."""
        return cls.cached(lambda: list(cls.objects.filter(is_active=True)))

    @property
    def is_pickup(self) -> bool:
        return self.kind == self.Kind.PICKUP

    def cost_for(self, subtotal: Decimal) -> Decimal:
        if self.free_above is not None and subtotal >= self.free_above:
            return Decimal("0.00")
        return self.price
