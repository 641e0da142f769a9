/* share: read-only share links. See share.h. */
#include "share.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int share_key(db *d, unsigned char key[crypto_auth_hmacsha256_KEYBYTES])
{
    sqlite3_stmt *st = db_stmt(d, SQL_APP_KEY_GET);
    if (!st) return -1;
    db_bind_text(st, 1, "share");
    int ok = db_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == crypto_auth_hmacsha256_KEYBYTES;
    if (ok) memcpy(key, sqlite3_column_blob(st, 0), crypto_auth_hmacsha256_KEYBYTES);
    sqlite3_reset(st);
    return ok ? 0 : -1;
}

/* The MAC of a link, base64url without padding, into out (>= 44 bytes). */
static int share_mac(db *d, int64_t id, const char *session_id, int64_t expires, char *out, size_t n)
{
    unsigned char key[crypto_auth_hmacsha256_KEYBYTES], mac[crypto_auth_hmacsha256_BYTES];
    if (share_key(d, key)) return -1;
    char msg[256];
    int len = snprintf(msg, sizeof msg, "share|%lld|%s|%lld", (long long)id, session_id, (long long)expires);
    if (len < 0 || (size_t)len >= sizeof msg) return -1;
    crypto_auth_hmacsha256(mac, (const unsigned char *)msg, (unsigned long long)len, key);
    sodium_memzero(key, sizeof key);
    sodium_bin2base64(out, n, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int share_token(db *d, int64_t id, const char *session_id, int64_t expires, char *out)
{
    char mac[64];
    if (share_mac(d, id, session_id, expires, mac, sizeof mac)) return -1;
    snprintf(out, SHARE_TOKEN_MAX, "%lld.%lld.%s", (long long)id, (long long)expires, mac);
    return 0;
}

int share_create(db *d, const char *session_id, int64_t user_id, int64_t ttl_ms, char *token)
{
    int64_t now = db_now_ms(), expires = now + ttl_ms;
    sqlite3_stmt *st = db_stmt(d, SQL_SHARE_INSERT);
    if (!st) return -1;
    db_bind_text(st, 1, session_id);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, expires);
    int64_t id = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (!id) return -1;
    return share_token(d, id, session_id, expires, token);
}

/* A positive decimal number as share_token writes it: digits only, no sign,
 * space or leading zero, at most 18 digits (so it fits int64_t). Sets *v and
 * *end (the first byte after the digits); 0, or -1 when s does not start
 * with one. strtoll alone would also take " +001", so one link would have
 * endless spellings (found by tests/fuzz/fuzz_share). */
static int canon_number(const char *s, long long *v, const char **end)
{
    size_t n = 0;
    long long x = 0;
    if (s[0] < '1' || s[0] > '9') return -1;
    while (s[n] >= '0' && s[n] <= '9') {
        if (++n > 18) return -1;
        x = x * 10 + (s[n - 1] - '0');
    }
    *v = x;
    *end = s + n;
    return 0;
}

share_status share_check(db *d, const char *token, char *session_id, size_t session_len,
                         int64_t *user_id, int64_t *expires)
{
    const char *end;
    if (!token || strlen(token) >= SHARE_TOKEN_MAX) return SHARE_INVALID;
    long long id, exp;
    if (canon_number(token, &id, &end) || *end != '.') return SHARE_INVALID;
    if (canon_number(end + 1, &exp, &end) || *end != '.') return SHARE_INVALID;
    const char *mac = end + 1;

    sqlite3_stmt *st = db_stmt(d, SQL_SHARE_GET);
    if (!st) return SHARE_ERROR;
    sqlite3_bind_int64(st, 1, id);
    int rc = db_step(st);
    if (rc != SQLITE_ROW) { sqlite3_reset(st); return rc == SQLITE_DONE ? SHARE_INVALID : SHARE_ERROR; }
    snprintf(session_id, session_len, "%s", (const char *)sqlite3_column_text(st, 0));
    *user_id = sqlite3_column_int64(st, 1);
    int disabled = sqlite3_column_int(st, 3);
    int64_t row_expires = sqlite3_column_int64(st, 4);
    int revoked = sqlite3_column_type(st, 5) != SQLITE_NULL;
    sqlite3_reset(st);

    /* The signature first: nothing about the row is told to a forger. */
    char want[64];
    if (share_mac(d, id, session_id, exp, want, sizeof want)) return SHARE_ERROR;
    if (strlen(mac) != strlen(want) || sodium_memcmp(mac, want, strlen(want)) != 0 || exp != row_expires)
        return SHARE_INVALID;
    if (revoked || disabled) return SHARE_REVOKED;
    if (db_now_ms() >= row_expires) return SHARE_EXPIRED;
    *expires = row_expires;
    return SHARE_OK;
}
