from django.urls import path

from . import backoffice

urlpatterns = [
    path("", backoffice.order_list, name="orders"),
    path("export.csv", backoffice.order_export, name="orders_export"),
    path("process/", backoffice.process_orders, name="process_orders"),
    path("new/", backoffice.order_create, name="order_create"),
    path("<int:number>/edit/", backoffice.order_edit, name="order_edit"),
    path("<int:number>/", backoffice.order_detail, name="order"),
    path("<int:number>/action/", backoffice.order_action, name="order_action"),
]
