/* utf8: see utf8.h. */
#include "utf8.h"

#include <string.h>

int utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
        else return 0;
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* utf8_json_valid below `depth` levels already walked. */
static int json_valid_at(const cJSON *v, int depth)
{
    if (depth >= UTF8_JSON_DEPTH_MAX) return 0; /* the root is level 1 */
    if (v->string && !utf8_valid(v->string, strlen(v->string))) return 0;
    if (cJSON_IsString(v) && !utf8_valid(v->valuestring, strlen(v->valuestring))) return 0;
    for (const cJSON *c = v->child; c; c = c->next)
        if (!json_valid_at(c, depth + 1)) return 0;
    return 1;
}

int utf8_json_valid(const cJSON *v)
{
    return v ? json_valid_at(v, 0) : 1;
}
