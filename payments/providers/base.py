from dataclasses import dataclass, field


class WebhookError(Exception):
    """A webhook request we refuse (bad signature, stale timestamp, malformed body): answered 400."""


@dataclass(frozen=True)
class ProviderEvent:
    """A verified event from a provider, in our terms."""

    event_id: str
    type: str  # "payment.succeeded" | "payment.failed" | "payment.pending"
    payment_reference: str
    amount_minor: int | None = None
    currency: str = ""
    provider_reference: str = ""
    message: str = ""
    raw: dict = field(default_factory=dict)
    problem: str = ""  # signed, but a value we can't accept: the event is stored as rejected


class Provider:
    """One payment method. Offline methods show instructions; online ones redirect and confirm by webhook."""

    code: str = ""
    name: str = ""
    is_online: bool = False
    description: str = ""

    def is_available(self, store, *, pickup: bool) -> bool:
        return True

    def instructions(self, order, store) -> str:
        """What the shopper must do to pay (offline methods), shown on the confirmation and order pages."""
        return ""

    def start(self, payment, request) -> str:
        """Online methods: the URL to send the shopper to."""
        raise NotImplementedError

    def parse_webhook(self, body: bytes, headers) -> list[ProviderEvent]:
        raise WebhookError("this provider takes no webhooks")
