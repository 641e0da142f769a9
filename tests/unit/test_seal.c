/* seal.c, seal_db.c: a sealed value opens only with its key and at its
 * place; any change to it is refused; the key file is made 0600 and a
 * loose or malformed one is refused; keys rotate with old values readable
 * until re-encrypted; the SQL functions and migration 011's triggers seal,
 * open and keep payloads out of the search index. */
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "harness.h"
#include "seal.h"
#include "seal_db.h"
#include "testdb.h"

static char dir[64];
static char keypath[128];

static void write_file(const char *p, const char *text, mode_t mode)
{
    unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return;
    if (write(fd, text, strlen(text)) < 0) perror("write");
    fchmod(fd, mode);
    close(fd);
}

static seal_keyring *ring_with(uint32_t id, unsigned char fill)
{
    unsigned char key[SEAL_KEY_BYTES];
    memset(key, fill, sizeof key);
    seal_keyring *k = seal_keyring_new();
    if (k && seal_keyring_add(k, id, key)) { seal_keyring_free(k); return NULL; }
    return k;
}

static const char AD[] = "events.body\x1fses_a\x1f" "7";

TEST(test_round_trip)
{
    seal_keyring *k = ring_with(1, 0x11);
    CHECK(k != NULL);
    const char *msg = "{\"content\":\"hello, sealed world\"}";
    unsigned char *c = NULL, *m = NULL;
    size_t cn = 0, mn = 0;
    int blob = -1;
    CHECK_INT(seal_value(k, 0, msg, strlen(msg), AD, sizeof AD - 1, &c, &cn), 0);
    CHECK_INT(cn, strlen(msg) + SEAL_OVERHEAD);
    CHECK(seal_is_sealed(c, cn));
    CHECK_INT(seal_value_key_id(c, cn), 1);
    CHECK(memmem(c, cn, "hello", 5) == NULL);
    CHECK_INT(seal_open_value(k, c, cn, AD, sizeof AD - 1, &m, &mn, &blob), 0);
    CHECK_INT(mn, strlen(msg));
    CHECK_STR((char *)m, msg);
    CHECK_INT(blob, 0);
    free(m);
    /* Two seals of one value differ (a nonce each). */
    unsigned char *c2 = NULL;
    size_t cn2 = 0;
    CHECK_INT(seal_value(k, 0, msg, strlen(msg), AD, sizeof AD - 1, &c2, &cn2), 0);
    CHECK(cn2 == cn && memcmp(c, c2, cn) != 0);
    free(c2);
    free(c);
    /* A blob, empty or with NULs, keeps its type and bytes. */
    const unsigned char bin[] = { 0, 1, 2, 0xFD, 'S', 'L', '1', 0 };
    CHECK_INT(seal_value(k, 1, bin, sizeof bin, "a", 1, &c, &cn), 0);
    CHECK_INT(seal_open_value(k, c, cn, "a", 1, &m, &mn, &blob), 0);
    CHECK_INT(blob, 1);
    CHECK(mn == sizeof bin && memcmp(m, bin, mn) == 0);
    free(m);
    free(c);
    CHECK_INT(seal_value(k, 1, "", 0, "a", 1, &c, &cn), 0);
    CHECK_INT(seal_open_value(k, c, cn, "a", 1, &m, &mn, &blob), 0);
    CHECK_INT(mn, 0);
    free(m);
    free(c);
    seal_keyring_free(k);
    seal_keyring_free(NULL);
}

