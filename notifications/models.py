import re

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shop.cached_settings import CachedSettingsModel

from .kinds import Kind


class EmailSettings(CachedSettingsModel):
    """Settings → Email: one row (pk=1), read with ``EmailSettings.load()``."""

    sender_name = models.CharField(
        _("sender name"), max_length=120, blank=True, help_text=_("Empty: the store's name.")
    )
    sender_email = models.EmailField(
        _("sender address"), blank=True, help_text=_("Empty: the shop's default sender address.")
    )
    merchant_recipients = models.TextField(
        _("send notifications for you to"),
        blank=True,
        help_text=_("One or more e-mail addresses, one per line. Empty: the store's e-mail address."),
    )
    merchant_language = models.CharField(
        _("language of your notifications"), max_length=8, choices=settings.LANGUAGES, default="de"
    )
    copy_customer_emails = models.BooleanField(
        _("send me a copy of customer e-mails"), default=False, help_text=_("A blind copy goes to your addresses.")
    )
    disabled_kinds = models.JSONField(default=list, blank=True)
    # Abandoned-cart reminders (Sales → Abandoned carts). Off by default, so that an upgrade never mails old carts;
    # ``cart_reminders_since`` is when they were last switched on: carts left up to 14 days before it are eligible.
    cart_reminders = models.BooleanField(
        _("send reminders automatically"),
        default=False,
        help_text=_(
            "A first reminder once a cart has been left for the idle time; carts left before the switch-on "
            "are reminded only if they are at most 14 days old."
        ),
    )
    cart_reminders_since = models.DateTimeField(null=True, blank=True, editable=False)
    cart_second_reminder_hours = models.PositiveSmallIntegerField(
        _("second reminder after (hours)"),
        default=24,
        help_text=_("Hours after the first reminder; 0: no second reminder."),
    )
    cart_reminder_consent = models.BooleanField(
        _("ask for consent at checkout"),
        default=False,
        help_text=_(
            "Adds “Remind me by e-mail if I don't finish my order” (unticked) to checkout; only carts whose "
            "shopper ticked it are reminded."
        ),
    )

    CACHE_KEY = "shop.email_settings"

    class Meta:
        verbose_name = _("e-mail settings")
        verbose_name_plural = _("e-mail settings")

    def __str__(self):
        return str(_("E-mail settings"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "EmailSettings":
        return cls.cached(lambda: cls.objects.get_or_create(pk=1)[0])

    def is_enabled(self, kind: str) -> bool:
        return kind not in self.disabled_kinds

    def recipients(self, store) -> list[str]:
        addresses = [a for a in re.split(r"[\s,;]+", self.merchant_recipients) if a]
        return addresses or ([store.email] if store.email else [])


class OutgoingEmail(models.Model):
    """One e-mail to one recipient: written in the business transaction, sent by a Celery task after the commit."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("e-mail"), max_length=32, choices=Kind.choices)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="emails")
    cart = models.ForeignKey("cart.Cart", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to = models.EmailField(_("to"), max_length=254)
    bcc = models.TextField(blank=True)  # one address per line: the merchant's copy of customer e-mails
    language = models.CharField(_("language"), max_length=8)
    context = models.JSONField(default=dict, blank=True)  # what the e-mail says that the order does not
    # One e-mail per business fact (say "the confirmation of order 1001"): a retried action never sends it twice.
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    resend_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # When the outbox sweep hands the row (again) to the broker unless it has been sent by then: the hand-over after
    # the commit is expected to have done it long before; a failed hand-over makes it due at once, a failed try when
    # its retry is expected to have run.
    due_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="email_log"),
            models.Index(fields=["status", "due_at"], name="email_status_due"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.to}"


class EmailOptOut(models.Model):
    """An address that asked for no more reminders (through the link or the ``List-Unsubscribe`` header of one). Kept
    as an HMAC of the normalised address: the list of who opted out is not a list of addresses (``optout.py``)."""

    address_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("e-mail opt-out")
        verbose_name_plural = _("e-mail opt-outs")

    def __str__(self):
        return self.address_hash[:12]
