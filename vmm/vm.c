/* vmm/vm.c - the backend-independent VM lifecycle: connections, the registry of VMs by
 * name (vm.json in each run directory), spec checks, state, waiting, stop with grace
 * period, exit records. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "kernel/boot_abi.h"
#include "podnet.h"
#include "vmm_backend.h"

_Static_assert(VMM_MEMORY_FLOOR_MIB == KUMO_BOOT_MIN_RAM_BYTES >> 20, "memory floor");

bool vmm_kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* The sign-of-life deadline of a spec: its own, else the environment's, else the
 * default (vmm.h). */
static unsigned life_deadline_ms(const struct vmm_spec *s)
{
	if (s->life_deadline_ms)
		return s->life_deadline_ms;
	const char *env = getenv("KUMO_VM_LIFE_DEADLINE_MS");
	long v = env && *env ? strtol(env, NULL, 10) : 0;
	return v > 0 && v <= 3600000 ? (unsigned)v : VMM_LIFE_DEADLINE_MS;
}

/* Whether the VM wrote anything on COM3: the kernel's boot record comes first. */
static bool shows_life(const struct vmm_vm *vm)
{
	autofree char *p = xasprintf("%s/%s", vm->spec.run_dir, VMM_RAW_EXIT);
	struct stat st;
	return stat(p, &st) == 0 && st.st_size > 0;
}

#define WATCH_POLL_NS (50 * 1000000ull)

/* Ends started VMs that wrote nothing on COM3 by their deadline; polls only while
 * some VM is being watched. */
static void *watchdog_main(void *arg)
{
	struct vmm *vmm = arg;
	pthread_mutex_lock(&vmm->lock);
	while (!vmm->closing) {
		uint64_t now = kumo_now_ns(), next = 0;
		struct vmm_vm *dead = NULL;
		for (size_t i = 0; i < vmm->nvms && !dead; i++) {
			struct vmm_vm *vm = vmm->vms[i];
			if (!vm->life_deadline_ns)
				continue;
			if (vmm_vm_state(vm) == VMM_STATE_EXITED || shows_life(vm)) {
				vm->life_deadline_ns = 0;
			} else if (now >= vm->life_deadline_ns) {
				vm->life_deadline_ns = 0;
				vm->refs++;
				dead = vm;
			} else if (!next || vm->life_deadline_ns < next) {
				next = vm->life_deadline_ns;
			}
		}
		if (dead) {
			pthread_mutex_unlock(&vmm->lock);
			vmm_vm_fail(dead, "the VM showed no sign of life within %u ms of its start "
					  "(no boot record on the kernel log)",
				    life_deadline_ms(&dead->spec));
			vmm_vm_put(dead);
			pthread_mutex_lock(&vmm->lock);
			continue;
		}
		if (!next) {
			pthread_cond_wait(&vmm->watch_cond, &vmm->lock);
			continue;
		}
		uint64_t wake = now + WATCH_POLL_NS < next ? now + WATCH_POLL_NS : next;
		struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000ull),
				      .tv_nsec = (long)(wake % 1000000000ull)};
		pthread_cond_timedwait(&vmm->watch_cond, &vmm->lock, &ts);
	}
	pthread_mutex_unlock(&vmm->lock);
	return NULL;
}

int vmm_open(const struct vmm_config *cfg, struct vmm **out, kumo_error_t *err)
{
	const struct vmm_ops *ops;
	switch (cfg->backend) {
	case VMM_BACKEND_QEMU:
		ops = &vmm_qemu_ops;
		break;
	case VMM_BACKEND_LIBVIRT:
		ops = &vmm_libvirt_ops;
		break;
	default:
		return kumo_error(err, KUMO_E_INVALID, "unknown vm backend `%d`", (int)cfg->backend);
	}
	struct vmm *vmm = xzalloc(sizeof(*vmm));
	vmm->cfg = *cfg;
	vmm->uri = xstrdup(cfg->uri ? cfg->uri : "qemu:///system");
	vmm->qemu_binary = xstrdup(cfg->qemu_binary ? cfg->qemu_binary : "qemu-system-x86_64");
	vmm->cfg.uri = vmm->uri;
	vmm->cfg.qemu_binary = vmm->qemu_binary;
	vmm->state_dir = cfg->state_dir ? xstrdup(cfg->state_dir) : NULL;
	vmm->cfg.state_dir = vmm->state_dir;
	vmm->libvirt_netns = cfg->libvirt_netns ? xstrdup(cfg->libvirt_netns) : NULL;
	vmm->cfg.libvirt_netns = vmm->libvirt_netns;
	vmm->jail_user = cfg->jail_user ? xstrdup(cfg->jail_user) : NULL;
	vmm->cfg.jail_user = vmm->jail_user;
	vmm->cgroup_root = cfg->cgroup_root ? xstrdup(cfg->cgroup_root) : NULL;
	vmm->cfg.cgroup_root = vmm->cgroup_root;
	vmm->ops = ops;
	pthread_mutex_init(&vmm->lock, NULL);
	pthread_cond_init(&vmm->cond, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vmm->watch_cond, &ca);
	pthread_condattr_destroy(&ca);
	switch (cfg->accel) {
	case VMM_ACCEL_KVM: {
		/* The caller chose (and probed, vmm_accel_resolve): only check it opens. */
		const char *dev = cfg->dev_kvm ? cfg->dev_kvm : "/dev/kvm";
		int fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			vmm_close(vmm);
			return kumo_error_errno(err, e, "kvm requested but `%s` is not usable", dev);
		}
		close(fd);
		vmm->accel = VMM_ACCEL_KVM;
		break;
	}
	case VMM_ACCEL_TCG:
		vmm->accel = VMM_ACCEL_TCG;
		break;
	default: {
		if (!cfg->probe_kernel) {
			/* Never assumed: without a kernel to probe with, KVM is not chosen. */
			vmm->accel = VMM_ACCEL_TCG;
			snprintf(vmm->accel_reason, sizeof(vmm->accel_reason),
				 "kvm: not probed (no kumo kernel to probe with)");
			break;
		}
		struct vmm_accel_probe p = {.qemu_binary = vmm->qemu_binary,
					    .kernel = cfg->probe_kernel,
					    .kernel_id = cfg->kernel_id,
					    .cache_dir = cfg->accel_cache_dir,
					    .dev_kvm = cfg->dev_kvm};
		struct vmm_accel_verdict v;
		if (vmm_accel_resolve(VMM_ACCEL_AUTO, &p, &vmm->accel, &v, err) < 0) {
			vmm_close(vmm);
			return -1;
		}
		snprintf(vmm->accel_reason, sizeof(vmm->accel_reason), "%s", v.reason);
	}
	}
	if (vmm->accel == VMM_ACCEL_TCG) {
		/* The TSC rate's window opens now (vmm/tsc.c); a later create or the close
		 * measures it when no earlier process of this boot did. */
		const char *env = getenv("KUMO_ACCEL_CACHE_DIR");
		vmm->tsc_cache_dir = xstrdup(cfg->accel_cache_dir ? cfg->accel_cache_dir
					     : env && *env ? env : VMM_ACCEL_CACHE_DIR);
		vmm_tsc_mark(&vmm->tsc_mark);
	}
	if (vmm_jail_init(&vmm->cfg, &vmm->jail, err) < 0) {
		vmm->ops = NULL;
		vmm_close(vmm);
		return kumo_error_wrap(err, "open %s vm backend", ops->name);
	}
	if (vmm->jail.on)
		log_debug("vmm: qemu jailed: user `%s` (uid %d), seccomp, cgroup v%d memory and pids "
			  "under `%s`", vmm->jail.user, (int)vmm->jail.uid, vmm->jail.cgroup_version,
			  vmm->jail.cgroup_root);
	else
		log_debug("vmm: qemu not jailed (%s): seccomp only",
			  geteuid() != 0 ? "not root" : "turned off");
	if (ops->open(vmm, err) < 0) {
		vmm->ops = NULL;
		vmm_close(vmm);
		return kumo_error_wrap(err, "open %s vm backend", ops->name);
	}
	if (pthread_create(&vmm->watchdog, NULL, watchdog_main, vmm) != 0) {
		vmm_close(vmm);
		return kumo_error(err, KUMO_E_INTERNAL, "cannot start the vm watchdog thread");
	}
	vmm->watchdog_started = true;
	*out = vmm;
	return 0;
}

