/* auth: roles, permissions, secrets. See auth.h. */
#include "auth.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "arena.h"
#include "buf.h"

static const char *const role_names[ROLE__COUNT] = {
    [ROLE_VIEWER] = "viewer", [ROLE_OPERATOR] = "operator",
    [ROLE_ADMIN] = "admin", [ROLE_RUNTIME] = "runtime", [ROLE_METRICS] = "metrics",
};

static const char *const perm_names[PERM__COUNT] = {
    [PERM_NONE] = "none", [PERM_PAGES] = "pages", [PERM_READ] = "read",
    [PERM_WRITE] = "write", [PERM_PAUSE] = "pause", [PERM_CANCEL] = "cancel",
    [PERM_DELETE] = "delete", [PERM_INPUT] = "input", [PERM_RUNTIME] = "runtime",
    [PERM_ADMIN] = "admin", [PERM_METRICS] = "metrics",
};

#define P(x) (1u << (x))
/* What each role may do. A runtime reads (it polls its sessions) but does not
 * open pages or act as an operator. */
static const unsigned role_perms[ROLE__COUNT] = {
    [ROLE_VIEWER]   = P(PERM_PAGES) | P(PERM_READ),
    [ROLE_OPERATOR] = P(PERM_PAGES) | P(PERM_READ) | P(PERM_WRITE) | P(PERM_PAUSE) |
                      P(PERM_CANCEL) | P(PERM_INPUT),
    [ROLE_ADMIN]    = ~0u,
    [ROLE_RUNTIME]  = P(PERM_READ) | P(PERM_RUNTIME) | P(PERM_INPUT),
    [ROLE_METRICS]  = P(PERM_METRICS),
};
#undef P

const char *role_name(role r) { return (unsigned)r < ROLE__COUNT ? role_names[r] : "?"; }
const char *perm_name(perm p) { return (unsigned)p < PERM__COUNT ? perm_names[p] : "?"; }

int role_parse(const char *name)
{
    for (int i = 0; name && i < ROLE__COUNT; i++)
        if (strcmp(name, role_names[i]) == 0) return i;
    return -1;
}

static int grant_allows(const auth_grant *g, perm what)
{
    return (unsigned)g->role < ROLE__COUNT && (role_perms[g->role] & (1u << what));
}

int auth_can(const principal *p, perm what, const char *project)
{
    if (what == PERM_NONE) return 1;
    for (size_t i = 0; i < p->ngrants; i++) {
        const auth_grant *g = &p->grants[i];
        if (!grant_allows(g, what)) continue;
        if (!project || !g->project || strcmp(g->project, project) == 0) return 1;
    }
    return 0;
}

int auth_can_all(const principal *p, perm what)
{
    if (what == PERM_NONE) return 1;
    for (size_t i = 0; i < p->ngrants; i++)
        if (!p->grants[i].project && grant_allows(&p->grants[i], what)) return 1;
    return 0;
}

const char *auth_projects_json(arena *a, const principal *p, perm what)
{
    buf b;
    buf_init(&b);
    buf_putc(&b, '[');
    int first = 1;
    for (size_t i = 0; i < p->ngrants; i++) {
        const auth_grant *g = &p->grants[i];
        if (!g->project || !grant_allows(g, what)) continue;
        if (!first) buf_putc(&b, ',');
        first = 0;
        /* Project names are validated as [A-Za-z0-9._-] when granted, but
         * escape anyway: this text is parsed by SQLite's json_each. */
        buf_putc(&b, '"');
        for (const char *s = g->project; *s; s++) {
            if (*s == '"' || *s == '\\') buf_putc(&b, '\\');
            if ((unsigned char)*s >= 0x20) buf_putc(&b, *s);
        }
        buf_putc(&b, '"');
    }
    buf_putc(&b, ']');
    char *out = b.err ? NULL : arena_strndup(a, b.p, b.len);
    buf_fini(&b);
    return out;
}

const char *auth_actor(arena *a, const principal *p)
{
    switch (p->kind) {
    case PRINCIPAL_USER:  return arena_printf(a, "user:%s", p->name);
    case PRINCIPAL_TOKEN: return arena_printf(a, "token:%s", p->name);
    default:              return "anonymous";
    }
}

int auth_init(void) { return sodium_init() < 0 ? -1 : 0; }

void auth_random_id(char *out, size_t n)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    /* One getrandom() per 64 bytes, not one per character (every request
     * draws an id). Bytes >= 248 (4 * 62) are dropped, so every character
     * stays equally likely. */
    unsigned char r[64];
    size_t i = 0;
    while (i < n) {
        randombytes_buf(r, sizeof r);
        for (size_t k = 0; k < sizeof r && i < n; k++)
            if (r[k] < 4 * (sizeof alphabet - 1)) out[i++] = alphabet[r[k] % (sizeof alphabet - 1)];
    }
    out[n] = '\0';
}

void auth_hash_secret(const char *secret, size_t len, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)secret, len, NULL, 0);
}

int auth_equal(const char *a, const char *b)
{
    if (!a || !b) return 0;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) return 0;
    return sodium_memcmp(a, b, la) == 0;
}

/* Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane):
 * libsodium's INTERACTIVE preset takes 64 MiB, which made every sign-in
 * the largest allocation the server ever did. One hash at a time per
 * process, so a burst of sign-ins queues instead of multiplying that
 * memory (and cannot exhaust it). */
#define PW_OPSLIMIT 2
#define PW_MEMLIMIT ((size_t)19 << 20)
_Static_assert(AUTH_PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "room for a hash");
static pthread_mutex_t pw_lock = PTHREAD_MUTEX_INITIALIZER;

int auth_password_hash(const char *password, char *out, size_t outlen)
{
    if (outlen < crypto_pwhash_STRBYTES) return -1;
    pthread_mutex_lock(&pw_lock);
    int rc = crypto_pwhash_str(out, password, strlen(password), PW_OPSLIMIT, PW_MEMLIMIT);
    pthread_mutex_unlock(&pw_lock);
    return rc == 0 ? 0 : -1;
}

int auth_password_verify(const char *stored, const char *password)
{
    if (!stored || !password) return 0;
    pthread_mutex_lock(&pw_lock);
    int rc = crypto_pwhash_str_verify(stored, password, strlen(password));
    pthread_mutex_unlock(&pw_lock);
    return rc == 0;
}

int auth_password_stale(const char *stored)
{
    return crypto_pwhash_str_needs_rehash(stored, PW_OPSLIMIT, PW_MEMLIMIT) != 0;
}
