/* Unit tests for cgi/auth.c: roles, the permission matrix, per-project
 * grants, passwords, random ids and secret hashing. */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "auth.h"
#include "harness.h"

static principal with_grants(const auth_grant *g, size_t n)
{
    principal p;
    memset(&p, 0, sizeof p);
    p.kind = PRINCIPAL_USER;
    p.name = "alice";
    for (size_t i = 0; i < n && i < AUTH_MAX_GRANTS; i++) p.grants[i] = g[i];
    p.ngrants = n;
    return p;
}

static principal one_role(role r, const char *project)
{
    auth_grant g = { r, project };
    return with_grants(&g, 1);
}

TEST(test_init_twice)
{
    /* main() ran it once; a second call is harmless. */
    CHECK_INT(auth_init(), 0);
}

TEST(test_role_names)
{
    static const char *const names[ROLE__COUNT] = {
        [ROLE_VIEWER] = "viewer", [ROLE_OPERATOR] = "operator", [ROLE_ADMIN] = "admin",
        [ROLE_RUNTIME] = "runtime", [ROLE_METRICS] = "metrics",
    };
    for (int r = 0; r < ROLE__COUNT; r++) {
        CHECK_STR(role_name((role)r), names[r]);
        CHECK_INT(role_parse(names[r]), r);
        CHECK_INT(role_parse(role_name((role)r)), r);
    }
    CHECK_INT(role_parse("Admin"), -1);
    CHECK_INT(role_parse("root"), -1);
    CHECK_INT(role_parse(""), -1);
    CHECK_INT(role_parse(NULL), -1);
    CHECK_STR(role_name(ROLE__COUNT), "?");
    CHECK_STR(role_name((role)-1), "?");
}

TEST(test_perm_names)
{
    static const char *const names[PERM__COUNT] = {
        "none", "pages", "read", "write", "pause", "cancel", "delete", "input", "runtime", "admin",
        "metrics",
    };
    for (int p = 0; p < PERM__COUNT; p++) CHECK_STR(perm_name((perm)p), names[p]);
    CHECK_STR(perm_name(PERM__COUNT), "?");
}

/* The matrix of DESIGN.md section 7, role by role. */
static const int matrix[ROLE__COUNT][PERM__COUNT] = {
    /*                 none pages read write pause cancel delete input runtime admin metrics */
    [ROLE_VIEWER]   = { 1,   1,    1,   0,    0,    0,     0,     0,    0,      0,    0 },
    [ROLE_OPERATOR] = { 1,   1,    1,   1,    1,    1,     0,     1,    0,      0,    0 },
    [ROLE_ADMIN]    = { 1,   1,    1,   1,    1,    1,     1,     1,    1,      1,    1 },
    /* A runtime creates and appends, reads its sessions (it polls them) and
     * answers client tool calls; it does not open pages or act as an operator. */
    [ROLE_RUNTIME]  = { 1,   0,    1,   0,    0,    0,     0,     1,    1,      0,    0 },
    /* A scraper reads /metrics and nothing else: no session, no page. */
    [ROLE_METRICS]  = { 1,   0,    0,   0,    0,    0,     0,     0,    0,      0,    1 },
};

TEST(test_perm_matrix)
{
    for (int r = 0; r < ROLE__COUNT; r++) {
        principal all = one_role((role)r, NULL);
        principal proj = one_role((role)r, "shop");
        for (int p = 0; p < PERM__COUNT; p++) {
            int want = matrix[r][p];
            int got = auth_can(&all, (perm)p, NULL);
            if (got != want)
                fprintf(stderr, "    %s / %s: got %d\n", role_name((role)r), perm_name((perm)p), got);
            CHECK_INT(got, want);
            CHECK_INT(auth_can(&all, (perm)p, "any-project"), want);
            CHECK_INT(auth_can_all(&all, (perm)p), want);
            /* The same role on one project: only there. */
            CHECK_INT(auth_can(&proj, (perm)p, "shop"), want);
            CHECK_INT(auth_can(&proj, (perm)p, "other"), p == PERM_NONE ? 1 : 0);
            CHECK_INT(auth_can(&proj, (perm)p, NULL), want);
            CHECK_INT(auth_can_all(&proj, (perm)p), p == PERM_NONE ? 1 : 0);
        }
    }
}

