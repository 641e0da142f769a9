#!/bin/sh
# The one test runner (`make test` calls it after `make build san`).
#
#   tests/run.sh            every suite
#   tests/run.sh unit       build/san/test_* (each prints "N passed, N failed" last)
#   tests/run.sh valgrind   build/vg/test_* under valgrind memcheck (one test each)
#   tests/run.sh fuzz       build/san/fuzz_* replay tests/fuzz/corpus/<t>/ and
#                           tests/fuzz/crashes/<t>/ (one test per fuzz target)
#   tests/run.sh http       node --test tests/http/   (lighttpd + the sanitizer app)
#   tests/run.sh browser    node --test tests/browser/ (headless Chromium)
#   tests/run.sh soak       node --test tests/soak/: crash safety (SIGKILL
#                           under load), full disk / read-only database, load;
#                           bounded (about 1.5 min); FD_SOAK=long: `make soak`
#
# Prints each suite's counts and ends with exactly one line
# "N passed, N failed" over every test case of every suite. Exit status is
# non-zero when anything failed or a suite crashed (a binary that crashes or
# prints no count line counts as 1 failed).
#
# Environment: FD_APP (the FastCGI program the HTTP/browser tests put behind
# lighttpd; default build/san/flightdeck.fcgi), FD_CLI, FD_KEEP=1 (keep the
# servers' temp dirs), UNIT_TIMEOUT / HTTP_TIMEOUT / BROWSER_TIMEOUT /
# FUZZ_TIMEOUT / SOAK_TIMEOUT (seconds).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

suite=${1:-all}
case "$suite" in
  all|unit|valgrind|fuzz|http|browser|soak) ;;
  *) echo "usage: tests/run.sh [unit|valgrind|fuzz|http|browser|soak]" >&2; exit 2 ;;
esac

total_pass=0
total_fail=0
summary=""
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flightdeck-run.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

now() { date +%s; }
run_start=$(now)

# timeout(1) when there is one.
with_timeout() {
  secs=$1; shift
  if command -v timeout >/dev/null 2>&1; then
    timeout -k 10 "$secs" "$@"
  else
    "$@"
  fi
}

note() { summary="$summary$1
"; }

add() { # suite passed failed seconds [remark]
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
  line=$(printf '%-8s %4d passed, %4d failed  (%ss)%s' "$1" "$2" "$3" "$4" "${5:+  $5}")
  echo "== $line"
  note "$line"
}

# ---------------------------------------------------------------- unit
run_unit() {
  t0=$(now)
  pass=0 fail=0 n=0 remark=""
  for bin in build/san/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case "$bin" in *.o|*.d|*.c|*.h) continue ;; esac
    n=$((n + 1))
    name=$(basename "$bin")
    out="$tmp/$name.out"
    with_timeout "${UNIT_TIMEOUT:-300}" "./$bin" >"$out" 2>&1
    rc=$?
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -n "$last" ]; then
      p=${last%% passed*}
      f=${last#*passed, }; f=${f%% failed*}
    else
      p=0 f=0
    fi
    # Crashed, timed out, leaked at exit, or printed no count line: 1 failed.
    if [ -z "$last" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
      f=$((f + 1))
      if [ -n "$last" ]; then why="after \"$last\""; else why="and no count line"; fi
      echo "-- $name: exit status $rc $why"
      tail -n 60 "$out" | sed 's/^/   /'
    elif [ "$f" -gt 0 ]; then
      echo "-- $name: $last"
      grep -v '^ok - ' "$out" | sed 's/^/   /'
    else
      echo "   $name: $last"
      # The mustache spec runner's per-module counts ("module comments: 12/12 passed").
      grep -E '^module ' "$out" | sed 's/^/     /'
    fi
    pass=$((pass + p)) fail=$((fail + f))
  done
  if [ "$n" -eq 0 ]; then
    echo "-- unit: no build/san/test_* binaries (run \`make san\` first)"
    fail=$((fail + 1)) remark="no test binaries"
  fi
  add unit "$pass" "$fail" "$(($(now) - t0))" "$remark"
}

# ------------------------------------------------------- node --test suites
# node's TAP reporter ends with "# pass N", "# fail N", "# cancelled N".
run_node() { # name dir timeout
  name=$1 dir=$2 secs=$3
  t0=$(now)
  out="$tmp/$name.tap"
  remark=""
  if ! command -v node >/dev/null 2>&1; then
    echo "-- $name: node is not installed (scripts/deps.sh test)"
    add "$name" 0 1 0 "no node"
    return
  fi
  for mod in playwright-core ajv; do
    if [ ! -d "tests/node_modules/$mod" ]; then
      echo "-- $name: tests/node_modules/$mod is missing: run scripts/deps.sh test (npm ci in tests/)"
      add "$name" 0 1 0 "no $mod"
      return
    fi
  done
  files=$(find "$dir" -name node_modules -prune -o -type f -name '*.test.mjs' -print | sort)
  if [ -z "$files" ]; then
    echo "-- $name: no test files in $dir"
    add "$name" 0 1 0 "no test files"
    return
  fi
  # shellcheck disable=SC2086 # file names have no spaces
  with_timeout "$secs" node --test --test-reporter=tap $files >"$out" 2>&1
  rc=$?
  # Show what failed (the TAP of failing tests), else just the count.
  p=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$out" | tail -n 1)
  f=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$out" | tail -n 1)
  c=$(sed -n 's/^# cancelled \([0-9][0-9]*\)$/\1/p' "$out" | tail -n 1)
  p=${p:-0} f=${f:-0} c=${c:-0}
  f=$((f + c))
  if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
    cat "$out"
  else
    grep -E '^# (Subtest|tests|suites|duration_ms)|^# screenshots|^# soak ' "$out" | sed 's/^/   /'
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1 remark="node exited $rc"
  fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    f=1 remark="no tests ran"
  fi
  add "$name" "$p" "$f" "$(($(now) - t0))" "$remark"
}

# ------------------------------------------------------------- valgrind
# The unit tests again, built without sanitizers (build/vg/, `make vg`),
# under memcheck: each binary is one test, failed by any invalid access,
# use of uninitialised memory, or definite/indirect leak (or a test failure).
run_valgrind() {
  t0=$(now)
  pass=0 fail=0 n=0 remark=""
  if ! command -v valgrind >/dev/null 2>&1; then
    echo "-- valgrind: not installed (scripts/deps.sh test)"
    add valgrind 0 1 0 "no valgrind"
    return
  fi
  for bin in build/vg/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case "$bin" in *.o) continue ;; esac
    n=$((n + 1))
    name=$(basename "$bin")
    out="$tmp/vg-$name.out"
    with_timeout "${VALGRIND_TIMEOUT:-600}" valgrind -q --error-exitcode=99 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect "./$bin" >"$out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
      pass=$((pass + 1))
      echo "   $name: clean under valgrind"
    else
      fail=$((fail + 1))
      echo "-- $name: exit status $rc under valgrind"
      grep -v '^ok - ' "$out" | tail -n 60 | sed 's/^/   /'
    fi
  done
  if [ "$n" -eq 0 ]; then
    echo "-- valgrind: no build/vg/test_* binaries (run \`make vg\` first)"
    fail=$((fail + 1)) remark="no test binaries"
  fi
  add valgrind "$pass" "$fail" "$(($(now) - t0))" "$remark"
}

