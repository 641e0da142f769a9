/* Unit tests for cgi/tmpl.c (the mustache engine) and cgi/tmpl_json.c (its
 * cJSON adapter). Spec conformance is test_tmpl_spec.c's job; these cover
 * what the spec does not: escaping of ', limits, error reports, loading a
 * directory, and concurrent renders. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "harness.h"
#include "tmpl.h"
#include "tmpl_json.h"

/* Add a template; 0 or -1 (err filled). */
static int add(tmpl_set *set, const char *name, const char *src, tmpl_err *err)
{
    return tmpl_set_add(set, name, src, strlen(src), err);
}

/* Render `name` against JSON text; a malloc'd string, or NULL on failure
 * (err filled). */
static char *render_json(const tmpl_set *set, const char *name, const char *json,
                         tmpl_err *err)
{
    cJSON *data = cJSON_Parse(json);
    buf out;
    buf_init(&out);
    char *s = NULL;
    if (data && tmpl_render(set, name, &tmpl_json_ops, data, &out, err) == 0)
        s = buf_detach(&out);
    buf_fini(&out);
    cJSON_Delete(data);
    return s;
}

/* Compile src alone as "t" and render it against json. */
static char *render1(const char *src, const char *json)
{
    tmpl_err err;
    tmpl_set *set = tmpl_set_new();
    char *s = NULL;
    if (set && add(set, "t", src, &err) == 0) s = render_json(set, "t", json, &err);
    tmpl_set_free(set);
    return s;
}

#define CHECK_RENDER(src, json, expect) do { char *h_s = render1((src), (json)); \
    CHECK_STR(h_s, (expect)); free(h_s); } while (0)

/* Compile src as "page", which must fail; the error is left in *err. */
static int compile_fails(const char *src, tmpl_err *err)
{
    tmpl_set *set = tmpl_set_new();
    memset(err, 0, sizeof *err);
    int failed = set && add(set, "page", src, err) != 0;
    tmpl_set_free(set);
    return failed;
}

TEST(test_escaping)
{
    const char *json = "{\"x\": \"<a href=\\\"q\\\">'&'</a>\"}";
    CHECK_RENDER("{{x}}", json, "&lt;a href=&quot;q&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    CHECK_RENDER("{{{x}}}", json, "<a href=\"q\">'&'</a>");
    CHECK_RENDER("{{&x}}", json, "<a href=\"q\">'&'</a>");
    CHECK_RENDER("it's {{y}}", "{\"y\": \"plain\"}", "it's plain");
    CHECK_RENDER("[{{y}}]", "{\"y\": \"O'Brien\"}", "[O&#39;Brien]");
    /* Template text is never escaped, only values. */
    CHECK_RENDER("<b>&amp;</b>", "{}", "<b>&amp;</b>");
}

TEST(test_values)
{
    const char *json = "{\"i\": 85, \"neg\": -3, \"d\": 1.21, \"half\": 1.5, \"tenth\": 0.1,"
                       " \"z\": -0.0, \"big\": 1e21, \"ugly\": 0.30000000000000004,"
                       " \"t\": true, \"f\": false, \"n\": null, \"s\": \"str\","
                       " \"list\": [1, 2], \"map\": {\"k\": \"v\"}}";
    CHECK_RENDER("{{i}} {{neg}} {{d}} {{half}} {{tenth}} {{z}}", json, "85 -3 1.21 1.5 0.1 0");
    CHECK_RENDER("{{big}} {{ugly}}", json, "1e+21 0.30000000000000004");
    CHECK_RENDER("{{t}} {{f}} [{{n}}] {{s}}", json, "true false [] str");
    /* Lists and maps have no text; arrays have no members. */
    CHECK_RENDER("[{{list}}][{{map}}][{{list.0}}][{{map.k}}]", json, "[][][][v]");
    /* Falsey: missing, null, false, empty list. Zero and "" are values. */
    CHECK_RENDER("{{#n}}N{{/n}}{{#f}}F{{/f}}{{#nope}}M{{/nope}}{{#e}}E{{/e}}",
                 "{\"n\": null, \"f\": false, \"e\": []}", "");
    CHECK_RENDER("{{#z}}Z{{/z}}{{#s}}S{{/s}}", "{\"z\": 0, \"s\": \"\"}", "ZS");
    /* A NULL root is an empty context, not a crash. */
    tmpl_err err;
    tmpl_set *set = tmpl_set_new();
    buf out;
    buf_init(&out);
    CHECK(add(set, "t", "[{{a}}{{#b}}x{{/b}}{{^b}}y{{/b}}]", &err) == 0);
    CHECK(tmpl_render(set, "t", &tmpl_json_ops, NULL, &out, &err) == 0);
    CHECK_STR(buf_str(&out), "[y]");
    buf_fini(&out);
    tmpl_set_free(set);
}

