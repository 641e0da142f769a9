/* fuzz_share: share_check on any token text, against an in-memory database
 * (real migrations) holding a live, a revoked and an expired link and a
 * link of a disabled user, signed with a fixed all-zero key so the seed
 * corpus can hold valid tokens. A token is only accepted when it is, byte
 * for byte, the one share_token makes for its link. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_db.h"
#include "share.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Links 1 (live), 2 (revoked), 3 (expired), 4 (sharer disabled); expiry
 * 4102444800000 ms is 2100-01-01. */
#define FIXTURE \
    "UPDATE app_keys SET key = zeroblob(32) WHERE name = 'share';" \
    "INSERT INTO users (id, username, password_hash, created_at) VALUES (7, 'alice', 'x', 0);" \
    "INSERT INTO users (id, username, password_hash, disabled, created_at) VALUES (8, 'bob', 'x', 1, 0);" \
    "INSERT INTO sessions (id, created_at, updated_at) VALUES ('ses_a', 0, 0), ('ses_b', 0, 0);" \
    "INSERT INTO share_links (id, session_id, created_by, created_at, expires_at, revoked_at) VALUES " \
    "(1, 'ses_a', 7, 0, 4102444800000, NULL), (2, 'ses_a', 7, 0, 4102444800000, 5), " \
    "(3, 'ses_b', 7, 0, 1000, NULL), (4, 'ses_b', 8, 0, 4102444800000, NULL);"

/* One input (the token, cut at a NUL byte as a URL path would never hold
 * one). Always 0; aborts when a non-canonical token is accepted. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_db_setup(FIXTURE);
    if (size > 4 * SHARE_TOKEN_MAX) return 0;
    char token[4 * SHARE_TOKEN_MAX + 1];
    memcpy(token, data, size);
    token[size] = '\0';
    char sid[64 + 1];
    memset(sid, 0, sizeof sid);
    int64_t uid = -1, exp = -1;
    share_status st = share_check(fuzz_db, token, sid, sizeof sid, &uid, &exp);
    if (st == SHARE_OK) {
        long long id = strtoll(token, NULL, 10);
        char want[SHARE_TOKEN_MAX];
        if (share_token(fuzz_db, id, sid, exp, want)) abort();
        if (strcmp(want, token) != 0) abort(); /* accepted a token it never made */
        if (uid != 7 || strcmp(sid, "ses_a") != 0) abort();
    } else if (st != SHARE_INVALID && st != SHARE_EXPIRED && st != SHARE_REVOKED) {
        abort();
    }
    return 0;
}
