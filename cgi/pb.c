/* pb: protobuf wire format reader and writer (see pb.h). */
#include "pb.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

typedef struct reader {
    const uint8_t *p, *end;
    char          *why;
    size_t         whyn;
} reader;

static int bad(reader *r, const char *msg)
{
    if (r->why && r->whyn && !*r->why) snprintf(r->why, r->whyn, "%s", msg);
    return -1;
}

static int read_varint(reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return bad(r, "truncated varint");
        uint8_t byte = *r->p++;
        x |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) { *v = x; return 0; }
    }
    return bad(r, "varint longer than 10 bytes");
}

static int read_fixed(reader *r, int bytes, uint64_t *v)
{
    if (r->end - r->p < bytes) return bad(r, "truncated fixed-width field");
    uint64_t x = 0;
    for (int i = bytes - 1; i >= 0; i--) x = (x << 8) | r->p[i]; /* little-endian */
    r->p += bytes;
    *v = x;
    return 0;
}

static int read_len(reader *r, const uint8_t **s, size_t *n)
{
    uint64_t len = 0;
    if (read_varint(r, &len)) return -1;
    if (len > (uint64_t)(r->end - r->p)) return bad(r, "length past the end of the message");
    *s = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

static int skip(reader *r, int wt)
{
    uint64_t v;
    const uint8_t *s;
    size_t n;
    switch (wt) {
    case WT_VARINT: return read_varint(r, &v);
    case WT_I64: return read_fixed(r, 8, &v);
    case WT_I32: return read_fixed(r, 4, &v);
    case WT_LEN: return read_len(r, &s, &n);
    default: return bad(r, "unsupported wire type (groups are not used by OTLP)");
    }
}

static int wire_type_of(pb_type t)
{
    switch (t) {
    case PB_FIXED64_STR: case PB_DOUBLE: return WT_I64;
    case PB_FIXED32: return WT_I32;
    case PB_INT64_STR: case PB_UINT32: case PB_ENUM: case PB_BOOL: return WT_VARINT;
    default: return WT_LEN;
    }
}

static cJSON *hex_string(const uint8_t *s, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *h = malloc(n * 2 + 1);
    if (!h) return NULL;
    for (size_t i = 0; i < n; i++) {
        h[2 * i] = digits[s[i] >> 4];
        h[2 * i + 1] = digits[s[i] & 15];
    }
    h[n * 2] = '\0';
    cJSON *j = cJSON_CreateString(h);
    free(h);
    return j;
}

static cJSON *b64_string(const uint8_t *s, size_t n)
{
    size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *b = malloc(len);
    if (!b) return NULL;
    sodium_bin2base64(b, len, s, n, sodium_base64_VARIANT_ORIGINAL);
    cJSON *j = cJSON_CreateString(b);
    free(b);
    return j;
}

static cJSON *decode_msg(const pb_msg *m, reader *r, int depth);

/* The value of one known field, read from r. NULL with r->why on failure. */
static cJSON *decode_value(const pb_field *f, int wt, reader *r, int depth)
{
    char num[32];
    uint64_t v;
    const uint8_t *s;
    size_t n;
    if (wt != wire_type_of(f->type)) {
        bad(r, "a field has the wrong wire type");
        return NULL;
    }
    switch (f->type) {
    case PB_STRING: {
        if (read_len(r, &s, &n)) return NULL;
        if (memchr(s, 0, n) || !utf8_valid((const char *)s, n)) {
            bad(r, "a string field is not UTF-8 text or holds NUL");
            return NULL;
        }
        char *t = malloc(n + 1);
        if (!t) return NULL;
        memcpy(t, s, n);
        t[n] = '\0';
        cJSON *j = cJSON_CreateString(t);
        free(t);
        return j;
    }
    case PB_BYTES_HEX:
        return read_len(r, &s, &n) ? NULL : hex_string(s, n);
    case PB_BYTES_B64:
        return read_len(r, &s, &n) ? NULL : b64_string(s, n);
    case PB_FIXED64_STR:
        if (read_fixed(r, 8, &v)) return NULL;
        snprintf(num, sizeof num, "%llu", (unsigned long long)v);
        return cJSON_CreateString(num);
    case PB_INT64_STR:
        if (read_varint(r, &v)) return NULL;
        snprintf(num, sizeof num, "%lld", (long long)(int64_t)v);
        return cJSON_CreateString(num);
    case PB_UINT32:
    case PB_ENUM:
        if (read_varint(r, &v)) return NULL;
        /* int32 enums are sign-extended to 10 bytes when negative. */
        return cJSON_CreateNumber(f->type == PB_ENUM ? (double)(int32_t)v : (double)(uint32_t)v);
    case PB_FIXED32:
        if (read_fixed(r, 4, &v)) return NULL;
        return cJSON_CreateNumber((double)(uint32_t)v);
    case PB_BOOL:
        if (read_varint(r, &v)) return NULL;
        return cJSON_CreateBool(v != 0);
    case PB_DOUBLE: {
        if (read_fixed(r, 8, &v)) return NULL;
        double d;
        memcpy(&d, &v, sizeof d);
        if (isnan(d)) return cJSON_CreateString("NaN");
        if (isinf(d)) return cJSON_CreateString(d > 0 ? "Infinity" : "-Infinity");
        return cJSON_CreateNumber(d);
    }
    case PB_MESSAGE: {
        if (read_len(r, &s, &n)) return NULL;
        reader sub = { s, s + n, r->why, r->whyn };
        return decode_msg(f->msg, &sub, depth + 1);
    }
    }
    return NULL;
}

static cJSON *decode_msg(const pb_msg *m, reader *r, int depth)
{
    if (depth > PB_MAX_DEPTH) {
        bad(r, "messages nested too deeply");
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    while (r->p < r->end) {
        uint64_t key = 0;
        if (read_varint(r, &key)) goto fail;
        uint64_t fnum = key >> 3;
        int wt = (int)(key & 7);
        if (fnum == 0 || fnum > 536870911u) { bad(r, "invalid field number"); goto fail; }
        const pb_field *f = m->fields;
        while (f->num && f->num != fnum) f++;
        if (!f->num) {
            if (skip(r, wt)) goto fail;
            continue;
        }
        cJSON *v = decode_value(f, wt, r, depth);
        if (!v) { bad(r, "out of memory"); goto fail; }
        if (f->repeated) {
            cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, f->json);
            if (!arr && !(arr = cJSON_AddArrayToObject(o, f->json))) { cJSON_Delete(v); goto fail; }
            cJSON_AddItemToArray(arr, v);
        } else if (cJSON_GetObjectItemCaseSensitive(o, f->json)) {
            /* A scalar sent twice: the last one counts. */
            cJSON_ReplaceItemInObjectCaseSensitive(o, f->json, v);
        } else {
            cJSON_AddItemToObject(o, f->json, v);
        }
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

cJSON *pb_decode(const pb_msg *m, const uint8_t *data, size_t n, char *why, size_t whyn)
{
    if (why && whyn) *why = '\0';
    reader r = { data, data + n, why, whyn };
    cJSON *o = decode_msg(m, &r, 0);
    if (!o && why && whyn && !*why) snprintf(why, whyn, "out of memory");
    return o;
}

static void put_varint(buf *b, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    buf_add(b, tmp, (size_t)n);
}

void pb_put_varint_field(buf *b, uint32_t num, uint64_t v)
{
    put_varint(b, (uint64_t)num << 3 | WT_VARINT);
    put_varint(b, v);
}

void pb_put_bytes_field(buf *b, uint32_t num, const void *p, size_t n)
{
    put_varint(b, (uint64_t)num << 3 | WT_LEN);
    put_varint(b, n);
    buf_add(b, p, n);
}

void pb_put_message_field(buf *b, uint32_t num, const buf *sub)
{
    pb_put_bytes_field(b, num, sub->len ? sub->p : "", sub->len);
}
