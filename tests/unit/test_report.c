/* report.c: validation of a session report, its Markdown and HTML
 * renderings, and markdown_html (raw HTML escaped, link schemes checked). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "report.h"

/* Validate JSON text; returns the report_rc, and the field and message.
 * *field points into the parsed report, so it is copied out before the
 * report is freed. */
static int check(const char *json, const char **field, char *why, size_t n)
{
    static char field_copy[64];
    cJSON *r = cJSON_Parse(json);
    if (!r) return -1;
    const char *f = NULL;
    int rc = report_validate(r, why, n, &f);
    if (f) {
        snprintf(field_copy, sizeof field_copy, "%s", f);
        *field = field_copy;
    } else {
        *field = NULL;
    }
    cJSON_Delete(r);
    return rc;
}

/* The Markdown of JSON text, malloc'd ("" on failure). */
static char *md_of(const char *json)
{
    cJSON *r = cJSON_Parse(json);
    buf b;
    buf_init(&b);
    int rc = r ? report_markdown(r, &b) : -1;
    cJSON_Delete(r);
    char *s = strdup(rc == 0 ? buf_str(&b) : "");
    buf_fini(&b);
    return s;
}

/* markdown_html of a string, malloc'd. */
static char *html_of(const char *md)
{
    buf b;
    buf_init(&b);
    int rc = markdown_html(md, strlen(md), &b);
    char *s = strdup(rc == 0 ? buf_str(&b) : "(failed)");
    buf_fini(&b);
    return s;
}

TEST(valid_reports)
{
    const char *f;
    char why[200];
    CHECK_INT(check("{\"summary\":\"All good.\"}", &f, why, sizeof why), REPORT_OK);
    CHECK_INT(check("{\"markdown\":\"# Done\"}", &f, why, sizeof why), REPORT_OK);
    CHECK_INT(check("{\"title\":\"T\",\"sections\":[{\"title\":\"A\",\"content\":\"x\"}],"
                    "\"data\":{\"n\":1,\"list\":[1,2]}}", &f, why, sizeof why), REPORT_OK);
    /* null counts as absent */
    CHECK_INT(check("{\"summary\":\"s\",\"title\":null,\"data\":null}", &f, why, sizeof why), REPORT_OK);
    CHECK(f == NULL);
}

TEST(refused_reports)
{
    const char *f;
    char why[200];
    CHECK_INT(check("[1]", &f, why, sizeof why), REPORT_NOT_OBJECT);
    CHECK_STR(report_rc_code(REPORT_NOT_OBJECT), "invalid_body");

    CHECK_INT(check("{\"summary\":\"s\",\"extra\":1}", &f, why, sizeof why), REPORT_UNKNOWN_FIELD);
    CHECK_STR(f, "extra");
    CHECK(strstr(why, "extra") != NULL);
    CHECK_STR(report_rc_code(REPORT_UNKNOWN_FIELD), "unknown_field");

    CHECK_INT(check("{}", &f, why, sizeof why), REPORT_MISSING_FIELD);
    CHECK_STR(report_rc_code(REPORT_MISSING_FIELD), "missing_field");
    CHECK_INT(check("{\"title\":\"only a title\",\"data\":{}}", &f, why, sizeof why), REPORT_MISSING_FIELD);
    CHECK_INT(check("{\"summary\":\"\",\"sections\":[]}", &f, why, sizeof why), REPORT_MISSING_FIELD);

    CHECK_INT(check("{\"summary\":5}", &f, why, sizeof why), REPORT_INVALID_FIELD);
    CHECK_STR(f, "summary");
    CHECK_STR(report_rc_code(REPORT_INVALID_FIELD), "invalid_field");
    CHECK_INT(check("{\"summary\":\"s\",\"title\":[\"x\"]}", &f, why, sizeof why), REPORT_INVALID_FIELD);
    CHECK_STR(f, "title");
    CHECK_INT(check("{\"summary\":\"s\",\"sections\":{}}", &f, why, sizeof why), REPORT_INVALID_FIELD);
    CHECK_STR(f, "sections");

    /* inside a section: the message names which */
    CHECK_INT(check("{\"sections\":[{\"title\":\"a\",\"content\":\"b\"},{\"content\":\"c\"}]}",
                    &f, why, sizeof why), REPORT_MISSING_FIELD);
    CHECK_STR(f, "sections");
    CHECK(strstr(why, "sections[1].title") != NULL);
    CHECK_INT(check("{\"sections\":[{\"title\":\"a\",\"content\":\"b\",\"x\":1}]}", &f, why, sizeof why),
              REPORT_UNKNOWN_FIELD);
    CHECK(strstr(why, "sections[0].x") != NULL);
    CHECK_INT(check("{\"sections\":[\"text\"]}", &f, why, sizeof why), REPORT_INVALID_FIELD);
    CHECK_INT(check("{\"sections\":[{\"title\":\"a\",\"content\":7}]}", &f, why, sizeof why),
              REPORT_INVALID_FIELD);
}

