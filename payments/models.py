import secrets
from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.cached_settings import CachedSettingsModel
from shop.money import store_currency, to_minor


def new_reference() -> str:
    return "pay_" + secrets.token_urlsafe(18)


class Payment(models.Model):
    """One payment attempt for an order (an order may have several: a declined card, then a retry)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        FAILED = "failed", _("Failed")

    class Surplus(models.TextChoices):
        AFTER_CANCEL = "after_cancel", _("Paid after the order was cancelled")
        PAID_TWICE = "paid_twice", _("Paid again: the order was already paid")

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="payments")
    provider = models.CharField(_("provider"), max_length=32)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default=store_currency)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # Our own unguessable reference (sent to the provider), and the provider's id for the payment once known.
    reference = models.CharField(_("reference"), max_length=80, unique=True, default=new_reference)
    provider_reference = models.CharField(_("provider reference"), max_length=120, null=True, blank=True, unique=True)
    # The provider's id of the money movement, when it differs from the attempt's (Stripe's PaymentIntent beside the
    # Checkout Session): refunds and the dashboard link use it.
    transaction_reference = models.CharField(_("transaction"), max_length=120, blank=True, db_index=True)
    method_detail = models.CharField(_("method used"), max_length=80, blank=True)  # "Visa •••• 4242", "TWINT"
    expires_at = models.DateTimeField(_("session expires"), null=True, blank=True)
    checked_at = models.DateTimeField(_("last asked the provider"), null=True, blank=True)
    # Money that came in although nothing was due (paid after the order was cancelled, or paid twice): to refund.
    surplus = models.CharField(_("to refund"), max_length=16, choices=Surplus.choices, blank=True)
    failure_message = models.CharField(_("failure"), max_length=300, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [models.Index(fields=["status", "created_at"], name="payment_status_created")]

    def __str__(self):
        return f"{self.provider} {self.amount} {self.status}"

    @property
    def amount_minor(self) -> int:
        """The amount in Rappen, as providers count it."""
        return to_minor(self.amount)

    def confirm(self) -> bool:
        """Mark confirmed; False when already confirmed (a no-op). Call on a row read under the order's lock
        (``payments.services`` takes it first): that lock serialises every change to an order's payments."""
        if self.status == self.Status.CONFIRMED:
            return False
        self.status = self.Status.CONFIRMED
        self.confirmed_at = timezone.now()
        self.failure_message = ""
        self.save(update_fields=["status", "confirmed_at", "failure_message"])
        return True

    def fail(self, message: str = "") -> bool:
        """Mark failed, unless already done: a decline arriving after the confirmation changes nothing."""
        if self.status != self.Status.PENDING:
            return False
        self.status = self.Status.FAILED
        self.failure_message = message[:300]
        self.save(update_fields=["status", "failure_message"])
        return True


class Refund(models.Model):
    class Status(models.TextChoices):
        # reserved under the order's lock while the provider is asked (counted as gone, so never refunded twice)
        PENDING = "pending", _("Being refunded")
        DONE = "done", _("Refunded")
        # the provider took it, then reported it failed (a closed card account): the money did not go back
        FAILED = "failed", _("Refund failed")

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DONE)
    provider_reference = models.CharField(max_length=120, null=True, blank=True, unique=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=Decimal("0")), name="refund_positive")]

    def __str__(self):
        return f"{self.amount} of {self.payment}"


class WebhookEvent(models.Model):
    """A provider's event, stored once as received (verified) and processed later by a Celery task."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        ERROR = "error", _("Error")
        REJECTED = "rejected", _("Rejected")  # signed, but with values that can't be right: never applied

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True)  # the provider's own name for it
    kind = models.CharField(max_length=16, blank=True)  # what it means in our terms: an EventKind
    # What the provider said, in our terms (parsed from the verified body); the raw event is kept beside it.
    payment_reference = models.CharField(max_length=120, blank=True)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    message = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)  # provider_reference, transaction_reference, method, …
    payload = models.JSONField()
    payment = models.ForeignKey(
        Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_events"
    )  # set when applied
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")]
        indexes = [models.Index(fields=["status", "received_at"], name="webhook_event_status")]

    def __str__(self):
        return f"{self.provider}:{self.event_id}"


class WebhookDelivery(models.Model):
    """One delivery of a provider's webhook that names its own id (PayPal's transmission id), remembered with a digest
    of its body: the same delivery sent again is answered from what was stored, and its signed headers sent with
    another body are refused, before any costly check. PayPal signs only a CRC32 of the body, so another body with the
    same CRC32 would carry a valid signature; its transmission id gives it away."""

    provider = models.CharField(max_length=32)
    delivery_id = models.CharField(max_length=100)
    body_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["provider", "delivery_id"], name="webhook_delivery_once")]

    def __str__(self):
        return f"{self.provider}:{self.delivery_id}"


class PaymentMethod(CachedSettingsModel):
    """Which payment methods the merchant offers, in which order (Settings → Payment)."""

    code = models.CharField(max_length=32, unique=True)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")

    CACHE_KEY = "shop.payment_methods"

    def __str__(self):
        return self.code

    @classmethod
    def enabled_codes(cls) -> list[str]:
        """Codes of the enabled methods, in the merchant's order; cached, refreshed on save."""
        return cls.cached(lambda: list(cls.objects.filter(is_enabled=True).values_list("code", flat=True)))
