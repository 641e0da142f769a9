/* tmpl: a mustache engine. See tmpl.h for the contract.
 *
 * The file has two halves.
 *
 * Compiler. tmpl_set_add() copies the source, scans it into tokens (text cut
 * at every newline, and tags; set-delimiter tags take effect as they are
 * scanned), then walks the tokens one source line at a time: the spec's
 * standalone-line rules are decided for the whole line before any node is
 * built, and what survives becomes a tree of nodes. Every string in the tree
 * (text, names, indentation) is a span of the private copy of the source, so
 * a compiled template is a handful of allocations and rendering never parses.
 *
 * Renderer. tmpl_render() walks the tree. What it must remember while
 * descending (context stack, indentation, the parents being expanded) lives
 * in small structs on the C stack, each chained to the level above; the only
 * heap memory a render owns is one scratch buffer, used when a value needs
 * HTML-escaping or names a dynamic partial.
 *
 * Indentation. A standalone partial tag indents every line of the template it
 * includes. Instead of re-compiling the partial with its text indented, the
 * renderer carries a chain of indentation strings and writes it at the start
 * of each template line: before a node flagged `bol` (the first node of its
 * source line) and after each newline inside a text node. Values are never
 * indented: a newline inside data is not a template line.
 *
 * Inheritance. A block's override is compiled with its own indentation (that
 * of its first line) removed, and is rendered where the parent has the block
 * with the block's indentation added, which is how the spec moves blocks
 * between templates ("Block reindentation").
 */
#include "tmpl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ================================================================ model */

/* Bytes of a template's private source copy. Not NUL-terminated. */
typedef struct span {
    const char *p;
    size_t n;
} span;

typedef enum node_type {
    NODE_TEXT,      /* literal text */
    NODE_VAR,       /* {{x}}, HTML-escaped */
    NODE_RAW,       /* {{{x}}} or {{&x}} */
    NODE_SECTION,   /* {{#x}}...{{/x}} */
    NODE_INVERTED,  /* {{^x}}...{{/x}} */
    NODE_PARTIAL,   /* {{>x}} or {{>*x}} */
    NODE_PARENT,    /* {{<x}}...{{/x}}: the kids are the block overrides */
    NODE_BLOCK      /* {{$x}}...{{/x}}: the kids are the default content */
} node_type;

/* A name from a tag. Data paths are split at the dots here, once, so the
 * renderer never scans for them; nparts == 0 is the implicit iterator ".".
 * Names of static partials, parents and blocks are keys, not paths: they are
 * not split (nparts == 0 too, but they are never looked up in data). */
typedef struct tag_name {
    span full;
    span *parts;
    size_t nparts;
    uint32_t hash;  /* of full: partial and parent names are set lookups */
} tag_name;

typedef struct node {
    node_type type;
    unsigned char bol;        /* first thing on its source line */
    unsigned char standalone; /* partial, parent, block: tag alone on its line */
    unsigned char dynamic;    /* partial, parent: {{>*x}}, name read from data */
    int line;                 /* 1-based, for errors */
    span text;                /* TEXT */
    span indent;              /* PARTIAL, PARENT, BLOCK: see the file comment */
    tag_name nm;
    struct node *kids;        /* owned, contiguous */
    size_t nkids;
} node;

typedef struct tmpl {
    char *name;
    size_t namelen;
    uint32_t hash;
    char *src;                /* private copy of the source; spans point here */
    node *kids;
    size_t nkids;
} tmpl;

/* Templates by name: open addressing with linear probing, at most half full,
 * so a probe always ends at an empty slot. */
struct tmpl_set {
    tmpl **slots;
    size_t cap;               /* 0 or a power of two */
    size_t count;
};

static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static int span_eq(span a, span b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static void node_free(node *n)
{
    free(n->nm.parts);
    for (size_t i = 0; i < n->nkids; i++) node_free(&n->kids[i]);
    free(n->kids);
}

static void tmpl_free(tmpl *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nkids; i++) node_free(&t->kids[i]);
    free(t->kids);
    free(t->src);
    free(t->name);
    free(t);
}

/* Fill *err (when given) for template `name`. */
__attribute__((format(printf, 4, 0)))
static void err_vput(tmpl_err *err, const char *name, int line,
                     const char *fmt, va_list ap)
{
    if (!err) return;
    snprintf(err->name, sizeof err->name, "%s", name ? name : "");
    err->line = line;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

__attribute__((format(printf, 4, 5)))
static void err_put(tmpl_err *err, const char *name, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vput(err, name, line, fmt, ap);
    va_end(ap);
}

/* The template called name[0..n), or NULL. */
static const tmpl *set_find(const tmpl_set *set, const char *s, size_t n, uint32_t h)
{
    if (!set || set->cap == 0) return NULL;
    size_t mask = set->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const tmpl *t = set->slots[i];
        if (!t) return NULL;
        if (t->hash == h && t->namelen == n && memcmp(t->name, s, n) == 0) return t;
    }
}

/* Double the table. 0, or -1 when out of memory (the set is unchanged). */
static int set_grow(tmpl_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : 16;
    tmpl **slots = calloc(cap, sizeof(tmpl *));
    if (!slots) return -1;
    for (size_t i = 0; i < set->cap; i++) {
        tmpl *t = set->slots[i];
        if (!t) continue;
        size_t j = t->hash & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = t;
    }
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return 0;
}

