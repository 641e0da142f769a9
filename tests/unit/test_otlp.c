/* pb.c and otlp.c without a server: the protobuf reader against bytes
 * written by hand from the wire format, the writer, gunzip's limits, the
 * price table and the cost formula. The mapping itself is tested over HTTP
 * (tests/http/otlp.test.mjs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "otlp.h"
#include "pb.h"

/* A span: traceId (1, 16 bytes AB..), spanId (2, 8 bytes 01..), name (5),
 * kind (6) = 2, start (7, fixed64 = 1,000,000,000), an attribute (9) with an
 * intValue of -5 (10-byte varint), and an unknown field 99 (varint 7). */
static const unsigned char one_span[] = {
    0x0a, 0x10, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB,
    0xAB, 0xAB,
    0x12, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x2a, 0x03, 'r', 'u', 'n',
    0x30, 0x02,
    0x39, 0x00, 0xca, 0x9a, 0x3b, 0x00, 0x00, 0x00, 0x00,
    0x4a, 0x10, 0x0a, 0x01, 'n', 0x12, 0x0b, 0x18, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x01,
    0x98, 0x06, 0x07,
};

/* Wrap body as field `num` of a new message. */
static size_t wrap(unsigned char *out, unsigned num, const unsigned char *body, size_t n)
{
    size_t k = 0;
    out[k++] = (unsigned char)(num << 3 | 2);
    out[k++] = (unsigned char)n; /* the tests keep n < 128 */
    memcpy(out + k, body, n);
    return k + n;
}

static cJSON *decode_traces(const unsigned char *b, size_t n, char *why, size_t whyn)
{
    return otlp_decode(OTLP_TRACES, 1, (const char *)b, n, why, whyn);
}

TEST(test_decode_span)
{
    unsigned char ss[128], rs[160], req[200];
    size_t n = wrap(ss, 2, one_span, sizeof one_span); /* ScopeSpans.spans */
    n = wrap(rs, 2, ss, n);                             /* ResourceSpans.scopeSpans */
    n = wrap(req, 1, rs, n);                            /* request.resourceSpans */
    char why[100];
    cJSON *j = decode_traces(req, n, why, sizeof why);
    CHECK(j != NULL);
    const cJSON *sp = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
            cJSON_GetObjectItem(j, "resourceSpans"), 0), "scopeSpans"), 0), "spans"), 0);
    CHECK(sp != NULL);
    CHECK_STR(cJSON_GetObjectItem(sp, "traceId")->valuestring, "abababababababababababababababab");
    CHECK_STR(cJSON_GetObjectItem(sp, "spanId")->valuestring, "0102030405060708");
    CHECK_STR(cJSON_GetObjectItem(sp, "name")->valuestring, "run");
    CHECK_INT(cJSON_GetObjectItem(sp, "kind")->valueint, 2);
    CHECK_STR(cJSON_GetObjectItem(sp, "startTimeUnixNano")->valuestring, "1000000000");
    const cJSON *kv = cJSON_GetArrayItem(cJSON_GetObjectItem(sp, "attributes"), 0);
    CHECK_STR(cJSON_GetObjectItem(kv, "key")->valuestring, "n");
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(kv, "value"), "intValue")->valuestring, "-5");
    CHECK(cJSON_GetObjectItem(sp, "parentSpanId") == NULL);
    cJSON_Delete(j);

    /* An empty body is an empty request. */
    j = decode_traces((const unsigned char *)"", 0, why, sizeof why);
    CHECK(j != NULL && j->child == NULL);
    cJSON_Delete(j);
}