TEST(limits_and_utf8)
{
    const char *f;
    char why[200];
    char *big = malloc(REPORT_TITLE_MAX + 64);
    snprintf(big, REPORT_TITLE_MAX + 64, "{\"summary\":\"s\",\"title\":\"%0*d\"}", REPORT_TITLE_MAX + 1, 0);
    CHECK_INT(check(big, &f, why, sizeof why), REPORT_INVALID_FIELD);
    CHECK_STR(f, "title");
    snprintf(big, REPORT_TITLE_MAX + 64, "{\"summary\":\"s\",\"title\":\"%0*d\"}", REPORT_TITLE_MAX, 0);
    CHECK_INT(check(big, &f, why, sizeof why), REPORT_OK);
    free(big);

    /* invalid UTF-8 in a string, in data, in a key */
    CHECK_INT(check("{\"summary\":\"bad \xff byte\"}", &f, why, sizeof why), REPORT_INVALID_FIELD);
    CHECK_INT(check("{\"summary\":\"s\",\"data\":{\"k\":\"\xc0\xaf\"}}", &f, why, sizeof why),
              REPORT_INVALID_FIELD);
    CHECK_STR(f, "data");
    CHECK_INT(check("{\"summary\":\"s\",\"data\":{\"\xed\xa0\x80\":1}}", &f, why, sizeof why),
              REPORT_INVALID_FIELD);
    CHECK_INT(check("{\"summary\":\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x9a\x80\"}", &f, why, sizeof why), REPORT_OK);

    /* a long refusal message is cut, never overrun */
    char tiny[8];
    CHECK_INT(check("{\"summary\":\"s\",\"unknownfieldname\":1}", &f, tiny, sizeof tiny),
              REPORT_UNKNOWN_FIELD);
    CHECK_INT((long long)strlen(tiny), 7);
}

TEST(markdown_order_and_parts)
{
    char *s = md_of("{\"title\":\"Weekly\\nreport\",\"summary\":\"All **good**.\","
                    "\"sections\":[{\"title\":\"One\",\"content\":\"first\\n\\n\"},"
                    "{\"title\":\"Two\",\"content\":\"second\"}],\"markdown\":\"tail\"}");
    CHECK_STR(s, "# Weekly report\n\nAll **good**.\n\n## One\n\nfirst\n\n## Two\n\nsecond\n\ntail\n");
    free(s);

    s = md_of("{\"markdown\":\"just this\"}");
    CHECK_STR(s, "just this\n");
    free(s);

    /* data as a fenced JSON block whose fence outlasts backticks inside */
    s = md_of("{\"summary\":\"s\",\"data\":{\"code\":\"````x\"}}");
    CHECK(strstr(s, "## Data\n\n`````json\n") != NULL);
    CHECK(strstr(s, "\n`````\n") != NULL);
    free(s);
    s = md_of("{\"summary\":\"s\",\"data\":[1]}");
    CHECK(strstr(s, "```json\n[1]\n```\n") != NULL);
    free(s);
}

TEST(markdown_html_escapes_raw_html)
{
    char *h = html_of("Hello <script>alert(1)</script> and <img src=x onerror=alert(1)>\n\n"
                      "<div onclick=\"x()\">block</div>\n");
    CHECK(strstr(h, "<script") == NULL);
    CHECK(strstr(h, "&lt;script&gt;") != NULL);
    CHECK(strstr(h, "<img") == NULL);
    CHECK(strstr(h, "<div") == NULL);
    free(h);

    h = html_of("**bold** ~~gone~~\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nsee https://example.com/x\n");
    CHECK(strstr(h, "<strong>bold</strong>") != NULL);
    CHECK(strstr(h, "<del>gone</del>") != NULL);
    CHECK(strstr(h, "<table>") != NULL);
    CHECK(strstr(h, "<a href=\"https://example.com/x\">") != NULL);
    free(h);

    /* quotes in text never open an attribute */
    h = html_of("text href=\"javascript:alert(1)\" here\n");
    CHECK(strstr(h, "href=\"") == NULL);
    free(h);
}

