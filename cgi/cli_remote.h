/* cli_remote: the CLI's HTTP client for `flightdeck --server URL ...`
 * (or FLIGHTDECK_SERVER): one libcurl easy handle, the token from
 * FLIGHTDECK_TOKEN in an Authorization header, http and https only, no
 * redirects followed, loopback never sent through a proxy.
 *
 * A request either gets an answer (any HTTP status: the caller judges it,
 * cli_remote_fail prints the server's error) or fails in transport (-1, with
 * why in r->err). Answers are kept in r->body until the next request. */
#ifndef FD_CLI_REMOTE_H
#define FD_CLI_REMOTE_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"

#define CLI_REMOTE_BODY_MAX (256u << 20) /* bytes of one answer (artifact downloads) */

typedef struct cli_remote {
    void  *curl;            /* CURL * */
    void  *headers;         /* struct curl_slist * */
    int    global;          /* curl_global_init succeeded */
    char   base[1024];      /* the server URL without a trailing '/' */
    buf    body;            /* the last answer's body */
    int    too_large;       /* the last answer passed CLI_REMOTE_BODY_MAX */
    long   code;            /* the last answer's HTTP status; 0 on transport failure */
    long   retry_after;     /* seconds, from the last answer's Retry-After; 0 none */
    char   request_id[64];  /* the last answer's X-Request-Id, "" when absent */
    char   err[1400];       /* why the last request failed in transport */
} cli_remote;

/* Is url a server URL this CLI talks to: http:// or https://, a host, no
 * user name or password (they would show in `ps`), no query or fragment,
 * no spaces or control characters? Copies it without trailing '/' to out
 * (n bytes). 1 yes, 0 no. */
int cli_remote_url_ok(const char *url, char *out, size_t n);

/* Set up r for server url with API token `token` (printable ASCII without
 * spaces). Calls curl_global_init. 0; -1 with a sentence in err (n bytes)
 * for a bad URL or missing/bad token (a usage error); -2 when libcurl
 * cannot be set up. */
int cli_remote_open(cli_remote *r, const char *url, const char *token, char *err, size_t n);

/* Release r (safe on a zeroed one) and call curl_global_cleanup. */
void cli_remote_close(cli_remote *r);

/* Send `method` ("GET", "POST", "PUT", "DELETE") to path (below the base
 * URL, query included and already encoded) with an optional JSON body.
 * wait_s: how long the server may hold the request (long-polls). 0 with
 * r->code and r->body set for any answer; -1 on a transport failure
 * (r->err says what, r->code is 0). */
int cli_remote_do(cli_remote *r, const char *method, const char *path, const cJSON *body,
                  long wait_s);

/* Send a request that must answer 2xx with a JSON body: the parsed body
 * (caller owns it), or NULL after printing why to stderr (transport
 * failure, the server's error message and request id, or a body that is
 * not JSON). */
cJSON *cli_remote_json(cli_remote *r, const char *method, const char *path, const cJSON *body);

/* Print the last failure to stderr as "flightdeck: MESSAGE (HTTP 403
 * forbidden, request ID)" — the server's error message when it sent one —
 * or the transport error. Returns 1 (the exit code). */
int cli_remote_fail(const cli_remote *r);

/* The server's error message of the last answer into out (n bytes): its
 * {"error":{"message"}}, or "HTTP <status>". */
void cli_remote_message(const cli_remote *r, char *out, size_t n);

/* Append one path segment, percent-encoded, to b (with a leading '/'). */
void cli_remote_seg(buf *b, const char *segment);

#endif
