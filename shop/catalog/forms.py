"""Forms of the back office's Catalog pages (Products · Categories). They parse and validate what the merchant typed,
with messages that say how to put it right; nothing here writes to the database (the views save through
``services.py``)."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db.models import F
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from shop.backoffice.forms import MoneyField, PositionField
from shop.form_fields import Form, ModelForm

from .models import Category, Product

IMAGE_EXTENSIONS = ["jpg", "jpeg", "png", "gif", "webp"]
IMAGE_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}  # what every browser shows
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MESSAGE = _("Upload a photo as a JPEG, PNG, GIF or WebP file.")
STOCK_MAX = 1_000_000_000


def unique_slug(model, text: str, exclude_pk=None, fallback: str = "item") -> str:
    """A slug made from ``text`` that no other row of ``model`` uses: ``fondue-set``, then ``fondue-set-2`` …"""
    max_length = model._meta.get_field("slug").max_length
    base = slugify(text)[: max_length - 6].strip("-") or fallback
    taken = set(
        model.objects.filter(slug__startswith=base).exclude(pk=exclude_pk).values_list("slug", flat=True).iterator()
    )
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


class SlugMixin:
    """An optional slug field: made from the name when left empty, unique, and a clear message when it is taken."""

    slug_fallback = "item"

    def clean_slug(self):
        return self.cleaned_data["slug"].strip().lower()

    def clean(self):
        data = super().clean()
        if not data.get("slug") and not self.has_error("slug") and data.get("name"):
            data["slug"] = unique_slug(self._meta.model, data["name"], self.instance.pk, self.slug_fallback)
        return data


# --- Products -------------------------------------------------------------------------------------------------------


class PhotoField(forms.ImageField):
    """An image upload that Pillow can read, in a format every browser shows, with one clear message if not."""

    default_validators = [FileExtensionValidator(IMAGE_EXTENSIONS, message=IMAGE_MESSAGE)]


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name if obj.is_active else _("%(name)s (hidden)") % {"name": obj.name}


class ProductForm(SlugMixin, ModelForm):
    slug_fallback = "product"

    slug = forms.SlugField(
        label=_("Address (slug)"),
        max_length=220,
        required=False,
        allow_unicode=False,
        help_text=_(
            "The last part of the product page's address. Leave empty to make one from the name. If you change it, "
            "links to the old address stop working."
        ),
        error_messages={
            "invalid": _("Use only lower-case letters a–z, digits and hyphens, e.g. alpine-blend-coffee."),
            "unique": _("Another product already uses this address. Choose another one or leave it empty."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    category = CategoryChoiceField(
        label=_("Category"),
        queryset=Category.objects.order_by("position", "name"),
        empty_label=_("Choose a category"),
        error_messages={
            "required": _("Choose the category the product is listed in."),
            "invalid_choice": _("This category no longer exists. Choose another one."),
        },
    )
    price = MoneyField(label=_("Price (CHF)"), help_text=_("Including VAT, as shoppers pay it, e.g. 18.90."))
    stock = forms.IntegerField(
        label=_("Stock"),
        required=False,
        min_value=0,
        max_value=STOCK_MAX,
        help_text=_("How many you have for sale. Leave empty for unlimited stock (digital goods, services)."),
        error_messages={
            "invalid": _("Enter a whole number of items, such as 12, or leave the field empty for unlimited stock."),
            "min_value": _("Stock can't be negative. Enter 0 if the product is sold out."),
            "max_value": _("This number is too large."),
        },
        # Text, not type=number: a browser sends nothing for what it can't parse, which would mean "unlimited".
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    image = PhotoField(
        label=_("Main image"),
        required=False,
        help_text=_("JPEG, PNG, GIF or WebP, up to 10 MB. A square photo of at least 800 × 800 pixels looks best."),
        error_messages={
            "invalid_image": _(
                "This file is not an image we can read. Upload a photo as a JPEG, PNG, GIF or WebP file."
            ),
            "invalid": IMAGE_MESSAGE,
            "empty": _("The uploaded file is empty."),
        },
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )
    remove_image = forms.BooleanField(label=_("Remove the current image"), required=False)

    class Meta:
        model = Product
        fields = [
            "name",
            "slug",
            "sku",
            "category",
            "description",
            "price",
            "vat_rate",
            "stock",
            "requires_shipping",
            "is_featured",
            "is_active",
            "image",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6}),
            "sku": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }
        labels = {
            "name": _("Name"),
            "sku": _("SKU"),
            "description": _("Description"),
            "vat_rate": _("VAT rate"),
            "requires_shipping": _("Requires shipping"),
            "is_featured": _("Featured on the home page"),
            "is_active": _("Active (for sale in the shop)"),
        }
        help_texts = {
            "name": _("Shoppers see it in the shop, on their order and on the invoice."),
            "sku": _("Your own article number, unique in the shop, e.g. COF-ALP-500."),
            "description": _("Shown on the product page. Blank lines start a new paragraph."),
            "vat_rate": _("Reduced rate for food, books and newspapers; standard rate for everything else."),
            "requires_shipping": _("Untick for digital products and services: no address or shipping is asked for."),
            "is_active": _("Untick to take the product out of the shop without deleting it."),
        }
        error_messages = {
            "name": {"required": _("Enter the product's name.")},
            "sku": {
                "required": _("Enter an SKU (your article number), e.g. COF-ALP-500."),
                "unique": _("Another product already has this SKU. Each product needs its own."),
            },
            "vat_rate": {"invalid_choice": _("Choose one of the Swiss VAT rates in the list.")},
        }

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip()
        other = Product.objects.filter(sku__iexact=sku).exclude(pk=self.instance.pk).only("name", "sku").first()
        if other is not None:
            raise ValidationError(
                _("“%(name)s” already has the SKU %(sku)s. Each product needs its own SKU."),
                code="unique",
                params={"name": other.name, "sku": other.sku},
            )
        return sku

    def clean_image(self):
        image = self.cleaned_data.get("image")
        upload = self.files.get(self.add_prefix("image"))
        if not upload or image is not upload:
            return image  # nothing new uploaded: the current image (or none) stays
        if upload.size > IMAGE_MAX_BYTES:
            raise ValidationError(_("This image is larger than 10 MB. Please upload a smaller file."), code="size")
        pil_image = getattr(upload, "image", None)
        if pil_image is None or pil_image.format not in IMAGE_FORMATS:
            raise ValidationError(IMAGE_MESSAGE, code="format")
        return image

    def clean(self):
        data = super().clean()
        if data.get("remove_image") and not self.files.get(self.add_prefix("image")):
            data["image"] = False  # clears the field on save
        return data


STOCK_FILTERS = {
    "in_stock": _("In stock"),
    "low": _("Low stock"),
    "sold_out": _("Sold out"),
    "unlimited": _("Unlimited"),
}

PRODUCT_SORTS = {
    "name": (_("Name A–Z"), ("name", "id")),
    "-name": (_("Name Z–A"), ("-name", "-id")),
    "sku": (_("SKU"), ("sku", "id")),
    "price": (_("Price: low to high"), ("price", "id")),
    "-price": (_("Price: high to low"), ("-price", "-id")),
    # Unlimited stock (NULL) counts as the most there is.
    "stock": (_("Stock: lowest first"), (F("stock").asc(nulls_last=True), "id")),
    "-stock": (_("Stock: highest first"), (F("stock").desc(nulls_first=True), "-id")),
    "-created": (_("Newest first"), ("-created_at", "-id")),
}


class ProductFilterForm(Form):
    """The list's search, filters and sort, from the query string. The categories are passed in (one query for the
    choices and their validation)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name or SKU")}),
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("active", _("Active")), ("inactive", _("Inactive"))],
    )
    stock = forms.ChoiceField(label=_("Stock"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[(key, label) for key, (label, _order) in PRODUCT_SORTS.items()],
    )

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All"))] + [(str(c.pk), c.name) for c in categories]
        threshold = settings.LOW_STOCK_THRESHOLD
        labels = {
            **STOCK_FILTERS,
            "in_stock": _("In stock (more than %(count)s)") % {"count": threshold},
            "low": _("Low (1 to %(count)s left)") % {"count": threshold},
        }
        self.fields["stock"].choices = [("", _("All"))] + list(labels.items())

    def clean_q(self):
        return " ".join(self.cleaned_data["q"].split())


# --- Categories -----------------------------------------------------------------------------------------------------


class CategoryForm(SlugMixin, ModelForm):
    slug_fallback = "category"

    slug = forms.SlugField(
        label=_("Address (slug)"),
        max_length=140,
        required=False,
        help_text=_(
            "The last part of the category page's address. Leave empty to make one from the name. If you change it, "
            "links to the old address stop working."
        ),
        error_messages={
            "invalid": _("Use only lower-case letters a–z, digits and hyphens, e.g. coffee-tea."),
            "unique": _("Another category already uses this address. Choose another one or leave it empty."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    position = PositionField(
        help_text=_("Categories are listed in the shop from the lowest number to the highest."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    class Meta:
        model = Category
        fields = ["name", "slug", "description", "position", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        labels = {
            "name": _("Name"),
            "description": _("Description"),
            "is_active": _("Visible in the shop"),
        }
        help_texts = {
            "name": _("Shoppers see it in the shop's navigation, e.g. “Coffee & Tea”."),
            "description": _("Shown at the top of the category page."),
            "is_active": _("Untick to hide the category and all its products from the shop."),
        }
        error_messages = {
            "name": {"required": _("Enter the category's name.")},
        }


# --- Removing -------------------------------------------------------------------------------------------------------


class RemoveForm(Form):
    """The choice on the confirmation page of a product or a category: take it out of the shop, or delete it."""

    action = forms.ChoiceField(
        choices=[("deactivate", _("Deactivate")), ("activate", _("Activate")), ("delete", _("Delete"))],
        error_messages={
            "required": _("Choose whether to deactivate or delete."),
            "invalid_choice": _("Choose whether to deactivate or delete."),
        },
    )
