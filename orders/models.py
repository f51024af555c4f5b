import secrets
from decimal import Decimal

from django.conf import settings
from django.db import connection, models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from payments.providers import get_provider
from shop.money import store_currency

from .status import FulfilmentStatus, PaymentStatus
from .tracking import Carrier, tracking_url

COUNTRIES = [
    ("CH", _("Switzerland")),
    ("LI", _("Liechtenstein")),
    ("DE", _("Germany")),
    ("AT", _("Austria")),
    ("FR", _("France")),
    ("IT", _("Italy")),
]


def new_order_token() -> str:
    return secrets.token_urlsafe(24)


class OrderNumber(models.Model):
    """The sequence of order numbers (one row): locked while the next number is taken, so numbers never repeat."""

    last = models.PositiveIntegerField(default=1000)

    def __str__(self):
        return str(self.last)

    @classmethod
    def next(cls) -> int:
        """The next order number, in one statement that also locks the row until the transaction ends (call it
        inside one, as late as possible: concurrent orders wait here for each other's commit)."""
        table = connection.ops.quote_name(cls._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET last = last + 1 WHERE id = 1 RETURNING last")  # noqa: S608
            row = cursor.fetchone()
        if row is None:  # first order ever
            cls.objects.get_or_create(pk=1)
            return cls.next()
        return row[0]


class Order(models.Model):
    # Taken as the last step of placing the order (see OrderNumber.next); empty only inside that transaction.
    number = models.PositiveIntegerField(_("order number"), unique=True, null=True, editable=False)
    token = models.CharField(max_length=64, unique=True, default=new_order_token, editable=False)
    cart = models.OneToOneField(
        "cart.Cart", null=True, blank=True, on_delete=models.SET_NULL, related_name="order", editable=False
    )
    is_test = models.BooleanField(_("test order"), default=False)
    language = models.CharField(_("language"), max_length=8, default="de")
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    payment_status = models.CharField(
        _("payment status"), max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.AWAITING_PAYMENT
    )
    fulfilment_status = models.CharField(
        _("fulfilment status"),
        max_length=24,
        choices=FulfilmentStatus.choices,
        default=FulfilmentStatus.AWAITING_PROCESSING,
    )
    payment_method = models.CharField(_("payment method"), max_length=32)

    requires_shipping = models.BooleanField(_("requires shipping"), default=True)
    shipping_method = models.ForeignKey(
        "checkout.ShippingMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipping_method_name = models.CharField(_("shipping method"), max_length=120, blank=True)
    is_pickup = models.BooleanField(_("pickup"), default=False)
    pickup_address = models.TextField(_("pickup address"), blank=True)

    shipping_name = models.CharField(_("name"), max_length=120, blank=True)
    shipping_company = models.CharField(_("company"), max_length=120, blank=True)
    shipping_street = models.CharField(_("street and number"), max_length=200, blank=True)
    shipping_postcode = models.CharField(_("postcode"), max_length=12, blank=True)
    shipping_city = models.CharField(_("city"), max_length=100, blank=True)
    shipping_country = models.CharField(_("country"), max_length=2, blank=True)
    billing_name = models.CharField(_("name"), max_length=120, blank=True)
    billing_company = models.CharField(_("company"), max_length=120, blank=True)
    billing_street = models.CharField(_("street and number"), max_length=200, blank=True)
    billing_postcode = models.CharField(_("postcode"), max_length=12, blank=True)
    billing_city = models.CharField(_("city"), max_length=100, blank=True)
    billing_country = models.CharField(_("country"), max_length=2, blank=True)

    class Source(models.TextChoices):
        STOREFRONT = "storefront", _("Storefront")
        MANUAL = "manual", _("Created by staff")

    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.STOREFRONT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    currency = models.CharField(max_length=3, default=store_currency)
    subtotal = models.DecimalField(_("subtotal"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    shipping_total = models.DecimalField(_("shipping"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    vat_total = models.DecimalField(_("VAT included"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    adjustment = models.DecimalField(
        _("discount (−) or surcharge (+)"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    adjustment_label = models.CharField(_("discount or surcharge label"), max_length=120, blank=True)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=Decimal("0.00"))

    needs_attention = models.BooleanField(_("needs attention"), default=False)
    attention_reason = models.TextField(_("why it needs attention"), blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    tracking_carrier = models.CharField(_("carrier"), max_length=32, blank=True)

    created_at = models.DateTimeField(_("placed"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["payment_status", "-created_at"], name="order_payment_created"),
            models.Index(fields=["fulfilment_status", "-created_at"], name="order_fulfil_created"),
            models.Index(fields=["email"], name="order_email"),
            models.Index(Upper("email"), name="order_email_upper"),  # the back office searches e-mails exactly
        ]
        constraints = [models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_not_negative")]

    def __str__(self):
        return f"#{self.number}"

    def get_absolute_url(self):
        return reverse("checkout:order", kwargs={"token": self.token})

    @property
    def payment_method_label(self) -> str:
        provider = get_provider(self.payment_method)
        return str(provider.name) if provider else self.payment_method

    @property
    def tracking_url(self) -> str:
        return tracking_url(self.tracking_carrier, self.tracking_number)

    @property
    def tracking_carrier_label(self) -> str:
        return str(dict(Carrier.choices).get(self.tracking_carrier, self.tracking_carrier))

    @property
    def customer_name(self) -> str:
        return self.billing_name or self.shipping_name or self.email

    @property
    def shipping_address_lines(self) -> list[str]:
        return _address(self, "shipping")

    @property
    def billing_address_lines(self) -> list[str]:
        return _address(self, "billing")


def _address(order, prefix) -> list[str]:
    get = lambda field: getattr(order, f"{prefix}_{field}")  # noqa: E731
    city = f"{get('postcode')} {get('city')}".strip()
    country = str(dict(COUNTRIES).get(get("country"), get("country")))
    return [line for line in (get("name"), get("company"), get("street"), city, country) if line]


class OrderLine(models.Model):
    """A snapshot of what was bought: editing the catalog never changes a placed order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=5, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))
    requires_shipping = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orderline_quantity_positive")]

    def __str__(self):
        return f"{self.quantity} × {self.name}"

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderStock(models.Model):
    """How many units of a product the order holds: taken from stock when the order was placed, changed only when
    the merchant edits with "adjust stock", given back (and set to zero) when the order is cancelled, fully refunded
    with "restock items", or deleted. Kept apart from the lines, so an edit that removes a line leaves it intact."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="stock")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("units held"), default=0)

    class Meta:
        verbose_name = _("stock held by an order")
        verbose_name_plural = _("stock held by orders")
        constraints = [models.UniqueConstraint(fields=["order", "product"], name="orderstock_once_per_product")]

    def __str__(self):
        return f"{self.order}: {self.quantity} of product {self.product_id}"


class OrderEvent(models.Model):
    """The audit trail: every change to an order, who made it and when."""

    class Actor(models.TextChoices):
        SHOPPER = "shopper", _("Shopper")
        STAFF = "staff", _("Staff")
        PROVIDER = "provider", _("Payment provider")
        SYSTEM = "system", _("System")

    class Type(models.TextChoices):
        PLACED = "placed", _("Order placed")
        PAYMENT_STATUS = "payment_status", _("Payment status changed")
        FULFILMENT_STATUS = "fulfilment_status", _("Fulfilment status changed")
        PAYMENT_STARTED = "payment_started", _("Payment started")
        PAYMENT_CONFIRMED = "payment_confirmed", _("Payment confirmed")
        PAYMENT_FAILED = "payment_failed", _("Payment failed")
        PAYMENT_MISMATCH = "payment_mismatch", _("Payment does not match the order")
        PAYMENT_SURPLUS = "payment_surplus", _("Paid although nothing was due")
        STOCK_RESTORED = "stock_restored", _("Stock restored")
        NOTE = "note", _("Note")
        TRACKING = "tracking", _("Tracking number assigned")
        EDITED = "edited", _("Order edited")
        REFUNDED = "refunded", _("Refunded")
        EMAIL_SENT = "email_sent", _("E-mail sent")
        EMAIL_FAILED = "email_failed", _("E-mail not sent")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("type"), max_length=32, choices=Type.choices)
    old_value = models.CharField(max_length=64, blank=True)
    new_value = models.CharField(max_length=64, blank=True)
    actor = models.CharField(_("actor"), max_length=16, choices=Actor.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self):
        return f"{self.order} {self.type} {self.old_value}→{self.new_value}"
