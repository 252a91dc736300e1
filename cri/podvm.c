/* cri/podvm.c - the pod-VM stage (issue 16): a pod is one VM booted at RunPodSandbox (the
 * kernel alone), each container a compiled object the kernel links in and runs beside
 * the others; the host side of kernel/pod_abi.h.
 *
 * One pod VM is named "kumopod-" + the pod id's first 24 hex digits (so cri/vms.c's
 * "kumo-" names never collide, and the run directory's unix sockets stay within
 * sun_path's 108 bytes under a long root) and lives in <root>/vms/<name>/ (vmm's run
 * directory): QEMU's files, ctl.sock (the control channel), stdout.raw (COM1: the record
 * stream), and this stage's own files:
 *   pod.json       the pod id, the next command seq, how far the record file has been
 *                  written into CRI logs (log_off), and each container's id, handle
 *                  (cid), name, log path and newest START's seq;
 *   cmd-<seq>      a command sent and not yet acknowledged (the restart procedure
 *                  resends it with the same seq; the kernel executes it once).
 * The containers' mounts are bound into the pod's staging directory <root>/mounts/<pod>
 * (entries "<container id's first 40 hex digits>-<index>", vmm/vmm.h) whose ro/ and rw/
 * sides the VM shares from its boot; a container's directory mounts are preopens naming
 * those shares (a file mount cannot be a preopen in a pod VM: it is left out, logged).
 *
 * One thread per pod tails the record file (inotify, then pread from the saved offset),
 * writes STDOUT/STDERR into the container's CRI log, and turns ACK, STARTED and EXIT
 * into state; an EXIT of a container's newest START is reported to cri. Commands wait
 * for their ACK in the file. When the VM ends, every container still there exits with a
 * reason saying so.
 *
 * Restart (kill -9 of kumod): cri_podvms_new re-attaches every pod VM it finds, rereads
 * the record file from 0 (output below log_off is not written again), reconnects the
 * control socket, writes KUMO_POD_SYNC_BYTES zeros and PINGs with a nonce until that
 * ACK is in the file, then resends the journal's unacknowledged commands in order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "builder/builder.h"
#include "cri/podvm_exec.h"
#include "cri/podvm_impl.h"

static void files_unstage(struct pod *p, const char *id);

static struct podvms *pv_of(struct cri_vms *s)
{
	return s->priv;
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- persistence ------------------------------------------------------------------ */

/* pod.json (lock held). */
int pod_save(struct pod *p, kumo_error_t *err)
{
	json_t *ctrs = json_array();
	for (struct pctr *c = p->ctrs; c; c = c->next)
	{
		json_t *ln = json_array();
		for (size_t i = 0; i < c->nlisten; i++)
			json_array_append_new(ln, json_string(c->listen[i]));
		json_array_append_new(ctrs, json_pack("{s:s, s:i, s:s, s:s?, s:I, s:o}", "id", c->id,
						      "cid", (int)c->cid, "name", c->name,
						      "log_path", c->log_path, "start_seq",
						      (json_int_t)c->start_seq, "listen", ln));
	}
	json_t *j = json_pack("{s:s, s:I, s:I, s:o}", "pod_id", p->id, "next_seq",
			      (json_int_t)p->next_seq, "log_off", (json_int_t)p->log_off,
			      "containers", ctrs);
	if (p->handed_over)
		json_object_set_new(j, "handed_over", json_true());
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	autofree char *path = xasprintf("%s/pod.json", p->run_dir);
	int r = kumo_write_file_replace(path, text, strlen(text), 0600, err);
	free(text);
	if (r == 0) {
		p->saved_log_off = p->log_off;
		p->saved_ns = kumo_now_ns();
	}
	return r;
}

/* Writes log_off into log.offset in place (lock held). */
static void save_log_off(struct pod *p)
{
	if (p->off_fd < 0) {
		autofree char *path = xasprintf("%s/log.offset", p->run_dir);
		p->off_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	}
	uint64_t v = p->log_off;
	if (p->off_fd < 0 || pwrite(p->off_fd, &v, sizeof(v), 0) != sizeof(v))
		log_warn("pod %.12s: saving the log offset: %s", p->id, strerror(errno));
	else
		p->saved_log_off = v;
}

void pod_save_or_log(struct pod *p)
{
	kumo_error_t err = NULL;
	if (pod_save(p, &err) < 0)
		log_error("pod %.12s: %s", p->id, kumo_error_msg(err));
	kumo_error_free(&err);
}

/* ---- records ------------------------------------------------------------------------ */

static struct pctr *ctr_by_cid(struct pod *p, uint32_t cid)
{
	for (struct pctr *c = p->ctrs; c && cid; c = c->next)
		if (c->cid == cid)
			return c;
	return NULL;
}

/* A command exec runs (podvm_exec.h), not a CRI container. */
static bool transient(const struct pctr *c)
{
	return strncmp(c->id, PODVM_EXEC_ID_PREFIX, strlen(PODVM_EXEC_ID_PREFIX)) == 0;
}

static void ctr_log(struct pctr *c, enum vmm_stream stream, const void *buf, size_t len)
{
	if (!c->log)
		return;
	kumo_error_t err = NULL;
	if (vmm_crilog_write(c->log, stream, buf, len, &err) < 0)
		log_warn("container %.12s: %s", c->id, kumo_error_msg(err));
	kumo_error_free(&err);
}

static void ctr_log_flush(struct pctr *c, bool final)
{
	if (!c->log)
		return;
	kumo_error_t err = NULL;
	if (vmm_crilog_flush(c->log, final, &err) < 0)
		log_warn("container %.12s: %s", c->id, kumo_error_msg(err));
	kumo_error_free(&err);
}

/* An EXIT record's JSON as the boot ABI's exit record. */
static void exit_of(const char *js, struct kumo_exit_record *x)
{
	json_t *j = json_loads(js, 0, NULL);
	const char *kind = "error", *msg = "";
	json_int_t status = KUMO_POD_EXIT_ERROR, trap = 0;
	json_unpack(j, "{s?I, s?s, s?I, s?s}", "status", &status, "kind", &kind, "trap", &trap,
		    "msg", &msg);
	*x = (struct kumo_exit_record){.status = (uint32_t)status & 255, .trap = -1};
	if (!strcmp(kind, KUMO_POD_KIND_EXIT)) {
		x->kind = KUMO_EXIT_EXITED;
	} else if (!strcmp(kind, KUMO_POD_KIND_TRAP)) {
		x->kind = KUMO_EXIT_TRAPPED;
		x->trap = (int32_t)trap;
	} else if (!strcmp(kind, KUMO_POD_KIND_STOPPED)) {
		x->kind = KUMO_EXIT_EXITED; /* 143: the app ended at the host's request */
	} else if (!strcmp(kind, KUMO_POD_KIND_KILLED)) {
		x->kind = KUMO_EXIT_KILLED;
	} else {
		x->kind = KUMO_EXIT_CRASHED;
	}
	snprintf(x->msg, sizeof(x->msg), "%s", msg);
	json_decref(j);
}

/* One record at file offset `at` (lock held). Exits to report are appended to *rep. */
static void on_record(struct pod *p, const struct kumo_pod_rec *h, const uint8_t *pl,
		      uint64_t at, struct report **rep, size_t *nrep)
{
	struct pctr *c = h->cid ? ctr_by_cid(p, h->cid) : NULL;
	char *s = NULL;
	if (h->type != KUMO_POD_REC_STDOUT && h->type != KUMO_POD_REC_STDERR) {
		s = xmalloc(h->len + 1);
		memcpy(s, pl, h->len);
		s[h->len] = 0;
	}
	switch (h->type) {
	case KUMO_POD_REC_READY:
		p->ready = true;
		free(p->ready_json);
		p->ready_json = s;
		s = NULL;
		break;
	case KUMO_POD_REC_ACK:
		if (h->seq == 0) {
			json_t *j = json_loads(s, 0, NULL);
			const char *n = json_string_value(json_object_get(j, "nonce"));
			free(p->pong_nonce);
			p->pong_nonce = n ? xstrdup(n) : NULL;
			json_decref(j);
			break;
		}
		for (struct pcmd **pp = &p->journal; *pp; pp = &(*pp)->next)
			if ((*pp)->seq == h->seq && !(*pp)->acked) {
				(*pp)->acked = true;
				(*pp)->ack = s;
				s = NULL;
				autofree char *f = xasprintf("%s/cmd-%llu", p->run_dir,
							     (unsigned long long)h->seq);
				unlink(f);
				break;
			}
		break;
	case KUMO_POD_REC_ERROR:
		/* "resync" after the restart procedure's zeros is expected (pod_abi.h). */
		if (strstr(s, "resync"))
			log_debug("pod %.12s: %s", p->id, s);
		else
			log_warn("pod %.12s: the kernel dropped a command: %s", p->id, s);
		break;
	case KUMO_POD_REC_STDOUT:
	case KUMO_POD_REC_STDERR:
		if (c && c->exec) {
			podvm_exec_output(c->exec, h->type == KUMO_POD_REC_STDOUT ? 1 : 2, pl, h->len);
		} else if (c && at >= p->log_off && h->len) {
			ctr_log(c, h->type == KUMO_POD_REC_STDOUT ? VMM_STDOUT : VMM_STDERR, pl, h->len);
			/* An unfinished line stays in the log writer until its newline: the
			 * saved offset must not pass the record it started in. */
			if (pl[h->len - 1] == '\n')
				c->partial_off = UINT64_MAX;
			else if (c->partial_off == UINT64_MAX)
				c->partial_off = at;
		}
		break;
	case KUMO_POD_REC_STARTED:
		if (c && h->seq == c->start_seq)
			c->started = true;
		break;
	case KUMO_POD_REC_EXIT:
		if (c && h->seq == c->start_seq && !c->exited) {
			c->started = true;
			c->exited = true;
			exit_of(s, &c->exit);
			c->finished_ns = wall_ns();
			if (transient(c)) { /* its command's end, not cri's */
				if (c->exec)
					podvm_exec_ended(c->exec, &c->exit);
				break;
			}
			if (at >= p->log_off)
				ctr_log_flush(c, true);
			c->partial_off = UINT64_MAX;
			*rep = xrealloc(*rep, sizeof(**rep) * (*nrep + 1));
			struct report *r = &(*rep)[(*nrep)++];
			memcpy(r->id, c->id, sizeof(r->id));
			r->st = (struct cri_vm_status){.state = CRI_VM_EXITED, .exit = c->exit,
						       .finished_at_ns = c->finished_ns};
			r->p = p;
		}
		break;
	default:
		break; /* unknown types are skipped (pod_abi.h) */
	}
	free(s);
}

