"""What Django's technical error page may show."""

from django.views.debug import SafeExceptionReporterFilter


class SecretsHiddenFilter(SafeExceptionReporterFilter):
    """The stock filter, active with ``DEBUG`` on too: it hides the settings that look secret and the local variables
    of every frame under a function marked ``sensitive_variables`` (the providers' clients, signatures and webhooks),
    but Django applies it only when ``DEBUG`` is off, for error e-mails and logs. A server left in debug mode, which a
    provider's webhook or anybody can reach, must not show the keys that sign events or move money either."""

    def is_active(self, request):
        return True
