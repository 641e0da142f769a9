/* otlp: OpenTelemetry traces and logs into sessions (see otlp.h and
 * docs/opentelemetry.md, which is the mapping table this file implements). */
#include "otlp.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include "db.h"
#include "ingest.h"
#include "lifecycle.h"
#include "pb.h"
#include "utf8.h"

/* ------------------------------------------------------------ wire format */

/* The messages of opentelemetry-proto (collector/trace/v1, collector/logs/v1,
 * trace/v1, logs/v1, common/v1, resource/v1) that a request holds. Field
 * numbers are the .proto files'; names are the OTLP/JSON ones. */
static const pb_msg m_any; /* AnyValue: defined below (it nests itself) */

static const pb_field f_kv[] = {
    { 1, "key", PB_STRING, 0, NULL },
    { 2, "value", PB_MESSAGE, 0, &m_any },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_kv = { "KeyValue", f_kv };
static const pb_field f_array[] = { { 1, "values", PB_MESSAGE, 1, &m_any }, { 0, NULL, 0, 0, NULL } };
static const pb_msg m_array = { "ArrayValue", f_array };
static const pb_field f_kvlist[] = { { 1, "values", PB_MESSAGE, 1, &m_kv }, { 0, NULL, 0, 0, NULL } };
static const pb_msg m_kvlist = { "KeyValueList", f_kvlist };
static const pb_field f_any[] = {
    { 1, "stringValue", PB_STRING, 0, NULL },
    { 2, "boolValue", PB_BOOL, 0, NULL },
    { 3, "intValue", PB_INT64_STR, 0, NULL },
    { 4, "doubleValue", PB_DOUBLE, 0, NULL },
    { 5, "arrayValue", PB_MESSAGE, 0, &m_array },
    { 6, "kvlistValue", PB_MESSAGE, 0, &m_kvlist },
    { 7, "bytesValue", PB_BYTES_B64, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_any = { "AnyValue", f_any };

static const pb_field f_resource[] = {
    { 1, "attributes", PB_MESSAGE, 1, &m_kv },
    { 2, "droppedAttributesCount", PB_UINT32, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_resource = { "Resource", f_resource };
static const pb_field f_scope[] = {
    { 1, "name", PB_STRING, 0, NULL },
    { 2, "version", PB_STRING, 0, NULL },
    { 3, "attributes", PB_MESSAGE, 1, &m_kv },
    { 4, "droppedAttributesCount", PB_UINT32, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_scope = { "InstrumentationScope", f_scope };

static const pb_field f_event[] = {
    { 1, "timeUnixNano", PB_FIXED64_STR, 0, NULL },
    { 2, "name", PB_STRING, 0, NULL },
    { 3, "attributes", PB_MESSAGE, 1, &m_kv },
    { 4, "droppedAttributesCount", PB_UINT32, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_event = { "Span.Event", f_event };
static const pb_field f_link[] = {
    { 1, "traceId", PB_BYTES_HEX, 0, NULL },
    { 2, "spanId", PB_BYTES_HEX, 0, NULL },
    { 3, "traceState", PB_STRING, 0, NULL },
    { 4, "attributes", PB_MESSAGE, 1, &m_kv },
    { 5, "droppedAttributesCount", PB_UINT32, 0, NULL },
    { 6, "flags", PB_FIXED32, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_link = { "Span.Link", f_link };
static const pb_field f_status[] = {
    { 2, "message", PB_STRING, 0, NULL },
    { 3, "code", PB_ENUM, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_status = { "Status", f_status };
static const pb_field f_span[] = {
    { 1, "traceId", PB_BYTES_HEX, 0, NULL },
    { 2, "spanId", PB_BYTES_HEX, 0, NULL },
    { 3, "traceState", PB_STRING, 0, NULL },
    { 4, "parentSpanId", PB_BYTES_HEX, 0, NULL },
    { 5, "name", PB_STRING, 0, NULL },
    { 6, "kind", PB_ENUM, 0, NULL },
    { 7, "startTimeUnixNano", PB_FIXED64_STR, 0, NULL },
    { 8, "endTimeUnixNano", PB_FIXED64_STR, 0, NULL },
    { 9, "attributes", PB_MESSAGE, 1, &m_kv },
    { 10, "droppedAttributesCount", PB_UINT32, 0, NULL },
    { 11, "events", PB_MESSAGE, 1, &m_event },
    { 12, "droppedEventsCount", PB_UINT32, 0, NULL },
    { 13, "links", PB_MESSAGE, 1, &m_link },
    { 14, "droppedLinksCount", PB_UINT32, 0, NULL },
    { 15, "status", PB_MESSAGE, 0, &m_status },
    { 16, "flags", PB_FIXED32, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_span = { "Span", f_span };
static const pb_field f_scope_spans[] = {
    { 1, "scope", PB_MESSAGE, 0, &m_scope },
    { 2, "spans", PB_MESSAGE, 1, &m_span },
    { 3, "schemaUrl", PB_STRING, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_scope_spans = { "ScopeSpans", f_scope_spans };
static const pb_field f_resource_spans[] = {
    { 1, "resource", PB_MESSAGE, 0, &m_resource },
    { 2, "scopeSpans", PB_MESSAGE, 1, &m_scope_spans },
    { 3, "schemaUrl", PB_STRING, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_resource_spans = { "ResourceSpans", f_resource_spans };
static const pb_field f_trace_req[] = {
    { 1, "resourceSpans", PB_MESSAGE, 1, &m_resource_spans },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_trace_req = { "ExportTraceServiceRequest", f_trace_req };

static const pb_field f_log[] = {
    { 1, "timeUnixNano", PB_FIXED64_STR, 0, NULL },
    { 2, "severityNumber", PB_ENUM, 0, NULL },
    { 3, "severityText", PB_STRING, 0, NULL },
    { 5, "body", PB_MESSAGE, 0, &m_any },
    { 6, "attributes", PB_MESSAGE, 1, &m_kv },
    { 7, "droppedAttributesCount", PB_UINT32, 0, NULL },
    { 8, "flags", PB_FIXED32, 0, NULL },
    { 9, "traceId", PB_BYTES_HEX, 0, NULL },
    { 10, "spanId", PB_BYTES_HEX, 0, NULL },
    { 11, "observedTimeUnixNano", PB_FIXED64_STR, 0, NULL },
    { 12, "eventName", PB_STRING, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_log = { "LogRecord", f_log };
static const pb_field f_scope_logs[] = {
    { 1, "scope", PB_MESSAGE, 0, &m_scope },
    { 2, "logRecords", PB_MESSAGE, 1, &m_log },
    { 3, "schemaUrl", PB_STRING, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_scope_logs = { "ScopeLogs", f_scope_logs };
static const pb_field f_resource_logs[] = {
    { 1, "resource", PB_MESSAGE, 0, &m_resource },
    { 2, "scopeLogs", PB_MESSAGE, 1, &m_scope_logs },
    { 3, "schemaUrl", PB_STRING, 0, NULL },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_resource_logs = { "ResourceLogs", f_resource_logs };
static const pb_field f_logs_req[] = {
    { 1, "resourceLogs", PB_MESSAGE, 1, &m_resource_logs },
    { 0, NULL, 0, 0, NULL }
};
static const pb_msg m_logs_req = { "ExportLogsServiceRequest", f_logs_req };

cJSON *otlp_decode(otlp_signal s, int protobuf, const char *body, size_t n, char *why,
                   size_t whyn)
{
    if (protobuf)
        return pb_decode(s == OTLP_TRACES ? &m_trace_req : &m_logs_req, (const uint8_t *)body, n,
                         why, whyn);
    if (ingest_json_has_nul(body, n)) {
        snprintf(why, whyn, "text in the body may not contain U+0000 (NUL)");
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, n, &end, 0);
    if (j && end) {
        const char *stop = body + n;
        while (end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
        if (end != stop) { cJSON_Delete(j); j = NULL; }
    }
    if (!j) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        snprintf(why, whyn, "the body is not valid JSON (near byte %zu)", at);
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(why, whyn, "the body must be a JSON object");
        return NULL;
    }
    /* As the protobuf decoder requires of its strings. */
    if (!utf8_json_valid(j)) {
        cJSON_Delete(j);
        snprintf(why, whyn, "the body holds text that is not UTF-8");
        return NULL;
    }
    return j;
}

int otlp_gunzip(const char *in, size_t n, size_t max, char **out, size_t *outn)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return -1;
    size_t cap = n * 4 < 65536 ? 65536 : n * 4, len = 0;
    if (cap > max + 1) cap = max + 1;
    char *o = malloc(cap + 1);
    int rc = -1;
    if (!o) goto done;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    for (;;) {
        if (len == cap) {
            if (cap > max) { rc = -2; goto done; }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *g = realloc(o, ncap + 1);
            if (!g) goto done;
            o = g;
            cap = ncap;
        }
        zs.next_out = (Bytef *)o + len;
        zs.avail_out = (uInt)(cap - len);
        int z = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (len > max) { rc = -2; goto done; }
        if (z == Z_STREAM_END) {
            /* Concatenated gzip members are one stream (RFC 1952). */
            if (zs.avail_in == 0) break;
            if (inflateReset(&zs) != Z_OK) goto done;
            continue;
        }
        if (z == Z_BUF_ERROR && zs.avail_out != 0) goto done; /* input ended early */
        if (z != Z_OK && z != Z_BUF_ERROR) goto done;
    }
    o[len] = '\0';
    *out = o;
    *outn = len;
    o = NULL;
    rc = 0;
done:
    free(o);
    inflateEnd(&zs);
    return rc;
}

/* ---------------------------------------------------------------- prices */

typedef struct price {
    char  *model;
    double input, output, cache_read, cache_write; /* USD per million tokens; < 0: none */
} price;

static price *prices;
static size_t nprices;

void otlp_prices_clear(void)
{
    for (size_t i = 0; i < nprices; i++) free(prices[i].model);
    free(prices);
    prices = NULL;
    nprices = 0;
}

static int price_field(const cJSON *o, const char *k, double *out, char *err, size_t n,
                       const char *model)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0) {
        snprintf(err, n, "models.%s.%s must be a number of USD per million tokens, 0 or more",
                 model, k);
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

int otlp_prices_load(const char *path, char *err, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        otlp_prices_clear();
        return 0;
    }
    buf b;
    buf_init(&b);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&b, chunk, got);
    fclose(f);
    cJSON *j = b.err ? NULL : cJSON_ParseWithLength(b.p ? b.p : "", b.len);
    buf_fini(&b);
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(j, "models");
    if (!cJSON_IsObject(models)) {
        snprintf(err, n, "%s: expected a JSON object with \"models\"", path);
        cJSON_Delete(j);
        return -1;
    }
    size_t count = (size_t)cJSON_GetArraySize(models);
    price *t = calloc(count + 1, sizeof *t);
    size_t k = 0;
    int rc = -1;
    if (!t) { snprintf(err, n, "out of memory"); goto out; }
    for (const cJSON *m = models->child; m; m = m->next, k++) {
        t[k].model = strdup(m->string);
        t[k].input = t[k].output = 0;
        t[k].cache_read = t[k].cache_write = -1;
        if (!t[k].model) { snprintf(err, n, "out of memory"); k++; goto out; }
        if (!cJSON_IsObject(m)) {
            snprintf(err, n, "models.%s must be an object", m->string);
            k++;
            goto out;
        }
        if (price_field(m, "input", &t[k].input, err, n, m->string) ||
            price_field(m, "output", &t[k].output, err, n, m->string) ||
            price_field(m, "cache_read", &t[k].cache_read, err, n, m->string) ||
            price_field(m, "cache_write", &t[k].cache_write, err, n, m->string)) {
            k++;
            goto out;
        }
    }
    otlp_prices_clear();
    prices = t;
    nprices = k;
    t = NULL;
    rc = 0;
out:
    if (t) {
        for (size_t i = 0; i < k; i++) free(t[i].model);
        free(t);
    }
    cJSON_Delete(j);
    return rc;
}

static const price *price_of(const char *model)
{
    const price *best = NULL;
    size_t best_len = 0;
    if (!model) return NULL;
    for (size_t i = 0; i < nprices; i++) {
        size_t l = strlen(prices[i].model);
        if (strcmp(prices[i].model, model) == 0) return &prices[i];
        if (l > best_len && strncmp(prices[i].model, model, l) == 0) {
            best = &prices[i];
            best_len = l;
        }
    }
    return best;
}

int64_t otlp_cost_micros(const char *model, int64_t input, int64_t output, int64_t cache_read,
                         int64_t cache_write)
{
    const price *p = price_of(model);
    if (!p) return 0;
    if (input < 0) input = 0;
    if (output < 0) output = 0;
    if (cache_read < 0) cache_read = 0;
    if (cache_write < 0) cache_write = 0;
    /* Cached tokens are part of the input; priced apart only when the
     * model has a price for them. */
    double cr = p->cache_read >= 0 ? (double)cache_read : 0;
    double cw = p->cache_write >= 0 ? (double)cache_write : 0;
    double plain = (double)input - cr - cw;
    if (plain < 0) plain = 0;
    /* USD per million tokens is micro-dollars per token. */
    double micros = plain * p->input + (double)output * p->output +
                    cr * (p->cache_read > 0 ? p->cache_read : 0) +
                    cw * (p->cache_write > 0 ? p->cache_write : 0);
    return (int64_t)llround(micros);
}

/* ------------------------------------------------------------- answers */

static int grpc_code(int http_status)
{
    switch (http_status) {
    case 400: case 413: case 415: case 422: return 3; /* INVALID_ARGUMENT */
    case 401: return 16;                               /* UNAUTHENTICATED */
    case 403: return 7;                                /* PERMISSION_DENIED */
    case 404: return 5;                                /* NOT_FOUND */
    case 405: return 12;                               /* UNIMPLEMENTED */
    case 409: return 10;                               /* ABORTED */
    case 429: return 8;                                /* RESOURCE_EXHAUSTED */
    case 503: return 14;                               /* UNAVAILABLE */
    default: return 13;                                /* INTERNAL */
    }
}

void otlp_response(buf *out, otlp_signal s, int protobuf, const otlp_result *r)
{
    int partial = r->rejected > 0 || r->message[0];
    if (protobuf) {
        if (!partial) return; /* an empty message */
        buf sub;
        buf_init(&sub);
        if (r->rejected > 0) pb_put_varint_field(&sub, 1, (uint64_t)r->rejected);
        if (r->message[0]) pb_put_bytes_field(&sub, 2, r->message, strlen(r->message));
        if (sub.err) out->err = 1;
        pb_put_message_field(out, 1, &sub);
        buf_fini(&sub);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (partial) {
        char n[32];
        snprintf(n, sizeof n, "%lld", r->rejected);
        cJSON *p = cJSON_AddObjectToObject(o, "partialSuccess");
        /* int64 in OTLP/JSON is a decimal string. */
        cJSON_AddStringToObject(p, s == OTLP_TRACES ? "rejectedSpans" : "rejectedLogRecords", n);
        cJSON_AddStringToObject(p, "errorMessage", r->message);
    }
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!txt) { out->err = 1; return; }
    buf_puts(out, txt);
    buf_putc(out, '\n');
    cJSON_free(txt);
}

void otlp_error_body(buf *out, int protobuf, int http_status, const char *code,
                     const char *message)
{
    int g = grpc_code(http_status);
    if (protobuf) {
        pb_put_varint_field(out, 1, (uint64_t)g);
        pb_put_bytes_field(out, 2, message, strlen(message));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "code", g);
    cJSON_AddStringToObject(o, "message", message);
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!txt) { out->err = 1; return; }
    buf_puts(out, txt);
    buf_putc(out, '\n');
    cJSON_free(txt);
}

/* ------------------------------------------------------- reading values */

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *gets(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A uint64 sent as a decimal string or a JSON number (OTLP/JSON allows
 * both). 0, or -1 when absent or not one. */
static int u64_of(const cJSON *v, uint64_t *out)
{
    if (cJSON_IsNumber(v)) {
        if (!(v->valuedouble >= 0) || v->valuedouble > 1.8e19) return -1;
        *out = (uint64_t)v->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(v) || !isdigit((unsigned char)v->valuestring[0])) return -1;
    char *end;
    unsigned long long x = strtoull(v->valuestring, &end, 10);
    if (*end) return -1;
    *out = x;
    return 0;
}

/* An AnyValue as plain JSON: strings, numbers, booleans, arrays, objects.
 * 64-bit integers beyond 2^53 stay strings. Caller owns the result. */
static cJSON *any_plain(const cJSON *a, int depth)
{
    const cJSON *v;
    if (depth > PB_MAX_DEPTH || !cJSON_IsObject(a)) return cJSON_CreateNull();
    if ((v = get(a, "stringValue")) && cJSON_IsString(v)) return cJSON_CreateString(v->valuestring);
    if ((v = get(a, "boolValue")) && cJSON_IsBool(v)) return cJSON_CreateBool(cJSON_IsTrue(v));
    if ((v = get(a, "intValue"))) {
        if (cJSON_IsNumber(v)) return cJSON_CreateNumber(v->valuedouble);
        if (cJSON_IsString(v)) {
            char *end;
            long long x = strtoll(v->valuestring, &end, 10);
            if (!*end && *v->valuestring && x > -(1LL << 53) && x < (1LL << 53))
                return cJSON_CreateNumber((double)x);
            return cJSON_CreateString(v->valuestring);
        }
    }
    if ((v = get(a, "doubleValue"))) {
        if (cJSON_IsNumber(v)) return cJSON_CreateNumber(v->valuedouble);
        if (cJSON_IsString(v)) return cJSON_CreateString(v->valuestring); /* "NaN", "Infinity" */
    }
    if ((v = get(a, "bytesValue")) && cJSON_IsString(v)) return cJSON_CreateString(v->valuestring);
    if ((v = get(a, "arrayValue"))) {
        cJSON *arr = cJSON_CreateArray();
        const cJSON *vals = get(v, "values");
        for (const cJSON *x = cJSON_IsArray(vals) ? vals->child : NULL; x && arr; x = x->next)
            cJSON_AddItemToArray(arr, any_plain(x, depth + 1));
        return arr;
    }
    if ((v = get(a, "kvlistValue"))) {
        cJSON *o = cJSON_CreateObject();
        const cJSON *vals = get(v, "values");
        for (const cJSON *x = cJSON_IsArray(vals) ? vals->child : NULL; x && o; x = x->next) {
            const char *k = gets(x, "key");
            if (k && !get(o, k)) cJSON_AddItemToObject(o, k, any_plain(get(x, "value"), depth + 1));
        }
        return o;
    }
    return cJSON_CreateNull();
}

/* A KeyValue list as one object {key: plain value}; the first of a
 * repeated key wins. Never NULL unless out of memory. */
static cJSON *attrs_plain(const cJSON *list)
{
    cJSON *o = cJSON_CreateObject();
    for (const cJSON *x = cJSON_IsArray(list) ? list->child : NULL; x && o; x = x->next) {
        const char *k = gets(x, "key");
        if (k && !get(o, k)) cJSON_AddItemToObject(o, k, any_plain(get(x, "value"), 0));
    }
    return o;
}

/* Copy src into dst (n bytes), cut at a character boundary when it does
 * not fit: a name cut inside a UTF-8 sequence would be refused, or stored
 * broken. NULL copies as "". */
static void copy_cut(char *dst, size_t n, const char *src)
{
    size_t k = 0, boundary = 0; /* boundary: where the last character begun starts */
    while (src && src[k] && k + 1 < n) {
        k++;
        if (((unsigned char)src[k] & 0xC0) != 0x80) boundary = k;
    }
    if (src && src[k]) k = boundary; /* did not fit: end before the character cut */
    if (k) memcpy(dst, src, k);
    dst[k] = '\0';
}

/* A string attribute, or NULL. */
static const char *astr(const cJSON *attrs, const char *k)
{
    const char *s = gets(attrs, k);
    return s && *s ? s : NULL;
}

/* An integer attribute (tokens), or -1. */
static int64_t aint(const cJSON *attrs, const char *k)
{
    const cJSON *v = get(attrs, k);
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15) return (int64_t)v->valuedouble;
    if (cJSON_IsString(v)) {
        char *end;
        long long x = strtoll(v->valuestring, &end, 10);
        if (!*end && x >= 0) return x;
    }
    return -1;
}

/* A trace or span id: exactly 2*bytes hex digits of either case, not all
 * zero, into out lowercased. 0, 1 when absent or empty, -1 when invalid. */
static int hex_id(const cJSON *v, size_t bytes, char *out)
{
    out[0] = '\0';
    if (!v || (cJSON_IsString(v) && !*v->valuestring)) return 1;
    if (!cJSON_IsString(v) || strlen(v->valuestring) != bytes * 2) return -1;
    int nonzero = 0;
    for (size_t i = 0; i < bytes * 2; i++) {
        char c = v->valuestring[i];
        if (!isxdigit((unsigned char)c)) return -1;
        out[i] = (char)tolower((unsigned char)c);
        nonzero |= c != '0';
    }
    out[bytes * 2] = '\0';
    return nonzero ? 0 : -1;
}

/* --------------------------------------------------------- the request */

/* Operation names of the GenAI conventions that stand for a model call. */
static int op_is_inference(const char *op)
{
    return strcmp(op, "chat") == 0 || strcmp(op, "text_completion") == 0 ||
           strcmp(op, "generate_content") == 0 || strcmp(op, "embeddings") == 0;
}

typedef struct span_rec {
    const cJSON *raw;        /* the span in the request */
    const cJSON *resource;   /* its resource's attributes (plain) */
    const char  *res_txt;    /* its resource and scope as JSON text (req->owned), for the */
    const char  *scope_txt;  /* stored copy; NULL when the request has none */
    cJSON       *attrs;      /* plain attributes, owned */
    char         trace[33], id[17], parent[17];
    const char  *name;
    int64_t      start_ns, end_ns; /* end 0: not ended */
    int          code;       /* status: 0 unset, 1 ok, 2 error */
    const char  *status_msg;
    const char  *op;         /* gen_ai.operation.name (or from the name); "" */
    const char  *conv;       /* gen_ai.conversation.id or NULL */
    int          parent_idx; /* the parent's index in this request, or -1 */
    int          sess;       /* index in the session list; -1 unresolved */
    int          caller;     /* a called agent's span: the caller's session index, or -1 */
    int          dup;        /* stored before: acknowledged, nothing else */
    int          ends;       /* this span's end ends its session */
    int          rejected;
    char         tcid[132];  /* the tool call an execute_tool span made */
} span_rec;

typedef struct sess_rec {
    char  id[INGEST_ID_MAX + 1];
    char  conv[256];         /* its conversation ("" for one keyed by trace) */
    int   caller;            /* calling session's index (sub-agent), or -1 */
    char  caller_call[24];   /* the tool call id in the caller */
    int   first;             /* index of the first span (or log) that named it */
    int   rejected;          /* refused as a whole */
} sess_rec;

typedef struct req {
    struct db  *d;
    span_rec   *spans;
    size_t      nspans;
    int        *by_id;       /* span indices sorted by (trace, id) */
    sess_rec   *sess;
    size_t      nsess, capsess;
    cJSON      *owned;       /* plain resource attributes and printed resources and
                              * scopes, freed at the end */
    const char *actor;
    otlp_allow_fn allow;
    void       *allow_arg;
    otlp_result *res;
    int64_t     now;
} req;

/* Count n refused items; the first reason is the message. */
static void reject(req *r, long long n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reject(req *r, long long n, const char *fmt, ...)
{
    r->res->rejected += n;
    if (r->res->message[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->res->message, sizeof r->res->message, fmt, ap);
    va_end(ap);
}

/* The session list: find or add by id. Index, or -1 out of memory. */
static int sess_add(req *r, const char *id, const char *conv, int caller, int first)
{
    for (size_t i = 0; i < r->nsess; i++)
        if (strcmp(r->sess[i].id, id) == 0) return (int)i;
    if (r->nsess == r->capsess) {
        size_t cap = r->capsess ? r->capsess * 2 : 16;
        sess_rec *g = realloc(r->sess, cap * sizeof *g);
        if (!g) return -1;
        r->sess = g;
        r->capsess = cap;
    }
    sess_rec *s = &r->sess[r->nsess];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->conv, sizeof s->conv, "%s", conv ? conv : "");
    s->caller = caller;
    s->first = first;
    return (int)r->nsess++;
}

/* The session id for a conversation: "conv_" + the id when it is short and
 * URL-safe, else "conv_" + 24 hex digits of its BLAKE2b hash. */
static void conv_session_id(const char *conv, char *out, size_t n)
{
    size_t l = strlen(conv);
    if (l <= INGEST_ID_MAX - 5 && ingest_id_valid(conv)) {
        snprintf(out, n, "conv_%s", conv);
        return;
    }
    unsigned char h[12];
    crypto_generichash(h, sizeof h, (const unsigned char *)conv, l, NULL, 0);
    char hex[25];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(out, n, "conv_%s", hex);
}

/* Column `col` (text) of the first row of statement q bound to a (and b
 * when not NULL), into out (n bytes): 0 found, 1 no row, -1 on error. */
static int lookup_text(req *r, db_sql_id q, const char *a, const char *b, int col, char *out,
                       size_t n)
{
    sqlite3_stmt *st = db_stmt(r->d, q);
    if (!st) return -1;
    db_bind_text(st, 1, a);
    if (b) db_bind_text(st, 2, b);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, col);
        snprintf(out, n, "%s", v ? v : "");
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* A one-column lookup (span's or trace's session): as lookup_text. */
static int lookup1(req *r, db_sql_id q, const char *a, const char *b, char *out, size_t n)
{
    return lookup_text(r, q, a, b, 0, out, n);
}

/* A stored session's conversation (thread_id): 0, 1 when absent, -1. */
static int stored_conv(req *r, const char *id, char *conv, size_t n)
{
    return lookup_text(r, SQL_OTLP_SESSION_INFO, id, NULL, 2, conv, n);
}

/* The session of a stored span (trace, span id), added to the list. Index,
 * -2 when there is no such span, -1 on error. */
static int stored_span_session(req *r, const char *trace, const char *span, int first)
{
    char id[INGEST_ID_MAX + 1], conv[256] = "";
    int f = lookup1(r, SQL_OTLP_SPAN_SESSION, trace, span, id, sizeof id);
    if (f) return f > 0 ? -2 : -1;
    if (stored_conv(r, id, conv, sizeof conv) < 0) return -1;
    return sess_add(r, id, conv, -1, first);
}

static int cmp_trace_id(const span_rec *a, const char *trace, const char *id)
{
    int c = strcmp(a->trace, trace);
    return c ? c : strcmp(a->id, id);
}

/* qsort has no context argument: the spans being sorted, per thread. */
static _Thread_local span_rec *tl_base;

static int by_id_cmp(const void *x, const void *y)
{
    const span_rec *a = &tl_base[*(const int *)x], *b = &tl_base[*(const int *)y];
    int c = cmp_trace_id(a, b->trace, b->id);
    return c ? c : *(const int *)x - *(const int *)y;
}

/* The index of span (trace, id) in this request, or -1. */
static int find_span(req *r, const char *trace, const char *id)
{
    size_t lo = 0, hi = r->nspans;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_trace_id(&r->spans[r->by_id[mid]], trace, id);
        if (c == 0) return r->by_id[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* The conversation of a trace: the first span in this request that names
 * one. NULL when none does. */
static const char *trace_conv(req *r, const char *trace)
{
    for (size_t i = 0; i < r->nspans; i++)
        if (!r->spans[i].rejected && r->spans[i].conv && strcmp(r->spans[i].trace, trace) == 0)
            return r->spans[i].conv;
    return NULL;
}

/* The session for a span with no known parent and no conversation of its
 * own: its trace's conversation (this request, then the stored trace
 * map), else a session keyed by the trace. Index or -1. */
static int key_session(req *r, int i)
{
    span_rec *s = &r->spans[i];
    char id[INGEST_ID_MAX + 1], conv[256] = "";
    const char *c = s->conv ? s->conv : trace_conv(r, s->trace);
    if (c) {
        conv_session_id(c, id, sizeof id);
        return sess_add(r, id, c, -1, i);
    }
    int f = lookup1(r, SQL_OTLP_TRACE_SESSION, s->trace, NULL, id, sizeof id);
    if (f < 0) return -1;
    if (f == 0) {
        if (stored_conv(r, id, conv, sizeof conv) < 0) return -1;
        return sess_add(r, id, conv, -1, i);
    }
    snprintf(id, sizeof id, "trace_%s", s->trace);
    return sess_add(r, id, "", -1, i);
}

/* Is there an invoke_agent span above span i (its parent, the parent's
 * parent, ...), in this request or stored? 1, 0 (none as far as the
 * chain is known), -1 on error. */
static int agent_above(req *r, int i)
{
    const span_rec *s = &r->spans[i];
    char parent[17];
    snprintf(parent, sizeof parent, "%s", s->parent);
    for (int hops = 0; parent[0] && hops < 256; hops++) {
        int k = find_span(r, s->trace, parent);
        if (k >= 0 && !r->spans[k].rejected) {
            if (strcmp(r->spans[k].op, "invoke_agent") == 0) return 1;
            snprintf(parent, sizeof parent, "%s", r->spans[k].parent);
            continue;
        }
        sqlite3_stmt *st = db_stmt(r->d, SQL_OTLP_SPAN_PARENT);
        if (!st) return -1;
        db_bind_text(st, 1, s->trace);
        db_bind_text(st, 2, parent);
        int rc = db_step(st);
        int agent = rc == SQLITE_ROW && sqlite3_column_int(st, 1);
        if (rc == SQLITE_ROW)
            snprintf(parent, sizeof parent, "%s", sqlite3_column_type(st, 0) == SQLITE_NULL ? ""
                                                  : (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) return 0;
        if (rc != SQLITE_ROW) return -1;
        if (agent) return 1;
    }
    return 0;
}

/* Decide span i's session (and whether it is a called agent). 0 or -1. */
static int resolve(req *r, int i, int depth)
{
    span_rec *s = &r->spans[i];
    if (s->sess >= 0) return 0;
    int parent = -2; /* the parent's session: -2 unknown */
    if (s->parent[0] && depth < 256) {
        if (s->parent_idx >= 0 && !r->spans[s->parent_idx].rejected) {
            if (resolve(r, s->parent_idx, depth + 1)) return -1;
            parent = r->spans[s->parent_idx].sess;
        } else {
            parent = stored_span_session(r, s->trace, s->parent, i);
            if (parent == -1) return -1;
        }
    }
    if (parent >= 0) {
        const char *pconv = r->sess[parent].conv;
        int own = s->conv && strcmp(s->conv, pconv) != 0;
        if (strcmp(s->op, "invoke_agent") == 0) {
            int above = agent_above(r, i);
            if (above < 0) return -1;
            if (!above && !own) {
                /* Under spans that are not an agent's (an HTTP server span):
                 * the root agent of its parent's session. */
                s->sess = parent;
                s->ends = 1;
                return 0;
            }
            /* An agent called from another agent: its own session (by its
             * own conversation when it has a different one). */
            char id[INGEST_ID_MAX + 1];
            if (own) conv_session_id(s->conv, id, sizeof id);
            else snprintf(id, sizeof id, "agent_%s_%s", s->trace, s->id);
            int k = sess_add(r, id, own ? s->conv : pconv, parent, i);
            if (k < 0) return -1;
            if (k == parent) { s->sess = k; return 0; } /* the same conversation's own root */
            snprintf(r->sess[k].caller_call, sizeof r->sess[k].caller_call, "%s", s->id);
            s->sess = k;
            s->caller = parent;
            s->ends = 1;
            return 0;
        }
        if (own) {
            char id[INGEST_ID_MAX + 1];
            conv_session_id(s->conv, id, sizeof id);
            s->sess = sess_add(r, id, s->conv, -1, i);
            return s->sess < 0 ? -1 : 0;
        }
        s->sess = parent;
        return 0;
    }
    s->sess = key_session(r, i);
    if (s->sess < 0) return -1;
    /* No parent here or stored: the root of the trace, or of what this
     * session sees of it (an agent invoked inside another service's span). */
    s->ends = !s->parent[0] || strcmp(s->op, "invoke_agent") == 0;
    return 0;
}

/* Read one span into rec; 0, or -1 with *why when it must be rejected. */
static int span_read(cJSON *sp, span_rec *rec, const char **why)
{
    if (!cJSON_IsObject(sp)) { *why = "a span is not an object"; return -1; }
    if (hex_id(get(sp, "traceId"), 16, rec->trace) != 0) {
        *why = "traceId must be 32 hex digits, not all zero";
        return -1;
    }
    if (hex_id(get(sp, "spanId"), 8, rec->id) != 0) {
        *why = "spanId must be 16 hex digits, not all zero";
        return -1;
    }
    cJSON *pv = cJSON_GetObjectItemCaseSensitive(sp, "parentSpanId");
    if (hex_id(pv, 8, rec->parent) < 0) {
        /* All zeros is how some exporters say "no parent". */
        if (!cJSON_IsString(pv) || strspn(pv->valuestring, "0") != 16 || pv->valuestring[16]) {
            *why = "parentSpanId must be empty or 16 hex digits";
            return -1;
        }
        rec->parent[0] = '\0';
    }
    /* The stored copy says what is stored: ids lowercase, no all-zero
     * parent (same length or shorter: rewritten in place). */
    memcpy(get(sp, "traceId")->valuestring, rec->trace, 32);
    memcpy(get(sp, "spanId")->valuestring, rec->id, 16);
    if (cJSON_IsString(pv)) memcpy(pv->valuestring, rec->parent, strlen(rec->parent) + 1);
    uint64_t t0 = 0, t1 = 0;
    if (u64_of(get(sp, "startTimeUnixNano"), &t0) || t0 == 0 || t0 > (uint64_t)INT64_MAX) {
        *why = "startTimeUnixNano is missing or not a time";
        return -1;
    }
    if (get(sp, "endTimeUnixNano") &&
        (u64_of(get(sp, "endTimeUnixNano"), &t1) || t1 > (uint64_t)INT64_MAX)) {
        *why = "endTimeUnixNano is not a time";
        return -1;
    }
    if (t1 && t1 < t0) t1 = t0;
    rec->start_ns = (int64_t)t0;
    rec->end_ns = (int64_t)t1;
    rec->name = gets(sp, "name");
    if (!rec->name || !*rec->name) rec->name = "(unnamed span)";
    if (strlen(rec->name) > 200) { *why = "a span name is longer than 200 bytes"; return -1; }
    const cJSON *st = get(sp, "status");
    const cJSON *code = get(st, "code");
    rec->code = cJSON_IsNumber(code) && (code->valueint == 1 || code->valueint == 2) ? code->valueint : 0;
    rec->status_msg = gets(st, "message");
    rec->attrs = attrs_plain(get(sp, "attributes"));
    if (!rec->attrs) { *why = "out of memory"; return -1; }
    rec->op = astr(rec->attrs, "gen_ai.operation.name");
    if (!rec->op) {
        /* Older instrumentations name the span "OPERATION target" only. */
        static const char *const ops[] = { "invoke_agent", "execute_tool", "chat", "text_completion",
                                           "generate_content", "embeddings", "create_agent", NULL };
        rec->op = "";
        for (int k = 0; ops[k]; k++) {
            size_t l = strlen(ops[k]);
            if (strncmp(rec->name, ops[k], l) == 0 && (rec->name[l] == ' ' || !rec->name[l])) {
                rec->op = ops[k];
                break;
            }
        }
    }
    rec->conv = astr(rec->attrs, "gen_ai.conversation.id");
    if (rec->conv && strlen(rec->conv) > 200) rec->conv = NULL;
    return 0;
}

/* ------------------------------------------------------------ writing */

typedef enum act_kind {
    /* The order settles actions at the same instant. */
    A_USER, A_AGENT_CALL, A_CALL, A_EVENT, A_RESULT, A_OUTPUT, A_USAGE, A_ERROR, A_AGENT_RESULT,
    A_END
} act_kind;

typedef struct action {
    int64_t      t;   /* ns */
    act_kind     k;
    int          span;
    const cJSON *ev;  /* A_EVENT: the span event */
    size_t       order;
} action;

static int action_cmp(const void *x, const void *y)
{
    const action *a = x, *b = y;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    if (a->k != b->k) return a->k < b->k ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* The text of a message's parts (GenAI message JSON: {role, parts:[{type,
 * content}]}, or an older {role, content}) of the given part type. Caller
 * frees; NULL when it has none. */
static char *message_text(const cJSON *m, const char *type)
{
    buf b;
    buf_init(&b);
    const cJSON *parts = get(m, "parts");
    if (cJSON_IsArray(parts)) {
        for (const cJSON *p = parts->child; p; p = p->next) {
            const char *t = gets(p, "type");
            const char *c = gets(p, "content");
            if (t && c && strcmp(t, type) == 0 && *c) {
                if (b.len) buf_putc(&b, '\n');
                buf_puts(&b, c);
            }
        }
    } else if (strcmp(type, "text") == 0 && gets(m, "content")) {
        buf_puts(&b, gets(m, "content"));
    }
    if (b.err || !b.len) {
        buf_fini(&b);
        return NULL;
    }
    return buf_detach(&b);
}

/* A messages attribute as an array: sent as a JSON string (the usual way)
 * or as an array value. Caller frees; NULL when absent or unusable. */
static cJSON *messages_attr(const cJSON *attrs, const char *k)
{
    const cJSON *v = get(attrs, k);
    cJSON *m = NULL;
    if (cJSON_IsString(v)) m = cJSON_Parse(v->valuestring);
    else if (cJSON_IsArray(v) || cJSON_IsObject(v)) m = cJSON_Duplicate(v, 1);
    if (m && cJSON_IsObject(m)) { /* a single message */
        cJSON *arr = cJSON_CreateArray();
        if (arr) cJSON_AddItemToArray(arr, m);
        else cJSON_Delete(m);
        m = arr;
    }
    if (m && !cJSON_IsArray(m)) { cJSON_Delete(m); m = NULL; }
    return m;
}

/* Record an event of `type` with body `o` (taken) at ms, unless `dedup` and
 * the session's latest event of that type has the same content. 0 or -1. */
static int put_event(req *r, const char *sid, const char *type, cJSON *o, int64_t ms,
                     const char *tcid, int dedup, int64_t *event_id)
{
    int64_t eid = 0, seq = 0;
    int rc = -1;
    char *body = o ? cJSON_PrintUnformatted(o) : NULL;
    if (!body) goto out;
    if (dedup) {
        sqlite3_stmt *st = db_stmt(r->d, SQL_OTLP_LAST_BODY);
        if (!st) goto out;
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, type);
        int same = 0;
        if (db_step(st) == SQLITE_ROW) {
            cJSON *last = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
            const char *a = gets(last, "content"), *b = gets(o, "content");
            same = a && b && strcmp(a, b) == 0;
            cJSON_Delete(last);
        }
        sqlite3_reset(st);
        if (same) { rc = 0; goto out; }
    }
    rc = ingest_event_insert(r->d, sid, type, NULL, ms, r->actor, tcid, body, r->now, &eid, &seq);
    if (event_id) *event_id = eid;
out:
    cJSON_free(body);
    cJSON_Delete(o);
    return rc;
}

/* A content event {content} of `type`, deduplicated. */
static int put_text(req *r, const char *sid, const char *type, char *text, int64_t ms)
{
    if (!text) return 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "content", text);
    free(text);
    return put_event(r, sid, type, o, ms, NULL, 1, NULL);
}

/* New user input of a model or agent call: the user messages after the last
 * assistant message (earlier ones were recorded by an earlier call). */
static int act_user(req *r, const char *sid, const span_rec *s)
{
    int64_t ms = s->start_ns / 1000000;
    cJSON *sys = messages_attr(s->attrs, "gen_ai.system_instructions");
    const char *sys_s = gets(s->attrs, "gen_ai.system_instructions");
    if (sys || (sys_s && *sys_s)) {
        buf b;
        buf_init(&b);
        for (const cJSON *p = sys ? sys->child : NULL; p; p = p->next) {
            const char *c = gets(p, "content");
            if (c) {
                if (b.len) buf_putc(&b, '\n');
                buf_puts(&b, c);
            }
        }
        if (!sys && sys_s) buf_puts(&b, sys_s);
        cJSON_Delete(sys);
        sqlite3_stmt *st = b.len && !b.err ? db_stmt(r->d, SQL_OTLP_SESSION_PROMPT) : NULL;
        int e = 0;
        if (st) {
            db_bind_text(st, 1, sid);
            db_bind_textn(st, 2, b.p, b.len);
            e = db_exec(st);
        }
        buf_fini(&b);
        if (e) return -1;
    }
    cJSON *in = messages_attr(s->attrs, "gen_ai.input.messages");
    if (!in) return 0;
    const cJSON *from = in->child;
    for (const cJSON *m = in->child; m; m = m->next)
        if (gets(m, "role") && strcmp(gets(m, "role"), "assistant") == 0) from = m->next;
    int rc = 0;
    for (const cJSON *m = from; m && rc == 0; m = m->next)
        if (gets(m, "role") && strcmp(gets(m, "role"), "user") == 0)
            rc = put_text(r, sid, "user_message", message_text(m, "text"), ms);
    cJSON_Delete(in);
    return rc;
}

/* What the model or agent answered: assistant messages and reasoning. An
 * agent's last answer is also its session's final response. */
static int act_output(req *r, const char *sid, const span_rec *s, int is_agent)
{
    int64_t ms = s->end_ns / 1000000;
    cJSON *out = messages_attr(s->attrs, "gen_ai.output.messages");
    if (!out) return 0;
    int rc = 0;
    for (const cJSON *m = out->child; m && rc == 0; m = m->next) {
        rc = put_text(r, sid, "thought", message_text(m, "reasoning"), ms);
        char *t = message_text(m, "text");
        if (t && rc == 0 && is_agent) {
            sqlite3_stmt *st = db_stmt(r->d, SQL_SESSION_SET_FINAL);
            if (!st) rc = -1;
            else {
                db_bind_text(st, 1, sid);
                db_bind_text(st, 2, t);
                rc = db_exec(st);
            }
        }
        if (rc == 0) rc = put_text(r, sid, "assistant_message", t, ms);
        else free(t);
    }
    cJSON_Delete(out);
    return rc;
}

static int act_usage(req *r, const char *sid, const span_rec *s)
{
    int64_t in = aint(s->attrs, "gen_ai.usage.input_tokens");
    int64_t out = aint(s->attrs, "gen_ai.usage.output_tokens");
    int64_t reasoning = aint(s->attrs, "gen_ai.usage.reasoning.output_tokens");
    if (reasoning < 0) reasoning = aint(s->attrs, "gen_ai.usage.reasoning_tokens");
    int64_t cr = aint(s->attrs, "gen_ai.usage.cache_read.input_tokens");
    int64_t cw = aint(s->attrs, "gen_ai.usage.cache_creation.input_tokens");
    if (in < 0 && out < 0) return 0;
    const char *model = astr(s->attrs, "gen_ai.response.model");
    if (!model) model = astr(s->attrs, "gen_ai.request.model");
    if (model && strlen(model) > 200) model = NULL;
    int64_t cost = otlp_cost_micros(model, in, out, cr, cw);
    cJSON *o = cJSON_CreateObject();
    if (model) cJSON_AddStringToObject(o, "model", model);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)(in > 0 ? in : 0));
    cJSON_AddNumberToObject(o, "completion_tokens", (double)(out > 0 ? out : 0));
    if (reasoning >= 0) cJSON_AddNumberToObject(o, "reasoning_tokens", (double)reasoning);
    if (cr >= 0) cJSON_AddNumberToObject(o, "cache_read_tokens", (double)cr);
    if (cw >= 0) cJSON_AddNumberToObject(o, "cache_creation_tokens", (double)cw);
    cJSON_AddNumberToObject(o, "cost", (double)cost / 1e6);
    const char *provider = astr(s->attrs, "gen_ai.provider.name");
    if (!provider) provider = astr(s->attrs, "gen_ai.system");
    if (provider) cJSON_AddStringToObject(o, "provider", provider);
    if (put_event(r, sid, "usage", o, s->end_ns / 1000000, NULL, 0, NULL)) return -1;
    sqlite3_stmt *st = db_stmt(r->d, SQL_SESSION_ADD_USAGE);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, in > 0 ? in : 0);
    sqlite3_bind_int64(st, 3, out > 0 ? out : 0);
    sqlite3_bind_int64(st, 4, cost);
    db_bind_text(st, 5, model);
    return db_exec(st);
}

/* A tool call's state: 0 found (state in out), 1 none, -1 error. */
static int call_state(req *r, const char *sid, const char *tcid, char out[24])
{
    return lookup_text(r, SQL_TOOLCALL_STATE, sid, tcid, 0, out, 24);
}

/* A JSON attribute value: a string holding JSON is parsed, else the value
 * itself. Caller frees; NULL when absent. */
static cJSON *json_attr(const cJSON *attrs, const char *k)
{
    const cJSON *v = get(attrs, k);
    if (!v) return NULL;
    if (cJSON_IsString(v)) {
        cJSON *p = cJSON_Parse(v->valuestring);
        if (p) return p;
    }
    return cJSON_Duplicate(v, 1);
}

/* The tool call id a span gets: gen_ai.tool.call.id when this session has
 * no call by that id yet, else the span id. */
static int call_id_for(req *r, const char *sid, const span_rec *s, char *out, size_t n)
{
    const char *tc = astr(s->attrs, "gen_ai.tool.call.id");
    char st[24];
    if (tc && strlen(tc) <= 128) {
        int f = call_state(r, sid, tc, st);
        if (f < 0) return -1;
        if (f > 0) { snprintf(out, n, "%s", tc); return 0; }
    }
    snprintf(out, n, "%s", s->id);
    return 0;
}

/* The start of a tool call (execute_tool) or of a call to another agent's
 * session (kind agent), with its end at once when the span has ended. */
static int act_call(req *r, const char *sid, const span_rec *s, int agent, const char *called,
                    char *tcid, size_t tcn)
{
    if (agent) snprintf(tcid, tcn, "%s", s->id);
    else if (call_id_for(r, sid, s, tcid, tcn)) return -1;
    char state[24];
    int f = call_state(r, sid, tcid, state);
    if (f <= 0) return f; /* recorded before: nothing to add */
    const char *tool_attr = agent ? astr(s->attrs, "gen_ai.agent.name") : astr(s->attrs, "gen_ai.tool.name");
    char tool[201];
    copy_cut(tool, sizeof tool, tool_attr ? tool_attr : s->name);
    cJSON *args = agent ? messages_attr(s->attrs, "gen_ai.input.messages")
                        : json_attr(s->attrs, "gen_ai.tool.call.arguments");
    if (!args) args = cJSON_CreateObject();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tool_call_id", tcid);
    cJSON_AddStringToObject(o, "tool", tool);
    cJSON_AddStringToObject(o, "kind", agent ? "agent" : "server");
    if (called) cJSON_AddStringToObject(o, "called_session_id", called);
    char *args_txt = args ? cJSON_PrintUnformatted(args) : NULL;
    cJSON_AddItemToObject(o, "arguments", args);
    int64_t eid = 0;
    int64_t ms = s->start_ns / 1000000;
    if (!args_txt || put_event(r, sid, "tool_call", o, ms, tcid, 0, &eid)) {
        cJSON_free(args_txt);
        return -1;
    }
    sqlite3_stmt *st = db_stmt(r->d, SQL_TOOLCALL_INSERT);
    int rc = -1;
    if (st) {
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, tcid);
        db_bind_text(st, 3, tool);
        db_bind_text(st, 4, agent ? "agent" : "server");
        db_bind_text(st, 5, args_txt);
        db_bind_text(st, 6, "running");
        sqlite3_bind_int64(st, 7, ms);
        db_bind_text(st, 8, called);
        sqlite3_bind_int64(st, 9, eid);
        rc = db_exec(st);
    }
    cJSON_free(args_txt);
    return rc;
}

/* A failed span's error category and message. */
static void span_error(const span_rec *s, const char **category, const char **message)
{
    const char *type = astr(s->attrs, "error.type");
    *category = type ? type : "error";
    *message = s->status_msg && *s->status_msg ? s->status_msg : type ? type : "the span failed";
    /* An exception event says more. */
    const cJSON *evs = get(s->raw, "events");
    for (const cJSON *e = cJSON_IsArray(evs) ? evs->child : NULL; e; e = e->next) {
        const char *n = gets(e, "name");
        if (!n || strcmp(n, "exception") != 0) continue;
        const cJSON *kv = get(e, "attributes");
        for (const cJSON *x = cJSON_IsArray(kv) ? kv->child : NULL; x; x = x->next) {
            const char *k = gets(x, "key");
            const char *v = gets(get(x, "value"), "stringValue");
            if (k && v && strcmp(k, "exception.message") == 0 && !(s->status_msg && *s->status_msg))
                *message = v;
            if (k && v && strcmp(k, "exception.type") == 0 && !type) *category = v;
        }
    }
}

/* The end of a call: tool_result event and the tool_calls row. */
static int act_result(req *r, const char *sid, const span_rec *s, const char *tcid, int agent)
{
    char state[24];
    int f = call_state(r, sid, tcid, state);
    if (f != 0) return f < 0 ? -1 : 0;
    if (strcmp(state, "running") != 0) return 0; /* ended already */
    int failed = s->code == 2 || (!agent && astr(s->attrs, "error.type"));
    const char *cat = NULL, *msg = NULL;
    if (failed) span_error(s, &cat, &msg);
    cJSON *result = NULL;
    if (!failed) {
        if (agent) {
            cJSON *out = messages_attr(s->attrs, "gen_ai.output.messages");
            char *t = out && cJSON_GetArraySize(out) ? message_text(cJSON_GetArrayItem(out, cJSON_GetArraySize(out) - 1), "text") : NULL;
            result = t ? cJSON_CreateString(t) : cJSON_CreateNull();
            free(t);
            cJSON_Delete(out);
        } else {
            result = json_attr(s->attrs, "gen_ai.tool.call.result");
            if (!result) result = cJSON_CreateNull();
        }
    }
    char *result_txt = result ? cJSON_PrintUnformatted(result) : NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "tool_call_id", tcid);
    if (failed) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "category", cat);
        cJSON_AddStringToObject(e, "message", msg);
    } else {
        cJSON_AddItemToObject(o, "result", result);
        result = NULL;
    }
    cJSON_Delete(result);
    int64_t ms = s->end_ns / 1000000;
    int rc = -1;
    if ((failed || result_txt) && put_event(r, sid, "tool_result", o, ms, tcid, 0, NULL) == 0) {
        sqlite3_stmt *st = db_stmt(r->d, SQL_TOOLCALL_FINISH);
        if (st) {
            db_bind_text(st, 1, sid);
            db_bind_text(st, 2, tcid);
            db_bind_text(st, 3, failed ? "failed" : "succeeded");
            db_bind_text(st, 4, failed ? NULL : result_txt);
            db_bind_text(st, 5, cat);
            db_bind_text(st, 6, msg);
            sqlite3_bind_int64(st, 7, 0);
            sqlite3_bind_int64(st, 8, ms);
            rc = db_exec(st);
        }
    } else if (!(failed || result_txt)) {
        cJSON_Delete(o);
    }
    cJSON_free(result_txt);
    return rc;
}

/* An eval run from a gen_ai.evaluation.result event (a span event or a log
 * record), attributes plain. */
static int put_eval(req *r, const char *sid, const cJSON *attrs, int64_t ms, const char *span_id)
{
    const char *name = astr(attrs, "gen_ai.evaluation.name");
    const char *err = astr(attrs, "error.type");
    cJSON *res = cJSON_CreateObject();
    const cJSON *v;
    if ((v = get(attrs, "gen_ai.evaluation.score.value")))
        cJSON_AddItemToObject(res, "score", cJSON_Duplicate(v, 1));
    if ((v = get(attrs, "gen_ai.evaluation.score.label")))
        cJSON_AddItemToObject(res, "label", cJSON_Duplicate(v, 1));
    if ((v = get(attrs, "gen_ai.evaluation.explanation")))
        cJSON_AddItemToObject(res, "explanation", cJSON_Duplicate(v, 1));
    if ((v = get(attrs, "gen_ai.response.id")))
        cJSON_AddItemToObject(res, "response_id", cJSON_Duplicate(v, 1));
    if (err) cJSON_AddStringToObject(res, "error", err);
    if (span_id && *span_id) cJSON_AddStringToObject(res, "span_id", span_id);
    char *txt = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
    sqlite3_stmt *st = txt ? db_stmt(r->d, SQL_EVAL_INSERT) : NULL;
    int rc = -1;
    if (st) {
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, name ? name : "evaluation");
        db_bind_text(st, 3, err ? "error" : "success");
        db_bind_text(st, 4, txt);
        sqlite3_bind_int64(st, 5, ms);
        rc = db_step(st) == SQLITE_ROW ? 0 : -1;
        sqlite3_reset(st);
    }
    cJSON_free(txt);
    if (rc == 0 && (st = db_stmt(r->d, SQL_SESSION_TOUCH))) {
        db_bind_text(st, 1, sid);
        sqlite3_bind_int64(st, 2, r->now);
        rc = db_exec(st);
    }
    return rc;
}

/* A span event: an evaluation result becomes an eval run, an exception an
 * error event; others stay in the raw span only. */
static int act_event(req *r, const char *sid, const span_rec *s, const cJSON *ev)
{
    const char *name = gets(ev, "name");
    uint64_t t = 0;
    if (u64_of(get(ev, "timeUnixNano"), &t) || t == 0 || t > (uint64_t)INT64_MAX) t = (uint64_t)s->start_ns;
    int64_t ms = (int64_t)(t / 1000000);
    if (!name) return 0;
    cJSON *attrs = NULL;
    int rc = 0;
    if (strcmp(name, "gen_ai.evaluation.result") == 0) {
        attrs = attrs_plain(get(ev, "attributes"));
        rc = attrs ? put_eval(r, sid, attrs, ms, s->id) : -1;
    } else if (strcmp(name, "exception") == 0 && strcmp(s->op, "execute_tool") != 0) {
        attrs = attrs_plain(get(ev, "attributes"));
        const char *type = astr(attrs, "exception.type"), *msg = astr(attrs, "exception.message");
        char text[1024];
        snprintf(text, sizeof text, "%s%s%s", type ? type : "", type && msg ? ": " : "",
                 msg ? msg : type ? "" : "exception");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message", text);
        cJSON_AddStringToObject(o, "step", s->name);
        if (astr(attrs, "exception.stacktrace"))
            cJSON_AddStringToObject(o, "stacktrace", astr(attrs, "exception.stacktrace"));
        rc = put_event(r, sid, "error", o, ms, NULL, 0, NULL);
    }
    cJSON_Delete(attrs);
    return rc;
}

static int has_exception_event(const span_rec *s)
{
    const cJSON *evs = get(s->raw, "events");
    for (const cJSON *e = cJSON_IsArray(evs) ? evs->child : NULL; e; e = e->next)
        if (gets(e, "name") && strcmp(gets(e, "name"), "exception") == 0) return 1;
    return 0;
}

/* The span's own row, raw copy included. 0 new, 1 stored before, -1. */
static int store_span(req *r, const char *sid, const span_rec *s)
{
    /* The span as received (its ids were made lowercase by span_read),
     * with where it came from: its resource and scope, printed once per
     * request and added as text. */
    char *span_txt = cJSON_PrintUnformatted(s->raw);
    char *raw_txt = NULL;
    if (span_txt) {
        buf b;
        buf_init(&b);
        size_t n = strlen(span_txt);
        buf_add(&b, span_txt, n - 1); /* without the closing brace */
        if (s->res_txt) { buf_puts(&b, ",\"resource\":"); buf_puts(&b, s->res_txt); }
        if (s->scope_txt) { buf_puts(&b, ",\"scope\":"); buf_puts(&b, s->scope_txt); }
        buf_putc(&b, '}');
        raw_txt = b.err ? NULL : buf_detach(&b);
        buf_fini(&b);
        cJSON_free(span_txt);
    }
    char *attrs_txt = cJSON_PrintUnformatted(s->attrs);
    sqlite3_stmt *st = raw_txt && attrs_txt ? db_stmt(r->d, SQL_OTLP_SPAN_INSERT) : NULL;
    int rc = -1;
    if (st) {
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, s->trace);
        db_bind_text(st, 3, s->id);
        db_bind_text(st, 4, s->parent[0] ? s->parent : NULL);
        db_bind_text(st, 5, s->name);
        sqlite3_bind_int64(st, 6, s->start_ns);
        if (s->end_ns) sqlite3_bind_int64(st, 7, s->end_ns);
        db_bind_text(st, 8, s->code == 2 ? "error" : s->code == 1 ? "ok" : "unset");
        db_bind_text(st, 9, attrs_txt);
        db_bind_text(st, 10, raw_txt);
        int x = db_step(st);
        rc = x == SQLITE_ROW ? 0 : x == SQLITE_DONE ? 1 : -1;
        sqlite3_reset(st);
    }
    free(raw_txt);
    cJSON_free(attrs_txt);
    return rc;
}

/* Create session k (status running) from what its first span or log
 * record says, when it does not exist. 0 created or existing, 1 refused
 * (message given), -1 error. Reads *status, *project, *ended_at. */
static int sess_ensure(req *r, int k, const cJSON *res_attrs, const char *agent, const char *name,
                       char status[16], char project[101], int64_t *ended_at)
{
    sess_rec *s = &r->sess[k];
    sqlite3_stmt *st = db_stmt(r->d, SQL_OTLP_SESSION_INFO);
    if (!st) return -1;
    db_bind_text(st, 1, s->id);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(project, 101, "%s", (const char *)sqlite3_column_text(st, 1));
        *ended_at = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3);
        sqlite3_reset(st);
        if (!r->allow(r->allow_arg, project)) {
            reject(r, 0, "this token may not write to project \"%.60s\" (session %.64s)", project, s->id);
            return 1;
        }
        return 0;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return -1;
    const char *proj = astr(res_attrs, "flightdeck.project");
    if (!proj || strlen(proj) > 100) proj = "default";
    snprintf(project, 101, "%s", proj);
    if (!r->allow(r->allow_arg, project)) {
        reject(r, 0, "this token may not create sessions in project \"%.60s\"", project);
        return 1;
    }
    const char *service = astr(res_attrs, "service.name");
    const char *env = astr(res_attrs, "deployment.environment.name");
    if (!env) env = astr(res_attrs, "deployment.environment");
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "id", s->id);
    cJSON_AddStringToObject(in, "status", "running");
    cJSON_AddStringToObject(in, "project", project);
    cJSON_AddStringToObject(in, "trigger", s->caller >= 0 ? "agent" : "api");
    cJSON_AddStringToObject(in, "trigger_source", "opentelemetry");
    /* Names are cut to what the API accepts (the validator refuses more). */
    char a[201], n[501], e[101], th[256], svc[201];
    copy_cut(a, sizeof a, agent ? agent : service);
    copy_cut(n, sizeof n, name ? name : a);
    cJSON_AddStringToObject(in, "agent", a);
    cJSON_AddStringToObject(in, "name", n);
    if (env) { copy_cut(e, sizeof e, env); cJSON_AddStringToObject(in, "env", e); }
    if (s->conv[0]) { copy_cut(th, sizeof th, s->conv); cJSON_AddStringToObject(in, "thread_id", th); }
    if (s->caller >= 0) {
        cJSON_AddStringToObject(in, "parent_session_id", r->sess[s->caller].id);
        cJSON_AddStringToObject(in, "parent_tool_call_id", s->caller_call);
    }
    cJSON *meta = cJSON_AddObjectToObject(in, "metadata");
    if (service) { copy_cut(svc, sizeof svc, service); cJSON_AddStringToObject(meta, "service.name", svc); }
    char id_out[INGEST_ID_MAX + 1];
    ingest_err err;
    memset(&err, 0, sizeof err);
    rc = ingest_session_create(r->d, in, r->actor, id_out, &err);
    cJSON_Delete(in);
    if (rc) {
        if (err.status >= 500) return -1;
        reject(r, 0, "session %.64s could not be created: %.160s", s->id, err.message);
        return 1;
    }
    snprintf(status, 16, "running");
    *ended_at = 0;
    return 0;
}

/* Apply the spans of session k (their own, and the calls into sessions
 * they started) in one savepoint. 0 (also when refused), -1 on error. */
static int sess_apply(req *r, int k)
{
    sess_rec *sr = &r->sess[k];
    const span_rec *first = &r->spans[sr->first];
    char status[16], project[101];
    int64_t ended_at = 0;
    size_t mine = 0;
    int e_refused = 0;
    for (size_t i = 0; i < r->nspans; i++)
        if (!r->spans[i].rejected && (r->spans[i].sess == k || r->spans[i].caller == k)) mine++;
    if (!mine) return 0;
    if (db_begin(r->d)) return -1;
    /* An agent called from a session that took nothing (canceled, another
     * project): a canceled session starts no new call, so neither. */
    if (sr->caller >= 0 && r->sess[sr->caller].rejected) {
        reject(r, 0, "session %.64s took nothing, so neither does the agent it called", r->sess[sr->caller].id);
        e_refused = 1;
    }
    const char *root_agent =
        strcmp(first->op, "invoke_agent") == 0 ? astr(first->attrs, "gen_ai.agent.name") : NULL;
    int e = e_refused ? 1 : sess_ensure(r, k, first->resource, root_agent, root_agent, status, project, &ended_at);
    if (e < 0) goto fail;
    if (e == 0 && strcmp(status, "canceled") == 0) {
        reject(r, 0, "session %.64s was canceled; it takes nothing more", sr->id);
        e = 1;
    }
    if (e > 0) {
        db_rollback(r->d);
        for (size_t i = 0; i < r->nspans; i++)
            if (!r->spans[i].rejected && r->spans[i].sess == k) {
                r->spans[i].rejected = 1;
                r->res->rejected++;
            }
        sr->rejected = 1;
        return 0;
    }

    action *acts = NULL;
    size_t nacts = 0, cap = 0, order = 0;
    int64_t earliest = 0;
    for (size_t i = 0; i < r->nspans; i++) {
        span_rec *s = &r->spans[i];
        if (s->rejected || s->sess != k) continue;
        int x = store_span(r, sr->id, s);
        if (x < 0) goto fail_acts;
        s->dup = x;
        if (s->dup) continue;
        if (!earliest || s->start_ns < earliest) earliest = s->start_ns;
        if (s->conv) {
            sqlite3_stmt *st = db_stmt(r->d, SQL_OTLP_TRACE_REMEMBER);
            if (!st) goto fail_acts;
            db_bind_text(st, 1, s->trace);
            db_bind_text(st, 2, sr->id);
            if (db_exec(st)) goto fail_acts;
        }
    }
    /* Room for every action a span can make: at most 6 plus its events. */
    for (size_t i = 0; i < r->nspans; i++) {
        const cJSON *evs = get(r->spans[i].raw, "events");
        cap += 8 + (size_t)(cJSON_IsArray(evs) ? cJSON_GetArraySize(evs) : 0);
    }
    acts = calloc(cap ? cap : 1, sizeof *acts);
    if (!acts) goto fail;
#define ADD(T, K, I, EV) (acts[nacts++] = (action){ (T), (K), (int)(I), (EV), order++ })
    for (size_t i = 0; i < r->nspans; i++) {
        span_rec *s = &r->spans[i];
        if (s->rejected) continue;
        if (s->caller == k && !s->dup) {
            ADD(s->start_ns, A_AGENT_CALL, i, NULL);
            if (s->end_ns) ADD(s->end_ns, A_AGENT_RESULT, i, NULL);
        }
        if (s->sess != k || s->dup) continue;
        int agent = strcmp(s->op, "invoke_agent") == 0;
        int tool = strcmp(s->op, "execute_tool") == 0;
        if (agent || op_is_inference(s->op)) ADD(s->start_ns, A_USER, i, NULL);
        if (tool) {
            ADD(s->start_ns, A_CALL, i, NULL);
            if (s->end_ns) ADD(s->end_ns, A_RESULT, i, NULL);
        }
        const cJSON *evs = get(s->raw, "events");
        for (const cJSON *ev = cJSON_IsArray(evs) ? evs->child : NULL; ev; ev = ev->next)
            ADD(s->start_ns, A_EVENT, i, ev); /* time fixed below */
        if (s->end_ns) {
            if (agent || op_is_inference(s->op)) ADD(s->end_ns, A_OUTPUT, i, NULL);
            if (op_is_inference(s->op)) ADD(s->end_ns, A_USAGE, i, NULL);
            if (s->code == 2 && !tool && !(s->ends) && !has_exception_event(s))
                ADD(s->end_ns, A_ERROR, i, NULL);
            if (s->ends) ADD(s->end_ns, A_END, i, NULL);
        }
    }
#undef ADD
    for (size_t a = 0; a < nacts; a++) {
        uint64_t t;
        if (acts[a].k == A_EVENT && u64_of(get(acts[a].ev, "timeUnixNano"), &t) == 0 && t &&
            t <= (uint64_t)INT64_MAX)
            acts[a].t = (int64_t)t;
    }
    qsort(acts, nacts, sizeof *acts, action_cmp);

    if (strcmp(status, "pending") == 0 && earliest) {
        if (lifecycle_apply(r->d, sr->id, LC_START, r->actor, NULL, NULL, status) != LC_OK)
            goto fail_acts;
    }
    if (earliest) {
        sqlite3_stmt *st = db_stmt(r->d, SQL_OTLP_SESSION_STARTED);
        if (!st) goto fail_acts;
        db_bind_text(st, 1, sr->id);
        sqlite3_bind_int64(st, 2, earliest / 1000000);
        if (db_exec(st)) goto fail_acts;
    }

    for (size_t a = 0; a < nacts; a++) {
        span_rec *s = &r->spans[acts[a].span];
        char tcid[132];
        int agent = strcmp(s->op, "invoke_agent") == 0;
        int rc = 0;
        /* A finished session that gets a span begun after its end continues
         * (a new turn of the conversation; one export may hold several);
         * late spans of the turn that ended do not reopen it. */
        if ((strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0) &&
            s->start_ns / 1000000 > ended_at &&
            lifecycle_apply(r->d, sr->id, LC_CONTINUE, r->actor, "new spans", NULL, status) != LC_OK)
            goto fail_acts;
        switch (acts[a].k) {
        case A_USER:
            if (agent && s->ends) {
                const char *an = astr(s->attrs, "gen_ai.agent.name");
                const char *desc = astr(s->attrs, "gen_ai.agent.description");
                char an_c[201], desc_c[1024];
                copy_cut(an_c, sizeof an_c, an);
                copy_cut(desc_c, sizeof desc_c, desc);
                sqlite3_stmt *st = an ? db_stmt(r->d, SQL_OTLP_SESSION_AGENT) : NULL;
                if (st) {
                    db_bind_text(st, 1, sr->id);
                    db_bind_text(st, 2, an_c);
                    db_bind_text(st, 3, desc_c);
                    rc = db_exec(st);
                } else if (an) rc = -1;
            }
            if (rc == 0) rc = act_user(r, sr->id, s);
            break;
        case A_CALL:
            rc = act_call(r, sr->id, s, 0, NULL, s->tcid, sizeof s->tcid);
            break;
        case A_RESULT:
            if (s->tcid[0]) rc = act_result(r, sr->id, s, s->tcid, 0);
            break;
        case A_AGENT_CALL:
            rc = act_call(r, sr->id, s, 1, r->sess[s->sess].id, tcid, sizeof tcid);
            break;
        case A_AGENT_RESULT:
            rc = act_result(r, sr->id, s, s->id, 1);
            break;
        case A_EVENT:
            rc = act_event(r, sr->id, s, acts[a].ev);
            break;
        case A_OUTPUT:
            rc = act_output(r, sr->id, s, agent && s->ends);
            break;
        case A_USAGE:
            rc = act_usage(r, sr->id, s);
            break;
        case A_ERROR: {
            const char *cat, *msg;
            span_error(s, &cat, &msg);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "message", msg);
            cJSON_AddStringToObject(o, "step", s->name);
            cJSON_AddStringToObject(o, "category", cat);
            rc = put_event(r, sr->id, "error", o, s->end_ns / 1000000, NULL, 0, NULL);
            break;
        }
        case A_END: {
            lc_action la = s->code == 2 ? LC_FAIL : LC_COMPLETE;
            const char *cat = NULL, *msg = NULL;
            if (la == LC_FAIL) span_error(s, &cat, &msg);
            /* Refused (paused, or ended already): the status stays. */
            lc_result lr = lifecycle_apply(r->d, sr->id, la, r->actor, msg, NULL, status);
            if (lr == LC_DB_ERROR || lr == LC_NOT_FOUND) { rc = -1; break; }
            /* Ended already, by a span taken for the root that was not (a
             * called agent whose caller had not arrived): the real root
             * still moves the end. */
            int later = lr == LC_REFUSED && lifecycle_is_terminal(status) &&
                        strcmp(status, "canceled") != 0 && s->end_ns / 1000000 > ended_at;
            if (lr != LC_OK && !later) break;
            sqlite3_stmt *st = db_stmt(r->d, SQL_OTLP_SESSION_ENDED);
            if (!st) { rc = -1; break; }
            db_bind_text(st, 1, sr->id);
            sqlite3_bind_int64(st, 2, s->end_ns / 1000000);
            if ((rc = db_exec(st))) break;
            ended_at = s->end_ns / 1000000;
            if (lr != LC_OK) break;
            st = db_stmt(r->d, SQL_SESSION_SET_ERROR);
            if (!st) { rc = -1; break; }
            /* A turn that succeeds clears the error of one that failed. */
            db_bind_text(st, 1, sr->id);
            db_bind_text(st, 2, la == LC_FAIL ? msg : "");
            db_bind_text(st, 3, la == LC_FAIL ? s->name : "");
            rc = db_exec(st);
            break;
        }
        }
        if (rc) goto fail_acts;
    }
    free(acts);
    if (db_commit(r->d)) goto fail;
    return 0;
fail_acts:
    free(acts);
fail:
    db_rollback(r->d);
    return -1;
}

static void req_free(req *r)
{
    for (size_t i = 0; i < r->nspans; i++) cJSON_Delete(r->spans[i].attrs);
    free(r->spans);
    free(r->by_id);
    free(r->sess);
    cJSON_Delete(r->owned);
}

/* Add every span of the request to r->spans, rejecting malformed ones. */
/* obj printed as JSON text kept in r->owned (freed with it); NULL when obj
 * is NULL. *failed is set when memory ran out. */
static const char *print_owned(req *r, const cJSON *obj, int *failed)
{
    if (!obj) return NULL;
    char *t = cJSON_PrintUnformatted(obj);
    cJSON *s = t ? cJSON_CreateString(t) : NULL;
    cJSON_free(t);
    if (!s) { *failed = 1; return NULL; }
    cJSON_AddItemToArray(r->owned, s);
    return s->valuestring;
}

static int spans_collect(req *r, cJSON *root)
{
    cJSON *rss = cJSON_GetObjectItemCaseSensitive(root, "resourceSpans");
    if (rss && !cJSON_IsArray(rss)) return -2;
    size_t total = 0;
    for (const cJSON *rs = rss ? rss->child : NULL; rs; rs = rs->next) {
        const cJSON *sss = get(rs, "scopeSpans");
        for (const cJSON *ss = cJSON_IsArray(sss) ? sss->child : NULL; ss; ss = ss->next) {
            const cJSON *sp = get(ss, "spans");
            total += cJSON_IsArray(sp) ? (size_t)cJSON_GetArraySize(sp) : 0;
        }
    }
    r->spans = calloc(total ? total : 1, sizeof *r->spans);
    r->by_id = calloc(total ? total : 1, sizeof *r->by_id);
    r->owned = cJSON_CreateArray();
    if (!r->spans || !r->by_id || !r->owned) return -1;
    int failed = 0;
    for (cJSON *rs = rss ? rss->child : NULL; rs; rs = rs->next) {
        const cJSON *resource = get(rs, "resource");
        cJSON *res_attrs = attrs_plain(get(resource, "attributes"));
        if (!res_attrs) return -1;
        cJSON_AddItemToArray(r->owned, res_attrs);
        const char *res_txt = print_owned(r, resource, &failed);
        cJSON *sss = cJSON_GetObjectItemCaseSensitive(rs, "scopeSpans");
        for (cJSON *ss = cJSON_IsArray(sss) ? sss->child : NULL; ss; ss = ss->next) {
            const char *scope_txt = print_owned(r, get(ss, "scope"), &failed);
            if (failed) return -1;
            cJSON *sp = cJSON_GetObjectItemCaseSensitive(ss, "spans");
            for (cJSON *x = cJSON_IsArray(sp) ? sp->child : NULL; x; x = x->next) {
                span_rec *s = &r->spans[r->nspans++];
                const char *why = NULL;
                s->raw = x;
                s->resource = res_attrs;
                s->res_txt = res_txt;
                s->scope_txt = scope_txt;
                s->sess = s->caller = s->parent_idx = -1;
                if (span_read(x, s, &why)) {
                    s->rejected = 1;
                    reject(r, 1, "%s", why);
                }
            }
        }
    }
    return 0;
}

int otlp_traces_apply(struct db *d, cJSON *root, const char *actor, otlp_allow_fn allow,
                      void *arg, otlp_result *res)
{
    req r = { .d = d, .actor = actor, .allow = allow, .allow_arg = arg, .res = res,
              .now = db_now_ms() };
    memset(res, 0, sizeof *res);
    int rc = -1;
    int c = spans_collect(&r, root);
    if (c == -2) {
        snprintf(res->message, sizeof res->message, "resourceSpans must be an array");
        res->rejected = 0;
        rc = -2;
        goto out;
    }
    if (c) goto out;
    for (size_t i = 0; i < r.nspans; i++) r.by_id[i] = (int)i;
    tl_base = r.spans;
    qsort(r.by_id, r.nspans, sizeof *r.by_id, by_id_cmp);
    for (size_t i = 0; i < r.nspans; i++) {
        span_rec *s = &r.spans[i];
        if (!s->rejected && s->parent[0]) s->parent_idx = find_span(&r, s->trace, s->parent);
    }
    for (size_t i = 0; i < r.nspans; i++)
        if (!r.spans[i].rejected && resolve(&r, (int)i, 0)) goto out;
    /* Callers before the agents they called (sub-sessions name their caller). */
    for (size_t k = 0; k < r.nsess; k++)
        if (sess_apply(&r, (int)k)) goto out;
    for (size_t i = 0; i < r.nspans; i++)
        if (!r.spans[i].rejected) res->accepted++;
    rc = 0;
out:
    req_free(&r);
    return rc;
}

/* ---------------------------------------------------------------- logs */

static const char *severity_of(const cJSON *rec)
{
    const cJSON *n = get(rec, "severityNumber");
    if (cJSON_IsNumber(n) && n->valueint >= 1) {
        int v = n->valueint;
        return v <= 8 ? "debug" : v <= 12 ? "info" : v <= 16 ? "warn" : "error";
    }
    const char *t = gets(rec, "severityText");
    if (t) {
        if (!strncasecmp(t, "trace", 5) || !strncasecmp(t, "debug", 5)) return "debug";
        if (!strncasecmp(t, "warn", 4)) return "warn";
        if (!strncasecmp(t, "err", 3) || !strncasecmp(t, "fatal", 5) || !strncasecmp(t, "crit", 4))
            return "error";
    }
    return "info";
}

/* A log record's trace or span id, as hex_id, but all zeros is "none": a
 * record written outside any span may carry zero ids. */
static int log_id(const cJSON *v, size_t bytes, char *out)
{
    int rc = hex_id(v, bytes, out);
    if (rc < 0 && cJSON_IsString(v) && strlen(v->valuestring) == bytes * 2 &&
        strspn(v->valuestring, "0") == bytes * 2) {
        out[0] = '\0';
        return 1;
    }
    return rc;
}

typedef struct log_rec {
    const cJSON *raw;
    const cJSON *resource;
    int          sess;
    int          rejected;
} log_rec;

int otlp_logs_apply(struct db *d, const cJSON *root, const char *actor, otlp_allow_fn allow,
                    void *arg, otlp_result *res)
{
    req r = { .d = d, .actor = actor, .allow = allow, .allow_arg = arg, .res = res,
              .now = db_now_ms() };
    memset(res, 0, sizeof *res);
    log_rec *recs = NULL;
    size_t n = 0, total = 0;
    int rc = -1;
    const cJSON *rls = get(root, "resourceLogs");
    if (rls && !cJSON_IsArray(rls)) {
        snprintf(res->message, sizeof res->message, "resourceLogs must be an array");
        rc = -2;
        goto out;
    }
    for (const cJSON *rl = rls ? rls->child : NULL; rl; rl = rl->next) {
        const cJSON *sls = get(rl, "scopeLogs");
        for (const cJSON *sl = cJSON_IsArray(sls) ? sls->child : NULL; sl; sl = sl->next) {
            const cJSON *lr = get(sl, "logRecords");
            total += cJSON_IsArray(lr) ? (size_t)cJSON_GetArraySize(lr) : 0;
        }
    }
    recs = calloc(total ? total : 1, sizeof *recs);
    r.owned = cJSON_CreateArray();
    if (!recs || !r.owned) goto out;
    for (const cJSON *rl = rls ? rls->child : NULL; rl; rl = rl->next) {
        cJSON *res_attrs = attrs_plain(get(get(rl, "resource"), "attributes"));
        if (!res_attrs) goto out;
        cJSON_AddItemToArray(r.owned, res_attrs);
        const cJSON *sls = get(rl, "scopeLogs");
        for (const cJSON *sl = cJSON_IsArray(sls) ? sls->child : NULL; sl; sl = sl->next) {
            const cJSON *lr = get(sl, "logRecords");
            for (const cJSON *x = cJSON_IsArray(lr) ? lr->child : NULL; x; x = x->next) {
                log_rec *l = &recs[n++];
                l->raw = x;
                l->resource = res_attrs;
                l->sess = -1;
                char trace[33], span[17], id[INGEST_ID_MAX + 1], conv[256] = "";
                cJSON *attrs = cJSON_IsObject(x) ? attrs_plain(get(x, "attributes")) : NULL;
                const char *cv = attrs ? astr(attrs, "gen_ai.conversation.id") : NULL;
                int tr = cJSON_IsObject(x) ? log_id(get(x, "traceId"), 16, trace) : -1;
                int sp = cJSON_IsObject(x) ? log_id(get(x, "spanId"), 8, span) : -1;
                if (!cJSON_IsObject(x) || tr < 0 || sp < 0) {
                    cJSON_Delete(attrs);
                    l->rejected = 1;
                    reject(&r, 1, "a log record's traceId or spanId is malformed");
                    continue;
                }
                if (cv && strlen(cv) <= 200) {
                    conv_session_id(cv, id, sizeof id);
                    l->sess = sess_add(&r, id, cv, -1, (int)(n - 1));
                } else if (tr == 0) {
                    int f = sp == 0 ? lookup1(&r, SQL_OTLP_SPAN_SESSION, trace, span, id, sizeof id) : 1;
                    if (f > 0) f = lookup1(&r, SQL_OTLP_TRACE_SESSION, trace, NULL, id, sizeof id);
                    if (f < 0) { cJSON_Delete(attrs); goto out; }
                    if (f > 0) snprintf(id, sizeof id, "trace_%s", trace);
                    else if (stored_conv(&r, id, conv, sizeof conv) < 0) { cJSON_Delete(attrs); goto out; }
                    l->sess = sess_add(&r, id, conv, -1, (int)(n - 1));
                } else {
                    cJSON_Delete(attrs);
                    l->rejected = 1;
                    reject(&r, 1, "a log record needs a traceId or a gen_ai.conversation.id attribute");
                    continue;
                }
                cJSON_Delete(attrs);
                if (l->sess < 0) goto out;
            }
        }
    }
    for (size_t k = 0; k < r.nsess; k++) {
        log_rec *first = &recs[r.sess[k].first];
        char status[16], project[101];
        int64_t ended_at;
        if (db_begin(d)) goto out;
        const char *svc = astr(first->resource, "service.name");
        int e = sess_ensure(&r, (int)k, first->resource, NULL, svc, status, project, &ended_at);
        if (e == 0 && strcmp(status, "canceled") == 0) {
            reject(&r, 0, "session %.64s was canceled; it takes nothing more", r.sess[k].id);
            e = 1;
        }
        if (e < 0) { db_rollback(d); goto out; }
        if (e > 0) {
            db_rollback(d);
            for (size_t i = 0; i < n; i++)
                if (!recs[i].rejected && recs[i].sess == (int)k) {
                    recs[i].rejected = 1;
                    res->rejected++;
                }
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            log_rec *l = &recs[i];
            if (l->rejected || l->sess != (int)k) continue;
            uint64_t t = 0;
            if (u64_of(get(l->raw, "timeUnixNano"), &t) || t == 0)
                if (u64_of(get(l->raw, "observedTimeUnixNano"), &t) || t == 0) t = (uint64_t)r.now * 1000000;
            int64_t ms = (int64_t)(t / 1000000);
            const char *ev = gets(l->raw, "eventName");
            int x;
            if (ev && strcmp(ev, "gen_ai.evaluation.result") == 0) {
                cJSON *attrs = attrs_plain(get(l->raw, "attributes"));
                char span[17];
                log_id(get(l->raw, "spanId"), 8, span);
                x = attrs ? put_eval(&r, r.sess[k].id, attrs, ms, span) : -1;
                cJSON_Delete(attrs);
            } else {
                cJSON *body = any_plain(get(l->raw, "body"), 0);
                char *txt = cJSON_IsString(body) ? NULL : cJSON_PrintUnformatted(body);
                sqlite3_stmt *st = db_stmt(d, SQL_LOG_INSERT);
                x = -1;
                if (st && (cJSON_IsString(body) || txt)) {
                    db_bind_text(st, 1, r.sess[k].id);
                    sqlite3_bind_int64(st, 2, ms);
                    db_bind_text(st, 3, severity_of(l->raw));
                    db_bind_text(st, 4, cJSON_IsString(body) ? body->valuestring
                                        : cJSON_IsNull(body) ? (ev ? ev : "") : txt);
                    x = db_exec(st);
                }
                cJSON_free(txt);
                cJSON_Delete(body);
            }
            if (x) { db_rollback(d); goto out; }
            res->accepted++;
        }
        if (strcmp(status, "pending") == 0 &&
            lifecycle_apply(d, r.sess[k].id, LC_START, actor, NULL, NULL, status) != LC_OK) {
            db_rollback(d);
            goto out;
        }
        sqlite3_stmt *st = db_stmt(d, SQL_SESSION_TOUCH);
        if (!st) { db_rollback(d); goto out; }
        db_bind_text(st, 1, r.sess[k].id);
        sqlite3_bind_int64(st, 2, r.now);
        if (db_exec(st) || db_commit(d)) { db_rollback(d); goto out; }
    }
    rc = 0;
out:
    free(recs);
    req_free(&r);
    return rc;
}
