/* Unit tests for cgi/arena.c: the per-request bump allocator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "harness.h"

static int aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

TEST(test_new_and_free)
{
    arena *a = arena_new();
    CHECK(a != NULL);
    arena_free(a);
    arena_free(NULL); /* safe */
}

TEST(test_small_allocs_distinct_aligned)
{
    arena *a = arena_new();
    unsigned char *p1 = arena_alloc(a, 1);
    unsigned char *p2 = arena_alloc(a, 1);
    unsigned char *p3 = arena_alloc(a, 17);
    unsigned char *p0 = arena_alloc(a, 0); /* zero bytes still gives a usable pointer */
    CHECK(p1 && p2 && p3 && p0);
    CHECK(p1 != p2 && p2 != p3 && p3 != p0);
    CHECK(aligned16(p1) && aligned16(p2) && aligned16(p3) && aligned16(p0));
    /* Writing the full size of one must not touch the next. */
    memset(p3, 0xAB, 17);
    *p1 = 1;
    *p2 = 2;
    CHECK_INT(*p1, 1);
    CHECK_INT(*p2, 2);
    CHECK_INT(p3[16], 0xAB);
    arena_free(a);
}

TEST(test_many_allocs_across_blocks)
{
    /* 5000 x 100 bytes is ~500 KB: dozens of 16 KB blocks. Each allocation
     * keeps its own content. */
    enum { N = 5000, SZ = 100 };
    arena *a = arena_new();
    unsigned char **ptrs = malloc(N * sizeof *ptrs);
    int ok = 1;
    for (int i = 0; i < N; i++) {
        ptrs[i] = arena_alloc(a, SZ);
        if (!ptrs[i] || !aligned16(ptrs[i]) || !all_zero(ptrs[i], SZ)) ok = 0;
        else memset(ptrs[i], i & 0xff, SZ);
    }
    CHECK(ok);
    int intact = 1;
    for (int i = 0; i < N && ok; i++)
        for (int k = 0; k < SZ; k++)
            if (ptrs[i][k] != (unsigned char)(i & 0xff)) intact = 0;
    CHECK(intact);
    free(ptrs);
    arena_free(a);
}

TEST(test_large_alloc)
{
    arena *a = arena_new();
    char *small = arena_strdup(a, "before");
    /* Larger than a block (16 KB) and than half of one. */
    size_t big = 100000;
    unsigned char *p = arena_alloc(a, big);
    CHECK(p != NULL);
    CHECK(aligned16(p));
    CHECK(all_zero(p, big));
    memset(p, 0x7f, big); /* ASan: the whole range is ours */
    char *after = arena_strdup(a, "after");
    CHECK_STR(small, "before");
    CHECK_STR(after, "after");
    CHECK_INT(p[big - 1], 0x7f);
    /* A request of exactly one block, and of just over half a block. */
    unsigned char *q = arena_alloc(a, 16384);
    unsigned char *r = arena_alloc(a, 8193);
    CHECK(q && r);
    CHECK(all_zero(q, 16384) && all_zero(r, 8193));
    memset(q, 1, 16384);
    memset(r, 2, 8193);
    CHECK_INT(p[0], 0x7f);
    arena_free(a);
}

TEST(test_absurd_alloc_refused)
{
    arena *a = arena_new();
    CHECK(arena_alloc(a, SIZE_MAX) == NULL);
    CHECK(arena_alloc(a, SIZE_MAX / 2 + 1) == NULL);
    /* The arena still works afterwards. */
    CHECK_STR(arena_strdup(a, "ok"), "ok");
    arena_free(a);
}

TEST(test_zeroed_after_reuse)
{
    /* Memory handed out after clear was dirty before: it must come back zeroed. */
    arena *a = arena_new();
    unsigned char *p = arena_alloc(a, 4096);
    memset(p, 0xFF, 4096);
    unsigned char *big = arena_alloc(a, 40000);
    memset(big, 0xEE, 40000);
    arena_clear(a);
    unsigned char *q = arena_alloc(a, 4096);
    CHECK(q != NULL);
    CHECK(all_zero(q, 4096));
    unsigned char *q2 = arena_alloc(a, 40000);
    CHECK(q2 != NULL);
    CHECK(all_zero(q2, 40000));
    arena_free(a);
}

