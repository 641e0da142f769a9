/* cli_remote: the CLI's HTTP client. See cli_remote.h. */
#include "cli_remote.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

int cli_remote_url_ok(const char *url, char *out, size_t n)
{
    const char *host;
    if (!strncmp(url, "http://", 7)) host = url + 7;
    else if (!strncmp(url, "https://", 8)) host = url + 8;
    else return 0;
    size_t hl = strcspn(host, "/");
    if (hl == 0 || memchr(host, '@', hl)) return 0; /* no host; user:password@ */
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#' || *p == '\\')
            return 0;
    size_t len = strlen(url);
    while (len > (size_t)(host - url) + hl && url[len - 1] == '/') len--;
    if (len >= n) return 0;
    memcpy(out, url, len);
    out[len] = '\0';
    return 1;
}

/* libcurl write callback: collect the body up to CLI_REMOTE_BODY_MAX. */
static size_t remote_write(char *p, size_t size, size_t nmemb, void *arg)
{
    cli_remote *r = arg;
    size_t len = size * nmemb;
    if (len > CLI_REMOTE_BODY_MAX - r->body.len) { r->too_large = 1; return 0; }
    buf_add(&r->body, p, len);
    return r->body.err ? 0 : len;
}

/* The value of header line p (len bytes) if its name is `name` (with the
 * colon, lowercase), copied to out without surrounding space; else untouched. */
static void header_value(const char *p, size_t len, const char *name, char *out, size_t n)
{
    size_t i = strlen(name);
    if (len <= i || strncasecmp(p, name, i) != 0) return;
    while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
    size_t e = len;
    while (e > i && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' ')) e--;
    snprintf(out, n, "%.*s", (int)(e - i), p + i);
}

/* libcurl header callback: keep X-Request-Id and Retry-After. */
static size_t remote_header(char *p, size_t size, size_t nmemb, void *arg)
{
    cli_remote *r = arg;
    size_t len = size * nmemb;
    char ra[16] = "";
    header_value(p, len, "x-request-id:", r->request_id, sizeof r->request_id);
    header_value(p, len, "retry-after:", ra, sizeof ra);
    if (*ra) {
        long v = 0;
        for (const char *s = ra; *s >= '0' && *s <= '9' && v < 3600; s++) v = v * 10 + (*s - '0');
        r->retry_after = v;
    }
    return len;
}

/* A token goes into a header line: printable ASCII without spaces only. */
static int token_ok(const char *t)
{
    if (!t || !*t || strlen(t) > 512) return 0;
    for (; *t; t++)
        if (*t <= ' ' || *t > '~') return 0;
    return 1;
}

int cli_remote_open(cli_remote *r, const char *url, const char *token, char *err, size_t n)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body);
    if (!cli_remote_url_ok(url, r->base, sizeof r->base)) {
        snprintf(err, n, "--server must be an http:// or https:// URL without user name, "
                         "query or spaces (got \"%.200s\")", url);
        return -1;
    }
    if (!token || !*token) {
        snprintf(err, n, "set FLIGHTDECK_TOKEN to an API token (flightdeck token create) "
                         "to use --server");
        return -1;
    }
    if (!token_ok(token)) {
        snprintf(err, n, "FLIGHTDECK_TOKEN must be printable ASCII without spaces");
        return -1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, n, "libcurl failed to start");
        return -2;
    }
    r->global = 1;
    CURL *c = curl_easy_init();
    r->curl = c;
    buf auth;
    buf_init(&auth);
    buf_printf(&auth, "Authorization: Bearer %s", token);
    struct curl_slist *h = NULL, *t;
    int bad = !c || auth.err;
    if (!bad && (t = curl_slist_append(h, buf_str(&auth)))) h = t;
    else bad = 1;
    if (!bad && (t = curl_slist_append(h, "Accept: application/json"))) h = t;
    else bad = 1;
    if (!bad && (t = curl_slist_append(h, "Expect:"))) h = t;
    else bad = 1;
    if (auth.p) memset(auth.p, 0, auth.len); /* the token, not left in the heap */
    buf_fini(&auth);
    r->headers = h;
    if (bad ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        /* A proxy from the environment applies elsewhere, never to this machine. */
        curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_USERAGENT, "flightdeck-cli/" FD_VERSION) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, remote_write) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, remote_header) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r) != CURLE_OK) {
        snprintf(err, n, "libcurl could not be set up (out of memory?)");
        cli_remote_close(r);
        return -2;
    }
    return 0;
}

void cli_remote_close(cli_remote *r)
{
    if (!r) return;
    if (r->curl) curl_easy_cleanup(r->curl);
    curl_slist_free_all(r->headers);
    if (r->global) curl_global_cleanup();
    buf_fini(&r->body);
    memset(r, 0, sizeof *r);
}

