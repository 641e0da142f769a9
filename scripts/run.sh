#!/bin/sh
# `make run`: migrate, first-start set-up (admin password, demo data), then
# lighttpd in the foreground on 127.0.0.1:$PORT. Ctrl-C stops lighttpd and the
# FastCGI process it started (by pid: lighttpd 1.4.69 can leave it running).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export FD_ROOT="$root"
export FD_VAR="${FD_VAR:-$root/var}"
export PORT="${PORT:-8080}"
export FD_APP="${FD_APP:-$root/bin/flightdeck.fcgi}"
db="${FLIGHTDECK_DB:-var/flightdeck.db}"
case "$db" in /*) ;; *) db="$root/$db" ;; esac
export FLIGHTDECK_DB="$db"
export FLIGHTDECK_TEMPLATES="${FLIGHTDECK_TEMPLATES:-$root/templates}"
export FLIGHTDECK_PRICES="${FLIGHTDECK_PRICES:-$root/etc/prices.json}"
mkdir -p "$FD_VAR" "$(dirname "$FLIGHTDECK_DB")"

"$root/bin/flightdeck" setup

# A FastCGI socket left by a lighttpd that was killed: lighttpd 1.4.69 that
# finds one (and gets requests at once, e.g. from retrying runtimes) takes it
# for a backend it did not start and never spawns the app.
rm -f "$FD_VAR"/flightdeck.sock*

lighttpd -D -f "$root/lighttpd.conf" &
lpid=$!
stop() {
  trap - INT TERM EXIT
  kids=$(pgrep -P "$lpid" 2>/dev/null || true)
  kill "$lpid" 2>/dev/null || true
  wait "$lpid" 2>/dev/null || true
  for k in $kids; do kill "$k" 2>/dev/null || true; done
}
trap stop INT TERM EXIT
echo "Flightdeck is serving http://127.0.0.1:$PORT/ (Ctrl-C to stop)"
wait "$lpid" || true