TEST(test_perm_key_cases)
{
    principal viewer = one_role(ROLE_VIEWER, NULL);
    principal op = one_role(ROLE_OPERATOR, NULL);
    principal rt = one_role(ROLE_RUNTIME, NULL);
    principal admin = one_role(ROLE_ADMIN, NULL);
    CHECK(!auth_can(&viewer, PERM_PAUSE, NULL));
    CHECK(!auth_can(&viewer, PERM_CANCEL, NULL));
    CHECK(auth_can(&viewer, PERM_READ, NULL));
    CHECK(auth_can(&op, PERM_PAUSE, NULL));
    CHECK(auth_can(&op, PERM_CANCEL, NULL));
    CHECK(!auth_can(&op, PERM_DELETE, NULL));
    CHECK(!auth_can(&op, PERM_ADMIN, NULL));
    CHECK(!auth_can(&op, PERM_RUNTIME, NULL));
    CHECK(auth_can(&rt, PERM_RUNTIME, NULL));
    CHECK(auth_can(&rt, PERM_READ, NULL));
    CHECK(!auth_can(&rt, PERM_PAGES, NULL));
    CHECK(!auth_can(&rt, PERM_PAUSE, NULL));
    CHECK(!auth_can(&rt, PERM_ADMIN, NULL));
    for (int p = 0; p < PERM__COUNT; p++) CHECK(auth_can(&admin, (perm)p, NULL));
}

TEST(test_no_grants)
{
    principal p;
    memset(&p, 0, sizeof p); /* anonymous */
    CHECK(auth_can(&p, PERM_NONE, NULL));
    CHECK(auth_can_all(&p, PERM_NONE));
    for (int k = 1; k < PERM__COUNT; k++) {
        CHECK(!auth_can(&p, (perm)k, NULL));
        CHECK(!auth_can(&p, (perm)k, "shop"));
        CHECK(!auth_can_all(&p, (perm)k));
    }
    arena *a = arena_new();
    CHECK_STR(auth_projects_json(a, &p, PERM_READ), "[]");
    CHECK_STR(auth_actor(a, &p), "anonymous");
    arena_free(a);
}

TEST(test_bad_role_in_grant)
{
    auth_grant g = { (role)99, NULL };
    principal p = with_grants(&g, 1);
    for (int k = 1; k < PERM__COUNT; k++) CHECK(!auth_can(&p, (perm)k, NULL));
}

TEST(test_project_grants)
{
    /* Operator on shop and billing, viewer on docs, runtime everywhere. */
    const auth_grant g[] = {
        { ROLE_OPERATOR, "shop" }, { ROLE_VIEWER, "docs" }, { ROLE_OPERATOR, "billing" },
        { ROLE_RUNTIME, NULL },
    };
    principal p = with_grants(g, 4);
    CHECK(auth_can(&p, PERM_PAUSE, "shop"));
    CHECK(auth_can(&p, PERM_PAUSE, "billing"));
    CHECK(!auth_can(&p, PERM_PAUSE, "docs"));
    CHECK(!auth_can(&p, PERM_PAUSE, "other"));
    CHECK(auth_can(&p, PERM_PAUSE, NULL)); /* somewhere: the route-level check */
    CHECK(!auth_can_all(&p, PERM_PAUSE));
    CHECK(auth_can(&p, PERM_PAGES, "docs"));
    CHECK(!auth_can(&p, PERM_PAGES, "other"));
    /* read comes with the all-projects runtime grant */
    CHECK(auth_can(&p, PERM_READ, "other"));
    CHECK(auth_can_all(&p, PERM_READ));
    CHECK(auth_can_all(&p, PERM_RUNTIME));
    CHECK(!auth_can(&p, PERM_DELETE, "shop"));
    /* Project names match exactly. */
    CHECK(!auth_can(&p, PERM_PAUSE, "Shop"));
    CHECK(!auth_can(&p, PERM_PAUSE, "shop2"));
    CHECK(!auth_can(&p, PERM_PAUSE, ""));

    arena *a = arena_new();
    CHECK_STR(auth_projects_json(a, &p, PERM_PAUSE), "[\"shop\",\"billing\"]");
    CHECK_STR(auth_projects_json(a, &p, PERM_PAGES), "[\"shop\",\"docs\",\"billing\"]");
    CHECK_STR(auth_projects_json(a, &p, PERM_DELETE), "[]");
    /* The all-projects grant is not a project name. */
    CHECK_STR(auth_projects_json(a, &p, PERM_RUNTIME), "[]");
    arena_free(a);
}

