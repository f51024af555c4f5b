"""The beat schedule run in-process (shop/periodic.py) and the runserver that starts it."""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
import time_machine
from celery import Celery
from celery.exceptions import NotRegistered
from celery.schedules import crontab
from django.core.management import get_commands, load_command_class
from django.core.management.commands.runserver import Command as DjangoRunserver

from shop import periodic
from shop.periodic import Scheduler

app = Celery("periodic-tests", set_as_current=False)
calls = []


@app.task(name="t.record", shared=False)
def record(what, suffix=""):
    calls.append(what + suffix)


@app.task(name="t.fail", shared=False)
def fail():
    raise ValueError("the task broke")


@pytest.fixture(autouse=True)
def _calls():
    calls.clear()
    yield
    periodic.stop_in_process()


def entry(schedule, *args, task="t.record", **kwargs):
    return {"task": task, "schedule": schedule, "args": args, "kwargs": kwargs}


def test_runs_a_due_entry_and_not_an_undue_one():
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        scheduler = Scheduler({"often": entry(10, "often"), "rarely": entry(timedelta(hours=1), "rarely")}, app=app)
        assert scheduler.run_pending() == 10
        assert calls == []  # nothing at the start: the first run is one interval later, as under beat

        clock.shift(9)
        assert scheduler.run_pending() == pytest.approx(1)
        assert calls == []

        clock.shift(1)
        scheduler.run_pending()
        assert calls == ["often"]
        scheduler.run_pending()
        assert calls == ["often"]  # not again until it is due again

        clock.shift(3590)
        scheduler.run_pending()
        assert calls == ["often", "often", "rarely"]


def test_args_and_kwargs_reach_the_task():
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        scheduler = Scheduler({"sweep": entry(60, "sweep", suffix="!")}, app=app)
        clock.shift(60)
        scheduler.run_pending()
    assert calls == ["sweep!"]


def test_a_crontab_entry_runs_when_celery_says_it_is_due():
    with time_machine.travel(datetime(2026, 12, 1, 9, 2, tzinfo=UTC), tick=False) as clock:
        scheduler = Scheduler({"five": entry(crontab(minute="*/5"), "five")}, app=app)
        assert scheduler.run_pending() == pytest.approx(60)  # looked at again within MAX_WAIT
        clock.shift(2 * 60 + 59)
        scheduler.run_pending()
        assert calls == []
        clock.shift(1)  # 09:05
        scheduler.run_pending()
        assert calls == ["five"]


def test_describe():
    scheduler = Scheduler(
        {
            "purge-stale-carts": entry(60 * 60),
            "sweep-outbox": entry(60),
            "reconcile": entry(timedelta(minutes=5)),
            "odd": entry(90.5),
            "nightly": entry(crontab(minute=0, hour=3)),
        },
        app=app,
    )
    assert scheduler.describe() == (
        "purge-stale-carts every 1 h, sweep-outbox every 60 s, reconcile every 5 min, odd every 90.5 s, "
        "nightly at <crontab: 0 3 * * * (m/h/dM/MY/d)>"
    )


def test_a_failing_task_is_logged_and_the_others_still_run(caplog):
    scheduler = Scheduler(
        {
            "broken": entry(0.01, task="t.fail"),
            "missing": entry(0.01, task="t.no-such-task"),
            "fine": entry(0.01, "fine"),
        },
        app=app,
    )
    with caplog.at_level(logging.ERROR, logger="shop.periodic"):
        scheduler.start()
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        scheduler.stop()
    assert len(calls) >= 3
    failures = {record.getMessage(): record.exc_info for record in caplog.records}
    assert failures["Periodic task broken (t.fail) failed"][0] is ValueError  # with its traceback
    assert failures["Periodic task missing (t.no-such-task) failed"][0] is NotRegistered


def test_the_database_connections_are_closed_after_each_run():
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        scheduler = Scheduler({"fine": entry(10, "fine"), "broken": entry(10, task="t.fail")}, app=app)
        clock.shift(10)
        with mock.patch.object(periodic.connections, "close_all") as close_all:
            scheduler.run_pending()
    assert close_all.call_count == 2


def test_stop_ends_the_thread():
    scheduler = Scheduler({"hourly": entry(3600, "hourly")}, app=app)
    scheduler.start()
    assert scheduler._thread.is_alive() and scheduler._thread.daemon
    started = time.monotonic()
    scheduler.stop()
    assert not scheduler._thread.is_alive()
    assert time.monotonic() - started < 2  # it does not sleep out its wait
    assert calls == []


# The runserver override.

SCHEDULE = {
    "purge-stale-carts": {"task": "shop.cart.tasks.purge_stale_carts", "schedule": 60 * 60},
    "sweep-outbox": {"task": "notifications.tasks.sweep_outbox", "schedule": 60},
}


@pytest.fixture
def serving():
    """Django's inner_run (checks, then serving) mocked out: what the override does before it."""
    with mock.patch.object(DjangoRunserver, "inner_run") as inner_run:
        yield inner_run


def run_inner():
    out = StringIO()
    load_command_class("shop", "runserver").__class__(stdout=out).inner_run(None, use_threading=True)
    return out.getvalue()


def test_runserver_is_the_shops_and_still_leaves_static_files_to_whitenoise():
    assert get_commands()["runserver"] == "shop"
    command = load_command_class("shop", "runserver")
    assert command.create_parser("manage.py", "runserver").get_default("use_static_handler") is False


def test_runserver_starts_the_schedule_once_when_periodic_in_process_is_on(settings, serving):
    settings.PERIODIC_IN_PROCESS = True
    settings.CELERY_BEAT_SCHEDULE = SCHEDULE
    threads = threading.active_count()

    assert run_inner() == "Periodic tasks run in-process: purge-stale-carts every 1 h, sweep-outbox every 60 s\n"
    serving.assert_called_once_with(None, use_threading=True)
    assert periodic._running._thread.is_alive()
    assert {"shop.cart.tasks.purge_stale_carts", "notifications.tasks.sweep_outbox"} <= set(periodic._running.app.tasks)

    assert run_inner() == ""  # once per process
    assert threading.active_count() == threads + 1


def test_runserver_starts_nothing_when_periodic_in_process_is_off(settings, serving):
    settings.PERIODIC_IN_PROCESS = False
    settings.CELERY_BEAT_SCHEDULE = SCHEDULE
    threads = threading.active_count()

    assert run_inner() == ""
    serving.assert_called_once()
    assert periodic._running is None
    assert threading.active_count() == threads
