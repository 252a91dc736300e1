/* vmm/snapshot.c - a VM's whole state saved with QEMU's migration stream into a
 * snapshot directory, and a VM created from one (vmm.h "Snapshots"). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm_backend.h"

/* Copies src to dst; may_link: a hard link when both are on one file system (for files
 * nobody writes again: the cached kernel image, an initrd replaced by rename). */
static int copy_file(const char *src, const char *dst, bool may_link, kumo_error_t *err)
{
	if (may_link && link(src, dst) == 0)
		return 0;
	autoclose int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return kumo_error_errno(err, errno, "open `%s`", src);
	autoclose int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return kumo_error_errno(err, errno, "create `%s`", dst);
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return kumo_error_errno(err, errno, "read `%s`", src);
		if (n == 0)
			return 0;
		if (kumo_write_all(out, buf, (size_t)n) < 0)
			return kumo_error_errno(err, errno, "write `%s`", dst);
	}
}

static char *mac_str(const uint8_t m[6])
{
	return xasprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

const char *vmm_conn_qemu_version(struct vmm *vmm)
{
	pthread_mutex_lock(&vmm->lock);
	bool known = vmm->qemu_version[0] != 0;
	pthread_mutex_unlock(&vmm->lock);
	if (!known) { /* `qemu --version` costs a process: once per connection */
		char v[sizeof(vmm->qemu_version)];
		vmm_qemu_version(vmm->qemu_binary, v, sizeof(v));
		pthread_mutex_lock(&vmm->lock);
		memcpy(vmm->qemu_version, v, sizeof(v));
		pthread_mutex_unlock(&vmm->lock);
	}
	return vmm->qemu_version;
}

/* vm.json of a snapshot: what a restore needs to build the same machine. */
static int write_vm_json(struct vmm_vm *vm, const char *dir, kumo_error_t *err)
{
	const struct vmm_spec *s = &vm->spec;
	const char *qemu = vmm_conn_qemu_version(vm->vmm);
	json_t *j = json_pack("{s:i, s:s, s:i, s:i, s:s, s:s, s:s, s:b}", "version",
			      VMM_SNAPSHOT_VM_VERSION, "name", s->name, "memory_mib",
			      (int)s->memory_mib, "vcpus", (int)s->vcpus, "cmdline",
			      s->cmdline ? s->cmdline : "", "accel", vmm_accel_name(vm->vmm), "qemu",
			      qemu, "control_channel", s->control_socket != NULL);
	if (s->net) {
		autofree char *mac = mac_str(s->net->mac);
		json_object_set_new(j, "mac", json_string(mac));
	}
	json_t *sh = json_array();
	for (size_t i = 0; i < s->nshares; i++)
		json_array_append_new(sh, json_pack("{s:s, s:s, s:b}", "tag", s->shares[i].tag,
						    "host_path", s->shares[i].host_path, "readonly",
						    s->shares[i].readonly));
	json_object_set_new(j, "shares", sh);
	autofree char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(j);
	autofree char *path = xasprintf("%s/" VMM_SNAPSHOT_VM, dir);
	return kumo_write_file_replace(path, text, strlen(text), 0600, err);
}

/* Everything of a snapshot but the stream. */
static int describe(struct vmm_vm *vm, const char *dir, kumo_error_t *err)
{
	autofree char *com3 = xasprintf("%s/%s", vm->spec.run_dir, VMM_RAW_EXIT);
	autofree char *log = xasprintf("%s/" VMM_SNAPSHOT_KERNEL_LOG, dir);
	autofree char *kernel = xasprintf("%s/" VMM_SNAPSHOT_KERNEL, dir);
	autofree char *initrd = xasprintf("%s/" VMM_SNAPSHOT_INITRD, dir);
	unlink(log);
	int rc = copy_file(com3, log, false, err); /* QEMU appends to it */
	if (rc == 0 && access(kernel, F_OK) != 0)
		rc = copy_file(vm->spec.kernel, kernel, true, err);
	if (rc == 0 && vm->spec.initrd && access(initrd, F_OK) != 0)
		rc = copy_file(vm->spec.initrd, initrd, true, err);
	if (rc == 0)
		rc = write_vm_json(vm, dir, err);
	return rc;
}

int vmm_snapshot_describe(struct vmm_vm *vm, const char *dir, kumo_error_t *err)
{
	vmm_conn_qemu_version(vm->vmm);
	if (kumo_mkdir_p(dir, 0700, err) < 0 || describe(vm, dir, err) < 0)
		return kumo_error_wrap(err, "describe vm `%s`", vm->spec.name);
	return 0;
}

/* The bytes in vm's COM1 file (its run directory's VMM_RAW_STDOUT), 0 when none. */
static uint64_t com1_length(struct vmm_vm *vm)
{
	autofree char *com1 = xasprintf("%s/%s", vm->spec.run_dir, VMM_RAW_STDOUT);
	struct stat c1;
	return stat(com1, &c1) == 0 ? (uint64_t)c1.st_size : 0;
}

int vmm_migrate(struct vmm_vm *vm, const char *uri, const struct vmm_migrate_opts *o,
		struct vmm_snapshot_stats *st, kumo_error_t *err)
{
	struct vmm *vmm = vm->vmm;
	const char *name = vm->spec.name;
	struct vmm_snapshot_stats local = {0};
	static const struct vmm_migrate_opts none = {0};
	if (!st)
		st = &local;
	if (!o)
		o = &none;
	memset(st, 0, sizeof(*st));
	if (!vmm->ops->migrate)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "migrate vm `%s`: the %s backend cannot migrate a vm (use the qemu "
				  "backend)", name, vmm->ops->name);
	if (vmm_vm_state(vm) != VMM_STATE_RUNNING)
		return kumo_error(err, KUMO_E_PRECONDITION, "migrate vm `%s`: it is not running", name);
	int rc = vmm->ops->migrate(vm, uri, o->max_bandwidth, st, err);
	if (rc == 0) {
		/* Paused for good: COM1 holds everything the guest wrote here. */
		st->com1_bytes = com1_length(vm);
		if (o->completed && o->completed(o->ctx, st, err) < 0) {
			kumo_error_wrap(err, "migrate vm `%s`: after the state was sent", name);
			rc = -1;
		}
	}
	if (rc < 0) {
		/* QEMU resumes a guest it paused for a round that failed; make sure. */
		kumo_error_t rerr = NULL;
		if (vmm->ops->save_end(vm, true, &rerr) < 0)
			log_debug("vmm: vm `%s`: resume after a failed migration: %s", name,
				  kumo_error_msg(rerr));
		kumo_error_free(&rerr);
		if ((*err)->msg && strstr((*err)->msg, "VirtFS")) {
			kumo_error_t qerr = *err;
			*err = NULL;
			kumo_error(err, KUMO_E_PRECONDITION,
				   "migrate vm `%s`: the guest has a host share mounted, which QEMU "
				   "cannot migrate (%s)", name, qerr->msg);
			kumo_error_free(&qerr);
			return -1;
		}
		return kumo_error_wrap(err, "migrate vm `%s` to `%s` (it goes on running here)", name,
				       uri);
	}
	/* The destination runs it now: this copy stays paused until it is destroyed. */
	if (vmm_stop(vm, 0, err) < 0)
		return kumo_error_wrap(err, "migrate vm `%s`: end the source", name);
	return 0;
}

