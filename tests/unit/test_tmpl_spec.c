/* The official mustache spec (https://github.com/mustache/spec) against
 * cgi/tmpl.c: every test of every *.json file in $MUSTACHE_SPEC_DIR (default
 * ../shared/testdata/mustache-spec, from the repository root) except the
 * lambdas, which tmpl does not support. Each spec test counts as one test.
 * A missing spec directory is a failure, not a silent pass. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "harness.h"
#include "tmpl.h"
#include "tmpl_json.h"

#define SPEC_DIR_DEFAULT "../shared/testdata/mustache-spec"
/* Spec templates name partials by plain words; this one has a space, which
 * no tag name may contain, so no partial can collide with it. */
#define MAIN_NAME "spec template"

/* Read a whole file; NULL on failure. */
static char *slurp(const char *path)
{
    char *data = NULL;
    buf b;
    buf_init(&b);
    FILE *f = fopen(path, "rb");
    if (!f) goto done;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&b, chunk, n);
    if (ferror(f)) goto done;
    data = buf_detach(&b);
done:
    if (f) fclose(f);
    buf_fini(&b);
    return data;
}

/* Run one spec test. 1 if it passed; on failure, say what differed. */
static int spec_run(const char *module, const cJSON *test)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(test, "name");
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(test, "template");
    const cJSON *expected = cJSON_GetObjectItemCaseSensitive(test, "expected");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(test, "data");
    const cJSON *partials = cJSON_GetObjectItemCaseSensitive(test, "partials");
    const char *tname = cJSON_IsString(name) ? name->valuestring : "?";
    int ok = 0;
    tmpl_err err = { .line = 0 };
    buf out;
    buf_init(&out);
    tmpl_set *set = tmpl_set_new();
    if (!set || !cJSON_IsString(tpl) || !cJSON_IsString(expected)) {
        fprintf(stderr, "  FAIL %s / %s: malformed spec test\n", module, tname);
        goto done;
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, partials) {
        if (!cJSON_IsString(p) ||
            tmpl_set_add(set, p->string, p->valuestring, strlen(p->valuestring), &err)) {
            fprintf(stderr, "  FAIL %s / %s: partial %s: line %d: %s\n",
                    module, tname, p->string, err.line, err.msg);
            goto done;
        }
    }
    if (tmpl_set_add(set, MAIN_NAME, tpl->valuestring, strlen(tpl->valuestring), &err) ||
        tmpl_render(set, MAIN_NAME, &tmpl_json_ops, data, &out, &err)) {
        fprintf(stderr, "  FAIL %s / %s: %s:%d: %s\n    template: \"%s\"\n",
                module, tname, err.name, err.line, err.msg, tpl->valuestring);
        goto done;
    }
    ok = strcmp(buf_str(&out), expected->valuestring) == 0;
    if (!ok)
        fprintf(stderr, "  FAIL %s / %s\n    template: \"%s\"\n    expected: \"%s\"\n"
                "    got:      \"%s\"\n",
                module, tname, tpl->valuestring, expected->valuestring, buf_str(&out));
done:
    tmpl_set_free(set);
    buf_fini(&out);
    return ok;
}

/* Run every test of one spec file, counting each in the harness totals. */
static void spec_file(const char *dir, const char *file)
{
    char path[4096], module[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(module, sizeof module, "%.*s", (int)(strlen(file) - 5), file);
    h_cur = module;
    char *text = slurp(path);
    cJSON *spec = text ? cJSON_Parse(text) : NULL;
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(spec, "tests");
    if (!cJSON_IsArray(tests) || cJSON_GetArraySize(tests) == 0) {
        fprintf(stderr, "  FAIL %s: cannot read or parse %s\n", module, path);
        h_failed++;
        goto done;
    }
    int passed = 0, total = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tests) {
        h_cur_failed = !spec_run(module, t);
        total++;
        if (h_cur_failed) {
            h_failed++;
        } else {
            h_passed++;
            passed++;
        }
    }
    printf("module %s: %d/%d passed\n", module, passed, total);
done:
    cJSON_Delete(spec);
    free(text);
}

static int is_json(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

int main(void)
{
    const char *dir = getenv("MUSTACHE_SPEC_DIR");
    if (!dir || !*dir) dir = SPEC_DIR_DEFAULT;
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_json, alphasort);
    int files = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i]->d_name, "~lambdas.json") == 0) {
            printf("skipped ~lambdas.json (lambdas out of scope)\n");
        } else {
            spec_file(dir, list[i]->d_name);
            files++;
        }
        free(list[i]);
    }
    free(list);
    /* Loud, and a failure: a CI run that tested nothing must not pass. */
    if (files == 0) {
        fprintf(stderr, "\n*** MUSTACHE SPEC DIRECTORY NOT FOUND: %s — set MUSTACHE_SPEC_DIR ***\n\n",
                dir);
        h_failed++;
    }
    return DONE();
}
