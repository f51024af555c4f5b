#!/usr/bin/env bash
# Storefront benchmark, end to end: database, migrations, static files, seed (10,000 products), gunicorn, wrk.
#
#   bash bench/storefront.sh
#
# Environment (all optional):
#   DATABASE_URL       database to use; default postgres://postgres@127.0.0.1:5432/bench_storefront (created when
#                      missing), or a SQLite file under a temporary VAR_DIR when PostgreSQL is unreachable
#   BENCH_PG_PORT      port of the local PostgreSQL for the default database (default 5432)
#   BENCH_DURATION     wrk duration per page (default 15s; a bare number means seconds)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_CONNECTIONS  wrk connections (default 32)
#   BENCH_WORKERS      gunicorn sync workers (default 2 * cores + 1)
#   BENCH_PORT         port to bind on 127.0.0.1 (default 8765; the next free port is taken when it is busy)
#   BENCH_WARMUP       wrk warm-up duration per page (default 3s)
#   BENCH_RESULTS      also write the result table to this file
#   BENCH_KEEP_TMP     1 = keep the temporary directory (gunicorn log, raw wrk outputs)
#   BENCH_SETTINGS_MODULE  settings module to serve (default bench.settings), e.g. to measure a candidate change
#                      kept outside the repository (with PYTHONPATH pointing to it)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
GUNICORN="$ROOT/.venv/bin/gunicorn"
WRK="${WRK:-wrk}"

CORES="$(nproc 2>/dev/null || echo 2)"
DURATION="${BENCH_DURATION:-15s}"
[[ "$DURATION" =~ ^[0-9]+$ ]] && DURATION="${DURATION}s"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
WORKERS="${BENCH_WORKERS:-$((2 * CORES + 1))}"
WARMUP="${BENCH_WARMUP:-3s}"
PORT="${BENCH_PORT:-8765}"

for tool in "$WRK" curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done
[[ -x "$GUNICORN" ]] || { echo "error: $GUNICORN not found (create the venv first)" >&2; exit 1; }

TMP="$(mktemp -d -t bench-storefront.XXXXXX)"
GUNICORN_PID=""
MONITOR_PID=""
cleanup() {
  local rc=$?
  [[ -n "$MONITOR_PID" ]] && kill -TERM "$MONITOR_PID" 2>/dev/null
  if [[ -n "$GUNICORN_PID" ]] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$GUNICORN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$GUNICORN_PID" 2>/dev/null || true
    wait "$GUNICORN_PID" 2>/dev/null || true
  fi
  if [[ "${BENCH_KEEP_TMP:-0}" == "1" ]]; then
    echo "temporary files kept in $TMP"
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*"; }

# --- Environment ------------------------------------------------------------------------------------------------
export DJANGO_SETTINGS_MODULE="${BENCH_SETTINGS_MODULE:-bench.settings}"
export DEBUG=0
export SECRET_KEY="${SECRET_KEY:-bench-storefront-not-secret-$(date +%s)-$RANDOM$RANDOM}"
export ALLOWED_HOSTS=127.0.0.1,localhost
export VAR_DIR="$TMP/var"
export STATIC_ROOT="$TMP/static"
export MEDIA_ROOT="$TMP/media"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$VAR_DIR" "$STATIC_ROOT" "$MEDIA_ROOT"

pg_reachable() {
  "$PY" - "$1" <<'EOF' >/dev/null 2>&1
import sys
import psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
EOF
}

if [[ -n "${DATABASE_URL:-}" ]]; then
  log "database: DATABASE_URL from the environment (${DATABASE_URL%%://*})"
else
  PG_PORT="${BENCH_PG_PORT:-5432}"
  PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  BENCH_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/bench_storefront"
  if pg_reachable "$PG_ADMIN_URL"; then
    if ! pg_reachable "$BENCH_PG_URL"; then
      log "creating database bench_storefront"
      createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres bench_storefront
    fi
    export DATABASE_URL="$BENCH_PG_URL"
    log "database: PostgreSQL $BENCH_PG_URL"
  else
    unset DATABASE_URL
    log "database: PostgreSQL unreachable, falling back to SQLite under $VAR_DIR"
  fi
fi

# --- Prepare ------------------------------------------------------------------------------------------------------
log "migrate"
"$PY" manage.py migrate --noinput -v 0
log "collectstatic"
"$PY" manage.py collectstatic --noinput -v 0
log "seed"
SEED_OUT="$("$PY" -m bench.seed_storefront)"
echo "$SEED_OUT" | grep -v '^BENCH_' || true
CATEGORY_SLUG="$(echo "$SEED_OUT" | sed -n 's/^BENCH_CATEGORY_SLUG=//p')"
PRODUCT_SLUG="$(echo "$SEED_OUT" | sed -n 's/^BENCH_PRODUCT_SLUG=//p')"
[[ -n "$CATEGORY_SLUG" && -n "$PRODUCT_SLUG" ]] || { echo "error: seed did not name the pages" >&2; exit 1; }

# CPU already in use by other processes (tests, a dev server...) skews every figure: measure it and say so.
cpu_busy() {  # percent of all cores busy over one second
  local a b
  a=($(head -n1 /proc/stat)); sleep 1; b=($(head -n1 /proc/stat))
  awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); total = 0
    for (i = 2; i <= n; i++) total += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6]); printf "%.0f", (total > 0 ? 100 * (total - idle) / total : 0) }'
}
BUSY_BEFORE="$(cpu_busy 2>/dev/null || echo '?')"
if [[ "$BUSY_BEFORE" =~ ^[0-9]+$ ]] && (( BUSY_BEFORE > 10 )); then
  echo "warning: the machine is already ${BUSY_BEFORE}% busy before the benchmark starts (other processes);" \
       "the figures will be low and noisy" >&2