void vmm_close(struct vmm *vmm)
{
	if (!vmm)
		return;
	if (vmm->watchdog_started) {
		pthread_mutex_lock(&vmm->lock);
		vmm->closing = true;
		pthread_cond_broadcast(&vmm->watch_cond);
		pthread_mutex_unlock(&vmm->lock);
		pthread_join(vmm->watchdog, NULL);
	}
	/* VMs still held keep running: let go of them (a later process re-attaches). */
	for (;;) {
		pthread_mutex_lock(&vmm->lock);
		struct vmm_vm *vm = vmm->nvms ? vmm->vms[vmm->nvms - 1] : NULL;
		pthread_mutex_unlock(&vmm->lock);
		if (!vm)
			break;
		vmm_vm_detach(vm);
	}
	if (vmm->ops)
		vmm->ops->close(vmm);
	if (vmm->tsc_cache_dir)
		vmm_tsc_khz(&vmm->tsc_mark, vmm->tsc_cache_dir); /* measured and cached if due */
	free(vmm->tsc_cache_dir);
	free(vmm->vms);
	free(vmm->state_dir);
	free(vmm->libvirt_netns);
	free(vmm->jail_user);
	free(vmm->cgroup_root);
	pthread_mutex_destroy(&vmm->lock);
	pthread_cond_destroy(&vmm->cond);
	pthread_cond_destroy(&vmm->watch_cond);
	free(vmm->uri);
	free(vmm->qemu_binary);
	free(vmm);
}

const char *vmm_backend_name(const struct vmm *vmm)
{
	return vmm->ops->name;
}

const char *vmm_accel_name(const struct vmm *vmm)
{
	return vmm->accel == VMM_ACCEL_KVM ? "kvm" : "tcg";
}

const char *vmm_accel_reason(const struct vmm *vmm)
{
	return vmm->accel_reason;
}

void vmm_emit(struct vmm *vmm, enum vmm_event_type type, struct vmm_vm *vm)
{
	if (!vmm->cfg.on_event)
		return;
	struct vmm_event ev = {.type = type, .vm = vm, .time_ns = kumo_now_ns()};
	vmm->cfg.on_event(&ev, vmm->cfg.event_ctx);
}

static struct vmm_vm *find_locked(struct vmm *vmm, const char *name)
{
	for (size_t i = 0; i < vmm->nvms; i++)
		if (strcmp(vmm->vms[i]->spec.name, name) == 0)
			return vmm->vms[i];
	return NULL;
}

struct vmm_vm *vmm_lookup(struct vmm *vmm, const char *name)
{
	pthread_mutex_lock(&vmm->lock);
	struct vmm_vm *vm = find_locked(vmm, name);
	if (vm)
		vm->refs++;
	pthread_mutex_unlock(&vmm->lock);
	return vm;
}

void vmm_vm_put(struct vmm_vm *vm)
{
	struct vmm *vmm = vm->vmm;
	pthread_mutex_lock(&vmm->lock);
	if (--vm->refs == 0)
		pthread_cond_broadcast(&vmm->cond);
	pthread_mutex_unlock(&vmm->lock);
}

