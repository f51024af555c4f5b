from django.urls import path

from shop import converters  # noqa: F401 (registers <token:…>)

from . import views

app_name = "checkout"

urlpatterns = [
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/summary/", views.checkout_summary, name="summary"),
    path("order/<token:token>/", views.order_detail, name="order"),
    path("order/<token:token>/pay/", views.order_pay, name="pay"),
]
