/* fmt: formatting and parsing of times and amounts. See fmt.h. */
#include "fmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int fmt_time_parse(const char *s, int64_t *ms)
{
    int Y, M, D, h, m, sec;
    if (!s || strlen(s) < 20) return -1;
    if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || h > 23 || m > 59 || sec > 60) return -1;
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (D > mdays[M - 1] + (M == 2 && leap)) return -1;
    const char *p = s + 19;
    int frac = 0, scale = 1000;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') {
            if (scale > 1) { scale /= 10; frac += (*p - '0') * scale; }
            p++;
        }
    }
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p) return -1;
    int64_t days = days_from_civil(Y, M, D);
    *ms = ((days * 86400 + h * 3600 + m * 60 + sec) - offset_min * 60) * 1000 + frac;
    return 0;
}

/* Split ms into whole seconds and a 0..999 remainder, flooring, so times
 * before 1970 print correctly. */
static void split_ms(int64_t ms, int64_t *sec, int *rem)
{
    int64_t s = ms / 1000, r = ms % 1000;
    if (r < 0) { r += 1000; s--; }
    *sec = s;
    *rem = (int)r;
}

static void utc(int64_t ms, struct tm *tm)
{
    int64_t s;
    int r;
    split_ms(ms, &s, &r);
    time_t t = (time_t)s;
    gmtime_r(&t, tm);
}

void fmt_rfc3339(int64_t ms, char *out, size_t n)
{
    struct tm tm;
    int64_t s;
    int r;
    split_ms(ms, &s, &r);
    utc(ms, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, r);
}

void fmt_abs(int64_t ms, char *out, size_t n)
{
    struct tm tm;
    utc(ms, &tm);
    snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void fmt_rel(int64_t ms, int64_t now, char *out, size_t n)
{
    int64_t d = (now - ms) / 1000;
    if (d < 0) d = 0;
    if (d < 45) snprintf(out, n, "just now");
    else if (d < 3570) snprintf(out, n, "%lld min ago", (long long)((d + 30) / 60));
    else if (d < 86400) snprintf(out, n, "%lld h ago", (long long)(d < 3600 ? 1 : d / 3600));
    else if (d < 86400 * 30) snprintf(out, n, "%lld day%s ago", (long long)(d / 86400),
                                      d / 86400 == 1 ? "" : "s");
    else {
        struct tm tm;
        utc(ms, &tm);
        snprintf(out, n, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    }
}

void fmt_duration(int64_t ms, char *out, size_t n)
{
    if (ms < 0) ms = 0;
    if (ms < 1000) snprintf(out, n, "%lld ms", (long long)ms);
    else if (ms < 60000) snprintf(out, n, "%lld.%lld s", (long long)(ms / 1000),
                                  (long long)(ms % 1000 / 100));
    else if (ms < 3600000) snprintf(out, n, "%lldm %02llds", (long long)(ms / 60000),
                                    (long long)(ms / 1000 % 60));
    else if (ms < 86400000) snprintf(out, n, "%lldh %02lldm", (long long)(ms / 3600000),
                                     (long long)(ms / 60000 % 60));
    else snprintf(out, n, "%lldd %lldh", (long long)(ms / 86400000),
                  (long long)(ms / 3600000 % 24));
}

void fmt_count(int64_t v, char *out, size_t n)
{
    if (v < 1000) snprintf(out, n, "%lld", (long long)v);
    else if (v < 1000000) snprintf(out, n, "%lld.%lldk", (long long)(v / 1000),
                                   (long long)(v % 1000 / 100));
    else snprintf(out, n, "%lld.%lldM", (long long)(v / 1000000),
                  (long long)(v % 1000000 / 100000));
}

void fmt_cost(int64_t micros, char *out, size_t n)
{
    double d = (double)micros / 1e6;
    if (micros == 0) { snprintf(out, n, "$0"); return; }
    if (micros < 10000) { snprintf(out, n, "$%.4f", d); return; }
    if (micros < 999995000) { snprintf(out, n, "$%.2f", d); return; }
    /* Whole dollars with thousands separators: "$1,234". */
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)((micros + 500000) / 1000000));
    size_t j = 0;
    if (n == 0) return;
    if (j + 1 < n) out[j++] = '$';
    for (int i = 0; i < len && j + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && j + 1 < n) out[j++] = ',';
        if (j + 1 < n) out[j++] = digits[i];
    }
    out[j] = '\0';
}

void fmt_bytes(int64_t n, char *out, size_t len)
{
    if (n < 1024) { snprintf(out, len, "%lld B", (long long)n); return; }
    static const char *const units[] = { "KB", "MB", "GB", "TB" };
    double v = (double)n / 1024;
    int u = 0;
    while (v >= 1024 && u < 3) { v /= 1024; u++; }
    snprintf(out, len, "%.1f %s", v, units[u]);
}

void fmt_thousands(int64_t v, char *out, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t o = 0;
    if (v < 0 && o + 1 < n) out[o++] = '-';
    for (int i = 0; i < len && o + 1 < n; i++) {
        if (i && (len - i) % 3 == 0 && o + 2 < n) out[o++] = ',';
        out[o++] = digits[i];
    }
    if (n) out[o < n ? o : n - 1] = '\0';
}
