#!/usr/bin/env bash
# Runs the example cycle end to end against a real service binary:
#   npm ci (skipped when node_modules already matches package-lock.json), regenerate the types
#   from ../../openapi/openapi.json, lint + type-check + build, start a WeChat jscode2session
#   stand-in and the service on a fresh SQLite database with the demo data, run the cycle
#   (dist/cycle.js), then `pointsbank ledger verify` on the same database. Everything started
#   here is stopped on exit.
#
# Environment:
#   PB_BIN          the service binary (default ../../target/debug/pointsbank)
#   PB_PORT         service port (default: a free one)
#   KEEP_TMP=1      keep the temp dir (database, logs) even when the cycle passes
#   INSTALL_ZBAR=1  apt-get install zbar-tools when zbarimg is missing (otherwise: tell and stop)
#   CYCLE_ACTIVITY_SECONDS  how long the test activity still runs after it is created (default 8)
set -euo pipefail

started=$(date +%s)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

say() { printf '==> %s\n' "$*"; }
die() { printf 'run-cycle: %s\n' "$*" >&2; exit 2; }

# --- prerequisites ----------------------------------------------------------------------------
PB_BIN=${PB_BIN:-../../target/debug/pointsbank}
[[ -x "$PB_BIN" ]] || die "no service binary at $PB_BIN: build it (cargo build) or set PB_BIN=/path/to/pointsbank"
PB_BIN=$(cd "$(dirname "$PB_BIN")" && pwd)/$(basename "$PB_BIN")
command -v node >/dev/null || die "node is not installed (Node 20 or later)"
command -v npm >/dev/null || die "npm is not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
(( node_major >= 20 )) || die "Node $(node --version) is too old: Node 20 or later is needed"
if ! command -v zbarimg >/dev/null; then
  if [[ "${INSTALL_ZBAR:-0}" == 1 ]]; then
    say "installing zbar-tools (zbarimg decodes the QR codes)"
    if [[ $(id -u) -eq 0 ]]; then apt-get update -qq || true; apt-get install -y -qq zbar-tools; else sudo apt-get install -y zbar-tools; fi
  else
    die "zbarimg is missing (it decodes the QR code PNGs). Install it: sudo apt-get install zbar-tools (or rerun with INSTALL_ZBAR=1)"
  fi
fi

# --- client: install, generate, check, build ---------------------------------------------------
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f node_modules/.lock-sha256 && $(cat node_modules/.lock-sha256) == "$lock_sum" ]]; then
  say "node_modules matches package-lock.json (npm ci skipped)"
else
  say "npm ci"
  npm ci --prefer-offline --no-audit --no-fund
  echo "$lock_sum" > node_modules/.lock-sha256
fi
contract=../../openapi/openapi.json
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$contract" 2>/dev/null ||
  die "$contract is empty or not JSON (is it being regenerated right now?); src/schema.d.ts was left as it is"
if ! npm run --silent check-generated >/dev/null 2>&1; then
  # In CI the committed types must match the committed contract: drift fails the run.
  [[ "${PB_STRICT_GENERATED:-0}" == 1 ]] &&
    die "src/schema.d.ts is out of date with openapi/openapi.json: run npm run generate and commit it"
  say "src/schema.d.ts was out of date with openapi/openapi.json: regenerating (commit the result)"
  say "npm run generate"
  npm run --silent generate
fi
npm run --silent lint
say "tsc --noEmit"
npx tsc --noEmit
npx tsc
if ! "$PB_BIN" openapi 2>/dev/null | cmp -s - "$contract"; then
  [[ "${PB_STRICT_GENERATED:-0}" == 1 ]] &&
    die "$PB_BIN serves a different contract than openapi/openapi.json"
  say "warning: $PB_BIN serves a different contract than openapi/openapi.json (the client is generated from the file)"
fi

# --- service and WeChat stand-in ---------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pb-cycle.XXXXXX")
pids=()
status=1
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    if [[ -f "$tmp/service.log" ]]; then
      echo "--- last lines of the service log ($tmp/service.log)" >&2
      tail -n 20 "$tmp/service.log" >&2 || true
    fi
    echo "run-cycle: FAILED; database and logs kept in $tmp" >&2
  elif [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "run-cycle: database and logs kept in $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

wechat_appid=wx-cycle-app
wechat_secret=wx-cycle-secret-$RANDOM$RANDOM
node dist/wechat-stub.js 0 "$wechat_appid" "$wechat_secret" >"$tmp/wechat.out" 2>"$tmp/wechat.log" &
pids+=($!)
for _ in $(seq 100); do
  grep -q '^listening ' "$tmp/wechat.out" 2>/dev/null && break
  sleep 0.05
done
wechat_port=$(sed -n 's/^listening //p' "$tmp/wechat.out")
[[ -n "$wechat_port" ]] || die "the WeChat stand-in did not start (see $tmp/wechat.log)"

port=${PB_PORT:-$(free_port)}
export DATABASE_URL="sqlite://$tmp/pointsbank.db"
export PB_DATA_DIR="$tmp"
export PB_BIND="127.0.0.1:$port"
export PB_JWT_SECRET PB_CARD_SECRET
PB_JWT_SECRET=$(node -p 'require("crypto").randomBytes(32).toString("hex")')
PB_CARD_SECRET=$(node -p 'require("crypto").randomBytes(32).toString("hex")')
export PB_WECHAT_APPID=$wechat_appid PB_WECHAT_SECRET=$wechat_secret
export PB_WECHAT_API_BASE="http://127.0.0.1:$wechat_port"
export PB_QR_BASE_URL=${PB_QR_BASE_URL:-https://jfyh.example.cn}
export PB_LOG=${PB_LOG:-warn}
export PB_WORKERS=${PB_WORKERS:-2}
export PB_SEAL_INTERVAL_MS=${PB_SEAL_INTERVAL_MS:-200}

say "demo data in $DATABASE_URL"
"$PB_BIN" demo >"$tmp/demo.log" 2>&1 || { cat "$tmp/demo.log" >&2; die "pointsbank demo failed"; }
say "pointsbank serve on $PB_BIND (WeChat stand-in on :$wechat_port)"
"$PB_BIN" serve >"$tmp/service.log" 2>&1 &
pids+=($!)
service_pid=$!
ready=0
for _ in $(seq 150); do
  kill -0 "$service_pid" 2>/dev/null || die "the service exited (see $tmp/service.log)"
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "http://$PB_BIND/readyz"; then
    ready=1
    break
  fi
  sleep 0.2
done
[[ $ready == 1 ]] || die "the service did not become ready in 30 s (see $tmp/service.log)"

# --- the cycle -----------------------------------------------------------------------------------
say "cycle"
PB_BASE_URL="http://$PB_BIND" node dist/cycle.js
say "pointsbank ledger verify (the CLI, on the same database)"
"$PB_BIN" ledger verify >"$tmp/verify.json"
node -e '
  const text = require("fs").readFileSync(process.argv[1], "utf8");
  const reports = JSON.parse("[" + text.replace(/}\s*{/g, "},{") + "]");
  for (const r of reports) console.log(`    bank ${r.bank_id}: ok=${r.ok} entries=${r.entries_checked} findings=${r.findings.length}`);
  process.exit(reports.every((r) => r.ok) ? 0 : 1);
' "$tmp/verify.json"

status=0
say "passed in $(( $(date +%s) - started )) s"
