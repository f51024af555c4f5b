from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("email/no-more-reminders/<str:token>/", views.opt_out, name="opt_out"),
]
