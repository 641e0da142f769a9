#!/bin/sh
# `make run`: migrate, first-start set-up (admin password, demo data), then
# lighttpd in the foreground. Port, folders and everything else come from
# the configuration (etc/flightdeck.conf if present, FLIGHTDECK_* over it;
# `bin/flightdeck config` shows them). Ctrl-C stops lighttpd and the FastCGI
# process it started (by pid: lighttpd 1.4.69 can leave it running).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export FD_ROOT="$root"
cli="$root/bin/flightdeck"
# Fails here, with the file and line, when the configuration is wrong.
var=$("$cli" config get var_dir)
db=$("$cli" config get db)
port=$("$cli" config get port)
bind=$("$cli" config get bind)
mkdir -p "$var" "$(dirname "$db")"

"$cli" setup

# A FastCGI socket left by a lighttpd that was killed: lighttpd 1.4.69 that
# finds one (and gets requests at once, e.g. from retrying runtimes) takes it
# for a backend it did not start and never spawns the app.
rm -f "$var"/flightdeck.sock*

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
echo "Flightdeck is serving http://$bind:$port/ (Ctrl-C to stop)"
wait "$lpid" || true