/* Store t, freeing any template of the same name. Takes ownership of t on
 * success; 0, or -1 when out of memory. */
static int set_put(tmpl_set *set, tmpl *t)
{
    if ((set->count + 1) * 2 > set->cap && set_grow(set)) return -1;
    size_t mask = set->cap - 1;
    for (size_t i = t->hash & mask;; i = (i + 1) & mask) {
        tmpl *old = set->slots[i];
        if (!old) {
            set->slots[i] = t;
            set->count++;
            return 0;
        }
        if (old->hash == t->hash && old->namelen == t->namelen &&
            memcmp(old->name, t->name, t->namelen) == 0) {
            set->slots[i] = t;
            tmpl_free(old);
            return 0;
        }
    }
}

tmpl_set *tmpl_set_new(void) { return calloc(1, sizeof(tmpl_set)); }

void tmpl_set_free(tmpl_set *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->cap; i++) tmpl_free(set->slots[i]);
    free(set->slots);
    free(set);
}

int tmpl_set_has(const tmpl_set *set, const char *name)
{
    size_t n = strlen(name);
    return set_find(set, name, n, name_hash(name, n)) != NULL;
}

/* ============================================================= compiler */

typedef enum tok_kind {
    TOK_TEXT, TOK_VAR, TOK_RAW, TOK_SECTION, TOK_INVERTED, TOK_CLOSE,
    TOK_PARTIAL, TOK_PARENT, TOK_BLOCK, TOK_COMMENT, TOK_DELIM
} tok_kind;

typedef struct token {
    tok_kind kind;
    span s;      /* TEXT: at most one line, ending at its '\n' if it has one;
                    tags: the content, trimmed */
    int line;    /* where it starts */
} token;

/* What an open frame is. A block directly inside a parent is an override
 * (an argument); anywhere else it is a slot (a parameter). */
typedef enum frame_role {
    ROLE_NONE, ROLE_SECTION, ROLE_PARENT, ROLE_SLOT, ROLE_OVERRIDE
} frame_role;

/* A section, parent or block being compiled (frame 0 is the template). */
typedef struct frame {
    frame_role role;
    node n;          /* the node; gets the kids when its closing tag comes */
    span tag;        /* the opening tag's content: the closing tag repeats it */
    span strip;      /* indentation removed from each line inside */
    node *kids;
    size_t nkids, cap;
} frame;

typedef struct compiler {
    const char *name;
    const char *src;
    size_t len;
    tmpl_err *err;
    token *toks;
    size_t ntoks, tokcap;
    frame frames[TMPL_MAX_DEPTH + 1];
    size_t depth;         /* index of the innermost open frame */
    int pending_bol;      /* the next node emitted is the first of its line */
} compiler;

/* Facts about the source line being compiled, for the tags on it. */
typedef struct line_info {
    int alone;            /* standalone: its whitespace and newline vanish */
    int clean;            /* nothing but blanks before the current tag */
    span lead;            /* the line's leading blanks, if any */
    size_t next;          /* index of the first token of the next line */
} line_info;

