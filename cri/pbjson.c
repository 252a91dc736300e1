/* cri/pbjson.c - protobuf-c messages to and from JSON, by descriptor. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "pbjson.h"

#define MEMBER(msg, off) ((void *)((char *)(msg) + (off)))

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const uint8_t *p, size_t n)
{
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = b64chars[(v >> 18) & 63];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64chars[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int b64_decode(const char *s, uint8_t **out, size_t *out_len)
{
	size_t n = strlen(s);
	uint8_t *buf = xmalloc(n / 4 * 3 + 3);
	size_t len = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=')
			break;
		const char *c = strchr(b64chars, s[i]);
		if (!c || !s[i]) {
			free(buf);
			return -1;
		}
		acc = acc << 6 | (uint32_t)(c - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[len++] = (uint8_t)(acc >> bits);
		}
	}
	*out = buf;
	*out_len = len;
	return 0;
}

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t l = strlen(d->short_name);
	return d->n_fields == 2 && l > 5 && strcmp(d->short_name + l - 5, "Entry") == 0 &&
	       d->fields[0].id == 1 && strcmp(d->fields[0].name, "key") == 0 &&
	       d->fields[1].id == 2 && strcmp(d->fields[1].name, "value") == 0;
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

static json_t *scalar_to_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		return ev ? json_string(ev->name) : json_integer(v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return json_string(s ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *s = b64_encode(b->data, b->len);
		json_t *j = json_string(s);
		free(s);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
		return m ? pbjson_from_message(m) : json_null();
	}
	}
	return json_null();
}

/* JSON for one field of msg, or NULL when the field is unset (absent submessage, unset
 * optional or oneof member). */
static json_t *field_to_json(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	void *member = MEMBER(msg, f->offset);
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(size_t *)MEMBER(msg, f->quantifier_offset);
		void *arr = *(void **)member;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor)) {
			json_t *map = json_object();
			for (size_t k = 0; k < n; k++) {
				ProtobufCMessage *e = ((ProtobufCMessage **)arr)[k];
				const ProtobufCMessageDescriptor *ed = e->descriptor;
				const char *key = *(char **)MEMBER(e, ed->fields[0].offset);
				json_object_set_new(map, key ? key : "",
						    scalar_to_json(&ed->fields[1],
								   MEMBER(e, ed->fields[1].offset)));
			}
			return map;
		}
		json_t *a = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(
				a, scalar_to_json(f, (char *)arr + k * elem_size(f->type)));
		return a;
	}
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
	    f->type != PROTOBUF_C_TYPE_STRING &&
	    !*(protobuf_c_boolean *)MEMBER(msg, f->quantifier_offset))
		return NULL;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
	    *(uint32_t *)MEMBER(msg, f->quantifier_offset) != f->id)
		return NULL;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(void **)member == NULL)
		return NULL;
	return scalar_to_json(f, member);
}

json_t *pbjson_from_message(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	json_t *obj = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		json_t *v = field_to_json(msg, &d->fields[i]);
		if (v)
			json_object_set_new(obj, d->fields[i].name, v);
	}
	return obj;
}

json_t *pbjson_get_field(const ProtobufCMessage *msg, const char *name)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
	return f ? field_to_json(msg, f) : NULL;
}

void pbjson_copy_field(ProtobufCMessage *dst, const char *dst_name, const ProtobufCMessage *src,
		       const char *src_name)
{
	if (!src)
		return;
	json_t *v = pbjson_get_field(src, src_name);
	if (!v)
		return;
	kumo_error_t err = NULL;
	if (pbjson_set_field(dst, dst_name, v, &err) < 0)
		abort(); /* same-shaped fields by construction: a mismatch is our bug */
	json_decref(v);
}

