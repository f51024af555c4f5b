"""Sales → Abandoned carts, under /backoffice/abandoned-carts/ (namespace ``backoffice``)."""

from django.urls import path

from . import backoffice

urlpatterns = [
    path("", backoffice.abandoned_carts, name="abandoned_carts"),
    path("<int:pk>/", backoffice.abandoned_cart, name="abandoned_cart"),
    path("<int:pk>/remind/", backoffice.abandoned_cart_remind, name="abandoned_cart_remind"),
]