/* Parses what the record file gained (lock held). Returns whether anything was. */
bool pod_pump(struct pod *p, struct report **rep, size_t *nrep)
{
	int fd = open(p->rec_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	uint8_t buf[65536];
	ssize_t n;
	bool any = false;
	while ((n = pread(fd, buf, sizeof(buf), (off_t)p->rec_off)) > 0) {
		any = true;
		uint64_t base = p->rec_off - p->pending_len; /* file offset of pending[0] */
		p->rec_off += (uint64_t)n;
		p->pending = xrealloc(p->pending, p->pending_len + (size_t)n);
		memcpy(p->pending + p->pending_len, buf, (size_t)n);
		p->pending_len += (size_t)n;
		size_t at = 0;
		while (p->pending_len - at >= sizeof(struct kumo_pod_rec)) {
			struct kumo_pod_rec h;
			memcpy(&h, p->pending + at, sizeof(h));
			if (h.magic != KUMO_POD_REC_MAGIC || h.len > KUMO_POD_REC_MAX) {
				log_error("pod %.12s: record stream broken at offset %llu (bad magic "
					  "or length): ignoring the rest", p->id,
					  (unsigned long long)(base + at));
				at = p->pending_len;
				break;
			}
			if (p->pending_len - at - sizeof(h) < h.len)
				break;
			on_record(p, &h, p->pending + at + sizeof(h), base + at, rep, nrep);
			at += sizeof(h) + h.len;
		}
		memmove(p->pending, p->pending + at, p->pending_len - at);
		p->pending_len -= at;
	}
	close(fd);
	if (any) {
		/* Logged: every record parsed, but not an unfinished line's (a restart writes
		 * it again from its first record). */
		uint64_t done = p->rec_off - p->pending_len;
		for (struct pctr *c = p->ctrs; c; c = c->next)
			if (c->partial_off < done)
				done = c->partial_off;
		if (done > p->log_off)
			p->log_off = done;
		pthread_cond_broadcast(&p->cond);
	}
	return any;
}

/* Unbinds what container id staged in its pod (its instance ended or it is removed). */
static void unstage_ctr(struct pod *p, const char *id)
{
	autofree char *prefix = xasprintf("%.40s-", id);
	pthread_mutex_lock(&p->send_lock); /* serialises the staging dir's binds */
	kumo_error_t err = NULL;
	if (vmm_stage_unbind(p->stage_dir, prefix, &err) < 0)
		log_warn("container %.12s: %s", id, kumo_error_msg(err));
	kumo_error_free(&err);
	files_unstage(p, id);
	pthread_mutex_unlock(&p->send_lock);
}

/* Reports exits (no pod lock held); each container's staged mounts are unbound first, as
 * a container VM's are when it ends (a CRI container never starts again). */
void pod_report(struct podvms *pv, struct report *rep, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rep[i].p)
			unstage_ctr(rep[i].p, rep[i].id);
		if (pv)
			cri_vms_report_exit(pv->stage, rep[i].id, &rep[i].st);
	}
	free(rep);
}

struct pump_arg {
	struct podvms *pv;
	struct pod *p;
};

/* The pod's record thread: wakes on the file's growth (inotify), else every 200 ms. */
static void *pump_main(void *arg)
{
	struct pump_arg a = *(struct pump_arg *)arg;
	free(arg);
	struct pod *p = a.p;
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in >= 0 && inotify_add_watch(in, p->rec_path, IN_MODIFY) < 0) {
		close(in);
		in = -1;
	}
	for (;;) {
		struct report *rep = NULL;
		size_t nrep = 0;
		pthread_mutex_lock(&p->lock);
		pod_pump(p, &rep, &nrep);
		/* log_off right after the lines it covers went out (one pwrite in place): a
		 * kill -9 between the two repeats at most this batch's lines. */
		if (p->log_off != p->saved_log_off)
			save_log_off(p);
		pthread_mutex_unlock(&p->lock);
		pod_report(a.pv, rep, nrep);
		struct pollfd fds[2] = {{.fd = p->wake_fd, .events = POLLIN}, {.fd = in, .events = POLLIN}};
		int r = poll(fds, in >= 0 ? 2 : 1, in >= 0 ? 200 : 5);
		if (r > 0 && (fds[0].revents & POLLIN))
			break;
		if (r > 0 && in >= 0 && (fds[1].revents & POLLIN)) {
			char ev[4096];
			while (read(in, ev, sizeof(ev)) > 0)
				;
		}
	}
	if (in >= 0)
		close(in);
	return NULL;
}

/* ---- the control channel --------------------------------------------------------- */

static uint32_t crc(uint32_t c, const void *p, size_t n)
{
	return n ? (uint32_t)crc32(c, p, (uInt)n) : c;
}

/* A whole message as frames (kernel/pod_abi.h). */
uint8_t *pod_frame(uint16_t type, uint64_t seq, uint32_t cid, const char *json,
		      const uint8_t *blob, size_t blob_len, size_t *len)
{
	size_t jl = json ? strlen(json) : 0, total = jl + blob_len;
	size_t nframes = total ? (total + KUMO_POD_FRAG_MAX - 1) / KUMO_POD_FRAG_MAX : 1;
	uint8_t *body = xmalloc(total + 1);
	if (jl)
		memcpy(body, json, jl);
	if (blob_len)
		memcpy(body + jl, blob, blob_len);
	*len = nframes * sizeof(struct kumo_pod_msg) + total;
	uint8_t *m = xmalloc(*len), *at = m;
	for (size_t i = 0; i < nframes; i++) {
		size_t off = i * KUMO_POD_FRAG_MAX;
		size_t n = total - off < KUMO_POD_FRAG_MAX ? total - off : KUMO_POD_FRAG_MAX;
		struct kumo_pod_msg h = {.magic = KUMO_POD_MSG_MAGIC, .version = KUMO_POD_MSG_VERSION,
					 .type = type, .seq = seq, .cid = cid, .json_len = (uint32_t)jl,
					 .blob_len = (uint32_t)blob_len, .frag_off = (uint32_t)off};
		h.frag_crc = crc(0, body + off, n);
		h.hdr_crc = crc(0, &h, offsetof(struct kumo_pod_msg, hdr_crc));
		memcpy(at, &h, sizeof(h));
		memcpy(at + sizeof(h), body + off, n);
		at += sizeof(h) + n;
	}
	free(body);
	return m;
}

int pod_connect(struct pod *p, kumo_error_t *err)
{
	for (int tries = 0; tries < 300; tries++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", p->sock_path);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			p->sock = fd;
			return 0;
		}
		if (fd >= 0)
			close(fd);
		usleep(10000);
	}
	return kumo_error_errno(err, errno, "pod %.12s: connect to the control channel `%s`",
				p->id, p->sock_path);
}

