/* Unit tests for cgi/buf.c: the growable string with a sticky error. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness.h"

TEST(test_init_is_empty)
{
    buf b;
    memset(&b, 0x5a, sizeof b);
    buf_init(&b);
    CHECK(b.p == NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.cap, 0);
    CHECK_INT(b.err, 0);
    CHECK_STR(buf_str(&b), "");
    buf_fini(&b);
}

TEST(test_add_puts_putc)
{
    buf b;
    buf_init(&b);
    buf_add(&b, "abc", 3);
    CHECK_INT(b.len, 3);
    CHECK_STR(buf_str(&b), "abc");
    buf_add(&b, "xyz", 0); /* zero-length add: nothing */
    CHECK_INT(b.len, 3);
    buf_puts(&b, "def");
    buf_putc(&b, '!');
    buf_puts(&b, NULL);    /* NULL is ignored */
    buf_puts(&b, "");
    CHECK_STR(buf_str(&b), "abcdef!");
    CHECK_INT(b.len, 7);
    CHECK(b.cap >= b.len + 1);
    CHECK_INT(b.p[b.len], '\0');
    /* Embedded NUL bytes are kept and counted. */
    buf_add(&b, "a\0b", 3);
    CHECK_INT(b.len, 10);
    CHECK(memcmp(b.p + 7, "a\0b", 3) == 0);
    CHECK_INT(b.err, 0);
    buf_fini(&b);
}

TEST(test_growth_many_appends)
{
    buf b;
    buf_init(&b);
    char expect[10001];
    for (int i = 0; i < 10000; i++) {
        char c = (char)('a' + i % 26);
        buf_putc(&b, c);
        expect[i] = c;
    }
    expect[10000] = '\0';
    CHECK_INT(b.len, 10000);
    CHECK(b.cap > 10000);
    CHECK_INT(b.err, 0);
    CHECK_STR(buf_str(&b), expect);
    buf_fini(&b);
}

TEST(test_printf_small)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "%d-%s-%c", 42, "x", 'y');
    CHECK_STR(buf_str(&b), "42-x-y");
    buf_printf(&b, "%s", "");
    CHECK_STR(buf_str(&b), "42-x-y");
    buf_printf(&b, "|%05.1f|", 3.14159);
    CHECK_STR(buf_str(&b), "42-x-y|003.1|");
    CHECK_INT(b.len, strlen("42-x-y|003.1|"));
    buf_fini(&b);
}

TEST(test_printf_past_256)
{
    /* Output of 255, 256, 257 and 5000 bytes: the small stack buffer in
     * buf_vprintf holds 255 chars + NUL; longer output takes the other path. */
    static const size_t sizes[] = { 255, 256, 257, 1000, 5000 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        char *s = malloc(n + 1);
        for (size_t i = 0; i < n; i++) s[i] = (char)('A' + i % 26);
        s[n] = '\0';
        buf b;
        buf_init(&b);
        buf_puts(&b, "<");
        buf_printf(&b, "%s", s);
        buf_printf(&b, ">%zu", n);
        char tail[32];
        snprintf(tail, sizeof tail, ">%zu", n);
        CHECK_INT(b.len, 1 + n + strlen(tail));
        CHECK_INT(b.err, 0);
        CHECK(b.p[0] == '<');
        CHECK(memcmp(b.p + 1, s, n) == 0);
        CHECK_STR(b.p + 1 + n, tail);
        CHECK_INT(strlen(buf_str(&b)), b.len);
        buf_fini(&b);
        free(s);
    }
}

TEST(test_printf_long_after_content)
{
    /* A long printf when the buffer already has content near capacity. */
    buf b;
    buf_init(&b);
    for (int i = 0; i < 250; i++) buf_putc(&b, 'x');
    buf_printf(&b, "%0300d", 7);
    CHECK_INT(b.len, 550);
    CHECK(b.p[249] == 'x');
    CHECK(b.p[250] == '0');
    CHECK(b.p[549] == '7');
    CHECK(b.p[550] == '\0');
    buf_fini(&b);
}

