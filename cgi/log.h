/* log: the app's log, one JSON object per line.
 *
 * Every answered request gets one "request" line at level info: time,
 * request id, method, route (the route's pattern, never the path: a share
 * link's path is its credential), status, duration, bytes sent, and who
 * asked (user or token name; never a secret). Errors are lines at level
 * error, with the request id and route of the request the thread is
 * handling when there is one (log_context).
 *
 * Lines go to standard error (lighttpd's error log, or the journal under
 * systemd), or to the file log_open was given (opened O_APPEND: rotate
 * with logrotate's copytruncate). Each line is one write(2), so lines of
 * different threads never interleave. Thread-safe after log_open. */
#ifndef FD_LOG_H
#define FD_LOG_H

#include <stddef.h>

typedef enum log_level { LOGL_ERROR, LOGL_WARN, LOGL_INFO, LOGL_DEBUG } log_level;

/* Log at `level` and more severe, to `path` ("" or NULL: standard error).
 * 0, or -1 with err (the file cannot be opened). Call once, before
 * threads. Without it (the CLI): level info, plain "flightdeck: msg"
 * lines on standard error, and no request lines. */
int log_open(const char *level, const char *path, char *err, size_t errlen);

/* Would a line at this level be written? */
int log_enabled(log_level l);

/* The request this thread is handling (both strings must outlive it), or
 * NULLs when it is done. Error lines carry them. */
void log_context(const char *request_id, const char *route);

/* One line at `level` with "msg" formatted by printf rules. */
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The "request" line of one answered request. who: "user:NAME",
 * "token:NAME", "share" or "anonymous". */
typedef struct log_request_info {
    const char *request_id;
    const char *method;
    const char *route;     /* pattern, or NULL: no route matched */
    int         status;
    double      ms;
    size_t      bytes;
    const char *who;
    const char *addr;
} log_request_info;
void log_request(const log_request_info *r);

#endif