TEST(test_tampering_refused)
{
    seal_keyring *k = ring_with(1, 0x22);
    const char *msg = "tool arguments";
    unsigned char *c = NULL, *m = NULL;
    size_t cn = 0, mn = 0;
    int blob;
    CHECK_INT(seal_value(k, 0, msg, strlen(msg), AD, sizeof AD - 1, &c, &cn), 0);
    /* Every single flipped byte, header, nonce, ciphertext or tag: refused
     * (a flipped key id names a key the ring does not hold: -2). */
    int refused = 0;
    for (size_t i = 0; i < cn; i++) {
        c[i] ^= 0x01;
        int rc = seal_open_value(k, c, cn, AD, sizeof AD - 1, &m, &mn, &blob);
        if (rc != 0) refused++;
        else free(m);
        c[i] ^= 0x01;
    }
    CHECK_INT(refused, (long long)cn);
    /* Another place (row, column) refuses it. */
    const char other[] = "events.body\x1fses_a\x1f" "8";
    CHECK_INT(seal_open_value(k, c, cn, other, sizeof other - 1, &m, &mn, &blob), -1);
    const char col[] = "tool_calls.result\x1fses_a\x1f" "7";
    CHECK_INT(seal_open_value(k, c, cn, col, sizeof col - 1, &m, &mn, &blob), -1);
    /* Truncated: by one byte, to the header, to nothing. */
    CHECK_INT(seal_open_value(k, c, cn - 1, AD, sizeof AD - 1, &m, &mn, &blob), -1);
    CHECK_INT(seal_open_value(k, c, SEAL_OVERHEAD - 1, AD, sizeof AD - 1, &m, &mn, &blob), -1);
    CHECK_INT(seal_open_value(k, c, 0, AD, sizeof AD - 1, &m, &mn, &blob), -1);
    /* Appended bytes. */
    unsigned char *longer = malloc(cn + 1);
    memcpy(longer, c, cn);
    longer[cn] = 0;
    CHECK_INT(seal_open_value(k, longer, cn + 1, AD, sizeof AD - 1, &m, &mn, &blob), -1);
    free(longer);
    CHECK(m == NULL);
    free(c);
    seal_keyring_free(k);
}

TEST(test_wrong_key_refused)
{
    seal_keyring *k = ring_with(1, 0x33), *same_id = ring_with(1, 0x34), *other_id = ring_with(2, 0x33);
    unsigned char *c = NULL, *m = NULL;
    size_t cn = 0, mn = 0;
    int blob;
    CHECK_INT(seal_value(k, 0, "x", 1, "p", 1, &c, &cn), 0);
    CHECK_INT(seal_open_value(same_id, c, cn, "p", 1, &m, &mn, &blob), -1);
    CHECK_INT(seal_open_value(other_id, c, cn, "p", 1, &m, &mn, &blob), -2);
    CHECK_INT(seal_open_value(NULL, c, cn, "p", 1, &m, &mn, &blob), -2);
    /* An empty ring seals nothing. */
    seal_keyring *empty = seal_keyring_new();
    unsigned char *c2 = NULL;
    size_t cn2;
    CHECK_INT(seal_value(empty, 0, "x", 1, "p", 1, &c2, &cn2), -1);
    CHECK(c2 == NULL);
    free(c);
    seal_keyring_free(k);
    seal_keyring_free(same_id);
    seal_keyring_free(other_id);
    seal_keyring_free(empty);
}

