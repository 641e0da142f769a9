/* Unit tests for cgi/fmt.c: RFC 3339 parsing and formatting, relative
 * times, durations, counts and costs. Expected epoch values were computed
 * with `date -u -d TIME +%s`. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "harness.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static int parse(const char *s, int64_t *ms)
{
    *ms = -777;
    return fmt_time_parse(s, ms);
}

/* ------------------------------------------------------------- parsing */

TEST(test_parse_known_values)
{
    static const struct { const char *s; int64_t ms; } cases[] = {
        { "1970-01-01T00:00:00Z", 0 },
        { "1970-01-01T00:00:01Z", 1000 },
        { "2026-11-21T15:30:48Z", 1795275048000LL },
        { "2026-11-21T15:30:48.123Z", 1795275048123LL },
        { "2000-02-29T12:00:00Z", 951825600000LL },        /* leap day, century divisible by 400 */
        { "2024-02-29T00:00:00Z", 1709164800000LL },
        { "1999-12-31T23:59:59Z", 946684799000LL },
        { "2024-12-31T23:59:59Z", 1735689599000LL },
        { "2038-01-19T03:14:08Z", 2147483648000LL },       /* past 32-bit time_t */
        { "2100-03-01T00:00:00Z", 4107542400000LL },
        { "2026-01-01T00:00:00Z", 1767225600000LL },
        { "2026-03-01T00:00:00Z", 1772323200000LL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms;
        int rc = parse(cases[i].s, &ms);
        if (rc != 0 || ms != cases[i].ms)
            fprintf(stderr, "    %s: rc %d ms %lld\n", cases[i].s, rc, (long long)ms);
        CHECK_INT(rc, 0);
        CHECK_INT(ms, cases[i].ms);
    }
}

TEST(test_parse_fraction)
{
    int64_t ms;
    CHECK_INT(parse("1970-01-01T00:00:00.5Z", &ms), 0);
    CHECK_INT(ms, 500);
    CHECK_INT(parse("1970-01-01T00:00:00.05Z", &ms), 0);
    CHECK_INT(ms, 50);
    CHECK_INT(parse("1970-01-01T00:00:00.007Z", &ms), 0);
    CHECK_INT(ms, 7);
    /* Digits past milliseconds are dropped, not rounded into the next ms. */
    CHECK_INT(parse("1970-01-01T00:00:00.123999999Z", &ms), 0);
    CHECK_INT(ms, 123);
    CHECK_INT(parse("2026-11-21T15:30:48.999+00:00", &ms), 0);
    CHECK_INT(ms, 1795275048999LL);
    /* A dot needs a digit. */
    CHECK_INT(parse("1970-01-01T00:00:00.Z", &ms), -1);
    CHECK_INT(parse("1970-01-01T00:00:00.xZ", &ms), -1);
}

TEST(test_parse_offsets)
{
    int64_t ms;
    CHECK_INT(parse("2026-11-21T15:30:48+02:00", &ms), 0);
    CHECK_INT(ms, 1795267848000LL);
    CHECK_INT(parse("2026-11-21T15:30:48-05:30", &ms), 0);
    CHECK_INT(ms, 1795294848000LL);
    CHECK_INT(parse("2026-11-21T15:30:48.123-05:30", &ms), 0);
    CHECK_INT(ms, 1795294848123LL);
    CHECK_INT(parse("2026-11-21T15:30:48+00:00", &ms), 0);
    CHECK_INT(ms, 1795275048000LL);
    CHECK_INT(parse("2026-11-21T15:30:48-00:00", &ms), 0);
    CHECK_INT(ms, 1795275048000LL);
    /* Crossing midnight and the epoch. */
    CHECK_INT(parse("1970-01-01T01:00:00+01:00", &ms), 0);
    CHECK_INT(ms, 0);
    CHECK_INT(parse("1970-01-01T00:00:00+23:59", &ms), 0);
    CHECK_INT(ms, -(23 * HOUR + 59 * MIN));
    /* Malformed offsets. */
    CHECK_INT(parse("2026-11-21T15:30:48+02", &ms), -1);
    CHECK_INT(parse("2026-11-21T15:30:48+0200", &ms), -1);
    CHECK_INT(parse("2026-11-21T15:30:48+2:00", &ms), -1);
    CHECK_INT(parse("2026-11-21T15:30:48+24:00", &ms), -1);
    CHECK_INT(parse("2026-11-21T15:30:48+02:60", &ms), -1);
    CHECK_INT(parse("2026-11-21T15:30:48+", &ms), -1);
    CHECK_INT(parse("2026-11-21T15:30:48+ab:cd", &ms), -1);
}

TEST(test_parse_lowercase_and_space)
{
    int64_t ms;
    CHECK_INT(parse("2026-11-21t15:30:48z", &ms), 0);
    CHECK_INT(ms, 1795275048000LL);
    CHECK_INT(parse("2026-11-21t15:30:48.123z", &ms), 0);
    CHECK_INT(ms, 1795275048123LL);
    /* RFC 3339 section 5.6 allows a space for the T. */
    CHECK_INT(parse("2026-11-21 15:30:48Z", &ms), 0);
    CHECK_INT(ms, 1795275048000LL);
}

TEST(test_parse_invalid_fields)
{
    static const char *const bad[] = {
        "2026-00-21T15:30:48Z", /* month 0 */
        "2026-13-21T15:30:48Z", /* month 13 */
        "2026-11-00T15:30:48Z", /* day 0 */
        "2026-11-32T15:30:48Z", /* day 32 */
        "2026-11-21T24:00:00Z", /* hour 24 */
        "2026-11-21T15:60:00Z", /* minute 60 */
        "2026-11-21T15:30:61Z", /* second 61 */
        "2026-11-21T99:30:48Z",
        "20x6-11-21T15:30:48Z",
        "2026/11/21T15:30:48Z",
        "2026-11-21X15:30:48Z",
        "2026-11-21T15-30-48Z",
        "2026-1-21T15:30:48Z",
        "-026-11-21T15:30:48Z",
        "2026-11-21T15:30:4Z0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        int rc = parse(bad[i], &ms);
        if (rc != -1) fprintf(stderr, "    accepted %s as %lld\n", bad[i], (long long)ms);
        CHECK_INT(rc, -1);
    }
}

TEST(test_parse_invalid_day_of_month)
{
    /* A day the month does not have is as invalid as day 32: these must not
     * roll over into the next month. */
    static const char *const bad[] = {
        "2026-02-29T00:00:00Z", /* 2026 is not a leap year */
        "2026-02-30T00:00:00Z",
        "2026-02-31T00:00:00Z",
        "2100-02-29T00:00:00Z", /* divisible by 100, not by 400 */
        "2026-04-31T00:00:00Z",
        "2026-06-31T00:00:00Z",
        "2026-09-31T00:00:00Z",
        "2026-11-31T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        int rc = parse(bad[i], &ms);
        if (rc != -1) {
            char back[40];
            fmt_rfc3339(ms, back, sizeof back);
            fprintf(stderr, "    accepted %s (reads as %s)\n", bad[i], back);
        }
        CHECK_INT(rc, -1);
    }
    /* The last day of each month is fine. */
    static const char *const good[] = {
        "2026-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
        "2026-02-28T00:00:00Z", "2026-04-30T00:00:00Z", "2026-12-31T23:59:59Z",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms;
        CHECK_INT(parse(good[i], &ms), 0);
    }
}

TEST(test_parse_trailing_junk_and_short)
{
    static const char *const bad[] = {
        "2026-11-21T15:30:48Zjunk", "2026-11-21T15:30:48Z ", "2026-11-21T15:30:48ZZ",
        "2026-11-21T15:30:48+02:00x", "2026-11-21T15:30:48.123Zx", "2026-11-21T15:30:48",
        "2026-11-21T15:30:48 ", "2026-11-21T15:30Z", "2026-11-21", "2026", "", "Z",
        "2026-11-21T15:30:48.123", "2026-11-21T15:30:48.123+",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        int rc = parse(bad[i], &ms);
        if (rc != -1) fprintf(stderr, "    accepted \"%s\"\n", bad[i]);
        CHECK_INT(rc, -1);
    }
    int64_t ms;
    CHECK_INT(fmt_time_parse(NULL, &ms), -1);
}

/* ---------------------------------------------------------- formatting */

TEST(test_rfc3339_format)
{
    char out[40];
    fmt_rfc3339(0, out, sizeof out);
    CHECK_STR(out, "1970-01-01T00:00:00.000Z");
    fmt_rfc3339(1795275048123LL, out, sizeof out);
    CHECK_STR(out, "2026-11-21T15:30:48.123Z");
    fmt_rfc3339(951825600007LL, out, sizeof out);
    CHECK_STR(out, "2000-02-29T12:00:00.007Z");
    fmt_rfc3339(4107542400999LL, out, sizeof out);
    CHECK_STR(out, "2100-03-01T00:00:00.999Z");
    /* Truncated to the buffer, still terminated. */
    char small[11];
    fmt_rfc3339(1795275048123LL, small, sizeof small);
    CHECK_STR(small, "2026-11-21");
}

TEST(test_rfc3339_round_trip)
{
    static const int64_t values[] = {
        0, 1, 999, 1000, 1795275048123LL, 951825600000LL, 1709164800001LL, 2147483648000LL,
        4107542400999LL, 946684799999LL, 1735689599500LL,
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char s[40];
        fmt_rfc3339(values[i], s, sizeof s);
        int64_t back = -1;
        int rc = fmt_time_parse(s, &back);
        if (rc != 0 || back != values[i])
            fprintf(stderr, "    %lld -> %s -> %lld\n", (long long)values[i], s, (long long)back);
        CHECK_INT(rc, 0);
        CHECK_INT(back, values[i]);
    }
    /* And text -> ms -> text for offset forms, normalised to UTC. */
    int64_t ms;
    char s[40];
    CHECK_INT(fmt_time_parse("2026-11-21T15:30:48.123-05:30", &ms), 0);
    fmt_rfc3339(ms, s, sizeof s);
    CHECK_STR(s, "2026-11-21T21:00:48.123Z");
}

TEST(test_rfc3339_before_epoch)
{
    /* fmt_time_parse accepts times before 1970 (negative ms); formatting
     * them must not print a negative millisecond field. */
    int64_t ms;
    CHECK_INT(fmt_time_parse("1969-12-31T23:59:59.500Z", &ms), 0);
    CHECK_INT(ms, -500);
    char s[40];
    fmt_rfc3339(ms, s, sizeof s);
    CHECK_STR(s, "1969-12-31T23:59:59.500Z");
    fmt_rfc3339(-1, s, sizeof s);
    CHECK_STR(s, "1969-12-31T23:59:59.999Z");
    fmt_rfc3339(-1000, s, sizeof s);
    CHECK_STR(s, "1969-12-31T23:59:59.000Z");
}

TEST(test_abs)
{
    char out[40];
    fmt_abs(0, out, sizeof out);
    CHECK_STR(out, "1970-01-01 00:00:00 UTC");
    fmt_abs(1795275048999LL, out, sizeof out);
    CHECK_STR(out, "2026-11-21 15:30:48 UTC");
}

TEST(test_rel)
{
    const int64_t now = 1795275048123LL;
    char out[40];
    static const struct { int64_t ago; const char *want; } cases[] = {
        { 0, "just now" },
        { 44 * SEC + 999, "just now" },
        { 45 * SEC, "1 min ago" },
        { 89 * SEC, "1 min ago" },
        { 90 * SEC, "2 min ago" },
        { 3 * MIN, "3 min ago" },
        { 59 * MIN, "59 min ago" },
        { HOUR, "1 h ago" },
        { 5 * HOUR + 59 * MIN, "5 h ago" },
        { DAY - 1, "23 h ago" },
        { DAY, "1 day ago" },
        { 2 * DAY - 1, "1 day ago" },
        { 2 * DAY, "2 days ago" },
        { 30 * DAY - 1, "29 days ago" },
        { 30 * DAY, "2026-10-22" },   /* older: the date of ms */
        { 400 * DAY, "2025-10-17" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fmt_rel(now - cases[i].ago, now, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fprintf(stderr, "    %lld ms ago\n", (long long)cases[i].ago);
        CHECK_STR(out, cases[i].want);
    }
    /* In the future (clock skew): "just now", not a negative age. */
    fmt_rel(now + 10 * MIN, now, out, sizeof out);
    CHECK_STR(out, "just now");
}

TEST(test_rel_minute_to_hour_boundary)
{
    /* Just under an hour rounds to 60 minutes: that must read as an hour
     * (or 59 min), never "60 min ago". */
    const int64_t now = 1795275048123LL;
    char out[40];
    for (int64_t ago = 59 * MIN; ago < HOUR; ago += SEC) {
        fmt_rel(now - ago, now, out, sizeof out);
        if (strcmp(out, "59 min ago") != 0 && strcmp(out, "1 h ago") != 0) {
            fprintf(stderr, "    %lld s ago gave \"%s\"\n", (long long)(ago / SEC), out);
            CHECK(0);
            break;
        }
    }
}

TEST(test_duration)
{
    static const struct { int64_t ms; const char *want; } cases[] = {
        { -5, "0 ms" },
        { 0, "0 ms" },
        { 840, "840 ms" },
        { 999, "999 ms" },
        { 1000, "1.0 s" },
        { 1500, "1.5 s" },
        { 12400, "12.4 s" },
        { 59900, "59.9 s" },
        { MIN, "1m 00s" },
        { 3 * MIN + 12 * SEC, "3m 12s" },
        { 3 * MIN + 12 * SEC + 999, "3m 12s" },
        { HOUR - 1, "59m 59s" },
        { HOUR, "1h 00m" },
        { 2 * HOUR + 5 * MIN, "2h 05m" },
        { DAY - 1, "23h 59m" },
        { DAY, "1d 0h" },
        { 3 * DAY + 4 * HOUR + 59 * MIN, "3d 4h" },
        { 400 * DAY, "400d 0h" },
    };
    char out[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fmt_duration(cases[i].ms, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0) fprintf(stderr, "    %lld ms\n", (long long)cases[i].ms);
        CHECK_STR(out, cases[i].want);
    }
}

TEST(test_duration_seconds_to_minutes_boundary)
{
    /* 59.95 s to 59.999 s must not print as "60.0 s": the next unit up is
     * "1m 00s". Either "59.9 s" (truncated, like the other units) or
     * "1m 00s" is right. */
    char out[40];
    for (int64_t ms = 59900; ms < MIN; ms++) {
        fmt_duration(ms, out, sizeof out);
        if (strcmp(out, "59.9 s") != 0 && strcmp(out, "1m 00s") != 0) {
            fprintf(stderr, "    %lld ms gave \"%s\"\n", (long long)ms, out);
            CHECK(0);
            break;
        }
    }
}

TEST(test_count)
{
    static const struct { int64_t v; const char *want; } cases[] = {
        { 0, "0" },
        { 950, "950" },
        { 999, "999" },
        { 1000, "1.0k" },
        { 12400, "12.4k" },
        { 999000, "999.0k" },
        { 1000000, "1.0M" },
        { 3100000, "3.1M" },
        { 1234567890, "1234.5M" }, /* truncated, like k: never rounds up to a unit it has not reached */
    };
    char out[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fmt_count(cases[i].v, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0) fprintf(stderr, "    %lld\n", (long long)cases[i].v);
        CHECK_STR(out, cases[i].want);
    }
}

TEST(test_count_thousands_to_millions_boundary)
{
    /* 999,950 to 999,999 must not print as "1000.0k". */
    char out[40];
    for (int64_t v = 999900; v < 1000000; v++) {
        fmt_count(v, out, sizeof out);
        if (strcmp(out, "999.9k") != 0 && strcmp(out, "1.0M") != 0) {
            fprintf(stderr, "    %lld gave \"%s\"\n", (long long)v, out);
            CHECK(0);
            break;
        }
    }
}

TEST(test_cost)
{
    static const struct { int64_t micros; const char *want; } cases[] = {
        { 0, "$0" },
        { 4200, "$0.0042" },
        { 100, "$0.0001" },
        { 10000, "$0.01" },
        { 1230000, "$1.23" },
        { 999990000, "$999.99" },
    };
    char out[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fmt_cost(cases[i].micros, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fprintf(stderr, "    %lld micros\n", (long long)cases[i].micros);
        CHECK_STR(out, cases[i].want);
    }
}

TEST(test_cost_thousands_separator)
{
    /* fmt.h documents "$1,234" for amounts of a thousand dollars and more. */
    char out[40];
    fmt_cost(1234000000LL, out, sizeof out);
    CHECK_STR(out, "$1,234");
    fmt_cost(1000000000LL, out, sizeof out);
    CHECK_STR(out, "$1,000");
    fmt_cost(1234567000000LL, out, sizeof out);
    CHECK_STR(out, "$1,234,567");
    /* Just under $1,000 must not print as "$1000.00". */
    fmt_cost(999999999LL, out, sizeof out);
    if (strcmp(out, "$1,000") != 0) CHECK_STR(out, "$999.99");
}

TEST(test_thousands_and_bytes)
{
    char t[32];
    static const struct { long long v; const char *s; } th[] = {
        { 0, "0" }, { 999, "999" }, { 1000, "1,000" }, { 20000, "20,000" }, { 1234567, "1,234,567" },
        { -1500, "-1,500" } };
    for (size_t i = 0; i < sizeof th / sizeof th[0]; i++) {
        fmt_thousands(th[i].v, t, sizeof t);
        CHECK_STR(t, th[i].s);
    }
    static const struct { long long v; const char *s; } by[] = {
        { 0, "0 B" }, { 1023, "1023 B" }, { 1024, "1.0 KB" }, { 5 * 1024 * 1024, "5.0 MB" },
        { 1536LL * 1024 * 1024, "1.5 GB" } };
    for (size_t i = 0; i < sizeof by / sizeof by[0]; i++) {
        fmt_bytes(by[i].v, t, sizeof t);
        CHECK_STR(t, by[i].s);
    }
    fmt_thousands(1234567, t, 4); /* truncated, still terminated */
    CHECK(strlen(t) <= 3);
}

int main(void)
{
    RUN(test_parse_known_values);
    RUN(test_parse_fraction);
    RUN(test_parse_offsets);
    RUN(test_parse_lowercase_and_space);
    RUN(test_parse_invalid_fields);
    RUN(test_parse_invalid_day_of_month);
    RUN(test_parse_trailing_junk_and_short);
    RUN(test_rfc3339_format);
    RUN(test_rfc3339_round_trip);
    RUN(test_rfc3339_before_epoch);
    RUN(test_abs);
    RUN(test_rel);
    RUN(test_rel_minute_to_hour_boundary);
    RUN(test_duration);
    RUN(test_duration_seconds_to_minutes_boundary);
    RUN(test_count);
    RUN(test_count_thousands_to_millions_boundary);
    RUN(test_cost);
    RUN(test_cost_thousands_separator);
    RUN(test_thousands_and_bytes);
    return DONE();
}