TEST(test_partials_from_set)
{
    tmpl_err err;
    tmpl_set *set = tmpl_set_new();
    CHECK(set != NULL);
    CHECK(add(set, "item", "<li>{{name}}</li>\n", &err) == 0);
    CHECK(add(set, "list", "<ul>\n{{#items}}\n  {{>item}}\n{{/items}}\n</ul>\n", &err) == 0);
    CHECK(add(set, "hole", "[{{>nowhere}}]", &err) == 0);
    CHECK(tmpl_set_has(set, "item"));
    CHECK(tmpl_set_has(set, "list"));
    CHECK(!tmpl_set_has(set, "nowhere"));
    char *s = render_json(set, "list", "{\"items\": [{\"name\": \"a<b\"}, {\"name\": \"c\"}]}",
                          &err);
    CHECK_STR(s, "<ul>\n  <li>a&lt;b</li>\n  <li>c</li>\n</ul>\n");
    free(s);
    /* A missing partial renders as nothing. */
    s = render_json(set, "hole", "{}", &err);
    CHECK_STR(s, "[]");
    free(s);
    /* Adding a name again replaces the template; partials see the new one. */
    CHECK(add(set, "item", "* {{name}}\n", &err) == 0);
    s = render_json(set, "list", "{\"items\": [{\"name\": \"x\"}]}", &err);
    CHECK_STR(s, "<ul>\n  * x\n</ul>\n");
    free(s);
    /* A failed compile leaves the old template in place. */
    CHECK(add(set, "item", "{{#broken}}", &err) != 0);
    s = render_json(set, "list", "{\"items\": [{\"name\": \"y\"}]}", &err);
    CHECK_STR(s, "<ul>\n  * y\n</ul>\n");
    free(s);
    /* Rendering an unknown template is an error, not empty output. */
    memset(&err, 0, sizeof err);
    CHECK(render_json(set, "nowhere", "{}", &err) == NULL);
    CHECK_STR(err.name, "nowhere");
    CHECK_STR(err.msg, "no such template");
    tmpl_set_free(set);
}

TEST(test_dynamic_partials_and_inheritance)
{
    tmpl_err err;
    tmpl_set *set = tmpl_set_new();
    CHECK(add(set, "layout", "<title>{{$title}}Flightdeck{{/title}}</title>\n"
                             "<main>\n"
                             "  {{$content}}\n"
                             "  nothing here\n"
                             "  {{/content}}\n"
                             "</main>\n", &err) == 0);
    CHECK(add(set, "page", "{{! a page }}\n"
                           "{{<layout}}\n"
                           "{{$title}}{{name}} · Flightdeck{{/title}}\n"
                           "{{$content}}\n"
                           "<p>{{name}}</p>\n"
                           "{{#kinds}}\n"
                           "{{>*kind}}\n"
                           "{{/kinds}}\n"
                           "{{/content}}\n"
                           "{{/layout}}\n", &err) == 0);
    CHECK(add(set, "text", "<span>{{v}}</span>\n", &err) == 0);
    CHECK(add(set, "num", "<b>{{v}}</b>\n", &err) == 0);
    char *s = render_json(set, "page",
                          "{\"name\": \"Home\", \"kinds\": [{\"kind\": \"text\", \"v\": \"a\"},"
                          " {\"kind\": \"num\", \"v\": 1}, {\"kind\": \"none\"}]}", &err);
    CHECK_STR(s, "<title>Home · Flightdeck</title>\n"
                 "<main>\n"
                 "  <p>Home</p>\n"
                 "  <span>a</span>\n"
                 "  <b>1</b>\n"
                 "</main>\n");
    free(s);
    s = render_json(set, "layout", "{}", &err);
    CHECK_STR(s, "<title>Flightdeck</title>\n<main>\n  nothing here\n</main>\n");
    free(s);
    tmpl_set_free(set);
}

