/* log: JSON lines, one write(2) each (log.h). */
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static int level = LOGL_INFO;
static int fd = 2;
/* Until log_open (the CLI never calls it): plain "flightdeck: msg" lines
 * for a person at a terminal, and no request lines. */
static int json_lines;

static _Thread_local const char *ctx_id;
static _Thread_local const char *ctx_route;

/* Level by name ("error", "warn", "info", "debug"); -1 when unknown. */
static int log_level_parse(const char *name)
{
    for (int i = 0; name && i < (int)(sizeof level_names / sizeof *level_names); i++)
        if (!strcmp(name, level_names[i])) return i;
    return -1;
}

int log_open(const char *lvl, const char *path, char *err, size_t errlen)
{
    int l = log_level_parse(lvl && *lvl ? lvl : "info");
    if (l < 0) {
        snprintf(err, errlen, "unknown log level \"%s\"", lvl);
        return -1;
    }
    if (path && *path) {
        int f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (f < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        if (fd > 2) close(fd);
        fd = f;
    }
    level = l;
    json_lines = 1;
    return 0;
}

int log_enabled(log_level l) { return (int)l <= level; }

void log_context(const char *request_id, const char *route)
{
    ctx_id = request_id;
    ctx_route = route;
}

/* A line's first fields: time (UTC, ms) and level. NULL when out of memory. */
static cJSON *line_new(log_level l)
{
    struct timespec ts;
    struct tm tm;
    char when[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "time", when) ||
              !cJSON_AddStringToObject(o, "level", level_names[l]))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Print o as one line and write it; frees o. A line the log cannot take is
 * dropped: logging never fails a request. */
static void line_write(cJSON *o)
{
    char stackbuf[1024];
    char *s = NULL;
    if (!o) return;
    if (cJSON_PrintPreallocated(o, stackbuf, (int)sizeof stackbuf - 1, 0)) s = stackbuf;
    else s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return;
    size_t n = strlen(s);
    s[n] = '\n'; /* over the NUL: stackbuf kept a byte; a malloc'd one has it */
    ssize_t w = write(fd, s, n + 1);
    (void)w;
    if (s != stackbuf) cJSON_free(s);
}

void log_msg(log_level l, const char *fmt, ...)
{
    if (!log_enabled(l)) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!json_lines) {
        dprintf(fd, "flightdeck: %s\n", msg);
        return;
    }
    cJSON *o = line_new(l);
    if (!o) return;
    cJSON_AddStringToObject(o, "msg", msg);
    if (ctx_id) cJSON_AddStringToObject(o, "request_id", ctx_id);
    if (ctx_route) cJSON_AddStringToObject(o, "route", ctx_route);
    line_write(o);
}

void log_request(const log_request_info *r)
{
    if (!json_lines || !log_enabled(LOGL_INFO)) return;
    cJSON *o = line_new(LOGL_INFO);
    if (!o) return;
    cJSON_AddStringToObject(o, "msg", "request");
    cJSON_AddStringToObject(o, "request_id", r->request_id ? r->request_id : "");
    cJSON_AddStringToObject(o, "method", r->method ? r->method : "");
    if (r->route) cJSON_AddStringToObject(o, "route", r->route);
    else cJSON_AddNullToObject(o, "route");
    cJSON_AddNumberToObject(o, "status", r->status);
    cJSON_AddNumberToObject(o, "ms", (double)(long long)(r->ms * 1000 + 0.5) / 1000);
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    cJSON_AddStringToObject(o, "who", r->who ? r->who : "anonymous");
    if (r->addr && *r->addr) cJSON_AddStringToObject(o, "addr", r->addr);
    line_write(o);
}
