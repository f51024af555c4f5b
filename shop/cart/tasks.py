import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task
def purge_stale_carts() -> int:
    count = services.purge_stale_carts()
    logger.info("Purged %d carts idle for over 30 days", count)
    return count
