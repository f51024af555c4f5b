"""A version number for everything storefront pages show of the catalog, to key cached fragments with.

Any change to a category, a product, its images or its stock bumps the version, so that pages show it at once: with
Redis (production) every worker sees the new version; with the per-process cache of the embedded default the TTL of
the fragments bounds how long another process may show the old state.
"""

import time

from django.core.cache import cache

VERSION_KEY = "catalog:version"
TTL = 300


def catalog_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        # Time-based start, so that a flushed cache never starts again at a version some process still remembers.
        cache.add(VERSION_KEY, int(time.time() * 1000), None)
        version = cache.get(VERSION_KEY)
    return version


def bump_catalog_version(**_kwargs) -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # not in the cache (evicted or never set): any new value invalidates the old keys
        cache.set(VERSION_KEY, int(time.time() * 1000), None)


# Values under a versioned key never change, so each process also keeps the ones it used last in memory, which saves
# unpickling them from the cache on every request. The version itself is read from the shared cache every time.
_local: dict[str, tuple[object, float]] = {}
_LOCAL_MAX = 512


def cached(key: str, build):
    """``build()`` cached under ``key`` for the current catalog version."""
    full_key = f"catalog:{catalog_version()}:{key}"
    now = time.monotonic()
    local = _local.get(full_key)
    if local is not None and local[1] > now:
        return local[0]
    value = cache.get(full_key)
    if value is None:
        value = build()
        cache.set(full_key, value, TTL)
    if len(_local) >= _LOCAL_MAX:
        _local.clear()
    _local[full_key] = (value, now + TTL)  # the same lifetime as in the shared cache
    return value