TEST(test_strndup_strdup)
{
    arena *a = arena_new();
    char *s = arena_strndup(a, "hello world", 5);
    CHECK_STR(s, "hello");
    CHECK_INT(strlen(s), 5);
    s = arena_strndup(a, "abc", 0);
    CHECK_STR(s, "");
    /* Embedded NUL: copies exactly n bytes and terminates. */
    s = arena_strndup(a, "a\0bc", 4);
    CHECK(s && memcmp(s, "a\0bc", 4) == 0 && s[4] == '\0');
    const char *orig = "copy me";
    char *d = arena_strdup(a, orig);
    CHECK_STR(d, orig);
    CHECK(d != orig);
    CHECK(arena_strdup(a, NULL) == NULL);
    /* A long string spills into a new block. */
    char longs[20000];
    memset(longs, 'z', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    d = arena_strdup(a, longs);
    CHECK_STR(d, longs);
    arena_free(a);
}

TEST(test_printf)
{
    arena *a = arena_new();
    char *s = arena_printf(a, "%s-%d-%05.2f", "x", 42, 3.14159);
    CHECK_STR(s, "x-42-03.14");
    CHECK_STR(arena_printf(a, "%s", ""), "");
    /* Long output (bigger than a block). */
    char *l = arena_printf(a, "[%030000d]", 5);
    CHECK(l != NULL);
    CHECK_INT(strlen(l), 30002);
    CHECK(l[0] == '[' && l[1] == '0' && l[30000] == '5' && l[30001] == ']');
    CHECK_STR(s, "x-42-03.14"); /* earlier strings untouched */
    arena_free(a);
}

TEST(test_clear_then_reuse)
{
    arena *a = arena_new();
    for (int round = 0; round < 5; round++) {
        /* Fill well past the first block, with a big one in the middle. */
        char *first = arena_printf(a, "round %d", round);
        for (int i = 0; i < 300; i++) {
            char *p = arena_alloc(a, 200);
            CHECK(p != NULL);
            if (!p) break;
            memset(p, 'q', 200);
        }
        char *big = arena_alloc(a, 50000);
        CHECK(big != NULL);
        if (big) memset(big, 'b', 50000);
        char *last = arena_printf(a, "last %d", round);
        char want[32];
        snprintf(want, sizeof want, "round %d", round);
        CHECK_STR(first, want);
        snprintf(want, sizeof want, "last %d", round);
        CHECK_STR(last, want);
        arena_clear(a); /* frees all but the first block; ASan/LSan check the rest */
    }
    arena_clear(a); /* twice in a row */
    char *s = arena_strdup(a, "still works");
    CHECK_STR(s, "still works");
    arena_free(a);
}

TEST(test_clear_reuses_first_block)
{
    /* After clear, the first allocation lands at the start of the kept
     * block: the same address as the very first allocation. */
    arena *a = arena_new();
    void *p = arena_alloc(a, 32);
    for (int i = 0; i < 100; i++) arena_alloc(a, 1000);
    arena_clear(a);
    void *q = arena_alloc(a, 32);
    CHECK(p == q);
    arena_free(a);
}

int main(void)
{
    RUN(test_new_and_free);
    RUN(test_small_allocs_distinct_aligned);
    RUN(test_many_allocs_across_blocks);
    RUN(test_large_alloc);
    RUN(test_absurd_alloc_refused);
    RUN(test_zeroed_after_reuse);
    RUN(test_strndup_strdup);
    RUN(test_printf);
    RUN(test_clear_then_reuse);
    RUN(test_clear_reuses_first_block);
    return DONE();
}