int vmm_migrate_cancel(struct vmm_vm *vm, char **status, kumo_error_t *err)
{
	autofree char *st = NULL;
	if (vm->vmm->ops->migrate_cancel && vm->vmm->ops->migrate_cancel(vm, &st, err) < 0)
		return kumo_error_wrap(err, "vm `%s`: cancel its migration", vm->spec.name);
	if (status)
		*status = xstrdup(st ? st : "none");
	return 0;
}

int vmm_checkpoint(struct vmm_vm *vm, const char *dir, bool leave_running,
		   struct vmm_snapshot_stats *st, kumo_error_t *err)
{
	struct vmm *vmm = vm->vmm;
	const char *name = vm->spec.name;
	struct vmm_snapshot_stats local = {0};
	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!vmm->ops->save)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "checkpoint vm `%s`: the %s backend cannot save a vm's state (use "
				  "the qemu backend)", name, vmm->ops->name);
	enum vmm_state state = vmm_vm_state(vm);
	if (state != VMM_STATE_RUNNING)
		return kumo_error(err, KUMO_E_PRECONDITION,
				  "checkpoint vm `%s`: it is not running (state %d)", name, (int)state);
	if (kumo_mkdir_p(dir, 0700, err) < 0)
		return kumo_error_wrap(err, "checkpoint vm `%s`", name);
	autofree char *state_path = xasprintf("%s/" VMM_SNAPSHOT_STATE, dir);
	autoclose int fd = open(state_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return kumo_error_errno(err, errno, "checkpoint vm `%s`: create `%s`", name,
					state_path);
	vmm_conn_qemu_version(vmm); /* asked before the pause, not during it */
	uint64_t t0 = kumo_now_ns();
	if (vmm->ops->save(vm, fd, err) < 0) {
		kumo_error_t rerr = NULL;
		if (vmm->ops->save_end(vm, true, &rerr) < 0)
			log_warn("vmm: vm `%s`: resume after a failed checkpoint: %s", name,
				 kumo_error_msg(rerr));
		kumo_error_free(&rerr);
		unlink(state_path);
		if ((*err)->msg && strstr((*err)->msg, "VirtFS")) {
			/* QEMU 7.2 blocks migration while the guest holds a 9p attach fid. */
			kumo_error_t qerr = *err;
			*err = NULL;
			kumo_error(err, KUMO_E_PRECONDITION,
				   "checkpoint vm `%s`: the guest has a host share mounted, which "
				   "QEMU cannot migrate (%s)", name, qerr->msg);
			kumo_error_free(&qerr);
			return -1;
		}
		return kumo_error_wrap(err, "checkpoint vm `%s`", name);
	}
	uint64_t t_saved = kumo_now_ns();
	/* The guest is paused: COM3 holds everything it wrote before the pause, COM1 too. */
	st->com1_bytes = com1_length(vm);
	int rc = describe(vm, dir, err);
	bool resume = leave_running || rc < 0;
	kumo_error_t rerr = NULL;
	if (vmm->ops->save_end(vm, resume, &rerr) < 0) {
		if (rc == 0) {
			*err = rerr;
			rerr = NULL;
			rc = -1;
		}
		kumo_error_free(&rerr);
	}
	if (rc == 0 && !leave_running && vmm_stop(vm, 0, err) < 0)
		rc = -1;
	struct stat sb;
	st->stream_bytes = stat(state_path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	st->save_ns = t_saved - t0;
	st->paused_ns = kumo_now_ns() - t0;
	if (rc < 0)
		return kumo_error_wrap(err, "checkpoint vm `%s`", name);
	log_debug("vmm: vm `%s` saved to `%s`: %llu bytes in %llu us, paused %llu us", name, dir,
		  (unsigned long long)st->stream_bytes, (unsigned long long)(st->save_ns / 1000),
		  (unsigned long long)(st->paused_ns / 1000));
	return 0;
}

/* ---- restore ------------------------------------------------------------------------ */

static int refuse(kumo_error_t *err, const char *dir, const char *what, const char *saved,
		  const char *here)
{
	return kumo_error(err, KUMO_E_PRECONDITION,
			  "snapshot `%s` was taken with %s `%s`, this node has `%s`: QEMU cannot "
			  "load a machine's state across them", dir, what, saved, here);
}

int vmm_restore(struct vmm *vmm, const char *dir, const struct vmm_restore_spec *rs,
		struct vmm_vm **out, struct vmm_snapshot_stats *st, kumo_error_t *err)
{
	struct vmm_snapshot_stats local = {0};
	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!vmm->ops->load_wait)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "restore `%s`: the %s backend cannot load a vm's state (use the qemu "
				  "backend)", dir, vmm->ops->name);
	autofree char *vmj = xasprintf("%s/" VMM_SNAPSHOT_VM, dir);
	json_error_t je;
	json_t *j = json_load_file(vmj, 0, &je);
	if (!j)
		return kumo_error(err, KUMO_E_INVALID, "restore: snapshot record `%s`: %s", vmj,
				  je.text);
	int ret = -1;
	autofree char *log = xasprintf("%s/" VMM_SNAPSHOT_KERNEL_LOG, dir);
	autofree char *kernel = xasprintf("%s/" VMM_SNAPSHOT_KERNEL, dir);
	autofree char *initrd = xasprintf("%s/" VMM_SNAPSHOT_INITRD, dir);
	autofree char *state = xasprintf("%s/" VMM_SNAPSHOT_STATE, dir);
	autoclose int fd = -1;
	autofree char *own_kernel = xasprintf("%s/restored-" VMM_SNAPSHOT_KERNEL, rs->run_dir);
	autofree char *own_initrd = xasprintf("%s/restored-" VMM_SNAPSHOT_INITRD, rs->run_dir);
	bool has_initrd = false;
	autofree struct vmm_share *shares = NULL;
	autofree uint8_t *klog = NULL;
	size_t klog_len = 0;
	struct vmm_net_attach net;
	struct vmm_vm *vm = NULL;
	json_int_t version = json_integer_value(json_object_get(j, "version"));
	const char *accel = json_string_value(json_object_get(j, "accel"));
	const char *qemu = json_string_value(json_object_get(j, "qemu"));
	const char *mac = json_string_value(json_object_get(j, "mac"));
	const char *cmdline = json_string_value(json_object_get(j, "cmdline"));
	json_int_t mem = json_integer_value(json_object_get(j, "memory_mib"));
	json_int_t vcpus = json_integer_value(json_object_get(j, "vcpus"));
	bool ctl = json_is_true(json_object_get(j, "control_channel"));
	json_t *jsh = json_object_get(j, "shares");
	if (version != VMM_SNAPSHOT_VM_VERSION) {
		kumo_error(err, KUMO_E_PRECONDITION,
			   "restore: snapshot record `%s` has version %lld, this kumo reads version %d",
			   vmj, (long long)version, VMM_SNAPSHOT_VM_VERSION);
		goto out;
	}
	if (!accel || !qemu || !cmdline || mem <= 0 || vcpus <= 0 || !json_is_array(jsh)) {
		kumo_error(err, KUMO_E_INVALID, "restore: snapshot record `%s` is incomplete", vmj);
		goto out;
	}
	const char *here = vmm_conn_qemu_version(vmm);
	if (strcmp(accel, vmm_accel_name(vmm)) != 0) {
		refuse(err, dir, "accelerator", accel, vmm_accel_name(vmm));
		goto out;
	}
	if (strcmp(qemu, here) != 0) {
		refuse(err, dir, "QEMU", qemu, here);
		goto out;
	}
	if (!!mac != !!rs->net) {
		kumo_error(err, KUMO_E_INVALID,
			   mac ? "restore `%s`: the snapshot has a network device; give the vm a "
				 "network"
			       : "restore `%s`: the snapshot has no network device; a vm restored "
				 "from it cannot take one",
			   dir);
		goto out;
	}
	if (ctl != (rs->control_socket != NULL)) {
		kumo_error(err, KUMO_E_INVALID,
			   ctl ? "restore `%s`: the snapshot has a control channel; give the vm one"
			       : "restore `%s`: the snapshot has no control channel; a vm restored "
				 "from it cannot take one",
			   dir);
		goto out;
	}
	if (mac) {
		unsigned m[6];
		if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
			kumo_error(err, KUMO_E_INVALID, "restore: snapshot record `%s`: bad mac `%s`",
				   vmj, mac);
			goto out;
		}
		net = *rs->net;
		for (int i = 0; i < 6; i++)
			net.mac[i] = (uint8_t)m[i];
	}
	/* The same share tags in the same order (the device set must match), on the
	 * caller's directories or the recorded ones. */
	size_t nsh = json_array_size(jsh);
	if (rs->shares && rs->nshares != nsh) {
		kumo_error(err, KUMO_E_INVALID, "restore `%s`: the snapshot has %zu shares, %zu given",
			   dir, nsh, rs->nshares);
		goto out;
	}
	shares = xzalloc((nsh + 1) * sizeof(*shares));
	for (size_t i = 0; i < nsh; i++) {
		json_t *e = json_array_get(jsh, i);
		const char *tag = json_string_value(json_object_get(e, "tag"));
		const char *path = json_string_value(json_object_get(e, "host_path"));
		if (!tag || !path || (rs->shares && strcmp(rs->shares[i].tag, tag) != 0)) {
			kumo_error(err, KUMO_E_INVALID, "restore `%s`: share %zu must have tag `%s`",
				   dir, i, tag ? tag : "");
			goto out;
		}
		shares[i] = rs->shares ? rs->shares[i]
				       : (struct vmm_share){path, tag,
							    json_is_true(json_object_get(e, "readonly"))};
	}
	if (kumo_read_file(log, 64 << 20, &klog, &klog_len, err) < 0) {
		kumo_error_wrap(err, "restore `%s`", dir);
		goto out;
	}
	/* The VM keeps its own kernel and initrd (its record names them; a later process
	 * re-attaching checks they are there), so the snapshot directory may go. */
	has_initrd = access(initrd, F_OK) == 0;
	unlink(own_kernel);
	unlink(own_initrd);
	if (kumo_mkdir_p(rs->run_dir, 0750, err) < 0 || copy_file(kernel, own_kernel, true, err) < 0 ||
	    (has_initrd && copy_file(initrd, own_initrd, true, err) < 0)) {
		kumo_error_wrap(err, "restore `%s`", dir);
		goto out;
	}
	/* As builder leaves them (a jailed QEMU's user reads them): an archive unpacks 0600. */
	if (chmod(own_kernel, 0644) < 0 || (has_initrd && chmod(own_initrd, 0644) < 0)) {
		kumo_error_errno(err, errno, "restore `%s`: chmod `%s`", dir, own_kernel);
		goto out;
	}
	if (!rs->incoming) {
		fd = open(state, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			kumo_error(err, KUMO_E_INVALID,
				   "restore `%s`: the snapshot holds no machine state (it describes a "
				   "live migration's pod, whose state arrives over the network)", dir);
			goto out;
		}
		if (fd < 0) {
			kumo_error_errno(err, errno, "restore: open `%s`", state);
			goto out;
		}
		struct stat sb;
		st->stream_bytes = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	}
	struct vmm_spec spec = {
		.name = rs->name, .kernel = own_kernel, .initrd = has_initrd ? own_initrd : NULL,
		.cmdline = *cmdline ? cmdline : NULL, .memory_mib = (unsigned)mem,
		.vcpus = (unsigned)vcpus, .run_dir = rs->run_dir, .stdout_fd = rs->stdout_fd,
		.stderr_fd = rs->stderr_fd, .log_path = rs->log_path, .net = mac ? &net : NULL,
		.shares = shares, .nshares = nsh, .control_socket = rs->control_socket,
	};
	struct vmm_incoming in = {.fd = fd, .uri = rs->incoming, .kernel_log = klog,
				  .kernel_log_len = klog_len, .com1 = rs->com1_seed,
				  .com1_len = rs->com1_seed_len};
	uint64_t t0 = kumo_now_ns();
	if (vmm_create_incoming(vmm, &spec, &in, &vm, err) < 0) {
		kumo_error_wrap(err, "restore `%s`", dir);
		goto out;
	}
	uint64_t t_up = kumo_now_ns();
	if (vmm->ops->load_wait(vm, err) < 0) {
		autofree char *qlog = xasprintf("%s/qemu.log", vm->spec.run_dir);
		autofree char *why = vmm_qemu_first_error(qlog);
		vmm_vm_free(vm);
		vm = NULL;
		kumo_error_wrap(err, "restore `%s`%s%s", dir, *why ? ": " : "", why);
		goto out;
	}
	st->save_ns = kumo_now_ns() - t_up;
	st->paused_ns = kumo_now_ns() - t0;
	*out = vm;
	ret = 0;
out:
	json_decref(j);
	return ret;
}
