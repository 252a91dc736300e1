/* tests/unit/test_cri_runtime.c - kumod's state machine in process: cri_dispatch() on
 * the test backend, without the gRPC transport (that is tests/e2e/cri-e2e.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cri/api.pb-c.h"
#include "cri/backend.h"
#include "tests/support/fake_backend.h"
#include "cri/cri.h"
#include "cri/pbjson.h"

struct fixture {
	char dir[64];
	struct cri_runtime *rt;
};

static void open_rt(struct fixture *f)
{
	struct cri_backend *b = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cri_backend_fake_new(f->dir, &b, &err), 0);
	assert_int_equal(cri_runtime_new(f->dir, b, &f->rt, &err), 0);
}

static int setup(void **state)
{
	struct fixture *f = xzalloc(sizeof(*f));
	strcpy(f->dir, "/tmp/kumo-rt-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	open_rt(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	cri_runtime_free(f->rt);
	char *cmd = xasprintf("rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
	return 0;
}

/* The message of the last failed call(). */
static char last_msg[1024];

/* Calls METHOD with a JSON request; returns the response as JSON, or NULL with *status
 * set to the kumo error status (and the message in last_msg). */
static json_t *call(struct fixture *f, const char *method, const char *req_json, int *status)
{
	const ProtobufCServiceDescriptor *svcs[] = {&runtime__v1__runtime_service__descriptor,
						    &runtime__v1__image_service__descriptor};
	const ProtobufCMethodDescriptor *md = NULL;
	const ProtobufCServiceDescriptor *sd = NULL;
	for (int s = 0; s < 2 && !md; s++)
		for (unsigned i = 0; i < svcs[s]->n_methods; i++)
			if (strcmp(svcs[s]->methods[i].name, method) == 0) {
				md = &svcs[s]->methods[i];
				sd = svcs[s];
			}
	assert_non_null(md);
	json_t *j = json_loads(req_json, 0, NULL);
	assert_non_null(j);
	ProtobufCMessage *req = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(pbjson_to_message(md->input, j, &req, &err), 0);
	json_decref(j);
	size_t len = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = xmalloc(len);
	protobuf_c_message_pack(req, buf);
	protobuf_c_message_free_unpacked(req, NULL);
	char *path = xasprintf("/%s/%s", sd->name, method);
	uint8_t *resp = NULL;
	size_t rlen = 0;
	int r = cri_dispatch(f->rt, path, buf, len, &resp, &rlen, &err);
	free(path);
	free(buf);
	if (status)
		*status = r < 0 ? err->status : 0;
	if (r < 0) {
		snprintf(last_msg, sizeof(last_msg), "%s", kumo_error_msg(err));
		kumo_error_free(&err);
		return NULL;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(md->output, NULL, rlen, resp);
	free(resp);
	assert_non_null(m);
	json_t *out = pbjson_from_message(m);
	protobuf_c_message_free_unpacked(m, NULL);
	return out;
}

static char *str_at(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	if (b)
		v = json_object_get(v, b);
	assert_non_null(json_string_value(v));
	return xstrdup(json_string_value(v));
}

static char *run_pod(struct fixture *f, const char *name)
{
	char *req = xasprintf("{\"config\":{\"metadata\":{\"name\":\"%s\",\"uid\":\"u-%s\","
			      "\"namespace\":\"t\"},\"log_directory\":\"%s\",\"labels\":{\"pod\":\"%s\"}}}",
			      name, name, f->dir, name);
	json_t *r = call(f, "RunPodSandbox", req, NULL);
	free(req);
	assert_non_null(r);
	char *id = str_at(r, "pod_sandbox_id", NULL);
	json_decref(r);
	return id;
}

static char *create(struct fixture *f, const char *pod, const char *name, const char *cmd)
{
	json_decref(call(f, "PullImage", "{\"image\":{\"image\":\"r/app:1\"}}", NULL));
	char *req = xasprintf("{\"pod_sandbox_id\":\"%s\",\"config\":{\"metadata\":{\"name\":\"%s\"},"
			      "\"image\":{\"image\":\"r/app:1\"},\"command\":%s,\"log_path\":\"%s.log\"}}",
			      pod, name, cmd, name);
	json_t *r = call(f, "CreateContainer", req, NULL);
	free(req);
	assert_non_null(r);
	char *id = str_at(r, "container_id", NULL);
	json_decref(r);
	return id;
}

static char *ctr_state(struct fixture *f, const char *id)
{
	char *req = xasprintf("{\"container_id\":\"%s\"}", id);
	json_t *r = call(f, "ContainerStatus", req, NULL);
	free(req);
	if (!r)
		return xstrdup("GONE");
	char *s = str_at(r, "status", "state");
	json_decref(r);
	return s;
}

/* Waits (bounded) for the test backend's monitor to report an exit. */
static void wait_exited(struct fixture *f, const char *id)
{
	for (int i = 0; i < 500; i++) {
		char *s = ctr_state(f, id);
		bool done = strcmp(s, "CONTAINER_EXITED") == 0;
		free(s);
		if (done)
			return;
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
	fail_msg("container %s never exited", id);
}

static void lifecycle(void **state)
{
	struct fixture *f = *state;
	char *pod = run_pod(f, "a");
	char *c = create(f, pod, "c", "[\"exit\",\"7\"]");
	char *s = ctr_state(f, c);
	assert_string_equal(s, "CONTAINER_CREATED");
	free(s);
	char *req = xasprintf("{\"container_id\":\"%.8s\"}", c);
	json_decref(call(f, "StartContainer", req, NULL));
	wait_exited(f, c);
	int st = 0;
	assert_null(call(f, "StartContainer", req, &st));
	assert_int_equal(st, KUMO_E_PRECONDITION);
	json_t *r = call(f, "ContainerStatus", req, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "status"), "exit_code")), 7);
	json_decref(r);
	free(req);
	/* Remove the pod: its container goes too; removing again is fine. */
	req = xasprintf("{\"pod_sandbox_id\":\"%s\"}", pod);
	json_decref(call(f, "RemovePodSandbox", req, &st));
	assert_int_equal(st, 0);
	json_decref(call(f, "RemovePodSandbox", req, &st));
	assert_int_equal(st, 0);
	assert_null(call(f, "PodSandboxStatus", req, &st));
	assert_int_equal(st, KUMO_E_NOT_FOUND);
	s = ctr_state(f, c);
	assert_string_equal(s, "GONE");
	free(s);
	free(req);
	free(c);
	free(pod);
}

