/* share: read-only share links of a session.
 *
 * A link is /share/TOKEN with TOKEN = "<link id>.<expires ms>.<mac>", mac =
 * base64url HMAC-SHA256 (libsodium) over "share|<link id>|<session id>|
 * <expires>" under the 'share' key of app_keys. The row in share_links lets
 * it be revoked and names the sharer, whose access at view time decides what
 * it shows: a link never shows more than its sharer may read now. */
#ifndef FD_SHARE_H
#define FD_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define SHARE_TOKEN_MAX 96

typedef enum share_status {
    SHARE_OK, SHARE_INVALID, SHARE_EXPIRED, SHARE_REVOKED, SHARE_ERROR
} share_status;

/* The token of link `id` of session `session_id`, expiring at expires (ms),
 * into out (SHARE_TOKEN_MAX bytes). 0, or -1 (no key: database error). */
int share_token(db *d, int64_t id, const char *session_id, int64_t expires, char *out);

/* Create a link of session_id by user_id, valid for ttl_ms from now; writes
 * its token. 0 or -1. */
int share_create(db *d, const char *session_id, int64_t user_id, int64_t ttl_ms, char *token);

/* Check a token: signature, row, expiry, revocation, and that the sharer
 * is still an enabled user. On SHARE_OK, session_id (INGEST_ID_MAX + 1
 * bytes), *user_id and *expires are set. */
share_status share_check(db *d, const char *token, char *session_id, size_t session_len,
                         int64_t *user_id, int64_t *expires);

#endif