TEST(test_standalone_partial_indents_text_not_values)
{
    tmpl_err err;
    tmpl_set *set = tmpl_set_new();
    CHECK(add(set, "p", "<pre>\n{{v}}\n</pre>\n", &err) == 0);
    CHECK(add(set, "t", "<div>\n    {{>p}}\n</div>\n", &err) == 0);
    char *s = render_json(set, "t", "{\"v\": \"line1\\nline2\"}", &err);
    CHECK_STR(s, "<div>\n    <pre>\n    line1\nline2\n    </pre>\n</div>\n");
    free(s);
    tmpl_set_free(set);
}

TEST(test_compile_depth_limit)
{
    tmpl_err err;
    buf src;
    buf_init(&src);
    for (int i = 0; i < TMPL_MAX_DEPTH; i++) buf_puts(&src, "{{#a}}\n");
    for (int i = 0; i < TMPL_MAX_DEPTH; i++) buf_puts(&src, "{{/a}}\n");
    char *s = render1(buf_str(&src), "{\"a\": true}");
    CHECK_STR(s, "");  /* exactly at the limit: fine */
    free(s);
    buf_reset(&src);
    for (int i = 0; i <= TMPL_MAX_DEPTH; i++) buf_puts(&src, "{{#a}}\n");
    for (int i = 0; i <= TMPL_MAX_DEPTH; i++) buf_puts(&src, "{{/a}}\n");
    CHECK(compile_fails(buf_str(&src), &err));
    CHECK_STR(err.name, "page");
    CHECK_INT(err.line, TMPL_MAX_DEPTH + 1);
    CHECK_STR(err.msg, "sections nested deeper than 64");
    /* Deep garbage ends in the same error, not a crash. */
    buf_reset(&src);
    for (int i = 0; i < 100000; i++) buf_puts(&src, "{{<p}}");
    CHECK(compile_fails(buf_str(&src), &err));
    CHECK_STR(err.msg, "sections nested deeper than 64");
    buf_fini(&src);
}

TEST(test_render_depth_limit)
{
    tmpl_err err;
    tmpl_set *set = tmpl_set_new();
    CHECK(add(set, "self", "x{{>self}}", &err) == 0);
    CHECK(add(set, "me", "{{<me}}{{/me}}", &err) == 0);
    CHECK(add(set, "dyn", "{{>*name}}", &err) == 0);
    CHECK(add(set, "tree", "({{#kids}}{{>tree}}{{/kids}})", &err) == 0);

    memset(&err, 0, sizeof err);
    CHECK(render_json(set, "self", "{}", &err) == NULL);
    CHECK_STR(err.name, "self");
    CHECK_INT(err.line, 1);
    CHECK(strstr(err.msg, "partial \"self\" nested deeper than 64 levels") != NULL);

    memset(&err, 0, sizeof err);
    CHECK(render_json(set, "me", "{}", &err) == NULL);
    CHECK(strstr(err.msg, "parent \"me\" nested deeper than 64") != NULL);

    memset(&err, 0, sizeof err);
    CHECK(render_json(set, "dyn", "{\"name\": \"dyn\"}", &err) == NULL);
    CHECK(strstr(err.msg, "partial \"*name\" nested deeper") != NULL);

    /* Recursion that data ends is fine within the limit (2 levels each).
     * Every node needs its own "kids": a missing one would resolve to the
     * parent's, and recurse until the limit. */
    char *s = render_json(set, "tree",
                          "{\"kids\": [{\"kids\": [{\"kids\": []}, {\"kids\": []}]}]}", &err);
    CHECK_STR(s, "((()()))");
    free(s);
    /* ... and an error beyond it: 40 levels of data, 80 of nesting. */
    buf json;
    buf_init(&json);
    for (int i = 0; i < 40; i++) buf_puts(&json, "{\"kids\": [");
    buf_puts(&json, "{\"kids\": []}");
    for (int i = 0; i < 40; i++) buf_puts(&json, "]}");
    memset(&err, 0, sizeof err);
    CHECK(render_json(set, "tree", buf_str(&json), &err) == NULL);
    CHECK_STR(err.name, "tree");
    CHECK(strstr(err.msg, "nested deeper than 64") != NULL);
    buf_fini(&json);
    tmpl_set_free(set);
}

