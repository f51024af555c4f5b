"""The recovery link of a cart: its token, signed with the time of signing, valid as long as the cart cookie lives
(30 days). A leaf (Django's signing only), so that the e-mails can write it."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "shop.cart.recover"


def recovery_path(cart) -> str:
    """The path (in the active language) that restores ``cart`` in any browser."""
    return reverse("cart:recover", kwargs={"signed": signing.TimestampSigner(salt=SALT).sign(cart.token)})


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


def token_from_link(signed: str) -> str:
    """The cart token a recovery link stands for. Raises ``LinkExpired`` or ``LinkInvalid``."""
    try:
        return signing.TimestampSigner(salt=SALT).unsign(signed, max_age=settings.CART_COOKIE_AGE)
    except signing.SignatureExpired as error:
        raise LinkExpired() from error
    except signing.BadSignature as error:
        raise LinkInvalid() from error
