"""The time budget of a web request's calls to the payment providers (``payments.providers.budget``)."""

from django.conf import settings

from .providers import budget


class ProviderBudgetMiddleware:
    """Every provider call a request makes (checkout, Pay now, the return from a provider's page, a refund or a
    cancellation in the back office, a webhook applied in-process) ends within ``PROVIDER_BUDGET`` seconds of the
    request's start, together: the request answers well inside gunicorn's worker time-out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with budget.limit(settings.PROVIDER_BUDGET):
            return self.get_response(request)