__attribute__((format(printf, 3, 4)))
static int compile_fail(compiler *c, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vput(c->err, c->name, line, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }
static int is_space(char ch) { return is_blank(ch) || ch == '\r' || ch == '\n'; }

static span span_trim(span s)
{
    while (s.n && is_space(s.p[0])) s.p++, s.n--;
    while (s.n && is_space(s.p[s.n - 1])) s.n--;
    return s;
}

/* The leading blanks of s. */
static span span_blanks(span s)
{
    size_t i = 0;
    while (i < s.n && is_blank(s.p[i])) i++;
    return (span){ s.p, i };
}

/* s without as much of `prefix` as it starts with. */
static span span_unindent(span s, span prefix)
{
    size_t i = 0;
    while (i < s.n && i < prefix.n && s.p[i] == prefix.p[i]) i++;
    return (span){ s.p + i, s.n - i };
}

/* Does text token s hold only blanks, then perhaps "\n" or "\r\n"? */
static int text_is_blank(span s)
{
    size_t n = s.n;
    if (n && s.p[n - 1] == '\n') n--;
    if (n && s.p[n - 1] == '\r') n--;
    for (size_t i = 0; i < n; i++)
        if (!is_blank(s.p[i])) return 0;
    return 1;
}

static int tok_push(compiler *c, tok_kind kind, span s, int line)
{
    if (c->ntoks == c->tokcap) {
        size_t cap = c->tokcap ? c->tokcap * 2 : 64;
        token *t = realloc(c->toks, cap * sizeof *t);
        if (!t) return compile_fail(c, line, "out of memory");
        c->toks = t;
        c->tokcap = cap;
    }
    c->toks[c->ntoks++] = (token){ kind, s, line };
    return 0;
}

/* Queue src[from, to) as text tokens of at most one line each. */
static int scan_text(compiler *c, size_t from, size_t to, int *line)
{
    while (from < to) {
        const char *nl = memchr(c->src + from, '\n', to - from);
        size_t end = nl ? (size_t)(nl - c->src) + 1 : to;
        if (tok_push(c, TOK_TEXT, (span){ c->src + from, end - from }, *line)) return -1;
        if (nl) ++*line;
        from = end;
    }
    return 0;
}

/* Position of the first closing delimiter at or after `from` that follows
 * the character `after` (0: any), or -1. Triple mustaches end with "}" and
 * the closing delimiter, which may itself start with "}". */
static long find_close(const compiler *c, size_t from, span close, char after)
{
    for (size_t at = from; at < c->len;) {
        const char *hit = memmem(c->src + at, c->len - at, close.p, close.n);
        if (!hit) return -1;
        size_t pos = (size_t)(hit - c->src);
        if (!after || (pos > from && c->src[pos - 1] == after)) return (long)pos;
        at = pos + 1;
    }
    return -1;
}

/* Parse the content of {{=<open> <close>=}} (between the equals signs) into
 * the new delimiters. */
static int scan_delims(compiler *c, span s, int line, span *open, span *close)
{
    size_t i = 0;
    while (i < s.n && !is_space(s.p[i])) i++;
    span o = { s.p, i };
    while (i < s.n && is_space(s.p[i])) i++;
    span cl = { s.p + i, s.n - i };
    int ok = o.n > 0 && cl.n > 0 && !memchr(o.p, '=', o.n) && !memchr(cl.p, '=', cl.n);
    for (size_t k = 0; ok && k < cl.n; k++)
        if (is_space(cl.p[k])) ok = 0;
    if (!ok) return compile_fail(c, line, "invalid set-delimiter tag");
    *open = o;
    *close = cl;
    return 0;
}

/* Scan the tag whose opening delimiter is at *pos; move *pos past the tag
 * and *line past its newlines. */
static int scan_tag(compiler *c, size_t *pos, int *line, span *open, span *close)
{
    size_t start = *pos, p = start + open->n;
    int tagline = *line;
    /* Blanks may precede the sigil ("{{ #x }}" is a section), except for a
     * triple mustache, whose "{" belongs to the opening delimiter. */
    if (p < c->len && c->src[p] != '{')
        while (p < c->len && is_space(c->src[p])) p++;
    char sigil = p < c->len ? c->src[p] : '\0';
    tok_kind kind;
    switch (sigil) {
    case '{':
    case '&': kind = TOK_RAW; break;
    case '#': kind = TOK_SECTION; break;
    case '^': kind = TOK_INVERTED; break;
    case '/': kind = TOK_CLOSE; break;
    case '>': kind = TOK_PARTIAL; break;
    case '<': kind = TOK_PARENT; break;
    case '$': kind = TOK_BLOCK; break;
    case '!': kind = TOK_COMMENT; break;
    case '=': kind = TOK_DELIM; break;
    default:  kind = TOK_VAR; sigil = '\0'; p = start + open->n; break;
    }
    if (sigil) p++;
    long end = find_close(c, p, *close, sigil == '{' ? '}' : '\0');
    if (end < 0) return compile_fail(c, tagline, "unclosed tag");
    span s = span_trim((span){ c->src + p, (size_t)end - p - (sigil == '{') });
    for (size_t i = start; i < (size_t)end; i++)
        if (c->src[i] == '\n') ++*line;
    *pos = (size_t)end + close->n;
    if (kind == TOK_DELIM) {
        if (s.n == 0 || s.p[s.n - 1] != '=')
            return compile_fail(c, tagline, "invalid set-delimiter tag");
        s.n--;
        if (scan_delims(c, span_trim(s), tagline, open, close)) return -1;
    }
    return tok_push(c, kind, s, tagline);
}

/* Cut the whole source into tokens. */
static int scan(compiler *c)
{
    span open = { "{{", 2 }, close = { "}}", 2 };
    size_t pos = 0;
    int line = 1;
    while (pos < c->len) {
        const char *tag = memmem(c->src + pos, c->len - pos, open.p, open.n);
        size_t end = tag ? (size_t)(tag - c->src) : c->len;
        if (scan_text(c, pos, end, &line)) return -1;
        pos = end;
        if (tag && scan_tag(c, &pos, &line, &open, &close)) return -1;
    }
    return 0;
}

/* Parse a tag's content into *nm, split at dots when `dotted`. Allocates
 * nothing unless it succeeds. */
static int name_parse(compiler *c, tag_name *nm, span s, int dotted, int line)
{
    memset(nm, 0, sizeof *nm);
    if (s.n == 0) return compile_fail(c, line, "empty tag");
    for (size_t i = 0; i < s.n; i++)
        if (is_space(s.p[i]))
            return compile_fail(c, line, "invalid name \"%.*s\"", (int)s.n, s.p);
    nm->full = s;
    nm->hash = name_hash(s.p, s.n);
    if (!dotted || (s.n == 1 && s.p[0] == '.')) return 0;
    size_t nparts = 1;
    for (size_t i = 0; i < s.n; i++) nparts += s.p[i] == '.';
    span *parts = malloc(nparts * sizeof *parts);
    if (!parts) return compile_fail(c, line, "out of memory");
    const char *p = s.p, *end = s.p + s.n;
    for (size_t k = 0; k < nparts; k++) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        if (!dot) dot = end;
        parts[k] = (span){ p, (size_t)(dot - p) };
        if (parts[k].n == 0) {
            free(parts);
            return compile_fail(c, line, "invalid name \"%.*s\"", (int)s.n, s.p);
        }
        p = dot + 1;
    }
    nm->parts = parts;
    nm->nparts = nparts;
    return 0;
}