static void restart_recovers_state(void **state)
{
	struct fixture *f = *state;
	char *pod = run_pod(f, "b");
	char *run = create(f, pod, "run", "[\"serve\"]");
	char *later = create(f, pod, "later", "[\"sleep\",\"200\"]");
	char *req = xasprintf("{\"container_id\":\"%s\"}", run);
	json_decref(call(f, "StartContainer", req, NULL));
	free(req);
	req = xasprintf("{\"container_id\":\"%s\"}", later);
	json_decref(call(f, "StartContainer", req, NULL));
	free(req);
	/* "Crash": drop the runtime (no stop); the fake VMs live on in their records. */
	cri_runtime_free(f->rt);
	struct timespec ts = {0, 300 * 1000000};
	nanosleep(&ts, NULL);
	open_rt(f);
	char *s = ctr_state(f, run);
	assert_string_equal(s, "CONTAINER_RUNNING");
	free(s);
	s = ctr_state(f, later);
	assert_string_equal(s, "CONTAINER_EXITED"); /* exited while "down" */
	free(s);
	json_t *r = call(f, "ListPodSandbox", "{\"filter\":{\"label_selector\":{\"pod\":\"b\"}}}", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
	json_decref(r);
	free(run);
	free(later);
	free(pod);
}

static void broken_record_is_set_aside(void **state)
{
	struct fixture *f = *state;
	char *pod = run_pod(f, "c");
	cri_runtime_free(f->rt);
	char *bad = xasprintf("%s/pods/%s.json", f->dir, "ffff");
	kumo_error_t err = NULL;
	assert_int_equal(kumo_write_file_atomic(bad, "{not json", 9, 0600, &err), 0);
	/* A well-formed record whose config lacks metadata is broken too. */
	char *nometa = xasprintf("%s/pods/%064d.json", f->dir, 7);
	const char *text = "{\"id\":\"0000000000000000000000000000000000000000000000000000000000000007\","
			   "\"state\":\"SANDBOX_READY\",\"config\":{}}";
	assert_int_equal(kumo_write_file_atomic(nometa, text, strlen(text), 0600, &err), 0);
	open_rt(f);
	char *aside2 = xasprintf("%s.broken", nometa);
	struct stat sb2;
	assert_int_equal(stat(aside2, &sb2), 0);
	free(aside2);
	free(nometa);
	char *aside = xasprintf("%s.broken", bad);
	struct stat sb;
	assert_int_equal(stat(aside, &sb), 0);
	json_t *r = call(f, "ListPodSandbox", "{}", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
	json_decref(r);
	free(aside);
	free(bad);
	free(pod);
}

/* A pod record that turns out broken takes its containers' records aside with it: the
 * other pod and its container are served as before. */
static void orphans_of_a_broken_pod_are_set_aside(void **state)
{
	struct fixture *f = *state;
	char *keep = run_pod(f, "keep");
	char *kc = create(f, keep, "k", "[\"serve\"]");
	char *lost = run_pod(f, "lost");
	char *lc = create(f, lost, "l", "[\"serve\"]");
	cri_runtime_free(f->rt);
	char *path = xasprintf("%s/pods/%s.json", f->dir, lost);
	kumo_error_t err = NULL;
	assert_int_equal(kumo_write_file_atomic(path, "{\"id\": tru", 11, 0600, &err), 0);
	open_rt(f);
	char *aside = xasprintf("%s/containers/%s.json.broken", f->dir, lc);
	struct stat sb;
	assert_int_equal(stat(aside, &sb), 0);
	json_t *r = call(f, "ListContainers", "{}", NULL);
	json_t *items = json_object_get(r, "containers");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), kc);
	json_decref(r);
	r = call(f, "ListPodSandbox", "{}", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
	json_decref(r);
	free(aside);
	free(path);
	free(lc);
	free(lost);
	free(kc);
	free(keep);
}

static void bad_requests(void **state)
{
	struct fixture *f = *state;
	uint8_t *resp = NULL;
	size_t len;
	kumo_error_t err = NULL;
	const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	assert_int_equal(cri_dispatch(f->rt, "/runtime.v1.RuntimeService/Version", junk,
				      sizeof(junk), &resp, &len, &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	assert_int_equal(cri_dispatch(f->rt, "/runtime.v1.RuntimeService/Nope", NULL, 0, &resp,
				      &len, &err), -1);
	assert_int_equal(err->status, KUMO_E_UNSUPPORTED);
	kumo_error_free(&err);
	assert_int_equal(cri_dispatch(f->rt, "/runtime.v1.RuntimeService/UpdatePodSandboxResources",
				      NULL, 0, &resp, &len, &err), -1);
	assert_int_equal(err->status, KUMO_E_UNSUPPORTED);
	assert_non_null(strstr(err->msg, "resize"));
	kumo_error_free(&err);
	assert_int_equal(cri_dispatch(f->rt, "/runtime.v1.RuntimeService/CheckpointContainer", NULL,
				      0, &resp, &len, &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	assert_non_null(strstr(err->msg, "needs container_id"));
	kumo_error_free(&err);
	assert_int_equal(cri_dispatch(f->rt, "/runtime.v1.RuntimeService/ExecSync", NULL, 0, &resp,
				      &len, &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	assert_non_null(strstr(err->msg, "command is empty"));
	kumo_error_free(&err);
	int st;
	assert_null(call(f, "StopContainer", "{\"container_id\":\"abc\"}", &st));
	assert_int_equal(st, KUMO_E_NOT_FOUND);
	assert_null(call(f, "RunPodSandbox", "{\"config\":{\"metadata\":{\"name\":\"x\"}}}", &st));
	assert_int_equal(st, KUMO_E_INVALID);
	/* An empty request decodes to defaults, which handlers reject. */
	assert_int_equal(cri_dispatch(f->rt, "/runtime.v1.ImageService/PullImage", NULL, 0, &resp,
				      &len, &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
}

/* What a VM cannot give is refused at CreateContainer, naming the pod spec field. */
static void host_features_refused(void **state)
{
	struct fixture *f = *state;
	json_decref(call(f, "PullImage", "{\"image\":{\"image\":\"r/app:1\"}}", NULL));
	static const struct {
		const char *pod_linux, *ctr_extra, *field;
	} cases[] = {
		{"{\"security_context\":{\"namespace_options\":{\"network\":\"NODE\"}}}", "",
		 "spec.hostNetwork"},
		{"{}", ",\"linux\":{\"security_context\":{\"namespace_options\":{\"pid\":\"NODE\"}}}",
		 "spec.hostPID"},
		{"{\"security_context\":{\"namespace_options\":{\"ipc\":\"NODE\"}}}", "",
		 "spec.hostIPC"},
		{"{}", ",\"linux\":{\"security_context\":{\"privileged\":true}}",
		 "securityContext.privileged"},
		{"{}", ",\"devices\":[{\"container_path\":\"/dev/fuse\",\"host_path\":\"/dev/fuse\"}]",
		 "host device `/dev/fuse` (devices)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *req = xasprintf("{\"config\":{\"metadata\":{\"name\":\"p%zu\",\"uid\":\"u%zu\","
				      "\"namespace\":\"t\"},\"linux\":%s}}", i, i, cases[i].pod_linux);
		json_t *r = call(f, "RunPodSandbox", req, NULL);
		free(req);
		assert_non_null(r);
		char *pod = str_at(r, "pod_sandbox_id", NULL);
		json_decref(r);
		req = xasprintf("{\"pod_sandbox_id\":\"%s\",\"config\":{\"metadata\":{\"name\":\"c\"},"
				"\"image\":{\"image\":\"r/app:1\"}%s}}", pod, cases[i].ctr_extra);
		int st = 0;
		assert_null(call(f, "CreateContainer", req, &st));
		assert_int_equal(st, KUMO_E_UNSUPPORTED);
		if (!strstr(last_msg, cases[i].field))
			fail_msg("case %zu: `%s` does not name `%s`", i, last_msg, cases[i].field);
		free(req);
		/* Nothing is left of the refused container. */
		r = call(f, "ListContainers", "{}", NULL);
		assert_int_equal(json_array_size(json_object_get(r, "containers")), 0);
		json_decref(r);
		free(pod);
	}
}

static void ambiguous_prefix(void **state)
{
	struct fixture *f = *state;
	/* With many pods some two share a first hex digit; that prefix is ambiguous. */
	char *ids[20];
	for (int i = 0; i < 20; i++) {
		char name[8];
		snprintf(name, sizeof(name), "p%d", i);
		ids[i] = run_pod(f, name);
	}
	char prefix[2] = {0};
	for (int i = 0; i < 20 && !prefix[0]; i++)
		for (int j = i + 1; j < 20; j++)
			if (ids[i][0] == ids[j][0])
				prefix[0] = ids[i][0];
	assert_true(prefix[0] != 0); /* 20 ids over 16 digits: pigeonhole */
	char *req = xasprintf("{\"pod_sandbox_id\":\"%s\"}", prefix);
	int st;
	assert_null(call(f, "PodSandboxStatus", req, &st));
	assert_int_equal(st, KUMO_E_INVALID);
	free(req);
	for (int i = 0; i < 20; i++)
		free(ids[i]);
}

/* Every method gets garbage and mutated encodings: each call answers (ok or a kumo error)
 * and nothing crashes or leaks (this runs under ASan+UBSan too). */
static void garbage_requests(void **state)
{
	struct fixture *f = *state;
	json_decref(call(f, "PullImage", "{\"image\":{\"image\":\"r/app:1\"}}", NULL));
	char *pod = run_pod(f, "g");
	char *good = xasprintf("{\"pod_sandbox_id\":\"%s\",\"config\":{\"metadata\":{\"name\":\"n\"},"
			       "\"image\":{\"image\":\"r/app:1\"},\"command\":[\"serve\"],"
			       "\"labels\":{\"a\":\"b\"},\"envs\":[{\"key\":\"k\",\"value\":\"dg==\"}]}}",
			       pod);
	json_t *j = json_loads(good, 0, NULL);
	ProtobufCMessage *m = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(pbjson_to_message(&runtime__v1__create_container_request__descriptor, j, &m,
					   &err), 0);
	json_decref(j);
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *valid = xmalloc(len);
	protobuf_c_message_pack(m, valid);
	protobuf_c_message_free_unpacked(m, NULL);
	const ProtobufCServiceDescriptor *svcs[] = {&runtime__v1__runtime_service__descriptor,
						    &runtime__v1__image_service__descriptor};
	uint32_t seed = 12345;
	uint8_t *buf = xmalloc(len + 64);
	int answered = 0;
	for (int s = 0; s < 2; s++)
		for (unsigned i = 0; i < svcs[s]->n_methods; i++) {
			if (strcmp(svcs[s]->methods[i].name, "GetContainerEvents") == 0)
				continue; /* streaming: not a unary dispatch */
			char *path = xasprintf("/%s/%s", svcs[s]->name, svcs[s]->methods[i].name);
			for (int round = 0; round < 40; round++) {
				size_t n;
				if (round < 20) { /* mutate the valid encoding */
					memcpy(buf, valid, len);
					n = len - (round % 2 ? (size_t)(round % (int)len) : 0);
					for (int k = 0; k < 1 + round % 4; k++) {
						seed = seed * 1103515245 + 12345;
						buf[(seed >> 8) % n] ^= (uint8_t)(seed >> 16);
					}
				} else { /* random bytes */
					n = (size_t)(round * 3 % 64);
					for (size_t k = 0; k < n; k++) {
						seed = seed * 1103515245 + 12345;
						buf[k] = (uint8_t)(seed >> 16);
					}
				}
				uint8_t *resp = NULL;
				size_t rlen = 0;
				int r = cri_dispatch(f->rt, path, buf, n, &resp, &rlen, &err);
				assert_true(r == 0 || (err && err->msg && *err->msg));
				answered++;
				free(resp);
				kumo_error_free(&err);
			}
			free(path);
		}
	assert_true(answered > 1000);
	free(buf);
	free(valid);
	free(good);
	free(pod);
}

/* A VM stage whose VM exits before start even returns (a very short app). */
static struct cri_vms_ops fast_ops;
static int (*orig_start)(struct cri_vms *, const char *, kumo_error_t *);
static int fast_start(struct cri_vms *s, const char *id, kumo_error_t *err)
{
	if (orig_start(s, id, err) < 0)
		return -1;
	struct cri_vm_status st = {.state = CRI_VM_EXITED,
				   .exit = {.status = 5, .kind = KUMO_EXIT_EXITED, .trap = -1},
				   .finished_at_ns = 2};
	cri_vms_report_exit(s, id, &st);
	return 0;
}

static void collect(void *ctx, const uint8_t *msg, size_t len)
{
	json_t *types = ctx;
	Runtime__V1__ContainerEventResponse *ev =
		runtime__v1__container_event_response__unpack(NULL, len, msg);
	assert_non_null(ev);
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&runtime__v1__container_event_type__descriptor, ev->container_event_type);
	json_array_append_new(types, json_string(v->name));
	runtime__v1__container_event_response__free_unpacked(ev, NULL);
}

static void exit_racing_start_is_ordered(void **state)
{
	struct fixture *f = *state;
	cri_runtime_free(f->rt);
	struct cri_backend *b = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(cri_backend_fake_new(f->dir, &b, &err), 0);
	fast_ops = *b->vms->ops;
	orig_start = fast_ops.start;
	fast_ops.start = fast_start;
	b->vms->ops = &fast_ops;
	assert_int_equal(cri_runtime_new(f->dir, b, &f->rt, &err), 0);
	char *pod = run_pod(f, "race");
	char *c = create(f, pod, "quick", "[\"serve\"]");
	json_t *types = json_array();
	int h = cri_events_subscribe(f->rt, collect, types);
	char *req = xasprintf("{\"container_id\":\"%s\"}", c);
	json_decref(call(f, "StartContainer", req, NULL));
	cri_events_unsubscribe(f->rt, h);
	assert_int_equal(json_array_size(types), 2);
	assert_string_equal(json_string_value(json_array_get(types, 0)), "CONTAINER_STARTED_EVENT");
	assert_string_equal(json_string_value(json_array_get(types, 1)), "CONTAINER_STOPPED_EVENT");
	json_t *r = call(f, "ContainerStatus", req, NULL);
	json_t *st = json_object_get(r, "status");
	assert_string_equal(json_string_value(json_object_get(st, "state")), "CONTAINER_EXITED");
	assert_int_equal(json_integer_value(json_object_get(st, "exit_code")), 5);
	json_decref(r);
	json_decref(types);
	free(req);
	free(c);
	free(pod);
}

/* CRI resources -> the VM's size (cri/vms.c). */
/* kumod's routing keys: flags and kumo.json, their defaults and what they refuse. */
static void routing_config(void **state)
{
	struct cri_config cfg;
	bool v;
	kumo_error_t err = NULL;
	char *none[] = {"kumod", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 1, none, &v, &err), 0);
	assert_string_equal(cfg.downstream_endpoint, "unix:///run/containerd/containerd.sock");
	assert_string_equal(cfg.default_runtime, "downstream");
	assert_string_equal(cfg.kumo_handlers[0], "kumo");
	assert_null(cfg.kumo_handlers[1]);
	cri_config_clear(&cfg);
	char *flags[] = {"kumod", "--downstream-endpoint", "unix:///x/c.sock", "--kumo-handlers",
			 "wasm,kumo", "--default-runtime=kumo", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 6, flags, &v, &err), 0);
	assert_string_equal(cfg.downstream_endpoint, "unix:///x/c.sock");
	assert_string_equal(cfg.default_runtime, "kumo");
	assert_string_equal(cfg.kumo_handlers[0], "wasm");
	assert_string_equal(cfg.kumo_handlers[1], "kumo");
	assert_null(cfg.kumo_handlers[2]);
	cri_config_clear(&cfg);
	static const char *const bad[][2] = {
		{"--kumo-handlers", ""},           /* the empty handler is not a name */
		{"--kumo-handlers", "a,,b"},
		{"--kumo-handlers", "kumo,kumo"}, /* twice */
		{"--default-runtime", "runc"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {"kumod", (char *)bad[i][0], (char *)bad[i][1], NULL};
		assert_int_equal(cri_config_load(&cfg, NULL, false, 3, argv, &v, &err), -1);
		assert_int_equal(err->status, KUMO_E_INVALID);
		kumo_error_free(&err);
		cri_config_clear(&cfg);
	}
	/* The same keys in kumo.json (flags still win). */
	struct fixture *f = *state;
	char *path = xasprintf("%s/kumo.json", f->dir);
	const char *j = "{\"downstream_endpoint\":\"none\",\"kumo_handlers\":[\"spin\"],"
			"\"default_runtime\":\"kumo\"}";
	assert_int_equal(kumo_write_file_atomic(path, j, strlen(j), 0600, &err), 0);
	char *withfile[] = {"kumod", "--config", path, "--default-runtime", "downstream", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 5, withfile, &v, &err), 0);
	assert_string_equal(cfg.downstream_endpoint, "none");
	assert_string_equal(cfg.kumo_handlers[0], "spin");
	assert_string_equal(cfg.default_runtime, "downstream");
	cri_config_clear(&cfg);
	j = "{\"kumo_handlers\":[]}";
	assert_int_equal(kumo_write_file_atomic(path, j, strlen(j), 0600, &err), 0);
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, withfile, &v, &err), -1);
	kumo_error_free(&err);
	cri_config_clear(&cfg);
	free(path);
}

/* The pod-VM switch: on by default, kumo.json "pod_vm" and --pod-vm (which wins), and
 * what they refuse; the same for starting pod VMs from a snapshot (off by default). */
static void pod_vm_config(void **state)
{
	struct cri_config cfg;
	bool v;
	kumo_error_t err = NULL;
	char *none[] = {"kumod", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 1, none, &v, &err), 0);
	assert_true(cfg.pod_vm);
	cri_config_clear(&cfg);
	char *off[] = {"kumod", "--pod-vm", "false", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, off, &v, &err), 0);
	assert_false(cfg.pod_vm);
	cri_config_clear(&cfg);
	char *bad[] = {"kumod", "--pod-vm=yes", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 2, bad, &v, &err), -1);
	assert_string_equal(kumo_error_msg(err), "--pod-vm: `yes` is not true or false");
	kumo_error_free(&err);
	cri_config_clear(&cfg);
	struct fixture *f = *state;
	autofree char *path = xasprintf("%s/kumo.json", f->dir);
	const char *j = "{\"pod_vm\": false}";
	assert_int_equal(kumo_write_file_atomic(path, j, strlen(j), 0600, &err), 0);
	char *withfile[] = {"kumod", "--config", path, NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, withfile, &v, &err), 0);
	assert_false(cfg.pod_vm);
	cri_config_clear(&cfg);
	char *flagwins[] = {"kumod", "--config", path, "--pod-vm", "true", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 5, flagwins, &v, &err), 0);
	assert_true(cfg.pod_vm);
	cri_config_clear(&cfg);
	j = "{\"pod_vm\": \"no\"}"; /* a string is not a boolean */
	assert_int_equal(kumo_write_file_atomic(path, j, strlen(j), 0600, &err), 0);
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, withfile, &v, &err), -1);
	kumo_error_free(&err);
	cri_config_clear(&cfg);
	/* Starting pod VMs from a snapshot: off by default, the key and the flag. */
	assert_int_equal(cri_config_load(&cfg, NULL, false, 1, none, &v, &err), 0);
	assert_false(cfg.pod_vm_snapshot_start);
	cri_config_clear(&cfg);
	char *snap_on[] = {"kumod", "--pod-vm-snapshot-start", "true", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, snap_on, &v, &err), 0);
	assert_true(cfg.pod_vm_snapshot_start);
	cri_config_clear(&cfg);
	char *snap_bad[] = {"kumod", "--pod-vm-snapshot-start=1", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 2, snap_bad, &v, &err), -1);
	assert_string_equal(kumo_error_msg(err), "--pod-vm-snapshot-start: `1` is not true or false");
	kumo_error_free(&err);
	cri_config_clear(&cfg);
	j = "{\"pod_vm_snapshot_start\": true}";
	assert_int_equal(kumo_write_file_atomic(path, j, strlen(j), 0600, &err), 0);
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, withfile, &v, &err), 0);
	assert_true(cfg.pod_vm_snapshot_start);
	cri_config_clear(&cfg);
	j = "{\"pod_vm_snapshot_start\": \"yes\"}";
	assert_int_equal(kumo_write_file_atomic(path, j, strlen(j), 0600, &err), 0);
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, withfile, &v, &err), -1);
	kumo_error_free(&err);
	cri_config_clear(&cfg);
}

