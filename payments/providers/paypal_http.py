"""PayPal's SDK over the providers' bounded HTTP client (``budget``): apimatic's ``HttpClient`` interface, which the
SDK's configuration builds its client from (``paypal._Configuration.create_http_client``), in place of its requests
adapter."""

import itertools
from urllib.parse import urlencode

import httpx
from apimatic_core_interfaces.client.http_client import HttpClient
from apimatic_core_interfaces.types.http_method_enum import HttpMethodEnum
from django.views.decorators.debug import sensitive_variables

from . import budget


class BudgetHttpClient(HttpClient):
    """The SDK's HTTP client (apimatic's ``HttpClient`` interface, in place of its requests adapter), over the
    providers' bounded httpx client (``budget``): each attempt, the whole answer read, ends within PROVIDER_TIMEOUT
    and the time budget, the OAuth token's request included (the SDK asks for it through this client too).

    Retries as the configuration asks (``max_retries``, ``backoff_factor``, ``retry_statuses``, ``retry_methods``),
    which the SDK's requests adapter hands to urllib3's ``Retry`` (apimatic_requests_client_adapter/
    requests_client.py): a connection never made, whatever the method; a time-out, a lost connection or a status of
    ``retry_statuses``, for ``retry_methods``; the pause ``backoff_factor * 2 ** (n - 1)`` after the n-th failure, none
    after the first. And only while the budget has room for the pause and another attempt."""

    def __init__(self, config):
        self.config = config  # the SDK's Configuration: retries, and the factory of its responses

    @sensitive_variables("request", "headers", "body")  # the client secret (Basic) or the token, in Authorization
    def execute(self, request, endpoint_configuration):
        method = HttpMethodEnum.to_string(request.http_method)
        should_retry = getattr(endpoint_configuration, "should_retry", None)
        retries = 0 if should_retry is False else int(self.config.max_retries or 0)
        methods = {str(m).upper() for m in self.config.retry_methods or ()} | ({method} if should_retry else set())
        # requests leaves out a header set to None (an optional one the call did not give): so does this
        headers = httpx.Headers({k: str(v) for k, v in (request.headers or {}).items() if v is not None})
        body = self._body(request, headers)
        for failures in itertools.count(1):
            pause = 0.0 if failures == 1 else float(self.config.backoff_factor or 0) * 2 ** (failures - 1)
            try:
                with budget.attempt():
                    response = budget.http_client().request(
                        method, request.query_url, headers=headers, params=request.query_parameters, **body
                    )
            except httpx.TransportError as error:
                never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
                if (never_sent or method in methods) and failures <= retries and budget.pause_before_retry(pause):
                    continue
                raise
            retry_status = response.status_code in (self.config.retry_statuses or ()) and method in methods
            if retry_status and failures <= retries and budget.pause_before_retry(pause):
                continue
            return self.convert_response(
                response, getattr(endpoint_configuration, "contains_binary_response", False), request
            )

    @staticmethod
    def _body(request, headers: httpx.Headers) -> dict:
        """The request's body as httpx takes it: form parameters come as (name, value) pairs, a JSON body as text."""
        body = request.parameters
        if request.files:
            return {"files": request.files, "data": dict(body or {})}
        if isinstance(body, dict | list | tuple):
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            return {"content": urlencode(list(body.items()) if isinstance(body, dict) else list(body))}
        return {} if body is None else {"content": body}

    def convert_response(self, response, contains_binary_response, request):
        body = response.content if contains_binary_response else response.text
        return self.config.http_response_factory.create(
            response.status_code, response.reason_phrase, response.headers, body, request
        )
