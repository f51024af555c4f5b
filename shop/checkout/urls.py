from django.urls import path

from . import views

app_name = "checkout"

urlpatterns = [
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/summary/", views.checkout_summary, name="summary"),
    path("order/<str:token>/", views.order_detail, name="order"),
    path("order/<str:token>/pay/", views.order_pay, name="pay"),
]
