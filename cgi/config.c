/* config: the settings table, the file reader, the environment (config.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum ctype { CT_STR, CT_PATH, CT_INT, CT_BOOL, CT_ENUM } ctype;

typedef struct ckey {
    const char *name;     /* in the file */
    const char *env;      /* FLIGHTDECK_* */
    const char *alias;    /* an older variable still honoured, or NULL */
    ctype       type;
    const char *dflt;
    long long   min, max; /* CT_INT */
    const char *choices;  /* CT_ENUM: "a|b|c" */
    const char *help;     /* one line for the default file */
} ckey;

/* Indexed by config_key. Keep README "Configuration" and
 * etc/flightdeck.conf in step (tests/http/config.test.mjs compares). */
static const ckey keys[CFG__COUNT] = {
    [CFG_PORT] = { "port", "FLIGHTDECK_PORT", "PORT", CT_INT, "8080", 1, 65535, NULL,
                   "TCP port lighttpd listens on" },
    [CFG_BIND] = { "bind", "FLIGHTDECK_BIND", NULL, CT_STR, "127.0.0.1", 0, 0, NULL,
                   "address lighttpd listens on (put TLS in front for anything but loopback)" },
    [CFG_VAR_DIR] = { "var_dir", "FLIGHTDECK_VAR", "FD_VAR", CT_PATH, "var", 0, 0, NULL,
                      "state folder: lighttpd's pid file, the FastCGI socket, logs" },
    [CFG_DB] = { "db", "FLIGHTDECK_DB", NULL, CT_PATH, "var/flightdeck.db", 0, 0, NULL,
                 "the SQLite database (created and migrated at start)" },
    [CFG_WEB_DIR] = { "web_dir", "FLIGHTDECK_WEB", NULL, CT_PATH, "web", 0, 0, NULL,
                      "static files served under /static/" },
    [CFG_TEMPLATES] = { "templates", "FLIGHTDECK_TEMPLATES", NULL, CT_PATH, "templates", 0, 0, NULL,
                        "folder of the mustache templates" },
    [CFG_PRICES] = { "prices", "FLIGHTDECK_PRICES", NULL, CT_PATH, "etc/prices.json", 0, 0, NULL,
                     "model price table for OpenTelemetry model calls (missing: costs 0)" },
    [CFG_FASTCGI_PROGRAM] = { "fastcgi_program", "FLIGHTDECK_FCGI", "FD_APP", CT_PATH,
                              "bin/flightdeck.fcgi", 0, 0, NULL,
                              "the FastCGI program lighttpd starts" },
    [CFG_WORKERS] = { "workers", "FLIGHTDECK_WORKERS", NULL, CT_INT, "16", 1, 64, NULL,
                      "request threads" },
    [CFG_DB_CONNECTIONS] = { "db_connections", "FLIGHTDECK_DB_CONNECTIONS", NULL, CT_INT, "4", 1, 64, NULL,
                             "database connections the request threads share (at most workers)" },
    [CFG_LONGPOLL_MAX] = { "longpoll_max", "FLIGHTDECK_LONGPOLL_MAX", NULL, CT_INT, "0", 0, 64, NULL,
                           "control long-polls that may wait at once; 0: workers / 2" },
    [CFG_MAX_BODY] = { "max_body", "FLIGHTDECK_MAX_BODY", NULL, CT_INT, "8388608", 1024,
                       1073741824, NULL, "largest request body in bytes (413 before reading)" },
    [CFG_PAGE_CACHE_MB] = { "page_cache_mb", "FLIGHTDECK_PAGE_CACHE_MB", NULL, CT_INT, "8", 0, 4096,
                            NULL, "memory for rendered pages and API reads; 0: no cache" },
    [CFG_PAGE_CACHE_MS] = { "page_cache_ms", "FLIGHTDECK_PAGE_CACHE_MS", NULL, CT_INT, "1000", 0,
                            3600000, NULL, "how long a cached page lives while nothing changes; 0: no cache" },
    [CFG_INLINE_PAYLOAD_MAX] = { "inline_payload_max", "FLIGHTDECK_INLINE_PAYLOAD_MAX", NULL, CT_INT,
                                 "65536", 1024, 1073741824, NULL,
                                 "tool payloads larger than this are download-only on the session page" },
    [CFG_CORS_ORIGINS] = { "cors_origins", "FLIGHTDECK_CORS_ORIGINS", NULL, CT_STR, "", 0, 0, NULL,
                           "comma-separated origins whose pages may call the API (CORS); empty: none" },
    [CFG_DEMO] = { "demo", "FLIGHTDECK_DEMO", NULL, CT_BOOL, "1", 0, 1, NULL,
                   "load demo data into an empty database at setup" },
    [CFG_LOG_LEVEL] = { "log_level", "FLIGHTDECK_LOG_LEVEL", NULL, CT_ENUM, "info", 0, 0,
                        "error|warn|info|debug", "error, warn, info (one line per request) or debug" },
    [CFG_LOG_FILE] = { "log_file", "FLIGHTDECK_LOG_FILE", NULL, CT_PATH, "", 0, 0, NULL,
                       "the app's log (JSON lines); empty: standard error, i.e. lighttpd's error log" },
    [CFG_RETENTION_DAYS] = { "retention_days", "FLIGHTDECK_RETENTION_DAYS", NULL, CT_INT, "0", 0, 36500,
                             NULL, "keep sessions this many days in projects without their own rule; 0: forever" },
    [CFG_SWEEP_SECONDS] = { "sweep_seconds", "FLIGHTDECK_SWEEP_SECONDS", NULL, CT_INT, "300", 1, 86400,
                            NULL, "how often the retention sweep looks for expired sessions" },
    [CFG_SWEEP_BATCH] = { "sweep_batch", "FLIGHTDECK_SWEEP_BATCH", NULL, CT_INT, "200", 1, 100000, NULL,
                          "sessions deleted per sweep transaction (keeps each write short)" },
    [CFG_ENCRYPT_PAYLOADS] = { "encrypt_payloads", "FLIGHTDECK_ENCRYPT_PAYLOADS", NULL, CT_BOOL, "0", 0,
                               1, NULL, "seal payloads in the database (see README, Encryption at rest)" },
    [CFG_KEY_FILE] = { "key_file", "FLIGHTDECK_KEY_FILE", NULL, CT_PATH, "", 0, 0, NULL,
                       "the payload key (mode 0600, made at first start); empty: the database path + .key" },
};

