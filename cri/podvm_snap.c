/* cri/podvm_snap.c - checkpoints and restores of pod VMs (issue 18): the kernel lets go of
 * its host shares (QUIESCE, kernel/pod_abi.h "Snapshots"), vmm saves the VM with QEMU's
 * migration stream, the kernel takes the shares up again (RESUME); a restore loads the
 * stream into a new QEMU with the same devices, the pod's shares staged again, and the
 * record pump goes on where the save cut it.
 *
 * Besides cri's records the archive carries this stage's own:
 *   podvm.json      {"version": 1, "pod_id", "next_seq": the seq after QUIESCE's,
 *                    "containers": [{"id", "cid", "name", "start_seq", "started",
 *                    "exited", "listen": [...]}]}: the kernel's containers by handle;
 *   podvm-com1.bin  the record-file bytes from the last whole record to the pause (a
 *                    record the save cut, usually empty): the new record file starts with
 *                    them and the restored guest writes the rest.
 * A restore renames: the container's staged directories carry their container's id, so
 * the restored pod (new ids) stages them under the new ones and RESUME's "rename" tells
 * the guest.
 *
 * A live migration (`kumo migrate`): the source's describe_only archive carries the
 * records and the machine without its state; the destination restores from it with
 * the state arriving over TCP (QEMU's pre-copy). The source QUIESCEs first (the 9p
 * shares cannot migrate while attached) and refuses other commands until the end; once
 * the destination has the whole state and the guest here is paused for good, the
 * source writes the hand-over file (MIGRATE_TAIL_MAGIC, then podvm.json as one line,
 * then the cut record's bytes) where the destination waits for it (the CLI's work
 * directory), then ends its VM. The destination loads that state and cut, adopts the
 * containers, runs the VM and RESUMEs it with its own NIC (the same address when its
 * network gave it: the guest's connections go on). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder.h"
#include "cri/podvm_impl.h"

#define SNAP_STATE "podvm.json"
#define SNAP_COM1 "podvm-com1.bin"
#define SNAP_STATE_VERSION 1
#define RESUME_KILL_MS 5000 /* a restored instance nobody adopted: KILL -> its EXIT */
#define MIGRATE_TAIL_MAGIC "kumo-migrate-tail 1\n"
#define MIGRATE_TAIL_WAIT_MS 60000 /* the state arrived: the source's hand-over follows */

static int64_t wall_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A snapshot command and its ACK checked (lock held); *ack (may be NULL) its JSON. */
static int snap_command(struct pod *p, uint16_t type, const char *json, char **ack,
			kumo_error_t *err)
{
	const char *name = type == KUMO_POD_MSG_QUIESCE ? "QUIESCE" : "RESUME";
	autofree char *a = NULL;
	if (pod_command(p, type, 0, json, NULL, 0, NULL, NULL, &a, err) < 0)
		return kumo_error_wrap(err, "%s", name);
	autofree char *e = pod_ack_error(a);
	if (e && strstr(e, "unknown command"))
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "the pod VM's kernel cannot %s (%s): it was booted from a kernel "
				  "without pod snapshots", name, e);
	if (e)
		return kumo_error(err, KUMO_E_INTERNAL, "the pod VM refused %s: %s", name, e);
	if (ack) {
		*ack = a;
		a = NULL;
	}
	return 0;
}

/* RESUME with the host's clock, the renames (a JSON array, may be NULL) and the NIC of
 * the pod a restore made (may be NULL); lock held. */
static int resume(struct pod *p, json_t *rename, json_t *net, char **ack, kumo_error_t *err)
{
	json_t *j = json_pack("{s:I}", "realtime_ns", (json_int_t)wall_now_ns());
	if (rename)
		json_object_set(j, "rename", rename);
	if (net)
		json_object_set(j, "net", net);
	autofree char *js = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return snap_command(p, KUMO_POD_MSG_RESUME, js, ack, err);
}

