/* tmpl: our mustache engine (https://mustache.github.io/mustache.5.html).
 *
 * Templates are compiled once, at start, into a tree of nodes held by a
 * tmpl_set; rendering walks that tree many times, from many threads at once
 * (a compiled set is read-only after loading). The renderer never sees JSON:
 * it reads data only through tmpl_data_ops, so any data source can be
 * plugged in (tmpl_json.h adapts cJSON).
 *
 * Supported: variables (escaped by default, {{{ }}} and {{& }} raw), sections,
 * inverted sections, comments, set-delimiter, partials, dynamic partial names
 * ({{>*name}}), inheritance (parents {{<name}} and blocks {{$name}}), and
 * standalone-line and indentation rules exactly as the official spec says.
 * Lambdas are not supported. Escaping covers & < > " and '.
 *
 * Limits: sections, partials and parents nest at most TMPL_MAX_DEPTH deep, at
 * compile time and at render time (a recursive partial stops with an error
 * instead of exhausting the stack). */
#ifndef FD_TMPL_H
#define FD_TMPL_H

#include <stddef.h>
#include "buf.h"

#define TMPL_MAX_DEPTH 64

typedef struct tmpl_set tmpl_set;

/* What a data value is, as far as mustache cares. */
typedef enum tmpl_kind {
    TMPL_MISSING = 0, /* not found: renders as empty, section skipped */
    TMPL_NULL,
    TMPL_FALSE,
    TMPL_TRUE,
    TMPL_NUMBER,
    TMPL_STRING,
    TMPL_LIST,
    TMPL_MAP
} tmpl_kind;

/* The data interface. Values are opaque pointers owned by the data source and
 * valid for the whole render. */
typedef struct tmpl_data_ops {
    /* The member `name` (len bytes, not NUL-terminated) of map `v`, or NULL
     * when v is not a map or has no such member. */
    const void *(*get)(const void *v, const char *name, size_t len);
    tmpl_kind (*kind)(const void *v);
    /* Number of items of a list. */
    size_t (*count)(const void *list);
    /* Item i (0-based) of a list. */
    const void *(*item)(const void *list, size_t i);
    /* Append the text of a scalar (string, number, true/false/null) to out,
     * unescaped; the engine escapes. Numbers print as the shortest form that
     * round-trips (1.5, 85, 1.21). */
    void (*text)(const void *v, buf *out);
} tmpl_data_ops;

/* Why compiling or rendering failed. */
typedef struct tmpl_err {
    char name[64];  /* template the error is in */
    int  line;      /* 1-based line, 0 when not applicable */
    char msg[160];
} tmpl_err;

/* A new empty set, or NULL when out of memory. */
tmpl_set *tmpl_set_new(void);
/* Free the set and every compiled template in it. NULL is safe. */
void tmpl_set_free(tmpl_set *set);

/* Compile src (len bytes) and store it under name, replacing any template of
 * that name. The set copies what it needs; src may be freed afterwards.
 * Returns 0, or -1 with *err filled (unclosed or mismatched section, bad
 * delimiter, unclosed tag, nesting deeper than TMPL_MAX_DEPTH, ...). */
int tmpl_set_add(tmpl_set *set, const char *name, const char *src, size_t len,
                 tmpl_err *err);

/* Compile every "*.mustache" file of dir, each under its file name without
 * the extension ("layout.mustache" -> "layout"). Returns the number loaded,
 * or -1 with *err filled at the first failure. */
int tmpl_set_load_dir(tmpl_set *set, const char *dir, tmpl_err *err);

/* Is there a template of this name? */
int tmpl_set_has(const tmpl_set *set, const char *name);

/* Render template `name` against `root` and append the output to out.
 * Missing partials render as empty (as the spec says). Returns 0, or -1 with
 * *err filled (no such template, depth limit, out of memory). On failure out
 * may hold partial output; the caller discards it. Thread-safe: the set is
 * only read. */
int tmpl_render(const tmpl_set *set, const char *name,
                const tmpl_data_ops *ops, const void *root,
                buf *out, tmpl_err *err);

#endif
