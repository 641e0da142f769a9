/* utf8: strict UTF-8 checks for text that arrives in requests.
 *
 * Strict means: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * past U+10FFFF. The functions only read their arguments. */
#ifndef FD_UTF8_H
#define FD_UTF8_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Deepest JSON nesting the checks accept (cJSON itself parses up to 1000). */
#define UTF8_JSON_DEPTH_MAX 200

/* Is s[0..n) valid UTF-8? 1 or 0 (all n bytes are read, NULs included). */
int utf8_valid(const char *s, size_t n);

/* Is every key and string inside v valid UTF-8, and v nested at most
 * UTF8_JSON_DEPTH_MAX levels deep? 1 or 0 (1 for NULL). */
int utf8_json_valid(const cJSON *v);

#endif
