"""pytest plugin for mutation runs only (``make mutation`` loads it through ``[tool.mutmut]`` in pyproject.toml).

mutmut runs the tests of two mutants at once in forked workers; with SQLite both would create, flush and drop the same
test database file. Each worker gets a file of its own. (A hook, not a ``django_db_modify_db_settings`` fixture:
pytest-django's fixture of that name would win over a ``-p`` plugin's.)"""

import os

_names = {}


def pytest_sessionstart(session):
    from django.conf import settings

    for alias, db in settings.DATABASES.items():
        name = _names.setdefault(alias, db.get("TEST", {}).get("NAME"))
        if name and name != ":memory:":
            db["TEST"]["NAME"] = f"{name}_mut{os.getpid()}"
