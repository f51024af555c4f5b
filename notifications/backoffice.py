"""Settings → Email: switches, sender, the merchant's addresses, previews, a test e-mail, and the e-mail log with
"Resend". Staff only; thin views over ``services``."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods, require_POST

from shop.backoffice.models import Store
from shop.backoffice.settings_views import CHECK_FIELDS
from shop.backoffice.views import posted_next, staff_required
from shop.cart.recovery import ELIGIBLE_BEFORE_SWITCH_ON

from . import services
from .forms import EmailLogFilterForm, EmailSettingsForm, TestEmailForm
from .kinds import KINDS, Kind
from .models import EmailSettings, OutgoingEmail
from .preview import preview


@staff_required
@require_http_methods(["GET", "POST"])
def email_settings(request):
    form = EmailSettingsForm(request.POST or None, instance=EmailSettings.load())
    if request.method == "POST":
        if form.is_valid():
            services.update_email_settings(
                {name: form.cleaned_data[name] for name in EmailSettingsForm.Meta.fields}, form.disabled_kinds()
            )
            messages.success(request, _("E-mail settings saved."))
            return redirect("backoffice:settings_email")
        messages.error(request, CHECK_FIELDS)
    store, saved = Store.load(), EmailSettings.load()
    since = saved.cart_reminders_since
    return render(
        request,
        "backoffice/settings/email.html",
        {
            "form": form,
            "test_form": TestEmailForm(),
            "kinds": [(kind, Kind(kind).label, KINDS[kind].to_merchant) for kind in KINDS if kind != Kind.TEST],
            "languages": settings.LANGUAGES,
            "recipients": saved.recipients(store),
            # the automatic cart reminders as saved: since when they are on, and the oldest carts they reach
            "cart_reminders_on": saved.cart_reminders and since is not None,
            "cart_reminders_since": since,
            "cart_reminders_from": since - ELIGIBLE_BEFORE_SWITCH_ON if since else None,
            "standard_plan": store.plan == Store.Plan.STANDARD,
            "failed_count": OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED).count(),
        },
    )


@staff_required
@xframe_options_sameorigin
@csp_update({"style-src": [UNSAFE_INLINE]})  # an e-mail's HTML styles itself inline, as mail programs need
def email_preview(request, kind, language):
    if kind not in KINDS or language not in dict(settings.LANGUAGES):
        raise Http404
    subject, text, html = preview(kind, language)
    if request.GET.get("part") == "html":  # the iframe of the preview page
        return render(request, "backoffice/settings/email_frame.html", {"html": html})
    return render(
        request,
        "backoffice/settings/email_preview.html",
        {
            "kind": kind,
            "kind_label": Kind(kind).label,
            "language": language,
            "languages": settings.LANGUAGES,
            "subject": subject,
            "text": text,
            "kinds": [(k, Kind(k).label) for k in KINDS],
        },
    )


@staff_required
@require_POST
def email_test(request):
    form = TestEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["to"][0])
        return redirect("backoffice:settings_email")
    try:
        rows = services.send_test_email(request.user, form.cleaned_data["to"])
    except services.NotificationError as error:
        messages.error(request, str(error))
        return redirect("backoffice:settings_email")
    rows = list(OutgoingEmail.objects.filter(pk__in=[row.pk for row in rows]).order_by("pk"))
    if all(row.status == OutgoingEmail.Status.SENT for row in rows):
        messages.success(request, _("Test e-mail sent to %(to)s.") % {"to": ", ".join(row.to for row in rows)})
    else:
        messages.info(
            request,
            _("Test e-mail to %(to)s queued: the log below shows when it is sent.")
            % {"to": ", ".join(row.to for row in rows)},
        )
    return redirect("backoffice:email_log")


@staff_required
def email_log(request):
    form = EmailLogFilterForm(request.GET or None)
    emails = OutgoingEmail.objects.select_related("order")
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            emails = emails.filter(status=data["status"])
        if data["kind"]:
            emails = emails.filter(kind=data["kind"])
        if q := data["q"].strip().lstrip("#"):
            is_number = q.isascii() and q.isdigit() and len(q) < 10  # "②" is a digit to str.isdigit
            emails = emails.filter(Q(order__number=int(q)) if is_number else Q(to__iexact=q))
    page = Paginator(emails.order_by("-created_at", "-id"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "backoffice/settings/email_log.html", {"form": form, "page": page, "query_string": query.urlencode()}
    )


@staff_required
@require_POST
def email_resend(request, pk):
    email = get_object_or_404(OutgoingEmail, pk=pk)
    target = posted_next(request) or reverse("backoffice:email_log")  # checked first: the e-mail goes once
    copy = services.resend(email, request.user)
    copy.refresh_from_db()
    if copy.status == OutgoingEmail.Status.SENT:
        messages.success(request, _("E-mail sent again to %(to)s.") % {"to": copy.to})
    else:
        messages.info(request, _("E-mail to %(to)s queued again.") % {"to": copy.to})
    return HttpResponseRedirect(target)
