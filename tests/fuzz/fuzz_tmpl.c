/* fuzz_tmpl: the input as a mustache template -> tmpl_set_add (compiled as
 * "main" and also as "self", so {{>self}} recurses into the depth limit)
 * next to fixed partials and a parent -> tmpl_render against a fixed small
 * cJSON data set through tmpl_json_ops (and against a list root and a
 * NULL root). Errors must carry a message; a failed compile leaves no
 * template behind. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tmpl.h"
#include "tmpl_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char DATA[] =
    "{\"name\":\"Ada <b>&\",\"n\":85,\"f\":1.5,\"big\":1e300,\"neg\":-0.0,\"t\":true,"
    "\"no\":false,\"nil\":null,\"empty\":[],\"e\":\"\","
    "\"list\":[{\"name\":\"a\",\"n\":1},{\"name\":\"b\",\"sub\":{\"x\":[1,2,3]}},3,\"s\",[4,[5]]],"
    "\"map\":{\"a\":{\"b\":{\"c\":\"deep\"}},\"list\":[true,false,null]},"
    "\"partial\":\"p\",\"dyn\":\"self\",\"html\":\"<script>x</script>\"}";

static cJSON *root;

/* The fixed partials and parent every render may reach. */
static const char *const partials[][2] = {
    { "p", "[{{name}}|{{>q}}]" },
    { "q", "{{#list}}<{{.}}>{{/list}}" },
    { "layout", "<h>{{$title}}T{{/title}}</h>{{$body}}B{{/body}}" },
    { "indent", "  {{name}}\n  {{>q}}\n" },
};

/* Parse the data set once. Aborts when it cannot be built. */
static void setup(void)
{
    if (root) return;
    root = cJSON_Parse(DATA);
    if (!root) abort();
}

/* Add the fixed templates to set; aborts on failure (they are valid). */
static void add_fixed(tmpl_set *set)
{
    tmpl_err err;
    for (size_t i = 0; i < sizeof partials / sizeof partials[0]; i++)
        if (tmpl_set_add(set, partials[i][0], partials[i][1], strlen(partials[i][1]), &err))
            abort();
}

/* One input. Always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    tmpl_set *set = tmpl_set_new();
    if (!set) abort();
    add_fixed(set);
    tmpl_err err;
    memset(&err, 0, sizeof err);
    int rc = tmpl_set_add(set, "main", (const char *)data, size, &err);
    if (rc == 0) {
        if (tmpl_set_add(set, "self", (const char *)data, size, &err)) abort();
        if (!tmpl_set_has(set, "main")) abort();
        buf out;
        buf_init(&out);
        if (tmpl_render(set, "main", &tmpl_json_ops, root, &out, &err) == 0) {
            if (out.err) abort();
        } else if (!memchr(err.msg, '\0', sizeof err.msg) || !err.msg[0]) {
            abort();
        }
        buf_reset(&out);
        /* The same template against scalar and empty roots. */
        (void)tmpl_render(set, "main", &tmpl_json_ops, cJSON_GetObjectItem(root, "list"), &out, &err);
        buf_reset(&out);
        (void)tmpl_render(set, "main", &tmpl_json_ops, NULL, &out, &err);
        buf_fini(&out);
    } else {
        if (!memchr(err.msg, '\0', sizeof err.msg) || !err.msg[0]) abort();
        if (tmpl_set_has(set, "main")) abort();
    }
    tmpl_set_free(set);
    return 0;
}
