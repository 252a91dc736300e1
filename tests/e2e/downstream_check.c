/* tests/e2e/downstream_check.c - exercises cri/downstream.h against a real CRI runtime
 * (containerd, started by tests/e2e/cri-downstream.sh): each CHECK prints `ok   NAME` or
 * `FAIL NAME: why` lines; the script counts them.
 *
 * usage: kumo-downstream-check ENDPOINT [--image REF] [--logdir DIR] CHECK...
 *   version   Version and Status through the typed helpers
 *   images    PullImage (raw bytes) then ListImages (typed) lists it
 *   lifecycle runp / create / start -> exited (code, log) / ListPodSandbox and
 *             ListContainers (typed, filtered) / ExecSync / stop / rm, all through the
 *             client, and the downstream's NotFound passed through exactly
 *   deadline  an ExecSync (sleep 5) with a 300 ms deadline ends in DeadlineExceeded
 *   dead      ENDPOINT is down: a clear UNAVAILABLE naming it, quickly
 *   events    GetContainerEvents: a container's started/stopped/deleted events arrive
 *             (or, from a runtime without the stream, its exact Unimplemented answer)
 *   threads   8 threads x 40 calls on one client
 *   reconnect Version; prints `ready`; waits for a line on stdin (the script restarts
 *             the runtime meanwhile); the next Version works; an events stream opened
 *             before the restart is reopened after it
 *   bench:N   N times (after one warm-up) runp+create+start(`true`)->exited, then
 *             stopp+rmp;
 *             prints `bench: runp+create+start->exited median M ms (min, max, N runs)`
 *   --vs EP2 bench:N  the same, alternating pod by pod between EP2 and ENDPOINT; prints
 *             both medians and EP2's over ENDPOINT's (e.g. kumod in front of containerd
 *             vs containerd itself)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <grpc/status.h>

#include "cri/downstream.h"

#define RS "/runtime.v1.RuntimeService/"
#define IS "/runtime.v1.ImageService/"

static const char *endpoint;
static const char *image = "docker.io/library/busybox:latest";
static const char *logdir = "/tmp";
static int fails;

static void ok(const char *name)
{
	printf("ok   %s\n", name);
	fflush(stdout);
}

static void bad(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL %s: ", name);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	fails++;
}

static void check(const char *name, bool cond, const char *why)
{
	if (cond)
		ok(name);
	else
		bad(name, "%s", why);
}

static double now_ms(void)
{
	return (double)kumo_now_ns() / 1e6;
}

/* One call with messages; on failure reports NAME and returns NULL. */
static void *call(struct cri_downstream *ds, const char *name, const char *method,
		  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_type,
		  int timeout_ms)
{
	ProtobufCMessage *resp = NULL;
	autoerror kumo_error_t err = NULL;
	if (cri_downstream_call_msg(ds, method, req, resp_type, timeout_ms, &resp, &err) < 0) {
		bad(name, "%s (code %d)", kumo_error_msg(err), cri_downstream_grpc_code(err->status));
		return NULL;
	}
	return resp;
}

static void unref(void *m)
{
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
}

static bool pull(struct cri_downstream *ds, const char *name)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)image;
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	req.image = &spec;
	/* The raw form, as kumod forwards a call it does not read. */
	size_t len = protobuf_c_message_get_packed_size(&req.base);
	autofree uint8_t *buf = xmalloc(len + 1);
	protobuf_c_message_pack(&req.base, buf);
	autofree uint8_t *resp = NULL;
	size_t rlen = 0;
	autoerror kumo_error_t err = NULL;
	if (cri_downstream_call(ds, IS "PullImage", buf, len, 120000, &resp, &rlen, &err) < 0) {
		bad(name, "%s", kumo_error_msg(err));
		return false;
	}
	Runtime__V1__PullImageResponse *r =
		runtime__v1__pull_image_response__unpack(NULL, rlen, resp);
	bool good = r && strncmp(r->image_ref, "sha256:", 7) == 0;
	check(name, good, "no sha256 image ref in the answer");
	unref(r);
	return good;
}

