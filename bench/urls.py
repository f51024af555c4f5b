"""The shop's URLs plus ``bench/floor/``: the cheapest page Django can serve through the same stack.

The floor view goes through the full middleware stack and the Django template engine, renders a ~5 KB page with a
small loop and never touches the database. It is the reference the storefront pages are measured against.
"""

from pathlib import Path

from django.http import HttpResponse
from django.template import Context, Engine
from django.urls import path
from django.views.decorators.http import require_GET

from shop.urls import urlpatterns as shop_urlpatterns

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# An engine of its own so that bench/templates is found without touching the shop's TEMPLATES setting. With
# debug off Django wraps the filesystem loader in the cached loader: the template is parsed once per process.
ENGINE = Engine(dirs=[str(TEMPLATE_DIR)], debug=False)

ITEMS = [
    {"name": f"Floor item {i:02d}", "url": f"/en/p/floor-item-{i:02d}/", "price": f"CHF {10 + i}.50", "in_stock": i % 3}
    for i in range(10)
]


@require_GET
def floor(request):
    template = ENGINE.get_template("floor.html")
    html = template.render(Context({"title": "Benchmark floor", "items": ITEMS}))
    return HttpResponse(html)


urlpatterns = [path("bench/floor/", floor, name="bench_floor"), *shop_urlpatterns]
