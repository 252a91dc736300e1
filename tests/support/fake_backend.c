/* tests/support/fake_backend.c - the TEST backend: in-process fakes of the three stages
 * of cri/backend.h (images, pod network, VMs), for unit tests and end-to-end tests of
 * kumod's state machine (the test daemon build/tests/kumod-fake, kumod's own main on
 * these stages). Nothing here boots or pulls anything.
 *
 * Its "VMs" are records under <root>/test-backend/vms/, so they outlive a kumod
 * restart like real VMs do. What a fake VM does is chosen by the container's command
 * (command then args):
 *   echo WORDS...   writes "WORDS..." to the CRI log and exits 0 at once
 *   exit N          exits with code N at once
 *   sleep MS        runs MS milliseconds, then exits 0
 *   trap            traps: "integer divide by zero" (exit 134, reason "Trap")
 *   anything else   writes "serving" to the log and runs until stopped
 * A stop ends a fake VM with code 143, "stopped by the host" (killed, 137, when timeout
 * is 0).
 * Streaming: a running fake VM copies what its stdin gets (attach with stdin, for a
 * container created with stdin) to its log, line by line, as an app echoing its input
 * would; a stdin_once stdin ends with its first attach. Exec runs fake commands in a
 * running VM: `echo WORDS` (stdout), `stderr WORDS`, `exit N`, `cat` (stdin to
 * stdout), `sleep MS` (ended early by the caller's cancel: 137); anything else fails
 * as not a Wasm module. Image references
 * containing "notfound" fail to pull with NOT_FOUND, "notwasm" with UNSUPPORTED (not a
 * Wasm image), "badimport" with UNSUPPORTED (unsupported import); any other pulls. The
 * probe a mixed node routes pulls by calls references containing "notwasm" or "linux"
 * Linux images (linux/amd64; the fake pulls "linux" ones too, as a downstream test
 * daemon), "notfound" unknown to the registry, and every other Wasm.
 * Pod IPs are 10.88.0.2, .3, ... in allocation order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cri/stream.h"
#include "tests/support/fake_backend.h"

struct tb {
	pthread_mutex_t lock;
	char *dir;           /* <root>/test-backend */
	json_t *images;      /* {"id": {"tags": [...], "size": N}} */
	json_t *vms;         /* {"id": vm record}; each also in vms/<id>.json */
	json_int_t next_ip;  /* last octet of the next pod IP */
	pthread_t monitor;
	bool stop;
	bool monitor_running;
	int stages;          /* stages still holding it: the last one frees it */
	struct cri_vms *vm_stage; /* for exit reports */
};

static struct tb *tb_of_images(struct cri_images *s) { return s->priv; }
static struct tb *tb_of_podnet(struct cri_podnet *s) { return s->priv; }
static struct tb *tb_of_vms(struct cri_vms *s) { return s->priv; }

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int save_json(const char *path, json_t *j, kumo_error_t *err)
{
	autofree char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	return kumo_write_file_atomic(path, text, strlen(text), 0600, err);
}

static int vm_save(struct tb *t, const char *id, json_t *vm, kumo_error_t *err)
{
	autofree char *p = xasprintf("%s/vms/%s.json", t->dir, id);
	return save_json(p, vm, err);
}

static int state_save(struct tb *t, kumo_error_t *err)
{
	autofree char *p = xasprintf("%s/state.json", t->dir);
	json_t *j = json_pack("{s:O, s:I}", "images", t->images, "next_ip", t->next_ip);
	int r = save_json(p, j, err);
	json_decref(j);
	return r;
}

