"""Celery beat's schedule, run in-process: the embedded default (``make run``, no Redis) has no beat, so the process
that serves runs ``settings.CELERY_BEAT_SCHEDULE`` itself in a daemon thread when ``PERIODIC_IN_PROCESS`` is on (the
``runserver`` of ``shop/management/commands/`` starts it). Production runs ``celery -A shop beat`` instead.

An entry means what it means to beat: its schedule becomes a Celery schedule (a number of seconds or a ``timedelta``
an interval; a ``crontab`` or ``solar`` stays itself) and is asked ``is_due``; every entry runs first one interval after
the start, as under a freshly started beat. A task runs through ``apply()``, in this thread; one that fails is logged
with its traceback and the others go on.
"""

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from celery import Celery
from celery.schedules import BaseSchedule, maybe_schedule, schedule
from django.conf import settings
from django.db import connections

from .celery import app as shop_app

logger = logging.getLogger(__name__)

MAX_WAIT = 60.0  # seconds: the schedule is looked at again at least this often (a clock set forward is noticed)


@dataclass
class Entry:
    name: str
    task: str
    schedule: BaseSchedule
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    last_run_at: datetime | None = None

    def describe(self) -> str:
        if isinstance(self.schedule, schedule):  # an interval
            seconds = self.schedule.run_every.total_seconds()
            for unit, size, least in (("h", 3600, 3600), ("min", 60, 120)):  # "60 s", "5 min", "1 h"
                if seconds >= least and seconds % size == 0:
                    return f"{self.name} every {seconds / size:g} {unit}"
            return f"{self.name} every {seconds:g} s"
        return f"{self.name} at {self.schedule!r}"  # a crontab or solar describes itself


class Scheduler:
    def __init__(self, beat_schedule: dict, app: Celery = shop_app):
        self.app = app
        self.entries = [
            Entry(
                name,
                spec["task"],
                maybe_schedule(spec["schedule"], app=app),
                tuple(spec.get("args", ())),
                dict(spec.get("kwargs", {})),
            )
            for name, spec in beat_schedule.items()
        ]
        for entry in self.entries:
            entry.last_run_at = entry.schedule.now()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def describe(self) -> str:
        return ", ".join(entry.describe() for entry in self.entries)

    def run_pending(self) -> float:
        """Run the entries that are due; return the seconds until one may be due."""
        wait = MAX_WAIT
        for entry in self.entries:
            due, next_in = entry.schedule.is_due(entry.last_run_at)
            if due:
                entry.last_run_at = entry.schedule.now()
                self._run(entry)
            wait = min(wait, next_in)
        return wait

    def _run(self, entry: Entry) -> None:
        try:
            self.app.tasks[entry.task].apply(args=entry.args, kwargs=entry.kwargs, throw=True)
        except Exception:
            logger.exception("Periodic task %s (%s) failed", entry.name, entry.task)
        finally:
            connections.close_all()  # this thread's connections: it holds none while it sleeps

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self.run_pending())

    def start(self) -> None:
        # Every app's tasks module, as a worker imports them (import_default_modules would also rerun Django's checks).
        self.app.autodiscover_tasks(force=True)
        self._thread = threading.Thread(target=self._loop, name="periodic-tasks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the task running now, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


_lock = threading.Lock()
_running: Scheduler | None = None


def start_in_process() -> Scheduler | None:
    """Start the beat schedule in this process when ``PERIODIC_IN_PROCESS`` is on, once; return the scheduler started
    (None when it is off, the schedule is empty or it already runs)."""
    global _running
    if not settings.PERIODIC_IN_PROCESS or not settings.CELERY_BEAT_SCHEDULE:
        return None
    with _lock:
        if _running is not None:
            return None
        _running = Scheduler(settings.CELERY_BEAT_SCHEDULE)
        _running.start()
        return _running


def stop_in_process() -> None:
    global _running
    with _lock:
        if _running is not None:
            _running.stop()
            _running = None