static char         *values[CFG__COUNT];  /* NULL: the default */
typedef enum config_source { CONFIG_DEFAULT, CONFIG_FILE, CONFIG_ENV } config_source;

static config_source from[CFG__COUNT];
static char         *paths[CFG__COUNT];   /* config_path's answers */
static int           paths_made;          /* paths[] is filled (config_load does it) */

static void make_path(config_key k);
static char         *file_read;
static char          root[PATH_MAX];

/* Copy of s[0..n), or NULL. */
static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Is v acceptable for key k? 0, or -1 with why in err. */
static int check_value(const ckey *k, const char *v, char *err, size_t errlen)
{
    switch (k->type) {
    case CT_INT: {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (!*v || *end || errno || n < k->min || n > k->max) {
            snprintf(err, errlen, "%s must be a whole number from %lld to %lld", k->name, k->min, k->max);
            return -1;
        }
        return 0;
    }
    case CT_BOOL:
        if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "true") && strcmp(v, "false") &&
            strcmp(v, "yes") && strcmp(v, "no") && strcmp(v, "on") && strcmp(v, "off")) {
            snprintf(err, errlen, "%s must be 1 or 0 (true/false, yes/no, on/off)", k->name);
            return -1;
        }
        return 0;
    case CT_ENUM: {
        size_t n = strlen(v);
        for (const char *c = k->choices; n && *c;) {
            size_t m = strcspn(c, "|");
            if (m == n && !strncmp(c, v, n)) return 0;
            c += m + (c[m] == '|');
        }
        snprintf(err, errlen, "%s must be one of %s", k->name, k->choices);
        return -1;
    }
    case CT_STR:
    case CT_PATH:
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
            if (*p < 0x20) {
                snprintf(err, errlen, "%s holds a control character", k->name);
                return -1;
            }
        return 0;
    }
    return 0;
}

/* The root folder: FLIGHTDECK_ROOT, FD_ROOT, or the program's bin/.. */
static void find_root(void)
{
    const char *r = getenv("FLIGHTDECK_ROOT");
    if (!r || !*r) r = getenv("FD_ROOT");
    if (r && *r && strlen(r) < sizeof root) {
        snprintf(root, sizeof root, "%s", r);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash) break;
            *slash = '\0';
        }
        if (*exe && strlen(exe) < sizeof root) {
            snprintf(root, sizeof root, "%s", exe);
            return;
        }
    }
    if (!getcwd(root, sizeof root)) snprintf(root, sizeof root, ".");
}

/* Trim spaces and tabs at both ends of s[0..*n) in place; the new start. */
static char *trim(char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) { s++; (*n)--; }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t' || s[*n - 1] == '\r')) (*n)--;
    return s;
}

