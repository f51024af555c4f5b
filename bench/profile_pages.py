"""In-process profile of the benchmarked pages: wall time per request, SQL queries (count and time), and where the
time goes (cProfile, top functions). Uses the same settings and database as storefront.sh:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_storefront DEBUG=0 SECRET_KEY=x \\
        DJANGO_SETTINGS_MODULE=bench.settings .venv/bin/python -m bench.profile_pages [--cprofile PAGE]

Run storefront.sh once first (it creates, migrates and seeds the database). Without STATIC_ROOT in the environment the
static files are collected into a temporary directory first (with DEBUG off the pages need the manifest).
"""

import cProfile
import os
import pstats
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
_collect = "STATIC_ROOT" not in os.environ
if _collect:
    import tempfile

    os.environ["STATIC_ROOT"] = tempfile.mkdtemp(prefix="bench-profile-static.")

import django  # noqa: E402

django.setup()

if _collect:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)

from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.seed_storefront import BENCH_CATEGORY, BENCH_PRODUCT_INDEX  # noqa: E402

PAGES = {
    "floor": "/bench/floor/",
    "home": "/en/",
    "category": f"/en/c/{BENCH_CATEGORY}/",
    "product": f"/en/p/bench-product-{BENCH_PRODUCT_INDEX:05d}/",
}
N = int(os.environ.get("PROFILE_REQUESTS", "200"))


def main():
    client = Client(HTTP_HOST="127.0.0.1")
    for name, url in PAGES.items():
        for _ in range(10):  # warm: template cache, connection
            assert client.get(url).status_code == 200, url
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        queries = ctx.captured_queries
        sql_time = [0.0]

        def timed(execute, sql, params, many, context, sql_time=sql_time):
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                sql_time[0] += time.perf_counter() - t0

        started = time.perf_counter()
        with connection.execute_wrapper(timed):
            for _ in range(N):
                client.get(url)
        per_request = (time.perf_counter() - started) / N * 1000
        in_sql = sql_time[0] / N * 1000
        # SQL time alone, replaying the captured statements
        with connection.cursor() as cursor:
            t = time.perf_counter()
            for _ in range(20):
                for q in queries:
                    cursor.execute(q["sql"])
                    cursor.fetchall()
            sql_ms = (time.perf_counter() - t) / 20 * 1000
        print(
            f"{name:9s} {per_request:7.2f} ms/request  {len(queries)} queries, {in_sql:.2f} ms waiting for SQL,"
            f" {per_request - in_sql:.2f} ms Python (middleware, view, templates); SQL replay {sql_ms:.2f} ms"
        )
        if "-v" in sys.argv:
            for q in queries:
                print(f"    {q['time']}s  {q['sql'][:300]}")
    if "--cprofile" in sys.argv:
        page = sys.argv[sys.argv.index("--cprofile") + 1]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(N):
            client.get(PAGES[page])
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    reset_queries()
    try:
        main()
    finally:
        if _collect:
            import shutil

            shutil.rmtree(os.environ["STATIC_ROOT"], ignore_errors=True)
