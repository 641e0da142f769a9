/* fuzz_utf8: utf8_valid against an independent reference decoder (a
 * differential check: any disagreement aborts), and utf8_json_valid on the
 * input parsed as JSON. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reference: the well-formed byte sequences table of Unicode 15, section
 * 3.9, table 3-7, written out range by range. 1 when s[0..n) is valid. */
static int ref_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t a = s[i];
        if (a <= 0x7F) { i++; continue; }
        uint8_t lo = 0x80, hi = 0xBF;
        size_t len;
        if (a >= 0xC2 && a <= 0xDF) len = 2;
        else if (a == 0xE0) { len = 3; lo = 0xA0; }
        else if (a >= 0xE1 && a <= 0xEC) len = 3;
        else if (a == 0xED) { len = 3; hi = 0x9F; }
        else if (a >= 0xEE && a <= 0xEF) len = 3;
        else if (a == 0xF0) { len = 4; lo = 0x90; }
        else if (a >= 0xF1 && a <= 0xF3) len = 4;
        else if (a == 0xF4) { len = 4; hi = 0x8F; }
        else return 0;
        if (n - i < len) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
        i += len;
    }
    return 1;
}

/* Does JSON text s[0..n) hold anything cJSON turns into U+0000: a NUL
 * byte, or a \u escape whose four characters are "0000" or not all hex
 * digits (cJSON 1.7.15 reads those as 0)? Written apart from
 * ingest_json_has_nul, to compare. 1 or 0. */
static int ref_has_nul(const uint8_t *s, size_t n)
{
    if (memchr(s, 0, n)) return 1;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\') continue;
        if (s[i + 1] == 'u') {
            unsigned v = 0;
            for (size_t k = 0; k < 4; k++) {
                if (i + 2 + k >= n) return 1;
                uint8_t c = s[i + 2 + k];
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0) return 1;
                v = v * 16 + (unsigned)d;
            }
            if (v == 0) return 1;
        }
        i++;
    }
    return 0;
}

/* Nesting depth of a cJSON tree (1 for a scalar). */
static int depth_of(const cJSON *v)
{
    int d = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        int k = depth_of(c);
        if (k > d) d = k;
    }
    return d + 1;
}

/* One input; aborts when the two validators disagree or utf8_json_valid
 * accepts what is too deep or not UTF-8. Always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int got = utf8_valid((const char *)data, size);
    if (got != ref_valid(data, size)) abort();
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
    if (j) {
        int ok = utf8_json_valid(j);
        if (ok && depth_of(j) > UTF8_JSON_DEPTH_MAX) abort();
        /* A whole-text JSON value is its strings plus ASCII syntax, so
         * invalid bytes must be inside a string or key: refused. (Not when
         * a NUL, raw or escaped, cuts a string short: the rest is never
         * seen; the app refuses such bodies first: ingest_json_has_nul.) */
        int whole = end == (const char *)data + size;
        int nul = ingest_json_has_nul((const char *)data, size);
        if (whole && nul != ref_has_nul(data, size)) abort(); /* the app's NUL check is wrong */
        if (ok && !got && whole && !nul) abort();
        cJSON_Delete(j);
    }
    return 0;
}
