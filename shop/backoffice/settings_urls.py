"""Settings → General · Payment · Shipping, under /backoffice/settings/ (namespace ``backoffice``)."""

from django.urls import path

from . import settings_views as views

urlpatterns: list = [
    path("", views.index, name="settings"),
    path("general/", views.general, name="settings_general"),
    path("payment/", views.payment, name="settings_payment"),
    path("shipping/", views.shipping, name="settings_shipping"),
    path("shipping/new/", views.shipping_edit, name="settings_shipping_add"),
    path("shipping/<int:pk>/", views.shipping_edit, name="settings_shipping_edit"),
    path("shipping/<int:pk>/remove/", views.shipping_remove, name="settings_shipping_remove"),
    path("shipping/<int:pk>/activate/", views.shipping_activate, name="settings_shipping_activate"),
]