/* The hardening keys: the socket's group and the jail, flags and kumo.json. */
static void hardening_config(void **state)
{
	struct cri_config cfg;
	bool v;
	kumo_error_t err = NULL;
	char *none[] = {"kumod", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 1, none, &v, &err), 0);
	assert_true(cfg.jail);
	assert_null(cfg.socket_group);
	assert_null(cfg.jail_user);
	assert_int_equal(cfg.jail_memory_overhead_mib, 0);
	cri_config_clear(&cfg);
	char *flags[] = {"kumod", "--jail", "off", "--socket-group=kvm", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 4, flags, &v, &err), 0);
	assert_false(cfg.jail);
	assert_string_equal(cfg.socket_group, "kvm");
	cri_config_clear(&cfg);
	char *badflag[] = {"kumod", "--jail", "maybe", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, badflag, &v, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "want on or off"));
	kumo_error_free(&err);
	cri_config_clear(&cfg);
	struct fixture *f = *state;
	char *path = xasprintf("%s/kumo.json", f->dir);
	const char *j = "{\"jail\":false,\"jail_user\":\"q\",\"jail_memory_overhead_mib\":512,"
			"\"socket_group\":\"g\"}";
	assert_int_equal(kumo_write_file_atomic(path, j, strlen(j), 0600, &err), 0);
	char *withfile[] = {"kumod", "--config", path, "--jail", "on", NULL};
	assert_int_equal(cri_config_load(&cfg, NULL, false, 5, withfile, &v, &err), 0);
	assert_true(cfg.jail); /* the flag wins */
	assert_string_equal(cfg.jail_user, "q");
	assert_int_equal(cfg.jail_memory_overhead_mib, 512);
	assert_string_equal(cfg.socket_group, "g");
	cri_config_clear(&cfg);
	j = "{\"jail_memory_overhead_mib\":0}"; /* 0 MiB: refused (1 to 65536) */
	assert_int_equal(kumo_write_file_atomic(path, j, strlen(j), 0600, &err), 0);
	assert_int_equal(cri_config_load(&cfg, NULL, false, 3, withfile, &v, &err), -1);
	kumo_error_free(&err);
	cri_config_clear(&cfg);
	free(path);
}

