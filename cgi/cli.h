/* cli: what the CLI's source files (cli.c: dispatch, help, administration,
 * db; cli_data.c: sessions, history, tasks, artifacts, report) share.
 *
 * A command is a function over a cli_ctx: the local database (x->d) or a
 * server (x->r), never both; commands with an API work either way and
 * print the same thing. Exit codes: 0 ok, 1 failure (not found, refused,
 * server or network error), 2 usage. */
#ifndef FD_CLI_H
#define FD_CLI_H

#include "cli_remote.h"
#include "db.h"

#define EXIT_USAGE 2
#define CLI_ACTOR  "cli"

typedef struct cli_ctx {
    db         *d;       /* the local database; NULL when remote (or not needed) */
    cli_remote *r;       /* the server; NULL when local */
    const char *db_path; /* the local database's path */
    const char *name;    /* the command, e.g. "sessions list" */
} cli_ctx;

typedef int (*cli_fn)(cli_ctx *x, int argc, char **argv);

/* ---- option parsing ---- */

#define CLI_POS_MAX  64
#define CLI_OPTS_MAX 64

/* Options and positional arguments of one command line. */
typedef struct cli_opts {
    const char *pos[CLI_POS_MAX];  int npos;
    const char *name[CLI_OPTS_MAX]; /* the spec entry that matched: "--json", "--include=" */
    const char *val[CLI_OPTS_MAX];  /* its value; "" for a flag */
    int         n;
} cli_opts;

/* Parse argv (after the command name) against spec, a NULL-terminated list
 * of option names; a name ending in '=' takes a value ("--include=" accepts
 * "--include X" and "--include=X"). Options may repeat and mix with
 * positional arguments; "--" ends the options. 0, or EXIT_USAGE after
 * printing which option is unknown or lacks its value. */
int cli_opts_parse(const char *cmd, int argc, char **argv, const char *const *spec, cli_opts *o);
/* The last value of option `name` ("--x"), "" for a flag given, or NULL. */
const char *cli_opt(const cli_opts *o, const char *name);

/* ---- output ---- */

/* Print JSON o to stdout, pretty, with a newline. 0, or 1 when out of memory. */
int cli_print_json(const cJSON *o);

/* ---- doctor.c: check a deployment (files, database, key, lighttpd) ---- */
int cli_doctor(cli_ctx *x, int argc, char **argv);

/* ---- commands of cli_data.c (usage and help in cli.c's table) ---- */
int cli_sessions_list(cli_ctx *x, int argc, char **argv);
int cli_sessions_get(cli_ctx *x, int argc, char **argv);
int cli_sessions_pause(cli_ctx *x, int argc, char **argv);
int cli_sessions_resume(cli_ctx *x, int argc, char **argv);
int cli_sessions_cancel(cli_ctx *x, int argc, char **argv);
int cli_sessions_delete(cli_ctx *x, int argc, char **argv);
int cli_sessions_watch(cli_ctx *x, int argc, char **argv);
int cli_tasks_list(cli_ctx *x, int argc, char **argv);
int cli_tasks_complete(cli_ctx *x, int argc, char **argv);
int cli_artifacts_list(cli_ctx *x, int argc, char **argv);
int cli_artifacts_get(cli_ctx *x, int argc, char **argv);
int cli_report_get(cli_ctx *x, int argc, char **argv);

#endif
