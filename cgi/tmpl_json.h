/* tmpl_json: the cJSON adapter of the tmpl data interface.
 * Pass &tmpl_json_ops and a `const cJSON *` root to tmpl_render(). The cJSON
 * tree stays owned by the caller and must outlive the render.
 * Numbers print as integers when integral (85), else with the shortest
 * "%.17g"-style form that round-trips (1.21, 1.5). */
#ifndef FD_TMPL_JSON_H
#define FD_TMPL_JSON_H

#include "tmpl.h"

extern const tmpl_data_ops tmpl_json_ops;

#endif
