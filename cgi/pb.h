/* pb: the protobuf wire format, as much of it as OTLP needs, without
 * generated code. A message is described by a table of its fields (number,
 * JSON name, type); pb_decode reads bytes into a cJSON object shaped as the
 * OTLP/JSON encoding would be (lowerCamelCase names, trace and span ids as
 * lowercase hex, 64-bit integers as decimal strings, enums as numbers), so
 * one mapping (otlp.c) serves both encodings. The writer appends fields to
 * a buf for the few small messages the server answers with.
 *
 * Unknown fields are skipped, as protobuf requires. Anything malformed —
 * a truncated varint or length, a length past the end, a group wire type,
 * field number 0, a known field with the wrong wire type, a string that is
 * not UTF-8 or holds NUL, nesting deeper than PB_MAX_DEPTH — makes the
 * whole decode fail. */
#ifndef FD_PB_H
#define FD_PB_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define PB_MAX_DEPTH 32

typedef enum pb_type {
    PB_STRING,      /* length-delimited UTF-8 -> JSON string */
    PB_BYTES_HEX,   /* length-delimited bytes -> lowercase hex string (OTLP ids) */
    PB_BYTES_B64,   /* length-delimited bytes -> base64 string (AnyValue bytesValue) */
    PB_FIXED64_STR, /* fixed64 -> decimal string (times in ns) */
    PB_INT64_STR,   /* varint, two's complement int64 -> decimal string */
    PB_UINT32,      /* varint -> number (counts) */
    PB_FIXED32,     /* fixed32 -> number (flags) */
    PB_ENUM,        /* varint -> number */
    PB_BOOL,        /* varint -> true/false */
    PB_DOUBLE,      /* fixed64 IEEE 754 -> number ("NaN", "Infinity" as strings) */
    PB_MESSAGE      /* length-delimited -> object, described by .msg */
} pb_type;

struct pb_msg;

typedef struct pb_field {
    uint32_t             num;
    const char          *json;     /* member name in the cJSON object */
    pb_type              type;
    int                  repeated; /* 1: members collect into an array */
    const struct pb_msg *msg;      /* PB_MESSAGE only */
} pb_field;

typedef struct pb_msg {
    const char     *name;   /* for messages about errors */
    const pb_field *fields; /* ends with num 0 */
} pb_msg;

/* Decode buf[0..n) as message m. Returns a new object (caller frees with
 * cJSON_Delete), or NULL with a short reason in why (n bytes) when the
 * input is malformed or memory ran out. */
cJSON *pb_decode(const pb_msg *m, const uint8_t *buf, size_t n, char *why, size_t whyn);

/* ---- writing (errors are sticky in b, as for every buf) ---- */
void pb_put_varint_field(buf *b, uint32_t num, uint64_t v);
void pb_put_bytes_field(buf *b, uint32_t num, const void *p, size_t n);
/* A message field whose body is already encoded in sub. */
void pb_put_message_field(buf *b, uint32_t num, const buf *sub);

#endif
