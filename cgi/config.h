/* config: every setting of a Flightdeck deployment, from one file.
 *
 * A value comes from, in order: its environment variable (FLIGHTDECK_*, a
 * few with an older alias), the configuration file, or its built-in default.
 * The file is FLIGHTDECK_CONF, else <root>/etc/flightdeck.conf; a missing
 * default file means "defaults only", a missing FLIGHTDECK_CONF is an error.
 * Lines are `key = value`; `#` starts a comment; a value may be written in
 * double quotes (to keep spaces or a `#`). Unknown keys and bad values are
 * errors that name the file and line (or the variable).
 *
 * Relative paths are taken from <root>: FLIGHTDECK_ROOT (or FD_ROOT), else
 * the folder above the program's own (bin/..), so the app finds its files
 * whatever folder lighttpd starts it in.
 *
 * The table of keys, with defaults and limits, is config.c's `keys`; the
 * README's Configuration section and etc/flightdeck.conf list the same
 * (`flightdeck config defaults` prints the latter, and a test compares).
 *
 * config_load runs once at start, before any thread; afterwards every
 * getter is read-only and thread-safe. Strings returned stay valid until
 * exit (or the next config_load). */
#ifndef FD_CONFIG_H
#define FD_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum config_key {
    CFG_PORT,
    CFG_BIND,
    CFG_VAR_DIR,
    CFG_DB,
    CFG_WEB_DIR,
    CFG_TEMPLATES,
    CFG_PRICES,
    CFG_FASTCGI_PROGRAM,
    CFG_WORKERS,
    CFG_DB_CONNECTIONS,
    CFG_LONGPOLL_MAX,
    CFG_MAX_BODY,
    CFG_PAGE_CACHE_MB,
    CFG_PAGE_CACHE_MS,
    CFG_INLINE_PAYLOAD_MAX,
    CFG_CORS_ORIGINS,
    CFG_DEMO,
    CFG_LOG_LEVEL,
    CFG_LOG_FILE,
    CFG_RETENTION_DAYS,
    CFG_SWEEP_SECONDS,
    CFG_SWEEP_BATCH,
    CFG_ENCRYPT_PAYLOADS,
    CFG_KEY_FILE,
    CFG__COUNT
} config_key;

/* Read the file and the environment over the defaults. 0, or -1 with a
 * message ("FILE:LINE: ..." or "VARIABLE: ...") in err. On error the
 * previous values stay. */
int config_load(char *err, size_t errlen);

/* The value as text (never NULL; "" when empty). */
const char *config_str(config_key k);
/* A number or boolean key's value. */
long long config_int(config_key k);
/* A path key's value made absolute against the root ("" stays ""). */
const char *config_path(config_key k);
/* The key named `name` (as in the file); -1 when there is none. */
int config_lookup(const char *name);
/* The value as a program should use it: config_path for paths, else
 * config_str. */
const char *config_value(config_key k);
/* The file read (NULL: none). */
const char *config_file(void);
const char *config_root(void);

/* Print, one per line: "key = value  # from", every key (`flightdeck config`). */
void config_print(FILE *out);
/* Print the documented default file (`flightdeck config defaults`). */
void config_print_defaults(FILE *out);
/* Print lighttpd variables for lighttpd.conf's include_shell
 * (`flightdeck config lighttpd`): server.port, server.bind, and var.fd_var,
 * var.fd_web, var.fd_app as absolute paths. */
void config_print_lighttpd(FILE *out);

#endif