/* The name of a partial or parent: a key, or "*path" for a dynamic name. */
static int ref_parse(compiler *c, node *n, const token *t)
{
    span s = t->s;
    if (s.n && s.p[0] == '*') {
        n->dynamic = 1;
        return name_parse(c, &n->nm, span_trim((span){ s.p + 1, s.n - 1 }), 1, t->line);
    }
    return name_parse(c, &n->nm, s, 0, t->line);
}

/* Append *n to the innermost frame, which takes it over (even on failure).
 * A parent keeps only its block overrides: the spec ignores anything else
 * written between {{<x}} and {{/x}}. */
static int frame_add(compiler *c, node *n)
{
    frame *f = &c->frames[c->depth];
    if (f->role == ROLE_PARENT && n->type != NODE_BLOCK) {
        node_free(n);
        return 0;
    }
    if (f->nkids == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        node *kids = realloc(f->kids, cap * sizeof *kids);
        if (!kids) {
            node_free(n);
            return compile_fail(c, n->line, "out of memory");
        }
        f->kids = kids;
        f->cap = cap;
    }
    f->kids[f->nkids++] = *n;
    return 0;
}

static int take_bol(compiler *c)
{
    int bol = c->pending_bol;
    c->pending_bol = 0;
    return bol;
}

/* Emit text, joining it to the previous text node when the two are adjacent
 * in the source, so a run of plain lines renders with one append. An empty
 * text is kept only when it starts a line: it then stands for the
 * indentation of a line whose tags print nothing. */
static int emit_text(compiler *c, span s, int line)
{
    int bol = take_bol(c);
    if (s.n == 0 && !bol) return 0;
    frame *f = &c->frames[c->depth];
    if (s.n && f->nkids) {
        node *last = &f->kids[f->nkids - 1];
        if (last->type == NODE_TEXT && last->text.n && last->text.p + last->text.n == s.p) {
            last->text.n += s.n; /* a line start inside is a '\n' inside */
            return 0;
        }
    }
    node n = { .type = NODE_TEXT, .bol = (unsigned char)bol, .line = line, .text = s };
    return frame_add(c, &n);
}

static const char *role_word(frame_role role)
{
    switch (role) {
    case ROLE_PARENT: return "parent";
    case ROLE_SLOT:
    case ROLE_OVERRIDE: return "block";
    default: return "section";
    }
}

/* Open a section, inverted section, parent or block. */
static int frame_open(compiler *c, const token *t, const line_info *li)
{
    if (c->depth == TMPL_MAX_DEPTH)
        return compile_fail(c, t->line, "sections nested deeper than %d", TMPL_MAX_DEPTH);
    const frame *up = &c->frames[c->depth];
    frame *f = &c->frames[c->depth + 1];
    memset(f, 0, sizeof *f);
    f->tag = t->s;
    f->strip = up->strip;
    f->n.line = t->line;
    f->n.standalone = (unsigned char)li->alone;
    int rc;
    switch (t->kind) {
    case TOK_SECTION:
    case TOK_INVERTED:
        f->role = ROLE_SECTION;
        f->n.type = t->kind == TOK_SECTION ? NODE_SECTION : NODE_INVERTED;
        rc = name_parse(c, &f->n.nm, t->s, 1, t->line);
        break;
    case TOK_PARENT:
        f->role = ROLE_PARENT;
        f->n.type = NODE_PARENT;
        if (li->alone) f->n.indent = li->lead;
        rc = ref_parse(c, &f->n, t);
        break;
    default: { /* TOK_BLOCK */
        f->role = up->role == ROLE_PARENT ? ROLE_OVERRIDE : ROLE_SLOT;
        f->n.type = NODE_BLOCK;
        /* A standalone block takes the indentation of its first line of
         * content; an inline one, the blanks before it ("Block
         * reindentation", "Intrinsic indentation"). */
        span ind = { t->s.p, 0 };
        if (li->alone && li->next < c->ntoks && c->toks[li->next].kind == TOK_TEXT)
            ind = span_blanks(c->toks[li->next].s);
        if (f->role == ROLE_OVERRIDE) {
            if (li->alone) f->strip = ind;  /* raw: lines inside are raw */
        } else if (li->alone) {
            f->n.indent = span_unindent(ind, up->strip);
        } else if (li->clean) {
            f->n.indent = li->lead;         /* this line is stripped already */
        }
        rc = name_parse(c, &f->n.nm, t->s, 0, t->line);
        break;
    }
    }
    if (rc) return -1;
    f->n.bol = (unsigned char)take_bol(c);
    c->depth++;
    return 0;
}

/* Close the innermost frame with tag t and add its node to the frame above. */
static int frame_close(compiler *c, const token *t)
{
    /* A line that starts with a closing tag indents the end of the section. */
    if (c->pending_bol && emit_text(c, (span){ t->s.p, 0 }, t->line)) return -1;
    if (c->depth == 0)
        return compile_fail(c, t->line, "closing tag \"%.*s\" without an open section",
                            (int)t->s.n, t->s.p);
    frame *f = &c->frames[c->depth];
    if (!span_eq(f->tag, t->s))
        return compile_fail(c, t->line,
                            "closing tag \"%.*s\" does not match open %s \"%.*s\" (line %d)",
                            (int)t->s.n, t->s.p, role_word(f->role),
                            (int)f->tag.n, f->tag.p, f->n.line);
    node n = f->n;
    n.kids = f->kids;
    n.nkids = f->nkids;
    if (f->nkids && f->nkids < f->cap) {     /* give back the slack; optional */
        node *kids = realloc(f->kids, f->nkids * sizeof *kids);
        if (kids) n.kids = kids;
    }
    memset(f, 0, sizeof *f);
    c->depth--;
    return frame_add(c, &n);
}

