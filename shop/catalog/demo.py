"""The demo catalog that ``make run`` loads: categories, about twenty products with generated images, a digital
product and the CHF 1.– "Test product". Loading is idempotent: products are matched by SKU, images made once."""

import hashlib
import io
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from shop.backoffice.models import Store
from shop.checkout.models import ShippingMethod

from .models import Category, Product

SHIPPING_METHODS = [
    # name, kind, price, free above, pickup address
    ("Swiss Post Economy", "flat", "7.00", "100.00", ""),
    ("Swiss Post Priority", "flat", "9.50", None, ""),
    (
        "Pickup at our Zurich shop",
        "pickup",
        "0.00",
        None,
        "Alpenladen, Limmatquai 42, 8001 Zürich\nMon–Fri 10–18, Sat 10–16",
    ),
]

R, S = Product.VatRate.REDUCED, Product.VatRate.STANDARD

CATEGORIES = [
    ("coffee-tea", "Coffee & Tea", "Roasted in Zurich, picked in the Alps."),
    ("chocolate-sweets", "Chocolate & Sweets", "Swiss chocolate and pastries from small makers."),
    ("kitchen-home", "Kitchen & Home", "Tools and textiles that last for years."),
    ("books-digital", "Books & Digital", "Cookbooks, e-books and gift cards."),
]

# sku, category, name, price, vat, stock (None = unlimited), ships, featured, description
PRODUCTS = [
    (
        "TEST-1",
        "books-digital",
        "Test product",
        "1.00",
        S,
        None,
        False,
        True,
        "A product at CHF 1.– for trying out checkout and payments end to end.",
    ),
    (
        "COF-ALP-500",
        "coffee-tea",
        "Alpine Blend Coffee Beans 500 g",
        "18.90",
        R,
        40,
        True,
        True,
        "Medium roast with notes of hazelnut and dark chocolate. Roasted weekly in Zurich.",
    ),
    (
        "COF-ESP-1000",
        "coffee-tea",
        "Espresso Ticino 1 kg",
        "32.50",
        R,
        25,
        True,
        False,
        "A dark Italian-style roast from Ticino, rich crema, low acidity.",
    ),
    (
        "COF-DECAF-250",
        "coffee-tea",
        "Decaf Swiss Water 250 g",
        "12.80",
        R,
        3,
        True,
        False,
        "Decaffeinated with water only, no chemicals. Full flavour, no caffeine.",
    ),
    (
        "TEA-HERB-50",
        "coffee-tea",
        "Alpine Herbal Tea 50 g",
        "9.50",
        R,
        60,
        True,
        False,
        "Peppermint, lemon balm and alpine rose from Valais mountain farms.",
    ),
    (
        "TEA-BLACK-100",
        "coffee-tea",
        "Engadin Breakfast Tea 100 g",
        "11.20",
        R,
        0,
        True,
        False,
        "A strong black tea blend for cold mountain mornings.",
    ),
    (
        "CHO-DARK-100",
        "chocolate-sweets",
        "Dark Chocolate 72 % 100 g",
        "4.90",
        R,
        120,
        True,
        True,
        "Single-origin cacao, conched for 72 hours in Bern.",
    ),
    (
        "CHO-MILK-100",
        "chocolate-sweets",
        "Milk Chocolate with Hazelnuts 100 g",
        "4.50",
        R,
        90,
        True,
        False,
        "Creamy alpine milk chocolate with whole roasted Piedmont hazelnuts.",
    ),
    (
        "CHO-PRALINE-24",
        "chocolate-sweets",
        "Pralines Selection, 24 pieces",
        "39.00",
        R,
        15,
        True,
        True,
        "Twenty-four handmade pralines in a wooden box.",
    ),
    (
        "SWT-NUSSTORTE",
        "chocolate-sweets",
        "Bündner Nusstorte",
        "24.00",
        R,
        8,
        True,
        False,
        "The Engadin classic: caramelised walnuts in buttery shortcrust.",
    ),
    (
        "SWT-BISCUITS",
        "chocolate-sweets",
        "Basler Läckerli 300 g",
        "14.90",
        R,
        2,
        True,
        False,
        "Honey and spice biscuits from Basel, baked to a 600-year-old recipe.",
    ),
    (
        "KIT-FONDUE",
        "kitchen-home",
        "Cast-Iron Fondue Set",
        "129.00",
        S,
        6,
        True,
        True,
        "Enamelled cast-iron caquelon, burner and six forks. For cheese and chocolate fondue.",
    ),
    (
        "KIT-RACLETTE",
        "kitchen-home",
        "Raclette Grill for 8",
        "189.00",
        S,
        4,
        True,
        False,
        "Eight pans, a granite stone and a grill plate. 1,200 W.",
    ),
    (
        "KIT-KNIFE",
        "kitchen-home",
        "Swiss Kitchen Knife Set",
        "59.90",
        S,
        30,
        True,
        False,
        "Three stainless-steel knives with ergonomic handles, dishwasher safe.",
    ),
    (
        "KIT-PEELER",
        "kitchen-home",
        "Classic Swiss Peeler, 3 pieces",
        "12.50",
        S,
        200,
        True,
        False,
        "The peeler every Swiss kitchen has, in red, green and yellow.",
    ),
    (
        "HOM-BLANKET",
        "kitchen-home",
        "Wool Blanket Edelweiss",
        "149.00",
        S,
        10,
        True,
        False,
        "Pure Swiss wool, woven in Appenzell. 150 × 200 cm.",
    ),
    (
        "HOM-COWBELL",
        "kitchen-home",
        "Decorative Cow Bell",
        "45.00",
        S,
        12,
        True,
        False,
        "A hand-forged brass bell with an embroidered leather strap.",
    ),
    (
        "HOM-MUG",
        "kitchen-home",
        "Enamel Mug Matterhorn",
        "1234.50",
        S,
        1,
        True,
        False,
        "A collector's enamel mug, numbered edition signed by the artist.",
    ),
    (
        "BK-COOKBOOK",
        "books-digital",
        "Swiss Baking Classics (hardcover)",
        "42.00",
        R,
        20,
        True,
        False,
        "Eighty recipes from Zopf to Rüeblitorte, in German, French and English.",
    ),
    (
        "BK-EBOOK",
        "books-digital",
        "Swiss Baking Classics (e-book)",
        "19.00",
        R,
        None,
        False,
        True,
        "The e-book edition (EPUB and PDF), delivered by download link after payment.",
    ),
    (
        "GIFT-50",
        "books-digital",
        "Gift Card CHF 50",
        "50.00",
        Product.VatRate.EXEMPT,
        None,
        False,
        False,
        "A digital gift card sent by e-mail, valid for three years.",
    ),
]