static int check_share(const struct vmm_spec *s, size_t i, kumo_error_t *err)
{
	const struct vmm_share *sh = &s->shares[i];
	const char *tag = sh->tag ? sh->tag : "";
	size_t n = strlen(tag);
	if (n == 0 || n > 63 || strspn(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789_.-") != n)
		return kumo_error(err, KUMO_E_INVALID,
				  "vm `%s`: share tag `%s` must be 1 to 63 of letters, digits, `_`, `.`, `-`",
				  s->name, tag);
	for (size_t j = 0; j < i; j++)
		if (strcmp(s->shares[j].tag, tag) == 0)
			return kumo_error(err, KUMO_E_INVALID, "vm `%s`: share tag `%s` is used twice",
					  s->name, tag);
	if (!sh->host_path || sh->host_path[0] != '/')
		return kumo_error(err, KUMO_E_INVALID, "vm `%s`: share `%s`: host path `%s` is not absolute",
				  s->name, tag, sh->host_path ? sh->host_path : "");
	if (strpbrk(sh->host_path, ",\n\r"))
		return kumo_error(err, KUMO_E_INVALID,
				  "vm `%s`: share `%s`: host path `%s` contains `,` or a newline", s->name,
				  tag, sh->host_path);
	struct stat st;
	if (stat(sh->host_path, &st) < 0)
		return kumo_error_errno(err, errno, "vm `%s`: share `%s`: host path `%s`", s->name, tag,
					sh->host_path);
	if (!S_ISDIR(st.st_mode))
		return kumo_error(err, KUMO_E_INVALID,
				  "vm `%s`: share `%s`: host path `%s` is not a directory (share the "
				  "file's directory and mount one entry of it)", s->name, tag,
				  sh->host_path);
	return 0;
}

static int check_spec(const struct vmm *vmm, const struct vmm_spec *s, kumo_error_t *err)
{
	if (!s->run_dir && !vmm->state_dir)
		return kumo_error(err, KUMO_E_INVALID,
				  "vm `%s`: no run directory (and the connection has no state "
				  "directory)", s->name ? s->name : "");
	if (!s->run_dir && vmm->state_dir[0] != '/')
		return kumo_error(err, KUMO_E_INVALID, "state directory `%s` is not absolute",
				  vmm->state_dir);
	if (!s->name || !*s->name || strlen(s->name) > 64)
		return kumo_error(err, KUMO_E_INVALID, "vm name `%s` must have 1 to 64 characters",
				  s->name ? s->name : "");
	for (const char *p = s->name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return kumo_error(err, KUMO_E_INVALID,
					  "vm name `%s` may only hold letters, digits, `_`, `.`, `-`",
					  s->name);
	if (!s->kernel || s->kernel[0] != '/')
		return kumo_error(err, KUMO_E_INVALID, "vm `%s`: kernel path `%s` is not absolute",
				  s->name, s->kernel ? s->kernel : "");
	if (access(s->kernel, R_OK) < 0)
		return kumo_error_errno(err, errno, "vm `%s`: kernel `%s`", s->name, s->kernel);
	if (s->initrd && access(s->initrd, R_OK) < 0)
		return kumo_error_errno(err, errno, "vm `%s`: initrd `%s`", s->name, s->initrd);
	if (s->memory_mib < VMM_MEMORY_FLOOR_MIB)
		return kumo_error(err, KUMO_E_INVALID,
				  "vm `%s`: %u MiB of guest memory is below the %u MiB floor",
				  s->name, s->memory_mib, VMM_MEMORY_FLOOR_MIB);
	if (s->vcpus < 1 || s->vcpus > VMM_VCPUS_MAX)
		return kumo_error(err, KUMO_E_INVALID, "vm `%s`: %u vcpus (1 to %d)", s->name,
				  s->vcpus, VMM_VCPUS_MAX);
	if (s->run_dir && s->run_dir[0] != '/')
		return kumo_error(err, KUMO_E_INVALID, "vm `%s`: run directory `%s` is not absolute",
				  s->name, s->run_dir);
	/* Paths end up inside domain XML and QEMU option strings: keep them plain. */
	const char *paths[] = {s->kernel, s->initrd, s->run_dir, s->log_path, s->control_socket};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (paths[i] && strpbrk(paths[i], ",\n\r"))
			return kumo_error(err, KUMO_E_INVALID,
					  "vm `%s`: path `%s` contains `,` or a newline", s->name,
					  paths[i]);
	for (size_t i = 0; i < s->nshares; i++)
		if (check_share(s, i, err) < 0)
			return -1;
	if (s->console_stream && vmm->ops != &vmm_qemu_ops)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "vm `%s`: a stream console needs the qemu backend, not %s", s->name,
				  vmm->ops->name);
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void free_spec_strings(struct vmm_spec *s)
{
	free((char *)s->name);
	free((char *)s->kernel);
	free((char *)s->initrd);
	free((char *)s->cmdline);
	free((char *)s->run_dir);
	free((char *)s->log_path);
	free((char *)s->control_socket);
	if (s->net) {
		free((char *)s->net->tap);
		free((char *)s->net->netns);
		free((char *)s->net->ifname);
	}
	for (size_t i = 0; i < s->nshares; i++) {
		free((char *)s->shares[i].host_path);
		free((char *)s->shares[i].tag);
	}
	free((struct vmm_share *)s->shares);
}

/* Fresh raw console files; the backends append to them. A stream console has COM3's
 * only. */
static int prepare_run_dir(const char *dir, bool stream, kumo_error_t *err)
{
	if (kumo_mkdir_p(dir, 0750, err) < 0)
		return -1;
	const char *names[] = {VMM_RAW_EXIT, VMM_CONSOLE_OFFSETS, VMM_RAW_STDOUT, VMM_RAW_STDERR};
	for (size_t i = 0; i < (stream ? 2 : 4); i++) {
		autofree char *p = xasprintf("%s/%s", dir, names[i]);
		if (i == 1) {
			unlink(p);
			continue;
		}
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (fd < 0)
			return kumo_error_errno(err, errno, "create `%s`", p);
		close(fd);
	}
	return 0;
}

/* A restored VM's COM3 goes on from the saved kernel log: its boot record is there (the
 * sign of life the watchdog looks for), and the exit record will follow it. COM1 starts
 * with what the caller gives (a pod VM's record cut by the save). */
static int seed_kernel_log(const char *dir, const struct vmm_incoming *in, kumo_error_t *err)
{
	autofree char *p = xasprintf("%s/%s", dir, VMM_RAW_EXIT);
	autoclose int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || kumo_write_all(fd, in->kernel_log, in->kernel_log_len) < 0)
		return kumo_error_errno(err, errno, "write `%s`", p);
	if (!in->com1_len)
		return 0;
	autofree char *p1 = xasprintf("%s/%s", dir, VMM_RAW_STDOUT);
	autoclose int fd1 = open(p1, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd1 < 0 || kumo_write_all(fd1, in->com1, in->com1_len) < 0)
		return kumo_error_errno(err, errno, "write `%s`", p1);
	return 0;
}

static struct vmm_vm *new_vm(struct vmm *vmm, const struct vmm_spec *spec)
{
	struct vmm_vm *vm = xzalloc(sizeof(*vm));
	vm->vmm = vmm;
	vm->spec = *spec;
	vm->spec.name = xstrdup(spec->name);
	vm->spec.kernel = xstrdup(spec->kernel);
	vm->spec.initrd = dup_or_null(spec->initrd);
	/* Debugging and test hooks (kernel/boot_abi.h's command line) for every VM. */
	const char *extra = getenv("KUMO_VM_CMDLINE");
	if (extra && *extra)
		vm->spec.cmdline = spec->cmdline && *spec->cmdline
					   ? xasprintf("%s %s", spec->cmdline, extra)
					   : xstrdup(extra);
	else
		vm->spec.cmdline = dup_or_null(spec->cmdline);
	vm->spec.run_dir = spec->run_dir ? xstrdup(spec->run_dir)
					 : xasprintf("%s/%s", vmm->state_dir, spec->name);
	vm->spec.log_path = dup_or_null(spec->log_path);
	vm->spec.control_socket = dup_or_null(spec->control_socket);
	if (spec->net) {
		vm->net = *spec->net;
		vm->net.tap = xstrdup(spec->net->tap);
		vm->net.netns = dup_or_null(spec->net->netns);
		vm->net.ifname = dup_or_null(spec->net->ifname);
		vm->spec.net = &vm->net;
	}
	if (spec->nshares) {
		struct vmm_share *sh = xzalloc(spec->nshares * sizeof(*sh));
		for (size_t i = 0; i < spec->nshares; i++)
			sh[i] = (struct vmm_share){xstrdup(spec->shares[i].host_path),
						   xstrdup(spec->shares[i].tag), spec->shares[i].readonly};
		vm->spec.shares = sh;
	} else {
		vm->spec.shares = NULL;
	}
	pthread_mutex_init(&vm->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->cond, &ca);
	pthread_condattr_destroy(&ca);
	vm->state = VMM_STATE_CREATED;
	return vm;
}

static void delete_vm(struct vmm_vm *vm)
{
	vmm_console_finish(vm->console);
	free(vm->incoming_uri);
	free_spec_strings(&vm->spec);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	free(vm);
}

/* Adds vm to the connection's list; fails when the name is taken. */
static int add_vm(struct vmm *vmm, struct vmm_vm *vm, kumo_error_t *err)
{
	pthread_mutex_lock(&vmm->lock);
	if (find_locked(vmm, vm->spec.name)) {
		pthread_mutex_unlock(&vmm->lock);
		return kumo_error(err, KUMO_E_EXISTS, "vm `%s` already exists", vm->spec.name);
	}
	/* One tap, one VM: a pod's network identity (address, MAC, tap) serves one VM at a
	 * time (init containers in turn, then the app container). */
	for (size_t i = 0; vm->spec.net && i < vmm->nvms; i++) {
		struct vmm_vm *o = vmm->vms[i];
		if (o->spec.net && strcmp(o->spec.net->tap, vm->spec.net->tap) == 0 &&
		    vmm_vm_state(o) != VMM_STATE_EXITED) {
			pthread_mutex_unlock(&vmm->lock);
			return kumo_error(err, KUMO_E_PRECONDITION,
					  "vm `%s`: the pod network on tap `%s` is in use by vm `%s`; "
					  "kumo runs one vm per pod network at a time",
					  vm->spec.name, vm->spec.net->tap, o->spec.name);
		}
	}
	vmm->vms = xrealloc(vmm->vms, (vmm->nvms + 1) * sizeof(*vmm->vms));
	vmm->vms[vmm->nvms++] = vm;
	pthread_mutex_unlock(&vmm->lock);
	return 0;
}

/* Removes vm from the list and waits until no event handler holds it. */
static void remove_vm(struct vmm *vmm, struct vmm_vm *vm)
{
	pthread_mutex_lock(&vmm->lock);
	for (size_t i = 0; i < vmm->nvms; i++)
		if (vmm->vms[i] == vm) {
			vmm->vms[i] = vmm->vms[--vmm->nvms];
			break;
		}
	while (vm->refs) /* an event handler still holds it */
		pthread_cond_wait(&vmm->cond, &vmm->lock);
	pthread_mutex_unlock(&vmm->lock);
}

/* ---- vm.json: what finding a VM again by its name needs ----------------------------- */

static char *record_path(const struct vmm_vm *vm)
{
	return xasprintf("%s/vm.json", vm->spec.run_dir);
}

/* Writes <run_dir>/vm.json: the spec and QEMU's pid. Replaced atomically, not synced: a
 * VM does not outlive a crash of the host. */
static int save_record(struct vmm_vm *vm, kumo_error_t *err)
{
	const struct vmm_spec *s = &vm->spec;
	json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:I, s:I}", "name", s->name,
			      "kernel", s->kernel, "run_dir", s->run_dir, "memory_mib",
			      (int)s->memory_mib, "vcpus", (int)s->vcpus, "pid",
			      (json_int_t)vmm_vm_pid(vm), "cpu_shares", (json_int_t)s->cputune.shares,
			      "cpu_period_us", (json_int_t)s->cputune.period_us, "cpu_quota_us",
			      (json_int_t)s->cputune.quota_us);
	if (s->initrd)
		json_object_set_new(j, "initrd", json_string(s->initrd));
	if (s->cmdline)
		json_object_set_new(j, "cmdline", json_string(s->cmdline));
	if (s->control_socket)
		json_object_set_new(j, "control_socket", json_string(s->control_socket));
	if (s->log_path)
		json_object_set_new(j, "log_path", json_string(s->log_path));
	if (s->console_stream)
		json_object_set_new(j, "console_stream", json_true());
	if (s->net) {
		const uint8_t *m = s->net->mac;
		char mac[18];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		json_object_set_new(j, "tap", json_string(s->net->tap));
		json_object_set_new(j, "mac", json_string(mac));
	}
	json_t *sh = json_array();
	for (size_t i = 0; i < s->nshares; i++)
		json_array_append_new(sh, json_pack("{s:s, s:s, s:b}", "host_path",
						    s->shares[i].host_path, "tag", s->shares[i].tag,
						    "readonly", s->shares[i].readonly));
	json_object_set_new(j, "shares", sh);
	autofree char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	autofree char *path = record_path(vm);
	return kumo_write_file_replace(path, text, strlen(text), 0600, err);
}