/* A downstream whose socket is not there leaves a kumo-only node: the default handler
 * is kumo's, kumo's own handler names are accepted (and advertised), any other handler
 * is refused naming the missing socket, and Status says so. */
static void routing_without_downstream(void **state)
{
	struct fixture *f = *state;
	char *ep = xasprintf("unix://%s/nobody.sock", f->dir);
	const char *handlers[] = {"spin", "kumo", NULL};
	struct cri_routing r = {.downstream_endpoint = ep, .kumo_handlers = handlers};
	kumo_error_t err = NULL;
	assert_int_equal(cri_runtime_route(f->rt, &r, &err), 0);
	char *pod = run_pod(f, "solo");
	int st = 0;
	json_decref(call(f, "RunPodSandbox", "{\"config\":{\"metadata\":{\"name\":\"s\",\"uid\":\"s\","
			 "\"namespace\":\"t\"}},\"runtime_handler\":\"spin\"}", &st));
	assert_int_equal(st, 0);
	assert_null(call(f, "RunPodSandbox", "{\"config\":{\"metadata\":{\"name\":\"r\",\"uid\":\"r\","
			 "\"namespace\":\"t\"}},\"runtime_handler\":\"runc\"}", &st));
	assert_int_equal(st, KUMO_E_INVALID);
	assert_non_null(strstr(last_msg, "no runtime handler `runc`"));
	assert_non_null(strstr(last_msg, "nobody.sock"));
	json_t *s = call(f, "Status", "{\"verbose\":true}", &st);
	assert_non_null(s);
	json_t *hs = json_object_get(s, "runtime_handlers");
	assert_int_equal(json_array_size(hs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(hs, 1), "name")), "spin");
	json_t *info = json_loads(json_string_value(json_object_get(json_object_get(s, "info"), "info")),
				  0, NULL);
	const char *state_text = json_string_value(json_object_get(json_object_get(info, "downstream"), "state"));
	assert_non_null(state_text);
	assert_int_equal(strncmp(state_text, "absent", 6), 0);
	json_decref(info);
	json_decref(s);
	s = call(f, "ListPodSandbox", "{}", &st);
	assert_int_equal(json_array_size(json_object_get(s, "items")), 2);
	json_decref(s);
	/* Events are kumo's alone, and there. */
	assert_int_equal(cri_events_available(f->rt, &err), 0);
	free(pod);
	free(ep);
}