int cli_remote_do(cli_remote *r, const char *method, const char *path, const cJSON *body,
                  long wait_s)
{
    CURL *c = r->curl;
    int rc = -1;
    char *text = NULL;
    struct curl_slist *hdrs = r->headers, *json_hdrs = NULL;
    buf url;
    buf_init(&url);
    buf_puts(&url, r->base);
    buf_puts(&url, path);
    buf_reset(&r->body);
    r->too_large = 0;
    r->code = 0;
    r->retry_after = 0;
    r->request_id[0] = '\0';
    r->err[0] = '\0';
    if (url.err || (body && !(text = cJSON_PrintUnformatted(body)))) {
        snprintf(r->err, sizeof r->err, "out of memory");
        goto out;
    }
    if (body) {
        /* Our own copy of the header list with the content type added. */
        for (struct curl_slist *s = r->headers; s; s = s->next) {
            struct curl_slist *t = curl_slist_append(json_hdrs, s->data);
            if (!t) goto oom;
            json_hdrs = t;
        }
        struct curl_slist *t = curl_slist_append(json_hdrs, "Content-Type: application/json");
        if (!t) goto oom;
        hdrs = json_hdrs = t;
    }
    int get = !strcmp(method, "GET");
    /* A long-poll sends nothing until it answers: allow it its wait. */
    int bad = curl_easy_setopt(c, CURLOPT_URL, buf_str(&url)) != CURLE_OK ||
              curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
              curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK ||
              curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, wait_s + 30L) != CURLE_OK ||
              curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, (char *)NULL) != CURLE_OK;
    if (get) {
        bad = bad || curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    } else {
        bad = bad || curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
              curl_easy_setopt(c, CURLOPT_POSTFIELDS, text ? text : "") != CURLE_OK ||
              curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                               (curl_off_t)(text ? strlen(text) : 0)) != CURLE_OK;
        if (strcmp(method, "POST") != 0)
            bad = bad || curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
    }
    if (bad) {
        snprintf(r->err, sizeof r->err, "libcurl refused an option");
        goto out;
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        if (r->too_large)
            snprintf(r->err, sizeof r->err, "the answer to %s %s is larger than %u MB", method,
                     path, CLI_REMOTE_BODY_MAX >> 20);
        else
            snprintf(r->err, sizeof r->err, "cannot reach %.300s: %s", r->base, curl_easy_strerror(cc));
        goto out;
    }
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code) != CURLE_OK || r->code < 100) {
        snprintf(r->err, sizeof r->err, "%.300s did not answer in HTTP", r->base);
        r->code = 0;
        goto out;
    }
    rc = 0;
    goto out;
oom:
    snprintf(r->err, sizeof r->err, "out of memory");
out:
    /* The handle keeps a pointer to the list: point it back at ours. */
    if (json_hdrs && curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK) rc = -1;
    curl_slist_free_all(json_hdrs);
    cJSON_free(text);
    buf_fini(&url);
    return rc;
}

void cli_remote_message(const cli_remote *r, char *out, size_t n)
{
    cJSON *j = r->body.len ? cJSON_ParseWithLength(r->body.p, r->body.len) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (cJSON_IsString(m)) snprintf(out, n, "%s", m->valuestring);
    else snprintf(out, n, "the server answered HTTP %ld", r->code);
    cJSON_Delete(j);
}

int cli_remote_fail(const cli_remote *r)
{
    if (!r->code) {
        fprintf(stderr, "flightdeck: %s\n", r->err);
        return 1;
    }
    char msg[512], code[64] = "";
    cli_remote_message(r, msg, sizeof msg);
    cJSON *j = r->body.len ? cJSON_ParseWithLength(r->body.p, r->body.len) : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "error"), "code");
    if (cJSON_IsString(c)) snprintf(code, sizeof code, " %s", c->valuestring);
    cJSON_Delete(j);
    fprintf(stderr, "flightdeck: %s (HTTP %ld%s, request %s)\n", msg, r->code, code,
            *r->request_id ? r->request_id : "-");
    return 1;
}

cJSON *cli_remote_json(cli_remote *r, const char *method, const char *path, const cJSON *body)
{
    if (cli_remote_do(r, method, path, body, 0)) {
        cli_remote_fail(r);
        return NULL;
    }
    if (r->code < 200 || r->code > 299) {
        cli_remote_fail(r);
        return NULL;
    }
    cJSON *j = r->body.len ? cJSON_ParseWithLength(r->body.p, r->body.len) : NULL;
    if (!j)
        fprintf(stderr, "flightdeck: %s %s: the server's answer is not JSON (HTTP %ld, request %s)\n",
                method, path, r->code, *r->request_id ? r->request_id : "-");
    return j;
}

void cli_remote_seg(buf *b, const char *segment)
{
    buf_putc(b, '/');
    buf_add_urlenc(b, segment, strlen(segment));
}