static int key_index(const char *name, size_t n)
{
    for (int i = 0; i < CFG__COUNT; i++)
        if (strlen(keys[i].name) == n && !strncmp(keys[i].name, name, n)) return i;
    return -1;
}

/* Parse the file's text into vals (each malloc'd). 0, or -1 with err. */
static int parse_file(const char *path, char *text, char **vals, char *err, size_t errlen)
{
    int line = 0;
    for (char *s = text; s && *s;) {
        char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        line++;
        char *next = nl ? nl + 1 : NULL;
        size_t n = len;
        char *l = trim(s, &n);
        if (!n || *l == '#') { s = next; continue; }
        char *eq = memchr(l, '=', n);
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, line);
            return -1;
        }
        size_t kn = (size_t)(eq - l);
        char *kname = trim(l, &kn);
        int k = key_index(kname, kn);
        if (k < 0) {
            snprintf(err, errlen, "%s:%d: unknown key \"%.*s\"", path, line, (int)(kn > 64 ? 64 : kn), kname);
            return -1;
        }
        size_t vn = n - (size_t)(eq + 1 - l);
        char *v = trim(eq + 1, &vn);
        if (vn && *v == '"') {
            char *close = memchr(v + 1, '"', vn - 1);
            size_t rest = close ? vn - (size_t)(close + 1 - v) : 0;
            char *after = close ? trim(close + 1, &rest) : NULL;
            if (!close || (rest && *after != '#')) {
                snprintf(err, errlen, "%s:%d: unterminated or trailing text after a quoted value", path, line);
                return -1;
            }
            v++;
            vn = (size_t)(close - v);
        } else {
            char *hash = memchr(v, '#', vn);
            if (hash) {
                vn = (size_t)(hash - v);
                v = trim(v, &vn);
            }
        }
        free(vals[k]);
        vals[k] = dup_n(v, vn);
        if (!vals[k]) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        char why[160];
        if (check_value(&keys[k], vals[k], why, sizeof why)) {
            snprintf(err, errlen, "%s:%d: %s", path, line, why);
            return -1;
        }
        s = next;
    }
    return 0;
}

/* The whole file as a string, or NULL (errno set). */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *p = malloc(cap);
    while (p) {
        size_t got = fread(p + len, 1, cap - len - 1, f);
        len += got;
        if (len < cap - 1) break;
        if (cap >= (1u << 20)) { free(p); p = NULL; errno = EFBIG; break; }
        char *q = realloc(p, cap * 2);
        if (!q) { free(p); p = NULL; break; }
        p = q;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (p && bad) { free(p); return NULL; }
    if (p) p[len] = '\0';
    return p;
}