static void vm_size_from_resources(void **state)
{
	(void)state;
	struct cri_vm_size s;
	kumo_error_t err = NULL;
	/* No limits: defaults. */
	assert_int_equal(cri_vm_size_of(0, 0, 0, 0, 4, &s, &err), 0);
	assert_int_equal(s.memory_mib, 64);
	assert_int_equal(s.vcpus, 1);
	assert_int_equal(s.cpu_quota_us, 0);
	assert_int_equal(s.cpu_shares, 0);
	/* 2.5 CPUs of quota on a 2-CPU host: 2 vCPUs, quota spread per vCPU. */
	assert_int_equal(cri_vm_size_of(100ll << 20, 250000, 100000, 1024, 2, &s, &err), 0);
	assert_int_equal(s.memory_mib, 100);
	assert_int_equal(s.vcpus, 2);
	assert_int_equal(s.cpu_period_us, 100000);
	assert_int_equal(s.cpu_quota_us, 125000);
	assert_int_equal(s.cpu_shares, 1024);
	/* Half a CPU: 1 vCPU with quota 50000. */
	assert_int_equal(cri_vm_size_of(32ll << 20, 50000, 100000, 2, 8, &s, &err), 0);
	assert_int_equal(s.vcpus, 1);
	assert_int_equal(s.cpu_quota_us, 50000);
	/* Below the floor: a clear error naming both. */
	assert_int_equal(cri_vm_size_of(8ll << 20, 0, 0, 0, 8, &s, &err), -1);
	assert_string_equal(kumo_error_msg(err),
			    "memory limit 8388608 bytes is below the 16 MiB the kernel needs to boot");
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	assert_int_equal(cri_vm_size_of(-1, 0, 0, 0, 8, &s, &err), -1);
	kumo_error_free(&err);
	assert_int_equal(cri_vm_size_of(64ll << 20, 1000, 50, 0, 8, &s, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "cpu period 50 us"));
	kumo_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vm_size_from_resources),
		cmocka_unit_test_setup_teardown(lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_recovers_state, setup, teardown),
		cmocka_unit_test_setup_teardown(broken_record_is_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(orphans_of_a_broken_pod_are_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(ambiguous_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(host_features_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(exit_racing_start_is_ordered, setup, teardown),
		cmocka_unit_test_setup_teardown(routing_config, setup, teardown),
		cmocka_unit_test_setup_teardown(hardening_config, setup, teardown),
		cmocka_unit_test_setup_teardown(pod_vm_config, setup, teardown),
		cmocka_unit_test_setup_teardown(routing_without_downstream, setup, teardown),
	};
	kumo_log_set_level(KUMO_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
