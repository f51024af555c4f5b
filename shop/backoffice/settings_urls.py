"""Settings → General · Payment · Shipping · Email, under /backoffice/settings/ (namespace ``backoffice``)."""

from django.urls import path

from notifications import backoffice as email_views

from . import settings_views as views

urlpatterns: list = [
    path("", views.index, name="settings"),
    path("general/", views.general, name="settings_general"),
    path("payment/", views.payment, name="settings_payment"),
    path("payment/check/<str:account>/", views.payment_check, name="settings_payment_check"),
    path("shipping/", views.shipping, name="settings_shipping"),
    path("shipping/new/", views.shipping_edit, name="settings_shipping_add"),
    path("shipping/<int:pk>/", views.shipping_edit, name="settings_shipping_edit"),
    path("shipping/<int:pk>/remove/", views.shipping_remove, name="settings_shipping_remove"),
    path("shipping/<int:pk>/activate/", views.shipping_activate, name="settings_shipping_activate"),
    path("email/", email_views.email_settings, name="settings_email"),
    path("email/test/", email_views.email_test, name="settings_email_test"),
    path("email/preview/<str:kind>/<str:language>/", email_views.email_preview, name="settings_email_preview"),
    path("email/log/", email_views.email_log, name="email_log"),
    path("email/log/<int:pk>/resend/", email_views.email_resend, name="email_resend"),
]