/* The spec vm.json holds (strings point into *j, which the caller frees). */
static int load_record(const char *path, json_t **j, struct vmm_spec *s,
		       struct vmm_net_attach *net, struct vmm_share **shares, pid_t *pid,
		       kumo_error_t *err)
{
	json_error_t je;
	*j = json_load_file(path, 0, &je);
	if (!*j) {
		if (access(path, F_OK) != 0)
			return kumo_error(err, KUMO_E_NOT_FOUND, "no vm record `%s`", path);
		return kumo_error(err, KUMO_E_INTERNAL, "vm record `%s`: %s", path, je.text);
	}
#define STR(k) json_string_value(json_object_get(*j, k))
#define INT(k) json_integer_value(json_object_get(*j, k))
	*s = (struct vmm_spec){
		.name = STR("name"), .kernel = STR("kernel"), .initrd = STR("initrd"),
		.cmdline = STR("cmdline"), .run_dir = STR("run_dir"), .log_path = STR("log_path"),
		.control_socket = STR("control_socket"),
		.memory_mib = (unsigned)INT("memory_mib"), .vcpus = (unsigned)INT("vcpus"),
		.cputune = {(uint64_t)INT("cpu_shares"), (uint64_t)INT("cpu_period_us"),
			    (int64_t)INT("cpu_quota_us")},
		.stdout_fd = -1, .stderr_fd = -1,
		.console_stream = json_is_true(json_object_get(*j, "console_stream")),
	};
	*pid = (pid_t)INT("pid");
	const char *tap = STR("tap"), *mac = STR("mac");
#undef STR
#undef INT
	unsigned m[6];
	if (tap && mac && sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
				 &m[5]) == 6) {
		*net = (struct vmm_net_attach){.tap = tap};
		for (int i = 0; i < 6; i++)
			net->mac[i] = (uint8_t)m[i];
		s->net = net;
	}
	json_t *sh = json_object_get(*j, "shares");
	size_t n = json_array_size(sh), i;
	json_t *e;
	*shares = xzalloc((n + 1) * sizeof(**shares));
	json_array_foreach(sh, i, e)
		(*shares)[i] = (struct vmm_share){json_string_value(json_object_get(e, "host_path")),
						  json_string_value(json_object_get(e, "tag")),
						  json_is_true(json_object_get(e, "readonly"))};
	s->shares = *shares;
	s->nshares = n;
	if (!s->name || !s->kernel || !s->run_dir)
		return kumo_error(err, KUMO_E_INTERNAL, "vm record `%s` is incomplete", path);
	return 0;
}