/* --- pods and containers ---------------------------------------------------------- */

struct pod {
	Runtime__V1__PodSandboxMetadata md;
	Runtime__V1__LinuxPodSandboxConfig linux;
	Runtime__V1__PodSandboxConfig cfg;
	char name[64], uid[80], dir[600];
	char *id;
};

static void pod_init(struct pod *p, const char *name)
{
	static atomic_int seq;
	snprintf(p->name, sizeof(p->name), "%s-%d-%d", name, (int)getpid(), atomic_fetch_add(&seq, 1));
	snprintf(p->uid, sizeof(p->uid), "uid-%s", p->name);
	snprintf(p->dir, sizeof(p->dir), "%s/%s", logdir, p->name);
	mkdir(p->dir, 0755);
	p->md = (Runtime__V1__PodSandboxMetadata)RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	p->md.name = p->name;
	p->md.uid = p->uid;
	p->md.namespace_ = (char *)"downstream-check";
	p->linux = (Runtime__V1__LinuxPodSandboxConfig)RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	p->cfg = (Runtime__V1__PodSandboxConfig)RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	p->cfg.metadata = &p->md;
	p->cfg.log_directory = p->dir;
	p->cfg.linux = &p->linux;
	p->id = NULL;
}

static bool runp(struct cri_downstream *ds, struct pod *p, const char *name)
{
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = &p->cfg;
	Runtime__V1__RunPodSandboxResponse *r =
		call(ds, name, RS "RunPodSandbox", &req.base,
		     &runtime__v1__run_pod_sandbox_response__descriptor, 120000);
	if (!r)
		return false;
	p->id = xstrdup(r->pod_sandbox_id);
	unref(r);
	return true;
}

/* Creates a container running `argv` in the pod; returns its id (malloc'd) or NULL. */
static char *create(struct cri_downstream *ds, struct pod *p, const char *cname, char **argv,
		    size_t argc, const char *name)
{
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	md.name = (char *)cname;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)image;
	Runtime__V1__LinuxContainerConfig linux = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	cfg.metadata = &md;
	cfg.image = &spec;
	cfg.command = argv;
	cfg.n_command = argc;
	autofree char *log = xasprintf("%s.log", cname);
	cfg.log_path = log;
	cfg.linux = &linux;
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = p->id;
	req.config = &cfg;
	req.sandbox_config = &p->cfg;
	Runtime__V1__CreateContainerResponse *r =
		call(ds, name, RS "CreateContainer", &req.base,
		     &runtime__v1__create_container_response__descriptor, 120000);
	if (!r)
		return NULL;
	char *id = xstrdup(r->container_id);
	unref(r);
	return id;
}

static bool by_id(struct cri_downstream *ds, const char *method, const char *id,
		  const ProtobufCMessageDescriptor *resp_type, const char *name)
{
	/* StartContainer, StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox
	 * all carry the id in field 1 (StopContainer's timeout stays 0). */
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	void *r = call(ds, name, method, &req.base, resp_type, 120000);
	unref(r);
	return r != NULL;
}