# ----------------------------------------------------------------- fuzz
# The fuzz targets of tests/fuzz/, built with the sanitizers and a replay
# main (build/san/fuzz_<t>, `make san`), run once over every corpus input
# and every saved crash input: each target is one test, failed by a
# non-zero exit or any sanitizer report.
run_fuzz() {
  t0=$(now)
  pass=0 fail=0 n=0 remark=""
  for bin in build/san/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case "$bin" in *.o|*.d|*.c|*.h) continue ;; esac
    n=$((n + 1))
    t=${bin#build/san/fuzz_}
    out="$tmp/fuzz-$t.out"
    with_timeout "${FUZZ_TIMEOUT:-120}" "./$bin" "tests/fuzz/corpus/$t" "tests/fuzz/crashes/$t" >"$out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && ! grep -qE 'runtime error|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer' "$out"; then
      pass=$((pass + 1))
      echo "   fuzz_$t: $(tail -n 1 "$out")"
    else
      fail=$((fail + 1))
      echo "-- fuzz_$t: exit status $rc"
      tail -n 60 "$out" | sed 's/^/   /'
    fi
  done
  if [ "$n" -eq 0 ]; then
    echo "-- fuzz: no build/san/fuzz_* binaries (run \`make san\` first)"
    fail=$((fail + 1)) remark="no fuzz binaries"
  fi
  add fuzz "$pass" "$fail" "$(($(now) - t0))" "$remark"
}

need_app() {
  app=${FD_APP:-build/san/flightdeck.fcgi}
  cli=${FD_CLI:-build/san/flightdeck}
  for f in "$app" "$cli"; do
    if [ ! -x "$f" ]; then
      echo "-- $1: $f is missing (run \`make build san\` first)"
      add "$1" 0 1 0 "no $f"
      return 1
    fi
  done
  if ! command -v lighttpd >/dev/null 2>&1; then
    echo "-- $1: lighttpd is not installed (scripts/deps.sh run)"
    add "$1" 0 1 0 "no lighttpd"
    return 1
  fi
  return 0
}

case "$suite" in all|unit) run_unit ;; esac
case "$suite" in all|valgrind) run_valgrind ;; esac
case "$suite" in all|fuzz) run_fuzz ;; esac
case "$suite" in all|http) need_app http && run_node http tests/http "${HTTP_TIMEOUT:-600}" ;; esac
case "$suite" in all|browser) need_app browser && run_node browser tests/browser "${BROWSER_TIMEOUT:-300}" ;; esac
case "$suite" in all|soak) need_app soak && run_node soak tests/soak "${SOAK_TIMEOUT:-900}" ;; esac

echo
printf '%s' "$summary"
echo "total time $(($(now) - run_start))s"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
