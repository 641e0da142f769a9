/* tmpl_json: the cJSON adapter of the tmpl data interface. See tmpl_json.h. */
#include "tmpl_json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Member `name` of an object. Arrays have no members: "items.0" is not a
 * path into a list. The first of duplicate keys wins, as in cJSON. */
static const void *json_get(const void *v, const char *name, size_t len)
{
    const cJSON *o = v;
    if (!cJSON_IsObject(o)) return NULL;
    for (const cJSON *it = o->child; it; it = it->next)
        if (it->string && strlen(it->string) == len && memcmp(it->string, name, len) == 0)
            return it;
    return NULL;
}

static tmpl_kind json_kind(const void *v)
{
    const cJSON *j = v;
    if (cJSON_IsNull(j)) return TMPL_NULL;
    if (cJSON_IsFalse(j)) return TMPL_FALSE;
    if (cJSON_IsTrue(j)) return TMPL_TRUE;
    if (cJSON_IsNumber(j)) return TMPL_NUMBER;
    if (cJSON_IsString(j) || cJSON_IsRaw(j)) return TMPL_STRING;
    if (cJSON_IsArray(j)) return TMPL_LIST;
    if (cJSON_IsObject(j)) return TMPL_MAP;
    return TMPL_MISSING;
}

static size_t json_count(const void *list)
{
    int n = cJSON_GetArraySize(list);
    return n > 0 ? (size_t)n : 0;
}

/* cJSON lists are linked, so this walks i items: iterating a list of n is
 * O(n^2), which is nothing for the page-sized lists templates show. */
static const void *json_item(const void *list, size_t i)
{
    if (i > INT_MAX) return NULL;
    return cJSON_GetArrayItem(list, (int)i);
}

/* Integral values print without decimals (85, -3). Others print in the
 * shortest of %.15g and %.17g that reads back as the same double: 1.21 stays
 * "1.21" instead of "1.2099999999999999". */
static void json_number(double d, buf *out)
{
    /* 2^53: beyond it doubles are integers anyway, and %lld would overflow
     * somewhere after. The comparisons also keep NaN and inf out of the cast. */
    if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(long long)d) {
        buf_printf(out, "%lld", (long long)d);  /* -0.0 prints as "0" */
        return;
    }
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.15g", d);
    if (strtod(tmp, NULL) != d) snprintf(tmp, sizeof tmp, "%.17g", d);
    buf_puts(out, tmp);
}

static void json_text(const void *v, buf *out)
{
    const cJSON *j = v;
    if (cJSON_IsString(j) || cJSON_IsRaw(j)) buf_puts(out, j->valuestring);
    else if (cJSON_IsNumber(j)) json_number(j->valuedouble, out);
    else if (cJSON_IsTrue(j)) buf_puts(out, "true");
    else if (cJSON_IsFalse(j)) buf_puts(out, "false");
    /* null, and lists and maps, which have no text: nothing */
}

const tmpl_data_ops tmpl_json_ops = {
    .get = json_get,
    .kind = json_kind,
    .count = json_count,
    .item = json_item,
    .text = json_text,
};