TEST(test_decode_malformed)
{
    static const struct { const char *b; size_t n; const char *why; } bad[] = {
        { "\x0a\x05\x01", 3, "length past the end" },
        { "\x0a", 1, "truncated varint" },
        { "\x7b", 1, "unsupported wire type" },      /* unknown field 15, a group */
        { "\x08\x01", 2, "wrong wire type" },
        { "\x00\x01", 2, "invalid field number" },
        { "\xf8\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11, "varint longer than 10 bytes" },
        { "\x7d\x01\x02", 3, "truncated fixed-width" }, /* unknown field 15, fixed32 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[100];
        cJSON *j = decode_traces((const unsigned char *)bad[i].b, bad[i].n, why, sizeof why);
        CHECK(j == NULL);
        if (!strstr(why, bad[i].why)) {
            printf("  case %zu: why \"%s\", expected \"%s\"\n", i, why, bad[i].why);
            CHECK(0);
        }
    }
    /* A span name that is not UTF-8, and one holding NUL. */
    static const unsigned char names[][4] = { { 0x2a, 0x02, 0xff, 0xfe }, { 0x2a, 0x02, 'a', 0x00 } };
    for (int k = 0; k < 2; k++) {
        unsigned char ss[32], rs[40], req[48];
        size_t n = wrap(ss, 2, names[k], 4);
        n = wrap(rs, 2, ss, n);
        n = wrap(req, 1, rs, n);
        char why[100];
        cJSON *j = decode_traces(req, n, why, sizeof why);
        CHECK(j == NULL);
        CHECK(strstr(why, "UTF-8") != NULL);
    }
}

TEST(test_json_decode)
{
    char why[100];
    cJSON *j = otlp_decode(OTLP_LOGS, 0, "{\"resourceLogs\":[]} \n", 21, why, sizeof why);
    CHECK(j != NULL);
    cJSON_Delete(j);
    CHECK(otlp_decode(OTLP_LOGS, 0, "[]", 2, why, sizeof why) == NULL);
    CHECK(strstr(why, "object") != NULL);
    CHECK(otlp_decode(OTLP_LOGS, 0, "{} x", 4, why, sizeof why) == NULL);
    CHECK(otlp_decode(OTLP_LOGS, 0, "{\"a\":\"\\u0000\"}", 14, why, sizeof why) == NULL);
    CHECK(strstr(why, "NUL") != NULL);
}

TEST(test_writer_and_answers)
{
    buf b;
    buf_init(&b);
    pb_put_varint_field(&b, 1, 300);
    CHECK_INT(b.len, 3);
    CHECK(memcmp(b.p, "\x08\xac\x02", 3) == 0);
    buf_reset(&b);
    otlp_result r = { 5, 2, "spanId must be 16 hex digits" };
    otlp_response(&b, OTLP_TRACES, 1, &r);
    /* {1: {1: 2, 2: "spanId..."}} */
    CHECK_INT(b.p[0], 0x0a);
    CHECK_INT((unsigned char)b.p[2], 0x08);
    CHECK_INT(b.p[3], 2);
    CHECK_INT(b.p[4], 0x12);
    CHECK_INT(b.p[5], (int)strlen(r.message));
    buf_reset(&b);
    otlp_response(&b, OTLP_LOGS, 0, &r);
    CHECK(strstr(buf_str(&b), "\"rejectedLogRecords\":\"2\"") != NULL);
    buf_reset(&b);
    otlp_result ok = { 3, 0, "" };
    otlp_response(&b, OTLP_TRACES, 1, &ok);
    CHECK_INT(b.len, 0);
    otlp_response(&b, OTLP_TRACES, 0, &ok);
    CHECK_STR(buf_str(&b), "{}\n");
    buf_reset(&b);
    otlp_error_body(&b, 0, 401, "unauthorized", "no token");
    CHECK_STR(buf_str(&b), "{\"code\":16,\"message\":\"no token\",\"error\":{\"code\":\"unauthorized\",\"message\":\"no token\"}}\n");
    buf_reset(&b);
    otlp_error_body(&b, 1, 503, "busy", "x");
    CHECK(b.len == 5 && memcmp(b.p, "\x08\x0e\x12\x01x", 5) == 0);
    buf_fini(&b);
}

TEST(test_gunzip_limits)
{
    size_t n = 100000;
    char *plain = malloc(n);
    for (size_t i = 0; i < n; i++) plain[i] = (char)('a' + i % 7);
    uLong cap = compressBound(n) + 32;
    unsigned char *gz = malloc(cap);
    z_stream zs = { 0 };
    CHECK(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    zs.next_in = (Bytef *)plain;
    zs.avail_in = (uInt)n;
    zs.next_out = gz;
    zs.avail_out = (uInt)cap;
    CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    size_t gzn = zs.total_out;
    deflateEnd(&zs);

    char *out = NULL;
    size_t outn = 0;
    CHECK_INT(otlp_gunzip((const char *)gz, gzn, n, &out, &outn), 0);
    CHECK_INT(outn, n);
    CHECK(out && memcmp(out, plain, n) == 0 && out[n] == '\0');
    free(out);
    out = NULL;
    CHECK_INT(otlp_gunzip((const char *)gz, gzn, n - 1, &out, &outn), -2); /* one byte too many */
    CHECK(out == NULL);
    CHECK_INT(otlp_gunzip((const char *)gz, gzn - 9, n, &out, &outn), -1); /* truncated */
    CHECK_INT(otlp_gunzip("plain text", 10, n, &out, &outn), -1);
    /* Two members are one stream. */
    unsigned char *two = malloc(gzn * 2);
    memcpy(two, gz, gzn);
    memcpy(two + gzn, gz, gzn);
    CHECK_INT(otlp_gunzip((const char *)two, gzn * 2, n * 2, &out, &outn), 0);
    CHECK_INT(outn, n * 2);
    free(out);
    free(two);
    free(gz);
    free(plain);
}

TEST(test_prices)
{
    char path[] = "/tmp/fd-prices-XXXXXX", err[200];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *table = "{\"models\":{\"gpt-4o\":{\"input\":2.5,\"output\":10,\"cache_read\":1.25},"
                        "\"gpt-4o-mini\":{\"input\":0.15,\"output\":0.6},"
                        "\"claude\":{\"input\":3,\"output\":15,\"cache_read\":0.3,\"cache_write\":3.75}}}";
    CHECK(write(fd, table, strlen(table)) == (ssize_t)strlen(table));
    close(fd);
    CHECK_INT(otlp_prices_load(path, err, sizeof err), 0);
    CHECK_INT(otlp_cost_micros("gpt-4o", 1000, 100, 0, 0), 2500 + 1000);
    CHECK_INT(otlp_cost_micros("gpt-4o-2024-08-06", 1000, 100, 400, 0), 1500 + 500 + 1000);
    /* The longest prefix wins: gpt-4o-mini-2024 is a mini. */
    CHECK_INT(otlp_cost_micros("gpt-4o-mini-2024-07-18", 1000, 1000, 0, 0), 150 + 600);
    /* No cache price: cached tokens cost the input price. */
    CHECK_INT(otlp_cost_micros("gpt-4o-mini", 1000, 0, 500, 0), 150);
    CHECK_INT(otlp_cost_micros("claude", 1000, 0, 200, 100), 700 * 3 + 60 + 375);
    CHECK_INT(otlp_cost_micros("unknown-model", 1000, 1000, 0, 0), 0);
    CHECK_INT(otlp_cost_micros(NULL, 1000, 1000, 0, 0), 0);
    CHECK_INT(otlp_cost_micros("gpt-4o", -5, 0, 0, 0), 0);

    /* Malformed tables are refused and keep the table in use. */
    static const char *const bad[] = { "[]", "{\"models\":[]}", "{\"models\":{\"m\":{\"input\":-1}}}",
                                       "{\"models\":{\"m\":{\"output\":\"1\"}}}", "{\"models\":{\"m\":3}}", "not json" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path, "w");
        fputs(bad[i], f);
        fclose(f);
        err[0] = '\0';
        CHECK_INT(otlp_prices_load(path, err, sizeof err), -1);
        CHECK(err[0] != '\0');
    }
    CHECK_INT(otlp_cost_micros("gpt-4o", 1000, 0, 0, 0), 2500);
    unlink(path);
    /* No file: no prices, no error. */
    CHECK_INT(otlp_prices_load(path, err, sizeof err), 0);
    CHECK_INT(otlp_cost_micros("gpt-4o", 1000, 0, 0, 0), 0);
    otlp_prices_clear();
}

int main(void)
{
    RUN(test_decode_span);
    RUN(test_decode_malformed);
    RUN(test_json_decode);
    RUN(test_writer_and_answers);
    RUN(test_gunzip_limits);
    RUN(test_prices);
    return DONE();
}
