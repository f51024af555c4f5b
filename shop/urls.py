from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import set_language

from payments.views import webhook
from shop.views import favicon, healthz, media

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("django-admin/", admin.site.urls),
    path("backoffice/", include("shop.backoffice.urls")),
    path("webhooks/<slug:provider>/", webhook, name="webhook"),
]
if settings.SERVE_MEDIA:
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", media, name="media")]

# The storefront carries the language in its URLs (/de/, /fr/, /en/); "/" redirects to the shopper's language.
urlpatterns += i18n_patterns(
    path("cart/", include("shop.cart.urls")),
    path("", include("notifications.urls")),
    path("", include("shop.checkout.urls")),
    path("", include("payments.urls")),
    path("", include("shop.catalog.urls")),
)