int config_load(char *err, size_t errlen)
{
    char *vals[CFG__COUNT] = { 0 };
    config_source src[CFG__COUNT] = { 0 };
    char *text = NULL, *fname = NULL;
    int rc = -1;

    find_root();
    const char *explicit_file = getenv("FLIGHTDECK_CONF");
    char dflt[PATH_MAX + 32];
    snprintf(dflt, sizeof dflt, "%s/etc/flightdeck.conf", root);
    const char *path = explicit_file && *explicit_file ? explicit_file : dflt;
    text = read_all(path);
    if (!text && (explicit_file && *explicit_file ? 1 : errno != ENOENT)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (text) {
        fname = strdup(path);
        if (!fname || parse_file(path, text, vals, err, errlen)) goto done;
        for (int i = 0; i < CFG__COUNT; i++)
            if (vals[i]) src[i] = CONFIG_FILE;
    }
    for (int i = 0; i < CFG__COUNT; i++) {
        const char *name = keys[i].env;
        const char *v = getenv(name);
        if ((!v || !*v) && keys[i].alias) {
            name = keys[i].alias;
            v = getenv(name);
        }
        if (!v || !*v) continue;
        char why[160];
        if (check_value(&keys[i], v, why, sizeof why)) {
            snprintf(err, errlen, "%s: %s", name, why);
            goto done;
        }
        free(vals[i]);
        vals[i] = strdup(v);
        if (!vals[i]) { snprintf(err, errlen, "out of memory"); goto done; }
        src[i] = CONFIG_ENV;
    }
    for (int i = 0; i < CFG__COUNT; i++) {
        free(values[i]);
        values[i] = vals[i];
        vals[i] = NULL;
        from[i] = src[i];
    }
    for (int i = 0; i < CFG__COUNT; i++) make_path((config_key)i);
    paths_made = 1;
    free(file_read);
    file_read = fname;
    fname = NULL;
    rc = 0;
done:
    for (int i = 0; i < CFG__COUNT; i++) free(vals[i]);
    free(text);
    free(fname);
    return rc;
}

const char *config_str(config_key k)
{
    if ((unsigned)k >= CFG__COUNT) return "";
    return values[k] ? values[k] : keys[k].dflt;
}

long long config_int(config_key k)
{
    const char *v = config_str(k);
    if ((unsigned)k < CFG__COUNT && keys[k].type == CT_BOOL)
        return !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on");
    return strtoll(v, NULL, 10);
}

const char *config_root(void)
{
    if (!*root) find_root();
    return root;
}

/* paths[k]: key k's value made absolute against the root, or NULL when it
 * needs nothing (empty, already absolute) or memory ran out. */
static void make_path(config_key k)
{
    free(paths[k]);
    paths[k] = NULL;
    const char *v = config_str(k);
    if (keys[k].type != CT_PATH || !*v || *v == '/') return;
    const char *r = config_root();
    size_t n = strlen(r) + strlen(v) + 2;
    char *p = malloc(n);
    if (!p) return;
    snprintf(p, n, "%s/%s", r, v);
    paths[k] = p;
}

const char *config_path(config_key k)
{
    if ((unsigned)k >= CFG__COUNT) return "";
    /* Made by config_load, before any thread; without it (unit tests),
     * the first call makes them all. */
    if (!paths_made) {
        for (int i = 0; i < CFG__COUNT; i++) make_path((config_key)i);
        paths_made = 1;
    }
    return paths[k] ? paths[k] : config_str(k);
}

int config_lookup(const char *name)
{
    return name ? key_index(name, strlen(name)) : -1;
}

const char *config_value(config_key k)
{
    if ((unsigned)k >= CFG__COUNT) return "";
    return keys[k].type == CT_PATH ? config_path(k) : config_str(k);
}

const char *config_file(void) { return file_read; }

/* s in double quotes for the file or lighttpd (neither value may hold '"'
 * or a control character: check_value refused those that matter). */
static void put_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* A value as the file would hold it: text quoted, numbers bare. */
static void put_value(FILE *out, const ckey *k, const char *v)
{
    if (k->type == CT_STR || k->type == CT_PATH) put_quoted(out, v);
    else fputs(v, out);
}

void config_print(FILE *out)
{
    static const char *const src_name[] = { "default", "file", "environment" };
    fprintf(out, "# root: %s\n# file: %s\n", config_root(), file_read ? file_read : "(none)");
    for (int i = 0; i < CFG__COUNT; i++) {
        fprintf(out, "%s = ", keys[i].name);
        put_value(out, &keys[i], config_str((config_key)i));
        fprintf(out, "  # %s", src_name[from[i]]);
        if (from[i] == CONFIG_ENV) {
            const char *v = getenv(keys[i].env);
            const char *name = (v && *v) || !keys[i].alias ? keys[i].env : keys[i].alias;
            fprintf(out, " (%s)", name);
        }
        fputc('\n', out);
    }
}

void config_print_defaults(FILE *out)
{
    fputs("# Flightdeck configuration. Every key is shown with its default,\n"
          "# commented out. Each can also be set by its environment variable,\n"
          "# which wins over this file. Relative paths are taken from the\n"
          "# installation root (FLIGHTDECK_ROOT, else the folder above bin/).\n"
          "# `bin/flightdeck config` prints what is in effect and where it came from.\n", out);
    for (int i = 0; i < CFG__COUNT; i++) {
        fprintf(out, "\n# %s (%s%s%s)\n", keys[i].help, keys[i].env, keys[i].alias ? ", or " : "",
                keys[i].alias ? keys[i].alias : "");
        fprintf(out, "#%s = ", keys[i].name);
        put_value(out, &keys[i], keys[i].dflt);
        fputc('\n', out);
    }
}

void config_print_lighttpd(FILE *out)
{
    fprintf(out, "server.port = %lld\n", config_int(CFG_PORT));
    fputs("server.bind = ", out);
    put_quoted(out, config_str(CFG_BIND));
    fputs("\nvar.fd_var = ", out);
    put_quoted(out, config_path(CFG_VAR_DIR));
    fputs("\nvar.fd_web = ", out);
    put_quoted(out, config_path(CFG_WEB_DIR));
    fputs("\nvar.fd_app = ", out);
    put_quoted(out, config_path(CFG_FASTCGI_PROGRAM));
    fputc('\n', out);
}
