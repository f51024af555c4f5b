"""Settings for the storefront benchmark: the shop's own settings, plus a URLconf that adds the floor view.

Nothing here changes how the shop behaves; DEBUG stays whatever the environment says (storefront.sh sets DEBUG=0).
"""

from shop.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