/* Polls ContainerStatus until EXITED (or `ms` pass); returns the status or NULL. */
static Runtime__V1__ContainerStatusResponse *wait_exited(struct cri_downstream *ds,
							 const char *id, int ms)
{
	double until = now_ms() + ms;
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = (char *)id;
	while (now_ms() < until) {
		ProtobufCMessage *m = NULL;
		autoerror kumo_error_t err = NULL;
		if (cri_downstream_call_msg(ds, RS "ContainerStatus", &req.base,
					    &runtime__v1__container_status_response__descriptor, 10000,
					    &m, &err) < 0)
			return NULL;
		Runtime__V1__ContainerStatusResponse *r = (Runtime__V1__ContainerStatusResponse *)m;
		if (r->status && r->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
			return r;
		unref(r);
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void remove_pod(struct cri_downstream *ds, struct pod *p, const char *name_stop,
		       const char *name_rm)
{
	if (by_id(ds, RS "StopPodSandbox", p->id, &runtime__v1__stop_pod_sandbox_response__descriptor,
		  name_stop))
		ok(name_stop);
	if (by_id(ds, RS "RemovePodSandbox", p->id,
		  &runtime__v1__remove_pod_sandbox_response__descriptor, name_rm))
		ok(name_rm);
	free(p->id);
	p->id = NULL;
}

static size_t count_pods(struct cri_downstream *ds, const char *id, bool *found_ready)
{
	Runtime__V1__PodSandboxFilter f = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	f.id = (char *)id;
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	req.filter = &f;
	Runtime__V1__ListPodSandboxResponse *r = NULL;
	autoerror kumo_error_t err = NULL;
	if (cri_downstream_list_pod_sandbox(ds, &req, 10000, &r, &err) < 0)
		return (size_t)-1;
	size_t n = r->n_items;
	if (found_ready)
		*found_ready = n == 1 && r->items[0]->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
	unref(r);
	return n;
}

/* --- checks ----------------------------------------------------------------------- */

static void check_version(struct cri_downstream *ds)
{
	Runtime__V1__VersionResponse *v = NULL;
	autoerror kumo_error_t err = NULL;
	if (cri_downstream_version(ds, 10000, &v, &err) < 0) {
		bad("Version", "%s", kumo_error_msg(err));
		return;
	}
	printf("# downstream: %s %s (CRI %s)\n", v->runtime_name, v->runtime_version,
	       v->runtime_api_version);
	check("Version names the runtime", strcmp(v->runtime_name, "containerd") == 0,
	      "runtime_name is not containerd");
	check("Version speaks CRI v1", strcmp(v->runtime_api_version, "v1") == 0,
	      "runtime_api_version is not v1");
	unref(v);
	Runtime__V1__StatusResponse *s = NULL;
	if (cri_downstream_status(ds, false, 10000, &s, &err) < 0) {
		bad("Status", "%s", kumo_error_msg(err));
		return;
	}
	bool ready = false;
	for (size_t i = 0; s->status && i < s->status->n_conditions; i++)
		if (strcmp(s->status->conditions[i]->type, "RuntimeReady") == 0)
			ready = s->status->conditions[i]->status;
	check("Status: RuntimeReady", ready, "RuntimeReady is not true");
	unref(s);
}

static void check_images(struct cri_downstream *ds)
{
	if (!pull(ds, "PullImage forwarded as raw bytes"))
		return;
	Runtime__V1__ListImagesResponse *l = NULL;
	autoerror kumo_error_t err = NULL;
	if (cri_downstream_list_images(ds, NULL, 10000, &l, &err) < 0) {
		bad("ListImages", "%s", kumo_error_msg(err));
		return;
	}
	bool found = false;
	for (size_t i = 0; i < l->n_images; i++)
		for (size_t t = 0; t < l->images[i]->n_repo_tags; t++)
			found |= strcmp(l->images[i]->repo_tags[t], image) == 0;
	check("ListImages lists the pulled image", found, "the tag is not listed");
	unref(l);
}

static void check_lifecycle(struct cri_downstream *ds)
{
	struct pod p;
	pod_init(&p, "life");
	if (!runp(ds, &p, "RunPodSandbox"))
		return;
	ok("RunPodSandbox");
	bool ready = false;
	check("ListPodSandbox (typed, by id) finds it Ready", count_pods(ds, p.id, &ready) == 1 && ready,
	      "not listed as Ready");
	char *argv[] = {"sh", "-c", "echo hello from busybox; exit 3"};
	autofree char *cid = create(ds, &p, "echo", argv, 3, "CreateContainer");
	if (cid) {
		ok("CreateContainer");
		if (by_id(ds, RS "StartContainer", cid, &runtime__v1__start_container_response__descriptor,
			  "StartContainer")) {
			ok("StartContainer");
			Runtime__V1__ContainerStatusResponse *st = wait_exited(ds, cid, 30000);
			check("the container exits", st != NULL, "not EXITED within 30 s");
			if (st) {
				check("its exit code is the app's (3)", st->status->exit_code == 3,
				      "exit code is not 3");
				uint8_t *log = NULL;
				size_t len = 0;
				autoerror kumo_error_t lerr = NULL;
				kumo_read_file(st->status->log_path, 1 << 20, &log, &len, &lerr);
				check("its log has the line", log && strstr((char *)log, " stdout F hello from busybox"),
				      "the CRI log lacks `stdout F hello from busybox`");
				free(log);
			}
			unref(st);
		}
		Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
		f.pod_sandbox_id = p.id;
		Runtime__V1__ListContainersRequest lreq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
		lreq.filter = &f;
		Runtime__V1__ListContainersResponse *lc = NULL;
		autoerror kumo_error_t err = NULL;
		if (cri_downstream_list_containers(ds, &lreq, 10000, &lc, &err) < 0)
			bad("ListContainers", "%s", kumo_error_msg(err));
		else
			check("ListContainers (typed, by pod) finds it",
			      lc->n_containers == 1 && strcmp(lc->containers[0]->id, cid) == 0,
			      "not exactly this container");
		unref(lc);
		if (by_id(ds, RS "RemoveContainer", cid,
			  &runtime__v1__remove_container_response__descriptor, "RemoveContainer"))
			ok("RemoveContainer");
		/* The downstream's own error, code and message, reaches the caller unchanged. */
		Runtime__V1__ContainerStatusRequest sreq = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
		sreq.container_id = cid;
		ProtobufCMessage *m = NULL;
		if (cri_downstream_call_msg(ds, RS "ContainerStatus", &sreq.base,
					    &runtime__v1__container_status_response__descriptor, 10000,
					    &m, &err) == 0) {
			bad("a removed container is NotFound", "ContainerStatus succeeded");
			unref(m);
		} else {
			check("a removed container is NotFound",
			      cri_downstream_grpc_code(err->status) == GRPC_STATUS_NOT_FOUND,
			      kumo_error_msg(err));
			printf("# downstream said: %s\n", kumo_error_msg(err));
			check("with the downstream's own message (naming the id)",
			      strstr(kumo_error_msg(err), cid) && !strstr(kumo_error_msg(err), "downstream runtime"),
			      kumo_error_msg(err));
		}
	}

	/* ExecSync into a running container (what `crictl exec` does). */
	char *sleeper[] = {"sleep", "1000"};
	autofree char *sid = create(ds, &p, "sleeper", sleeper, 2, "CreateContainer (sleep)");
	if (sid && by_id(ds, RS "StartContainer", sid,
			 &runtime__v1__start_container_response__descriptor, "StartContainer (sleep)")) {
		char *cmd[] = {"sh", "-c", "echo exec says hi; echo oops >&2; exit 7"};
		Runtime__V1__ExecSyncRequest ereq = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
		ereq.container_id = sid;
		ereq.cmd = cmd;
		ereq.n_cmd = 3;
		Runtime__V1__ExecSyncResponse *er = call(ds, "ExecSync", RS "ExecSync", &ereq.base,
							 &runtime__v1__exec_sync_response__descriptor, 30000);
		if (er) {
			check("ExecSync stdout", er->stdout.len == 13 && memcmp(er->stdout.data, "exec says hi\n", 13) == 0,
			      "stdout is not `exec says hi`");
			check("ExecSync stderr", er->stderr.len == 5 && memcmp(er->stderr.data, "oops\n", 5) == 0,
			      "stderr is not `oops`");
			check("ExecSync exit code", er->exit_code == 7, "exit code is not 7");
		}
		unref(er);
		Runtime__V1__StopContainerRequest sreq = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
		sreq.container_id = sid;
		sreq.timeout = 1;
		void *r = call(ds, "StopContainer", RS "StopContainer", &sreq.base,
			       &runtime__v1__stop_container_response__descriptor, 30000);
		check("StopContainer", r != NULL, "failed");
		unref(r);
	}
	autofree char *pod_id = xstrdup(p.id);
	remove_pod(ds, &p, "StopPodSandbox", "RemovePodSandbox");
	check("the pod is gone from ListPodSandbox", count_pods(ds, pod_id, NULL) == 0, "still listed");
}

static void check_deadline(struct cri_downstream *ds)
{
	struct pod p;
	pod_init(&p, "deadline");
	if (!runp(ds, &p, "RunPodSandbox (deadline)"))
		return;
	char *sleeper[] = {"sleep", "1000"};
	autofree char *sid = create(ds, &p, "sleeper", sleeper, 2, "CreateContainer (deadline)");
	if (sid && by_id(ds, RS "StartContainer", sid,
			 &runtime__v1__start_container_response__descriptor, "StartContainer (deadline)")) {
		char *cmd[] = {"sleep", "5"};
		Runtime__V1__ExecSyncRequest ereq = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
		ereq.container_id = sid;
		ereq.cmd = cmd;
		ereq.n_cmd = 2;
		ProtobufCMessage *m = NULL;
		autoerror kumo_error_t err = NULL;
		double t0 = now_ms();
		int rc = cri_downstream_call_msg(ds, RS "ExecSync", &ereq.base,
						 &runtime__v1__exec_sync_response__descriptor, 300, &m, &err);
		double took = now_ms() - t0;
		if (rc == 0) {
			bad("a call past its deadline fails", "ExecSync of `sleep 5` succeeded in %.0f ms", took);
			unref(m);
		} else {
			printf("# after %.0f ms: %s\n", took, kumo_error_msg(err));
			check("a call past its deadline is DeadlineExceeded",
			      cri_downstream_grpc_code(err->status) == GRPC_STATUS_DEADLINE_EXCEEDED,
			      kumo_error_msg(err));
			check("it ends at the deadline (300 ms), not the command's 5 s", took < 1500,
			      "took too long");
			check("the message names the endpoint and the method",
			      strstr(kumo_error_msg(err), endpoint) && strstr(kumo_error_msg(err), "ExecSync"),
			      kumo_error_msg(err));
		}
	}
	remove_pod(ds, &p, "StopPodSandbox (deadline)", "RemovePodSandbox (deadline)");
}

static void check_dead(struct cri_downstream *ds)
{
	Runtime__V1__VersionResponse *v = NULL;
	autoerror kumo_error_t err = NULL;
	double t0 = now_ms();
	int rc = cri_downstream_version(ds, 10000, &v, &err);
	double took = now_ms() - t0;
	if (rc == 0) {
		bad("a dead endpoint fails", "Version succeeded");
		unref(v);
		return;
	}
	printf("# after %.0f ms: %s\n", took, kumo_error_msg(err));
	check("a dead endpoint is UNAVAILABLE",
	      cri_downstream_grpc_code(err->status) == GRPC_STATUS_UNAVAILABLE, kumo_error_msg(err));
	check("the message names the endpoint and why",
	      strstr(kumo_error_msg(err), endpoint) && strstr(kumo_error_msg(err), "is unavailable: connect to"),
	      kumo_error_msg(err));
	check("it fails fast (under 1 s)", took < 1000, "took too long");
}

/* Events collected by a stream. */
struct events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int types[64];          /* event types of `watch`, in order */
	int n;
	char watch[128];        /* container id of interest, "" before it is known */
	int ended, reopened, last_code;
	char last_msg[512];
};

static void on_event(void *ctx, const uint8_t *msg, size_t len)
{
	struct events *e = ctx;
	Runtime__V1__ContainerEventResponse *ev =
		runtime__v1__container_event_response__unpack(NULL, len, msg);
	if (!ev)
		return;
	pthread_mutex_lock(&e->lock);
	if (e->watch[0] && strcmp(ev->container_id, e->watch) == 0 && e->n < 64)
		e->types[e->n++] = ev->container_event_type;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	unref(ev);
}

static void on_end(void *ctx, int code, const char *message, bool reopening)
{
	struct events *e = ctx;
	pthread_mutex_lock(&e->lock);
	e->ended++;
	e->reopened += reopening;
	e->last_code = code;
	snprintf(e->last_msg, sizeof(e->last_msg), "%s", message);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static void events_init(struct events *e)
{
	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
}

/* Waits until `pred` holds or `ms` pass; returns pred's last value. */
static bool events_wait(struct events *e, bool (*pred)(struct events *), int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&e->lock);
	bool v;
	while (!(v = pred(e)) && pthread_cond_timedwait(&e->cond, &e->lock, &until) == 0)
		;
	pthread_mutex_unlock(&e->lock);
	return v;
}

static bool has_four(struct events *e)
{
	return e->n >= 4 || e->ended > 0;
}

static void check_events(struct cri_downstream *ds)
{
	struct events e;
	events_init(&e);
	struct cri_downstream_stream_ops ops = {on_event, on_end};
	struct cri_downstream_stream *s = NULL;
	autoerror kumo_error_t err = NULL;
	if (cri_downstream_events(ds, &ops, &e, &s, &err) < 0) {
		bad("GetContainerEvents opens", "%s", kumo_error_msg(err));
		return;
	}
	/* Give the stream a moment to be open before the container's life starts. */
	struct timespec ts = {0, 300000000};
	nanosleep(&ts, NULL);
	struct pod p;
	pod_init(&p, "events");
	if (pull(ds, "PullImage (events)") && runp(ds, &p, "RunPodSandbox (events)")) {
		/* Exits at once in busybox and in kumod's test backend alike. */
		char *argv[] = {"echo", "done"};
		autofree char *cid = create(ds, &p, "ev", argv, 1, "CreateContainer (events)");
		if (cid) {
			pthread_mutex_lock(&e.lock);
			snprintf(e.watch, sizeof(e.watch), "%s", cid);
			pthread_mutex_unlock(&e.lock);
			by_id(ds, RS "StartContainer", cid, &runtime__v1__start_container_response__descriptor,
			      "StartContainer (events)");
			Runtime__V1__ContainerStatusResponse *st = wait_exited(ds, cid, 30000);
			unref(st);
			by_id(ds, RS "RemoveContainer", cid,
			      &runtime__v1__remove_container_response__descriptor, "RemoveContainer (events)");
			events_wait(&e, has_four, 10000);
		}
		remove_pod(ds, &p, "StopPodSandbox (events)", "RemovePodSandbox (events)");
	}
	pthread_mutex_lock(&e.lock);
	if (e.ended && e.n == 0) {
		/* A runtime without the stream: its exact answer reaches the caller, once. */
		printf("# the stream ended: code %d: %s\n", e.last_code, e.last_msg);
		check("GetContainerEvents: a runtime without events answers Unimplemented, passed on",
		      e.last_code == GRPC_STATUS_UNIMPLEMENTED && e.reopened == 0, e.last_msg);
	} else {
		/* CREATED happens before the id is known here; STARTED, STOPPED, DELETED after. */
		bool started = false, stopped = false, deleted = false;
		for (int i = 0; i < e.n; i++) {
			started |= e.types[i] == RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT;
			stopped |= e.types[i] == RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT;
			deleted |= e.types[i] == RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_DELETED_EVENT;
		}
		printf("# %d events of the container, stream ended %d times\n", e.n, e.ended);
		check("GetContainerEvents delivers STARTED", started, "no STARTED event");
		check("GetContainerEvents delivers STOPPED", stopped, "no STOPPED event");
		check("GetContainerEvents delivers DELETED", deleted, "no DELETED event");
	}
	pthread_mutex_unlock(&e.lock);
	double t0 = now_ms();
	cri_downstream_stream_cancel(s);
	check("cancelling the stream returns promptly", now_ms() - t0 < 2000, "took over 2 s");
}

struct hammer {
	struct cri_downstream *ds;
	atomic_int good, bad;
	char first_error[256];
	pthread_mutex_t lock;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 40; i++) {
		autoerror kumo_error_t err = NULL;
		int rc;
		if (i % 3 == 0) {
			Runtime__V1__VersionResponse *v = NULL;
			rc = cri_downstream_version(h->ds, 10000, &v, &err);
			unref(v);
		} else if (i % 3 == 1) {
			Runtime__V1__ListImagesResponse *l = NULL;
			rc = cri_downstream_list_images(h->ds, NULL, 10000, &l, &err);
			unref(l);
		} else {
			Runtime__V1__ListPodSandboxResponse *l = NULL;
			rc = cri_downstream_list_pod_sandbox(h->ds, NULL, 10000, &l, &err);
			unref(l);
		}
		if (rc == 0) {
			atomic_fetch_add(&h->good, 1);
		} else {
			atomic_fetch_add(&h->bad, 1);
			pthread_mutex_lock(&h->lock);
			if (!h->first_error[0])
				snprintf(h->first_error, sizeof(h->first_error), "%s", kumo_error_msg(err));
			pthread_mutex_unlock(&h->lock);
		}
	}
	return NULL;
}

static void check_threads(struct cri_downstream *ds)
{
	struct hammer h = {.ds = ds};
	pthread_mutex_init(&h.lock, NULL);
	pthread_t t[8];
	double t0 = now_ms();
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, hammer_main, &h);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	printf("# 320 calls from 8 threads in %.0f ms\n", now_ms() - t0);
	if (h.bad)
		bad("8 threads x 40 calls on one client", "%d failed, first: %s", (int)h.bad, h.first_error);
	else
		check("8 threads x 40 calls on one client", h.good == 320, "lost calls");
	pthread_mutex_destroy(&h.lock);
}

