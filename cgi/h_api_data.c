/* h_api_data: the data a session holds besides its events, over HTTP —
 * artifacts (upload, list, one with content, download), logs, the report
 * (PUT, and GET as JSON, Markdown or an HTML document) and eval runs
 * (DESIGN.md sections 3, 5 and 9). Handlers check per-session access first,
 * validate the request against field tables (unknown fields are refused),
 * and leave queries to sessdata.c and renderings to report.c.
 *
 * The download and report handlers also serve the pages' cookie routes
 * (GET /sessions/{id}/artifacts/{aid}, GET /sessions/{id}/report): what
 * they send is always an attachment, never a page of our origin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "db.h"
#include "handlers.h"
#include "ingest.h"
#include "report.h"
#include "utf8.h"
#include "sessdata.h"

#define ARTIFACT_NAME_MAX  255
#define MEDIA_TYPE_MAX     255
#define ARTIFACTS_DEFAULT  50
#define ARTIFACTS_MAX      200
#define LOGS_DEFAULT       200
#define LOGS_MAX           1000
#define EVALS_DEFAULT      200
#define EVALS_MAX          1000
#define EVAL_ID_MAX        200
#define SESSION_NAME_MAX   1024

/* What every download is sent with besides its type and name: nothing
 * the browser may sniff into something else, and a sandbox that gives an
 * HTML or SVG file opened anyway no script and no origin of ours. */
#define DOWNLOAD_CSP "sandbox; default-src 'none'"
/* The HTML report may use its inline stylesheet and images, nothing else. */
#define REPORT_HTML_CSP "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"

/* --------------------------------------------------------------- helpers */

/* {"data": arr, "next_cursor": next or null}; takes arr. */
static cJSON *data_page(cJSON *arr, const char *next)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) { cJSON_Delete(arr); return NULL; }
    cJSON_AddItemToObject(o, "data", arr);
    if (next && *next) cJSON_AddStringToObject(o, "next_cursor", next);
    else cJSON_AddNullToObject(o, "next_cursor");
    return o;
}

/* The same, with a numeric cursor (0: no next page). */
static cJSON *data_page_id(cJSON *arr, int64_t next)
{
    char s[32] = "";
    if (next) snprintf(s, sizeof s, "%lld", (long long)next);
    return data_page(arr, s);
}

/* Replace every response header called name (case-insensitive) with one
 * carrying value: the dispatcher's defaults for pages (CSP, caching) do not
 * fit a download. -1 when value holds CR or LF (nothing is changed). */
static int data_header_set(ctx *c, const char *name, const char *value)
{
    buf *h = &c->resp.headers;
    size_t nlen = strlen(name), keep = 0;
    if (strpbrk(value, "\r\n")) return -1;
    for (size_t i = 0; i < h->len;) {
        const char *line = h->p + i;
        const char *eol = memchr(line, '\n', h->len - i);
        size_t llen = eol ? (size_t)(eol - line) + 1 : h->len - i;
        int match = llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0;
        if (!match) {
            memmove(h->p + keep, line, llen);
            keep += llen;
        }
        i += llen;
    }
    h->len = keep;
    if (h->p) h->p[keep] = '\0';
    return http_resp_header(&c->resp, name, value);
}

/* Content-Disposition: attachment with `name` twice: an ASCII fallback
 * (anything else, quotes, backslashes, percent signs and control
 * characters become '_') and the exact name as RFC 8187 UTF-8
 * percent-encoding. Neither can carry CR, LF or a quote into the header. */
static void data_disposition(ctx *c, const char *name)
{
    buf b;
    buf_init(&b);
    if (!name || !*name) name = "download";
    buf_puts(&b, "attachment; filename=\"");
    for (const unsigned char *p = (const unsigned char *)name; *p;) {
        unsigned ch = *p++;
        if (ch >= 0x80) {
            while ((*p & 0xC0) == 0x80) p++; /* one '_' per character */
            buf_putc(&b, '_');
        } else {
            buf_putc(&b, ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' || ch == '%'
                             ? '_' : (char)ch);
        }
    }
    buf_puts(&b, "\"; filename*=UTF-8''");
    buf_add_urlenc(&b, name, strlen(name));
    if (!b.err) data_header_set(c, "Content-Disposition", b.p);
    buf_fini(&b);
}

