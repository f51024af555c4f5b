from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=10)
def process_webhook_event(self, event_pk: int) -> str:
    try:
        return services.process_webhook_event(event_pk)
    except Exception as error:  # a database hiccup: try again later; the event row stays "received"
        raise self.retry(exc=error) from error