/* Turn one tag into nodes. */
static int compile_tag(compiler *c, const token *t, line_info *li)
{
    switch (t->kind) {
    case TOK_VAR:
    case TOK_RAW: {
        node n = { .type = t->kind == TOK_VAR ? NODE_VAR : NODE_RAW, .line = t->line };
        if (name_parse(c, &n.nm, t->s, 1, t->line)) return -1;
        n.bol = (unsigned char)take_bol(c);
        return frame_add(c, &n);
    }
    case TOK_PARTIAL: {
        node n = { .type = NODE_PARTIAL, .line = t->line,
                   .standalone = (unsigned char)li->alone };
        if (ref_parse(c, &n, t)) return -1;
        if (li->alone) n.indent = li->lead;
        n.bol = (unsigned char)take_bol(c);
        return frame_add(c, &n);
    }
    case TOK_SECTION:
    case TOK_INVERTED:
    case TOK_PARENT:
    case TOK_BLOCK:
        return frame_open(c, t, li);
    case TOK_CLOSE:
        return frame_close(c, t);
    default:  /* comments and set-delimiter tags leave no node */
        return 0;
    }
}

/* Is the line toks[i, j) standalone? The spec's rule is one tag alone on
 * its line with only blanks around it. Inheritance needs a little more: a
 * parent's own tags (open, close, and the opening and closing tags of its
 * block overrides) print nothing where they stand, so "{{<p}}{{$b}}" or
 * "{{/b}}{{/p}}" on a line count as one tag ("Standalone parent", "Standalone
 * block"). The parent frames are tracked through the line to tell a block
 * override from a block slot. */
static int line_standalone(const compiler *c, size_t i, size_t j)
{
    frame_role pushed[TMPL_MAX_DEPTH + 1];
    size_t npushed = 0, real = c->depth;
    int tags = 0, plain = 0;
    for (size_t k = i; k < j; k++) {
        const token *t = &c->toks[k];
        if (t->kind == TOK_TEXT) {
            if (!text_is_blank(t->s)) return 0;
            continue;
        }
        if (t->kind == TOK_VAR || t->kind == TOK_RAW) return 0;
        frame_role top = npushed ? pushed[npushed - 1] : c->frames[real].role;
        frame_role push = ROLE_NONE;
        int structural = 0;
        switch (t->kind) {
        case TOK_PARENT:
            structural = 1;
            push = ROLE_PARENT;
            break;
        case TOK_BLOCK:
            structural = top == ROLE_PARENT;
            push = structural ? ROLE_OVERRIDE : ROLE_SLOT;
            break;
        case TOK_SECTION:
        case TOK_INVERTED:
            push = ROLE_SECTION;
            break;
        case TOK_CLOSE:
            structural = top == ROLE_PARENT || top == ROLE_OVERRIDE;
            if (npushed) npushed--;
            else if (real) real--;
            break;
        default:
            break;
        }
        if (push != ROLE_NONE) {
            if (npushed == sizeof pushed / sizeof pushed[0]) return 0;
            pushed[npushed++] = push;
        }
        tags++;
        if (!structural && ++plain > 1) return 0;
    }
    return tags > 0;
}

/* Compile the source line toks[i, j). */
static int compile_line(compiler *c, size_t i, size_t j)
{
    token *first = &c->toks[i];
    if (first->kind == TOK_TEXT)  /* inside an override: its indentation goes */
        first->s = span_unindent(first->s, c->frames[c->depth].strip);
    line_info li = { .alone = line_standalone(c, i, j), .clean = 1, .next = j };
    if (first->kind == TOK_TEXT && text_is_blank(first->s) &&
        (first->s.n == 0 || first->s.p[first->s.n - 1] != '\n'))
        li.lead = first->s;
    else
        li.lead = (span){ first->s.p, 0 };
    c->pending_bol = !li.alone;
    for (size_t k = i; k < j; k++) {
        const token *t = &c->toks[k];
        if (t->kind == TOK_TEXT) {
            if (!li.alone && emit_text(c, t->s, t->line)) return -1;
            if (!text_is_blank(t->s)) li.clean = 0;
            continue;
        }
        if (compile_tag(c, t, &li)) return -1;
        li.clean = 0;
        li.lead.n = 0;   /* only the first partial or parent gets it */
    }
    /* A line of tags that print nothing still has its indentation. */
    if (c->pending_bol && emit_text(c, (span){ first->s.p, 0 }, first->line)) return -1;
    return 0;
}

/* Build the tree from the tokens, line by line. */
static int compile_tokens(compiler *c)
{
    for (size_t i = 0; i < c->ntoks;) {
        size_t j = i;
        while (j < c->ntoks) {
            const token *t = &c->toks[j++];
            if (t->kind == TOK_TEXT && t->s.n && t->s.p[t->s.n - 1] == '\n') break;
        }
        if (compile_line(c, i, j)) return -1;
        i = j;
    }
    if (c->depth > 0) {
        const frame *f = &c->frames[c->depth];
        return compile_fail(c, f->n.line, "unclosed %s \"%.*s\" opened on line %d",
                            role_word(f->role), (int)f->tag.n, f->tag.p, f->n.line);
    }
    return 0;
}

