"""A version number for everything storefront pages show of the catalog, to key cached fragments with.

Any change to a category, a product, its images or its stock bumps the version, so that pages show it at once: with
Redis (production) every worker sees the new version; with the per-process cache of the embedded default the TTL of
the fragments bounds how long another process may show the old state.
"""

from django.core.cache import cache

VERSION_KEY = "catalog:version"
TTL = 300


def catalog_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, None)
        version = cache.get(VERSION_KEY, 1)
    return version


def bump_catalog_version(**_kwargs) -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not in the cache (evicted or never set): any new value invalidates the old keys
        cache.set(VERSION_KEY, catalog_version() + 1, None)


def cached(key: str, build):
    """``build()`` cached under ``key`` for the current catalog version."""
    full_key = f"catalog:{catalog_version()}:{key}"
    value = cache.get(full_key)
    if value is None:
        value = build()
        cache.set(full_key, value, TTL)
    return value
