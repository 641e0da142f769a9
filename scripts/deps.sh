#!/bin/sh
# Install the Debian packages Flightdeck needs, and only those missing.
#   scripts/deps.sh run    what `make run` needs (build + serve)
#   scripts/deps.sh test   what `make test` needs on top (browser, node, tools)
#   scripts/deps.sh bench  what `make bench` needs on top (wrk, node)
set -eu
mode=${1:-run}
pkgs="gcc make libc6-dev lighttpd lighttpd-mod-deflate libfcgi-dev libsqlite3-dev libcjson-dev libsodium-dev zlib1g-dev
      libmd4c-dev libmd4c-html0-dev libcurl4-openssl-dev sqlite3 procps"
if [ "$mode" = bench ]; then
  pkgs="$pkgs wrk"
  command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
fi
if [ "$mode" = test ]; then
  pkgs="$pkgs chromium curl valgrind"
  command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
  command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "deps: installing$missing"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
fi
if [ "$mode" = test ]; then
  # The tests' Node packages (tests/package.json, one lock file for the HTTP
  # and browser tests): playwright-core drives Debian's chromium (it downloads
  # no browser of its own); ajv checks every API answer against
  # docs/openapi.json. Reinstalled when the lock file is newer than the install.
  root=$(cd "$(dirname "$0")/.." && pwd)
  stamp="$root/tests/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$root/tests/package-lock.json" -nt "$stamp" ]; then
    (cd "$root/tests" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
