from django.urls import path

from shop import converters  # noqa: F401 (registers <token:…>)

from . import views

app_name = "payments"

urlpatterns = [
    path("pay/test/<token:reference>/", views.test_page, name="test_page"),
]
