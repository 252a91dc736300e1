/* cri/podvm_exec.c - Exec and attach's stdin in a pod VM (issue 17): a command runs as a transient container of the pod VM (its module found in the container's image or mounts, compiled through the build cache, CREATEd with the container's env and preopens, its records to the caller's fds, REMOVEd), and an attach's stdin becomes STDIN messages.
 *
 * Why a container of its own rather than a second instance of the container's object
 * (pod_abi.h's reserved EXEC): the command is another module (a tool, a health check)
 * than the app, and a container is what the kernel already links, runs, stops, counts
 * and reports; kill -9 of kumod in the middle leaves a transient container in pod.json,
 * which the restart ends (podvm_exec_reap_orphans).
 *
 * What an exec needs of its container is written at CreateContainer into the pod VM's
 * run directory as ctr-<40 hex of the id>.json: {"config": <the CREATE JSON>, "rootfs":
 * the image's unpacked layers, "mounts": [{"guest", "host"}...], "stdin": B,
 * "stdin_closed": B}. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder.h"
#include "cri/exec_resolve.h"
#include "cri/podvm_exec.h"
#include "cri/stream.h"

#define STDIN_CHUNK (60u << 10)        /* bytes of one STDIN: one frame of the channel */
#define STDIN_RETRY_MS 20              /* a full stdin is tried again after this, */
#define STDIN_RETRY_MAX_MS 500         /* doubling up to this */
#define EXEC_KILL_WAIT_MS 10000        /* KILL -> its EXIT */
#define EXEC_OUTPUT_MAX (16u << 20)    /* output held per stream for a slow reader */

/* One running command: what the record pump hands over, and its end. */
struct pexec {
	pthread_mutex_t lock;   /* everything below */
	int evfd;               /* eventfd: output or the end arrived */
	uint8_t *buf[2];        /* stdout, stderr bytes not yet written to the caller */
	size_t len[2];
	size_t dropped;         /* bytes past EXEC_OUTPUT_MAX, dropped */
	bool ended;             /* its EXIT (or the VM's end) */
	struct kumo_exit_record exit;
};

