import logging

from celery import shared_task

from . import recovery, services

logger = logging.getLogger(__name__)


@shared_task
def purge_stale_carts() -> int:
    count = services.purge_stale_carts()
    logger.info("Purged %d carts idle for over 30 days", count)
    return count


@shared_task(ignore_result=True)
def send_cart_reminders() -> dict:
    """The automatic abandoned-cart reminders that are due (first and second), once each per cart."""
    return recovery.send_due_reminders()
