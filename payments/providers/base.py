import datetime as dt
import json
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from shop.money import format_chf, from_minor


class WebhookError(Exception):
    """A webhook request we refuse (bad signature, stale timestamp, malformed body): answered 400."""


# A signed webhook's body: a JSON object at most this deep (a body of thousands of nested brackets is refused before
# anything walks it: Python's parser and every recursive walk after it would run out of stack).
MAX_JSON_DEPTH = 32
# A timestamp in a signature header: at most 13 ASCII digits (milliseconds until the year 2286); longer ones are
# refused before any arithmetic (a 400-digit number overflows a float).
TIMESTAMP = re.compile(r"[0-9]{1,13}")
HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")


def load_json(body: bytes) -> dict:
    """A webhook's raw body as a JSON object nested at most ``MAX_JSON_DEPTH`` deep. Raises WebhookError."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, a 5,000-digit number, too deep to parse
        raise WebhookError("malformed event: not JSON") from error
    if not isinstance(value, dict):
        raise WebhookError("malformed event: not a JSON object")
    stack = [(value, 1)]
    while stack:  # iterative: the depth check itself must not recurse
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise WebhookError("malformed event: nested too deeply")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


def signature_header(header: str | None, signature: str) -> tuple[int, list[str]]:
    """The timestamp and the signatures named ``signature`` of a ``t=<digits>,<signature>=<hex>,…`` header (Stripe's,
    Datatrans's, the test provider's), checked for shape before anything is computed or compared: printable ASCII,
    a timestamp of at most 13 digits, signatures of 64 hex digits. Raises WebhookError."""
    header = header or ""
    if not header or len(header) > 2000 or not (header.isascii() and header.isprintable()):
        raise WebhookError("missing or malformed signature header")
    pairs = [part.strip().split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in pairs if key == "t"]
    signatures = [value for key, value in pairs if key == signature]
    if len(timestamps) != 1 or not TIMESTAMP.fullmatch(timestamps[0]) or not signatures:
        raise WebhookError("missing or malformed signature header")
    if not all(HEX_SIGNATURE.fullmatch(value) for value in signatures):
        raise WebhookError("missing or malformed signature header")
    return int(timestamps[0]), [value.lower() for value in signatures]


class ProviderError(Exception):
    """A provider's API refused a call or could not be reached; the message is the provider's, for the merchant or
    the shopper to read. Nothing was changed on our side."""


class ProviderUnreachable(ProviderError):
    """The provider did not answer (a time-out, within its time budget: ``budget``), the connection failed or it
    answered with a failure of its own (5xx): whether it carried out the call is unknown. The call may be made again
    with the same idempotency key; a refund asked stays pending until the provider's list of refunds says."""


class EventKind:
    """What a provider's event means for a payment, in our terms (``ProviderEvent.type``)."""

    SUCCEEDED = "succeeded"  # the money is taken: confirm
    FAILED = "failed"  # declined or cancelled: the attempt failed
    PENDING = "pending"  # the provider is still processing (a delayed method): nothing to do yet
    # the shopper approved the payment and the provider holds the money for us: the shop takes it with
    # ``Provider.capture`` (PayPal: capture the approved order; Datatrans without auto-settle: settle), or lets it go
    # with ``Provider.cancel`` when the order no longer wants it (cancelled, or paid meanwhile)
    AUTHORIZED = "authorized"
    EXPIRED = "expired"  # the provider's session ran out unpaid: the attempt failed
    REFUNDED = "refunded"  # money went back (from us or from the provider's dashboard)
    IGNORED = "ignored"  # an event of no concern to a payment (verified and stored all the same)

    ALL = (SUCCEEDED, FAILED, PENDING, AUTHORIZED, EXPIRED, REFUNDED, IGNORED)


@dataclass(frozen=True)
class ProviderEvent:
    """A verified event from a provider, in our terms."""

    event_id: str
    type: str  # an EventKind
    payment_reference: (
        str  # ours (Payment.reference), or the provider's (session, transaction) when that is all it says
    )
    amount_minor: int | None = None
    currency: str = ""
    provider_reference: str = ""  # the provider's id of the attempt (a Checkout Session, a transaction)
    message: str = ""
    raw: dict = field(default_factory=dict)
    problem: str = ""  # signed, but a value we can't accept: the event is stored as rejected
    provider_type: str = ""  # the provider's own name for the event ("checkout.session.completed")
    details: dict = field(default_factory=dict)  # transaction_reference, method, refund_reference, …