static void ping(struct pexec *x)
{
	uint64_t one = 1;
	if (write(x->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("exec: eventfd: %s", strerror(errno));
}

void podvm_exec_output(struct pexec *x, int stream, const uint8_t *p, size_t n)
{
	int i = stream == 2 ? 1 : 0;
	pthread_mutex_lock(&x->lock);
	size_t keep = x->len[i] < EXEC_OUTPUT_MAX ? EXEC_OUTPUT_MAX - x->len[i] : 0;
	if (keep > n)
		keep = n;
	x->dropped += n - keep;
	x->buf[i] = xrealloc(x->buf[i], x->len[i] + keep + 1);
	memcpy(x->buf[i] + x->len[i], p, keep);
	x->len[i] += keep;
	pthread_mutex_unlock(&x->lock);
	ping(x);
}

void podvm_exec_ended(struct pexec *x, const struct kumo_exit_record *ex)
{
	pthread_mutex_lock(&x->lock);
	x->ended = true;
	x->exit = *ex;
	pthread_mutex_unlock(&x->lock);
	ping(x);
}

static struct pexec *pexec_new(void)
{
	struct pexec *x = xzalloc(sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);
	x->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return x;
}

static void pexec_free(struct pexec *x)
{
	if (!x)
		return;
	if (x->evfd >= 0)
		close(x->evfd);
	free(x->buf[0]);
	free(x->buf[1]);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

/* ---- what CreateContainer remembered --------------------------------------------------- */

static char *record_path(const char *run_dir, const char *id)
{
	return xasprintf("%s/ctr-%.40s.json", run_dir, id);
}

void podvm_exec_remember(const char *run_dir, const struct cri_container_spec *spec,
			 const char *config_json)
{
	json_t *mounts = json_array();
	for (size_t i = 0; i < spec->n_mounts; i++)
		json_array_append_new(mounts, json_pack("{s:s, s:s}", "guest",
							spec->mounts[i].container_path, "host",
							spec->mounts[i].host_path));
	json_t *cfg = json_loads(config_json, 0, NULL);
	json_t *j = json_pack("{s:o, s:s?, s:o, s:b, s:b}", "config", cfg ? cfg : json_object(),
			      "rootfs", spec->image_info->rootfs, "mounts", mounts, "stdin",
			      spec->stdin, "stdin_closed", false);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	autofree char *path = record_path(run_dir, spec->id);
	kumo_error_t err = NULL;
	if (!text || kumo_write_file_replace(path, text, strlen(text), 0600, &err) < 0)
		log_warn("container %.12s: saving what exec needs: %s", spec->id,
			 text ? kumo_error_msg(err) : "unencodable");
	kumo_error_free(&err);
	free(text);
}

void podvm_exec_forget(const char *run_dir, const char *id)
{
	autofree char *path = record_path(run_dir, id);
	unlink(path);
}

static json_t *record_load(const char *run_dir, const char *id, kumo_error_t *err)
{
	autofree char *path = record_path(run_dir, id);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j || !json_is_object(json_object_get(j, "config"))) {
		json_decref(j);
		kumo_error(err, KUMO_E_PRECONDITION,
			   "container `%.12s` has no record of its config for exec (`%s`: %s); it "
			   "was created by a kumod without exec", id, path, je.text);
		return NULL;
	}
	return j;
}

/* ---- exec --------------------------------------------------------------------------------- */

/* Writes everything (or gives up on a sink that went away: *fd = -1). */
static void sink(int *fd, const uint8_t *p, size_t n)
{
	while (*fd >= 0 && n) {
		ssize_t w = write(*fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*fd = -1; /* the reader left (the client went away): the rest is dropped */
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Moves what the pump gathered to the caller's fds; true when x has ended (its output
 * all came before its end: nothing is left then). */
static bool drain(struct pexec *x, int *out, int *errfd, bool tty)
{
	uint8_t *b[2];
	size_t l[2];
	pthread_mutex_lock(&x->lock);
	for (int i = 0; i < 2; i++) {
		b[i] = x->buf[i];
		l[i] = x->len[i];
		x->buf[i] = NULL;
		x->len[i] = 0;
	}
	bool ended = x->ended;
	pthread_mutex_unlock(&x->lock);
	sink(out, b[0], l[0]);
	sink(tty ? out : errfd, b[1], l[1]);
	free(b[0]);
	free(b[1]);
	return ended;
}

static bool ack_full(const char *ack)
{
	json_t *j = json_loads(ack ? ack : "", 0, NULL);
	bool full = json_is_true(json_object_get(j, "full"));
	json_decref(j);
	return full;
}

/* Sends STDIN (or CLOSE_STDIN with no bytes); 1 when the container's stdin is full (send
 * again later), 0 when done, -1 when the container takes no more (logged). */
static int send_stdin(struct pod *p, uint32_t cid, const char *what, uint16_t type,
		      const uint8_t *b, size_t n)
{
	autofree char *ack = NULL;
	kumo_error_t err = NULL;
	int r = podvm_send(p, type, cid, NULL, b, n, &ack, &err);
	if (r < 0) {
		log_info("%s: stdin: %s", what, kumo_error_msg(err));
		kumo_error_free(&err);
		return -1;
	}
	if (ack_full(ack))
		return 1;
	autofree char *e = podvm_ack_error(ack);
	if (e) {
		log_info("%s: stdin: %s", what, e);
		return -1;
	}
	return 0;
}

/* The command's config: the container's CREATE config with the command's args, its
 * stdin, and no listen sockets or memory limit (a command's memory is not counted
 * against the container's: it runs on what the pod VM has left). */
static char *exec_config(json_t *config, const char *const *argv, const char *guest,
			 bool with_stdin)
{
	json_t *c = json_deep_copy(config);
	json_t *args = json_array();
	for (size_t i = 0; argv[i]; i++)
		json_array_append_new(args, json_string(argv[i]));
	json_object_set_new(c, "args", args);
	json_object_set_new(c, "name", json_string(guest));
	json_object_del(c, "listen");
	json_object_del(c, "memory_limit");
	json_object_set_new(c, "stdin", json_boolean(with_stdin));
	char *s = json_dumps(c, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(c);
	return s;
}

/* The command's object from the build cache (compiled on a miss), as a blob. */
static int compile(const char *root, int fd, const char *argv0, uint8_t **blob, size_t *len,
		   bool *cached, kumo_error_t *err)
{
	autofree char *path = xasprintf("/proc/self/fd/%d", fd);
	struct builder_input in = {.options = {.root = root}, .module = {path, NULL}};
	struct builder_object obj = {0};
	autofree char *json = NULL;
	size_t skipped = 0;
	/* builder_pod_container: the compile plus the check of its imports against the
	 * kernel's (its config is not used: the container's is). */
	if (builder_pod_container(&in, NULL, NULL, 0, 0, &obj, &json, &skipped, err) < 0)
		return kumo_error_wrap(err, "compile `%s`", argv0);
	*cached = obj.cache_hit;
	int r = kumo_read_file(obj.path, KUMO_POD_BLOB_MAX, blob, len, err);
	builder_object_free(&obj);
	return r;
}

/* Runs the command in transient container cid until it ends (after a KILL when the
 * caller gives up); its stdin from spec->stdin_fd. 0 with x ended, -1 when it did not
 * end. */
static int run(struct pod *p, uint32_t cid, struct pexec *x, const struct cri_exec_spec *spec,
	       const char *what, bool *killed, kumo_error_t *err)
{
	int out = spec->stdout_fd, errfd = spec->stderr_fd, in = spec->stdin_fd;
	uint8_t *chunk = in >= 0 ? xmalloc(STDIN_CHUNK) : NULL;
	size_t pending = 0;       /* chunk bytes the container's stdin had no room for */
	int retry_ms = STDIN_RETRY_MS;
	uint64_t retry_at = 0, kill_deadline = 0;
	int ret = 0;
	while (!drain(x, &out, &errfd, spec->tty)) {
		uint64_t now = kumo_now_ns();
		if (pending && now >= retry_at) {
			int r = send_stdin(p, cid, what, KUMO_POD_MSG_STDIN, chunk, pending);
			if (r == 1) {
				retry_at = kumo_now_ns() + (uint64_t)retry_ms * 1000000u;
				retry_ms = retry_ms * 2 > STDIN_RETRY_MAX_MS ? STDIN_RETRY_MAX_MS : retry_ms * 2;
			} else {
				pending = 0;
				retry_ms = STDIN_RETRY_MS;
				if (r < 0)
					in = -1; /* it takes no more: the rest is not read */
			}
			continue;
		}
		struct pollfd f[3] = {{.fd = x->evfd, .events = POLLIN},
				      {.fd = *killed ? -1 : spec->cancel_fd, .events = POLLIN},
				      {.fd = pending || *killed ? -1 : in, .events = POLLIN}};
		int wait = -1;
		if (pending)
			wait = (int)((retry_at - now) / 1000000u) + 1;
		if (*killed) {
			if (now >= kill_deadline) {
				ret = kumo_error(err, KUMO_E_INTERNAL, "%s: no end %d ms after KILL", what,
						 EXEC_KILL_WAIT_MS);
				break;
			}
			int left = (int)((kill_deadline - now) / 1000000u) + 1;
			wait = wait < 0 || left < wait ? left : wait;
		}
		if (poll(f, 3, wait) < 0 && errno != EINTR) {
			ret = kumo_error_errno(err, errno, "%s: poll", what);
			break;
		}
		if (f[0].revents) {
			uint64_t v;
			if (read(x->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_debug("%s: eventfd: %s", what, strerror(errno));
		}
		if (f[1].revents && !*killed) { /* the client left, or ExecSync's timeout */
			*killed = true;
			kill_deadline = kumo_now_ns() + (uint64_t)EXEC_KILL_WAIT_MS * 1000000u;
			autofree char *ack = NULL;
			kumo_error_t kerr = NULL;
			if (podvm_send(p, KUMO_POD_MSG_KILL, cid, NULL, NULL, 0, &ack, &kerr) < 0)
				log_warn("%s: KILL: %s", what, kumo_error_msg(kerr));
			kumo_error_free(&kerr);
			log_debug("%s: the caller gave up: killed", what);
		}
		if (f[2].revents && in >= 0 && !*killed) {
			ssize_t n = read(in, chunk, STDIN_CHUNK);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n > 0) {
				pending = (size_t)n;
				retry_at = 0;
			} else { /* end of the client's stdin: the command's too */
				in = -1;
				send_stdin(p, cid, what, KUMO_POD_MSG_CLOSE_STDIN, NULL, 0);
			}
		}
	}
	free(chunk);
	if (x->dropped)
		log_warn("%s: %zu bytes of output dropped (the client read too slowly)", what,
			 x->dropped);
	return ret;
}

int podvm_exec(struct cri_vms *s, const struct cri_exec_spec *spec, int32_t *exit_code,
	       kumo_error_t *err)
{
	uint64_t t0 = kumo_now_ns(), t_compiled = 0, t_created = 0;
	struct podvm_ctr_info info = {0};
	struct pod *p = podvm_pod_get(s, spec->id, &info, err);
	if (!p)
		return -1;
	const char *argv0 = spec->argv[0];
	json_t *rec = NULL;
	char *guest = NULL, *json = NULL, *ack = NULL, *refused = NULL;
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	int fd = -1, ret = -1;
	uint32_t cid = 0;
	bool cached = false, killed = false, forget = true;
	struct pexec *x = NULL;
	char *what = xasprintf("exec `%s` in container %.12s", argv0, spec->id);
	if (!info.running) {
		kumo_error(err, KUMO_E_PRECONDITION, "container `%.12s` is not running", spec->id);
		goto out;
	}
	if (!(rec = record_load(info.run_dir, spec->id, err)))
		goto out;
	json_t *config = json_object_get(rec, "config");
	if (exec_resolve(json_string_value(json_object_get(rec, "rootfs")),
			 json_object_get(rec, "mounts"), json_object_get(config, "env"), argv0,
			 spec->id, &fd, &guest, err) < 0 ||
	    exec_check_module(fd, argv0, guest, err) < 0 ||
	    compile(info.root, fd, argv0, &blob, &blob_len, &cached, err) < 0)
		goto out;
	t_compiled = kumo_now_ns();
	json = exec_config(config, spec->argv, guest, spec->stdin_fd >= 0);
	x = pexec_new();
	if (podvm_transient_add(p, guest, x, &cid, err) < 0)
		goto out;
	if (podvm_send(p, KUMO_POD_MSG_CREATE, cid, json, blob, blob_len, &ack, err) < 0) {
		forget = podvm_pod_dead(p); /* else it may exist: the restart ends it */
		goto out_release;
	}
	if ((refused = podvm_ack_error(ack))) {
		kumo_error(err, KUMO_E_INVALID, "`%s`: the pod VM refused it: %s", guest, refused);
		goto out_release;
	}
	t_created = kumo_now_ns();
	free(ack);
	ack = NULL;
	if (podvm_send(p, KUMO_POD_MSG_START, cid, NULL, NULL, 0, &ack, err) < 0)
		goto out_remove;
	if ((refused = podvm_ack_error(ack))) {
		kumo_error(err, KUMO_E_INTERNAL, "`%s`: the pod VM refused START: %s", guest, refused);
		goto out_remove;
	}
	if (run(p, cid, x, spec, what, &killed, err) < 0)
		goto out_remove;
	if (x->exit.kind == KUMO_EXIT_CRASHED) {
		kumo_error(err, podvm_pod_dead(p) ? KUMO_E_UNAVAILABLE : KUMO_E_INVALID, "`%s`: %s",
			   guest, x->exit.msg);
		goto out_remove;
	}
	if (x->exit.kind == KUMO_EXIT_TRAPPED) { /* the trap's name, where the client looks */
		int fdout = spec->tty ? spec->stdout_fd : spec->stderr_fd;
		autofree char *line = xasprintf("%s: wasm trap: %s\n", argv0, x->exit.msg);
		sink(&fdout, (const uint8_t *)line, strlen(line));
	}
	*exit_code = (int32_t)x->exit.status;
	ret = 0;
	log_debug("%s: `%s` as cid %u: exit %u (%s)%s; %s %.1f ms, CREATE %.1f ms, run %.1f ms",
		  what, guest, cid, x->exit.status, x->exit.msg, killed ? ", killed" : "",
		  cached ? "cached object" : "compile", (double)(t_compiled - t0) / 1e6,
		  (double)(t_created - t_compiled) / 1e6, (double)(kumo_now_ns() - t_created) / 1e6);
out_remove:
	if (!podvm_pod_dead(p)) {
		char *rack = NULL, *re = NULL;
		kumo_error_t rerr = NULL;
		if (!x->ended) { /* START failed or the command did not end: make sure */
			podvm_send(p, KUMO_POD_MSG_KILL, cid, NULL, NULL, 0, &rack, &rerr);
			kumo_error_free(&rerr);
			free(rack);
			rack = NULL;
			podvm_wait_ended(p, cid, EXEC_KILL_WAIT_MS);
		}
		if (podvm_send(p, KUMO_POD_MSG_REMOVE, cid, NULL, NULL, 0, &rack, &rerr) < 0 ||
		    (re = podvm_ack_error(rack))) {
			log_warn("%s: REMOVE of cid %u: %s (the next restart of kumod ends it)", what,
				 cid, re ? re : kumo_error_msg(rerr));
			forget = false;
		}
		kumo_error_free(&rerr);
		free(rack);
		free(re);
	}
out_release:
	podvm_transient_release(p, cid, forget);
out:
	if (fd >= 0)
		close(fd);
	pexec_free(x); /* released: the pump no longer reaches it */
	free(what);
	free(guest);
	free(json);
	free(ack);
	free(refused);
	free(blob);
	json_decref(rec);
	podvm_pod_put(p);
	podvm_ctr_info_clear(&info);
	return ret;
}

/* ---- after a restart ------------------------------------------------------------------ */

void podvm_exec_reap_orphans(struct pod *p)
{
	bool started, ended;
	uint32_t cid;
	while ((cid = podvm_transient_orphan(p, &started, &ended))) {
		char *ack = NULL, *e = NULL;
		kumo_error_t err = NULL;
		if (started && !ended) {
			if (podvm_send(p, KUMO_POD_MSG_KILL, cid, NULL, NULL, 0, &ack, &err) == 0)
				podvm_wait_ended(p, cid, EXEC_KILL_WAIT_MS);
			free(ack);
			ack = NULL;
			kumo_error_free(&err);
		}
		int r = podvm_send(p, KUMO_POD_MSG_REMOVE, cid, NULL, NULL, 0, &ack, &err);
		if (r == 0 && (e = podvm_ack_error(ack)) && !strstr(e, "no container"))
			r = -1;
		if (r < 0 && !podvm_pod_dead(p))
			log_warn("pod VM: a command exec ran when kumod stopped (cid %u): REMOVE: %s; "
				 "forgotten", cid, e ? e : kumo_error_msg(err));
		else
			log_info("pod VM: a command exec ran when kumod stopped (cid %u) was %s and "
				 "removed", cid, started && !ended ? "killed" : "ended");
		podvm_transient_release(p, cid, true);
		free(ack);
		free(e);
		kumo_error_free(&err);
	}
}

/* ---- attach's stdin ------------------------------------------------------------------- */

static pthread_mutex_t feeds_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t feeds_cond = PTHREAD_COND_INITIALIZER;
static int feeds; /* stdin threads running */

/* One attach's stdin: a pipe whose bytes go to the container's fd 0. */
struct feed {
	struct cri_vms *s;
	char id[65];   /* the container */
	bool once;     /* its end ends the container's stdin */
	int fd;        /* the pipe's read end */
};

/* Sends bytes (or, n 0 and close, CLOSE_STDIN) to the container, waiting while its stdin
 * is full; -1 when it takes no more. */
static int feed_send(struct feed *f, const uint8_t *b, size_t n, bool close_it)
{
	int retry_ms = STDIN_RETRY_MS;
	for (;;) {
		struct podvm_ctr_info info = {0};
		kumo_error_t err = NULL;
		struct pod *p = podvm_pod_get(f->s, f->id, &info, &err);
		int r = -1;
		if (!p) {
			log_debug("attach %.12s: stdin: %s", f->id, kumo_error_msg(err));
			kumo_error_free(&err);
		} else if (info.running || close_it) {
			autofree char *what = xasprintf("attach %.12s", f->id);
			r = send_stdin(p, info.cid, what,
				       close_it ? KUMO_POD_MSG_CLOSE_STDIN : KUMO_POD_MSG_STDIN, b, n);
		}
		if (r == 0 && close_it) { /* later attaches get no stdin */
			json_t *rec = record_load(info.run_dir, f->id, NULL);
			if (rec) {
				json_object_set_new(rec, "stdin_closed", json_true());
				char *text = json_dumps(rec, JSON_COMPACT);
				autofree char *path = record_path(info.run_dir, f->id);
				if (kumo_write_file_replace(path, text, strlen(text), 0600, &err) < 0)
					log_warn("attach %.12s: %s", f->id, kumo_error_msg(err));
				kumo_error_free(&err);
				free(text);
				json_decref(rec);
			}
		}
		podvm_pod_put(p);
		podvm_ctr_info_clear(&info);
		if (r != 1)
			return r;
		struct timespec ts = {0, (long)retry_ms * 1000000L};
		nanosleep(&ts, NULL);
		retry_ms = retry_ms * 2 > STDIN_RETRY_MAX_MS ? STDIN_RETRY_MAX_MS : retry_ms * 2;
	}
}

static void *feed_main(void *arg)
{
	struct feed *f = arg;
	pthread_setname_np(pthread_self(), "kumo-stdin");
	uint8_t *buf = xmalloc(STDIN_CHUNK);
	bool deliver = true;
	for (;;) {
		ssize_t n = read(f->fd, buf, STDIN_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (deliver && feed_send(f, buf, (size_t)n, false) < 0)
			deliver = false; /* the container takes no more: the rest is read and dropped */
	}
	if (f->once)
		feed_send(f, NULL, 0, true);
	close(f->fd);
	free(buf);
	free(f);
	pthread_mutex_lock(&feeds_lock);
	feeds--;
	pthread_cond_broadcast(&feeds_cond);
	pthread_mutex_unlock(&feeds_lock);
	return NULL;
}

int podvm_attach_stdin(struct cri_vms *s, const char *id, bool once, int *fd,
		       kumo_error_t *err)
{
	*fd = -1;
	struct podvm_ctr_info info = {0};
	struct pod *p = podvm_pod_get(s, id, &info, err);
	if (!p)
		return -1;
	int ret = -1;
	json_t *rec = NULL;
	if (!info.running) {
		kumo_error(err, KUMO_E_PRECONDITION, "container `%.12s` is not running", id);
		goto out;
	}
	if (!(rec = record_load(info.run_dir, id, err)))
		goto out;
	if (!json_is_true(json_object_get(rec, "stdin"))) {
		kumo_error(err, KUMO_E_PRECONDITION,
			   "container `%.12s` was created without stdin (its config's stdin: false)",
			   id);
		goto out;
	}
	ret = 0;
	if (json_is_true(json_object_get(rec, "stdin_closed")))
		goto out; /* a stdin_once stdin an earlier attach ended: none */
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0) {
		ret = kumo_error_errno(err, errno, "attach %.12s: stdin pipe", id);
		goto out;
	}
	struct feed *f = xzalloc(sizeof(*f));
	f->s = s;
	snprintf(f->id, sizeof(f->id), "%s", id);
	f->once = once;
	f->fd = pp[0];
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&feeds_lock);
	pthread_t t;
	int e = pthread_create(&t, &a, feed_main, f);
	if (e == 0)
		feeds++;
	pthread_mutex_unlock(&feeds_lock);
	pthread_attr_destroy(&a);
	if (e != 0) {
		close(pp[0]);
		close(pp[1]);
		free(f);
		ret = kumo_error_errno(err, e, "attach %.12s: stdin thread", id);
		goto out;
	}
	*fd = pp[1];
out:
	json_decref(rec);
	podvm_pod_put(p);
	podvm_ctr_info_clear(&info);
	return ret;
}

void podvm_exec_quiesce(void)
{
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 5;
	pthread_mutex_lock(&feeds_lock);
	while (feeds > 0 && pthread_cond_timedwait(&feeds_cond, &feeds_lock, &end) == 0)
		;
	if (feeds > 0)
		log_warn("pod VMs: %d attach stdin thread(s) still running at exit", feeds);
	pthread_mutex_unlock(&feeds_lock);
}