TEST(test_compile_errors)
{
    tmpl_err err;
    CHECK(compile_fails("<ul>\n\n{{#items}}\n<li>{{name}}</li>\n", &err));
    CHECK_STR(err.name, "page");
    CHECK_INT(err.line, 3);
    CHECK_STR(err.msg, "unclosed section \"items\" opened on line 3");

    CHECK(compile_fails("{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}\n", &err));
    CHECK_INT(err.line, 3);
    CHECK_STR(err.msg, "closing tag \"a\" does not match open section \"b\" (line 2)");

    CHECK(compile_fails("{{<layout}}\n{{$body}}\n{{/layout}}\n", &err));
    CHECK_INT(err.line, 3);
    CHECK_STR(err.msg, "closing tag \"layout\" does not match open block \"body\" (line 2)");

    CHECK(compile_fails("text\n{{/a}}", &err));
    CHECK_INT(err.line, 2);
    CHECK_STR(err.msg, "closing tag \"a\" without an open section");

    CHECK(compile_fails("a\nb {{name\n}", &err));
    CHECK_INT(err.line, 2);
    CHECK_STR(err.msg, "unclosed tag");
    CHECK(compile_fails("{{{name}}", &err));
    CHECK_STR(err.msg, "unclosed tag");
    CHECK(compile_fails("{{! never closed", &err));
    CHECK_STR(err.msg, "unclosed tag");

    const char *bad_delims[] = { "{{=<% =}}", "{{=<%%>=}}", "{{=a b c=}}", "{{= =}}",
                                 "{{=<= =>=}}", "{{=<% %>}}" };
    for (size_t i = 0; i < sizeof bad_delims / sizeof bad_delims[0]; i++) {
        CHECK(compile_fails(bad_delims[i], &err));
        CHECK_STR(err.msg, "invalid set-delimiter tag");
        CHECK_INT(err.line, 1);
    }
    /* After a good one, the old delimiters are plain text. */
    CHECK_RENDER("{{=<% %>=}}{{x}}<%x%>", "{\"x\": 1}", "{{x}}1");

    CHECK(compile_fails("a {{}} b", &err));
    CHECK_STR(err.msg, "empty tag");
    CHECK(compile_fails("{{a..b}}", &err));
    CHECK_STR(err.msg, "invalid name \"a..b\"");
    CHECK(compile_fails("{{#a.}}{{/a.}}", &err));
    CHECK_STR(err.msg, "invalid name \"a.\"");
    CHECK(compile_fails("\n\n{{first name}}", &err));
    CHECK_INT(err.line, 3);
    CHECK_STR(err.msg, "invalid name \"first name\"");
}