static void compiler_free(compiler *c)
{
    if (!c) return;
    for (size_t d = 0; d <= c->depth; d++) {
        frame *f = &c->frames[d];
        for (size_t i = 0; i < f->nkids; i++) node_free(&f->kids[i]);
        free(f->kids);
        free(f->n.nm.parts);
    }
    free(c->toks);
    free(c);
}

/* Compile src into a new template called name. NULL with *err filled on
 * failure. */
static tmpl *tmpl_compile(const char *name, const char *src, size_t len, tmpl_err *err)
{
    tmpl *t = calloc(1, sizeof *t);
    compiler *c = calloc(1, sizeof *c);   /* big: keep it off the stack */
    if (t) {
        t->namelen = strlen(name);
        t->hash = name_hash(name, t->namelen);
        t->name = malloc(t->namelen + 1);
        t->src = malloc(len + 1);
    }
    if (!t || !c || !t->name || !t->src) {
        err_put(err, name, 0, "out of memory");
        goto fail;
    }
    memcpy(t->name, name, t->namelen + 1);
    if (len) memcpy(t->src, src, len);
    t->src[len] = '\0';

    c->name = t->name;
    c->src = t->src;
    c->len = len;
    c->err = err;
    if (scan(c) || compile_tokens(c)) goto fail;
    t->kids = c->frames[0].kids;
    t->nkids = c->frames[0].nkids;
    c->frames[0].kids = NULL;
    c->frames[0].nkids = 0;
    compiler_free(c);
    return t;

fail:
    compiler_free(c);
    tmpl_free(t);
    return NULL;
}

int tmpl_set_add(tmpl_set *set, const char *name, const char *src, size_t len,
                 tmpl_err *err)
{
    tmpl *t = tmpl_compile(name, src, len, err);
    if (!t) return -1;
    if (set_put(set, t)) {
        tmpl_free(t);
        err_put(err, name, 0, "out of memory");
        return -1;
    }
    return 0;
}

/* Read the regular file at path into a new buffer. 0, or -1 with errno. */
static int file_read(const char *path, char **data, size_t *len)
{
    char *p = NULL;
    int rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) goto done;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        goto done;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    p = malloc(cap + 1);
    if (!p) goto done;
    while (n < cap) {   /* a file that shrinks meanwhile just ends early */
        ssize_t got = read(fd, p + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) goto done;
        if (got == 0) break;
        n += (size_t)got;
    }
    p[n] = '\0';
    *data = p;
    *len = n;
    p = NULL;
    rc = 0;
done:
    free(p);
    close(fd);
    return rc;
}

#define TMPL_EXT ".mustache"

/* scandir filter: "*.mustache", not hidden (editors leave ".#x.mustache"). */
static int is_template_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name), k = sizeof TMPL_EXT - 1;
    return d->d_name[0] != '.' && n > k && strcmp(d->d_name + n - k, TMPL_EXT) == 0;
}

int tmpl_set_load_dir(tmpl_set *set, const char *dir, tmpl_err *err)
{
    struct dirent **list = NULL;
    /* Sorted, so that which file fails first does not depend on the disk. */
    int n = scandir(dir, &list, is_template_file, alphasort);
    if (n < 0) {
        err_put(err, dir, 0, "cannot read template directory: %s", strerror(errno));
        return -1;
    }
    int loaded = 0;
    char *src = NULL;
    buf path;
    buf_init(&path);
    for (int i = 0; i < n; i++) {
        char *fname = list[i]->d_name;
        size_t len;
        buf_reset(&path);
        buf_printf(&path, "%s/%s", dir, fname);
        if (path.err) {
            err_put(err, fname, 0, "out of memory");
            loaded = -1;
            goto done;
        }
        if (file_read(path.p, &src, &len)) {
            err_put(err, fname, 0, "cannot read %s: %s", path.p, strerror(errno));
            loaded = -1;
            goto done;
        }
        fname[strlen(fname) - (sizeof TMPL_EXT - 1)] = '\0';  /* the name */
        if (tmpl_set_add(set, fname, src, len, err)) {
            loaded = -1;
            goto done;
        }
        free(src);
        src = NULL;
        loaded++;
    }
done:
    free(src);
    buf_fini(&path);
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
    return loaded;
}

/* ============================================================= renderer */

/* One level of the context stack: the value a section pushed. */
typedef struct ctx {
    const void *v;
    const struct ctx *up;
} ctx;

/* Indentation for each template line, outermost first: standalone partials
 * nest, and each adds its own. */
typedef struct indent {
    span s;
    const struct indent *outer;
} indent;

/* A parent being expanded: where to look for block overrides. */
typedef struct scope {
    const node *parent;
    const tmpl *t;          /* the template the parent tag is in */
    const struct scope *outer;
} scope;

/* Where a list of nodes is being rendered. */
typedef struct env {
    const tmpl *t;          /* the template the nodes belong to, for errors */
    const ctx *cx;
    const scope *sc;
    const indent *ind;
} env;

