"""Words a person reads: one English word with two meanings gets a context ("Order" the noun and the button, "To" the
recipient and the end date), the order's edit history in the reader's language and money, names instead of codes,
French punctuation with a no-break space, and dates as a Swiss shop writes them in each language."""

import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from orders import services
from orders.models import Order, OrderEvent
from payments.services import send_payment_link

pytestmark = pytest.mark.django_db

NB = "\u00a0"


def page(client, url, language="en", **params):
    response = client.get(url, params, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    return response.content.decode()


def headers(html):
    return re.findall(r"<th(?:\s[^>]*)?>(?:<span[^>]*>)?([^<]*)<", html)


# One word, two meanings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, order, place_order, recipient, until",
    [
        ("en", "Order", "Order", "To", "To"),
        ("de", "Bestellung", "Bestellen", "Empfänger", "Bis"),
        ("fr", "Commande", "Commander", "Destinataire", "Au"),
    ],
)
def test_order_the_noun_is_not_order_the_button_and_to_the_recipient_is_not_to_the_date(
    client, staff, place, fondue, product, language, order, place_order, recipient, until
):
    place(fondue)
    orders = page(client, reverse("backoffice:orders"), language)
    assert headers(orders)[0] == order
    assert re.search(rf'<label for="id_date_to">{until}</label>', orders)
    log = headers(page(client, reverse("backoffice:email_log"), language))
    assert log[2:4] == [recipient, order]
    client.post(f"/{language}/cart/add/", {"product": product.pk, "quantity": 1})
    checkout = client.get(f"/{language}/checkout/", follow=True).content.decode()
    assert re.search(rf'<button type="submit" class="btn btn--primary btn--block">{place_order}</button>', checkout)


# The order's edit history ------------------------------------------------------------------------------------------


@pytest.fixture
def edited(place, fondue, staff):
    """An order of 2 fondue sets edited: shipping 0.– → 9.50, 2 → 1 set with "adjust stock", then switched to an
    online payment method by a payment link."""
    order = place(fondue, 2)
    line = order.lines.get()
    services.edit_order(
        order,
        {"shipping_total": Decimal("9.50")},
        [services.LineChange(line.pk, 1, line.unit_price)],
        staff,
        adjust_stock=True,
    )
    send_payment_link(order, staff)
    return order


@pytest.mark.parametrize(
    "language, expected",
    [
        (
            "en",
            [
                "Shipping: CHF 0.– → CHF 9.50",
                "Fondue Set (FON-1): 2 × CHF 129.– → 1 × CHF 129.–",
                "Total: CHF 258.– → CHF 138.50",
                "Stock: FON-1 +1",
                "Payment method: Bank transfer → Test payment",
            ],
        ),
        (
            "de",
            [
                "Versandkosten: CHF 0.– → CHF 9.50",
                "Fondue Set (FON-1): 2 × CHF 129.– → 1 × CHF 129.–",
                "Total: CHF 258.– → CHF 138.50",
                "Lagerbestand: FON-1 +1",
                "Zahlungsart: Banküberweisung → Testzahlung",
            ],
        ),
        (
            "fr",
            [
                f"Frais de livraison{NB}: CHF 0.– → CHF 9.50",
                f"Fondue Set (FON-1){NB}: 2 × CHF 129.– → 1 × CHF 129.–",
                f"Total{NB}: CHF 258.– → CHF 138.50",
                f"Stock{NB}: FON-1 +1",
                f"Mode de paiement{NB}: Virement bancaire → Paiement test",
            ],
        ),
    ],
)
def test_the_edit_history_reads_in_the_readers_words_and_money(client, edited, language, expected):
    html = page(client, reverse("backoffice:order", args=[edited.number]), language)
    changes = re.findall(r"<li>([^<]*)</li>", html)
    for line in expected:
        assert line in changes, (line, changes)
    for code in ("shipping_total", "line FON-1", "bank_transfer", "FON-1 −1", "258.00"):
        assert code not in html


