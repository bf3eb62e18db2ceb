#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   - a virtualenv in .venv with earlyphase, its test extras and the optional extras the tests
#     cover (cluster: Dask; parquet: pyarrow and DuckDB; web: FastAPI, uvicorn)
#   - Debian's chromium and poppler-utils (the report tests open the HTML in a browser and
#     turn the PDF into pages); installed with apt-get when missing and we are root
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/stats -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing system packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "Missing system packages: ${need_apt[*]} (install them with your package manager); browser/PDF tests will say so." >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# pip's output goes to a log; on failure it is shown and the run stops (never a half-installed suite).
log=$(mktemp)
if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e '.[test,cluster,parquet,web]'; } >"$log" 2>&1; then
  grep -v '^WARNING: Location' "$log" >&2 || true
  echo "pip could not install earlyphase and its test dependencies (log above)." >&2
  exit 1
fi
rm -f "$log"
.venv/bin/python -c "import earlyphase, pytest, psycopg, dask.distributed, duckdb, pyarrow, fastapi, uvicorn, httpx, playwright, pyreadstat, jsonschema, lxml, defineutils, odmlib" >/dev/null

exec .venv/bin/python -m pytest "$@"