fi

# --- Server -------------------------------------------------------------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 50); do port_free "$PORT" && break; PORT=$((PORT + 1)); done
port_free "$PORT" || { echo "error: no free port found" >&2; exit 1; }
BASE="http://127.0.0.1:$PORT"

# No --access-logfile: gunicorn's default is no access log at all (a value of "none" would be taken as a file name).
log "gunicorn: $WORKERS sync workers on $BASE"
"$GUNICORN" shop.wsgi:application \
  --bind "127.0.0.1:$PORT" \
  --workers "$WORKERS" \
  --worker-class sync \
  --backlog 2048 \
  --timeout 60 \
  --error-logfile "$TMP/gunicorn.log" \
  --log-level warning &
GUNICORN_PID=$!

for i in $(seq 1 150); do
  if curl -fsS -o /dev/null "$BASE/bench/floor/" 2>/dev/null; then break; fi
  if ! kill -0 "$GUNICORN_PID" 2>/dev/null; then
    echo "error: gunicorn exited" >&2; cat "$TMP/gunicorn.log" >&2; exit 1
  fi
  [[ $i == 150 ]] && { echo "error: gunicorn did not answer within 30 s" >&2; cat "$TMP/gunicorn.log" >&2; exit 1; }
  sleep 0.2
done

PAGES=(floor home category product)
declare -A URL=(
  [floor]="$BASE/bench/floor/"
  [home]="$BASE/en/"
  [category]="$BASE/en/c/$CATEGORY_SLUG/"
  [product]="$BASE/en/p/$PRODUCT_SLUG/"
)

log "checking that every page answers 200"
for page in "${PAGES[@]}"; do
  read -r code size < <(curl -sS -o /dev/null -w '%{http_code} %{size_download}\n' "${URL[$page]}")
  printf '    %-9s %s  %6s bytes  %s\n' "$page" "$code" "$size" "${URL[$page]}"
  if [[ "$code" != "200" ]]; then
    echo "error: ${URL[$page]} answered $code" >&2; tail -n 50 "$TMP/gunicorn.log" >&2; exit 1
  fi
done

log "warming up ($WARMUP per page)"
for page in "${PAGES[@]}"; do
  "$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${URL[$page]}" >/dev/null
done

# --- Measure ------------------------------------------------------------------------------------------------------
# wrk prints latencies as e.g. 850.00us, 4.12ms, 1.02s, 1.50m; converted to milliseconds.
parse() {  # parse FILE -> "rps p50_ms p99_ms errors"
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
      if (v ~ /m$/)  { sub(/m$/, "", v);  return v * 60000 }
      if (v ~ /h$/)  { sub(/h$/, "", v);  return v * 3600000 }
      return v + 0
    }
    /Latency Distribution/ { dist = 1; next }
    dist && $1 == "50%" { p50 = ms($2) }
    dist && $1 == "99%" { p99 = ms($2); dist = 0 }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
    END { printf "%s %.2f %.2f %d\n", rps, p50, p99, errors }
  ' "$1"
}

