/* auth: who is asking and what they may do.
 *
 * A principal is a signed-in user (cookie) or an API token (bearer). Its
 * grants (role, project or all) are loaded from the database on every request,
 * so a grant or a revocation takes effect at once. Passwords are hashed with
 * libsodium's crypto_pwhash_str (Argon2id); tokens and cookie values are
 * random and stored only as BLAKE2b-256 hashes. */
#ifndef FD_AUTH_H
#define FD_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct arena;

typedef enum perm {
    PERM_NONE = 0,  /* anyone, signed in or not */
    PERM_PAGES,     /* open the sessions pages */
    PERM_READ,      /* read session data */
    PERM_WRITE,     /* edit name, description, metadata; hide events */
    PERM_PAUSE,     /* pause and resume */
    PERM_CANCEL,
    PERM_DELETE,
    PERM_INPUT,     /* messages, client tool results, manual tasks */
    PERM_RUNTIME,   /* create sessions, append events */
    PERM_ADMIN,
    PERM_METRICS,   /* GET /metrics: admins and metrics tokens */
    PERM__COUNT
} perm;

typedef enum role {
    ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN, ROLE_RUNTIME,
    ROLE_METRICS, /* a monitoring system's scraper: /metrics and nothing else */
    ROLE__COUNT
} role;

typedef struct auth_grant {
    role        role;
    const char *project;  /* NULL = every project */
} auth_grant;

#define AUTH_MAX_GRANTS 32

typedef struct principal {
    /* SHARE: a read-only share link, holding its sharer's grants (see share.h). */
    enum { PRINCIPAL_NONE, PRINCIPAL_USER, PRINCIPAL_TOKEN, PRINCIPAL_SHARE } kind;
    int64_t     id;        /* users.id or api_tokens.id */
    const char *name;      /* username or token name (arena) */
    const char *csrf;      /* the sign-in's CSRF token (users only) */
    auth_grant  grants[AUTH_MAX_GRANTS];
    size_t      ngrants;
} principal;

const char *role_name(role r);
/* Role by name; -1 when unknown. */
int role_parse(const char *name);
const char *perm_name(perm p);

/* May p do `what` on sessions of `project`? (project NULL: on any project at
 * all, which is what a route-level check asks.) */
int auth_can(const principal *p, perm what, const char *project);
/* May p do `what` on every project (no per-project filter needed)? */
int auth_can_all(const principal *p, perm what);
/* The projects where p may do `what`, as a JSON array text in the arena
 * (for `project IN (SELECT value FROM json_each(?))`). */
const char *auth_projects_json(struct arena *a, const principal *p, perm what);
/* "user:alice", "token:ci" or "anonymous": for audit and activity entries. */
const char *auth_actor(struct arena *a, const principal *p);

/* Random URL-safe string of n chars (n < 128) from libsodium, into out
 * (n + 1 bytes). */
void auth_random_id(char *out, size_t n);
/* BLAKE2b-256 of a secret, as stored in token_hash / id_hash. */
void auth_hash_secret(const char *secret, size_t len, unsigned char out[32]);
/* Constant-time string comparison; 1 when equal. */
int auth_equal(const char *a, const char *b);

/* Room for a password hash (libsodium's crypto_pwhash_STRBYTES). */
#define AUTH_PASSWORD_HASH_MAX 128
/* Argon2id hash of a password into out (AUTH_PASSWORD_HASH_MAX). 0 or -1. */
int auth_password_hash(const char *password, char *out, size_t outlen);
/* 1 when password matches the stored hash (made with any parameters). */
int auth_password_verify(const char *stored, const char *password);
/* 1 when the stored hash was made with other parameters than
 * auth_password_hash uses now (hash the password anew at sign-in). */
int auth_password_stale(const char *stored);

/* Library set-up; call once at start. 0 or -1. */
int auth_init(void);

#endif
