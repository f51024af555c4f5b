from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "shop.catalog"
    label = "catalog"
    verbose_name = _("Catalog")

    def ready(self):
        # Cache invalidation only (no business logic): any saved or deleted catalog row bumps the catalog version.
        from django.db.models.signals import post_delete, post_save

        from .cache import bump_catalog_version
        from .models import Category, Product, ProductImage

        for model in (Category, Product, ProductImage):
            post_save.connect(bump_catalog_version, sender=model, dispatch_uid=f"catalog-version-save-{model.__name__}")
            post_delete.connect(
                bump_catalog_version, sender=model, dispatch_uid=f"catalog-version-delete-{model.__name__}"
            )
