from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from shop.cart.models import Cart, CartLine
from shop.catalog.models import Category, Product


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    description = "A fine product."
    price = Decimal("10.00")
    stock = 50


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart


class CartLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartLine

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.django.Password("s3cret-pass")


def left_cart(product, email="anna@example.ch", *, ago=timedelta(hours=3), quantity=1, **cart):
    """A cart holding ``quantity`` of ``product``, with an e-mail, whose shopper's last action was ``ago`` (by
    default long enough to count as abandoned); ``cart``: more of the cart's fields (language, shopper_name…)."""
    return CartLineFactory(
        product=product,
        quantity=quantity,
        cart__email=email,
        cart__last_activity_at=timezone.now() - ago,
        **{f"cart__{name}": value for name, value in cart.items()},
    ).cart