typedef struct renderer {
    const tmpl_set *set;
    const tmpl_data_ops *ops;
    buf *out;
    buf scratch;            /* escaping and dynamic names */
    tmpl_err *err;
    int depth;              /* sections, partials, parents, blocks entered */
    int skip_indent;        /* this line's indentation is already written */
} renderer;

static int render_nodes(renderer *r, const node *kids, size_t n, const env *e);

__attribute__((format(printf, 4, 5)))
static int render_fail(renderer *r, const tmpl *t, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vput(r->err, t->name, line, fmt, ap);
    va_end(ap);
    return -1;
}

static tmpl_kind value_kind(const renderer *r, const void *v)
{
    return v ? r->ops->kind(v) : TMPL_MISSING;
}

/* Resolve a name against the context stack. The first part is searched from
 * the innermost context outwards; the rest only inside what it found, so a
 * broken chain is a miss, never a value from further out ("Dotted Names -
 * Context Precedence"). */
static const void *ctx_lookup(const renderer *r, const ctx *cx, const tag_name *nm)
{
    if (nm->nparts == 0) return cx->v;
    const tmpl_data_ops *ops = r->ops;
    const span *part = nm->parts;
    const void *v = NULL;
    for (; cx && !v; cx = cx->up)
        if (cx->v) v = ops->get(cx->v, part[0].p, part[0].n);
    for (size_t i = 1; v && i < nm->nparts; i++) v = ops->get(v, part[i].p, part[i].n);
    return v;
}

static void indent_write(buf *out, const indent *ind)
{
    if (!ind) return;
    indent_write(out, ind->outer);
    buf_add(out, ind->s.p, ind->s.n);
}

/* Before a node: indent if it starts a template line, unless the line's
 * indentation was already written (the first line of an inline block). */
static void line_start(renderer *r, const node *n, const env *e)
{
    if (!n->bol) return;
    if (!r->skip_indent) indent_write(r->out, e->ind);
    r->skip_indent = 0;
}

static void render_text(renderer *r, const node *n, const env *e)
{
    const char *p = n->text.p, *end = p + n->text.n;
    r->skip_indent = 0;
    if (e->ind) {
        const char *nl;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) && nl + 1 < end) {
            buf_add(r->out, p, (size_t)(nl + 1 - p));
            indent_write(r->out, e->ind);
            p = nl + 1;
        }
    }
    buf_add(r->out, p, (size_t)(end - p));
}

static int needs_escape(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        switch (s[i]) {
        case '&': case '<': case '>': case '"': case '\'': return 1;
        default: break;
        }
    return 0;
}

/* {{x}} and {{{x}}}. Scalars only: lists and maps have no text. */
static void render_value(renderer *r, const node *n, const env *e)
{
    r->skip_indent = 0;
    const void *v = ctx_lookup(r, e->cx, &n->nm);
    tmpl_kind k = value_kind(r, v);
    if (k == TMPL_MISSING || k == TMPL_NULL || k == TMPL_LIST || k == TMPL_MAP) return;
    buf *out = r->out;
    size_t start = out->len;
    r->ops->text(v, out);
    if (n->type == NODE_RAW || out->err || out->len == start ||
        !needs_escape(out->p + start, out->len - start))
        return;
    /* Most values have nothing to escape, so they are appended raw and only
     * the rare others are moved out and escaped back in. buf has no
     * truncate; its fields are public and this keeps its invariants. */
    buf_reset(&r->scratch);
    buf_add(&r->scratch, out->p + start, out->len - start);
    out->len = start;
    out->p[start] = '\0';
    if (r->scratch.err) {
        out->err = 1;
        return;
    }
    buf_add_html(out, r->scratch.p, r->scratch.len);
}

/* Count one more level of nesting, or fail: recursion is bounded so that a
 * template that includes itself ends in an error, not a stack overflow. */
static int depth_enter(renderer *r, const env *e, const node *n)
{
    if (r->depth < TMPL_MAX_DEPTH) {
        r->depth++;
        return 0;
    }
    const char *what = "section", *hint = "";
    switch (n->type) {
    case NODE_PARTIAL: what = "partial"; hint = " (does it include itself?)"; break;
    case NODE_PARENT:  what = "parent";  hint = " (does it include itself?)"; break;
    case NODE_BLOCK:   what = "block";   break;
    default: break;
    }
    return render_fail(r, e->t, n->line, "%s \"%s%.*s\" nested deeper than %d levels%s",
                       what, n->dynamic ? "*" : "", (int)n->nm.full.n, n->nm.full.p,
                       TMPL_MAX_DEPTH, hint);
}

static int render_section(renderer *r, const node *n, const env *e)
{
    const void *v = ctx_lookup(r, e->cx, &n->nm);
    tmpl_kind k = value_kind(r, v);
    size_t count = k == TMPL_LIST ? r->ops->count(v) : 0;
    int truthy = !(k == TMPL_MISSING || k == TMPL_NULL || k == TMPL_FALSE ||
                   (k == TMPL_LIST && count == 0));
    if (truthy == (n->type == NODE_INVERTED)) return 0;
    if (depth_enter(r, e, n)) return -1;
    int rc = 0;
    if (n->type == NODE_INVERTED) {
        rc = render_nodes(r, n->kids, n->nkids, e);
    } else {
        ctx c = { v, e->cx };
        env sub = *e;
        sub.cx = &c;
        if (k != TMPL_LIST) {
            rc = render_nodes(r, n->kids, n->nkids, &sub);
        } else {
            for (size_t i = 0; i < count && rc == 0; i++) {
                c.v = r->ops->item(v, i);
                rc = render_nodes(r, n->kids, n->nkids, &sub);
            }
        }
    }
    r->depth--;
    return rc;
}

