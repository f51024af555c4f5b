from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("pay/test/<str:reference>/", views.test_page, name="test_page"),
]
