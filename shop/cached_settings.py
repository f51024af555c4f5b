from django.core.cache import cache
from django.db import models


class CachedSettingsModel(models.Model):
    """Merchant settings that the storefront reads on every request (the store, payment and shipping methods):
    read through the cache under ``CACHE_KEY``, dropped from it whenever a row is saved or deleted."""

    CACHE_KEY = ""
    CACHE_TTL = 300

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        cache.delete(self.CACHE_KEY)

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        cache.delete(self.CACHE_KEY)
        return result

    @classmethod
    def cached(cls, build):
        value = cache.get(cls.CACHE_KEY)
        if value is None:
            value = build()
            cache.set(cls.CACHE_KEY, value, cls.CACHE_TTL)
        return value
