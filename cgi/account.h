/* account: users, grants and API tokens — the one implementation behind the
 * CLI (`flightdeck user ...`, `flightdeck token ...`) and the admin pages.
 * Every change is one transaction with its audit entry ("who granted what,
 * when"). Passwords are hashed (Argon2id) and tokens stored as hashes; the
 * clear values never reach the database or the audit. */
#ifndef FD_ACCOUNT_H
#define FD_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* Why an account call refused. */
typedef struct account_err {
    int  status;        /* HTTP-ish: 404, 409, 422, 500 */
    char message[160];
} account_err;

#define ACCOUNT_TOKEN_LEN 44   /* "fdt_" + 40 random characters */

/* Valid names: user [A-Za-z0-9._@-]{1,64}; project [A-Za-z0-9._-]{1,100}. */
int account_username_valid(const char *s);
int account_project_valid(const char *s);

/* A new user with one grant (project NULL = all projects). *id receives the
 * user id. 0, or -1 with *err (409 name taken, 422 bad name/password/role). */
int account_user_create(struct db *d, const char *name, const char *password, const char *role,
                        const char *project, const char *actor, int64_t *id, account_err *err);
/* New password; signs the user out everywhere. */
int account_user_password(struct db *d, int64_t id, const char *password, const char *actor,
                          account_err *err);
/* Disable (signs out everywhere) or enable. */
int account_user_disable(struct db *d, int64_t id, int disabled, const char *actor,
                         account_err *err);
/* Grant role on project (NULL = all) to a user (token_id 0) or token (user_id 0). */
int account_grant(struct db *d, int64_t user_id, int64_t token_id, const char *role,
                  const char *project, const char *actor, account_err *err);
/* Revoke one grant by id. */
int account_revoke(struct db *d, int64_t grant_id, const char *actor, account_err *err);
/* A new token with one grant; the clear token goes to out (ACCOUNT_TOKEN_LEN
 * + 1 bytes) and is never stored. expires_at: ms, or 0 for never. */
int account_token_create(struct db *d, const char *name, const char *role, const char *project,
                         int64_t expires_at, const char *actor, char *out, account_err *err);
/* Revoke a token by id: it stops working at once. */
int account_token_revoke(struct db *d, int64_t id, const char *actor, account_err *err);

#endif
