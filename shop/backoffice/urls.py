from django.urls import include, path

from . import views

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("orders/", include("orders.backoffice_urls")),
    path("abandoned-carts/", include("shop.cart.backoffice_urls")),
    # Catalog → Products · Categories
    path("catalog/", include("shop.catalog.backoffice_urls")),
    # Settings → General · Payment · Shipping
    path("settings/", include("shop.backoffice.settings_urls")),
]
