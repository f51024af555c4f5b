from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, max_retries=None, ignore_result=True)
def send_email(self, pk: int) -> None:
    """Send one outgoing e-mail; on failure, try again later with a growing delay (the row counts the tries)."""
    retry_in = services.deliver(pk)
    # Run in-process (no broker: the embedded default), a retry would run at once; the outbox sweep retries instead.
    if retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=retry_in)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_emails(self, pks: list[int]) -> None:
    """Send the e-mails one transaction queued (an order's confirmation and the merchant's notification, say): one
    message for all, each row still locked, sent and recorded on its own; a failed one is retried on its own."""
    for pk in pks:
        retry_in = services.deliver(pk)
        if retry_in is not None and not self.request.is_eager:
            send_email.apply_async((pk,), countdown=retry_in)


@shared_task(ignore_result=True)
def sweep_outbox() -> dict:
    return services.sweep_outbox()