@dataclass(frozen=True)
class PaymentState:
    """What a provider says of a payment when asked (reconciliation, or re-reading the object a webhook named)."""

    type: str  # EventKind.SUCCEEDED, FAILED, PENDING, AUTHORIZED or EXPIRED
    amount_minor: int | None = None
    currency: str = ""
    message: str = ""
    details: dict = field(default_factory=dict)  # transaction_reference, method


@dataclass(frozen=True)
class ProviderRefund:
    reference: str  # the provider's id of the refund
    amount_minor: int
    status: str = "succeeded"  # succeeded | pending | failed


@dataclass(frozen=True)
class ConnectionCheck:
    """What ``Provider.check_connection`` found, in plain words for the merchant: ``ok`` when the provider took the
    configured keys, the ``mode`` they are for ("sandbox" or "live"), what is wrong (``problem``) and what else is
    worth knowing (``note``: a value the provider does not check in that call, but that will not work)."""

    ok: bool
    mode: str = ""
    problem: str = ""
    note: str = ""


@dataclass(frozen=True)
class Redirect:
    """Where to send the shopper to pay, and what the provider calls this attempt."""

    url: str
    provider_reference: str = ""
    expires_at: dt.datetime | None = None


class Provider:
    """One payment method. Offline methods show instructions; online ones redirect and confirm by webhook."""

    code: str = ""
    name: str = ""  # what the shopper reads at checkout ("Card or TWINT")
    brand: str = ""  # the provider's own name, for the merchant ("Stripe"); "" when it is the method itself
    # The provider's logo, a static file of the shop's own (static/img/providers/), shown with its brand at checkout
    logo: str = ""
    is_online: bool = False
    description: str = ""
    # The environment variables an online provider needs (secrets: never in the database, never logged or shown).
    required_settings: tuple[str, ...] = ()
    # Only for test orders (the test provider): a real order never pays through it.
    test_only: bool = False
    # The provider's event names to subscribe the webhook to (shown in Settings → Payment).
    webhook_events: tuple[str, ...] = ()
    # How to try it against the provider's sandbox (Settings → Payment, in the provider's block).
    sandbox_help: str = ""
    # Said of the webhook URL before ``webhook_help`` (Datatrans: the shop sends it with every payment).
    webhook_note: str = ""
    # Several methods of one provider (Datatrans: card, TWINT, PostFinance) share one webhook URL and its events:
    # /webhooks/<webhook_code>/, stored as WebhookEvent.provider = webhook_code. By default the method's own code.
    webhook_code: str = ""
    # Ask the provider about the attempt when the shopper comes back from its page, and take the money there and
    # then (PayPal: capture on return), rather than waiting for the webhook.
    check_on_return: bool = False
    # Settings → Payment, the path to live (each in the merchant's words): what to create at the provider, where to
    # add the webhook URL, where each value of ``required_settings`` comes from (setting, where to find it), the
    # setting that says sandbox or live when the keys do not, the steps from the sandbox to live payments, and the
    # provider's dashboard.
    setup_intro: str = ""
    webhook_help: str = ""
    setting_help: tuple[tuple[str, str], ...] = ()
    mode_setting: str = ""
    live_steps: tuple[str, ...] = ()
    dashboard_home: str = ""
    # What a shopper pays with through this method ("card", "twint"…): two methods offered at once that take the same
    # thing show the shopper two choices for it (Settings → Payment warns).
    offers: tuple[str, ...] = ()

    def is_available(self, store, *, pickup: bool) -> bool:
        return True

    def refusal(self, amount_minor: int, currency: str) -> str:
        """Why this method can't pay this amount, in words the shopper understands ("TWINT takes payments up to
        CHF 5’000.–"); "" when it can. Checkout and the order page show the method as unavailable with this reason;
        placing the order and ``start`` refuse it with the same words, before any call to the provider."""
        return ""

    def accepts(self, amount_minor: int, currency: str) -> bool:
        """Whether this method can pay this amount (TWINT: only CHF, and up to its limit)."""
        return not self.refusal(amount_minor, currency)

    def check_amount(self, amount_minor: int, currency: str) -> None:
        """Raise ProviderError with the refusal, if any (``start``, before calling the provider)."""
        reason = self.refusal(amount_minor, currency)
        if reason:
            raise ProviderError(f"{reason} {_('Please choose another payment method.')}")

    def takes_from(self, minimum_minor: int, currency: str) -> str:
        return _("%(method)s takes payments from %(amount)s.") % {
            "method": self.name,
            "amount": format_chf(from_minor(minimum_minor), currency),
        }

    def takes_up_to(self, maximum_minor: int, currency: str) -> str:
        return _("%(method)s takes payments up to %(amount)s.") % {
            "method": self.name,
            "amount": format_chf(from_minor(maximum_minor), currency),
        }

    def takes_only(self, currency: str) -> str:
        return _("%(method)s takes payments in %(currency)s only.") % {"method": self.name, "currency": currency}

    @property
    def brand_label(self) -> str:
        """The provider's name to show beside the method's at checkout ("Datatrans" beside "Card"), so that two
        methods of the same kind can be told apart; "" when the method is the provider itself ("PayPal")."""
        return self.brand if self.brand and self.brand != str(self.name) else ""

    @property
    def webhook_provider(self) -> str:
        return self.webhook_code or self.code

    # Configuration ----------------------------------------------------------------------------------------------

    def missing_settings(self) -> list[str]:
        """The variables of ``required_settings`` that are not set."""
        return [name for name in self.required_settings if not (getattr(settings, name, "") or "").strip()]

    def is_configured(self) -> bool:
        return not self.missing_settings()

    def mode(self) -> str:
        """ "sandbox" or "live" for an online provider (what its keys are for); "" for offline methods."""
        return ""

    def check_connection(self) -> ConnectionCheck:
        """Ask the provider, with the configured keys, whether it takes them: one cheap authenticated read, within
        the provider calls' time budget, under no database lock (Settings → Payment's "Check the connection")."""
        return ConnectionCheck(False, problem=str(_("There is no account to check for this method.")))

    def webhook_url(self) -> str:
        """The exact URL to paste into the provider's dashboard."""
        if not self.is_online:
            return ""
        return settings.SITE_URL + reverse("webhook", kwargs={"provider": self.webhook_provider})

    # Shopper side -----------------------------------------------------------------------------------------------

    def instructions(self, order, store) -> str:
        """What the shopper must do to pay (offline methods), shown on the confirmation and order pages."""
        return ""

    def start(self, payment, request) -> Redirect:
        """Online methods: open the provider's payment page for this attempt. Raises ProviderError."""
        raise NotImplementedError

    # Webhooks and the provider's API (online methods) -----------------------------------------------------------

    def parse_webhook(self, body: bytes, headers) -> list[ProviderEvent]:
        raise WebhookError("this provider takes no webhooks")

    def delivery_id(self, headers) -> str:
        """The provider's id of this delivery of a webhook, read before anything is verified ("" when it names
        none): a delivery seen before is answered from what was stored (the same body) or refused (another body)
        before any costly check (PayPal: its transmission id, which its signature covers)."""
        return ""

    def fetch_status(self, payment) -> PaymentState | None:
        """Ask the provider what became of an attempt; None when the provider can't be asked. Raises ProviderError."""
        return None

    def fetch_refunds(self, payment) -> list[ProviderRefund]:
        """Every refund the provider made of this payment (from us or from its dashboard). Raises ProviderError."""
        return []

    def find_reference(self, transaction_reference: str) -> str:
        """Our payment reference for the provider's id of a transaction, asked of the provider ("" when unknown):
        for an event that names only the transaction and arrives before the one that named it. Raises
        ProviderError."""
        return ""

    def refund(self, payment, amount_minor: int, key: str) -> ProviderRefund:
        """Refund part of a confirmed payment; ``key`` makes a repeated call the same refund. Raises ProviderError."""
        raise ProviderError("this provider does not refund")

    def capture(self, payment) -> PaymentState:
        """Take the money of an attempt the provider reports AUTHORIZED (idempotent: asked twice, the money is taken
        once) and say what became of it: SUCCEEDED (with amount, currency, details), PENDING or FAILED. Raises
        ProviderError (nothing taken; asked again by the webhook's retry or the reconciliation)."""
        raise ProviderError("this provider does not capture")

    def cancel(self, payment) -> None:
        """Close the provider's session of an attempt, so that it can no longer be paid, and release an authorised
        attempt the shop will not capture. Raises ProviderError."""

    def dashboard_url(self, payment) -> str:
        """Where the merchant sees this payment in the provider's dashboard ("" when there is none)."""
        return ""
