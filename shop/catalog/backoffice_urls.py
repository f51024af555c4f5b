"""Catalog → Products · Categories, under /backoffice/catalog/ (namespace ``backoffice``)."""

from django.urls import path

from . import backoffice

urlpatterns = [
    path("", backoffice.index, name="catalog"),
    path("products/", backoffice.product_list, name="products"),
    path("products/new/", backoffice.product_edit, name="product_add"),
    path("products/<int:pk>/", backoffice.product_edit, name="product_edit"),
    path("products/<int:pk>/remove/", backoffice.product_remove, name="product_remove"),
    path("categories/", backoffice.category_list, name="categories"),
    path("categories/new/", backoffice.category_edit, name="category_add"),
    path("categories/<int:pk>/", backoffice.category_edit, name="category_edit"),
    path("categories/<int:pk>/remove/", backoffice.category_remove, name="category_remove"),
]