TEST(markdown_html_link_schemes)
{
    char *h = html_of("[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) <javascript:alert(2)> "
                      "[c](vbscript:x) [d](data:text/html,hi)\n");
    CHECK(strstr(h, "javascript") == NULL || strstr(h, "href=\"javascript") == NULL);
    CHECK(strstr(h, "href=\"javascript") == NULL);
    CHECK(strstr(h, "href=\"JaVaScRiPt") == NULL);
    CHECK(strstr(h, "href=\"vbscript") == NULL);
    CHECK(strstr(h, "href=\"data:") == NULL);
    CHECK(strstr(h, "href=\"#\"") != NULL);
    free(h);

    h = html_of("[ok](https://a.example/) [mail](mailto:x@example.com) [rel](/sessions/ses_1) "
                "[frag](#top) [q](?a=b)\n\n![img](https://a.example/i.png) ![d](data:image/png;base64,AA==) "
                "![bad](javascript:x)\n");
    CHECK(strstr(h, "href=\"https://a.example/\"") != NULL);
    CHECK(strstr(h, "href=\"mailto:x@example.com\"") != NULL);
    CHECK(strstr(h, "href=\"/sessions/ses_1\"") != NULL);
    CHECK(strstr(h, "href=\"#top\"") != NULL);
    CHECK(strstr(h, "src=\"https://a.example/i.png\"") != NULL);
    CHECK(strstr(h, "src=\"data:image/png") != NULL);
    CHECK(strstr(h, "src=\"javascript") == NULL);
    free(h);

    /* empty input renders to nothing, successfully */
    buf b;
    buf_init(&b);
    CHECK_INT(markdown_html("", 0, &b), 0);
    CHECK_INT((long long)b.len, 0);
    buf_fini(&b);
}

TEST(markdown_html_alt_text_cannot_hide_a_link)
{
    /* Found by fuzz_report: an image whose alt text reads like an attribute
     * (`href=`) once threw the link filter off the following link. */
    char *h = html_of("![href=](x) [a](javascript:alert(1))\n");
    CHECK(strstr(h, "javascript:") == NULL);
    CHECK(strstr(h, "href=\"#\"") != NULL);
    free(h);
    h = html_of("![src=\"](y) ![x](javascript:alert(2)) [b](vbscript:z)\n");
    CHECK(strstr(h, "javascript:") == NULL);
    CHECK(strstr(h, "vbscript:") == NULL);
    free(h);
}

TEST(html_document)
{
    cJSON *r = cJSON_Parse("{\"title\":\"<script>alert(1)</script> Q3\","
                           "\"summary\":\"Fine <script>alert(2)</script>\","
                           "\"sections\":[{\"title\":\"<b>x</b>\",\"content\":\"[l](javascript:y)\"}]}");
    buf b;
    buf_init(&b);
    CHECK_INT(report_html_document(r, "Name <i>\"&'", "ses_abc", &b), 0);
    const char *h = buf_str(&b);
    CHECK(strncmp(h, "<!DOCTYPE html>", 15) == 0);
    CHECK(strstr(h, "<script") == NULL);
    CHECK(strstr(h, "<b>") == NULL);
    CHECK(strstr(h, "<i>") == NULL);
    CHECK(strstr(h, "href=\"javascript") == NULL);
    CHECK(strstr(h, "<style>") != NULL);
    CHECK(strstr(h, "Content-Security-Policy") != NULL);
    CHECK(strstr(h, "<title>&lt;script&gt;alert(1)&lt;/script&gt; Q3") != NULL);
    CHECK(strstr(h, "Name &lt;i&gt;&quot;&amp;&#39;") != NULL || strstr(h, "Name &lt;i&gt;&quot;&amp;&#x27;") != NULL);
    CHECK(strstr(h, "<code>ses_abc</code>") != NULL);
    CHECK(strstr(h, "<h1>") != NULL);
    CHECK(strstr(h, "</html>\n") != NULL);
    buf_fini(&b);
    cJSON_Delete(r);

    /* no session name: the id stands in */
    r = cJSON_Parse("{\"markdown\":\"x\"}");
    buf_init(&b);
    CHECK_INT(report_html_document(r, "", "ses_xyz", &b), 0);
    CHECK(strstr(buf_str(&b), "<title>ses_xyz</title>") != NULL);
    buf_fini(&b);
    cJSON_Delete(r);
}

int main(void)
{
    RUN(valid_reports);
    RUN(refused_reports);
    RUN(limits_and_utf8);
    RUN(markdown_order_and_parts);
    RUN(markdown_html_escapes_raw_html);
    RUN(markdown_html_link_schemes);
    RUN(markdown_html_alt_text_cannot_hide_a_link);
    RUN(html_document);
    return DONE();
}
