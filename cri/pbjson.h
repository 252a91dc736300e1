/* cri/pbjson.h - generic conversion between protobuf-c messages and JSON (jansson),
 * driven by the message descriptors alone.
 *
 * Used by kumod to persist CRI configs, by kumo-crictl to read requests and print
 * responses, and by tests. JSON keys are the .proto field names (snake_case); on input
 * the lowerCamelCase spelling crictl's config files use is accepted too. Enums are
 * written as their value names and read from names or numbers; 64-bit integers are JSON
 * numbers (strings accepted on input); bytes are base64; map fields (repeated *Entry
 * messages with key/value) are JSON objects. Every scalar field is written, defaults
 * included, so a reader never has to know proto3's implicit defaults.
 */
#ifndef KUMO_CRI_PBJSON_H
#define KUMO_CRI_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "common.h"

/* New JSON object for `msg` (a new reference). */
json_t *pbjson_from_message(const ProtobufCMessage *msg);

/* Builds a message of type `desc` from the JSON object `j`. On success *out owns a
 * message allocated with malloc; free it with protobuf_c_message_free_unpacked(*out, NULL).
 * Unknown keys and wrongly typed values are KUMO_E_INVALID naming the field. */
int pbjson_to_message(const ProtobufCMessageDescriptor *desc, json_t *j, ProtobufCMessage **out,
		      kumo_error_t *err);

/* Sets one field of `msg` by name from JSON (a map field from an object, a repeated field
 * from an array). The old value of the field is freed. */
int pbjson_set_field(ProtobufCMessage *msg, const char *name, json_t *value, kumo_error_t *err);

/* JSON for one field by name (new reference), NULL if unset or unknown. */
json_t *pbjson_get_field(const ProtobufCMessage *msg, const char *name);

/* Copies field src_name of src (may be NULL: nothing happens) into field dst_name of dst;
 * both fields must have the same shape (e.g. two map<string,string>). */
void pbjson_copy_field(ProtobufCMessage *dst, const char *dst_name, const ProtobufCMessage *src,
		       const char *src_name);

/* Deep copy through the wire format (unknown fields survive). Never NULL for non-NULL. */
ProtobufCMessage *pb_dup(const ProtobufCMessage *msg);

#endif /* KUMO_CRI_PBJSON_H */
