"""Finds the shopper's cart through the signed 30-day cookie and renews the cookie when the cart changes."""

from django.conf import settings

from . import services

SALT = "shop.cart"


class CartHandle:
    """``request.cart``: the token from the cookie and the cart behind it, loaded on first use."""

    def __init__(self, token: str | None, cookie_present: bool):
        self.token = token
        self.cookie_present = cookie_present
        self.renew_cookie = False
        self._cart = None
        self._loaded = False

    @property
    def cart(self):
        if not self._loaded:
            self._cart = services.find_cart(self.token)
            self._loaded = True
        return self._cart

    @property
    def item_count(self) -> int:
        cart = self.cart
        return (cart.item_count or 0) if cart else 0

    def changed(self, cart=None):
        """Call after an action changed the cart: the cookie is (re)set for 30 days and the count re-read."""
        if cart is not None:
            self.token = cart.token
        self.renew_cookie = True
        self._loaded = False

    def forget(self):
        """Call once the cart is ordered: the cookie is removed and the header shows an empty cart."""
        self.token = None
        self.renew_cookie = False
        self._cart = None
        self._loaded = True


class CartMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = settings.CART_COOKIE_NAME
        cookie_present = name in request.COOKIES
        token = None
        if cookie_present:
            # A tampered, malformed or expired cookie reads as "no cart", never as an error.
            token = request.get_signed_cookie(name, default=None, salt=SALT, max_age=settings.CART_COOKIE_AGE)
        request.cart = CartHandle(token, cookie_present)
        response = self.get_response(request)
        handle = request.cart
        if handle.renew_cookie and handle.token:
            response.set_signed_cookie(
                name,
                handle.token,
                salt=SALT,
                max_age=settings.CART_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        elif cookie_present and (handle.token is None or (handle._loaded and handle._cart is None)):
            # tampered, expired, purged or ordered: the shopper starts a new cart with their next addition
            response.delete_cookie(name, samesite="Lax")
        return response
