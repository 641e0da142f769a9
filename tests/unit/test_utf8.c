/* utf8.c: strict UTF-8 of strings and of every key and string in JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "utf8.h"

TEST(test_strings)
{
    CHECK(utf8_valid("", 0));
    CHECK(utf8_valid("plain ascii", 11));
    CHECK(utf8_valid("\xc3\xa9", 2));             /* é */
    CHECK(utf8_valid("\xe2\x82\xac", 3));         /* € */
    CHECK(utf8_valid("\xf0\x9f\x9a\x80", 4));     /* 🚀 */
    CHECK(utf8_valid("\xf4\x8f\xbf\xbf", 4));     /* U+10FFFF, the last */
    CHECK(utf8_valid("a\0b", 3));                 /* NUL is a character */
    CHECK(!utf8_valid("\xe2\x82", 2));            /* truncated */
    CHECK(!utf8_valid("\xc1\x81", 2));            /* overlong */
    CHECK(!utf8_valid("\xe0\x80\xaf", 3));        /* overlong '/' */
    CHECK(!utf8_valid("\xed\xa0\x80", 3));        /* surrogate U+D800 */
    CHECK(!utf8_valid("\xf4\x90\x80\x80", 4));    /* beyond U+10FFFF */
    CHECK(!utf8_valid("\xff", 1));
    CHECK(!utf8_valid("\x80", 1));                /* a lone continuation */
    CHECK(!utf8_valid("\xc3\x28", 2));            /* continuation missing */
    /* n decides, not a terminator: the first byte of a pair alone is invalid */
    CHECK(!utf8_valid("\xc3\xa9", 1));
}

TEST(test_json)
{
    cJSON *ok = cJSON_Parse("{\"k\xc3\xa9y\":[\"\xe2\x82\xac\",{\"n\":1}]}");
    CHECK(ok && utf8_json_valid(ok));
    cJSON_Delete(ok);
    CHECK(utf8_json_valid(NULL));

    /* cJSON keeps bytes as they are: a bad key and a bad nested string */
    cJSON *bad_key = cJSON_Parse("{\"\xed\xa0\x80\":1}");
    CHECK(bad_key && !utf8_json_valid(bad_key));
    cJSON_Delete(bad_key);
    cJSON *bad_deep = cJSON_Parse("{\"a\":[[{\"b\":\"\xc0\xaf\"}]]}");
    CHECK(bad_deep && !utf8_json_valid(bad_deep));
    cJSON_Delete(bad_deep);
}

TEST(test_depth_limit)
{
    /* UTF8_JSON_DEPTH_MAX levels of arrays pass; one more does not. */
    for (int extra = 0; extra <= 1; extra++) {
        int depth = UTF8_JSON_DEPTH_MAX + extra;
        char *text = malloc((size_t)depth * 2 + 1);
        for (int i = 0; i < depth; i++) text[i] = '[';
        for (int i = 0; i < depth; i++) text[depth + i] = ']';
        text[depth * 2] = '\0';
        cJSON *v = cJSON_Parse(text);
        CHECK(v != NULL);
        CHECK_INT(utf8_json_valid(v), extra ? 0 : 1);
        cJSON_Delete(v);
        free(text);
    }
}

int main(void)
{
    RUN(test_strings);
    RUN(test_json);
    RUN(test_depth_limit);
    return DONE();
}
