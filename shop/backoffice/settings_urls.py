from django.urls import path

urlpatterns: list = [
    # Settings pages are added here.
]