/* Headers of every download: no sniffing, no caching, a sandbox. */
static void data_download_headers(ctx *c, const char *filename, const char *csp)
{
    data_disposition(c, filename);
    data_header_set(c, "X-Content-Type-Options", "nosniff");
    data_header_set(c, "Content-Security-Policy", csp);
    data_header_set(c, "Cache-Control", "private, no-store");
}

/* ------------------------------------------------------- body validation */

/* The request body as JSON (ctx_body_json), refusing with 422 invalid_body
 * text that holds U+0000 (ingest_json_has_nul: C strings would cut it
 * short) and numbers beyond JSON's range (1e400 would come back as null).
 * NULL when an answer has been written. */
static cJSON *data_body_json(ctx *c)
{
    cJSON *in = ctx_body_json(c);
    if (in && ingest_json_has_nul(c->req.body, c->req.body_len)) {
        ctx_error(c, 422, "invalid_body", "text in the body may not contain U+0000 (NUL)");
        return NULL;
    }
    if (in && !ingest_json_finite(in)) {
        ctx_error(c, 422, "invalid_body", "the body holds a number too large for JSON (such as 1e400)");
        return NULL;
    }
    return in;
}

typedef enum dtype { D_TEXT, D_ID, D_ANY } dtype;

/* One member a body may have. Text: UTF-8, at most max bytes (0: any),
 * one of choices when given. Id: a whole number from 1. Any: JSON with
 * UTF-8 text, at most 200 levels deep. A null member counts as absent. */
typedef struct dfield {
    const char        *name;
    dtype              type;
    int                required;
    size_t             max;
    const char *const *choices;
} dfield;

/* Check body `in` (an object) against fields; answers 422 (invalid_body,
 * unknown_field, invalid_field, missing_field) and returns -1 on the first
 * fault. */
static int data_body_check(ctx *c, const cJSON *in, const dfield *fields)
{
    if (!cJSON_IsObject(in)) {
        ctx_error(c, 422, "invalid_body", "the body must be a JSON object");
        return -1;
    }
    for (const cJSON *m = in->child; m; m = m->next) {
        const dfield *f = fields;
        while (f->name && strcmp(f->name, m->string) != 0) f++;
        if (!f->name) {
            int printable = utf8_valid(m->string, strlen(m->string));
            ctx_error_field(c, 422, "unknown_field", printable ? m->string : NULL,
                            "unknown field \"%.40s\"", printable ? m->string : "?");
            return -1;
        }
        if (cJSON_IsNull(m)) continue;
        int ok = 1;
        switch (f->type) {
        case D_TEXT:
            ok = cJSON_IsString(m) && (!f->max || strlen(m->valuestring) <= f->max) &&
                 utf8_valid(m->valuestring, strlen(m->valuestring));
            if (ok && f->choices) {
                const char *const *ch = f->choices;
                while (*ch && strcmp(*ch, m->valuestring) != 0) ch++;
                if (!*ch) {
                    ctx_error_field(c, 422, "invalid_field", f->name,
                                    "%s has an unknown value \"%.40s\"", f->name, m->valuestring);
                    return -1;
                }
            }
            if (!ok) {
                if (f->max)
                    ctx_error_field(c, 422, "invalid_field", f->name,
                                    "%s must be UTF-8 text of at most %zu bytes", f->name, f->max);
                else
                    ctx_error_field(c, 422, "invalid_field", f->name, "%s must be UTF-8 text",
                                    f->name);
                return -1;
            }
            break;
        case D_ID:
            if (!cJSON_IsNumber(m) || !(m->valuedouble >= 1 && m->valuedouble <= 9e15) ||
                m->valuedouble != (double)(long long)m->valuedouble) {
                ctx_error_field(c, 422, "invalid_field", f->name, "%s must be a whole number from 1",
                                f->name);
                return -1;
            }
            break;
        case D_ANY:
            if (!utf8_json_valid(m)) {
                ctx_error_field(c, 422, "invalid_field", f->name,
                                "%s holds text that is not valid UTF-8 or is nested more "
                                "than 200 levels deep", f->name);
                return -1;
            }
            break;
        }
    }
    for (const dfield *f = fields; f->name; f++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(in, f->name);
        if (f->required && (!m || cJSON_IsNull(m))) {
            ctx_error_field(c, 422, "missing_field", f->name, "%s is required", f->name);
            return -1;
        }
    }
    return 0;
}