/* Appends one CRI log line: "<RFC3339Nano> stdout F <text>". */
static void log_line(const char *path, const char *text)
{
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "a");
	if (!f) {
		log_warn("test backend: open log `%s`: %s", path, strerror(errno));
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(f, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ stdout F %s\n", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec, text);
	fclose(f);
}

static void status_from_json(json_t *vm, struct cri_vm_status *st)
{
	const char *s = vm ? json_string_value(json_object_get(vm, "state")) : NULL;
	*st = (struct cri_vm_status){0};
	st->state = !s ? CRI_VM_GONE
		    : strcmp(s, "created") == 0 ? CRI_VM_CREATED
		    : strcmp(s, "running") == 0 ? CRI_VM_RUNNING
						: CRI_VM_EXITED;
	if (!vm || st->state != CRI_VM_EXITED)
		return;
	st->finished_at_ns = json_integer_value(json_object_get(vm, "finished_at"));
	st->exit.status = (uint32_t)json_integer_value(json_object_get(vm, "exit_code"));
	st->exit.kind = (uint32_t)json_integer_value(json_object_get(vm, "kind"));
	st->exit.trap = -1;
	const char *m = json_string_value(json_object_get(vm, "message"));
	snprintf(st->exit.msg, sizeof(st->exit.msg), "%s", m ? m : "");
}

/* Ends a running fake VM (lock held) with the given outcome and saves it. */
static void vm_end(struct tb *t, const char *id, json_t *vm, int64_t at, int code,
		   enum kumo_exit_kind kind, const char *message)
{
	json_object_set_new(vm, "state", json_string("exited"));
	json_object_set_new(vm, "finished_at", json_integer(at));
	json_object_set_new(vm, "exit_code", json_integer(code));
	json_object_set_new(vm, "kind", json_integer(kind));
	json_object_set_new(vm, "message", json_string(message ? message : ""));
	json_object_del(vm, "exit_at");
	kumo_error_t err = NULL;
	if (vm_save(t, id, vm, &err) < 0)
		log_warn("test backend: %s", kumo_error_msg(err));
	kumo_error_free(&err);
}

/* If a running fake VM's planned exit time has passed, records the exit (lock held). */
static bool vm_settle(struct tb *t, const char *id, json_t *vm, int64_t now)
{
	const char *s = json_string_value(json_object_get(vm, "state"));
	json_t *at = json_object_get(vm, "exit_at");
	if (!s || strcmp(s, "running") != 0 || !json_is_integer(at) || json_integer_value(at) > now)
		return false;
	vm_end(t, id, vm, json_integer_value(at),
	       (int)json_integer_value(json_object_get(vm, "plan_code")),
	       (enum kumo_exit_kind)json_integer_value(json_object_get(vm, "plan_kind")),
	       json_string_value(json_object_get(vm, "plan_message")));
	return true;
}

static void *monitor_main(void *arg)
{
	struct tb *t = arg;
	for (;;) {
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
		json_t *ended = json_object();
		pthread_mutex_lock(&t->lock);
		if (t->stop) {
			pthread_mutex_unlock(&t->lock);
			json_decref(ended);
			return NULL;
		}
		int64_t now = now_ns();
		const char *id;
		json_t *vm;
		json_object_foreach(t->vms, id, vm)
			if (vm_settle(t, id, vm, now))
				json_object_set(ended, id, vm);
		pthread_mutex_unlock(&t->lock);
		json_object_foreach(ended, id, vm) {
			struct cri_vm_status st;
			status_from_json(vm, &st);
			cri_vms_report_exit(t->vm_stage, id, &st);
		}
		json_decref(ended);
	}
}

/* "repo" -> "repo:latest"; references with a tag or digest stay. */
static char *normalize(const char *ref)
{
	const char *slash = strrchr(ref, '/');
	const char *last = slash ? slash + 1 : ref;
	if (strchr(last, ':') || strchr(ref, '@'))
		return xstrdup(ref);
	return xasprintf("%s:latest", ref);
}

static char *fake_digest(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = s; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return xasprintf("sha256:%016llx%016llx%016llx%016llx", (unsigned long long)h,
			 (unsigned long long)(h * 31), (unsigned long long)(h * 131),
			 (unsigned long long)(h * 1031));
}

/* Finds an image by id, tag or normalized tag (lock held); returns its id or NULL. */
static const char *image_find(struct tb *t, const char *ref)
{
	if (json_object_get(t->images, ref))
		return json_object_iter_key(json_object_iter_at(t->images, ref));
	autofree char *norm = normalize(ref);
	const char *id;
	json_t *img;
	json_object_foreach(t->images, id, img) {
		size_t i;
		json_t *tag;
		json_array_foreach(json_object_get(img, "tags"), i, tag)
			if (strcmp(json_string_value(tag), ref) == 0 ||
			    strcmp(json_string_value(tag), norm) == 0)
				return id;
	}
	return NULL;
}

static void image_info(const char *id, json_t *img, struct cri_image_info *info)
{
	json_t *tags = json_object_get(img, "tags");
	info->id = xstrdup(id);
	info->repo_tags = xzalloc(sizeof(char *) * (json_array_size(tags) + 1));
	for (size_t i = 0; i < json_array_size(tags); i++)
		info->repo_tags[i] = xstrdup(json_string_value(json_array_get(tags, i)));
	info->repo_digests = xzalloc(sizeof(char *));
	info->size = (uint64_t)json_integer_value(json_object_get(img, "size"));
	/* A module path and digest that name nothing: the fake VMs never build. */
	info->module_path = xasprintf("/nonexistent/test-backend/%s.wasm", id + 7);
	info->module_digest = xstrdup(id);
}

static int tb_image_pull(struct cri_images *s, const char *ref, const struct cri_auth *auth,
			 char **image_id, kumo_error_t *err)
{
	struct tb *t = tb_of_images(s);
	if (strstr(ref, "notfound"))
		return kumo_error(err, KUMO_E_NOT_FOUND,
				  "manifest for `%s` not found in the registry (test backend)", ref);
	if (strstr(ref, "notwasm"))
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "`%s` is not a WebAssembly image: no wasi/wasm platform and no "
				  "application/wasm layer (test backend)", ref);
	if (strstr(ref, "badimport"))
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "`%s`: the module imports `env.not_wasi`, which kumo does not "
				  "provide (test backend)", ref);
	autofree char *norm = normalize(ref);
	autofree char *id = fake_digest(norm);
	pthread_mutex_lock(&t->lock);
	json_t *img = json_object_get(t->images, id);
	if (!img) {
		img = json_pack("{s:[], s:I}", "tags", "size", (json_int_t)(4096 + strlen(norm)));
		json_object_set_new(t->images, id, img);
	}
	json_t *tags = json_object_get(img, "tags");
	bool have = false;
	size_t i;
	json_t *tag;
	json_array_foreach(tags, i, tag)
		have |= strcmp(json_string_value(tag), norm) == 0;
	if (!have)
		json_array_append_new(tags, json_string(norm));
	int r = state_save(t, err);
	pthread_mutex_unlock(&t->lock);
	if (r < 0)
		return -1;
	*image_id = xstrdup(id);
	return 0;
}