/* The template a partial or parent names, or NULL (renders as nothing). A
 * dynamic name is the text of a value, like an interpolation of it. */
static const tmpl *include_target(renderer *r, const node *n, const env *e)
{
    if (!n->dynamic) return set_find(r->set, n->nm.full.p, n->nm.full.n, n->nm.hash);
    const void *v = ctx_lookup(r, e->cx, &n->nm);
    tmpl_kind k = value_kind(r, v);
    if (k == TMPL_MISSING || k == TMPL_NULL || k == TMPL_LIST || k == TMPL_MAP) return NULL;
    buf_reset(&r->scratch);
    r->ops->text(v, &r->scratch);
    if (r->scratch.err) {
        r->out->err = 1;      /* reported as out of memory */
        return NULL;
    }
    if (r->scratch.len == 0) return NULL;
    return set_find(r->set, r->scratch.p, r->scratch.len,
                    name_hash(r->scratch.p, r->scratch.len));
}

/* {{>x}} and {{<x}}...{{/x}}: render another template in the current
 * context. A parent also makes its block overrides visible to it. */
static int render_include(renderer *r, const node *n, const env *e)
{
    const tmpl *t = include_target(r, n, e);
    if (!t) return 0;
    if (depth_enter(r, e, n)) return -1;
    indent ind = { n->indent, e->ind };
    scope sc = { n, e->t, e->sc };
    env sub = { t, e->cx, n->type == NODE_PARENT ? &sc : e->sc, NULL };
    /* Only a standalone tag indents what it includes; inline, the included
     * text is not a line of this template. */
    if (n->standalone) sub.ind = n->indent.n ? &ind : e->ind;
    int rc = render_nodes(r, t->kids, t->nkids, &sub);
    r->depth--;
    return rc;
}

/* The override for block nm from the outermost parent being expanded that
 * has one: the spec gives the top-level template precedence. */
static const node *override_find(const scope *sc, const tag_name *nm, const scope **owner)
{
    const node *found = NULL;
    for (; sc; sc = sc->outer) {
        const node *p = sc->parent;
        for (size_t i = 0; i < p->nkids; i++) {
            if (span_eq(p->kids[i].nm.full, nm->full)) {
                found = &p->kids[i];
                *owner = sc;
                break;
            }
        }
    }
    return found;
}

/* {{$x}}...{{/x}} outside a parent: the override if a parent supplies one,
 * else the default content. An override is rendered in the context of this
 * place, with this block's indentation. */
static int render_block(renderer *r, const node *n, const env *e)
{
    const scope *owner = NULL;
    const node *ov = override_find(e->sc, &n->nm, &owner);
    if (depth_enter(r, e, n)) return -1;
    int rc;
    if (!ov) {
        rc = render_nodes(r, n->kids, n->nkids, e);
    } else {
        indent ind = { n->indent, e->ind };
        env sub = { owner->t, e->cx, e->sc, n->indent.n ? &ind : e->ind };
        /* Inline, the blanks before the tag indent the first line already. */
        r->skip_indent = !n->standalone;
        rc = render_nodes(r, ov->kids, ov->nkids, &sub);
        r->skip_indent = 0;
    }
    r->depth--;
    return rc;
}

static int render_node(renderer *r, const node *n, const env *e)
{
    line_start(r, n, e);
    switch (n->type) {
    case NODE_TEXT:
        render_text(r, n, e);
        return 0;
    case NODE_VAR:
    case NODE_RAW:
        render_value(r, n, e);
        return 0;
    case NODE_SECTION:
    case NODE_INVERTED:
        return render_section(r, n, e);
    case NODE_PARTIAL:
    case NODE_PARENT:
        return render_include(r, n, e);
    case NODE_BLOCK:
        return render_block(r, n, e);
    }
    return 0;
}

static int render_nodes(renderer *r, const node *kids, size_t n, const env *e)
{
    for (size_t i = 0; i < n; i++) {
        if (r->out->err)
            return render_fail(r, e->t, kids[i].line, "out of memory or output too large");
        if (render_node(r, &kids[i], e)) return -1;
    }
    return 0;
}

int tmpl_render(const tmpl_set *set, const char *name,
                const tmpl_data_ops *ops, const void *root,
                buf *out, tmpl_err *err)
{
    size_t len = strlen(name);
    const tmpl *t = set_find(set, name, len, name_hash(name, len));
    if (!t) {
        err_put(err, name, 0, "no such template");
        return -1;
    }
    renderer r = { .set = set, .ops = ops, .out = out, .err = err };
    buf_init(&r.scratch);
    ctx top = { root, NULL };
    env e = { t, &top, NULL, NULL };
    int rc = render_nodes(&r, t->kids, t->nkids, &e);
    if (rc == 0 && out->err) rc = render_fail(&r, t, 0, "out of memory or output too large");
    buf_fini(&r.scratch);
    return rc;
}
