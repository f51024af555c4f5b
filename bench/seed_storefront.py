"""Seeds the benchmark catalog: 10,000 products in 10 categories of 1,000 products each, no images.

Run from the repository root with the benchmark settings:

    DJANGO_SETTINGS_MODULE=bench.settings .venv/bin/python -m bench.seed_storefront

Idempotent: when the catalog is already complete it does nothing; a partial catalog (an interrupted run) is replaced.
Either way it refreshes the planner statistics (ANALYZE) of the two catalog tables.
The last lines of output name the category and product pages the benchmark requests (KEY=value, for storefront.sh).
"""

import os
import sys
import time
from decimal import Decimal
from pathlib import Path

CATEGORIES = 10
PER_CATEGORY = 1_000
SKU_PREFIX = "BENCH-"
CATEGORY_SLUG_PREFIX = "bench-category-"
BENCH_CATEGORY = f"{CATEGORY_SLUG_PREFIX}01"  # first page of this category is benchmarked
BENCH_PRODUCT_INDEX = 1_500  # a product of that category, with a description, in stock

ADJECTIVES = [
    "Alpine",
    "Bernese",
    "Classic",
    "Golden",
    "Highland",
    "Organic",
    "Rustic",
    "Smoked",
    "Ticino",
    "Valais",
    "Wild",
    "Zurich",
]
NOUNS = ["Blend", "Bar", "Basket", "Board", "Candle", "Cheese", "Honey", "Jar", "Knife", "Mug", "Scarf", "Tea"]
CATEGORY_NAMES = ["Coffee", "Chocolate", "Cheese", "Kitchen", "Home", "Books", "Outdoor", "Toys", "Beauty", "Garden"]
DESCRIPTION = (
    "Made in Switzerland by a small workshop. Every piece is checked by hand before it leaves the valley.\n\n"
    "Keep dry and away from direct sunlight. Ships within two working days."
)


def _product_fields(i: int, category_id: int) -> dict:
    name = f"{ADJECTIVES[i % len(ADJECTIVES)]} {NOUNS[(i // len(ADJECTIVES)) % len(NOUNS)]} {i:05d}"
    stock_kind = i % 10
    stock = None if stock_kind == 0 else (0 if stock_kind == 1 else (3 if stock_kind == 2 else 20 + i % 80))
    return {
        "category_id": category_id,
        "name": name,
        "slug": f"bench-product-{i:05d}",
        "sku": f"{SKU_PREFIX}{i:05d}",
        "description": DESCRIPTION,
        "price": Decimal(f"{5 + (i * 37) % 200}.{(i * 7) % 100:02d}") if i % 4 else Decimal(5 + (i * 37) % 200),
        "vat_rate": "2.60" if i % 3 == 0 else "8.10",
        "stock": stock,
        "requires_shipping": i % 25 != 0,
        "is_active": True,
        "is_featured": i % 50 == 0,
    }


def seed(stdout=sys.stdout) -> None:
    from django.db import connection, transaction

    from shop.catalog.models import Category, Product

    total = CATEGORIES * PER_CATEGORY
    started = time.monotonic()
    existing = Product.objects.filter(sku__startswith=SKU_PREFIX).count()
    categories_ok = Category.objects.filter(slug__startswith=CATEGORY_SLUG_PREFIX, is_active=True).count() == CATEGORIES
    if existing == total and categories_ok:
        print(f"seed: catalog already seeded ({existing} products), nothing to do", file=stdout)
    else:
        with transaction.atomic():
            Product.objects.filter(sku__startswith=SKU_PREFIX).delete()
            categories = []
            for n, label in enumerate(CATEGORY_NAMES[:CATEGORIES]):
                category, _created = Category.objects.update_or_create(
                    slug=f"{CATEGORY_SLUG_PREFIX}{n:02d}",
                    defaults={
                        "name": f"{label} (bench)",
                        "position": 100 + n,
                        "is_active": True,
                        "description": f"{PER_CATEGORY} {label.lower()} products for the benchmark.",
                    },
                )
                categories.append(category)
            products = [Product(**_product_fields(i, categories[i // PER_CATEGORY].pk)) for i in range(total)]
            Product.objects.bulk_create(products, batch_size=1_000)
        print(
            f"seed: created {CATEGORIES} categories and {total} products in {time.monotonic() - started:.1f} s",
            file=stdout,
        )
    # Fresh tables have no planner statistics until autovacuum gets to them; a production catalog has them.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {Product._meta.db_table}, {Category._meta.db_table}")
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
    print(f"BENCH_CATEGORY_SLUG={BENCH_CATEGORY}", file=stdout)
    print(f"BENCH_PRODUCT_SLUG=bench-product-{BENCH_PRODUCT_INDEX:05d}", file=stdout)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    seed()
