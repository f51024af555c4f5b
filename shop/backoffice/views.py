"""The merchant shell: login, logout, dashboard. Every view here requires a staff login."""

from datetime import datetime, time, timedelta
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count, Q, Sum
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from orders.models import Order
from orders.status import OPEN_FULFILMENT, PaymentStatus
from shop.cart import recovery as cart_recovery
from shop.cart import services as cart_services
from shop.catalog.models import Product
from shop.form_fields import StorableTextForm


def is_staff(user) -> bool:
    return user.is_active and user.is_staff


def staff_required(view):
    """Staff only. Someone not logged in is sent to the login page; someone logged in without staff rights is told so,
    with a way to log out (sending them to the login page, which sends logged-in users back here, would loop)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if is_staff(request.user):
            return view(request, *args, **kwargs)
        if request.user.is_authenticated:
            return render(request, "backoffice/no_access.html", status=403)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)

    return wrapped


def posted_next(request) -> str:
    """Where a back-office form post returns (its ``next``): a page of the back office, or "" for anything else —
    another site, a scheme, a bare word (which ``redirect()`` would take for a view name and fail on). Read before
    the action it follows, so that a bad value never answers an error after the action was done."""
    target = str(request.POST.get("next", ""))
    if target.startswith("/backoffice/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return ""


class StaffAuthenticationForm(StorableTextForm, AuthenticationForm):
    def clean(self):
        # No user name is longer than the column holds: a longer one is cut before it is checked (and before the
        # failed attempt is recorded for the rate limit, whose column is no longer either).
        limit = self.fields["username"].max_length or 150
        if len(self.cleaned_data.get("username") or "") > limit:
            self.cleaned_data["username"] = self.cleaned_data["username"][:limit]
        return super().clean()

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(_("This account has no access to the back office."), code="no_staff")


class LoginView(auth_views.LoginView):
    template_name = "backoffice/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return "/backoffice/"


class LogoutView(auth_views.LogoutView):
    next_page = settings.LOGIN_URL


RECOVERED_DAYS = 30  # the dashboard's "Recovered carts" figure looks back this far


@staff_required
@require_GET
def dashboard(request):
    start = datetime.combine(timezone.localdate(), time.min, timezone.get_current_timezone())
    real = Order.objects.filter(is_test=False, number__isnull=False)
    figures = real.aggregate(
        today=Count("id", filter=Q(created_at__gte=start)),
        revenue=Sum("total", filter=Q(created_at__gte=start) & ~Q(payment_status=PaymentStatus.CANCELLED)),
        awaiting=Count("id", filter=Q(payment_status=PaymentStatus.AWAITING_PAYMENT)),
        to_ship=Count("id", filter=Q(payment_status=PaymentStatus.PAID, fulfilment_status__in=OPEN_FULFILMENT)),
    )
    to_refund = real.filter(payments__surplus__gt="").values("id").distinct().count()
    threshold = settings.LOW_STOCK_THRESHOLD
    low_stock = Product.objects.filter(is_active=True, stock__isnull=False, stock__lte=threshold).order_by(
        "stock", "name"
    )
    return render(
        request,
        "backoffice/dashboard.html",
        {
            "figures": figures,
            "to_refund": to_refund,
            "product_count": Product.objects.filter(is_active=True).count(),
            "abandoned_carts": cart_services.abandoned_carts().count(),  # the definition of the list it links to
            "recovered": cart_recovery.recovered_figures(timezone.now() - timedelta(days=RECOVERED_DAYS)),
            "recovered_days": RECOVERED_DAYS,
            "low_stock": low_stock[:20],
            "low_stock_count": low_stock.count(),
            "threshold": threshold,
        },
    )
