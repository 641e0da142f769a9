#!/bin/sh
# `make lint`: the static analysers over cgi/, each of which must be silent.
#   cppcheck (warning, portability, performance), clang-tidy (.clang-tidy),
#   gcc -fanalyzer. A finding that is wrong is silenced where it stands, with
#   a comment saying why (cppcheck-suppress / NOLINT / a restructured line).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
defs="-std=c11 -D_GNU_SOURCE -DFD_VERSION=\"lint\" -Icgi"
fail=0

echo "== cppcheck"
if ! cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance --std=c11 \
     --inline-suppr --suppress=missingIncludeSystem -Icgi cgi/; then fail=1; fi

echo "== clang-tidy"
for f in cgi/*.c; do
  # shellcheck disable=SC2086
  clang-tidy --quiet "$f" -- $defs 2>/dev/null || fail=1
done

echo "== gcc -fanalyzer"
out=$(mktemp -d) || exit 2
for f in cgi/*.c; do
  # shellcheck disable=SC2086
  gcc $defs -fanalyzer -O1 -Werror -c "$f" -o "$out/$(basename "$f" .c).o" || fail=1
done
rm -rf "$out"

[ "$fail" -eq 0 ] && echo "lint: clean" || echo "lint: findings above"
exit "$fail"