/* Frees what one (non-repeated or repeated) field owns and resets it. */
static void free_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	void *member = MEMBER(msg, f->offset);
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *n = MEMBER(msg, f->quantifier_offset);
		void *arr = *(void **)member;
		for (size_t k = 0; k < *n; k++) {
			void *p = (char *)arr + k * elem_size(f->type);
			if (f->type == PROTOBUF_C_TYPE_STRING)
				free(*(char **)p);
			else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				protobuf_c_message_free_unpacked(*(ProtobufCMessage **)p, NULL);
			else if (f->type == PROTOBUF_C_TYPE_BYTES)
				free(((ProtobufCBinaryData *)p)->data);
		}
		free(arr);
		*(void **)member = NULL;
		*n = 0;
		return;
	}
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		char *s = *(char **)member;
		if (s && s != (const char *)f->default_value && s != protobuf_c_empty_string)
			free(s);
		*(char **)member = (char *)protobuf_c_empty_string;
	} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		if (*(ProtobufCMessage **)member)
			protobuf_c_message_free_unpacked(*(ProtobufCMessage **)member, NULL);
		*(ProtobufCMessage **)member = NULL;
	} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
		ProtobufCBinaryData *b = member;
		free(b->data);
		b->data = NULL;
		b->len = 0;
	}
}

static bool json_to_i64(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_string(v)) {
		char *end;
		errno = 0;
		long long x = strtoll(json_string_value(v), &end, 10);
		if (errno || *end || end == json_string_value(v))
			return false;
		*out = x;
		return true;
	}
	return false;
}

/* Writes one scalar (or submessage) from JSON into the storage at p. */
static int scalar_from_json(const ProtobufCFieldDescriptor *f, json_t *v, void *p,
			    kumo_error_t *err)
{
	int64_t i;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (!json_to_i64(v, &i))
			break;
		*(int32_t *)p = (int32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (!json_to_i64(v, &i))
			break;
		*(int64_t *)p = i;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		if (!json_is_number(v))
			break;
		*(float *)p = (float)json_number_value(v);
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_is_number(v))
			break;
		*(double *)p = json_number_value(v);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			break;
		*(protobuf_c_boolean *)p = json_is_true(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (json_is_integer(v)) {
			*(int *)p = (int)json_integer_value(v);
			return 0;
		}
		if (json_is_string(v)) {
			const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(
				f->descriptor, json_string_value(v));
			if (!ev)
				return kumo_error(err, KUMO_E_INVALID,
						  "field `%s`: `%s` is not a value of `%s`", f->name,
						  json_string_value(v),
						  ((const ProtobufCEnumDescriptor *)f->descriptor)->name);
			*(int *)p = ev->value;
			return 0;
		}
		break;
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(v))
			break;
		*(char **)p = xstrdup(json_string_value(v));
		return 0;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		if (!json_is_string(v) || b64_decode(json_string_value(v), &b->data, &b->len) < 0)
			return kumo_error(err, KUMO_E_INVALID, "field `%s`: expected base64 text",
					  f->name);
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		if (json_is_null(v)) {
			*(ProtobufCMessage **)p = NULL;
			return 0;
		}
		ProtobufCMessage *m = NULL;
		if (pbjson_to_message(f->descriptor, v, &m, err) < 0)
			return kumo_error_wrap(err, "field `%s`", f->name);
		*(ProtobufCMessage **)p = m;
		return 0;
	}
	}
	return kumo_error(err, KUMO_E_INVALID, "field `%s`: wrong JSON type", f->name);
}

static void init_field_storage(const ProtobufCFieldDescriptor *f, void *p)
{
	memset(p, 0, elem_size(f->type));
	if (f->type == PROTOBUF_C_TYPE_STRING)
		*(char **)p = (char *)protobuf_c_empty_string;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d,
						  const char *key)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
	if (f)
		return f;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const char *n = d->fields[i].name, *k = key;
		while (*n && *k) {
			if (*n == '_' && n[1]) {
				if (toupper((unsigned char)n[1]) != *k)
					break;
				n += 2;
			} else {
				if (*n != *k)
					break;
				n++;
			}
			k++;
		}
		if (!*n && !*k)
			return &d->fields[i];
	}
	return NULL;
}