static bool reopened(struct events *e)
{
	return e->reopened > 0;
}

static void check_reconnect(struct cri_downstream *ds)
{
	Runtime__V1__VersionResponse *v = NULL;
	autoerror kumo_error_t err = NULL;
	if (cri_downstream_version(ds, 10000, &v, &err) < 0) {
		bad("Version before the restart", "%s", kumo_error_msg(err));
		return;
	}
	unref(v);
	ok("Version before the restart");
	struct events e;
	events_init(&e);
	struct cri_downstream_stream_ops ops = {on_event, on_end};
	struct cri_downstream_stream *s = NULL;
	bool stream = cri_downstream_events(ds, &ops, &e, &s, &err) == 0;
	struct timespec ts = {0, 300000000};
	nanosleep(&ts, NULL);
	/* A runtime without an events stream has ended it already, for good. */
	pthread_mutex_lock(&e.lock);
	bool has_stream = stream && e.ended == 0;
	pthread_mutex_unlock(&e.lock);
	printf("ready\n");
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin)) {
		bad("the restart handshake", "no line on stdin");
		cri_downstream_stream_cancel(s);
		return;
	}
	double t0 = now_ms();
	if (cri_downstream_version(ds, 10000, &v, &err) < 0) {
		bad("the first call after the restart works", "%s", kumo_error_msg(err));
	} else {
		ok("the first call after the restart works");
		printf("# it took %.0f ms\n", now_ms() - t0);
		unref(v);
	}
	if (has_stream)
		check("the events stream is reopened after the restart", events_wait(&e, reopened, 10000),
		      "the stream did not end with UNAVAILABLE and reopen");
	else
		printf("# no events stream to reopen (the runtime has none)\n");
	cri_downstream_stream_cancel(s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One pod: runp+create+start(`true`)->exited; *ms its time. Removes the pod. */
static bool bench_one(struct cri_downstream *ds, double *ms)
{
	struct pod p;
	pod_init(&p, "bench");
	double t0 = now_ms();
	if (!runp(ds, &p, "bench RunPodSandbox"))
		return false;
	char *argv[] = {"true"};
	autofree char *cid = create(ds, &p, "c", argv, 1, "bench CreateContainer");
	Runtime__V1__ContainerStatusResponse *st = NULL;
	if (cid && by_id(ds, RS "StartContainer", cid,
			 &runtime__v1__start_container_response__descriptor, "bench StartContainer"))
		st = wait_exited(ds, cid, 30000);
	*ms = now_ms() - t0;
	if (!st)
		bad("bench: the container exits", "not EXITED");
	unref(st);
	remove_pod(ds, &p, "bench StopPodSandbox", "bench RemovePodSandbox");
	return st != NULL;
}

static double median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static void bench(struct cri_downstream *ds, int n)
{
	double *t = xzalloc(sizeof(double) * (size_t)n);
	int done = 0;
	/* Run -1 warms the runtime (image unpacked, shim binaries cached) and is not counted. */
	for (int i = -1; i < n; i++) {
		double ms;
		if (!bench_one(ds, &ms))
			break;
		if (i >= 0)
			t[done++] = ms;
	}
	if (done == n) {
		double med = median(t, n);
		printf("bench: runp+create+start->exited median %.1f ms (min %.1f, max %.1f, %d runs)\n", med,
		       t[0], t[n - 1], n);
		ok("bench");
	}
	free(t);
}

/* The same pods on ENDPOINT and on `other` (--vs), alternating pod by pod (and which goes
 * first), so both see the same machine load; prints both medians and their ratio. */
static void bench_vs(struct cri_downstream *ds, struct cri_downstream *other, const char *other_ep,
		     int n)
{
	double *a = xzalloc(sizeof(double) * (size_t)n), *b = xzalloc(sizeof(double) * (size_t)n);
	int done = 0;
	for (int i = -1; i < n; i++) {
		double ma = 0, mb = 0;
		bool first_a = i % 2 == 0;
		bool good = first_a ? bench_one(ds, &ma) && bench_one(other, &mb)
				    : bench_one(other, &mb) && bench_one(ds, &ma);
		if (!good)
			break;
		if (i >= 0) {
			a[done] = ma;
			b[done++] = mb;
		}
	}
	if (done == n) {
		double ma = median(a, n), mb = median(b, n);
		printf("bench: runp+create+start->exited median %.1f ms on %s (min %.1f, max %.1f) vs "
		       "%.1f ms on %s (min %.1f, max %.1f): %.3fx (%d runs each, alternating)\n",
		       mb, other_ep, b[0], b[n - 1], ma, endpoint, a[0], a[n - 1], mb / ma, n);
		ok("bench vs");
	}
	free(a);
	free(b);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kumo-downstream-check ENDPOINT [--image REF] [--logdir DIR] CHECK...\n");
		return 2;
	}
	endpoint = argv[1];
	struct cri_downstream *ds = NULL;
	autoerror kumo_error_t err = NULL;
	if (cri_downstream_new(endpoint, &ds, &err) < 0) {
		printf("FAIL client: %s\n", kumo_error_msg(err));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		const char *c = argv[i];
		if (strcmp(c, "--image") == 0 && i + 1 < argc)
			image = argv[++i];
		else if (strcmp(c, "--logdir") == 0 && i + 1 < argc)
			logdir = argv[++i];
		else if (strcmp(c, "version") == 0)
			check_version(ds);
		else if (strcmp(c, "images") == 0)
			check_images(ds);
		else if (strcmp(c, "lifecycle") == 0)
			check_lifecycle(ds);
		else if (strcmp(c, "deadline") == 0)
			check_deadline(ds);
		else if (strcmp(c, "dead") == 0)
			check_dead(ds);
		else if (strcmp(c, "events") == 0)
			check_events(ds);
		else if (strcmp(c, "threads") == 0)
			check_threads(ds);
		else if (strcmp(c, "reconnect") == 0)
			check_reconnect(ds);
		else if (strncmp(c, "bench:", 6) == 0)
			bench(ds, atoi(c + 6) > 0 ? atoi(c + 6) : 20);
		else if (strcmp(c, "--vs") == 0 && i + 2 < argc && strncmp(argv[i + 2], "bench:", 6) == 0) {
			struct cri_downstream *other = NULL;
			if (cri_downstream_new(argv[i + 1], &other, &err) < 0) {
				printf("FAIL client of `%s`: %s\n", argv[i + 1], kumo_error_msg(err));
				fails++;
			} else {
				bench_vs(ds, other, argv[i + 1], atoi(argv[i + 2] + 6) > 0 ? atoi(argv[i + 2] + 6) : 20);
			}
			cri_downstream_free(other);
			i += 2;
		}
		else {
			printf("FAIL arguments: unknown check `%s`\n", c);
			fails++;
		}
	}
	cri_downstream_free(ds);
	return fails ? 1 : 0;
}
