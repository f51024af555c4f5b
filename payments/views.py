"""Provider webhooks (signed, no CSRF) and the test provider's hosted page."""

import logging

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from . import webhooks
from .models import Payment
from .providers import WebhookError, get_provider, webhook_receiver

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
@sensitive_variables()
def webhook(request, provider):
    if webhook_receiver(provider) is None:
        raise Http404("unknown provider")
    try:
        webhooks.receive_webhook(provider, request.body, request.headers)
    except WebhookError as error:
        logger.warning("Webhook %s refused (400): %s", provider, error)
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"received": True})


@require_http_methods(["GET", "POST"])
def test_page(request, reference):
    """Our own hosted payment page for the test provider: Pay, Decline or Leave pending. The outcome is sent as a
    signed event through the same pipeline as a real provider's webhook."""
    payment = get_object_or_404(
        Payment.objects.select_related("order"), reference=reference, provider="test", order__is_test=True
    )
    if request.method == "POST" and payment.status == Payment.Status.PENDING:
        outcome = request.POST.get("outcome")
        if outcome in ("pay", "decline"):
            body, headers = get_provider("test").build_event(payment, outcome)
            webhooks.receive_webhook("test", body, headers)
        return redirect(payment.order.get_absolute_url() + "?payment=returned")
    return render(request, "storefront/test_payment.html", {"payment": payment, "order": payment.order})