int podvm_cut_record(const char *path, uint64_t from, uint64_t end, uint8_t **out, size_t *len,
		      kumo_error_t *err)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", path);
	uint64_t at = from;
	while (at + sizeof(struct kumo_pod_rec) <= end) {
		struct kumo_pod_rec h;
		if (pread(fd, &h, sizeof(h), (off_t)at) != (ssize_t)sizeof(h))
			return kumo_error_errno(err, errno ? errno : EIO, "read `%s`", path);
		if (h.magic != KUMO_POD_REC_MAGIC || h.len > KUMO_POD_REC_MAX)
			return kumo_error(err, KUMO_E_INTERNAL,
					  "record file `%s` is broken at offset %llu", path,
					  (unsigned long long)at);
		if (at + sizeof(h) + h.len > end)
			break;
		at += sizeof(h) + h.len;
	}
	*len = (size_t)(end - at);
	*out = xmalloc(*len + 1);
	if (*len && pread(fd, *out, *len, (off_t)at) != (ssize_t)*len) {
		free(*out);
		*out = NULL;
		return kumo_error_errno(err, errno ? errno : EIO, "read `%s`", path);
	}
	return 0;
}

/* podvm.json of p (lock held). */
static char *state_json(struct pod *p)
{
	json_t *ctrs = json_array();
	for (struct pctr *c = p->ctrs; c; c = c->next) {
		if (!c->cid)
			continue; /* released: the kernel has it no more */
		json_t *ln = json_array();
		for (size_t i = 0; i < c->nlisten; i++)
			json_array_append_new(ln, json_string(c->listen[i]));
		json_array_append_new(ctrs, json_pack("{s:s, s:i, s:s, s:I, s:b, s:b, s:o}", "id", c->id,
						      "cid", (int)c->cid, "name", c->name, "start_seq",
						      (json_int_t)c->start_seq, "started", c->started,
						      "exited", c->exited, "listen", ln));
	}
	json_t *j = json_pack("{s:i, s:s, s:I, s:o}", "version", SNAP_STATE_VERSION, "pod_id", p->id,
			      "next_seq", (json_int_t)p->next_seq, "containers", ctrs);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* The archive at path: the snapshot directory snap, cri's records, this stage's. */
static int write_archive(const char *path, const char *snap, const char *kernel_id,
			 const struct cri_record *recs, size_t nrecs, const char *const *modules,
			 const char *state, const uint8_t *tail, size_t tail_len, uint64_t *size,
			 kumo_error_t *err)
{
	struct vmm_archive_record *ar = xzalloc((nrecs + 3) * sizeof(*ar));
	for (size_t i = 0; i < nrecs; i++)
		ar[i] = (struct vmm_archive_record){recs[i].name, recs[i].data, recs[i].len};
	ar[nrecs] = (struct vmm_archive_record){SNAP_STATE, state, strlen(state)};
	ar[nrecs + 1] = (struct vmm_archive_record){SNAP_COM1, tail, tail_len};
	struct vmm_archive_ids ids = {kernel_id, builder_compiler_id(), modules};
	int ret = vmm_archive_write(path, snap, &ids, ar, nrecs + 2, size, err);
	free(ar);
	return ret;
}

/* describe_only: the machine and the records, no state (a migration's first step). */
static int pod_describe(struct podvms *pv, struct pod *p, struct vmm_vm *vm, const char *path,
			const char *kernel_id, const struct cri_record *recs, size_t nrecs,
			const char *const *modules, kumo_error_t *err)
{
	autofree char *snap = xasprintf("%s/snapshot-%s-%lld", pv->state_dir, p->vm_name,
					(long long)wall_now_ns());
	pthread_mutex_lock(&p->lock);
	autofree char *state = state_json(p);
	pthread_mutex_unlock(&p->lock);
	uint64_t size = 0;
	int ret = vmm_snapshot_describe(vm, snap, err);
	if (ret == 0)
		ret = write_archive(path, snap, kernel_id, recs, nrecs, modules, state, NULL, 0,
				    &size, err);
	kumo_rm_tree(snap);
	if (ret < 0)
		return kumo_error_wrap(err, "describe pod `%.12s`", p->id);
	log_info("pod %.12s: described to `%s` for a live migration (%llu bytes, no state)", p->id,
		 path, (unsigned long long)size);
	return 0;
}

uint8_t *podvm_hand_over(const char *state, const uint8_t *cut, size_t cut_len, size_t *len)
{
	size_t ml = strlen(MIGRATE_TAIL_MAGIC), sl = strlen(state);
	*len = ml + sl + 1 + cut_len;
	uint8_t *buf = xmalloc(*len);
	memcpy(buf, MIGRATE_TAIL_MAGIC, ml);
	memcpy(buf + ml, state, sl);
	buf[ml + sl] = '\n';
	if (cut_len)
		memcpy(buf + ml + sl + 1, cut, cut_len);
	return buf;
}

int podvm_hand_over_parse(const uint8_t *buf, size_t len, const char *src_pod,
			  struct cri_record *state, const uint8_t **cut, size_t *cut_len,
			  kumo_error_t *err)
{
	size_t ml = strlen(MIGRATE_TAIL_MAGIC);
	const uint8_t *nl = len > ml ? memchr(buf + ml, '\n', len - ml) : NULL;
	if (len < ml || memcmp(buf, MIGRATE_TAIL_MAGIC, ml) != 0 || !nl)
		return kumo_error(err, KUMO_E_INVALID, "not a pod VM's migration hand-over");
	*state = (struct cri_record){SNAP_STATE, buf + ml, (size_t)(nl - (buf + ml))};
	json_t *j = json_loadb(state->data, state->len, 0, NULL);
	const char *id = json_string_value(json_object_get(j, "pod_id"));
	int ret = 0;
	if (!id || !src_pod || strcmp(id, src_pod) != 0)
		ret = kumo_error(err, KUMO_E_INVALID,
				 "the hand-over is of pod `%.12s`, the migration's is `%.12s`",
				 id ? id : "?", src_pod ? src_pod : "?");
	json_decref(j);
	*cut = nl + 1;
	*cut_len = len - (size_t)(nl + 1 - buf);
	return ret;
}

struct migrate_ctx {
	struct podvms *pv;
	struct pod *p;
	const char *tail_path;
	size_t cut_len;
};

/* vmm_migrate's last step: the destination has the whole state, the guest here is
 * paused for good. Every record it wrote before the pause is parsed here; the hand-over
 * file carries the kernel's containers and command number, and the record the pause cut. */
static int migrate_completed(void *arg, const struct vmm_snapshot_stats *st, kumo_error_t *err)
{
	struct migrate_ctx *m = arg;
	struct pod *p = m->p;
	struct report *rep = NULL;
	size_t nrep = 0;
	pthread_mutex_lock(&p->lock);
	pod_pump(p, &rep, &nrep);
	uint64_t boundary = p->rec_off - p->pending_len;
	autofree char *state = state_json(p);
	pthread_mutex_unlock(&p->lock);
	pod_report(m->pv, rep, nrep);
	autofree uint8_t *cut = NULL;
	size_t cut_len = 0;
	if (podvm_cut_record(p->rec_path, boundary, st->com1_bytes, &cut, &cut_len, err) < 0)
		return -1;
	size_t len = 0;
	autofree uint8_t *buf = podvm_hand_over(state, cut, cut_len, &len);
	m->cut_len = cut_len;
	/* Recorded first: a kumod killed from here on ends this copy when it comes back
	 * (the destination may have taken it); before, it resumes it. */
	pthread_mutex_lock(&p->lock);
	p->handed_over = true;
	int rc = pod_save(p, err);
	pthread_mutex_unlock(&p->lock);
	if (rc == 0 && kumo_write_file_replace(m->tail_path, buf, len, 0600, err) == 0)
		return 0;
	pthread_mutex_lock(&p->lock);
	p->handed_over = false;
	pod_save_or_log(p);
	pthread_mutex_unlock(&p->lock);
	return kumo_error_wrap(err, "hand the record stream over");
}

/* migrate_to: the VM goes live to the destination restoring with incoming; tail_path
 * is where that destination waits for the hand-over. */
static int pod_migrate(struct podvms *pv, struct pod *p, struct vmm_vm *vm,
		       const struct cri_checkpoint_opts *o, const char *tail_path,
		       kumo_error_t *err)
{
	if (!tail_path || tail_path[0] != '/')
		return kumo_error(err, KUMO_E_INVALID,
				  "a pod VM's live migration needs output_path: the absolute path "
				  "where the destination reads the source's hand-over (`kumo migrate` "
				  "gives it)");
	uint64_t t0 = kumo_now_ns();
	autofree char *qack = NULL, *rack = NULL;
	pthread_mutex_lock(&p->lock);
	int ret = 0;
	if (p->dead || p->restoring || p->migrating)
		ret = kumo_error(err, KUMO_E_PRECONDITION, "pod `%.12s`: its VM is %s", p->id,
				 p->dead ? "not running" : p->restoring ? "being restored"
									 : "migrating already");
	/* QEMU 7.2 refuses to migrate attached 9p shares: the kernel lets them go, and the
	 * pod takes no other command until the end (a command caught in the last round
	 * would be lost between the two VMs). */
	if (ret == 0)
		ret = snap_command(p, KUMO_POD_MSG_QUIESCE, NULL, &qack, err);
	if (ret == 0)
		p->migrating = true;
	pthread_mutex_unlock(&p->lock);
	if (ret < 0)
		return kumo_error_wrap(err, "migrate pod `%.12s`", p->id);
	uint64_t t_quiet = kumo_now_ns();
	struct migrate_ctx m = {pv, p, tail_path, 0};
	struct vmm_migrate_opts mo = {o->max_bandwidth, migrate_completed, &m};
	struct vmm_snapshot_stats st = {0};
	ret = vmm_migrate(vm, o->migrate_to, &mo, &st, err);
	pthread_mutex_lock(&p->lock);
	p->migrating = false;
	int rrc = 0;
	kumo_error_t rerr = NULL;
	if (ret < 0 && !p->dead) /* the pod goes on here: its shares come back */
		rrc = resume(p, NULL, NULL, &rack, &rerr);
	pthread_mutex_unlock(&p->lock);
	if (ret < 0) {
		if (rrc < 0)
			log_error("pod %.12s: after a failed migration: %s", p->id, kumo_error_msg(rerr));
		kumo_error_free(&rerr);
		return kumo_error_wrap(err, "migrate pod `%.12s`", p->id);
	}
	log_info("pod %.12s: migrated live to `%s` (QUIESCE %s, %.1f ms; %llu bytes sent in "
		 "%.1f ms, guest paused %.1f ms by QEMU; %zu-byte cut record handed over in `%s`; "
		 "%.1f ms in all)", p->id, o->migrate_to, qack, (double)(t_quiet - t0) / 1e6,
		 (unsigned long long)st.stream_bytes, (double)st.save_ns / 1e6,
		 (double)st.paused_ns / 1e6, m.cut_len, tail_path,
		 (double)(kumo_now_ns() - t0) / 1e6);
	return 0;
}

int podvm_pod_checkpoint(struct cri_vms *s, const char *pod_id, const char *path,
			 const struct cri_checkpoint_opts *o, const struct cri_record *recs,
			 size_t nrecs, const char *const *modules, kumo_error_t *err)
{
	struct podvms *pv = s->priv;
	struct pod *p = pod_find(pv, pod_id);
	struct vmm_vm *vm = p ? vmm_lookup(pv->vmm, p->vm_name) : NULL;
	if (!vm)
		return kumo_error(err, KUMO_E_NOT_FOUND, "pod `%.12s` has no VM", pod_id);
	char kernel_id[KUMO_DIGEST_BUF];
	if (builder_kernel_id(kernel_id, err) < 0) {
		vmm_vm_put(vm);
		return -1;
	}
	if (o->migrate_to || o->describe_only) {
		int rc = o->migrate_to ? pod_migrate(pv, p, vm, o, path, err)
				       : pod_describe(pv, p, vm, path, kernel_id, recs, nrecs,
						      modules, err);
		vmm_vm_put(vm);
		return rc;
	}
	uint64_t t0 = kumo_now_ns();
	autofree char *qack = NULL, *state = NULL, *rack = NULL;
	pthread_mutex_lock(&p->lock);
	int ret = 0;
	if (p->dead || p->restoring || p->migrating)
		ret = kumo_error(err, KUMO_E_PRECONDITION, "pod `%.12s`: its VM is %s", pod_id,
				 p->dead ? "not running" : p->restoring ? "being restored"
									 : "migrating");
	if (ret == 0)
		ret = snap_command(p, KUMO_POD_MSG_QUIESCE, NULL, &qack, err);
	/* Everything up to QUIESCE's ACK is parsed: a record boundary the save cannot be
	 * before. */
	uint64_t boundary = p->rec_off - p->pending_len;
	if (ret == 0)
		state = state_json(p);
	pthread_mutex_unlock(&p->lock);
	if (ret < 0) {
		vmm_vm_put(vm);
		return kumo_error_wrap(err, "pod `%.12s`", pod_id);
	}
	uint64_t t_quiet = kumo_now_ns();
	/* The snapshot directory sits beside the run directories (same file system: the
	 * kernel image is linked, not copied) only until the archive is written. */
	autofree char *snap = xasprintf("%s/snapshot-%s-%lld", pv->state_dir, p->vm_name,
					(long long)wall_now_ns());
	struct vmm_snapshot_stats st = {0};
	ret = vmm_checkpoint(vm, snap, o->leave_running, &st, err);
	bool running = vmm_vm_state(vm) == VMM_STATE_RUNNING;
	vmm_vm_put(vm);
	autofree uint8_t *tail = NULL;
	size_t tail_len = 0;
	uint64_t size = 0, t_saved = kumo_now_ns();
	if (ret == 0)
		ret = podvm_cut_record(p->rec_path, boundary, st.com1_bytes, &tail, &tail_len, err);
	if (ret == 0)
		ret = write_archive(path, snap, kernel_id, recs, nrecs, modules, state, tail,
				    tail_len, &size, err);
	kumo_rm_tree(snap);
	/* The pod goes on (asked to, or the save failed): its shares come back. */
	int rrc = 0;
	kumo_error_t rerr = NULL;
	if (running) {
		pthread_mutex_lock(&p->lock);
		rrc = resume(p, NULL, NULL, &rack, &rerr);
		pthread_mutex_unlock(&p->lock);
	}
	if (ret < 0) {
		if (rrc < 0)
			log_error("pod %.12s: after a failed checkpoint: %s", pod_id, kumo_error_msg(rerr));
		kumo_error_free(&rerr);
		return kumo_error_wrap(err, "checkpoint pod `%.12s`", pod_id);
	}
	if (rrc < 0) {
		*err = rerr;
		return kumo_error_wrap(err, "pod `%.12s` was checkpointed to `%s` but cannot go on",
				       pod_id, path);
	}
	log_info("pod %.12s: checkpointed to `%s` (%llu bytes; QUIESCE %s, %.1f ms; guest paused "
		 "%.1f ms, stream %llu bytes; %zu-byte cut record; archive %.1f ms)%s%s", pod_id,
		 path, (unsigned long long)size, qack, (double)(t_quiet - t0) / 1e6,
		 (double)st.paused_ns / 1e6, (unsigned long long)st.stream_bytes, tail_len,
		 (double)(kumo_now_ns() - t_saved) / 1e6, running ? "; RESUME " : ", VM stopped",
		 running ? rack : "");
	return 0;
}

void podvm_snap_recovered(struct pod *p)
{
	autofree char *ack = NULL;
	kumo_error_t err = NULL;
	pthread_mutex_lock(&p->lock);
	int rc = p->dead || p->restoring ? 0 : resume(p, NULL, NULL, &ack, &err);
	pthread_mutex_unlock(&p->lock);
	if (rc < 0)
		log_warn("pod %.12s: RESUME after the restart: %s", p->id, kumo_error_msg(err));
	else if (ack && !strstr(ack, "\"shares\": 0,"))
		log_warn("pod %.12s: it was left quiesced by a checkpoint kumod died in: resumed (%s)",
			 p->id, ack);
	kumo_error_free(&err);
}

/* ---- restore ------------------------------------------------------------------------ */

static const struct cri_record *record_of(const struct cri_pod_restore *r, const char *name)
{
	for (size_t i = 0; i < r->nrecs; i++)
		if (strcmp(r->recs[i].name, name) == 0)
			return &r->recs[i];
	return NULL;
}

/* The containers of podvm.json into p (restored, waiting to be adopted); next_seq. */
static int load_state(struct pod *p, const struct cri_record *rec, kumo_error_t *err)
{
	json_error_t je;
	json_t *j = json_loadb(rec->data, rec->len, 0, &je);
	if (!j)
		return kumo_error(err, KUMO_E_INVALID, "record `%s`: %s", SNAP_STATE, je.text);
	int ret = 0;
	json_int_t version = json_integer_value(json_object_get(j, "version"));
	json_int_t next = json_integer_value(json_object_get(j, "next_seq"));
	json_t *ctrs = json_object_get(j, "containers");
	if (version != SNAP_STATE_VERSION)
		ret = kumo_error(err, KUMO_E_UNSUPPORTED,
				 "record `%s` has version %lld, this kumo reads version %d", SNAP_STATE,
				 (long long)version, SNAP_STATE_VERSION);
	else if (next < 1 || !json_is_array(ctrs))
		ret = kumo_error(err, KUMO_E_INVALID, "record `%s` is incomplete", SNAP_STATE);
	size_t i;
	json_t *e;
	json_array_foreach(ctrs, i, e) {
		if (ret < 0)
			break;
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *name = json_string_value(json_object_get(e, "name"));
		json_int_t cid = json_integer_value(json_object_get(e, "cid"));
		json_t *ln = json_object_get(e, "listen");
		if (!id || !name || cid < 1 || cid > KUMO_POD_MAX_CID) {
			ret = kumo_error(err, KUMO_E_INVALID, "record `%s`: container %zu is incomplete",
					 SNAP_STATE, i);
			break;
		}
		struct pctr *c = xzalloc(sizeof(*c));
		snprintf(c->id, sizeof(c->id), "%s", id);
		c->cid = (uint32_t)cid;
		c->name = xstrdup(name);
		c->partial_off = UINT64_MAX;
		c->start_seq = (uint64_t)json_integer_value(json_object_get(e, "start_seq"));
		c->started = json_is_true(json_object_get(e, "started"));
		c->exited = json_is_true(json_object_get(e, "exited"));
		c->restored = true;
		c->listen = xzalloc(sizeof(char *) * (json_array_size(ln) + 1));
		for (size_t k = 0; k < json_array_size(ln); k++)
			if (json_string_value(json_array_get(ln, k)))
				c->listen[c->nlisten++] = xstrdup(json_string_value(json_array_get(ln, k)));
		c->next = p->ctrs;
		p->ctrs = c;
	}
	p->next_seq = (uint64_t)next;
	json_decref(j);
	return ret;
}

/* The source's hand-over (migrate_completed) at path, once it is there: podvm.json
 * into *state (a record over *buf) and the cut record appended to p's record file. */
static int take_hand_over(struct pod *p, const char *path, const char *src_pod,
			  struct cri_record *state, uint8_t **buf, kumo_error_t *err)
{
	uint64_t deadline = kumo_now_ns() + (uint64_t)MIGRATE_TAIL_WAIT_MS * 1000000;
	size_t len = 0;
	while (access(path, F_OK) != 0) {
		if (kumo_now_ns() > deadline)
			return kumo_error(err, KUMO_E_IO,
					  "the state arrived but the source's hand-over `%s` did not "
					  "within %d s: the source keeps the pod", path,
					  MIGRATE_TAIL_WAIT_MS / 1000);
		usleep(1000);
	}
	if (kumo_read_file(path, 8u << 20, buf, &len, err) < 0)
		return -1;
	const uint8_t *cut_bytes;
	size_t cut;
	if (podvm_hand_over_parse(*buf, len, src_pod, state, &cut_bytes, &cut, err) < 0)
		return kumo_error_wrap(err, "`%s`", path);
	autoclose int fd = open(p->rec_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", p->rec_path);
	if (cut && write(fd, cut_bytes, cut) != (ssize_t)cut)
		return kumo_error_errno(err, errno ? errno : EIO, "write `%s`", p->rec_path);
	return 0;
}

/* The source pod's id in podvm.json. */
static char *state_pod_id(const struct cri_record *rec)
{
	json_t *j = json_loadb(rec->data, rec->len, 0, NULL);
	const char *id = json_string_value(json_object_get(j, "pod_id"));
	char *s = id ? xstrdup(id) : NULL;
	json_decref(j);
	return s;
}

int podvm_restore_vm(struct podvms *pv, const struct cri_pod_vm_spec *spec, kumo_error_t *err)
{
	const struct cri_pod_restore *r = spec->restore;
	const struct cri_record *srec = record_of(r, SNAP_STATE), *tail = record_of(r, SNAP_COM1);
	if (!srec)
		return kumo_error(err, KUMO_E_INVALID,
				  "the archive has no record `%s`: it is not a pod VM's", SNAP_STATE);
	struct pod *p = pod_new(pv, spec->id);
	uint64_t t0 = kumo_now_ns();
	struct vmm_vm *vm = NULL;
	struct vmm_snapshot_stats st = {0};
	autofree uint8_t *hand = NULL;
	autofree char *src_pod = r->incoming ? state_pod_id(srec) : NULL;
	struct cri_record live = {0};
	/* A migration's state is the source's at its last pause, which the hand-over
	 * describes: the archive's podvm.json is older. */
	if (!r->incoming && load_state(p, srec, err) < 0)
		goto fail;
	p->ready = true; /* READY came long ago, in the saved boot */
	p->restoring = true;
	p->restore_net = spec->nic ? pod_net_json(spec) : NULL;
	if (pod_restore_into(pv, p, spec, r->dir, r->incoming ? NULL : tail, &vm, &st, err) < 0)
		goto fail;
	if (r->incoming) {
		/* The guest stays paused until pod_resume: nothing else writes its record
		 * file before the cut record goes in. */
		int rc = take_hand_over(p, r->incoming_tail, src_pod, &live, &hand, err);
		pthread_mutex_lock(&p->lock);
		if (rc == 0)
			rc = load_state(p, &live, err);
		if (rc == 0)
			pod_save_or_log(p);
		pthread_mutex_unlock(&p->lock);
		if (rc < 0) {
			pod_unlist(pv, p);
			goto fail;
		}
	}
	size_t n = 0;
	for (struct pctr *c = p->ctrs; c; c = c->next)
		n++;
	log_info("pod %.12s: VM %s restored from `%s`%s (%zu containers in it; stream %llu bytes "
		 "loaded in %.1f ms, %.1f ms in all), paused until its containers are adopted",
		 p->id, p->vm_name, r->dir, r->incoming ? " and a live migration" : "", n,
		 (unsigned long long)st.stream_bytes,
		 (double)st.save_ns / 1e6, (double)(kumo_now_ns() - t0) / 1e6);
	return 0;
fail:
	vmm_remove(pv->vmm, p->vm_name, NULL);
	vmm_stage_unbind(p->stage_dir, NULL, NULL);
	vmm_stage_remove(p->stage_dir);
	pod_free(p);
	return kumo_error_wrap(err, "restore the pod VM");
}

int podvm_adopt(struct pod *p, const struct cri_container_spec *spec, const char *stage_entry,
		kumo_error_t *err)
{
	pthread_mutex_lock(&p->lock);
	struct pctr *c = NULL;
	int ret = 0;
	if (!p->restoring)
		ret = kumo_error(err, KUMO_E_PRECONDITION,
				 "pod `%.12s` is not being restored: a snapshot's container goes into a "
				 "pod restored from the same archive (RestorePod)", spec->pod_id);
	for (struct pctr *x = p->ctrs; ret == 0 && x && !c; x = x->next)
		if (x->restored && strcmp(x->name, spec->name) == 0)
			c = x;
	if (ret == 0 && !c)
		ret = kumo_error(err, KUMO_E_NOT_FOUND,
				 "the restored pod VM has no container `%s` left to adopt", spec->name);
	if (ret == 0 && spec->log_path && *spec->log_path) {
		autofree char *dir = xstrdup(spec->log_path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			ret = kumo_mkdir_p(dir, 0755, err);
		}
		if (ret == 0 && vmm_crilog_open(spec->log_path, NULL, &c->log, err) < 0)
			ret = -1;
	}
	if (ret == 0) {
		snprintf(c->old_key, sizeof(c->old_key), "%.40s", c->id);
		snprintf(c->id, sizeof(c->id), "%s", spec->id);
		c->restored = false;
		c->log_path = spec->log_path && *spec->log_path ? xstrdup(spec->log_path) : NULL;
		c->stage_entry = stage_entry ? xstrdup(stage_entry) : NULL;
		c->skip_start = c->start_seq && !c->exited;
		pod_save_or_log(p);
		log_info("container %.12s: adopts cid %u (`%s`, checkpointed as %.12s) in restored "
			 "pod VM %s%s", c->id, c->cid, c->name, c->old_key, p->vm_name,
			 c->skip_start ? ", running" : "");
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int podvm_adopt_as(struct pod *p, const char *name, kumo_error_t *err)
{
	pthread_mutex_lock(&p->lock);
	struct pctr *run = NULL;
	size_t n = 0;
	for (struct pctr *c = p->ctrs; c; c = c->next)
		if (c->restored && c->start_seq && !c->exited) {
			run = c;
			n++;
		}
	int ret = 0;
	if (n != 1)
		ret = kumo_error(err, KUMO_E_PRECONDITION,
				 "the snapshot's pod VM runs %zu containers, not one: restore the "
				 "whole pod with RestorePod (`kumo restore`)", n);
	for (struct pctr *c = p->ctrs; ret == 0 && name && c; c = c->next) {
		if (!c->restored || c == run || strcmp(c->name, name) != 0)
			continue;
		char *other = xasprintf("%s (not restored)", c->name);
		free(c->name);
		c->name = other;
	}
	if (ret == 0 && name) {
		log_info("pod %.12s: cid %u (`%s`) of the snapshot is adopted as `%s`", p->id, run->cid,
			 run->name, name);
		char *nm = xstrdup(name);
		free(run->name);
		run->name = nm;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static bool exited_pred(struct pod *p, void *arg)
{
	(void)p;
	return ((struct pctr *)arg)->exited;
}

/* Removes from the VM (lock held) a container of the archive no CRI container adopted. */
static void drop_unadopted(struct pod *p, struct pctr *c)
{
	kumo_error_t err = NULL;
	if (c->start_seq && !c->exited) {
		if (pod_command(p, KUMO_POD_MSG_KILL, c->cid, NULL, NULL, 0, NULL, NULL, NULL, &err) == 0)
			pod_wait(p, exited_pred, c, RESUME_KILL_MS);
		kumo_error_free(&err);
	}
	autofree char *ack = NULL;
	if (pod_command(p, KUMO_POD_MSG_REMOVE, c->cid, NULL, NULL, 0, NULL, NULL, &ack, &err) < 0)
		log_warn("pod %.12s: remove restored cid %u: %s", p->id, c->cid, kumo_error_msg(err));
	kumo_error_free(&err);
	log_info("pod %.12s: cid %u (`%s`) of the archive was not restored: removed from the VM",
		 p->id, c->cid, c->name);
}

int podvm_pod_resume(struct cri_vms *s, const char *pod_id, kumo_error_t *err)
{
	struct podvms *pv = s->priv;
	struct pod *p = pod_find(pv, pod_id);
	if (!p)
		return kumo_error(err, KUMO_E_NOT_FOUND, "pod `%.12s` has no VM", pod_id);
	pthread_mutex_lock(&p->lock);
	bool restoring = p->restoring;
	pthread_mutex_unlock(&p->lock);
	if (!restoring)
		return 0;
	uint64_t t0 = kumo_now_ns();
	struct vmm_vm *vm = vmm_lookup(pv->vmm, p->vm_name);
	int ret = vm ? vmm_start(vm, err) : kumo_error(err, KUMO_E_NOT_FOUND, "no VM %s", p->vm_name);
	if (vm)
		vmm_vm_put(vm);
	if (ret == 0)
		ret = pod_connect(p, err);
	if (ret == 0) {
		/* A command another thread had half-sent when the VM was saved would leave the
		 * kernel expecting the rest: zeros end it (pod_abi.h's restart procedure). */
		static const uint8_t zeros[KUMO_POD_SYNC_BYTES];
		pthread_mutex_lock(&p->send_lock);
		ret = pod_write(p, zeros, sizeof(zeros), err);
		pthread_mutex_unlock(&p->send_lock);
	}
	autofree char *ack = NULL;
	pthread_mutex_lock(&p->lock);
	if (ret == 0) {
		json_t *rename = json_array();
		for (struct pctr *c = p->ctrs; c; c = c->next)
			if (c->old_key[0]) {
				autofree char *from = xasprintf("%s-", c->old_key);
				autofree char *to = xasprintf("%.40s-", c->id);
				json_array_append_new(rename, json_pack("[s, s]", from, to));
			}
		/* The guest knew the checkpointed pod's address and MAC: it takes this pod's
		 * (the same address when it was free; its connections go on then). */
		ret = resume(p, rename, p->restore_net, &ack, err);
		json_decref(rename);
	}
	for (struct pctr **pp = &p->ctrs; ret == 0 && *pp;) {
		struct pctr *c = *pp;
		if (!c->restored) {
			pp = &c->next;
			continue;
		}
		drop_unadopted(p, c);
		*pp = c->next;
		pctr_free(c);
	}
	if (ret == 0) {
		p->restoring = false;
		json_decref(p->restore_net);
		p->restore_net = NULL;
		pod_save_or_log(p);
	}
	pthread_mutex_unlock(&p->lock);
	if (ret < 0)
		return kumo_error_wrap(err, "resume restored pod VM %s", p->vm_name);
	log_info("pod %.12s: restored VM %s runs (RESUME %s, %.1f ms)", pod_id, p->vm_name, ack,
		 (double)(kumo_now_ns() - t0) / 1e6);
	return 0;
}