/* A text member, or dflt when absent or null. */
static const char *data_str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* ------------------------------------------------------------- artifacts */

/* Is the UTF-8 sequence at p (n bytes left, valid) an invisible format
 * character that changes how a name reads: the bidi controls U+061C,
 * U+200E-200F, U+202A-202E, U+2066-2069, the line and paragraph
 * separators U+2028-2029, and the zero-width U+200B-200D, U+2060-2064,
 * U+FEFF? "invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf" in a save
 * dialog; such names are refused rather than shown. */
static int name_format_char(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == 0xD8 && p[1] == 0x9C) return 1;                 /* U+061C */
    if (n < 3) return 0;
    if (p[0] == 0xE2 && p[1] == 0x80 && ((p[2] >= 0x8B && p[2] <= 0x8F) || /* U+200B-200F */
                                         (p[2] >= 0xA8 && p[2] <= 0xAE)))  /* U+2028-202E */
        return 1;
    if (p[0] == 0xE2 && p[1] == 0x81 && p[2] >= 0xA0 && p[2] <= 0xA9) return 1; /* U+2060-2069 */
    return p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF;                  /* U+FEFF */
}

/* A usable file name: 1..255 bytes of UTF-8 without control characters
 * (C0, DEL, C1), bidi and invisible format characters (name_format_char),
 * '/' or '\\', and not "." or "..". */
static int artifact_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ARTIFACT_NAME_MAX || !utf8_valid(s, n)) return 0;
    if (!strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\') return 0;
        /* U+0080..U+009F are C2 80..C2 9F in UTF-8. */
        if (ch == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9F) return 0;
        if (ch >= 0xC0 && name_format_char((const unsigned char *)s + i, n - i)) return 0;
    }
    return 1;
}

/* A character of an RFC 6838 restricted-name. */
static int mt_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '!' || ch == '#' ||
           ch == '$' || ch == '&' || ch == '-' || ch == '^' || ch == '_' || ch == '.' || ch == '+';
}

/* Normalize media type s into out (n bytes): "type/subtype", lowercased,
 * each part 1..127 restricted-name characters beginning with a letter or
 * digit; parameters (after ';') are dropped but may not hold control
 * characters. 0, or -1 when s is not a media type. */
static int media_type_norm(const char *s, char *out, size_t n)
{
    size_t len = strcspn(s, ";");
    for (const char *p = s + len; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) return -1;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    if (len == 0 || len >= n || len > MEDIA_TYPE_MAX) return -1;
    size_t slash = 0, k;
    for (k = 0; k < len; k++) {
        char ch = s[k];
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        if (ch == '/') {
            if (slash) return -1;
            slash = k;
        } else if (!mt_char(ch)) {
            return -1;
        }
        out[k] = ch;
    }
    out[k] = '\0';
    if (!slash || slash > 127 || len - slash - 1 == 0 || len - slash - 1 > 127) return -1;
    char first = out[0], sub = out[slash + 1];
    if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9'))) return -1;
    if (!((sub >= 'a' && sub <= 'z') || (sub >= '0' && sub <= '9'))) return -1;
    return 0;
}

/* May the stored type t be sent as Content-Type? Only when well-formed,
 * and never a type a browser would run or render as a document (HTML,
 * XHTML, SVG, XML, scripts, multipart): those go as octet-stream. */
