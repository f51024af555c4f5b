"""Offline payment methods: the order stays Awaiting payment until the merchant records the payment."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop.money import format_chf

from .base import Provider


class BankTransfer(Provider):
    code = "bank_transfer"
    name = gettext_lazy("Bank transfer")
    description = gettext_lazy("Pay by bank transfer; we ship once the money has arrived.")

    def instructions(self, order, store) -> str:
        lines = [
            _("Please transfer %(amount)s to:") % {"amount": format_chf(order.total)},
            _("Account holder: %(holder)s") % {"holder": store.bank_account_holder or store.name},
            _("IBAN: %(iban)s") % {"iban": store.bank_iban or "–"},
        ]
        if store.bank_name:
            lines.append(_("Bank: %(bank)s") % {"bank": store.bank_name})
        lines.append(_("Reference: order %(number)s") % {"number": order.number})
        if store.bank_instructions:
            lines.append(store.bank_instructions)
        return "\n".join(lines)


class Invoice(Provider):
    code = "invoice"
    name = gettext_lazy("Invoice")
    description = gettext_lazy("Pay later: the invoice comes with your order.")

    def instructions(self, order, store) -> str:
        text = _("You will receive an invoice for %(amount)s.") % {"amount": format_chf(order.total)}
        return f"{text}\n{store.invoice_terms}" if store.invoice_terms else text


class PhoneOrder(Provider):
    code = "phone"
    name = gettext_lazy("Phone order")
    description = gettext_lazy("We call you to arrange the payment.")

    def instructions(self, order, store) -> str:
        return _("We will call you to arrange the payment of %(amount)s.") % {"amount": format_chf(order.total)}


class CashOnPickup(Provider):
    code = "cash_on_pickup"
    name = gettext_lazy("Cash on pickup")
    description = gettext_lazy("Pay in cash when you pick up your order.")

    def is_available(self, store, *, pickup: bool) -> bool:
        return pickup

    def instructions(self, order, store) -> str:
        return _("Please pay %(amount)s in cash when you pick up your order.") % {"amount": format_chf(order.total)}
