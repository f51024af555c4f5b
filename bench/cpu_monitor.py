"""How much CPU went to processes that are not part of the benchmark while wrk ran (storefront.sh starts and stops it).

Other work on the machine (a test run, another benchmark, a dev server) takes CPU from gunicorn and wrk and makes the
figures low and noisy. This samples /proc every 0.5 s and splits the CPU time of every process into "ours" (the
gunicorn master and its workers, the PostgreSQL backends of the benchmark database, wrk) and "other". Per-interval
deltas make it robust to processes that come and go (PostgreSQL backends are recycled after CONN_MAX_AGE).

    python bench/cpu_monitor.py --gunicorn-pid PID [--db NAME] [--port PORT]    # stop with SIGINT or SIGTERM

Prints one line on exit: ``other=<percent of the machine> ours=<percent of the machine>``. Linux only; stdlib only.
"""

import argparse
import os
import signal
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def read_processes():
    """{pid: (ppid, cpu_ticks, cmdline)} for every process we may read."""
    processes = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is fields[0]
        processes[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), cmdline)
    return processes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gunicorn-pid", type=int, required=True)
    parser.add_argument("--db", default="")
    parser.add_argument("--port", default="")
    args = parser.parse_args()
    me = os.getpid()

    def is_ours(pid, processes):
        ppid, _ticks, cmdline = processes[pid]
        if pid == me:
            return True
        if pid == args.gunicorn_pid or ppid == args.gunicorn_pid:
            return True
        if args.db and cmdline.startswith("postgres:") and f" {args.db} " in f"{cmdline} ":
            return True
        return cmdline.startswith("wrk ") and (not args.port or f":{args.port}/" in cmdline)

    stop = False

    def handle(_signum, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)

    ours = other = 0
    started = time.monotonic()
    before = read_processes()
    while not stop:
        time.sleep(0.5)
        after = read_processes()
        for pid, (_ppid, ticks, _cmdline) in after.items():
            previous = before.get(pid)
            # A process seen for the first time started during the interval (or reused a pid): all its time is new.
            delta = ticks - previous[1] if previous and previous[2] == after[pid][2] else ticks
            if delta <= 0:
                continue
            if is_ours(pid, after):
                ours += delta
            else:
                other += delta
        before = after
    elapsed = time.monotonic() - started
    capacity = max(elapsed * HZ * CORES, 1)
    print(f"other={100 * other / capacity:.0f} ours={100 * ours / capacity:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