static int media_type_safe(const char *t)
{
    static const char *const active[] = {
        "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
        "text/xsl", "application/xslt+xml", "text/javascript", "application/javascript",
        "application/x-javascript", "text/ecmascript", "application/ecmascript",
        "text/vtt", "application/x-shockwave-flash", "text/cache-manifest", NULL };
    char norm[MEDIA_TYPE_MAX + 1];
    if (media_type_norm(t, norm, sizeof norm) || strcmp(norm, t) != 0) return 0;
    for (int i = 0; active[i]; i++)
        if (!strcmp(norm, active[i])) return 0;
    size_t n = strlen(norm);
    if (n > 4 && !strcmp(norm + n - 4, "+xml")) return 0;
    if (!strncmp(norm, "multipart/", 10)) return 0;
    return 1;
}

static const char *const origins[] = { "uploaded", "generated", NULL };

static const dfield artifact_fields[] = {
    { "name", D_TEXT, 1, ARTIFACT_NAME_MAX, NULL },
    { "media_type", D_TEXT, 0, MEDIA_TYPE_MAX, NULL },
    { "content_base64", D_TEXT, 1, 0, NULL },
    { "origin", D_TEXT, 0, 0, origins },
    { NULL, 0, 0, 0, NULL }
};

/* What an upload carries, whichever way it came. */
typedef struct upload {
    const char          *name;
    const char          *media_type; /* as sent; NULL: the default */
    const char          *origin;
    const unsigned char *bytes;
    size_t               size;
} upload;

/* A text part's value: UTF-8 without NUL, at most max bytes, as an arena
 * string; NULL after answering 422 naming the part. */
static const char *part_text(ctx *c, const http_part *p, size_t max)
{
    if (p->filename || p->len > max || memchr(p->data, '\0', p->len) || !utf8_valid(p->data, p->len)) {
        ctx_error_field(c, 422, "invalid_field", p->name,
                        "%s must be a text field of at most %zu bytes of UTF-8", p->name, max);
        return NULL;
    }
    const char *v = arena_strndup(c->a, p->data, p->len);
    if (!v) ctx_error(c, 500, "internal", "out of memory");
    return v;
}

/* The upload from a multipart/form-data body: a `file` part (with a
 * filename; its Content-Type is the default media type) and the optional
 * text fields name, media_type, origin. 0, or -1 after answering 400
 * (malformed body) or 422 (unknown, repeated or bad field). */
static int upload_multipart(ctx *c, upload *u)
{
    char boundary[HTTP_BOUNDARY_MAX + 1];
    if (!c->req.content_type_raw ||
        http_multipart_boundary(c->req.content_type_raw, boundary, sizeof boundary)) {
        ctx_error(c, 400, "invalid_multipart",
                  "multipart/form-data needs a boundary parameter of 1 to %d characters",
                  HTTP_BOUNDARY_MAX);
        return -1;
    }
    http_part parts[HTTP_MP_MAX_PARTS];
    size_t n = 0;
    const char *why = NULL;
    if (http_parse_multipart(c->a, boundary, c->req.body, c->req.body_len, parts,
                             HTTP_MP_MAX_PARTS, &n, &why)) {
        ctx_error(c, 400, "invalid_multipart", "malformed multipart body: %s", why);
        return -1;
    }
    const http_part *file = NULL, *name = NULL, *mt = NULL, *origin = NULL;
    for (size_t i = 0; i < n; i++) {
        const http_part *p = &parts[i], **slot;
        if (!strcmp(p->name, "file")) slot = &file;
        else if (!strcmp(p->name, "name")) slot = &name;
        else if (!strcmp(p->name, "media_type")) slot = &mt;
        else if (!strcmp(p->name, "origin")) slot = &origin;
        else {
            int printable = utf8_valid(p->name, strlen(p->name));
            ctx_error_field(c, 422, "unknown_field", printable ? p->name : NULL,
                            "unknown field \"%.40s\"; send file, name, media_type, origin",
                            printable ? p->name : "?");
            return -1;
        }
        if (*slot) {
            ctx_error_field(c, 422, "invalid_field", p->name, "%s is sent twice", p->name);
            return -1;
        }
        *slot = p;
    }
    if (!file || !file->filename) {
        ctx_error_field(c, 422, "missing_field", "file",
                        "file is required: a part named file with a filename");
        return -1;
    }
    u->bytes = (const unsigned char *)file->data;
    u->size = file->len;
    u->name = file->filename;
    u->media_type = file->content_type;
    u->origin = "uploaded";
    if (name && !(u->name = part_text(c, name, ARTIFACT_NAME_MAX))) return -1;
    if (mt && !(u->media_type = part_text(c, mt, MEDIA_TYPE_MAX))) return -1;
    if (origin) {
        if (!(u->origin = part_text(c, origin, 16))) return -1;
        if (strcmp(u->origin, "uploaded") && strcmp(u->origin, "generated")) {
            ctx_error_field(c, 422, "invalid_field", "origin", "origin has an unknown value \"%.40s\"",
                            u->origin);
            return -1;
        }
    }
    return 0;
}

