/* tests/unit/test_cri_pbjson.c - CRI schema plumbing: JSON <-> protobuf by descriptor,
 * unknown fields surviving decode/encode, the gRPC status mapping, kumod's config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <grpc/status.h>
#include <string.h>

#include "cri/api.pb-c.h"
#include "cri/cri.h"
#include "cri/pbjson.h"

static ProtobufCMessage *from_json(const ProtobufCMessageDescriptor *d, const char *text,
				   kumo_error_t *err)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	ProtobufCMessage *m = NULL;
	int r = pbjson_to_message(d, j, &m, err);
	json_decref(j);
	return r < 0 ? NULL : m;
}

static void json_roundtrip_through_wire(void **state)
{
	(void)state;
	kumo_error_t err = NULL;
	/* snake_case and crictl's camelCase keys, enum by name, map, repeated message. */
	ProtobufCMessage *m = from_json(
		&runtime__v1__pod_sandbox_config__descriptor,
		"{\"metadata\":{\"name\":\"web\",\"uid\":\"u1\",\"namespace\":\"ns\",\"attempt\":2},"
		"\"logDirectory\":\"/var/log/pods/x\",\"labels\":{\"app\":\"web\",\"a/b\":\"c d\"},"
		"\"port_mappings\":[{\"protocol\":\"UDP\",\"container_port\":53,\"hostPort\":5353}]}",
		&err);
	assert_non_null(m);
	Runtime__V1__PodSandboxConfig *c = (Runtime__V1__PodSandboxConfig *)m;
	assert_string_equal(c->metadata->name, "web");
	assert_int_equal(c->metadata->attempt, 2);
	assert_string_equal(c->log_directory, "/var/log/pods/x");
	assert_int_equal(c->n_labels, 2);
	assert_int_equal(c->n_port_mappings, 1);
	assert_int_equal(c->port_mappings[0]->protocol, RUNTIME__V1__PROTOCOL__UDP);
	assert_int_equal(c->port_mappings[0]->host_port, 5353);
	ProtobufCMessage *copy = pb_dup(m);
	json_t *a = pbjson_from_message(m), *b = pbjson_from_message(copy);
	assert_true(json_equal(a, b));
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "labels"), "a/b")),
			    "c d");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(a, "port_mappings"), 0), "protocol")),
			    "UDP");
	json_decref(a);
	json_decref(b);
	protobuf_c_message_free_unpacked(copy, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void bytes_are_base64(void **state)
{
	(void)state;
	kumo_error_t err = NULL;
	ProtobufCMessage *m =
		from_json(&runtime__v1__key_value__descriptor, "{\"key\":\"K\",\"value\":\"aGVsbG8=\"}", &err);
	assert_non_null(m);
	Runtime__V1__KeyValue *kv = (Runtime__V1__KeyValue *)m;
	assert_int_equal(kv->value.len, 5);
	assert_memory_equal(kv->value.data, "hello", 5);
	json_t *j = pbjson_from_message(m);
	assert_string_equal(json_string_value(json_object_get(j, "value")), "aGVsbG8=");
	json_decref(j);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void bad_json_is_invalid(void **state)
{
	(void)state;
	kumo_error_t err = NULL;
	assert_null(from_json(&runtime__v1__pod_sandbox_metadata__descriptor, "{\"nmae\":\"x\"}", &err));
	assert_int_equal(err->status, KUMO_E_INVALID);
	assert_non_null(strstr(err->msg, "`nmae`"));
	kumo_error_free(&err);
	assert_null(from_json(&runtime__v1__pod_sandbox_metadata__descriptor, "{\"attempt\":\"many\"}", &err));
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	assert_null(from_json(&runtime__v1__port_mapping__descriptor, "{\"protocol\":\"QUIC\"}", &err));
	assert_non_null(strstr(err->msg, "`QUIC`"));
	kumo_error_free(&err);
	assert_null(from_json(&runtime__v1__pod_sandbox_config__descriptor,
			      "{\"labels\":{\"a\":1}}", &err));
	kumo_error_free(&err);
	assert_null(from_json(&runtime__v1__pod_sandbox_config__descriptor,
			      "{\"metadata\":{\"name\":[1]}}", &err));
	assert_non_null(strstr(err->msg, "field `metadata`"));
	kumo_error_free(&err);
}

static void unknown_fields_survive(void **state)
{
	(void)state;
	/* VersionRequest{version="v1"} followed by field 99 (varint 7) and field 100
	 * (length-delimited "new"), as a newer kubelet could send. */
	const uint8_t wire[] = {0x0a, 0x02, 'v', '1', 0x98, 0x06, 0x07,
				0xa2, 0x06, 0x03, 'n', 'e', 'w'};
	ProtobufCMessage *m = protobuf_c_message_unpack(&runtime__v1__version_request__descriptor,
							NULL, sizeof(wire), wire);
	assert_non_null(m);
	assert_string_equal(((Runtime__V1__VersionRequest *)m)->version, "v1");
	assert_int_equal(m->n_unknown_fields, 2);
	uint8_t out[64];
	size_t n = protobuf_c_message_pack(m, out);
	assert_int_equal(n, sizeof(wire));
	assert_memory_equal(out, wire, sizeof(wire));
	ProtobufCMessage *copy = pb_dup(m);
	assert_int_equal(copy->n_unknown_fields, 2);
	protobuf_c_message_free_unpacked(copy, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void set_and_copy_map_fields(void **state)
{
	(void)state;
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PodSandbox *ps = xmalloc(sizeof(*ps));
	Runtime__V1__PodSandbox init = RUNTIME__V1__POD_SANDBOX__INIT;
	*ps = init;
	json_t *labels = json_pack("{s:s, s:s}", "k1", "v1", "k2", "v2");
	kumo_error_t err = NULL;
	ProtobufCMessage *c = pb_dup(&cfg.base);
	assert_int_equal(pbjson_set_field(c, "labels", labels, &err), 0);
	pbjson_copy_field(&ps->base, "labels", c, "labels");
	assert_int_equal(ps->n_labels, 2);
	json_t *back = pbjson_get_field(&ps->base, "labels");
	assert_true(json_equal(back, labels));
	/* Setting again replaces (no leak under ASan). */
	assert_int_equal(pbjson_set_field(&ps->base, "labels", labels, &err), 0);
	assert_int_equal(ps->n_labels, 2);
	assert_int_equal(pbjson_set_field(&ps->base, "nope", labels, &err), -1);
	kumo_error_free(&err);
	json_decref(back);
	json_decref(labels);
	protobuf_c_message_free_unpacked(c, NULL);
	protobuf_c_message_free_unpacked(&ps->base, NULL);
}

static void grpc_codes(void **state)
{
	(void)state;
	assert_int_equal(cri_grpc_code(KUMO_E_NOT_FOUND), GRPC_STATUS_NOT_FOUND);
	assert_int_equal(cri_grpc_code(KUMO_E_INVALID), GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(cri_grpc_code(KUMO_E_EXISTS), GRPC_STATUS_ALREADY_EXISTS);
	assert_int_equal(cri_grpc_code(KUMO_E_UNSUPPORTED), GRPC_STATUS_UNIMPLEMENTED);
	assert_int_equal(cri_grpc_code(KUMO_E_UNAVAILABLE), GRPC_STATUS_UNAVAILABLE);
	assert_int_equal(cri_grpc_code(KUMO_E_PERMISSION), GRPC_STATUS_PERMISSION_DENIED);
	assert_int_equal(cri_grpc_code(KUMO_E_INTERNAL), GRPC_STATUS_INTERNAL);
	assert_int_equal(cri_grpc_code(KUMO_E_PRECONDITION), GRPC_STATUS_FAILED_PRECONDITION);
	assert_int_equal(cri_grpc_code(12345), GRPC_STATUS_UNKNOWN);
}

static void config_flags_override_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/kumo-cfg-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/kumo.json", dir);
	const char *text = "{\"socket\":\"/run/a.sock\",\"root\":\"/var/a\","
			   "\"insecure_registries\":[\"localhost:5000\"],\"workers\":3}";
	kumo_error_t err = NULL;
	assert_int_equal(kumo_write_file_atomic(path, text, strlen(text), 0600, &err), 0);
	char *argv[] = {"kumod", "--socket", "/tmp/b.sock", "--insecure-registry=reg:80", NULL};
	struct cri_config cfg;
	bool version;
	assert_int_equal(cri_config_load(&cfg, path, true, 4, argv, &version, &err), 0);
	assert_string_equal(cfg.socket, "/tmp/b.sock");
	assert_string_equal(cfg.root, "/var/a");
	assert_int_equal(cfg.workers, 3);
	assert_string_equal(cfg.insecure_registries[0], "localhost:5000");
	assert_string_equal(cfg.insecure_registries[1], "reg:80");
	assert_null(cfg.insecure_registries[2]);
	assert_false(version);
	cri_config_clear(&cfg);

	char *bad[] = {"kumod", "--sockett", "x", NULL};
	assert_int_equal(cri_config_load(&cfg, path, true, 3, bad, &version, &err), -1);
	assert_non_null(strstr(err->msg, "--sockett"));
	kumo_error_free(&err);
	cri_config_clear(&cfg);
	char *rel[] = {"kumod", "--root", "relative", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, rel, &version, &err), -1);
	kumo_error_free(&err);
	cri_config_clear(&cfg);
	char *missing[] = {"kumod", "--version", NULL};
	assert_int_equal(cri_config_load(&cfg, "/nonexistent/kumo.json", false, 2, missing,
					 &version, &err), 0);
	assert_true(version);
	cri_config_clear(&cfg);
	unlink(path);
	rmdir(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_roundtrip_through_wire),
		cmocka_unit_test(bytes_are_base64),
		cmocka_unit_test(bad_json_is_invalid),
		cmocka_unit_test(unknown_fields_survive),
		cmocka_unit_test(set_and_copy_map_fields),
		cmocka_unit_test(grpc_codes),
		cmocka_unit_test(config_flags_override_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