PALETTE = [(200, 16, 46), (28, 107, 58), (26, 95, 208), (138, 83, 0), (106, 63, 181), (29, 35, 43)]


def product_image(sku: str, name: str, size: int = 600) -> bytes:
    """A calm generated picture for a demo product: a two-tone background and the product's initials."""
    digest = hashlib.sha256(sku.encode()).digest()
    base = PALETTE[digest[0] % len(PALETTE)]
    light = tuple(int(c + (255 - c) * 0.85) for c in base)
    image = Image.new("RGB", (size, size), light)
    draw = ImageDraw.Draw(image)
    radius = size // 3 + digest[1] % (size // 8)
    center = (size // 2 + digest[2] % 60 - 30, size // 2 + digest[3] % 60 - 30)
    draw.ellipse([center[0] - radius, center[1] - radius, center[0] + radius, center[1] + radius], fill=base)
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    font = ImageFont.load_default(size=size // 5)
    draw.text(center, initials, fill=(255, 255, 255), font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@transaction.atomic
def load_demo_catalog() -> dict[str, int]:
    """Create or update the demo catalog. Returns counts of what was created."""
    created = {"categories": 0, "products": 0}
    categories = {}
    for position, (slug, name, description) in enumerate(CATEGORIES):
        categories[slug], was_created = Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position, "is_active": True}
        )
        created["categories"] += was_created
    for sku, cat, name, price, vat, stock, ships, featured, description in PRODUCTS:
        product, was_created = Product.objects.get_or_create(
            sku=sku,
            defaults={
                "category": categories[cat],
                "name": name,
                "slug": sku.lower(),
                "price": Decimal(price),
                "vat_rate": vat,
                "stock": stock,
                "requires_shipping": ships,
                "is_featured": featured,
                "description": description,
            },
        )
        created["products"] += was_created
        if not product.image:
            product.image.save(f"{sku.lower()}.png", ContentFile(product_image(sku, name)), save=True)
    return created


@transaction.atomic
def load_demo_store() -> None:
    """The demo store starts in test mode, with a bank account for transfers and three shipping methods."""
    store = Store.load()
    if not store.street:  # first run only: never overwrite what the merchant changed
        store.name = "Alpenladen"
        store.email = "hello@alpenladen.example"
        store.street = "Limmatquai 42"
        store.postcode = "8001"
        store.city = "Zürich"
        store.vat_number = "CHE-123.456.789 MWST"
        store.test_mode = True
        store.bank_account_holder = "Alpenladen GmbH"
        store.bank_iban = "CH93 0076 2011 6238 5295 7"
        store.bank_name = "Zürcher Kantonalbank"
        store.invoice_terms = "Payable within 30 days."
        store.save()
    for position, (name, kind, price, free_above, pickup) in enumerate(SHIPPING_METHODS):
        ShippingMethod.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "price": Decimal(price),
                "free_above": Decimal(free_above) if free_above else None,
                "pickup_address": pickup,
                "position": position,
            },
        )