/* A pod's tap (net.netns) for the create: QEMU gets an fd opened inside the pod's
 * namespace (net.has_fd); libvirt opens taps by name in libvirtd's namespace, so the
 * tap goes there for the create and back after it (pod_tap_return). */
static int pod_tap_lend(struct vmm *vmm, struct vmm_vm *vm, kumo_error_t *err)
{
	struct vmm_net_attach *n = &vm->net;
	if (vmm->ops == &vmm_qemu_ops) {
		if (vmm_pod_tap_open(n->netns, n->tap, &n->fd, err) < 0)
			return -1;
		n->has_fd = true;
		return 0;
	}
	autofree char *host = vmm->cfg.libvirt_netns ? xstrdup(vmm->cfg.libvirt_netns)
						     : vmm_libvirtd_netns();
	return vmm_pod_tap_to_host(host, n->netns, n->tap, n->ifname, err);
}

static int pod_tap_return(struct vmm *vmm, struct vmm_vm *vm, kumo_error_t *err)
{
	autofree char *host = vmm->cfg.libvirt_netns ? xstrdup(vmm->cfg.libvirt_netns)
						     : vmm_libvirtd_netns();
	return vmm_pod_tap_to_pod(host, vm->net.netns, vm->net.tap, vm->net.ifname, err);
}

static void mark_started(struct vmm_vm *vm);

static int create_vm(struct vmm *vmm, const struct vmm_spec *spec, bool async, bool run,
		     const struct vmm_incoming *in, struct vmm_vm **out, kumo_error_t *err)
{
	if (check_spec(vmm, spec, err) < 0)
		return -1;
	if (spec->net && spec->net->has_fd && vmm->ops != &vmm_qemu_ops)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "create vm `%s`: the %s backend opens taps by name, it cannot take "
				  "tap `%s` as an fd",
				  spec->name, vmm->ops->name, spec->net->tap);
	if (in && !vmm->ops->load_wait)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "restore vm `%s`: the %s backend cannot restore snapshots",
				  spec->name, vmm->ops->name);
	struct vmm_vm *vm = new_vm(vmm, spec);
	vm->create_async = async;
	vm->run_at_once = run && vmm->ops == &vmm_qemu_ops;
	vm->incoming = in != NULL;
	vm->incoming_fd = in ? in->fd : -1;
	vm->incoming_uri = in && in->uri ? xstrdup(in->uri) : NULL;
	if (add_vm(vmm, vm, err) < 0) {
		delete_vm(vm);
		return -1;
	}
	if (prepare_run_dir(vm->spec.run_dir, vm->spec.console_stream, err) < 0 ||
	    (in && seed_kernel_log(vm->spec.run_dir, in, err) < 0) ||
	    vmm_console_start(vm, false, &vm->console, err) < 0) {
		remove_vm(vmm, vm);
		goto fail;
	}
	if (vm->net.netns && pod_tap_lend(vmm, vm, err) < 0) {
		remove_vm(vmm, vm);
		goto fail;
	}
	int created = vmm->ops->create(vm, err);
	vmm_console_close_peers(vm->console); /* QEMU has its own copies */
	if (vm->net.netns && vm->net.has_fd) {
		close(vm->net.fd); /* QEMU has its own copy */
		vm->net.fd = -1;
	}
	if (created < 0) {
		remove_vm(vmm, vm);
		vmm->ops->release(vm);
		goto fail;
	}
	if (vm->net.netns && !vm->net.has_fd && pod_tap_return(vmm, vm, err) < 0) {
		vmm_vm_free(vm); /* destroys it */
		return kumo_error_wrap(err, "create vm `%s`", spec->name);
	}
	if (run && !vm->run_at_once && vmm->ops->resume(vm, err) < 0) {
		vmm_vm_free(vm);
		return kumo_error_wrap(err, "start vm `%s`", spec->name);
	}
	if (run)
		mark_started(vm);
	if (save_record(vm, err) < 0) {
		vmm_vm_free(vm);
		return kumo_error_wrap(err, "create vm `%s`", spec->name);
	}
	*out = vm;
	return 0;
fail:
	delete_vm(vm);
	return kumo_error_wrap(err, "create vm `%s`", spec->name);
}

int vmm_create(struct vmm *vmm, const struct vmm_spec *spec, struct vmm_vm **out,
	       kumo_error_t *err)
{
	return create_vm(vmm, spec, false, false, NULL, out, err);
}