static int tb_image_list(struct cri_images *s, struct cri_image_info **infos, size_t *n,
			 kumo_error_t *err)
{
	struct tb *t = tb_of_images(s);
	pthread_mutex_lock(&t->lock);
	*infos = xzalloc(sizeof(**infos) * (json_object_size(t->images) + 1));
	*n = 0;
	const char *id;
	json_t *img;
	json_object_foreach(t->images, id, img)
		image_info(id, img, &(*infos)[(*n)++]);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int tb_image_status(struct cri_images *s, const char *ref, struct cri_image_info *info,
			   kumo_error_t *err)
{
	struct tb *t = tb_of_images(s);
	pthread_mutex_lock(&t->lock);
	const char *id = image_find(t, ref);
	if (id)
		image_info(id, json_object_get(t->images, id), info);
	pthread_mutex_unlock(&t->lock);
	if (!id)
		return kumo_error(err, KUMO_E_NOT_FOUND, "image `%s` not found", ref);
	return 0;
}

static int tb_image_remove(struct cri_images *s, const char *ref, kumo_error_t *err)
{
	struct tb *t = tb_of_images(s);
	pthread_mutex_lock(&t->lock);
	const char *id = image_find(t, ref);
	int r = 0;
	if (id) {
		json_object_del(t->images, id);
		r = state_save(t, err);
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

static int tb_image_fs_info(struct cri_images *s, struct cri_fs_usage *u, kumo_error_t *err)
{
	struct tb *t = tb_of_images(s);
	pthread_mutex_lock(&t->lock);
	u->mountpoint = xstrdup(t->dir);
	u->used_bytes = 0;
	const char *id;
	json_t *img;
	json_object_foreach(t->images, id, img) {
		u->used_bytes += (uint64_t)json_integer_value(json_object_get(img, "size"));
		u->inodes_used++;
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int tb_image_probe(struct cri_images *s, const char *ref, const struct cri_auth *auth,
			  bool *is_wasm, char **what, kumo_error_t *err)
{
	if (strstr(ref, "notfound"))
		return kumo_error(err, KUMO_E_NOT_FOUND,
				  "manifest for `%s` not found in the registry (test backend)", ref);
	*is_wasm = !strstr(ref, "notwasm") && !strstr(ref, "linux");
	*what = xstrdup(*is_wasm ? "wasi/wasm" : "linux/amd64");
	return 0;
}

static bool tb_network_ready(struct cri_podnet *s, char **reason, char **message)
{
	return true; /* fake IPs, nothing routes to them */
}

static int tb_pod_net_setup(struct cri_podnet *s, const struct cri_pod_spec *pod, char **ip,
			    kumo_error_t *err)
{
	struct tb *t = tb_of_podnet(s);
	pthread_mutex_lock(&t->lock);
	json_int_t n = t->next_ip++;
	int r = state_save(t, err);
	pthread_mutex_unlock(&t->lock);
	if (r < 0)
		return -1;
	*ip = xasprintf("10.88.%d.%d", (int)(n / 254), (int)(n % 254) + 1);
	return 0;
}

/* A NIC that exists nowhere: the fake VMs never use it. */
static int tb_pod_nic(struct cri_podnet *s, const char *pod_id, const char *ip,
		      struct cri_pod_nic *out, kumo_error_t *err)
{
	*out = (struct cri_pod_nic){.mac = {0x02, 0x6b}, .ndns = 1};
	snprintf(out->tap, sizeof(out->tap), "fake%.8s", pod_id);
	snprintf(out->address, sizeof(out->address), "%s/16", ip);
	snprintf(out->gateway, sizeof(out->gateway), "10.88.0.1");
	snprintf(out->dns[0], sizeof(out->dns[0]), "10.88.0.1");
	return 0;
}

static int tb_pod_net_teardown(struct cri_podnet *s, const char *pod_id, kumo_error_t *err)
{
	return 0;
}

static int tb_vm_create(struct cri_vms *s, const struct cri_container_spec *spec,
			kumo_error_t *err)
{
	struct tb *t = tb_of_vms(s);
	json_t *argv = json_array();
	for (size_t i = 0; spec->argv && spec->argv[i]; i++)
		json_array_append_new(argv, json_string(spec->argv[i]));
	json_t *vm = json_pack("{s:s, s:o, s:s, s:s, s:I}", "state", "created", "argv", argv,
			       "log_path", spec->log_path, "image_id", spec->image_info->id,
			       "created_at", (json_int_t)now_ns());
	pthread_mutex_lock(&t->lock);
	int r = vm_save(t, spec->id, vm, err);
	if (r == 0)
		json_object_set(t->vms, spec->id, vm);
	pthread_mutex_unlock(&t->lock);
	json_decref(vm);
	return r;
}

static int tb_vm_start(struct cri_vms *s, const char *id, kumo_error_t *err)
{
	struct tb *t = tb_of_vms(s);
	pthread_mutex_lock(&t->lock);
	json_t *vm = json_object_get(t->vms, id);
	const char *state = vm ? json_string_value(json_object_get(vm, "state")) : NULL;
	if (!state || strcmp(state, "created") != 0) {
		pthread_mutex_unlock(&t->lock);
		return kumo_error(err, KUMO_E_NOT_FOUND, "no created vm `%s`", id);
	}
	json_t *argv = json_object_get(vm, "argv");
	const char *prog = json_string_value(json_array_get(argv, 0));
	const char *arg1 = json_string_value(json_array_get(argv, 1));
	const char *log = json_string_value(json_object_get(vm, "log_path"));
	int64_t now = now_ns();
	json_object_set_new(vm, "state", json_string("running"));
	json_object_set_new(vm, "started_at", json_integer(now));
	int64_t exit_at = -1;
	int code = 0;
	enum kumo_exit_kind kind = KUMO_EXIT_EXITED;
	const char *message = "exited";
	if (prog && strcmp(prog, "echo") == 0) {
		size_t len = 0;
		for (size_t i = 1; i < json_array_size(argv); i++)
			len += strlen(json_string_value(json_array_get(argv, i))) + 1;
		char *line = xzalloc(len + 1);
		for (size_t i = 1; i < json_array_size(argv); i++) {
			if (i > 1)
				strcat(line, " ");
			strcat(line, json_string_value(json_array_get(argv, i)));
		}
		log_line(log, line);
		free(line);
		exit_at = now;
	} else if (prog && strcmp(prog, "exit") == 0) {
		code = arg1 ? atoi(arg1) : 0;
		exit_at = now;
	} else if (prog && strcmp(prog, "sleep") == 0) {
		exit_at = now + (int64_t)(arg1 ? atoll(arg1) : 0) * 1000000;
	} else if (prog && strcmp(prog, "trap") == 0) {
		code = KUMO_EXIT_STATUS_TRAP;
		kind = KUMO_EXIT_TRAPPED;
		message = "integer divide by zero";
		exit_at = now;
	} else {
		log_line(log, "serving");
	}
	if (exit_at >= 0) {
		json_object_set_new(vm, "exit_at", json_integer(exit_at));
		json_object_set_new(vm, "plan_code", json_integer(code));
		json_object_set_new(vm, "plan_kind", json_integer(kind));
		json_object_set_new(vm, "plan_message", json_string(message));
	}
	int r = vm_save(t, id, vm, err);
	pthread_mutex_unlock(&t->lock);
	return r;
}

static int tb_vm_stop(struct cri_vms *s, const char *id, int64_t timeout_s, kumo_error_t *err)
{
	struct tb *t = tb_of_vms(s);
	struct cri_vm_status st = {0};
	bool ended = false;
	pthread_mutex_lock(&t->lock);
	json_t *vm = json_object_get(t->vms, id);
	if (vm && !vm_settle(t, id, vm, now_ns())) {
		const char *state = json_string_value(json_object_get(vm, "state"));
		if (strcmp(state, "running") == 0) {
			if (timeout_s > 0)
				vm_end(t, id, vm, now_ns(), KUMO_EXIT_STATUS_STOPPED,
				       KUMO_EXIT_EXITED, "stopped by the host");
			else
				vm_end(t, id, vm, now_ns(), KUMO_EXIT_STATUS_KILLED,
				       KUMO_EXIT_KILLED, "");
			status_from_json(vm, &st);
			ended = true;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (ended)
		cri_vms_report_exit(s, id, &st);
	return 0;
}

static int tb_vm_remove(struct cri_vms *s, const char *id, kumo_error_t *err)
{
	struct tb *t = tb_of_vms(s);
	pthread_mutex_lock(&t->lock);
	json_object_del(t->vms, id);
	autofree char *p = xasprintf("%s/vms/%s.json", t->dir, id);
	int r = 0;
	if (unlink(p) < 0 && errno != ENOENT)
		r = kumo_error_errno(err, errno, "remove `%s`", p);
	pthread_mutex_unlock(&t->lock);
	return r;
}

static int tb_vm_status(struct cri_vms *s, const char *id, struct cri_vm_status *st,
			kumo_error_t *err)
{
	struct tb *t = tb_of_vms(s);
	pthread_mutex_lock(&t->lock);
	json_t *vm = json_object_get(t->vms, id);
	if (vm)
		vm_settle(t, id, vm, now_ns());
	status_from_json(vm, st);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int tb_vm_stats(struct cri_vms *s, const char *id, struct cri_vm_stats *stats,
		       kumo_error_t *err)
{
	struct tb *t = tb_of_vms(s);
	pthread_mutex_lock(&t->lock);
	json_t *vm = json_object_get(t->vms, id);
	int64_t started = vm ? json_integer_value(json_object_get(vm, "started_at")) : 0;
	pthread_mutex_unlock(&t->lock);
	if (!vm)
		return kumo_error(err, KUMO_E_NOT_FOUND, "no vm `%s`", id);
	int64_t now = now_ns();
	stats->timestamp_ns = now;
	stats->cpu_usage_core_ns = started ? (uint64_t)(now - started) / 100 : 0;
	stats->memory_working_set = 16u << 20;
	stats->memory_rss = 16u << 20;
	stats->writable_layer_bytes = 4096;
	return 0;
}

/* Drops one stage's hold of t; the last one stops the monitor and frees it. */
static void tb_put(struct tb *t)
{
	pthread_mutex_lock(&t->lock);
	bool last = --t->stages == 0;
	if (last)
		t->stop = true;
	pthread_mutex_unlock(&t->lock);
	if (!last)
		return;
	if (t->monitor_running)
		pthread_join(t->monitor, NULL);
	json_decref(t->images);
	json_decref(t->vms);
	pthread_mutex_destroy(&t->lock);
	free(t->dir);
	free(t);
}

static void tb_images_destroy(struct cri_images *s)
{
	tb_put(tb_of_images(s));
	free(s);
}

static void tb_podnet_destroy(struct cri_podnet *s)
{
	tb_put(tb_of_podnet(s));
	free(s);
}

static void tb_vms_destroy(struct cri_vms *s)
{
	tb_put(tb_of_vms(s));
	free(s);
}

/* ---- streaming ------------------------------------------------------------------------ */

/* A running fake VM (lock held), or NULL with err set. */
static json_t *running_vm(struct tb *t, const char *id, kumo_error_t *err)
{
	json_t *vm = json_object_get(t->vms, id);
	const char *s = vm ? json_string_value(json_object_get(vm, "state")) : NULL;
	if (!s || strcmp(s, "running") != 0) {
		kumo_error(err, KUMO_E_PRECONDITION, "test backend: vm `%s` is not running", id);
		return NULL;
	}
	return vm;
}

struct tb_stdin {
	int fd;        /* read end */
	char *log;     /* the VM's log */
};

static void *stdin_main(void *arg)
{
	struct tb_stdin *in = arg;
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	while ((n = read(in->fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += (size_t)n;
		buf[got] = 0;
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = 0;
			log_line(in->log, start);
			start = nl + 1;
		}
		got = strlen(start);
		memmove(buf, start, got + 1);
		if (got == sizeof(buf) - 1) {
			log_line(in->log, buf);
			got = 0;
		}
	}
	if (got)
		log_line(in->log, buf);
	close(in->fd);
	free(in->log);
	free(in);
	return NULL;
}

static int tb_ctr_stdin(struct cri_vms *s, const char *id, bool once, int *fd,
			kumo_error_t *err)
{
	struct tb *t = tb_of_vms(s);
	*fd = -1;
	pthread_mutex_lock(&t->lock);
	json_t *vm = running_vm(t, id, err);
	if (!vm || json_is_true(json_object_get(vm, "stdin_closed"))) {
		pthread_mutex_unlock(&t->lock);
		return vm ? 0 : -1; /* a stdin_once stdin that already ended: none */
	}
	if (once)
		json_object_set_new(vm, "stdin_closed", json_true());
	struct tb_stdin *in = xzalloc(sizeof(*in));
	in->log = xstrdup(json_string_value(json_object_get(vm, "log_path")));
	pthread_mutex_unlock(&t->lock);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(in->log);
		free(in);
		return kumo_error_errno(err, errno, "test backend: pipe");
	}
	in->fd = p[0];
	pthread_t th;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int e = pthread_create(&th, &a, stdin_main, in);
	pthread_attr_destroy(&a);
	if (e != 0) {
		close(p[0]);
		close(p[1]);
		free(in->log);
		free(in);
		return kumo_error_errno(err, e, "test backend: thread");
	}
	*fd = p[1];
	return 0;
}

static void write_words(int fd, const char *const *w)
{
	for (size_t i = 0; fd >= 0 && w[i]; i++) {
		kumo_write_all(fd, w[i], strlen(w[i]));
		kumo_write_all(fd, w[i + 1] ? " " : "\n", 1);
	}
}

static int tb_ctr_exec(struct cri_vms *s, const struct cri_exec_spec *spec,
		       int32_t *exit_code, kumo_error_t *err)
{
	struct tb *t = tb_of_vms(s);
	pthread_mutex_lock(&t->lock);
	json_t *vm = running_vm(t, spec->id, err);
	pthread_mutex_unlock(&t->lock);
	if (!vm)
		return -1;
	const char *cmd = spec->argv[0];
	*exit_code = 0;
	if (strcmp(cmd, "echo") == 0) {
		write_words(spec->stdout_fd, spec->argv + 1);
	} else if (strcmp(cmd, "stderr") == 0) {
		write_words(spec->stderr_fd >= 0 ? spec->stderr_fd : spec->stdout_fd, spec->argv + 1);
	} else if (strcmp(cmd, "exit") == 0) {
		*exit_code = spec->argv[1] ? atoi(spec->argv[1]) : 0;
	} else if (strcmp(cmd, "cat") == 0) {
		char buf[4096];
		for (;;) {
			struct pollfd p[2] = {{.fd = spec->stdin_fd, .events = POLLIN},
					      {.fd = spec->cancel_fd, .events = POLLIN}};
			if (spec->stdin_fd < 0 || poll(p, 2, -1) < 0 || p[1].revents)
				break;
			ssize_t n = read(spec->stdin_fd, buf, sizeof(buf));
			if (n <= 0 || spec->stdout_fd < 0 ||
			    kumo_write_all(spec->stdout_fd, buf, (size_t)n) < 0)
				break;
		}
	} else if (strcmp(cmd, "sleep") == 0) {
		struct pollfd p = {.fd = spec->cancel_fd, .events = POLLIN};
		if (poll(&p, 1, spec->argv[1] ? atoi(spec->argv[1]) : 0) == 1)
			*exit_code = 137;
	} else {
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "test backend: `%s` is not a Wasm module (exec runs echo, "
				  "stderr, exit, cat, sleep)",
				  cmd);
	}
	return 0;
}

static const struct cri_images_ops images_ops = {
	.pull = tb_image_pull,
	.list = tb_image_list,
	.status = tb_image_status,
	.remove = tb_image_remove,
	.fs_info = tb_image_fs_info,
	.probe = tb_image_probe,
	.destroy = tb_images_destroy,
};

static const struct cri_podnet_ops podnet_ops = {
	.ready = tb_network_ready,
	.setup = tb_pod_net_setup,
	.nic = tb_pod_nic,
	.teardown = tb_pod_net_teardown,
	.destroy = tb_podnet_destroy,
};

static const struct cri_vms_ops vms_ops = {
	.create = tb_vm_create,
	.start = tb_vm_start,
	.stop = tb_vm_stop,
	.remove = tb_vm_remove,
	.status = tb_vm_status,
	.stats = tb_vm_stats,
	.log_reopen = NULL,
	.accel = NULL,
	.attach_stdin = tb_ctr_stdin,
	.exec = tb_ctr_exec,
	.destroy = tb_vms_destroy,
};

int cri_backend_fake_new(const char *root, struct cri_backend **out, kumo_error_t *err)
{
	struct tb *t = xzalloc(sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->dir = xasprintf("%s/test-backend", root);
	t->images = json_object();
	t->vms = json_object();
	t->next_ip = 1;
	t->stages = 3;
	struct cri_backend *b = xzalloc(sizeof(*b));
	b->name = "test";
	b->images = xzalloc(sizeof(*b->images));
	*b->images = (struct cri_images){&images_ops, t};
	b->podnet = xzalloc(sizeof(*b->podnet));
	*b->podnet = (struct cri_podnet){&podnet_ops, t};
	b->vms = xzalloc(sizeof(*b->vms));
	*b->vms = (struct cri_vms){.ops = &vms_ops, .priv = t};
	t->vm_stage = b->vms;
	autofree char *vdir = xasprintf("%s/vms", t->dir);
	if (kumo_mkdir_p(vdir, 0700, err) < 0) {
		cri_backend_free(b);
		return -1;
	}
	autofree char *sp = xasprintf("%s/state.json", t->dir);
	json_t *st = json_load_file(sp, 0, NULL);
	if (st) {
		json_t *imgs = json_object_get(st, "images");
		if (json_is_object(imgs))
			json_object_update(t->images, imgs);
		if (json_is_integer(json_object_get(st, "next_ip")))
			t->next_ip = json_integer_value(json_object_get(st, "next_ip"));
		json_decref(st);
	}
	DIR *d = opendir(vdir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l != 64 + 5 || strcmp(e->d_name + 64, ".json") != 0)
			continue;
		autofree char *p = xasprintf("%s/%s", vdir, e->d_name);
		json_t *vm = json_load_file(p, 0, NULL);
		if (!vm)
			continue;
		autofree char *id = xstrndup(e->d_name, 64);
		json_object_set_new(t->vms, id, vm);
	}
	if (d)
		closedir(d);
	if (pthread_create(&t->monitor, NULL, monitor_main, t) != 0) {
		cri_backend_free(b);
		return kumo_error(err, KUMO_E_INTERNAL, "test backend: cannot start its monitor");
	}
	t->monitor_running = true;
	log_warn("using the TEST backend: images, networks and VMs are fakes");
	*out = b;
	return 0;
}
