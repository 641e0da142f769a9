/* share.c: tokens are signed, expire, can be revoked, name their creator,
 * and die with the creator's account; a forged or altered token opens
 * nothing. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "harness.h"
#include "share.h"
#include "testdb.h"

static void exec_sql(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db_handle(D), sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "    sql: %s\n", err);
        sqlite3_free(err);
    }
}

static void setup_rows(void)
{
    exec_sql("INSERT INTO users (id, username, password_hash, created_at) VALUES (7, 'alice', 'x', 0);"
             "INSERT INTO sessions (id, created_at, updated_at) VALUES ('ses_a', 0, 0), ('ses_b', 0, 0);");
}

static share_status check(const char *token, char *sid, int64_t *uid)
{
    int64_t exp;
    return share_check(D, token, sid, 65, uid, &exp);
}

TEST(test_round_trip)
{
    char token[SHARE_TOKEN_MAX], sid[65] = "";
    int64_t uid = 0;
    CHECK_INT(share_create(D, "ses_a", 7, 3600000, token), 0);
    CHECK_INT(check(token, sid, &uid), SHARE_OK);
    CHECK_STR(sid, "ses_a");
    CHECK_INT(uid, 7);
    /* The token is derived: the same link gives the same token again. */
    long long id = q_int("SELECT max(id) FROM share_links", NULL);
    long long exp = q_int("SELECT expires_at FROM share_links WHERE id = (SELECT max(id) FROM share_links)", NULL);
    char again[SHARE_TOKEN_MAX];
    CHECK_INT(share_token(D, id, "ses_a", exp, again), 0);
    CHECK_STR(again, token);
}

TEST(test_tampering_refused)
{
    char token[SHARE_TOKEN_MAX], sid[65], bad[SHARE_TOKEN_MAX + 8];
    int64_t uid;
    CHECK_INT(share_create(D, "ses_a", 7, 3600000, token), 0);
    /* Every single-character change of the token is refused. */
    size_t n = strlen(token);
    for (size_t i = 0; i < n; i++) {
        strcpy(bad, token);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        if (!strcmp(bad, token)) continue;
        share_status s = check(bad, sid, &uid);
        if (s == SHARE_OK) fprintf(stderr, "    accepted: %s\n", bad);
        CHECK(s != SHARE_OK);
    }
    /* A later expiry with the old signature, another link's id, garbage. */
    const char *dot = strchr(token, '.');
    snprintf(bad, sizeof bad, "%.*s.9999999999999%s", (int)(dot - token), token, strrchr(token, '.'));
    CHECK_INT(check(bad, sid, &uid), SHARE_INVALID);
    CHECK_INT(check("", sid, &uid), SHARE_INVALID);
    CHECK_INT(check("1.2.3", sid, &uid), SHARE_INVALID);
    CHECK_INT(check("x.y.z", sid, &uid), SHARE_INVALID);
    CHECK_INT(check("99999.1.abc", sid, &uid), SHARE_INVALID);
    char big[400];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_INT(check(big, sid, &uid), SHARE_INVALID);
    /* A token signed for another session does not open this one's row. */
    char tb[SHARE_TOKEN_MAX];
    CHECK_INT(share_create(D, "ses_b", 7, 3600000, tb), 0);
    long long idb = q_int("SELECT max(id) FROM share_links", NULL);
    long long expb = q_int("SELECT expires_at FROM share_links WHERE id = (SELECT max(id) FROM share_links)", NULL);
    char forged[SHARE_TOKEN_MAX];
    CHECK_INT(share_token(D, idb, "ses_a", expb, forged), 0); /* signed for ses_a, but row idb is ses_b */
    CHECK_INT(check(forged, sid, &uid), SHARE_INVALID);
}

TEST(test_expiry_and_revocation)
{
    char token[SHARE_TOKEN_MAX], sid[65];
    int64_t uid;
    CHECK_INT(share_create(D, "ses_a", 7, 3600000, token), 0);
    long long id = q_int("SELECT max(id) FROM share_links", NULL);
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE share_links SET revoked_at = 1 WHERE id = %lld", id);
    exec_sql(sql);
    CHECK_INT(check(token, sid, &uid), SHARE_REVOKED);
    /* Expired: a link created with a negative lifetime. */
    CHECK_INT(share_create(D, "ses_a", 7, -1000, token), 0);
    CHECK_INT(check(token, sid, &uid), SHARE_EXPIRED);
    /* The creator's account closed: the link dies with it. */
    CHECK_INT(share_create(D, "ses_a", 7, 3600000, token), 0);
    exec_sql("UPDATE users SET disabled = 1 WHERE id = 7");
    CHECK_INT(check(token, sid, &uid), SHARE_REVOKED);
    exec_sql("UPDATE users SET disabled = 0 WHERE id = 7");
    CHECK_INT(check(token, sid, &uid), SHARE_OK);
    /* Deleting the session deletes its links. */
    exec_sql("DELETE FROM sessions WHERE id = 'ses_a'");
    CHECK_INT(check(token, sid, &uid), SHARE_INVALID);
}

TEST(test_key_is_random_per_database)
{
    CHECK_INT(q_int("SELECT length(key) FROM app_keys WHERE name = 'share'", NULL), 32);
    CHECK_INT(q_int("SELECT count(*) FROM app_keys WHERE key = zeroblob(32)", NULL), 0);
}

int main(void)
{
    if (auth_init() || db_setup()) return 1;
    setup_rows();
    RUN(test_round_trip);
    RUN(test_tampering_refused);
    RUN(test_expiry_and_revocation);
    RUN(test_key_is_random_per_database);
    db_teardown();
    return DONE();
}