TEST(test_error_name_truncated)
{
    char name[200];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    tmpl_err err;
    tmpl_set *set = tmpl_set_new();
    CHECK(add(set, name, "{{#x}}", &err) != 0);
    CHECK_INT(strlen(err.name), sizeof err.name - 1);
    CHECK(add(set, name, "ok", &err) == 0);
    CHECK(tmpl_set_has(set, name));
    tmpl_set_free(set);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

TEST(test_load_dir)
{
    char dir[] = "/tmp/test_tmpl.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    write_file(dir, "layout.mustache", "<h1>{{$title}}?{{/title}}</h1>\n");
    write_file(dir, "home.mustache", "{{<layout}}{{$title}}{{who}}{{/title}}{{/layout}}\n");
    write_file(dir, "notes.txt", "{{#not a template");
    write_file(dir, ".#home.mustache", "{{#editor lock file");

    tmpl_err err;
    tmpl_set *set = tmpl_set_new();
    CHECK_INT(tmpl_set_load_dir(set, dir, &err), 2);
    CHECK(tmpl_set_has(set, "layout"));
    CHECK(tmpl_set_has(set, "home"));
    CHECK(!tmpl_set_has(set, "notes"));
    CHECK(!tmpl_set_has(set, "home.mustache"));
    char *s = render_json(set, "home", "{\"who\": \"<me>\"}", &err);
    /* The parent line holds a variable, so it is not standalone: its
     * newline stays. */
    CHECK_STR(s, "<h1>&lt;me&gt;</h1>\n\n");
    free(s);
    tmpl_set_free(set);

    /* A broken file fails the load, naming the template and the line. */
    write_file(dir, "broken.mustache", "ok\n{{#x}}\n");
    set = tmpl_set_new();
    memset(&err, 0, sizeof err);
    CHECK_INT(tmpl_set_load_dir(set, dir, &err), -1);
    CHECK_STR(err.name, "broken");
    CHECK_INT(err.line, 2);
    CHECK_STR(err.msg, "unclosed section \"x\" opened on line 2");
    tmpl_set_free(set);

    remove_file(dir, "layout.mustache");
    remove_file(dir, "home.mustache");
    remove_file(dir, "notes.txt");
    remove_file(dir, ".#home.mustache");
    remove_file(dir, "broken.mustache");
    CHECK(rmdir(dir) == 0);

    /* A missing directory is an error too. */
    set = tmpl_set_new();
    memset(&err, 0, sizeof err);
    CHECK_INT(tmpl_set_load_dir(set, dir, &err), -1);
    CHECK(strstr(err.msg, "cannot read template directory") != NULL);
    tmpl_set_free(set);
}

/* Shared by the render threads: read-only once they start. */
typedef struct job {
    const tmpl_set *set;
    const cJSON *data;
    const char *expect;
    int mismatches;
} job;

static void *render_many(void *arg)
{
    job *j = arg;
    buf out;
    buf_init(&out);
    for (int i = 0; i < 300; i++) {
        tmpl_err err;
        buf_reset(&out);
        if (tmpl_render(j->set, "page", &tmpl_json_ops, j->data, &out, &err) != 0 ||
            strcmp(buf_str(&out), j->expect) != 0)
            j->mismatches++;
    }
    buf_fini(&out);
    return NULL;
}

TEST(test_concurrent_renders)
{
    tmpl_err err;
    tmpl_set *set = tmpl_set_new();
    CHECK(add(set, "layout", "<html>\n  {{$body}}{{/body}}\n</html>\n", &err) == 0);
    CHECK(add(set, "row", "<tr><td>{{name}}</td><td>{{score}}</td></tr>\n", &err) == 0);
    CHECK(add(set, "page", "{{<layout}}{{$body}}\n<table>\n{{#rows}}\n  {{>row}}\n"
                           "{{/rows}}\n{{^rows}}none{{/rows}}\n</table>\n{{/body}}{{/layout}}\n",
              &err) == 0);
    buf json;
    buf_init(&json);
    buf_puts(&json, "{\"rows\": [");
    for (int i = 0; i < 50; i++)
        buf_printf(&json, "%s{\"name\": \"<n%d & 'q'>\", \"score\": %d.25}", i ? "," : "", i, i);
    buf_puts(&json, "]}");
    cJSON *data = cJSON_Parse(buf_str(&json));
    CHECK(data != NULL);

    buf ref;
    buf_init(&ref);
    CHECK(tmpl_render(set, "page", &tmpl_json_ops, data, &ref, &err) == 0);
    CHECK(strstr(buf_str(&ref), "<tr><td>&lt;n7 &amp; &#39;q&#39;&gt;</td><td>7.25</td></tr>")
          != NULL);

    enum { NTHREADS = 8 };
    pthread_t th[NTHREADS];
    job jobs[NTHREADS];
    int started = 0;
    for (int i = 0; i < NTHREADS; i++) {
        jobs[i] = (job){ set, data, buf_str(&ref), 0 };
        if (pthread_create(&th[i], NULL, render_many, &jobs[i]) == 0) started++;
        else break;
    }
    CHECK_INT(started, NTHREADS);
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(jobs[i].mismatches, 0);
    }
    buf_fini(&ref);
    buf_fini(&json);
    cJSON_Delete(data);
    tmpl_set_free(set);
}

int main(void)
{
    RUN(test_escaping);
    RUN(test_values);
    RUN(test_partials_from_set);
    RUN(test_dynamic_partials_and_inheritance);
    RUN(test_standalone_partial_indents_text_not_values);
    RUN(test_compile_depth_limit);
    RUN(test_render_depth_limit);
    RUN(test_compile_errors);
    RUN(test_error_name_truncated);
    RUN(test_load_dir);
    RUN(test_concurrent_renders);
    return DONE();
}
