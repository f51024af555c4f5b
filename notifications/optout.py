"""Opting out of reminders: an address is kept as an HMAC of its normalised form (``EmailOptOut``), and the opt-out
link of an e-mail carries that HMAC, signed, never the address itself."""

from django.core import signing
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from .models import EmailOptOut

SALT = "notifications.opt-out"


def normalise(address: str) -> str:
    return (address or "").strip().lower()


@sensitive_variables()  # Django's HMAC and signing frames below hold SECRET_KEY
def address_hash(address: str) -> str:
    return salted_hmac(SALT, normalise(address), algorithm="sha256").hexdigest()


@sensitive_variables()  # Django's HMAC and signing frames below hold SECRET_KEY
def opt_out_token(address: str) -> str:
    """What the opt-out link holds: the address's HMAC, signed (so that no one opts out an address from a guess)."""
    return signing.Signer(salt=SALT).sign(address_hash(address))


@sensitive_variables()  # Django's HMAC and signing frames below hold SECRET_KEY
def hash_from_token(token: str) -> str | None:
    """The address HMAC a link stands for; None for a tampered or malformed token."""
    try:
        value = signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        return None
    return value if len(value) == 64 else None


def opted_out(addresses) -> set[str]:
    """Which of ``addresses`` (as given) opted out: one query for all of them."""
    hashes = {address: address_hash(address) for address in addresses if address}
    if not hashes:
        return set()
    found = set(EmailOptOut.objects.filter(address_hash__in=hashes.values()).values_list("address_hash", flat=True))
    return {address for address, value in hashes.items() if value in found}


def is_opted_out(address: str) -> bool:
    return bool(opted_out([address]))


def record_opt_out(hash_value: str) -> bool:
    """Honour an opt-out from now on. True when it is new."""
    return EmailOptOut.objects.get_or_create(address_hash=hash_value)[1]