/* The upload from a JSON body (content_base64); the bytes are malloc'd
 * into *owned. 0, or -1 after answering (or with *owned NULL and nothing
 * answered: out of memory, HR_ERROR). */
static int upload_json(ctx *c, upload *u, unsigned char **owned, int *oom)
{
    *owned = NULL;
    *oom = 0;
    cJSON *in = data_body_json(c);
    if (!in) return -1;
    if (data_body_check(c, in, artifact_fields)) return -1;
    u->name = data_str(in, "name", "");
    u->media_type = data_str(in, "media_type", NULL);
    u->origin = data_str(in, "origin", "uploaded");
    /* Standard base64 (with padding); line breaks are ignored. */
    const char *b64 = data_str(in, "content_base64", "");
    size_t b64len = strlen(b64), size = 0;
    size_t cap = b64len / 4 * 3 + 3;
    unsigned char *bytes = malloc(cap);
    const char *end = NULL;
    if (!bytes) { *oom = 1; return -1; }
    if (sodium_base642bin(bytes, cap, b64, b64len, "\r\n", &size, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64 + b64len) {
        free(bytes);
        ctx_error_field(c, 422, "invalid_field", "content_base64",
                        "content_base64 is not standard base64 (A-Z a-z 0-9 + /, "
                        "padded with =)");
        return -1;
    }
    *owned = bytes;
    u->bytes = bytes;
    u->size = size;
    return 0;
}

hres h_api_artifact_create(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_RUNTIME, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    upload u = { 0 };
    unsigned char *owned = NULL;
    if (!strcmp(c->req.content_type, "multipart/form-data")) {
        if (upload_multipart(c, &u)) return HR_OK;
    } else {
        int oom;
        if (upload_json(c, &u, &owned, &oom)) return oom ? HR_ERROR : HR_OK;
    }
    hres h = HR_OK;
    char media_type[MEDIA_TYPE_MAX + 1];
    if (!artifact_name_ok(u.name)) {
        h = ctx_error_field(c, 422, "invalid_field", "name",
                            "name must be 1 to %d bytes of text without control, bidi or "
                            "invisible format characters, '/' or '\\'", ARTIFACT_NAME_MAX);
    } else if (media_type_norm(u.media_type ? u.media_type : "application/octet-stream",
                               media_type, sizeof media_type)) {
        h = ctx_error_field(c, 422, "invalid_field", "media_type",
                            "media_type must be a media type such as text/plain or image/png");
    } else {
        char aid[SD_ARTIFACT_ID_LEN + 1];
        cJSON *meta = NULL;
        int rc = sessdata_artifact_add(c->db, id, u.name, media_type, u.origin, u.bytes, u.size,
                                       aid, &meta);
        if (rc > 0) {
            h = ctx_error(c, 404, "not_found", "no session \"%.64s\"", id);
        } else if (rc < 0) {
            h = HR_ERROR;
        } else {
            char *loc = arena_printf(c->a, "/api/v1/sessions/%s/artifacts/%s", id, aid);
            if (loc) http_resp_header(&c->resp, "Location", loc);
            h = ctx_json(c, 201, meta);
        }
    }
    free(owned);
    return h;
}

hres h_api_artifacts_list(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    long long limit;
    if (ctx_query_int(c, "limit", 1, ARTIFACTS_MAX, ARTIFACTS_DEFAULT, &limit)) return HR_OK;
    const char *cursor = http_kvs_get(&c->req.query, "cursor");
    if (cursor && !*cursor) cursor = NULL;
    cJSON *arr = cJSON_CreateArray();
    char next[SD_CURSOR_MAX];
    int rc = arr ? sessdata_artifacts(c->db, id, cursor, (int)limit, arr, next) : -1;
    if (rc) {
        cJSON_Delete(arr);
        if (rc > 0)
            return ctx_error_field(c, 400, "invalid_parameter", "cursor",
                                   "cursor is not one this list returned");
        return HR_ERROR;
    }
    cJSON *o = data_page(arr, next);
    return o ? ctx_json(c, 200, o) : HR_ERROR;
}

hres h_api_artifact_get(ctx *c)
{
    const char *id = ctx_param(c, 0), *aid = ctx_param(c, 1);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    buf content;
    buf_init(&content);
    cJSON *meta = NULL;
    int rc = sessdata_artifact_read(c->db, id, aid, &meta, &content);
    if (rc) {
        buf_fini(&content);
        if (rc > 0) return ctx_error(c, 404, "not_found", "no artifact \"%.64s\" in this session", aid);
        return HR_ERROR;
    }
    size_t n = sodium_base64_ENCODED_LEN(content.len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(n);
    if (b64) {
        sodium_bin2base64(b64, n, (const unsigned char *)(content.len ? content.p : ""),
                          content.len, sodium_base64_VARIANT_ORIGINAL);
        cJSON_AddStringToObject(meta, "content_base64", b64);
    }
    free(b64);
    buf_fini(&content);
    if (!b64) { cJSON_Delete(meta); return HR_ERROR; }
    return ctx_json(c, 200, meta);
}

hres h_artifact_download(ctx *c)
{
    const char *id = ctx_param(c, 0), *aid = ctx_param(c, 1);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    cJSON *meta = NULL;
    /* The bytes go straight into the response body (binary-safe: the
     * body is written with its length). */
    buf_reset(&c->resp.body);
    int rc = sessdata_artifact_read(c->db, id, aid, &meta, &c->resp.body);
    if (rc > 0) return ctx_error(c, 404, "not_found", "no artifact \"%.64s\" in this session", aid);
    if (rc < 0) return HR_ERROR;
    const char *type = data_str(meta, "media_type", "");
    c->resp.content_type = media_type_safe(type) ? arena_strdup(c->a, type)
                                                 : "application/octet-stream";
    if (!c->resp.content_type) c->resp.content_type = "application/octet-stream";
    data_download_headers(c, data_str(meta, "name", "download"), DOWNLOAD_CSP);
    cJSON_Delete(meta);
    c->resp.status = 200;
    return HR_OK;
}

/* ------------------------------------------------------------------ logs */

hres h_api_logs_list(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    long long after, limit;
    if (ctx_query_int(c, "after", 0, 1LL << 53, 0, &after) ||
        ctx_query_int(c, "limit", 1, LOGS_MAX, LOGS_DEFAULT, &limit))
        return HR_OK;
    const char *sev = http_kvs_get(&c->req.query, "severity");
    int min = SD_DEBUG;
    if (sev && *sev && (min = sessdata_severity(sev)) < 0)
        return ctx_error_field(c, 400, "invalid_parameter", "severity",
                               "severity must be debug, info, warn or error (the lowest shown)");
    cJSON *arr = cJSON_CreateArray();
    int64_t next = 0;
    if (!arr || sessdata_logs(c->db, id, min, after, (int)limit, arr, &next)) {
        cJSON_Delete(arr);
        return HR_ERROR;
    }
    cJSON *o = data_page_id(arr, next);
    return o ? ctx_json(c, 200, o) : HR_ERROR;
}

hres h_api_logs_append(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_RUNTIME, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    cJSON *in = data_body_json(c);
    if (!in) return HR_OK;
    if (!cJSON_IsObject(in))
        return ctx_error(c, 422, "invalid_body",
                         "send one log line {\"severity\",\"body\",\"time\"}, or {\"logs\": [...]}");
    cJSON *ids = NULL;
    ingest_err err = { 0 };
    if (ingest_logs(c->db, id, in, auth_actor(c->a, &c->who), &ids, &err))
        return answer_ingest_err(c, &err);
    cJSON *o = cJSON_CreateObject();
    if (!o) { cJSON_Delete(ids); return HR_ERROR; }
    int n = cJSON_GetArraySize(ids);
    cJSON_AddNumberToObject(o, "accepted", n);
    cJSON_AddItemToObject(o, "ids", ids);
    /* Log lines have no page of their own: Location is the log page that
     * holds exactly the lines just written (their ids are consecutive). */
    const cJSON *first = cJSON_GetArrayItem(ids, 0);
    if (cJSON_IsNumber(first))
        http_resp_header(&c->resp, "Location",
                         arena_printf(c->a, "/api/v1/sessions/%s/logs?after=%lld&limit=%d", id,
                                      (long long)first->valuedouble - 1, n));
    return ctx_json(c, 201, o);
}

/* ---------------------------------------------------------------- report */

hres h_api_report_put(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_RUNTIME, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    cJSON *in = data_body_json(c);
    if (!in) return HR_OK;
    /* A report is shown and exported: its secrets are masked before anything else. */
    if (ingest_secrets_mask(in) < 0) return HR_ERROR;
    char why[200];
    const char *field = NULL;
    int v = report_validate(in, why, sizeof why, &field);
    if (v != REPORT_OK) return ctx_error_field(c, 422, report_rc_code(v), field, "%s", why);
    char *text = cJSON_PrintUnformatted(in);
    if (!text) return HR_ERROR;
    int rc = sessdata_report_set(c->db, id, text);
    cJSON_free(text);
    if (rc > 0) return ctx_error(c, 404, "not_found", "no session \"%.64s\"", id);
    if (rc < 0) return HR_ERROR;
    return ctx_json(c, 200, cJSON_Duplicate(in, 1));
}

hres h_report_get(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    /* The API answers JSON unless asked; the page link downloads Markdown. */
    const char *format = http_kvs_get(&c->req.query, "format");
    if (!format || !*format) format = ctx_is_api(c) ? "json" : "md";
    int fmt_json = !strcmp(format, "json"), fmt_md = !strcmp(format, "md"),
        fmt_html = !strcmp(format, "html");
    if (!fmt_json && !fmt_md && !fmt_html)
        return ctx_error_field(c, 400, "invalid_parameter", "format",
                               "format must be json, md or html");
    cJSON *r = NULL;
    char name[SESSION_NAME_MAX];
    int rc = sessdata_report_get(c->db, id, &r, name, sizeof name);
    if (rc > 0) return ctx_error(c, 404, "not_found", "no session \"%.64s\"", id);
    if (rc < 0) return HR_ERROR;
    if (!r) return ctx_error(c, 404, "no_report", "session \"%.64s\" has no report", id);

    if (fmt_json) {
        hres h = ctx_json(c, 200, r);
        /* The page link is a download like the others. */
        if (h == HR_OK && !ctx_is_api(c))
            data_download_headers(c, arena_printf(c->a, "%s-report.json", id), DOWNLOAD_CSP);
        return h;
    }
    buf_reset(&c->resp.body);
    int e = fmt_md ? report_markdown(r, &c->resp.body)
                   : report_html_document(r, name, id, &c->resp.body);
    cJSON_Delete(r);
    if (e || c->resp.body.err) return HR_ERROR;
    c->resp.status = 200;
    c->resp.content_type = fmt_md ? "text/markdown; charset=utf-8" : "text/html; charset=utf-8";
    data_download_headers(c, arena_printf(c->a, "%s-report.%s", id, format),
                          fmt_md ? DOWNLOAD_CSP : REPORT_HTML_CSP);
    return HR_OK;
}

/* ------------------------------------------------------------- eval runs */

/* DESIGN.md calls the states pending/passed/failed; the schema
 * pending/success/error. Both are accepted; success/error are stored. */
static const char *const eval_states[] = { "pending", "success", "error", "passed", "failed", NULL };

static const dfield eval_fields[] = {
    { "id", D_ID, 0, 0, NULL },
    { "eval_id", D_TEXT, 0, EVAL_ID_MAX, NULL },
    { "state", D_TEXT, 0, 0, eval_states },
    { "result", D_ANY, 0, 0, NULL },
    { NULL, 0, 0, 0, NULL }
};

hres h_api_eval_create(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_RUNTIME, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    cJSON *in = data_body_json(c);
    if (!in) return HR_OK;
    if (ingest_secrets_mask(in) < 0) return HR_ERROR; /* results are shown: mask first */
    if (data_body_check(c, in, eval_fields)) return HR_OK;
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(in, "id");
    int64_t run_id = cJSON_IsNumber(run) ? (int64_t)run->valuedouble : 0;
    const char *eval_id = data_str(in, "eval_id", NULL);
    if (!run_id && !eval_id)
        return ctx_error_field(c, 422, "missing_field", "eval_id", "eval_id is required");
    if (eval_id && !*eval_id)
        return ctx_error_field(c, 422, "invalid_field", "eval_id", "eval_id is empty");
    const char *state = data_str(in, "state", NULL);
    if (state && !strcmp(state, "passed")) state = "success";
    if (state && !strcmp(state, "failed")) state = "error";
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(in, "result");
    char *result = res && !cJSON_IsNull(res) ? cJSON_PrintUnformatted(res) : NULL;
    if (res && !cJSON_IsNull(res) && !result) return HR_ERROR;

    cJSON *out = NULL;
    int rc = sessdata_eval_put(c->db, id, run_id, eval_id, state, result, &out);
    cJSON_free(result);
    if (rc > 0) {
        if (run_id)
            return ctx_error_field(c, 404, "not_found", "id", "no eval run %lld in this session",
                                   (long long)run_id);
        return ctx_error(c, 404, "not_found", "no session \"%.64s\"", id);
    }
    if (rc < 0) return HR_ERROR;
    if (!run_id) {
        /* No page per run: Location is the eval list page holding just this one. */
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(out, "id");
        if (cJSON_IsNumber(rid))
            http_resp_header(&c->resp, "Location",
                             arena_printf(c->a, "/api/v1/sessions/%s/evals?after=%lld&limit=1", id,
                                          (long long)rid->valuedouble - 1));
    }
    return ctx_json(c, run_id ? 200 : 201, out);
}

hres h_api_evals_list(ctx *c)
{
    const char *id = ctx_param(c, 0);
    int ok = ctx_session_access(c, id, PERM_READ, NULL);
    if (ok <= 0) return ok < 0 ? HR_ERROR : HR_OK;
    long long after, limit;
    if (ctx_query_int(c, "after", 0, 1LL << 53, 0, &after) ||
        ctx_query_int(c, "limit", 1, EVALS_MAX, EVALS_DEFAULT, &limit))
        return HR_OK;
    cJSON *arr = cJSON_CreateArray();
    int64_t next = 0;
    if (!arr || sessdata_evals(c->db, id, after, (int)limit, arr, &next)) {
        cJSON_Delete(arr);
        return HR_ERROR;
    }
    cJSON *o = data_page_id(arr, next);
    return o ? ctx_json(c, 200, o) : HR_ERROR;
}