def test_edit_changes_reads_the_stored_record(place, fondue):
    from orders.templatetags.orders import edit_changes

    order = Order.objects.prefetch_related("lines").get(pk=place(fondue).pk)
    order.lines.all()[0].__class__.objects.filter(order=order).update(sku="SKU-1")
    order = Order.objects.prefetch_related("lines").get(pk=order.pk)
    record = {
        "shipping_total": ["9.50", "0.00"],
        "line SKU-1": ["1 × 10.00", "2 × 10.00"],
        "total": ["258.00", "135.80"],
        "payment_method": ["bank_transfer", "test"],
        "line GONE-9": ["3 × 4.50", ""],
        "billing_country": ["CH", "LI"],
        "shipping_name": ["", "Anna Muster"],
        "adjustment": ["0.00", "-10.00"],
    }
    assert edit_changes(record, order) == [
        ("Payment method", "Bank transfer", "Test payment"),
        ("Name (shipping address)", "", "Anna Muster"),
        ("Country (billing address)", "Switzerland", "Liechtenstein"),
        ("Shipping", "CHF 9.50", "CHF 0.–"),
        ("Discount (−) or surcharge (+)", "CHF 0.–", "CHF -10.–"),
        ("GONE-9", "3 × CHF 4.50", ""),  # a removed line: its name is no longer on the order
        ("Fondue Set (SKU-1)", "1 × CHF 10.–", "2 × CHF 10.–"),
        ("Total", "CHF 258.–", "CHF 135.80"),
    ]
    with translation.override("de"):
        assert edit_changes({"shipping_total": ["9.50", "0"]}, order) == [("Versandkosten", "CHF 9.50", "CHF 0.–")]
    assert edit_changes("", order) == [] and edit_changes(None) == []


def test_stock_moves_say_how_the_shops_stock_changed():
    from orders.templatetags.orders import stock_moves

    edit = OrderEvent(type=OrderEvent.Type.EDITED, data={"stock": {"FON-1": -4, "CHO-1": 2}})
    restored = OrderEvent(type=OrderEvent.Type.STOCK_RESTORED, data={"items": {"FON-1": 3}})
    assert stock_moves(edit) == "CHO-1 \u22122, FON-1 +4"  # the order holds 4 fewer: they are back in stock
    assert stock_moves(restored) == "FON-1 +3"
    assert stock_moves(OrderEvent(type=OrderEvent.Type.NOTE, data={"note": "x"})) == ""


def test_restored_stock_shows_on_the_timeline(client, staff, place, fondue):
    order = place(fondue, 2)
    services.cancel_order(order, user=staff)
    html = page(client, reverse("backoffice:order", args=[order.number]))
    assert "<li>Stock: FON-1 +2</li>" in html


# Names, not codes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code, name", [("de", "Deutsch"), ("fr", "Français"), ("en", "English")])
def test_languages_are_named_as_their_speakers_write_them(client, staff, place, fondue, code, name):
    order = place(fondue, language=code)
    for reader in ("en", "de", "fr"):
        html = page(client, reverse("backoffice:order", args=[order.number]), reader)
        assert re.search(rf'<p class="muted">[^<]* · {name}</p>', html), reader
        log = page(client, reverse("backoffice:email_log"), reader)
        assert f'<span class="muted small">{name}</span>' in log
        assert f'<span class="muted small">{code.upper()}</span>' not in log


def test_the_timeline_names_the_payment_provider(client, staff, place, fondue):
    order = place(fondue)
    OrderEvent.objects.create(order=order, type="payment_started", actor="shopper", data={"provider": "test"})
    OrderEvent.objects.create(order=order, type="payment_failed", actor="provider", data={"provider": "bank_transfer"})
    html = page(client, reverse("backoffice:order", args=[order.number]))
    assert "Payment started</strong> · Test payment" in html and "Payment failed</strong> · Bank transfer" in html


# French punctuation ------------------------------------------------------------------------------------------------


def colons_without_no_break_space(html: str) -> list[str]:
    """The ":" in the page's main text (tags removed) that end a label without a no-break space before them."""
    text = re.sub(r"<[^>]*>", "", html.split("<main", 1)[1])
    return [text[max(0, m.start() - 25) : m.end()] for m in re.finditer(r"(?<![\u00a0\u202f]):(?=\s)", text)]


