/* openapi: the OpenAPI 3.1 description of the API (docs/openapi.json),
 * embedded into the binaries at build time (scripts/embed-file.sh), and the
 * handler that serves it. */
#ifndef FD_OPENAPI_H
#define FD_OPENAPI_H

#include <stddef.h>
#include "app.h"

/* The bytes of docs/openapi.json as built (generated: build/gen/openapi_doc.c). */
extern const char fd_openapi_json[];
extern const size_t fd_openapi_json_len;

/* GET /api/v1/openapi.json: the document, as application/json. Public
 * (like /healthz): it describes the API, it holds no data. */
hres h_openapi(ctx *c);

#endif
