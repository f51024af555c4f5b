from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=140, unique=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:category", kwargs={"slug": self.slug})


class ProductQuerySet(models.QuerySet):
    def available(self):
        """What shoppers may see and buy: active products in active categories."""
        return self.filter(is_active=True, category__is_active=True)


class Product(models.Model):
    class VatRate(models.TextChoices):
        # Swiss VAT rates since 2024. Stored on the product and snapshotted on every order line.
        STANDARD = "8.10", _("Standard rate (8.1 %)")
        REDUCED = "2.60", _("Reduced rate (2.6 %)")
        ACCOMMODATION = "3.80", _("Accommodation rate (3.8 %)")
        EXEMPT = "0.00", _("Exempt (0 %)")

    class StockState(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        LOW = "low", _("Only a few left")
        SOLD_OUT = "sold_out", _("Sold out")

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    description = models.TextField(_("description"), blank=True)
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    vat_rate = models.CharField(_("VAT rate"), max_length=5, choices=VatRate.choices, default=VatRate.STANDARD)
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True, help_text=_("Leave empty for unlimited stock (digital goods, services).")
    )
    requires_shipping = models.BooleanField(
        _("requires shipping"), default=True, help_text=_("Off for digital products: no address or shipping needed.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_featured = models.BooleanField(_("featured on the home page"), default=False)
    image = models.ImageField(_("image"), upload_to="products/", blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [
            models.Index(fields=["category", "is_active", "price"], name="product_cat_price"),
            models.Index(fields=["category", "is_active", "name"], name="product_cat_name"),
            models.Index(fields=["category", "is_active", "-created_at"], name="product_cat_newest"),
            models.Index(fields=["is_featured", "is_active"], name="product_featured"),
            models.Index(fields=["-created_at", "-id"], name="product_newest"),
            models.Index(fields=["category", "is_active", "-is_featured", "name"], name="product_cat_related"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:product", kwargs={"slug": self.slug})

    @property
    def vat_percent(self) -> Decimal:
        return Decimal(self.vat_rate)

    @property
    def is_sold_out(self) -> bool:
        return self.stock is not None and self.stock <= 0

    @property
    def stock_state(self) -> str:
        if self.stock is None:
            return self.StockState.IN_STOCK
        if self.stock <= 0:
            return self.StockState.SOLD_OUT
        if self.stock <= settings.LOW_STOCK_THRESHOLD:
            return self.StockState.LOW
        return self.StockState.IN_STOCK

    def max_orderable(self) -> int:
        """How many a shopper may put in the cart: the stock, capped by the cart's per-line maximum."""
        limit = settings.CART_MAX_QUANTITY
        return limit if self.stock is None else max(0, min(self.stock, limit))


class ProductImage(models.Model):
    """Further images shown on the product page, after the main image."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product"))
    image = models.ImageField(_("image"), upload_to="products/")
    alt = models.CharField(_("alternative text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("product image")
        verbose_name_plural = _("product images")

    def __str__(self):
        return self.alt or self.image.name