int vmm_create_async(struct vmm *vmm, const struct vmm_spec *spec, struct vmm_vm **out,
		     kumo_error_t *err)
{
	return create_vm(vmm, spec, true, false, NULL, out, err);
}

int vmm_run(struct vmm *vmm, const struct vmm_spec *spec, struct vmm_vm **out,
	    kumo_error_t *err)
{
	return create_vm(vmm, spec, false, true, NULL, out, err);
}

int vmm_create_incoming(struct vmm *vmm, const struct vmm_spec *spec,
			const struct vmm_incoming *in, struct vmm_vm **out, kumo_error_t *err)
{
	return create_vm(vmm, spec, false, false, in, out, err);
}

int vmm_attach(struct vmm *vmm, const char *name, struct vmm_vm **out, kumo_error_t *err)
{
	if (!vmm->state_dir)
		return kumo_error(err, KUMO_E_INVALID,
				  "attach vm `%s`: the connection has no state directory", name);
	if (!vmm->ops->attach)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "attach vm `%s`: the %s backend cannot re-attach to a vm",
				  name, vmm->ops->name);
	autofree char *path = xasprintf("%s/%s/vm.json", vmm->state_dir, name);
	json_t *j = NULL;
	struct vmm_spec spec = {0};
	struct vmm_net_attach net;
	autofree struct vmm_share *shares = NULL;
	pid_t pid = 0;
	int ret = -1;
	if (load_record(path, &j, &spec, &net, &shares, &pid, err) < 0 ||
	    check_spec(vmm, &spec, err) < 0)
		goto out;
	if (spec.console_stream) {
		kumo_error(err, KUMO_E_UNSUPPORTED,
			   "attach vm `%s`: its console was a stream to the process that started "
			   "it", name);
		goto out;
	}
	struct vmm_vm *vm = new_vm(vmm, &spec);
	if (add_vm(vmm, vm, err) < 0) {
		delete_vm(vm);
		goto out;
	}
	/* Capture resumes where the previous owner stopped; the files are kept. */
	if (vmm_console_start(vm, true, &vm->console, err) < 0) {
		remove_vm(vmm, vm);
		delete_vm(vm);
		kumo_error_wrap(err, "attach vm `%s`", name);
		goto out;
	}
	enum vmm_state st;
	int rc = vmm->ops->attach(vm, &st, err);
	if (rc < 0) {
		remove_vm(vmm, vm);
		vmm->ops->release(vm);
		delete_vm(vm);
		kumo_error_wrap(err, "attach vm `%s`", name);
		goto out;
	}
	if (rc == 0) {
		vm->started = true; /* it ran, or was ended while nobody watched */
		vmm_vm_gone(vm);    /* the record tells how */
	} else {
		pthread_mutex_lock(&vm->lock);
		if (vm->state == VMM_STATE_CREATED)
			vm->state = st;
		vm->started = vm->state != VMM_STATE_CREATED;
		pthread_mutex_unlock(&vm->lock);
	}
	*out = vm;
	ret = 0;
out:
	json_decref(j);
	return ret;
}

/* Kills the QEMU an earlier process started for `name` (vm.json's pid, or the pid file
 * QEMU-direct writes before vm.json exists, when its command line still names the VM):
 * a process killed while creating a VM leaves only the pid file. */
static void kill_orphan(const char *dir, const char *name)
{
	autofree char *path = xasprintf("%s/vm.json", dir);
	json_t *j = json_load_file(path, 0, NULL);
	pid_t pid = j ? (pid_t)json_integer_value(json_object_get(j, "pid")) : 0;
	json_decref(j);
	if (pid <= 1) {
		autofree char *pidpath = xasprintf("%s/" VMM_QEMU_PID_FILE, dir);
		autofree uint8_t *text = NULL;
		size_t n = 0;
		kumo_error_t e = NULL;
		if (kumo_read_file(pidpath, 64, &text, &n, &e) == 0)
			pid = (pid_t)atoi((const char *)text);
		kumo_error_free(&e);
	}
	if (pid <= 1)
		return;
	autofree char *cmdpath = xasprintf("/proc/%d/cmdline", (int)pid);
	autofree uint8_t *cmd = NULL;
	size_t len = 0;
	kumo_error_t e = NULL;
	if (kumo_read_file(cmdpath, 1 << 20, &cmd, &len, &e) == 0 &&
	    memmem(cmd, len, name, strlen(name))) {
		log_info("vmm: killing QEMU %d of vm `%s` left by an earlier process", (int)pid, name);
		kill(pid, SIGKILL);
	}
	kumo_error_free(&e);
}

int vmm_remove(struct vmm *vmm, const char *name, kumo_error_t *err)
{
	struct vmm_vm *vm = vmm_lookup(vmm, name);
	autofree char *dir = vmm->state_dir ? xasprintf("%s/%s", vmm->state_dir, name) : NULL;
	if (vm) {
		vmm_vm_put(vm);
		vmm_vm_free(vm); /* destroys it if it still runs */
	} else if (dir && vmm->ops == &vmm_qemu_ops) {
		kill_orphan(dir, name);
	}
	if (dir)
		kumo_rm_tree(dir);
	return 0;
}

void vmm_vm_detach(struct vmm_vm *vm)
{
	if (!vm)
		return;
	struct vmm *vmm = vm->vmm;
	remove_vm(vmm, vm);
	pthread_mutex_lock(&vm->lock);
	struct vmm_console *c = vm->console;
	vm->console = NULL;
	pthread_mutex_unlock(&vm->lock);
	vmm_console_detach(c); /* offsets saved: a later vmm_attach goes on from there */
	vmm->ops->release(vm);
	delete_vm(vm);
}

int vmm_start(struct vmm_vm *vm, kumo_error_t *err)
{
	pthread_mutex_lock(&vm->lock);
	enum vmm_state st = vm->state;
	bool never_ran = st == VMM_STATE_EXITED && !vm->started;
	char why[sizeof(vm->exit.msg)];
	memcpy(why, vm->exit.msg, sizeof(why));
	pthread_mutex_unlock(&vm->lock);
	if (never_ran) /* an asynchronous create that failed: say why */
		return kumo_error(err, KUMO_E_INTERNAL, "start vm `%s`: %s", vm->spec.name,
				  why[0] ? why : "it ended before it was started");
	if (st != VMM_STATE_CREATED)
		return kumo_error(err, KUMO_E_INVALID, "start vm `%s`: it is not in the created state",
				  vm->spec.name);
	if (vm->vmm->ops->resume(vm, err) < 0)
		return kumo_error_wrap(err, "start vm `%s`", vm->spec.name);
	mark_started(vm);
	return 0;
}

