import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.catalog.models import Product


def new_cart_token() -> str:
    return secrets.token_urlsafe(24)


RECOVERED_VIA = [
    ("link", _("the reminder's link")),
    ("cart", _("the same cart")),
    ("email", _("the same e-mail")),
    ("staff", _("an order you placed")),
]


class Cart(models.Model):
    """A shopper's cart, found through a signed cookie that holds its token (never through its id)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ORDERED = "ordered", _("Ordered")

    token = models.CharField(max_length=64, unique=True, default=new_cart_token, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    email = models.EmailField(_("e-mail"), blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    # What the shopper chose at checkout before leaving (abandoned-cart recovery fills checkout in again with it).
    shopper_name = models.CharField(_("name"), max_length=200, blank=True)
    shipping_method = models.ForeignKey(
        "checkout.ShippingMethod", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payment_method = models.CharField(_("payment method"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)
    # Moved only by what the shopper does (adding, changing, checking out): the idle time of abandoned carts and the
    # 30-day purge count from it, never from bookkeeping (``updated_at`` moves with every save).
    last_activity_at = models.DateTimeField(_("last shopper activity"), default=timezone.now)
    # The consent line at checkout ("Remind me by e-mail…"), asked when Settings → Email requires it.
    reminder_consent = models.BooleanField(_("agreed to reminders"), default=False)
    # Recovery: when the link of a reminder was last opened, and the order that won the cart back.
    recovery_opened_at = models.DateTimeField(_("recovery link opened"), null=True, blank=True)
    recovered_order = models.OneToOneField(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="recovered_cart"
    )
    recovered_via = models.CharField(_("recovered through"), max_length=8, choices=RECOVERED_VIA, blank=True)
    recovered_at = models.DateTimeField(_("recovered"), null=True, blank=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        indexes = [
            models.Index(fields=["status", "last_activity_at"], name="cart_status_last_activity"),
            models.Index(fields=["recovered_at"], name="cart_recovered_at"),
        ]

    def __str__(self):
        return f"Cart {self.pk}"

    def touch(self) -> None:
        """The shopper did something with this cart (call before saving it)."""
        self.last_activity_at = timezone.now()


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="cartline_one_per_product"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="cartline_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.product}"

    @property
    def total(self):
        return self.product.price * self.quantity


class CartReminder(models.Model):
    """A recovery e-mail about a cart: the automatic first and second reminders (at most one of each per cart, which
    the database holds to) and the merchant's manual ones (at most one a day, which ``send_reminder`` holds to)."""

    class Kind(models.TextChoices):
        FIRST = "first", _("First reminder")
        SECOND = "second", _("Second reminder")
        MANUAL = "manual", _("Reminder sent by you")

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("reminder"), max_length=8, choices=Kind.choices)
    email = models.ForeignKey(
        "notifications.OutgoingEmail", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("cart reminder")
        verbose_name_plural = _("cart reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "kind"],
                condition=models.Q(kind__in=["first", "second"]),
                name="cartreminder_one_automatic_each",
            )
        ]
        indexes = [
            models.Index(fields=["cart", "created_at"], name="cartreminder_cart_created"),
            models.Index(fields=["created_at"], name="cartreminder_created"),  # an order looks back 7 days
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.cart_id})"