/* Writes bytes on the channel (send_lock held); reconnects once when it was closed. */
int pod_write(struct pod *p, const uint8_t *b, size_t n, kumo_error_t *err)
{
	if (p->sock < 0 && pod_connect(p, err) < 0)
		return -1;
	while (n) { /* no SIGPIPE when QEMU is gone (recovery runs before the server ignores it) */
		ssize_t w = send(p->sock, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return kumo_error_errno(err, w < 0 ? errno : EPIPE,
						"pod %.12s: write to the control channel", p->id);
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static struct pcmd *journal_find(struct pod *p, uint64_t seq)
{
	for (struct pcmd *x = p->journal; x; x = x->next)
		if (x->seq == seq)
			return x;
	return NULL;
}

static void journal_drop(struct pod *p, uint64_t seq)
{
	for (struct pcmd **pp = &p->journal; *pp; pp = &(*pp)->next)
		if ((*pp)->seq == seq) {
			struct pcmd *x = *pp;
			*pp = x->next;
			free(x->bytes);
			free(x->ack);
			free(x);
			return;
		}
}

/* Waits (lock held) until pred holds, the VM ends or ms pass; true when pred held. */
bool pod_wait(struct pod *p, bool (*pred)(struct pod *, void *), void *arg, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t end = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
		       (uint64_t)ms * 1000000ull;
	while (!pred(p, arg) && !p->dead) {
		struct timespec e = {.tv_sec = (time_t)(end / 1000000000ull),
				     .tv_nsec = (long)(end % 1000000000ull)};
		if (pthread_cond_timedwait(&p->cond, &p->lock, &e) == ETIMEDOUT)
			break;
	}
	return pred(p, arg);
}

static bool is_acked(struct pod *p, void *arg)
{
	struct pcmd *x = journal_find(p, *(uint64_t *)arg);
	return x && x->acked;
}

/* Numbers, journals (pod.json's next_seq, cmd-<seq>) and sends a command, then waits
 * for its ACK; *ack gets its JSON (malloc'd). Lock held on entry and exit (released
 * while writing). *seq_out (may be NULL) gets the seq, assigned before anything is sent
 * (before_send, may be NULL, runs then with the lock held: a START records its seq). */
int pod_command(struct pod *p, uint16_t type, uint32_t cid, const char *json,
		   const uint8_t *blob, size_t blob_len, void (*before_send)(struct pod *, uint64_t, void *),
		   void *ctx, char **ack, kumo_error_t *err)
{
	if (p->dead)
		return kumo_error(err, KUMO_E_PRECONDITION, "pod %.12s: its VM is not running", p->id);
	if (p->migrating)
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "pod %.12s: it is migrating to another node (try again when the "
				  "migration has ended)", p->id);
	struct pcmd *x = xzalloc(sizeof(*x));
	x->seq = p->next_seq++;
	x->bytes = pod_frame(type, x->seq, cid, json, blob, blob_len, &x->len);
	x->next = p->journal;
	p->journal = x;
	uint64_t seq = x->seq;
	if (before_send)
		before_send(p, seq, ctx);
	autofree char *f = xasprintf("%s/cmd-%llu", p->run_dir, (unsigned long long)seq);
	if (pod_save(p, err) < 0 || kumo_write_file_replace(f, x->bytes, x->len, 0600, err) < 0) {
		journal_drop(p, seq);
		unlink(f);
		return -1;
	}
	uint8_t *bytes = x->bytes;
	size_t len = x->len;
	/* send_lock before the pod's lock is let go: commands leave in seq order (the
	 * kernel takes one below the highest it executed for a duplicate). */
	pthread_mutex_lock(&p->send_lock);
	pthread_mutex_unlock(&p->lock);
	int w = pod_write(p, bytes, len, err);
	pthread_mutex_unlock(&p->send_lock);
	pthread_mutex_lock(&p->lock);
	if (w < 0) {
		journal_drop(p, seq); /* never sent whole: the restart procedure drops it too */
		unlink(f);
		return -1;
	}
	if (!pod_wait(p, is_acked, &seq, POD_ACK_MS)) {
		journal_drop(p, seq);
		return kumo_error(err, p->dead ? KUMO_E_PRECONDITION : KUMO_E_IO,
				  "pod %.12s: command %llu %s", p->id, (unsigned long long)seq,
				  p->dead ? "not acknowledged: the pod VM ended"
					  : "not acknowledged within 30 s");
	}
	x = journal_find(p, seq);
	if (ack) {
		*ack = x->ack;
		x->ack = NULL;
	}
	journal_drop(p, seq);
	return 0;
}

/* The ACK's error message, NULL when it says ok (malloc'd). */
char *pod_ack_error(const char *ack)
{
	json_t *j = json_loads(ack ? ack : "", 0, NULL);
	char *e = NULL;
	if (!j)
		e = xstrdup("unreadable acknowledgement");
	else if (!json_is_true(json_object_get(j, "ok")))
		e = xstrdup(json_string_value(json_object_get(j, "error"))
				    ?: "the kernel refused it (no reason given)");
	json_decref(j);
	return e;
}

/* ---- pods --------------------------------------------------------------------------- */

struct pod *pod_find(struct podvms *pv, const char *pod_id)
{
	pthread_mutex_lock(&pv->lock);
	struct pod *p = pv->pods;
	while (p && strcmp(p->id, pod_id) != 0)
		p = p->next;
	pthread_mutex_unlock(&pv->lock);
	return p;
}

/* The pod and container of a container id (a full id or a prefix, as exit reports use). */
static struct pod *pod_of_ctr(struct podvms *pv, const char *id, struct pctr **out)
{
	pthread_mutex_lock(&pv->lock);
	struct pod *found = NULL;
	for (struct pod *p = pv->pods; p && !found; p = p->next) {
		pthread_mutex_lock(&p->lock);
		for (struct pctr *c = p->ctrs; c; c = c->next)
			if (strcmp(c->id, id) == 0) {
				found = p;
				*out = c;
				break;
			}
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&pv->lock);
	return found;
}

struct pod *pod_new(struct podvms *pv, const char *pod_id)
{
	struct pod *p = xzalloc(sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", pod_id);
	p->vm_name = xasprintf(POD_NAME_PREFIX "%.24s", pod_id);
	p->run_dir = xasprintf("%s/%s", pv->state_dir, p->vm_name);
	p->rec_path = xasprintf("%s/%s", p->run_dir, VMM_RAW_STDOUT);
	p->sock_path = xasprintf("%s/ctl.sock", p->run_dir);
	p->stage_dir = xasprintf("%s/%s", pv->mounts_dir, pod_id);
	p->sock = -1;
	p->off_fd = -1;
	p->next_seq = 1;
	p->wake_fd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->send_lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	return p;
}

void pctr_free(struct pctr *c)
{
	if (!c)
		return;
	vmm_crilog_close(c->log);
	free(c->name);
	free(c->log_path);
	free(c->stage_entry);
	for (size_t i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->listen);
	free(c);
}

void pod_pump_start(struct podvms *pv, struct pod *p)
{
	struct pump_arg *a = xmalloc(sizeof(*a));
	*a = (struct pump_arg){pv, p};
	if (pthread_create(&p->pump, NULL, pump_main, a) == 0)
		p->pumping = true;
	else
		free(a);
}

void pod_pump_stop(struct pod *p)
{
	if (!p->pumping)
		return;
	uint64_t one = 1;
	if (write(p->wake_fd, &one, sizeof(one)) < 0)
		log_warn("pod %.12s: wake the record thread: %s", p->id, strerror(errno));
	pthread_join(p->pump, NULL);
	p->pumping = false;
}

/* Frees a pod no list holds any more (its thread stopped first). */
void pod_list(struct podvms *pv, struct pod *p)
{
	pthread_mutex_lock(&pv->lock);
	p->next = pv->pods;
	pv->pods = p;
	pthread_mutex_unlock(&pv->lock);
}

void pod_unlist(struct podvms *pv, struct pod *p)
{
	pthread_mutex_lock(&pv->lock);
	for (struct pod **pp = &pv->pods; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&pv->lock);
}

int pod_devices_open(struct pod *p, const struct cri_pod_vm_spec *spec, bool with_mac,
		     struct pod_devices *d, kumo_error_t *err)
{
	*d = (struct pod_devices){0};
	if (vmm_stage_open(p->stage_dir, err) < 0)
		return -1;
	d->ro = vmm_stage_side(p->stage_dir, true);
	d->rw = vmm_stage_side(p->stage_dir, false);
	d->shares[0] = (struct vmm_share){d->ro, VMM_STAGE_TAG_RO, true};
	d->shares[1] = (struct vmm_share){d->rw, VMM_STAGE_TAG_RW, false};
	if (spec->nic) {
		d->att.tap = spec->nic->tap;
		d->att.netns = *spec->nic->netns ? spec->nic->netns : NULL;
		if (with_mac)
			memcpy(d->att.mac, spec->nic->mac, 6);
	}
	return 0;
}

void pod_devices_free(struct pod_devices *d)
{
	free(d->ro);
	free(d->rw);
	d->ro = d->rw = NULL;
}

int pod_restore_into(struct podvms *pv, struct pod *p, const struct cri_pod_vm_spec *spec,
		     const char *dir, const struct cri_record *seed, struct vmm_vm **vm,
		     struct vmm_snapshot_stats *st, kumo_error_t *err)
{
	struct pod_devices dev = {0};
	vmm_remove(pv->vmm, p->vm_name, NULL); /* a leftover of an earlier attempt */
	/* The boot's devices (podvm_run), on this pod's staging sides and NIC. */
	if (kumo_mkdir_p(p->run_dir, 0750, err) < 0 ||
	    pod_devices_open(p, spec, false, &dev, err) < 0) {
		pod_devices_free(&dev);
		return -1;
	}
	struct vmm_restore_spec rs = {
		.name = p->vm_name, .run_dir = p->run_dir, .stdout_fd = -1, .stderr_fd = -1,
		.net = spec->nic ? &dev.att : NULL, .shares = dev.shares, .nshares = 2,
		.control_socket = p->sock_path, .com1_seed = seed ? seed->data : NULL,
		.com1_seed_len = seed ? seed->len : 0,
		.incoming = spec->restore ? spec->restore->incoming : NULL,
	};
	pthread_mutex_lock(&p->lock);
	int r = pod_save(p, err);
	pthread_mutex_unlock(&p->lock);
	if (r == 0)
		r = vmm_restore(pv->vmm, dir, &rs, vm, st, err);
	pod_devices_free(&dev);
	if (r < 0)
		return -1;
	pod_list(pv, p);
	pod_pump_start(pv, p);
	return 0;
}

void pod_free(struct pod *p)
{
	if (!p)
		return;
	pod_pump_stop(p);
	while (p->ctrs) {
		struct pctr *c = p->ctrs;
		p->ctrs = c->next;
		pctr_free(c);
	}
	while (p->journal)
		journal_drop(p, p->journal->seq);
	if (p->sock >= 0)
		close(p->sock);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	if (p->off_fd >= 0)
		close(p->off_fd);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->send_lock);
	pthread_cond_destroy(&p->cond);
	free(p->pending);
	json_decref(p->restore_net);
	free(p->ready_json);
	free(p->pong_nonce);
	free(p->vm_name);
	free(p->run_dir);
	free(p->rec_path);
	free(p->sock_path);
	free(p->stage_dir);
	free(p);
}

/* The VM ended (lock held): every container not yet exited exits saying so; their exits
 * go to *rep. */
static void pod_died(struct pod *p, const char *why, struct report **rep, size_t *nrep)
{
	pod_pump(p, rep, nrep); /* what the kernel wrote before the end comes first */
	p->dead = true;
	for (struct pctr *c = p->ctrs; c; c = c->next) {
		if (c->exited)
			continue;
		c->exited = true;
		c->finished_ns = wall_ns();
		c->exit = (struct kumo_exit_record){.status = KUMO_POD_EXIT_ERROR,
						    .kind = KUMO_EXIT_CRASHED, .trap = -1};
		snprintf(c->exit.msg, sizeof(c->exit.msg), "%s", why);
		if (transient(c)) {
			if (c->exec)
				podvm_exec_ended(c->exec, &c->exit);
			continue;
		}
		ctr_log_flush(c, true);
		c->partial_off = UINT64_MAX;
		if (!c->start_seq)
			continue; /* never started: cri learns it from status */
		*rep = xrealloc(*rep, sizeof(**rep) * (*nrep + 1));
		struct report *r = &(*rep)[(*nrep)++];
		memcpy(r->id, c->id, sizeof(r->id));
		r->st = (struct cri_vm_status){.state = CRI_VM_EXITED, .exit = c->exit,
					       .finished_at_ns = c->finished_ns};
		r->p = p;
	}
	pthread_cond_broadcast(&p->cond);
}

static void on_vmm_event(const struct vmm_event *ev, void *ctx)
{
	struct podvms *pv = ctx;
	if (ev->type != VMM_EVENT_EXITED || !ev->vm)
		return;
	const char *name = vmm_vm_name(ev->vm);
	if (strncmp(name, POD_NAME_PREFIX, strlen(POD_NAME_PREFIX)) != 0)
		return;
	struct pod *found = NULL;
	pthread_mutex_lock(&pv->lock);
	for (struct pod *p = pv->pods; p; p = p->next)
		if (strcmp(p->vm_name, name) == 0)
			found = p;
	pthread_mutex_unlock(&pv->lock);
	if (!found)
		return;
	struct kumo_exit_record ex;
	vmm_vm_exit(ev->vm, &ex, NULL);
	autofree char *why = xasprintf("the pod VM ended (exit %u: %s)", ex.status,
				       ex.msg[0] ? ex.msg : "no message");
	struct report *rep = NULL;
	size_t nrep = 0;
	pthread_mutex_lock(&found->lock);
	if (!found->dead) {
		log_warn("pod %.12s: %s", found->id, why);
		pod_died(found, why, &rep, &nrep);
	}
	pthread_mutex_unlock(&found->lock);
	pod_report(pv, rep, nrep);
}

/* The boot network of a pod: its NIC, its DNS (else the NIC's resolvers), hostname. */
void pod_net(const struct cri_pod_vm_spec *spec, const char **dnsv, const char **searchv,
		    struct builder_net *bn)
{
	const struct cri_pod_nic *nic = spec->nic;
	size_t ndns = 0, nsearch = 0;
	while (spec->dns_servers && spec->dns_servers[ndns])
		ndns++;
	while (spec->dns_searches && spec->dns_searches[nsearch])
		nsearch++;
	const char *const *dns = spec->dns_servers, *const *search = spec->dns_searches;
	if (!ndns) {
		for (size_t i = 0; i < nic->ndns; i++)
			dnsv[i] = nic->dns[i];
		ndns = nic->ndns;
		dns = dnsv;
	}
	if (!nsearch) {
		for (size_t i = 0; i < nic->nsearch; i++)
			searchv[i] = nic->search[i];
		nsearch = nic->nsearch;
		search = searchv;
	}
	*bn = (struct builder_net){
		.has_mac = true, .address = nic->address,
		.gateway = *nic->gateway ? nic->gateway : NULL, .mtu = nic->mtu,
		.dns = dns, .ndns = ndns, .search = search, .nsearch = nsearch,
		.hostname = spec->hostname && *spec->hostname ? spec->hostname : NULL,
	};
	memcpy(bn->mac, nic->mac, 6);
}

static bool is_ready(struct pod *p, void *arg)
{
	(void)arg;
	return p->ready;
}

/* RAM of a pod VM: the pod's limit (the containers' limits) + what the kernel keeps +
 * the containers' stacks (kernel/pod_abi.h's formula), else POD_DEFAULT_MIB. */
unsigned pod_memory_mib(int64_t limit)
{
	if (limit <= 0)
		return POD_DEFAULT_MIB;
	uint64_t b = (uint64_t)limit + KUMO_POD_KERNEL_RESERVE + POD_STACK_ALLOWANCE;
	uint64_t mib = (b + (1u << 20) - 1) >> 20;
	return mib > 65536 ? 65536 : (unsigned)mib;
}

static int podvm_run(struct cri_vms *s, const struct cri_pod_vm_spec *spec, kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	if (pod_find(pv, spec->id))
		return kumo_error(err, KUMO_E_EXISTS, "pod %.12s already has a VM", spec->id);
	if (spec->restore) /* RestorePod (podvm_snap.c) */
		return podvm_restore_vm(pv, spec, err);
	if (pv->snapshot_start) { /* podvm_template.c; a boot when it cannot */
		kumo_error_t terr = NULL;
		if (podvm_run_from_template(pv, spec, &terr) == 0)
			return 0;
		log_warn("pod %.12s: %s: booting it instead", spec->id, kumo_error_msg(terr));
		kumo_error_free(&terr);
	}
	struct pod *p = pod_new(pv, spec->id);
	autofree char *kernel = NULL, *initrd = NULL;
	struct pod_devices dev = {0};
	const char *dnsv[3], *searchv[6];
	struct builder_net bn;
	if (spec->nic)
		pod_net(spec, dnsv, searchv, &bn);
	uint64_t t0 = kumo_now_ns();
	vmm_remove(pv->vmm, p->vm_name, NULL); /* a leftover of an earlier attempt */
	if (builder_pod_kernel(&kernel, err) < 0 ||
	    builder_pod_initrd(p->run_dir, spec->name, spec->nic ? &bn : NULL, &initrd, err) < 0 ||
	    pod_devices_open(p, spec, true, &dev, err) < 0)
		goto fail;
	/* One vCPU: the kernel runs every container on the first (kernel/pod_abi.h). */
	struct vmm_spec vs = {
		.name = p->vm_name, .kernel = kernel, .initrd = initrd,
		.memory_mib = pod_memory_mib(spec->memory_limit_bytes), .vcpus = 1,
		.stdout_fd = -1, .stderr_fd = -1, .net = spec->nic ? &dev.att : NULL,
		.shares = dev.shares, .nshares = 2, .control_socket = p->sock_path,
	};
	pthread_mutex_lock(&p->lock);
	int r = pod_save(p, err);
	pthread_mutex_unlock(&p->lock);
	struct vmm_vm *vm = NULL;
	if (r < 0 || vmm_create(pv->vmm, &vs, &vm, err) < 0)
		goto fail;
	pod_list(pv, p);
	pod_pump_start(pv, p);
	if (vmm_start(vm, err) < 0 || pod_connect(p, err) < 0)
		goto fail_listed;
	pthread_mutex_lock(&p->lock);
	bool ready = pod_wait(p, is_ready, NULL, POD_READY_MS);
	bool control = ready && strstr(p->ready_json, "\"control\": true");
	pthread_mutex_unlock(&p->lock);
	if (!ready || !control) {
		struct kumo_exit_record ex;
		if (!ready && vmm_vm_exit(vm, &ex, NULL))
			kumo_error(err, KUMO_E_INTERNAL, "pod VM %s ended before it was ready: %s",
				   p->vm_name, ex.msg);
		else
			kumo_error(err, KUMO_E_INTERNAL, "pod VM %s: %s", p->vm_name,
				   ready ? "the kernel found no control channel"
					 : "no READY record within 30 s");
		goto fail_listed;
	}
	log_info("pod %.12s: VM %s ready in %.1f ms (%u MiB, 1 vCPU%s%s): %s", p->id, p->vm_name,
		 (double)(kumo_now_ns() - t0) / 1e6, vs.memory_mib, spec->nic ? ", address " : "",
		 spec->nic ? spec->nic->address : "", p->ready_json);
	pod_devices_free(&dev);
	return 0; /* vm is the registry's (vmm_create hands out no reference) */
fail_listed:
	pod_unlist(pv, p);
fail:
	pod_pump_stop(p);
	vmm_remove(pv->vmm, p->vm_name, NULL);
	vmm_stage_unbind(p->stage_dir, NULL, NULL);
	vmm_stage_remove(p->stage_dir);
	pod_free(p);
	pod_devices_free(&dev);
	return kumo_error_wrap(err, "boot the pod VM");
}

static int podvm_stop_pod(struct cri_vms *s, const char *pod_id, kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	struct pod *p = pod_find(pv, pod_id);
	if (!p)
		return 0;
	struct vmm_vm *vm = vmm_lookup(pv->vmm, p->vm_name);
	if (vm) {
		/* The power button: the kernel ends the pod; 5 s later QEMU is destroyed. */
		int r = vmm_stop(vm, 5000, err);
		vmm_vm_put(vm);
		if (r < 0)
			return kumo_error_wrap(err, "stop pod VM %s", p->vm_name);
	}
	struct report *rep = NULL;
	size_t nrep = 0;
	pthread_mutex_lock(&p->lock);
	if (!p->dead)
		pod_died(p, "the pod VM was stopped (StopPodSandbox)", &rep, &nrep);
	pthread_mutex_unlock(&p->lock);
	pod_report(pv, rep, nrep);
	pthread_mutex_lock(&p->send_lock);
	if (p->sock >= 0)
		close(p->sock);
	p->sock = -1;
	pthread_mutex_unlock(&p->send_lock);
	vmm_stage_unbind(p->stage_dir, NULL, NULL);
	vmm_stage_remove(p->stage_dir);
	pthread_mutex_lock(&p->lock);
	for (struct pctr *c = p->ctrs; c; c = c->next)
		files_unstage(p, c->id);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int podvm_remove_pod(struct cri_vms *s, const char *pod_id, kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	if (podvm_stop_pod(s, pod_id, err) < 0)
		return -1;
	pthread_mutex_lock(&pv->lock);
	struct pod *p = NULL;
	for (struct pod **pp = &pv->pods; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, pod_id) == 0) {
			p = *pp;
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&pv->lock);
	autofree char *name = xasprintf(POD_NAME_PREFIX "%.24s", pod_id);
	/* vmm_remove first: it waits for an exit event's handler still using p. */
	int r = vmm_remove(pv->vmm, name, err);
	if (p) { /* an exec or stdin thread still holding it sees the VM dead and lets go */
		pthread_mutex_lock(&p->lock);
		while (p->refs > 0)
			pthread_cond_wait(&p->cond, &p->lock);
		pthread_mutex_unlock(&p->lock);
	}
	pod_free(p);
	return r;
}

/* cri_vms_ops.pod_replace: the pod's VM, with no container in it that has not ended,
 * makes way for a snapshot's (or a new boot). Whatever fails after that VM ended, the pod
 * is left with a new booted VM (as RunPodSandbox left it), and the error is the
 * restore's. */
static int podvm_replace_pod(struct cri_vms *s, const struct cri_pod_vm_spec *spec,
			     const char *adopt_as, kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	struct pod *p = pod_find(pv, spec->id);
	if (!p && spec->restore)
		return kumo_error(err, KUMO_E_NOT_FOUND, "pod `%.12s` has no VM", spec->id);
	if (p) {
		autofree char *busy = NULL;
		pthread_mutex_lock(&p->lock);
		/* A replacement not yet run holds only the snapshot's containers; an ended
		 * container leaves nothing but its record (kubelet restarting a container of a
		 * checkpoint image: it is restored again). */
		for (struct pctr *c = p->ctrs; c && !busy && !p->restoring; c = c->next)
			if (!c->start_seq || !c->exited)
				busy = xstrdup(c->name);
		pthread_mutex_unlock(&p->lock);
		if (busy)
			return kumo_error(err, KUMO_E_PRECONDITION,
					  "pod `%.12s` has container `%s` in its VM: a checkpoint's VM "
					  "replaces only the VM of a pod whose containers all ended",
					  spec->id, busy);
		pod_unlist(pv, p);
		/* vmm_remove first: it waits for an exit event's handler still using p; the
		 * event finds no pod of that name (unlisted), so nothing is reported. */
		kumo_error_t rerr = NULL;
		if (vmm_remove(pv->vmm, p->vm_name, &rerr) < 0)
			log_warn("pod %.12s: remove its VM: %s", spec->id, kumo_error_msg(rerr));
		kumo_error_free(&rerr);
		pthread_mutex_lock(&p->lock);
		while (p->refs > 0)
			pthread_cond_wait(&p->cond, &p->lock);
		pthread_mutex_unlock(&p->lock);
		/* The ended containers' staged mounts go with their VM (a later remove of
		 * them finds nothing to do). */
		for (struct pctr *c = p->ctrs; c; c = c->next)
			if (c->stage_entry)
				unstage_ctr(p, c->id);
		pod_free(p);
	}
	int ret = podvm_run(s, spec, err);
	if (ret == 0 && spec->restore) {
		p = pod_find(pv, spec->id);
		ret = p ? podvm_adopt_as(p, adopt_as, err)
			: kumo_error(err, KUMO_E_NOT_FOUND, "pod `%.12s` lost its VM", spec->id);
	}
	if (ret < 0 && spec->restore) {
		struct cri_pod_vm_spec boot = *spec;
		boot.restore = NULL;
		kumo_error_t berr = NULL;
		if (podvm_replace_pod(s, &boot, NULL, &berr) < 0)
			log_error("pod %.12s: no VM after a failed restore: %s", spec->id,
				  kumo_error_msg(berr));
		else
			log_info("pod %.12s: the restore failed, the pod has a new VM again", spec->id);
		kumo_error_free(&berr);
	}
	return ret;
}

/* ---- containers ---------------------------------------------------------------------- */

/* The ports a container listens on: kubelet's annotation of its own ports when there
 * is one, else the pod's ports no other container of the pod holds (crictl pods). */
static void ctr_listen(const struct cri_container_spec *spec, char ***out, size_t *n)
{
	char **v = xzalloc(sizeof(char *) * (spec->n_ports + 65));
	size_t k = 0;
	json_t *ann = spec->ports_annotation ? json_loads(spec->ports_annotation, 0, NULL) : NULL;
	if (json_is_array(ann)) {
		size_t i;
		json_t *e;
		json_array_foreach(ann, i, e) {
			json_int_t port = json_integer_value(json_object_get(e, "containerPort"));
			const char *proto = json_string_value(json_object_get(e, "protocol"));
			if (port <= 0 || port > 65535 || k >= 64 || (proto && !strcmp(proto, "SCTP")))
				continue;
			v[k++] = xasprintf("%s:0.0.0.0:%d", proto && !strcmp(proto, "UDP") ? "udp" : "tcp",
					   (int)port);
		}
	} else {
		for (size_t i = 0; i < spec->n_ports; i++) {
			const struct cri_port *pt = &spec->ports[i];
			if (pt->container_port <= 0 || pt->container_port > 65535 || pt->protocol == 2)
				continue;
			autofree char *l = xasprintf("%s:0.0.0.0:%d", pt->protocol == 1 ? "udp" : "tcp",
						     pt->container_port);
			bool dup = false;
			for (size_t j = 0; j < k; j++)
				dup |= strcmp(v[j], l) == 0;
			if (!dup) {
				v[k++] = l;
				l = NULL;
			}
		}
	}
	json_decref(ann);
	*out = v;
	*n = k;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Without kubelet's annotation (crictl), the pod's ports go to its newest container: an
 * exited container holding one of them (an init container, an earlier attempt) lets go
 * of its instance in the VM (REMOVE: the kernel frees its sockets), its CRI record stays
 * as it is (lock held). */
static void release_exited_ports(struct pod *p, const struct cri_container_spec *spec,
				 char *const *v, size_t n)
{
	if (spec->ports_annotation)
		return;
	for (struct pctr *c = p->ctrs; c; c = c->next) {
		bool holds = false;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < c->nlisten; j++)
				holds |= strcmp(v[i], c->listen[j]) == 0;
		if (!holds || !c->exited || !c->cid || p->dead)
			continue;
		kumo_error_t err = NULL;
		autofree char *ack = NULL;
		if (pod_command(p, KUMO_POD_MSG_REMOVE, c->cid, NULL, NULL, 0, NULL, NULL, &ack, &err) < 0) {
			log_warn("container %.12s: release its ports: %s", c->id, kumo_error_msg(err));
			kumo_error_free(&err);
			continue;
		}
		log_info("container %.12s (exited): cid %u released, its ports go to the next "
			 "container", c->id, c->cid);
		c->cid = 0;
		for (size_t j = 0; j < c->nlisten; j++)
			free(c->listen[j]);
		c->nlisten = 0;
		pod_save_or_log(p);
	}
}

/* Without kubelet's annotation, the pod's ports another container of p holds (until
 * its REMOVE) are dropped from v (lock held). */
static void drop_held_ports(struct pod *p, const struct cri_container_spec *spec, char **v,
			    size_t *n)
{
	if (spec->ports_annotation)
		return; /* kubelet said which ports are this container's */
	for (size_t i = 0; i < *n;) {
		bool taken = false;
		for (struct pctr *c = p->ctrs; c; c = c->next)
			for (size_t j = 0; j < c->nlisten; j++)
				taken |= strcmp(v[i], c->listen[j]) == 0;
		if (taken) {
			free(v[i]);
			v[i] = v[--*n];
		} else {
			i++;
		}
	}
}

/* A container's file mounts (kubelet's /etc/hosts and termination-message file): a pod
 * VM's preopens are directories, so the files are gathered by their parent directory
 * into <run dir>/files/<40 hex>-f<k>/, each bind-mounted there (read-only when its mount
 * is), and that directory is staged and preopened at the parent's path like a directory
 * mount (the app sees the mounted files there, live). */
static char *files_dir_of(struct pod *p, const char *id)
{
	return xasprintf("%s/files/%.40s", p->run_dir, id);
}

/* Unmounts and removes what files_stage made for container id. */
static void files_unstage(struct pod *p, const char *id)
{
	autofree char *top = files_dir_of(p, id);
	DIR *d = opendir(top);
	struct dirent *g;
	while (d && (g = readdir(d))) {
		if (g->d_name[0] == '.')
			continue;
		autofree char *gdir = xasprintf("%s/%s", top, g->d_name);
		DIR *gd = opendir(gdir);
		struct dirent *f;
		while (gd && (f = readdir(gd))) {
			if (f->d_name[0] == '.' && (!f->d_name[1] || (f->d_name[1] == '.' && !f->d_name[2])))
				continue;
			autofree char *fp = xasprintf("%s/%s", gdir, f->d_name);
			umount2(fp, MNT_DETACH);
			unlink(fp);
		}
		if (gd)
			closedir(gd);
		rmdir(gdir);
	}
	if (d)
		closedir(d);
	rmdir(top);
}

/* Replaces the file mounts among mounts[0..n) by directory mounts of groups made under
 * files_dir_of(p, id) (entries "<40 hex>-f<k>"); *n grows by nothing, the group mounts
 * take the first file mount of each parent and the others are dropped (n updated).
 * names: storage for the new strings (freed by the caller with strv_free). */
static int files_stage(struct pod *p, const char *id, struct builder_mount *mounts, size_t *n,
		       char ***names, size_t *nnames, kumo_error_t *err)
{
	size_t out = 0, ngroups = 0;
	char **v = xzalloc(sizeof(char *) * (*n * 3 + 1));
	size_t nv = 0;
	autofree char *top = files_dir_of(p, id);
	int ret = 0;
	for (size_t i = 0; i < *n && ret == 0; i++) {
		struct builder_mount m = mounts[i];
		struct stat sb;
		if (stat(m.host_path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			mounts[out++] = m; /* directories (and errors, which builder names) */
			continue;
		}
		const char *slash = strrchr(m.guest_path, '/');
		if (!slash || slash == m.guest_path || !slash[1]) {
			ret = kumo_error(err, KUMO_E_INVALID,
					 "mount `%s`: a file mount in a pod VM needs a parent directory "
					 "other than /", m.guest_path);
			break;
		}
		autofree char *parent = xstrndup(m.guest_path, (size_t)(slash - m.guest_path));
		/* The group of this parent: an earlier output mount with the same guest path
		 * made here. */
		size_t k;
		for (k = 0; k < out; k++)
			if (mounts[k].entry && strstr(mounts[k].entry, "-f") &&
			    strcmp(mounts[k].guest_path, parent) == 0 &&
			    strncmp(mounts[k].host_path, top, strlen(top)) == 0)
				break;
		if (k == out) {
			char *gdir = xasprintf("%s/%.40s-f%zu", top, id, ngroups);
			char *entry = xasprintf("%.40s-f%zu", id, ngroups++);
			char *gpath = xstrdup(parent);
			v[nv++] = gdir;
			v[nv++] = entry;
			v[nv++] = gpath;
			if (kumo_mkdir_p(gdir, 0755, err) < 0) {
				ret = -1;
				break;
			}
			mounts[out++] = (struct builder_mount){.guest_path = gpath, .host_path = gdir,
							       .share = true, .tag = VMM_STAGE_TAG_RW,
							       .entry = entry};
		}
		autofree char *fp = xasprintf("%s/%s", mounts[k].host_path, slash + 1);
		int fd = open(fp, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		if (fd < 0 || mount(m.host_path, fp, NULL, MS_BIND, NULL) < 0 ||
		    (m.readonly && mount(NULL, fp, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0))
			ret = kumo_error_errno(err, errno, "mount `%s`: bind `%s` at `%s`", m.guest_path,
					       m.host_path, fp);
	}
	if (ret < 0)
		files_unstage(p, id);
	*n = out;
	*names = v;
	*nnames = nv;
	return ret;
}

/* True when the image's unpacked rootfs holds anything besides the module itself (as
 * builder_prepare decides whether to copy it). */
static bool rootfs_has_files(const char *rootfs, const char *module_path)
{
	DIR *d = rootfs ? opendir(rootfs) : NULL;
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	size_t rl = strlen(rootfs);
	while (!found && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		found = !(module_path && strncmp(module_path, rootfs, rl) == 0 &&
			  module_path[rl] == '/' && strcmp(module_path + rl + 1, e->d_name) == 0);
	}
	closedir(d);
	return found;
}

struct start_ctx {
	struct pctr *c;
};

static int podvm_create(struct cri_vms *s, const struct cri_container_spec *spec,
			kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	const struct cri_image_info *img = spec->image_info;
	if (!img->module_path && !spec->restore_dir) /* a restore's instance runs already */
		return kumo_error(err, KUMO_E_INVALID, "image `%s` names no .wasm module", img->id);
	struct pod *p = pod_find(pv, spec->pod_id);
	if (!p)
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "pod `%.12s` has no VM (it was created by a kumod running each "
				  "container as its own VM, or its VM could not be found again)",
				  spec->pod_id);
	uint64_t t0 = kumo_now_ns();
	/* Mounts: bound into the pod's staging sides, preopens naming them. */
	autofree struct builder_mount *mounts = xzalloc(sizeof(*mounts) * (spec->n_mounts + 2));
	autofree char *entries = xzalloc(spec->n_mounts * 64 + 1);
	autofree char *prefix = xasprintf("%.40s-", spec->id);
	int ret = 0;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		char *entry = entries + i * 64;
		snprintf(entry, 64, "%.40s-%zu", spec->id, i);
		bool ro = spec->mounts[i].readonly;
		mounts[i] = (struct builder_mount){.guest_path = spec->mounts[i].container_path,
						   .host_path = spec->mounts[i].host_path,
						   .readonly = ro, .share = true,
						   .tag = ro ? VMM_STAGE_TAG_RO : VMM_STAGE_TAG_RW,
						   .entry = entry};
	}
	size_t nmounts = spec->n_mounts, nnames = 0;
	char **names = NULL;
	ret = files_stage(p, spec->id, mounts, &nmounts, &names, &nnames, err);
	/* The image's files (besides its module): its unpacked rootfs, staged read-only and
	 * preopened at "/", before the mounts (a later preopen covers an earlier one). */
	autofree char *root_entry = xasprintf("%.40s-root", spec->id);
	if (ret == 0 && rootfs_has_files(img->rootfs, img->module_path)) {
		memmove(mounts + 1, mounts, sizeof(*mounts) * nmounts);
		mounts[0] = (struct builder_mount){.guest_path = "/", .host_path = img->rootfs,
						   .readonly = true, .share = true,
						   .tag = VMM_STAGE_TAG_RO, .entry = root_entry};
		nmounts++;
	}
	for (size_t i = 0; i < nmounts && ret == 0; i++) {
		pthread_mutex_lock(&p->send_lock); /* serialises binds of this staging dir */
		ret = vmm_stage_bind(p->stage_dir, mounts[i].entry, mounts[i].host_path,
				     mounts[i].readonly, err);
		pthread_mutex_unlock(&p->send_lock);
		if (ret < 0)
			kumo_error_wrap(err, "mount `%s`", mounts[i].guest_path);
	}
	if (spec->restore_dir) { /* RestorePod: its instance is in the restored VM already */
		if (ret == 0)
			ret = podvm_adopt(p, spec, nmounts ? prefix : NULL, err);
		strv_free(names, nnames);
		if (ret < 0 && nmounts) {
			pthread_mutex_lock(&p->send_lock);
			vmm_stage_unbind(p->stage_dir, prefix, NULL);
			pthread_mutex_unlock(&p->send_lock);
			files_unstage(p, spec->id);
		}
		return ret;
	}
	char **listen = NULL;
	size_t nlisten = 0;
	ctr_listen(spec, &listen, &nlisten);
	struct builder_input in = {
		.options = {.root = pv->root},
		.module = {img->module_path, img->module_digest},
		.image = {(const char *const *)img->entrypoint, (const char *const *)img->cmd,
			  (const char *const *)img->env, img->working_dir, img->rootfs},
		.argv = spec->argv, .env = spec->env, .working_dir = spec->working_dir,
		.mounts = mounts, .nmounts = nmounts,
	};
	struct builder_object obj = {0};
	autofree char *json = NULL;
	autofree uint8_t *blob = NULL;
	size_t blob_len = 0, skipped = 0;
	uint64_t t_compiled = t0;
	struct pctr *c = NULL;
	if (ret == 0) {
		/* The ports other containers of the pod hold are theirs. */
		pthread_mutex_lock(&p->lock);
		release_exited_ports(p, spec, listen, nlisten);
		drop_held_ports(p, spec, listen, &nlisten);
		pthread_mutex_unlock(&p->lock);
		ret = builder_pod_container(&in, spec->name, (const char *const *)listen, nlisten,
					    spec->memory_limit_bytes > 0
						    ? (uint64_t)spec->memory_limit_bytes : 0,
					    &obj, &json, &skipped, err);
		if (ret < 0)
			kumo_error_wrap(err, "image `%s`", spec->image);
	}
	if (ret == 0 && spec->stdin) { /* fd 0 reads what attach sends (kernel/pod_abi.h) */
		json_t *cfg = json_loads(json, 0, NULL);
		json_object_set_new(cfg, "stdin", json_true());
		free(json);
		json = json_dumps(cfg, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(cfg);
	}
	if (ret == 0) {
		log_debug("container %.12s: config %s", spec->id, json);
		ret = kumo_read_file(obj.path, KUMO_POD_BLOB_MAX, &blob, &blob_len, err);
	}
	t_compiled = kumo_now_ns();
	if (ret == 0 && spec->log_path && *spec->log_path) {
		autofree char *dir = xstrdup(spec->log_path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			ret = kumo_mkdir_p(dir, 0755, err);
		}
	}
	autofree char *ack = NULL;
	if (ret == 0) {
		pthread_mutex_lock(&p->lock);
		uint32_t cid = 0;
		for (uint32_t k = 1; k <= KUMO_POD_MAX_CID && !cid; k++)
			if (!ctr_by_cid(p, k))
				cid = k;
		if (!cid)
			ret = kumo_error(err, KUMO_E_PRECONDITION,
					 "pod `%.12s` already has %u containers, the most a pod VM runs",
					 spec->pod_id, KUMO_POD_MAX_CID);
		if (ret == 0) {
			c = xzalloc(sizeof(*c));
			snprintf(c->id, sizeof(c->id), "%s", spec->id);
			c->cid = cid;
			c->partial_off = UINT64_MAX;
			c->name = xstrdup(spec->name);
			c->log_path = spec->log_path && *spec->log_path ? xstrdup(spec->log_path) : NULL;
			c->stage_entry = nmounts ? xstrdup(prefix) : NULL;
			c->listen = listen;
			c->nlisten = nlisten;
			listen = NULL;
			nlisten = 0;
			if (c->log_path && vmm_crilog_open(c->log_path, NULL, &c->log, err) < 0)
				ret = -1;
		}
		if (ret == 0) {
			c->next = p->ctrs;
			p->ctrs = c;
			ret = pod_command(p, KUMO_POD_MSG_CREATE, cid, json, blob, blob_len, NULL, NULL,
				      &ack, err);
			autofree char *e = ret == 0 ? pod_ack_error(ack) : NULL;
			if (e)
				ret = kumo_error(err, KUMO_E_INVALID, "the pod VM refused it: %s", e);
			if (ret < 0) {
				for (struct pctr **pp = &p->ctrs; *pp; pp = &(*pp)->next)
					if (*pp == c) {
						*pp = c->next;
						break;
					}
				pod_save_or_log(p);
			}
		}
		if (ret < 0) {
			pctr_free(c);
			c = NULL;
		}
		pthread_mutex_unlock(&p->lock);
	}
	strv_free(listen, nlisten);
	strv_free(names, nnames);
	if (ret < 0) {
		if (nmounts) {
			pthread_mutex_lock(&p->send_lock);
			vmm_stage_unbind(p->stage_dir, prefix, NULL);
			pthread_mutex_unlock(&p->send_lock);
			files_unstage(p, spec->id);
		}
		builder_object_free(&obj);
		return -1;
	}
	podvm_exec_remember(p->run_dir, spec, json);
	uint64_t t_done = kumo_now_ns();
	if (skipped)
		log_warn("container %.12s: %zu mounts left out (a pod VM preopens directories, and "
			 "every mount is a directory or a file staged in one)", spec->id, skipped);
	log_info("container %.12s: created as cid %u in pod VM %s (object %s%s, %zu bytes; compile "
		 "%llu us, CREATE %llu us): %s", spec->id, c->cid, p->vm_name, obj.path,
		 obj.cache_hit ? ", cached" : "", blob_len,
		 (unsigned long long)((t_compiled - t0) / 1000),
		 (unsigned long long)((t_done - t_compiled) / 1000), ack);
	builder_object_free(&obj);
	return 0;
}

static void set_start_seq(struct pod *p, uint64_t seq, void *ctx)
{
	(void)p;
	struct pctr *c = ctx;
	c->start_seq = seq;
	c->started = false;
	c->exited = false;
}

static int podvm_start(struct cri_vms *s, const char *id, kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	struct pctr *c = NULL;
	struct pod *p = pod_of_ctr(pv, id, &c);
	if (!p)
		return kumo_error(err, KUMO_E_NOT_FOUND, "container `%.12s` is in no pod VM", id);
	pthread_mutex_lock(&p->lock);
	bool resume = p->restoring && c->skip_start;
	pthread_mutex_unlock(&p->lock);
	/* A pod VM replaced by a checkpoint image's (pod_replace) runs at its container's
	 * start (RestorePod resumes it before). */
	if (resume && podvm_pod_resume(s, p->id, err) < 0)
		return -1;
	pthread_mutex_lock(&p->lock);
	if (c->skip_start) { /* restored running (podvm_snap.c): nothing to send */
		c->skip_start = false;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	autofree char *ack = NULL;
	int ret = pod_command(p, KUMO_POD_MSG_START, c->cid, NULL, NULL, 0, set_start_seq, c, &ack, err);
	autofree char *e = ret == 0 ? pod_ack_error(ack) : NULL;
	if (e)
		ret = kumo_error(err, KUMO_E_PRECONDITION, "the pod VM refused START: %s", e);
	if (ret == 0)
		c->started = true;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* Whether the pod's VM still runs (lock may be held: only vmm's registry is asked). */
static bool vm_alive(struct podvms *pv, struct pod *p)
{
	if (p->dead)
		return false;
	struct vmm_vm *vm = vmm_lookup(pv->vmm, p->vm_name);
	bool alive = vm && vmm_vm_state(vm) == VMM_STATE_RUNNING;
	if (vm)
		vmm_vm_put(vm);
	return alive;
}

static bool has_exited(struct pod *p, void *arg)
{
	(void)p;
	return ((struct pctr *)arg)->exited;
}

static int podvm_stop(struct cri_vms *s, const char *id, int64_t timeout_s, kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	struct pctr *c = NULL;
	struct pod *p = pod_of_ctr(pv, id, &c);
	if (!p)
		return 0;
	int64_t ms = timeout_s > 3600 ? 3600000 : timeout_s * 1000;
	pthread_mutex_lock(&p->lock);
	int ret = 0;
	if (c->start_seq && !c->exited && !p->dead) {
		autofree char *json = xasprintf("{\"grace_ms\": %lld}", (long long)ms);
		ret = pod_command(p, KUMO_POD_MSG_STOP, c->cid, json, NULL, 0, NULL, NULL, NULL, err);
		if (ret < 0 && !vm_alive(pv, p)) {
			/* The pod VM is ending: its end stops the container (pod_died). */
			kumo_error_free(err);
			ret = 0;
		}
		if (ret == 0 && !pod_wait(p, has_exited, c, (int)ms + POD_STOP_EXTRA_MS))
			ret = kumo_error(err, KUMO_E_INTERNAL,
					 "container `%.12s` did not end within its grace period "
					 "(%lld ms) and %d ms more", id, (long long)ms,
					 POD_STOP_EXTRA_MS);
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static int podvm_remove(struct cri_vms *s, const char *id, kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	struct pctr *c = NULL;
	struct pod *p = pod_of_ctr(pv, id, &c);
	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	int ret = 0;
	if (!p->dead && c->cid) { /* cid 0: released already */
		autofree char *ack = NULL;
		ret = pod_command(p, KUMO_POD_MSG_REMOVE, c->cid, NULL, NULL, 0, NULL, NULL, &ack, err);
		autofree char *e = ret == 0 ? pod_ack_error(ack) : NULL;
		if (e)
			ret = kumo_error(err, KUMO_E_PRECONDITION, "the pod VM refused REMOVE: %s", e);
		if (ret < 0 && !vm_alive(pv, p)) { /* the VM ended meanwhile: nothing to remove */
			kumo_error_free(err);
			ret = 0;
		}
	}
	if (ret == 0) {
		for (struct pctr **pp = &p->ctrs; *pp; pp = &(*pp)->next)
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		pod_save_or_log(p);
	}
	pthread_mutex_unlock(&p->lock);
	if (ret < 0)
		return -1;
	if (c->stage_entry)
		unstage_ctr(p, c->id);
	podvm_exec_forget(p->run_dir, c->id);
	pctr_free(c);
	return 0;
}

static int podvm_status(struct cri_vms *s, const char *id, struct cri_vm_status *st,
			kumo_error_t *err)
{
	(void)err;
	struct podvms *pv = pv_of(s);
	struct pctr *c = NULL;
	struct pod *p = pod_of_ctr(pv, id, &c);
	*st = (struct cri_vm_status){.state = CRI_VM_GONE};
	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	if (c->exited) {
		st->state = CRI_VM_EXITED;
		st->exit = c->exit;
		st->finished_at_ns = c->finished_ns;
	} else {
		st->state = c->start_seq ? CRI_VM_RUNNING : CRI_VM_CREATED;
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static int podvm_stats(struct cri_vms *s, const char *id, struct cri_vm_stats *stats,
		       kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	struct pctr *c = NULL;
	struct pod *p = pod_of_ctr(pv, id, &c);
	struct vmm_vm *vm = p ? vmm_lookup(pv->vmm, p->vm_name) : NULL;
	if (!vm)
		return kumo_error(err, KUMO_E_NOT_FOUND, "container `%.12s` has no pod VM", id);
	struct vmm_stats vst = {0};
	int ret = vmm_vm_stats(vm, &vst, err);
	vmm_vm_put(vm);
	if (ret < 0)
		return -1;
	/* The pod VM's figures: its containers share one QEMU. */
	*stats = (struct cri_vm_stats){.timestamp_ns = wall_ns(), .cpu_usage_core_ns = vst.cpu_ns,
				       .memory_working_set = vst.memory_bytes,
				       .memory_rss = vst.memory_bytes};
	return 0;
}

static int podvm_log_reopen(struct cri_vms *s, const char *id, kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	struct pctr *c = NULL;
	struct pod *p = pod_of_ctr(pv, id, &c);
	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	int ret = c->log ? vmm_crilog_reopen(c->log, err) : 0;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static const char *podvm_accel(struct cri_vms *s)
{
	return pv_of(s)->accel.line + strlen("accel: ");
}

static void podvm_destroy(struct cri_vms *s)
{
	struct podvms *pv = pv_of(s);
	podvm_exec_quiesce();
	if (pv) {
		while (pv->pods) {
			struct pod *p = pv->pods;
			pv->pods = p->next;
			pod_free(p);
		}
		vmm_close(pv->vmm); /* VMs keep running: a restarted kumod re-attaches */
		podvm_templates_free(pv);
		pthread_mutex_destroy(&pv->lock);
		free(pv->root);
		free(pv->state_dir);
		free(pv->mounts_dir);
		free(pv);
	}
	free(s);
}

static void podvm_sweep(struct cri_vms *s, bool (*known)(const char *id, void *ctx), void *ctx)
{
	struct podvms *pv = pv_of(s);
	/* Pods first: a pod VM nobody has a record of could never be stopped. */
	for (;;) {
		char id[65] = "";
		pthread_mutex_lock(&pv->lock);
		for (struct pod *p = pv->pods; p && !*id; p = p->next)
			if (!known(p->id, ctx))
				snprintf(id, sizeof(id), "%s", p->id);
		pthread_mutex_unlock(&pv->lock);
		if (!*id)
			break;
		log_warn("state: pod VM kumopod-%.24s has no pod record (kumod was killed while "
			 "running it, or its record was set aside): removing it", id);
		kumo_error_t err = NULL;
		if (podvm_remove_pod(s, id, &err) < 0)
			log_warn("pod %.12s: %s", id, kumo_error_msg(err));
		kumo_error_free(&err);
		struct pod *left = pod_find(pv, id);
		if (left) { /* removal failed: forget it all the same, or this loops */
			pod_unlist(pv, left);
			pod_free(left);
		}
	}
	/* Then containers of known pods that cri never recorded. */
	pthread_mutex_lock(&pv->lock);
	size_t n = 0;
	for (struct pod *p = pv->pods; p; p = p->next) {
		pthread_mutex_lock(&p->lock);
		for (struct pctr *c = p->ctrs; c; c = c->next)
			n++;
		pthread_mutex_unlock(&p->lock);
	}
	char (*ids)[65] = xzalloc(sizeof(*ids) * (n + 1));
	size_t k = 0;
	for (struct pod *p = pv->pods; p; p = p->next) {
		pthread_mutex_lock(&p->lock);
		for (struct pctr *c = p->ctrs; c && k < n; c = c->next)
			snprintf(ids[k++], sizeof(ids[0]), "%s", c->id);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&pv->lock);
	for (size_t i = 0; i < k; i++) {
		if (known(ids[i], ctx))
			continue;
		log_warn("state: container %.12s in a pod VM has no container record (kumod was "
			 "killed while creating it): removing it", ids[i]);
		kumo_error_t err = NULL;
		if (podvm_stop(s, ids[i], 0, &err) < 0 || podvm_remove(s, ids[i], &err) < 0)
			log_warn("container %.12s: %s", ids[i], kumo_error_msg(err));
		kumo_error_free(&err);
	}
	free(ids);
}

static const struct cri_vms_ops podvm_ops = {
	.create = podvm_create,
	.start = podvm_start,
	.stop = podvm_stop,
	.remove = podvm_remove,
	.status = podvm_status,
	.stats = podvm_stats,
	.log_reopen = podvm_log_reopen,
	.accel = podvm_accel,
	.pod_run = podvm_run,
	.pod_stop = podvm_stop_pod,
	.pod_remove = podvm_remove_pod,
	.pod_checkpoint = podvm_pod_checkpoint,
	.pod_resume = podvm_pod_resume,
	.pod_replace = podvm_replace_pod,
	.sweep = podvm_sweep,
	.attach_stdin = podvm_attach_stdin,
	.exec = podvm_exec,
	.destroy = podvm_destroy,
};

/* ---- for podvm_exec.c (cri/podvm_exec.h) ------------------------------------------- */

void podvm_ctr_info_clear(struct podvm_ctr_info *i)
{
	free(i->run_dir);
	free(i->root);
	free(i->name);
	*i = (struct podvm_ctr_info){0};
}

struct pod *podvm_pod_get(struct cri_vms *s, const char *id, struct podvm_ctr_info *info,
			  kumo_error_t *err)
{
	struct podvms *pv = pv_of(s);
	struct pod *found = NULL;
	pthread_mutex_lock(&pv->lock);
	for (struct pod *p = pv->pods; p && !found; p = p->next) {
		pthread_mutex_lock(&p->lock);
		for (struct pctr *c = p->ctrs; c; c = c->next) {
			if (transient(c) || strcmp(c->id, id) != 0)
				continue;
			found = p;
			p->refs++;
			*info = (struct podvm_ctr_info){
				.cid = c->cid, .running = c->start_seq && !c->exited && !p->dead && c->cid,
				.run_dir = xstrdup(p->run_dir), .root = xstrdup(pv->root),
				.name = xstrdup(c->name)};
			break;
		}
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&pv->lock);
	if (!found)
		kumo_error(err, KUMO_E_NOT_FOUND, "container `%.12s` is in no pod VM", id);
	return found;
}

void podvm_pod_put(struct pod *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->refs--;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int podvm_send(struct pod *p, uint16_t type, uint32_t cid, const char *json,
	       const uint8_t *blob, size_t blob_len, char **ack, kumo_error_t *err)
{
	pthread_mutex_lock(&p->lock);
	struct pctr *c = type == KUMO_POD_MSG_START ? ctr_by_cid(p, cid) : NULL;
	int r = pod_command(p, type, cid, json, blob, blob_len, c ? set_start_seq : NULL, c, ack, err);
	pthread_mutex_unlock(&p->lock);
	return r;
}

char *podvm_ack_error(const char *ack)
{
	return pod_ack_error(ack);
}

int podvm_transient_add(struct pod *p, const char *name, struct pexec *x, uint32_t *cid,
			kumo_error_t *err)
{
	pthread_mutex_lock(&p->lock);
	uint32_t k = 0;
	for (uint32_t i = 1; i <= KUMO_POD_MAX_CID && !k; i++)
		if (!ctr_by_cid(p, i))
			k = i;
	int r = 0;
	if (p->dead)
		r = kumo_error(err, KUMO_E_PRECONDITION, "pod %.12s: its VM is not running", p->id);
	else if (!k)
		r = kumo_error(err, KUMO_E_PRECONDITION,
			       "pod %.12s runs %u containers and commands, the most a pod VM runs",
			       p->id, KUMO_POD_MAX_CID);
	if (r == 0) {
		struct pctr *c = xzalloc(sizeof(*c));
		snprintf(c->id, sizeof(c->id), PODVM_EXEC_ID_PREFIX "%u-%llx", k,
			 (unsigned long long)kumo_now_ns());
		c->cid = k;
		c->name = xstrdup(name);
		c->partial_off = UINT64_MAX;
		c->exec = x;
		c->next = p->ctrs;
		p->ctrs = c;
		r = pod_save(p, err);
		if (r < 0) {
			p->ctrs = c->next;
			pctr_free(c);
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (r == 0)
		*cid = k;
	return r;
}

void podvm_transient_release(struct pod *p, uint32_t cid, bool forget)
{
	struct pctr *gone = NULL;
	pthread_mutex_lock(&p->lock);
	for (struct pctr **pp = &p->ctrs; *pp; pp = &(*pp)->next) {
		if ((*pp)->cid != cid || !transient(*pp))
			continue;
		(*pp)->exec = NULL;
		if (forget) {
			gone = *pp;
			*pp = gone->next;
			pod_save_or_log(p);
		}
		break;
	}
	pthread_mutex_unlock(&p->lock);
	pctr_free(gone);
}

uint32_t podvm_transient_orphan(struct pod *p, bool *started, bool *ended)
{
	uint32_t cid = 0;
	pthread_mutex_lock(&p->lock);
	for (struct pctr *c = p->ctrs; c && !cid; c = c->next)
		if (transient(c) && !c->exec) {
			cid = c->cid;
			*started = c->start_seq != 0;
			*ended = c->exited;
		}
	pthread_mutex_unlock(&p->lock);
	return cid;
}

bool podvm_wait_ended(struct pod *p, uint32_t cid, int ms)
{
	pthread_mutex_lock(&p->lock);
	struct pctr *c = ctr_by_cid(p, cid);
	bool ended = !c || pod_wait(p, has_exited, c, ms);
	pthread_mutex_unlock(&p->lock);
	return ended;
}

bool podvm_pod_dead(struct pod *p)
{
	pthread_mutex_lock(&p->lock);
	bool dead = p->dead;
	pthread_mutex_unlock(&p->lock);
	return dead;
}

/* ---- restart ---------------------------------------------------------------------- */

static bool nonce_seen(struct pod *p, void *arg)
{
	return p->pong_nonce && strcmp(p->pong_nonce, arg) == 0;
}

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = (*(struct pcmd *const *)a)->seq, y = (*(struct pcmd *const *)b)->seq;
	return x < y ? -1 : x > y;
}
/* A pod VM that had run and is paused now was paused by a checkpoint or a live migration
 * kumod died in (QEMU resumes a guest whose migration failed or was cancelled by itself;
 * one that completed stays paused). Handed over to
 * another node (the destination runs it), it ends here; else it goes on, and
 * podvm_snap_recovered RESUMEs its shares once the control channel is in sync. */
static void pod_unpause(struct pod *p, struct vmm_vm *vm)
{
	kumo_error_t err = NULL;
	if (vmm_vm_state(vm) != VMM_STATE_CREATED)
		return;
	if (p->handed_over) {
		log_warn("pod %.12s: its VM was handed over to another node by a live migration "
			 "kumod died in: it ends here", p->id);
		if (vmm_stop(vm, 0, &err) < 0)
			log_warn("pod %.12s: %s", p->id, kumo_error_msg(err));
	} else if (vmm_start(vm, &err) < 0) {
		log_warn("pod %.12s: its VM is paused and does not go on: %s", p->id,
			 kumo_error_msg(err));
	} else {
		log_warn("pod %.12s: its VM was left paused by a checkpoint or migration kumod died "
			 "in: it goes on", p->id);
	}
	kumo_error_free(&err);
}

/* Loads pod.json and the journal of run dir `dir`, re-attaches its VM, replays the
 * record file, and runs the restart procedure. */
static void pod_recover(struct podvms *pv, const char *dir)
{
	autofree char *path = xasprintf("%s/pod.json", dir);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	const char *pod_id = json_string_value(json_object_get(j, "pod_id"));
	if (!pod_id) {
		log_warn("pod VM state `%s`: %s", path, j ? "no pod_id" : je.text);
		json_decref(j);
		return;
	}
	struct pod *p = pod_new(pv, pod_id);
	p->next_seq = (uint64_t)json_integer_value(json_object_get(j, "next_seq"));
	p->log_off = (uint64_t)json_integer_value(json_object_get(j, "log_off"));
	p->handed_over = json_is_true(json_object_get(j, "handed_over"));
	{ /* log.offset is newer than pod.json's copy when it is larger */
		autofree char *op = xasprintf("%s/log.offset", dir);
		int fd = open(op, O_RDONLY | O_CLOEXEC);
		uint64_t v = 0;
		if (fd >= 0 && pread(fd, &v, sizeof(v), 0) == sizeof(v) && v > p->log_off)
			p->log_off = v;
		if (fd >= 0)
			close(fd);
	}
	p->saved_log_off = p->log_off;
	if (p->next_seq < 1)
		p->next_seq = 1;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "containers"), i, e) {
		struct pctr *c = xzalloc(sizeof(*c));
		snprintf(c->id, sizeof(c->id), "%s", json_string_value(json_object_get(e, "id")) ?: "");
		c->cid = (uint32_t)json_integer_value(json_object_get(e, "cid"));
		c->partial_off = UINT64_MAX;
		c->name = xstrdup(json_string_value(json_object_get(e, "name")) ?: "");
		const char *lp = json_string_value(json_object_get(e, "log_path"));
		c->log_path = lp ? xstrdup(lp) : NULL;
		c->start_seq = (uint64_t)json_integer_value(json_object_get(e, "start_seq"));
		c->stage_entry = xasprintf("%.40s-", c->id);
		json_t *ln = json_object_get(e, "listen");
		c->listen = xzalloc(sizeof(char *) * (json_array_size(ln) + 1));
		for (size_t k = 0; k < json_array_size(ln); k++)
			if (json_string_value(json_array_get(ln, k)))
				c->listen[c->nlisten++] = xstrdup(json_string_value(json_array_get(ln, k)));
		kumo_error_t lerr = NULL;
		if (c->log_path && vmm_crilog_open(c->log_path, NULL, &c->log, &lerr) < 0)
			log_warn("container %.12s: %s", c->id, kumo_error_msg(lerr));
		kumo_error_free(&lerr);
		c->next = p->ctrs;
		p->ctrs = c;
	}
	json_decref(j);
	/* The journal: commands sent and not acknowledged when kumod died. */
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "cmd-", 4) != 0)
			continue;
		autofree char *f = xasprintf("%s/%s", dir, de->d_name);
		struct pcmd *x = xzalloc(sizeof(*x));
		x->seq = strtoull(de->d_name + 4, NULL, 10);
		kumo_error_t rerr = NULL;
		if (kumo_read_file(f, KUMO_POD_BLOB_MAX + (64u << 20), &x->bytes, &x->len, &rerr) < 0) {
			log_warn("pod %.12s: %s", p->id, kumo_error_msg(rerr));
			kumo_error_free(&rerr);
			free(x);
			continue;
		}
		x->next = p->journal;
		p->journal = x;
	}
	if (d)
		closedir(d);
	struct vmm_vm *vm = NULL;
	kumo_error_t aerr = NULL;
	if (vmm_attach(pv->vmm, p->vm_name, &vm, &aerr) < 0) {
		log_warn("pod %.12s: %s", p->id, kumo_error_msg(aerr));
		kumo_error_free(&aerr);
		vm = NULL;
	}
	vm = vm ? vmm_lookup(pv->vmm, p->vm_name) : NULL;
	/* Replay the record file: states, and output not yet logged. */
	struct report *rep = NULL;
	size_t nrep = 0;
	pthread_mutex_lock(&p->lock);
	pod_pump(p, &rep, &nrep);
	struct kumo_exit_record ex;
	if (!vm || vmm_vm_exit(vm, &ex, NULL)) {
		autofree char *why = vm ? xasprintf("the pod VM ended while kumod was down (exit %u: "
						    "%s)", ex.status, ex.msg)
					: xstrdup("the pod VM was gone when kumod restarted");
		pod_died(p, why, &rep, &nrep);
	}
	pod_save_or_log(p);
	pthread_mutex_unlock(&p->lock);
	pod_report(NULL, rep, nrep); /* unstaged; cri asks every container's status after this */
	pod_list(pv, p);
	if (!vm) {
		log_info("pod %.12s: its VM %s is gone; its containers exited", p->id, p->vm_name);
		return;
	}
	if (!p->dead && vmm_vm_started(vm)) {
		/* QEMU goes on with a live migration whose kumod died: it ends here (the
		 * destination, which waits for the hand-over only this kumod writes, gives up). */
		autofree char *mst = NULL;
		kumo_error_t merr = NULL;
		if (vmm_migrate_cancel(vm, &mst, &merr) < 0)
			log_warn("pod %.12s: %s", p->id, kumo_error_msg(merr));
		else if (strcmp(mst, "none") != 0)
			log_warn("pod %.12s: a live migration kumod died in: `%s` now", p->id, mst);
		kumo_error_free(&merr);
		pod_unpause(p, vm);
	}
	pod_pump_start(pv, p);
	/* The restart procedure (kernel/pod_abi.h): reconnect, zeros, PING until in sync,
	 * resend what has no ACK. */
	uint64_t t0 = kumo_now_ns();
	kumo_error_t cerr = NULL;
	int pings = 0, resent = 0;
	if (!p->dead && pod_connect(p, &cerr) == 0) {
		char nonce[40];
		snprintf(nonce, sizeof(nonce), "%08x%016llx", (unsigned)getpid(),
			 (unsigned long long)kumo_now_ns());
		autofree char *js = xasprintf("{\"nonce\": \"%s\"}", nonce);
		static uint8_t zeros[KUMO_POD_SYNC_BYTES];
		bool synced = false;
		while (!synced && pings < 30 && !p->dead) {
			size_t len;
			uint8_t *m = pod_frame(KUMO_POD_MSG_PING, 0, 0, js, NULL, 0, &len);
			pthread_mutex_lock(&p->send_lock);
			int w = pod_write(p, zeros, sizeof(zeros), &cerr);
			if (w == 0)
				w = pod_write(p, m, len, &cerr);
			pthread_mutex_unlock(&p->send_lock);
			free(m);
			pings++;
			if (w < 0)
				break;
			pthread_mutex_lock(&p->lock);
			synced = pod_wait(p, nonce_seen, nonce, KUMO_POD_RESYNC_MS);
			pthread_mutex_unlock(&p->lock);
		}
		pthread_mutex_lock(&p->lock);
		size_t n = 0;
		for (struct pcmd *x = p->journal; x; x = x->next)
			n += !x->acked;
		struct pcmd **order = xzalloc(sizeof(*order) * (n + 1));
		n = 0;
		for (struct pcmd *x = p->journal; x; x = x->next)
			if (!x->acked)
				order[n++] = x;
		qsort(order, n, sizeof(*order), cmp_seq);
		for (size_t k = 0; synced && k < n; k++) {
			uint64_t seq = order[k]->seq;
			pthread_mutex_unlock(&p->lock);
			pthread_mutex_lock(&p->send_lock);
			int w = pod_write(p, order[k]->bytes, order[k]->len, &cerr);
			pthread_mutex_unlock(&p->send_lock);
			pthread_mutex_lock(&p->lock);
			if (w < 0)
				break;
			resent++;
			pod_wait(p, is_acked, &seq, POD_ACK_MS);
		}
		free(order);
		/* Acknowledged commands leave the journal (their ACKs were seen). */
		for (struct pcmd *x = p->journal, *next; x; x = next) {
			next = x->next;
			if (x->acked)
				journal_drop(p, x->seq);
		}
		pthread_mutex_unlock(&p->lock);
		if (!synced)
			log_warn("pod %.12s: control channel not in sync after %d PINGs", p->id, pings);
		else {
			podvm_snap_recovered(p); /* a checkpoint kumod died in leaves it quiesced */
			podvm_exec_reap_orphans(p); /* commands exec ran when kumod died */
		}
	}
	if (cerr)
		log_warn("pod %.12s: %s", p->id, kumo_error_msg(cerr));
	kumo_error_free(&cerr);
	log_info("pod %.12s: re-attached to VM %s, control channel in sync after %d PING(s), %d "
		 "command(s) resent, %.1f ms", p->id, p->vm_name, pings, resent,
		 (double)(kumo_now_ns() - t0) / 1e6);
	vmm_vm_put(vm);
}

int cri_podvms_new(const char *root, const char *accel, bool snapshot_start, struct cri_vms **out,
		   kumo_error_t *err)
{
	enum vmm_accel want = VMM_ACCEL_AUTO;
	if (accel && vmm_accel_parse(accel, &want, err) < 0)
		return -1;
	struct podvms *pv = xzalloc(sizeof(*pv));
	pv->root = xstrdup(root);
	pv->state_dir = xasprintf("%s/vms", root);
	pv->mounts_dir = xasprintf("%s/mounts", root);
	pv->snapshot_start = snapshot_start;
	pthread_mutex_init(&pv->lock, NULL);
	struct cri_vms *s = xzalloc(sizeof(*s));
	s->ops = &podvm_ops;
	s->priv = pv;
	pv->stage = s;
	if (cri_accel_choose(want, NULL, NULL, root, &pv->accel, err) < 0) {
		podvm_destroy(s);
		return kumo_error_wrap(err, "choose the VM accelerator");
	}
	if (pv->accel.fell_back)
		log_warn("%s: VMs run without hardware acceleration, slower", pv->accel.line);
	else
		log_info("%s", pv->accel.line);
	struct vmm_config vc = {.backend = VMM_BACKEND_QEMU, .on_event = on_vmm_event,
				.event_ctx = pv, .accel = pv->accel.accel,
				.state_dir = pv->state_dir};
	if (kumo_mkdir_p(pv->state_dir, 0700, err) < 0 || vmm_open(&vc, &pv->vmm, err) < 0) {
		podvm_destroy(s);
		return kumo_error_wrap(err, "open the qemu VM backend");
	}
	/* (the accelerator's line was logged once, above) */
	podvm_templates_init(pv);
	log_info("pods run as one VM each, their containers linked into its kernel (qemu)%s",
		 snapshot_start ? ", started from a snapshot of the pod kernel at READY" : "");
	DIR *d = opendir(pv->state_dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, POD_NAME_PREFIX, strlen(POD_NAME_PREFIX)) != 0)
			continue;
		autofree char *dir = xasprintf("%s/%s", pv->state_dir, e->d_name);
		pod_recover(pv, dir);
	}
	if (d)
		closedir(d);
	*out = s;
	return 0;
}
