"""Carriers and their tracking links."""

from urllib.parse import quote

from django.db import models
from django.utils.translation import gettext_lazy as _


class Carrier(models.TextChoices):
    SWISS_POST = "swiss_post", "Swiss Post"
    DHL = "dhl", "DHL"
    DPD = "dpd", "DPD"
    UPS = "ups", "UPS"
    PLANZER = "planzer", "Planzer"
    OTHER = "other", _("Other")


TRACKING_URLS = {
    Carrier.SWISS_POST: "https://service.post.ch/ekp-web/ui/entry/search/{number}",
    Carrier.DHL: "https://www.dhl.com/ch-en/home/tracking/tracking-parcel.html?submit=1&tracking-id={number}",
    Carrier.DPD: "https://www.dpdgroup.com/ch/mydpd/my-parcels/search?parcelNumber={number}",
    Carrier.UPS: "https://www.ups.com/track?loc=de_CH&tracknum={number}",
    Carrier.PLANZER: "https://www.planzer.ch/de/sendungsverfolgung?sendungsnummer={number}",
}


def tracking_url(carrier: str, number: str) -> str:
    template = TRACKING_URLS.get(carrier)
    return template.format(number=quote(number, safe="")) if template and number else ""