def test_labels_followed_by_a_colon_get_a_no_break_space_in_french(client, staff, edited):
    Order.objects.filter(pk=edited.pk).update(needs_attention=True, attention_reason="Adresse douteuse")
    order_page = page(client, reverse("backoffice:order", args=[edited.number]), "fr")
    assert re.search(rf"<strong>[^<]+{NB}:</strong> Adresse douteuse", order_page)
    assert f"Commande modifiée</strong>{NB}:" not in order_page  # an edit lists its changes, no colon after the title
    assert not colons_without_no_break_space(order_page)
    edit_page = page(client, reverse("backoffice:order_edit", args=[edited.number]), "fr")
    totals = re.search(r"<p>([^\n]*)</strong></p>", edit_page)[1]  # "Total actuel : CHF … · Payé : CHF …"
    assert totals.count(f"{NB}: <strong") == 2, totals
    english = page(client, reverse("backoffice:order", args=[edited.number]), "en")
    assert "Needs attention:</strong>" in english and f"{NB}:" not in english
    assert colons_without_no_break_space(english)  # the check finds English colons: it would find French ones


@pytest.mark.parametrize("kind", ["low_stock", "order_confirmation", "status_changed", "shipped"])
def test_french_e_mails_put_a_no_break_space_before_colons(store, place, fondue, kind):
    from notifications.render import render

    order = place(fondue)
    data = {"products": [{"name": "Fondue Set", "sku": "FON-1", "stock": 2, "pk": fondue.pk}], "status": "shipped"}
    subject, text, html = render(kind, "fr", store=store, order=order, data=data)
    body = re.sub(r"<[^>]*>|https?://\S+", "", html.split("<body", 1)[1]) + text
    plain = [body[max(0, m.start() - 25) : m.end()] for m in re.finditer(r"(?<![\u00a0\u202f]):(?=\s)", body)]
    assert not plain and ":" in body
    if kind == "low_stock":
        assert f"Fondue Set (FON-1){NB}: " in text and f"Fondue Set (FON-1){NB}: " in html


# Dates -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language, long, short",
    [
        ("en", "1 Dec 2026, 14:30", "01.12.2026 14:30"),
        ("de", "1. Dezember 2026 14:30", "01.12.2026 14:30"),
        ("fr", "1 décembre 2026 14:30", "01.12.2026 14:30"),
    ],
)
def test_dates_are_written_as_a_swiss_shop_writes_them(client, staff, place, fondue, language, long, short):
    order = place(fondue)
    placed = datetime(2026, 12, 1, 14, 30, tzinfo=timezone.get_current_timezone())
    Order.objects.filter(pk=order.pk).update(created_at=placed)
    assert re.search(
        rf'<p class="muted">{long} · ', page(client, reverse("backoffice:order", args=[order.number]), language)
    )
    assert f"<td>{short}</td>" in page(client, reverse("backoffice:orders"), language)
    with translation.override(language):
        rendered = Template('{{ d|date:"DATE_FORMAT" }}|{{ d|date:"SHORT_DATE_FORMAT" }}').render(
            Context({"d": placed})
        )
    assert (
        rendered
        == {"en": "1 Dec 2026|01.12.2026", "de": "1. Dezember 2026|01.12.2026", "fr": "1 décembre 2026|01.12.2026"}[
            language
        ]
    )


@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_date_fields_hold_an_iso_date_that_a_date_input_shows(client, staff, place, fondue, language):
    order = place(fondue)
    html = page(client, reverse("backoffice:order", args=[order.number]), language)
    assert f'name="paid_on" value="{timezone.localdate():%Y-%m-%d}"' in html
    for typed in ("2020-01-31", "31.01.2020"):  # what a date input sends, and a date typed the Swiss way
        orders = page(client, reverse("backoffice:orders"), language, date_from=typed)
        assert f"#{order.number}<" in orders and 'class="field__error"' not in orders
        assert not any(error in orders for error in ("Enter a valid date.", "gültiges Datum", "date valide"))


def test_french_address_labels_on_the_edit_page_and_language_names_on_the_email_previews(client, staff, place, fondue):
    order = place(fondue)
    page = client.get(f"/backoffice/orders/{order.number}/edit/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Adresse de livraison\u00a0: " in page and "Adresse de livraison: " not in page
    page = client.get("/backoffice/settings/email/").content.decode()
    assert ">Deutsch</a>" in page and ">Français</a>" in page and ">DE</a>" not in page