TEST(test_projects_json_escaping)
{
    const auth_grant g[] = { { ROLE_VIEWER, "we\"ird\\name" }, { ROLE_VIEWER, "plain" } };
    principal p = with_grants(g, 2);
    arena *a = arena_new();
    const char *s = auth_projects_json(a, &p, PERM_READ);
    CHECK(s != NULL);
    cJSON *arr = s ? cJSON_Parse(s) : NULL;
    CHECK(cJSON_IsArray(arr));
    CHECK_INT(cJSON_GetArraySize(arr), 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(arr, 0)), "we\"ird\\name");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(arr, 1)), "plain");
    cJSON_Delete(arr);
    arena_free(a);
}

TEST(test_actor)
{
    arena *a = arena_new();
    principal p;
    memset(&p, 0, sizeof p);
    p.kind = PRINCIPAL_USER;
    p.name = "alice";
    CHECK_STR(auth_actor(a, &p), "user:alice");
    p.kind = PRINCIPAL_TOKEN;
    p.name = "ci";
    CHECK_STR(auth_actor(a, &p), "token:ci");
    p.kind = PRINCIPAL_NONE;
    CHECK_STR(auth_actor(a, &p), "anonymous");
    arena_free(a);
}

TEST(test_password_hash_verify)
{
    char h1[crypto_pwhash_STRBYTES], h2[crypto_pwhash_STRBYTES];
    const char *pw = "correct horse battery staple";
    CHECK_INT(auth_password_hash(pw, h1, sizeof h1), 0);
    CHECK(strncmp(h1, "$argon2id$", 10) == 0);
    CHECK(strstr(h1, pw) == NULL);
    CHECK(strstr(h1, "horse") == NULL);
    CHECK_INT(auth_password_verify(h1, pw), 1);
    CHECK_INT(auth_password_verify(h1, "correct horse battery stapl"), 0);
    CHECK_INT(auth_password_verify(h1, "Correct horse battery staple"), 0);
    CHECK_INT(auth_password_verify(h1, ""), 0);
    CHECK_INT(auth_password_verify(h1, NULL), 0);
    CHECK_INT(auth_password_verify(NULL, pw), 0);
    CHECK_INT(auth_password_verify("not a hash", pw), 0);
    /* Salted: the same password hashes differently each time. */
    CHECK_INT(auth_password_hash(pw, h2, sizeof h2), 0);
    CHECK(strcmp(h1, h2) != 0);
    CHECK_INT(auth_password_verify(h2, pw), 1);
    /* A buffer too small is refused. */
    char small[16];
    CHECK_INT(auth_password_hash(pw, small, sizeof small), -1);
    /* Today's parameters (19 MiB, 2 passes); an older hash still verifies
     * and is reported stale, so sign-in stores it anew. */
    CHECK(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    CHECK_INT(auth_password_stale(h1), 0);
    char old[crypto_pwhash_STRBYTES];
    CHECK_INT(crypto_pwhash_str(old, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
    CHECK_INT(auth_password_verify(old, pw), 1);
    CHECK_INT(auth_password_stale(old), 1);
    CHECK_INT(auth_password_stale("not a hash"), 1);
}

static int url_safe_alnum(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

TEST(test_random_id)
{
    char a[128], b[128];
    static const size_t lens[] = { 0, 1, 20, 43, 127 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memset(a, 'X', sizeof a);
        auth_random_id(a, lens[i]);
        CHECK_INT(strlen(a), lens[i]);
        CHECK(url_safe_alnum(a));
    }
    auth_random_id(a, 32);
    auth_random_id(b, 32);
    CHECK(strcmp(a, b) != 0);
    /* Over many draws every class of character shows up (not stuck on one). */
    int lower = 0, upper = 0, digit = 0;
    for (int k = 0; k < 50; k++) {
        auth_random_id(a, 64);
        for (char *s = a; *s; s++) {
            if (*s >= 'a' && *s <= 'z') lower = 1;
            else if (*s >= 'A' && *s <= 'Z') upper = 1;
            else if (*s >= '0' && *s <= '9') digit = 1;
        }
    }
    CHECK(lower && upper && digit);
}

TEST(test_equal)
{
    CHECK_INT(auth_equal("abc", "abc"), 1);
    CHECK_INT(auth_equal("", ""), 1);
    CHECK_INT(auth_equal("abc", "abd"), 0);
    CHECK_INT(auth_equal("abc", "ab"), 0);
    CHECK_INT(auth_equal("ab", "abc"), 0);
    CHECK_INT(auth_equal("abc", ""), 0);
    CHECK_INT(auth_equal(NULL, "abc"), 0);
    CHECK_INT(auth_equal("abc", NULL), 0);
    CHECK_INT(auth_equal(NULL, NULL), 0);
}

static void hex(const unsigned char *h, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

TEST(test_hash_secret)
{
    unsigned char h1[64], h2[64];
    char x[129];
    memset(h1, 0xAA, sizeof h1);
    auth_hash_secret("", 0, h1);
    hex(h1, 32, x);
    CHECK_STR(x, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    /* Exactly 32 bytes written. */
    int untouched = 1;
    for (int i = 32; i < 64; i++)
        if (h1[i] != 0xAA) untouched = 0;
    CHECK(untouched);
    auth_hash_secret("abc", 3, h1);
    hex(h1, 32, x);
    CHECK_STR(x, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    /* Deterministic. */
    auth_hash_secret("fd_tok_secret", 13, h1);
    auth_hash_secret("fd_tok_secret", 13, h2);
    CHECK(memcmp(h1, h2, 32) == 0);
    hex(h1, 32, x);
    CHECK_STR(x, "172c179b56e44afb5cb01f340281e048b871027fd3870a81da4432a5ef971174");
    /* Only len bytes count; different secrets differ. */
    auth_hash_secret("abcdef", 3, h2);
    auth_hash_secret("abc", 3, h1);
    CHECK(memcmp(h1, h2, 32) == 0);
    auth_hash_secret("abd", 3, h2);
    CHECK(memcmp(h1, h2, 32) != 0);
}

int main(void)
{
    if (auth_init()) {
        fprintf(stderr, "auth_init failed\n");
        return 1;
    }
    RUN(test_init_twice);
    RUN(test_role_names);
    RUN(test_perm_names);
    RUN(test_perm_matrix);
    RUN(test_perm_key_cases);
    RUN(test_no_grants);
    RUN(test_bad_role_in_grant);
    RUN(test_project_grants);
    RUN(test_projects_json_escaping);
    RUN(test_actor);
    RUN(test_password_hash_verify);
    RUN(test_random_id);
    RUN(test_equal);
    RUN(test_hash_secret);
    return DONE();
}
