/* h_openapi: GET /api/v1/openapi.json, the API's OpenAPI 3.1 document.
 * See openapi.h. The dispatcher adds the ETag (and 304), CORS and the rest. */
#include "openapi.h"

hres h_openapi(ctx *c)
{
    buf_reset(&c->resp.body);
    buf_add(&c->resp.body, fd_openapi_json, fd_openapi_json_len);
    if (c->resp.body.err) return HR_ERROR;
    c->resp.status = 200;
    c->resp.content_type = "application/json";
    return HR_OK;
}