/* The guest was resumed: RUNNING, watched for its sign of life, STARTED said. */
static void mark_started(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state == VMM_STATE_CREATED)
		vm->state = VMM_STATE_RUNNING;
	vm->started = true;
	pthread_mutex_unlock(&vm->lock);
	/* From now on the kernel's boot record must show up on COM3 in time. */
	struct vmm *vmm = vm->vmm;
	pthread_mutex_lock(&vmm->lock);
	vm->life_deadline_ns = kumo_now_ns() + (uint64_t)life_deadline_ms(&vm->spec) * 1000000ull;
	pthread_cond_broadcast(&vmm->watch_cond);
	pthread_mutex_unlock(&vmm->lock);
	vmm_emit(vm->vmm, VMM_EVENT_STARTED, vm);
}

/* Waits on vm->cond until the VM exited or deadline (CLOCK_MONOTONIC ns, 0: forever).
 * Called with vm->lock held. Returns true when it exited. */
static bool wait_exited_locked(struct vmm_vm *vm, uint64_t deadline_ns)
{
	while (!vm->exit_delivered) {
		if (!deadline_ns) {
			pthread_cond_wait(&vm->cond, &vm->lock);
			continue;
		}
		struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000ull),
				      .tv_nsec = (long)(deadline_ns % 1000000000ull)};
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) == ETIMEDOUT)
			return vm->exit_delivered;
	}
	return true;
}

int vmm_wait(struct vmm_vm *vm, int timeout_ms, struct kumo_exit_record *out,
	     kumo_error_t *err)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : kumo_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	pthread_mutex_lock(&vm->lock);
	bool done = wait_exited_locked(vm, deadline);
	if (done && out)
		*out = vm->exit;
	pthread_mutex_unlock(&vm->lock);
	return done ? 1 : 0;
}

int vmm_stop(struct vmm_vm *vm, int grace_ms, kumo_error_t *err)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state == VMM_STATE_EXITED) {
		wait_exited_locked(vm, 0);
		pthread_mutex_unlock(&vm->lock);
		return 0;
	}
	bool was_created = vm->state == VMM_STATE_CREATED;
	vm->stop_requested = true;
	vm->state = VMM_STATE_STOPPING;
	pthread_mutex_unlock(&vm->lock);

	if (grace_ms > 0 && !was_created) {
		kumo_error_t serr = NULL;
		if (vm->vmm->ops->shutdown(vm, &serr) < 0) {
			log_debug("vmm: stop vm `%s`: %s", vm->spec.name, kumo_error_msg(serr));
			kumo_error_free(&serr);
		} else {
			uint64_t deadline = kumo_now_ns() + (uint64_t)grace_ms * 1000000ull;
			pthread_mutex_lock(&vm->lock);
			bool done = wait_exited_locked(vm, deadline);
			pthread_mutex_unlock(&vm->lock);
			if (done)
				return 0;
		}
	}
	if (vm->vmm->ops->destroy(vm, err) < 0)
		return kumo_error_wrap(err, "stop vm `%s`", vm->spec.name);
	pthread_mutex_lock(&vm->lock);
	wait_exited_locked(vm, 0);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static void set_error_v(struct vmm_vm *vm, const char *fmt, va_list ap)
{
	char msg[sizeof(vm->error)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&vm->lock);
	bool first = !vm->error[0];
	if (first)
		memcpy(vm->error, msg, sizeof(msg));
	pthread_mutex_unlock(&vm->lock);
	if (first)
		log_debug("vmm: vm `%s`: %s", vm->spec.name, msg);
	else
		log_debug("vmm: vm `%s`: also: %s", vm->spec.name, msg);
}

void vmm_vm_set_error(struct vmm_vm *vm, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error_v(vm, fmt, ap);
	va_end(ap);
}

void vmm_vm_fail(struct vmm_vm *vm, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error_v(vm, fmt, ap);
	va_end(ap);
	kumo_error_t err = NULL;
	if (vm->vmm->ops->destroy(vm, &err) < 0) {
		log_warn("vmm: vm `%s`: destroy after a failure: %s", vm->spec.name,
			 kumo_error_msg(err));
		kumo_error_free(&err);
	}
}

