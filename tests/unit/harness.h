/* A tiny unit-test harness. Each test file defines tests with TEST(name) and
 * lists them in main() via RUN(name); CHECK failures are counted, not fatal
 * to the run. The last line printed is "N passed, N failed" for that file;
 * tests/run.sh adds the files up. Exit status is 1 if anything failed. */
#ifndef FD_HARNESS_H
#define FD_HARNESS_H

#include <stdio.h>
#include <string.h>

static int h_passed, h_failed, h_cur_failed;
static const char *h_cur;

#define TEST(name) static void name(void)

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "  FAIL %s: %s:%d: %s\n", h_cur, __FILE__, __LINE__, #cond); \
    h_cur_failed = 1; } } while (0)

#define CHECK_STR(a, b) do { const char *h_a = (a), *h_b = (b); \
    if (!h_a || !h_b || strcmp(h_a, h_b) != 0) { \
    fprintf(stderr, "  FAIL %s: %s:%d: %s == %s\n    got:      \"%s\"\n    expected: \"%s\"\n", \
        h_cur, __FILE__, __LINE__, #a, #b, h_a ? h_a : "(null)", h_b ? h_b : "(null)"); \
    h_cur_failed = 1; } } while (0)

#define CHECK_INT(a, b) do { long long h_a = (long long)(a), h_b = (long long)(b); \
    if (h_a != h_b) { \
    fprintf(stderr, "  FAIL %s: %s:%d: %s == %s (got %lld, expected %lld)\n", \
        h_cur, __FILE__, __LINE__, #a, #b, h_a, h_b); \
    h_cur_failed = 1; } } while (0)

#define RUN(name) do { h_cur = #name; h_cur_failed = 0; name(); \
    if (h_cur_failed) { h_failed++; printf("not ok - %s\n", #name); } \
    else { h_passed++; printf("ok - %s\n", #name); } } while (0)

#define DONE() (printf("%d passed, %d failed\n", h_passed, h_failed), h_failed ? 1 : 0)

#endif