TEST(test_key_file_created_0600)
{
    char err[256] = "";
    unlink(keypath);
    CHECK_INT(seal_configure(1, keypath, err, sizeof err), 0);
    struct stat st;
    CHECK_INT(stat(keypath, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK(seal_enabled());
    CHECK_INT(seal_current_key(), 1);
    seal_keyring *k = NULL;
    CHECK_INT(seal_keyring_load(keypath, &k, err, sizeof err), 0);
    CHECK_INT(seal_keyring_count(k), 1);
    seal_keyring_free(k);
    /* A second start reads it; it does not make another. */
    char text[512];
    FILE *f = fopen(keypath, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = 0;
    CHECK_INT(seal_configure(1, keypath, err, sizeof err), 0);
    f = fopen(keypath, "r");
    char again[512];
    size_t n2 = f ? fread(again, 1, sizeof again - 1, f) : 0;
    if (f) fclose(f);
    again[n2] = 0;
    CHECK_STR(again, text);
    /* Off, without a file: nothing is made. */
    char none[160];
    snprintf(none, sizeof none, "%s/none.key", dir);
    CHECK_INT(seal_configure(0, none, err, sizeof err), 0);
    CHECK(access(none, F_OK) != 0);
    CHECK(!seal_enabled());
    CHECK_INT(seal_current_key(), 0);
    /* On without a path is refused. */
    CHECK_INT(seal_configure(1, NULL, err, sizeof err), -1);
    seal_shutdown();
}

TEST(test_key_file_refused)
{
    char err[256] = "", p[160];
    const char *good = "key 1 0101010101010101010101010101010101010101010101010101010101010101\n";
    snprintf(p, sizeof p, "%s/k.key", dir);
    write_file(p, good, 0600);
    CHECK_INT(seal_configure(1, p, err, sizeof err), 0);
    /* Group or other permissions. */
    chmod(p, 0644);
    CHECK_INT(seal_configure(1, p, err, sizeof err), -1);
    CHECK(strstr(err, "group or others") != NULL);
    CHECK_INT(seal_configure(0, p, err, sizeof err), -1); /* off too: the file is read */
    chmod(p, 0640);
    CHECK_INT(seal_configure(1, p, err, sizeof err), -1);
    /* Malformed. */
    static const char *const bad[] = {
        "",                                          /* no key */
        "# only a comment\n",
        "key 1 01\n",                                /* short */
        "key 1 zz01010101010101010101010101010101010101010101010101010101010101\n",
        "key 0 0101010101010101010101010101010101010101010101010101010101010101\n",
        "key x 0101010101010101010101010101010101010101010101010101010101010101\n",
        "kee 1 0101010101010101010101010101010101010101010101010101010101010101\n",
        "key 1 0101010101010101010101010101010101010101010101010101010101010101\n"
        "key 1 0202020202020202020202020202020202020202020202020202020202020202\n", /* twice */
        "key 1 0101010101010101010101010101010101010101010101010101010101010101 extra\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(p, bad[i], 0600);
        err[0] = 0;
        if (seal_configure(1, p, err, sizeof err) != -1) {
            fprintf(stderr, "    accepted malformed key file %zu\n", i);
            CHECK(0);
        }
        CHECK(err[0] != 0);
    }
    /* The message names the line, blank lines counted. */
    write_file(p, "# keys\n\nkey 1 xyz\n", 0600);
    CHECK_INT(seal_configure(1, p, err, sizeof err), -1);
    CHECK(strstr(err, "line 3 is malformed") != NULL);
    /* A symbolic link is not followed. */
    char link_path[176];
    write_file(p, good, 0600);
    snprintf(link_path, sizeof link_path, "%s/link.key", dir);
    unlink(link_path);
    CHECK_INT(symlink(p, link_path), 0);
    CHECK_INT(seal_configure(1, link_path, err, sizeof err), -1);
    unlink(link_path);
    /* Comments, blank lines and CRLF are fine. */
    write_file(p, "# keys\n\n  key 7 0101010101010101010101010101010101010101010101010101010101010101\r\n", 0600);
    CHECK_INT(seal_configure(1, p, err, sizeof err), 0);
    CHECK_INT(seal_current_key(), 7);
    seal_shutdown();
    unlink(p);
}

TEST(test_rotation_two_keys)
{
    seal_keyring *k = ring_with(1, 0x44);
    unsigned char *old = NULL, *fresh = NULL, *m = NULL;
    size_t on = 0, fn = 0, mn = 0;
    int blob;
    CHECK_INT(seal_value(k, 0, "old", 3, "p", 1, &old, &on), 0);
    uint32_t id = 0;
    CHECK_INT(seal_keyring_generate(k, &id), 0);
    CHECK_INT(id, 2);
    CHECK_INT(seal_keyring_current(k), 2);
    CHECK_INT(seal_value(k, 0, "new", 3, "p", 1, &fresh, &fn), 0);
    CHECK_INT(seal_value_key_id(fresh, fn), 2);
    /* Both open while both keys are held. */
    CHECK_INT(seal_open_value(k, old, on, "p", 1, &m, &mn, &blob), 0);
    free(m);
    CHECK_INT(seal_open_value(k, fresh, fn, "p", 1, &m, &mn, &blob), 0);
    free(m);
    /* Saved and read back: both keys, the current one first. */
    char err[256], p[160];
    snprintf(p, sizeof p, "%s/rot.key", dir);
    unlink(p);
    CHECK_INT(seal_keyring_save(k, p, 1, err, sizeof err), 0);
    CHECK_INT(seal_keyring_save(k, p, 1, err, sizeof err), -1); /* exclusive: exists */
    seal_keyring *r = NULL;
    CHECK_INT(seal_keyring_load(p, &r, err, sizeof err), 0);
    CHECK_INT(seal_keyring_count(r), 2);
    CHECK_INT(seal_open_value(r, old, on, "p", 1, &m, &mn, &blob), 0);
    free(m);
    /* The old key dropped: the old value no longer opens, the new one does. */
    seal_keyring_keep_current(r);
    CHECK_INT(seal_keyring_count(r), 1);
    CHECK_INT(seal_keyring_save(r, p, 0, err, sizeof err), 0);
    struct stat st;
    CHECK_INT(stat(p, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    seal_keyring_free(r);
    CHECK_INT(seal_keyring_load(p, &r, err, sizeof err), 0);
    CHECK_INT(seal_open_value(r, old, on, "p", 1, &m, &mn, &blob), -2);
    CHECK_INT(seal_open_value(r, fresh, fn, "p", 1, &m, &mn, &blob), 0);
    free(m);
    seal_keyring_free(r);
    seal_keyring_free(k);
    free(old);
    free(fresh);
    unlink(p);
}

/* One text value of SQL on D. */
static char *sql1(const char *q)
{
    sqlite3_stmt *st;
    char *out = NULL;
    if (sqlite3_prepare_v2(db_handle(D), q, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "    sql: %s\n", sqlite3_errmsg(db_handle(D)));
        return NULL;
    }
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static int sql_ok(const char *q)
{
    char *e = NULL;
    int rc = sqlite3_exec(db_handle(D), q, NULL, NULL, &e);
    if (rc != SQLITE_OK) fprintf(stderr, "    sql: %s\n", e ? e : "?");
    sqlite3_free(e);
    return rc == SQLITE_OK ? 0 : -1;
}

#define CHECK_SQL(q, want) do { char *h_v = sql1(q); CHECK_STR(h_v, want); free(h_v); } while (0)

TEST(test_sql_functions_and_search)
{
    char err[256];
    unlink(keypath);
    CHECK_INT(seal_configure(1, keypath, err, sizeof err), 0);
    /* Round trip through SQL; NULL and '' stay; another place is refused. */
    CHECK_SQL("SELECT fd_open(fd_seal('abc', 't.c', 1), 't.c', 1)", "abc");
    CHECK_SQL("SELECT typeof(fd_seal('abc', 't.c', 1))", "blob");
    CHECK_SQL("SELECT fd_seal('', 't.c', 1)", "");
    CHECK_SQL("SELECT typeof(fd_seal(NULL, 't.c', 1))", "null");
    CHECK_SQL("SELECT fd_size(fd_seal('abcd', 't.c', 1, 2))", "4");
    CHECK_SQL("SELECT fd_key_id(fd_seal('abcd', 't.c', 1, 2))", "1");
    CHECK_SQL("SELECT fd_stale('clear') || fd_stale(fd_seal('x', 't.c', 1))", "10");
    CHECK(sql1("SELECT fd_open(fd_seal('abc', 't.c', 1), 't.c', 2)") == NULL);
    CHECK(strstr(sqlite3_errmsg(db_handle(D)), "cannot be opened") != NULL);
    CHECK(sql1("SELECT fd_seal(fd_seal('abc', 't.c', 1), 't.c', 1)") == NULL); /* never twice */
    /* Writes through the app's statements seal; triggers index only the
     * tool name and the error category; error counts still work. */
    CHECK_INT(sql_ok("INSERT INTO sessions (id, agent, name, prompt, created_at, updated_at) "
                     "VALUES ('ses_s', 'agent-x', 'Run one', fd_seal('secret prompt', 'sessions.prompt', 'ses_s'), 0, 0)"), 0);
    static const char *const bodies[][2] = {
        { "user_message", "{\"content\":\"payloadword\"}" },
        { "tool_call", "{\"tool\":\"lookup_tool\",\"arguments\":{\"q\":\"payloadword\"}}" },
        { "tool_result", "{\"error\":{\"category\":\"timeoutcat\",\"message\":\"payloadword\"}}" },
        { "error", "{\"message\":\"payloadword\"}" },
    };
    for (int i = 0; i < 4; i++) {
        sqlite3_stmt *st = db_stmt(D, SQL_EVENT_INSERT);
        sqlite3_bind_text(st, 1, "ses_s", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, i + 1);
        sqlite3_bind_text(st, 3, bodies[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, 0);
        sqlite3_bind_text(st, 6, "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, bodies[i][1], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, 0);
        CHECK_INT(db_step(st), SQLITE_ROW);
        sqlite3_reset(st);
    }
    CHECK_INT(db_search_flush(D), 0);
    CHECK_SQL("SELECT count(*) FROM events WHERE typeof(body) = 'blob'", "4");
    CHECK_SQL("SELECT count(*) FROM search_events WHERE search_events MATCH 'payloadword'", "0");
    CHECK_SQL("SELECT count(*) FROM search_events WHERE search_events MATCH 'lookup_tool'", "1");
    CHECK_SQL("SELECT count(*) FROM search_events WHERE search_events MATCH 'timeoutcat'", "1");
    CHECK_SQL("SELECT count(*) FROM search_sessions WHERE search_sessions MATCH 'secret'", "0");
    CHECK_SQL("SELECT count(*) FROM search_sessions WHERE search_sessions MATCH 'agent'", "1");
    CHECK_SQL("SELECT error_count FROM sessions WHERE id = 'ses_s'", "2");
    CHECK_SQL("SELECT json_extract(fd_open(body, 'events.body', session_id, seq), '$.tool') FROM events "
              "WHERE seq = 2", "lookup_tool");
    /* A value moved to another row does not open there. */
    CHECK_INT(sql_ok("UPDATE events SET body = (SELECT body FROM events WHERE seq = 1) WHERE seq = 4"), 0);
    CHECK(sql1("SELECT fd_open(body, 'events.body', session_id, seq) FROM events WHERE seq = 4") == NULL);
    CHECK_INT(sql_ok("DELETE FROM events WHERE seq = 4"), 0);

    /* With encryption off (the key file there), sealed values still read,
     * new ones are written in clear, and the search takes payload text. */
    CHECK_INT(seal_configure(0, keypath, err, sizeof err), 0);
    CHECK_SQL("SELECT fd_open(prompt, 'sessions.prompt', id) FROM sessions WHERE id = 'ses_s'", "secret prompt");
    CHECK_SQL("SELECT typeof(fd_seal('abc', 't.c', 1))", "text");
    CHECK_SQL("SELECT fd_stale(prompt) FROM sessions", "0");
    seal_shutdown();
    /* No key at all: a sealed value is refused, clear ones pass. */
    CHECK(sql1("SELECT fd_open(prompt, 'sessions.prompt', id) FROM sessions WHERE id = 'ses_s'") == NULL);
    CHECK_SQL("SELECT fd_open('plain', 'x', 1)", "plain");
}

TEST(test_rotate_online)
{
    char err[256];
    CHECK_INT(seal_configure(1, keypath, err, sizeof err), 0);
    uint32_t before = seal_current_key();
    /* Text indexed while encryption was off leaves the index. */
    CHECK_INT(sql_ok("INSERT INTO search_events (rowid, sid, body) VALUES (1000, 'ses_s', 'payloadword')"), 0);
    CHECK_SQL("SELECT count(*) FROM search_events WHERE search_events MATCH 'payloadword'", "1");
    /* A clear value written while encryption was off gets sealed too. */
    CHECK_INT(sql_ok("INSERT INTO logs (session_id, time, body) VALUES ('ses_s', 0, 'clear log line')"), 0);
    seal_rotation r;
    CHECK_INT(seal_rotate(D, 2, NULL, &r, err, sizeof err), 0);
    CHECK_INT(r.new_key, before + 1);
    CHECK_INT(r.nold, 1);
    CHECK_INT(r.old_keys[0], before);
    CHECK(r.search_rebuilt);
    CHECK(r.total >= 5);
    CHECK_INT(seal_current_key(), before + 1);
    char q[160];
    snprintf(q, sizeof q, "SELECT count(*) FROM events WHERE fd_key_id(body) = %u", (unsigned)(before + 1));
    CHECK_SQL(q, "3");
    CHECK_SQL("SELECT count(*) FROM logs WHERE typeof(body) = 'blob'", "1");
    CHECK_SQL("SELECT fd_open(body, 'logs.body', id) FROM logs", "clear log line");
    CHECK_SQL("SELECT fd_open(prompt, 'sessions.prompt', id) FROM sessions WHERE id = 'ses_s'", "secret prompt");
    CHECK_SQL("SELECT count(*) FROM search_events WHERE search_events MATCH 'lookup_tool'", "1");
    CHECK_SQL("SELECT count(*) FROM search_events WHERE search_events MATCH 'timeoutcat'", "1");
    CHECK_SQL("SELECT count(*) FROM search_events WHERE search_events MATCH 'payloadword'", "0");
    CHECK_SQL("SELECT count(*) FROM search_sessions WHERE search_sessions MATCH 'agent'", "1");
    seal_keyring *k = NULL;
    CHECK_INT(seal_keyring_load(keypath, &k, err, sizeof err), 0);
    CHECK_INT(seal_keyring_count(k), 1);
    CHECK(!seal_keyring_has(k, before));
    seal_keyring_free(k);
    seal_shutdown();
}

TEST(test_backup_keys)
{
    char err[256], live[160], bk[160];
    snprintf(live, sizeof live, "%s/live.key", dir);
    snprintf(bk, sizeof bk, "%s/backup.db.key", dir);
    unlink(live);
    unlink(bk);
    /* No key file: nothing to export. */
    CHECK_INT(seal_configure(0, live, err, sizeof err), 0);
    CHECK_INT(seal_export_keys(bk, 0, err, sizeof err), 0);
    CHECK(access(bk, F_OK) != 0);
    /* Exported 0600; refused over an existing file unless forced. */
    CHECK_INT(seal_configure(1, live, err, sizeof err), 0);
    CHECK_INT(seal_export_keys(bk, 0, err, sizeof err), 1);
    struct stat st;
    CHECK_INT(stat(bk, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(seal_export_keys(bk, 0, err, sizeof err), -1);
    CHECK_INT(seal_export_keys(bk, 1, err, sizeof err), 1);
    /* Importing the same keys changes nothing; another key id is added. */
    CHECK_INT(seal_import_keys(bk, err, sizeof err), 1);
    seal_keyring *k = NULL;
    CHECK_INT(seal_keyring_load(live, &k, err, sizeof err), 0);
    CHECK_INT(seal_keyring_count(k), 1);
    seal_keyring_free(k);
    write_file(bk, "key 9 0909090909090909090909090909090909090909090909090909090909090909\n", 0600);
    CHECK_INT(seal_import_keys(bk, err, sizeof err), 1);
    CHECK_INT(seal_current_key(), 9);
    CHECK_INT(seal_keyring_load(live, &k, err, sizeof err), 0);
    CHECK_INT(seal_keyring_count(k), 2);
    seal_keyring_free(k);
    /* The same id with other bytes: refused, the live file unchanged. */
    write_file(bk, "key 9 0808080808080808080808080808080808080808080808080808080808080808\n", 0600);
    CHECK_INT(seal_import_keys(bk, err, sizeof err), -1);
    CHECK(strstr(err, "key 9 differs") != NULL);
    /* A loose backup key file is refused too. */
    chmod(bk, 0644);
    CHECK_INT(seal_import_keys(bk, err, sizeof err), -1);
    unlink(bk);
    CHECK_INT(seal_import_keys(bk, err, sizeof err), 0); /* none: nothing to do */
    seal_shutdown();
    unlink(live);
}

int main(void)
{
    if (auth_init() || db_setup()) return 1;
    snprintf(dir, sizeof dir, "/tmp/fd_seal_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(keypath, sizeof keypath, "%s/db.key", dir);
    RUN(test_round_trip);
    RUN(test_tampering_refused);
    RUN(test_wrong_key_refused);
    RUN(test_key_file_created_0600);
    RUN(test_key_file_refused);
    RUN(test_rotation_two_keys);
    RUN(test_sql_functions_and_search);
    RUN(test_rotate_online);
    RUN(test_backup_keys);
    unlink(keypath);
    rmdir(dir);
    db_teardown();
    return DONE();
}