log "measuring: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (one page after the other)"
# While wrk runs, bench/cpu_monitor.py measures how much of the machine's CPU went to processes that are not part of
# the benchmark (not gunicorn, wrk or the benchmark database's backends). Above ~10 % the row is not trustworthy.
DB_NAME=""
[[ "${DATABASE_URL:-}" == postgres* ]] && { DB_NAME="${DATABASE_URL##*/}"; DB_NAME="${DB_NAME%%\?*}"; }

declare -A RPS P50 P99 ERR OTHER
for page in "${PAGES[@]}"; do
  "$PY" bench/cpu_monitor.py --gunicorn-pid "$GUNICORN_PID" --db "$DB_NAME" --port "$PORT" >"$TMP/cpu-$page.txt" &
  MONITOR_PID=$!
  "$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${URL[$page]}" >"$TMP/wrk-$page.txt"
  kill -TERM "$MONITOR_PID" 2>/dev/null || true
  wait "$MONITOR_PID" 2>/dev/null || true
  MONITOR_PID=""
  OTHER[$page]="$(sed -n 's/^other=\([0-9]*\).*/\1/p' "$TMP/cpu-$page.txt")"
  OTHER[$page]="${OTHER[$page]:-0}"
  read -r RPS[$page] P50[$page] P99[$page] ERR[$page] < <(parse "$TMP/wrk-$page.txt")
  printf '    %-9s %10s req/s  p50 %8s ms  p99 %8s ms  errors %s  other CPU %s%%\n' \
    "$page" "${RPS[$page]}" "${P50[$page]}" "${P99[$page]}" "${ERR[$page]}" "${OTHER[$page]}"
done

# --- Report -------------------------------------------------------------------------------------------------------
{
  echo
  echo "Storefront benchmark $(date '+%Y-%m-%d %H:%M %Z') — $DJANGO_SETTINGS_MODULE, $CORES cores, gunicorn $WORKERS sync workers," \
       "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, database ${DATABASE_URL:-sqlite}," \
       "CPU busy before start ${BUSY_BEFORE}%" | sed 's#postgres://[^@]*@#postgres://#'
  printf '%-10s %10s %9s %9s %9s %7s  %s\n' page "req/s" "p50 ms" "p99 ms" "% floor" "other" \
    "target (>= 40 % of floor, p99 < 100 ms)"
  printf '%-10s %10s %9s %9s %9s %7s  %s\n' ---- ----- ------ ------ ------- ----- ------
  for page in "${PAGES[@]}"; do
    ratio="$(awk -v a="${RPS[$page]}" -v b="${RPS[floor]}" 'BEGIN { printf "%.1f", (b > 0 ? 100 * a / b : 0) }')"
    verdict=""
    if [[ "$page" == category || "$page" == product ]]; then
      verdict="$(awk -v r="$ratio" -v p="${P99[$page]}" 'BEGIN {
        ok = (r >= 40 && p < 100); printf "%s", (ok ? "PASS" : "FAIL"); if (r < 40) printf " (ratio)"; if (p >= 100) printf " (p99)" }')"
    fi
    [[ "${ERR[$page]}" != "0" ]] && verdict="$verdict [${ERR[$page]} errors]"
    (( ${OTHER[$page]} > 10 )) && verdict="$verdict [machine busy: ${OTHER[$page]} % CPU elsewhere]"
    printf '%-10s %10.1f %9.2f %9.2f %8s%% %6s%%  %s\n' "$page" "${RPS[$page]}" "${P50[$page]}" "${P99[$page]}" "$ratio" \
      "${OTHER[$page]}" "$verdict"
  done
} | tee "$TMP/results.txt"

[[ -n "${BENCH_RESULTS:-}" ]] && cp "$TMP/results.txt" "$BENCH_RESULTS"
if [[ -s "$TMP/gunicorn.log" ]]; then
  echo
  echo "gunicorn log (last lines):"
  tail -n 20 "$TMP/gunicorn.log"
fi