void vmm_vm_gone(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->gone) { /* both the STOPPED event and a destroy report it: once */
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	vm->gone = true;
	bool stop_requested = vm->stop_requested;
	struct vmm_console *console = vm->console;
	pthread_mutex_unlock(&vm->lock);

	/* Everything the guest wrote is in the raw files once it is gone. */
	uint64_t first = vmm_console_finish(console);
	pthread_mutex_lock(&vm->lock);
	if (console)
		vm->first_output_ns = first;
	vm->console = NULL;
	pthread_mutex_unlock(&vm->lock);

	/* QEMU is gone: so is what its jail's cgroups held. */
	vmm_jail_cgroup_remove(&vm->vmm->jail, vm->spec.name);
	struct kumo_exit_record ex = {0};
	autofree char *path = xasprintf("%s/%s", vm->spec.run_dir, VMM_RAW_EXIT);
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t rerr = NULL;
	pthread_mutex_lock(&vm->lock);
	char error[sizeof(vm->error)];
	memcpy(error, vm->error, sizeof(error));
	pthread_mutex_unlock(&vm->lock);
	/* The app's own record wins; else why QEMU or the watchdog ended it; else a stop
	 * that was asked for; else a crash nobody explained. */
	if (kumo_read_file(path, 1 << 20, &buf, &len, &rerr) < 0 ||
	    vmm_parse_exit_record((const char *)buf, len, &ex) < 0) {
		ex = (struct kumo_exit_record){.trap = -1};
		if (error[0]) {
			ex.kind = KUMO_EXIT_CRASHED;
			ex.status = KUMO_EXIT_STATUS_PANIC;
			snprintf(ex.msg, sizeof(ex.msg), "%s", error);
		} else if (stop_requested) {
			ex.kind = KUMO_EXIT_KILLED;
			ex.status = KUMO_EXIT_STATUS_KILLED;
		} else {
			ex.kind = KUMO_EXIT_CRASHED;
			ex.status = KUMO_EXIT_STATUS_PANIC;
			snprintf(ex.msg, sizeof(ex.msg), "the VM stopped without an exit record");
		}
	}
	kumo_error_free(&rerr);
	free(buf);

	pthread_mutex_lock(&vm->lock);
	vm->exit = ex;
	vm->exited_ns = kumo_now_ns();
	vm->state = VMM_STATE_EXITED;
	pthread_mutex_unlock(&vm->lock);
	vmm_emit(vm->vmm, VMM_EVENT_EXITED, vm);
	/* Only now may waiters (and so vmm_vm_free) go on: the event used vm. */
	pthread_mutex_lock(&vm->lock);
	vm->exit_delivered = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

void vmm_vm_free(struct vmm_vm *vm)
{
	if (!vm)
		return;
	kumo_error_t err = NULL;
	if (vmm_stop(vm, 0, &err) < 0) {
		log_warn("vmm: free vm `%s`: %s", vm->spec.name, kumo_error_msg(err));
		kumo_error_free(&err);
	}
	struct vmm *vmm = vm->vmm;
	remove_vm(vmm, vm);
	vmm->ops->release(vm);
	delete_vm(vm);
}

enum vmm_state vmm_vm_state(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	enum vmm_state s = vm->state;
	pthread_mutex_unlock(&vm->lock);
	return s;
}

const char *vmm_vm_name(const struct vmm_vm *vm)
{
	return vm->spec.name;
}

pid_t vmm_vm_pid(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	pid_t p = vm->pid;
	pthread_mutex_unlock(&vm->lock);
	return p;
}

bool vmm_vm_exit(struct vmm_vm *vm, struct kumo_exit_record *out, uint64_t *exited_ns)
{
	pthread_mutex_lock(&vm->lock);
	bool done = vm->state == VMM_STATE_EXITED;
	if (done) {
		*out = vm->exit;
		if (exited_ns)
			*exited_ns = vm->exited_ns;
	}
	pthread_mutex_unlock(&vm->lock);
	return done;
}

bool vmm_vm_started(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	bool started = vm->started;
	pthread_mutex_unlock(&vm->lock);
	return started;
}

uint64_t vmm_vm_first_output_ns(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	uint64_t t = vm->console ? vmm_console_first_output_ns(vm->console) : vm->first_output_ns;
	pthread_mutex_unlock(&vm->lock);
	return t;
}

int vmm_vm_reopen_log(struct vmm_vm *vm, kumo_error_t *err)
{
	if (!vm->console)
		return 0;
	return vmm_console_reopen(vm->console, err);
}

int vmm_vm_stats(struct vmm_vm *vm, struct vmm_stats *out, kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	out->guest_mib = vm->spec.memory_mib;
	if (vmm_vm_state(vm) == VMM_STATE_EXITED)
		return 0;
	if (vm->vmm->ops->stats(vm, out, err) < 0)
		return kumo_error_wrap(err, "stats of vm `%s`", vm->spec.name);
	return 0;
}

/* Value of " key=" in a record's fields (up to the next space; msg= to the end). */
static bool field(const char *line, size_t n, const char *key, const char **val, size_t *vlen)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i + klen + 1 <= n; i++) {
		if ((i == 0 || line[i - 1] == ' ') && memcmp(line + i, key, klen) == 0 &&
		    line[i + klen] == '=') {
			size_t b = i + klen + 1, e = b;
			if (strcmp(key, "msg") == 0)
				e = n;
			else
				while (e < n && line[e] != ' ')
					e++;
			*val = line + b;
			*vlen = e - b;
			return true;
		}
		if (strcmp(key, "msg") != 0 && i + 4 <= n && memcmp(line + i, " msg=", 5) == 0)
			return false; /* msg is last and free text: keys after it are not keys */
	}
	return false;
}

static bool parse_uint(const char *s, size_t n, unsigned max, unsigned *out)
{
	if (n == 0 || n > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* One line against kernel/boot_abi.h's record:
 *   KUMO-EXIT v=1 status=<0..255> kind=<exit|trap|oom|panic>[ trap=<n>] msg=<text> */
static bool parse_record_line(const char *line, size_t n, struct kumo_exit_record *out)
{
	static const char prefix[] = KUMO_EXIT_RECORD_PREFIX;
	static const struct {
		const char *name;
		enum kumo_exit_kind kind;
		bool trap; /* carries trap= */
	} kinds[] = {
		{KUMO_EXIT_KIND_EXIT, KUMO_EXIT_EXITED, false},
		{KUMO_EXIT_KIND_TRAP, KUMO_EXIT_TRAPPED, true},
		{KUMO_EXIT_KIND_OOM, KUMO_EXIT_OOM, true},
		{KUMO_EXIT_KIND_PANIC, KUMO_EXIT_PANICKED, false},
	};
	size_t plen = sizeof(prefix) - 1;
	if (n < plen || memcmp(line, prefix, plen) != 0)
		return false;
	while (n > plen && line[n - 1] == '\r')
		n--;
	const char *v, *kind, *msg;
	size_t vlen, klen, mlen;
	unsigned status, trap = 0;
	if (!field(line, n, "status", &v, &vlen) || !parse_uint(v, vlen, 255, &status) ||
	    !field(line, n, "kind", &kind, &klen))
		return false;
	if (!field(line, n, "msg", &msg, &mlen)) {
		msg = "";
		mlen = 0;
	}
	struct kumo_exit_record ex = {.status = status, .trap = -1};
	size_t k = 0;
	while (k < sizeof(kinds) / sizeof(kinds[0]) &&
	       !(klen == strlen(kinds[k].name) && memcmp(kind, kinds[k].name, klen) == 0))
		k++;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return false;
	ex.kind = kinds[k].kind;
	if (kinds[k].trap) {
		if (!field(line, n, "trap", &v, &vlen) || !parse_uint(v, vlen, 1000, &trap))
			return false;
		ex.trap = (int32_t)trap;
	}
	if (mlen >= sizeof(ex.msg))
		mlen = sizeof(ex.msg) - 1;
	memcpy(ex.msg, msg, mlen);
	*out = ex;
	return true;
}

int vmm_parse_exit_record(const char *buf, size_t len, struct kumo_exit_record *out)
{
	int found = -1;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl)
			break; /* unterminated: the record was cut off */
		size_t n = (size_t)(nl - (buf + i));
		if (parse_record_line(buf + i, n, out))
			found = 0;
		i += n + 1;
	}
	return found;
}