static int set_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, json_t *v,
		     kumo_error_t *err)
{
	free_field(msg, f);
	void *member = MEMBER(msg, f->offset);
	if (f->label != PROTOBUF_C_LABEL_REPEATED) {
		int r = scalar_from_json(f, v, member, err);
		if (r < 0)
			init_field_storage(f, member);
		else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
			 f->type != PROTOBUF_C_TYPE_STRING)
			*(protobuf_c_boolean *)MEMBER(msg, f->quantifier_offset) = 1;
		else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)MEMBER(msg, f->quantifier_offset) = f->id;
		return r;
	}
	size_t *n = MEMBER(msg, f->quantifier_offset);
	size_t es = elem_size(f->type);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor)) {
		if (!json_is_object(v))
			return kumo_error(err, KUMO_E_INVALID, "field `%s`: expected an object",
					  f->name);
		const ProtobufCMessageDescriptor *ed = f->descriptor;
		ProtobufCMessage **arr = xzalloc(es * (json_object_size(v) + 1));
		*(void **)member = arr;
		const char *key;
		json_t *val;
		json_object_foreach(v, key, val) {
			ProtobufCMessage *e = xzalloc(ed->sizeof_message);
			protobuf_c_message_init(ed, e);
			arr[(*n)++] = e;
			if (ed->fields[0].type != PROTOBUF_C_TYPE_STRING)
				return kumo_error(err, KUMO_E_INVALID,
						  "field `%s`: only string map keys are supported",
						  f->name);
			*(char **)MEMBER(e, ed->fields[0].offset) = xstrdup(key);
			if (scalar_from_json(&ed->fields[1], val, MEMBER(e, ed->fields[1].offset),
					     err) < 0) {
				init_field_storage(&ed->fields[1], MEMBER(e, ed->fields[1].offset));
				return kumo_error_wrap(err, "field `%s` key `%s`", f->name, key);
			}
		}
		return 0;
	}
	if (!json_is_array(v))
		return kumo_error(err, KUMO_E_INVALID, "field `%s`: expected an array", f->name);
	char *arr = xzalloc(es * (json_array_size(v) + 1));
	*(void **)member = arr;
	size_t k;
	json_t *val;
	json_array_foreach(v, k, val) {
		if (scalar_from_json(f, val, arr + k * es, err) < 0)
			return kumo_error_wrap(err, "element %zu", k);
		(*n)++;
	}
	return 0;
}

int pbjson_set_field(ProtobufCMessage *msg, const char *name, json_t *value, kumo_error_t *err)
{
	const ProtobufCFieldDescriptor *f = find_field(msg->descriptor, name);
	if (!f)
		return kumo_error(err, KUMO_E_INVALID, "no field `%s` in `%s`", name,
				  msg->descriptor->name);
	return set_field(msg, f, value, err);
}

int pbjson_to_message(const ProtobufCMessageDescriptor *desc, json_t *j, ProtobufCMessage **out,
		      kumo_error_t *err)
{
	if (!json_is_object(j))
		return kumo_error(err, KUMO_E_INVALID, "`%s`: expected a JSON object", desc->name);
	ProtobufCMessage *m = xzalloc(desc->sizeof_message);
	protobuf_c_message_init(desc, m);
	const char *key;
	json_t *val;
	json_object_foreach(j, key, val) {
		const ProtobufCFieldDescriptor *f = find_field(desc, key);
		if (!f) {
			protobuf_c_message_free_unpacked(m, NULL);
			return kumo_error(err, KUMO_E_INVALID, "unknown field `%s` in `%s`", key,
					  desc->name);
		}
		if (set_field(m, f, val, err) < 0) {
			protobuf_c_message_free_unpacked(m, NULL);
			return -1;
		}
	}
	*out = m;
	return 0;
}

ProtobufCMessage *pb_dup(const ProtobufCMessage *msg)
{
	if (!msg)
		return NULL;
	size_t len = protobuf_c_message_get_packed_size(msg);
	autofree uint8_t *buf = xmalloc(len);
	protobuf_c_message_pack(msg, buf);
	ProtobufCMessage *m = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
	if (!m)
		abort(); /* we just packed it: a failure here is a protobuf-c bug */
	return m;
}