TEST(test_html_escape)
{
    buf b;
    buf_init(&b);
    const char *s = "a&b<c>d\"e'f";
    buf_add_html(&b, s, strlen(s));
    CHECK_STR(buf_str(&b), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    buf_reset(&b);
    buf_add_html(&b, "<<>>", 4);
    CHECK_STR(buf_str(&b), "&lt;&lt;&gt;&gt;");
    buf_reset(&b);
    buf_add_html(&b, "plain text", 10);
    CHECK_STR(buf_str(&b), "plain text");
    buf_reset(&b);
    buf_add_html(&b, "&", 1);
    CHECK_STR(buf_str(&b), "&amp;");
    buf_reset(&b);
    /* Only n bytes are read. */
    buf_add_html(&b, "ab<cd", 2);
    CHECK_STR(buf_str(&b), "ab");
    buf_reset(&b);
    /* UTF-8 passes through unchanged. */
    buf_add_html(&b, "\xc3\xa9<", 3);
    CHECK_STR(buf_str(&b), "\xc3\xa9&lt;");
    buf_reset(&b);
    buf_add_html(&b, "", 0);
    CHECK_INT(b.len, 0);
    CHECK_STR(buf_str(&b), "");
    buf_fini(&b);
}

TEST(test_url_encode)
{
    buf b;
    buf_init(&b);
    const char *s = "AZaz09-_.~";
    buf_add_urlenc(&b, s, strlen(s));
    CHECK_STR(buf_str(&b), "AZaz09-_.~");
    buf_reset(&b);
    s = "a b&c=d/e?f+g%h#";
    buf_add_urlenc(&b, s, strlen(s));
    CHECK_STR(buf_str(&b), "a%20b%26c%3Dd%2Fe%3Ff%2Bg%25h%23");
    buf_reset(&b);
    buf_add_urlenc(&b, "\xc3\xa9\xff", 3);
    CHECK_STR(buf_str(&b), "%C3%A9%FF");
    buf_reset(&b);
    buf_add_urlenc(&b, "a\0b", 3);
    CHECK_STR(buf_str(&b), "a%00b");
    buf_reset(&b);
    buf_add_urlenc(&b, "\"'<>", 4);
    CHECK_STR(buf_str(&b), "%22%27%3C%3E");
    buf_fini(&b);
}

TEST(test_sticky_error)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "hello");
    b.err = 1;
    buf_puts(&b, " world");
    buf_putc(&b, '!');
    buf_add(&b, "xyz", 3);
    buf_printf(&b, "%d", 12345);
    buf_printf(&b, "%0400d", 1); /* the long path too */
    buf_add_html(&b, "<b>", 3);
    buf_add_urlenc(&b, "a b", 3);
    CHECK_INT(b.len, 5);
    CHECK_INT(b.err, 1);
    CHECK_INT(buf_reserve(&b, 1), -1);
    /* While err is set, the contents read as "". */
    CHECK_STR(buf_str(&b), "");
    CHECK(buf_detach(&b) == NULL);
    /* detach on error releases the storage and leaves an empty buf. */
    CHECK(b.p == NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.err, 0);
    buf_fini(&b);
}

TEST(test_reserve_limit_sets_err)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "x");
    /* An absurd size is refused without allocating and the error sticks. */
    CHECK_INT(buf_reserve(&b, (size_t)-1), -1);
    CHECK_INT(b.err, 1);
    buf_puts(&b, "y");
    CHECK_INT(b.len, 1);
    buf_fini(&b);
    buf_init(&b);
    CHECK_INT(buf_reserve(&b, 100), 0);
    CHECK(b.cap >= 101);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.err, 0);
    buf_fini(&b);
}

TEST(test_reset_clears_err_keeps_storage)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "some text");
    char *p = b.p;
    size_t cap = b.cap;
    b.err = 1;
    buf_reset(&b);
    CHECK_INT(b.err, 0);
    CHECK_INT(b.len, 0);
    CHECK(b.p == p);
    CHECK_INT(b.cap, cap);
    CHECK_STR(buf_str(&b), "");
    buf_puts(&b, "again");
    CHECK_STR(buf_str(&b), "again");
    buf_reset(&b);
    buf_reset(&b); /* idempotent */
    CHECK_STR(buf_str(&b), "");
    buf_fini(&b);
    /* reset on a never-used buf */
    buf_init(&b);
    buf_reset(&b);
    CHECK(b.p == NULL);
    CHECK_STR(buf_str(&b), "");
    buf_fini(&b);
}

TEST(test_fini_idempotent)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "data");
    buf_fini(&b);
    CHECK(b.p == NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.cap, 0);
    buf_fini(&b); /* second fini: no double free (ASan would catch it) */
    CHECK(b.p == NULL);
    buf_fini(NULL);
    /* fini on a zeroed buf */
    buf z;
    memset(&z, 0, sizeof z);
    buf_fini(&z);
    CHECK(z.p == NULL);
    /* usable again after fini */
    buf_puts(&b, "again");
    CHECK_STR(buf_str(&b), "again");
    buf_fini(&b);
}

TEST(test_detach)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "owned");
    char *s = buf_detach(&b);
    CHECK_STR(s, "owned");
    CHECK(b.p == NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.cap, 0);
    free(s);
    /* Detaching an empty buf gives an empty, freeable string. */
    s = buf_detach(&b);
    CHECK(s != NULL);
    CHECK_STR(s, "");
    free(s);
    buf_fini(&b);
}

int main(void)
{
    RUN(test_init_is_empty);
    RUN(test_add_puts_putc);
    RUN(test_growth_many_appends);
    RUN(test_printf_small);
    RUN(test_printf_past_256);
    RUN(test_printf_long_after_content);
    RUN(test_html_escape);
    RUN(test_url_encode);
    RUN(test_sticky_error);
    RUN(test_reserve_limit_sets_err);
    RUN(test_reset_clears_err_keeps_storage);
    RUN(test_fini_idempotent);
    RUN(test_detach);
    return DONE();
}
