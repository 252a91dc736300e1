/* vmm/accel.c - the accelerator choice: probe KVM with kumo's own kernel in probe mode,
 * cache the verdict per host boot, resolve auto|kvm|tcg (vmm.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>

#include "kernel/boot_abi.h"
#include "vmm_backend.h"

#define CACHE_VERSION 1

int vmm_accel_parse(const char *s, enum vmm_accel *out, kumo_error_t *err)
{
	static const enum vmm_accel all[] = {VMM_ACCEL_AUTO, VMM_ACCEL_KVM, VMM_ACCEL_TCG};
	for (size_t i = 0; i < 3; i++)
		if (s && strcmp(s, vmm_accel_str(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return kumo_error(err, KUMO_E_INVALID, "unknown accelerator `%s` (auto, kvm or tcg)",
			  s ? s : "");
}

const char *vmm_accel_str(enum vmm_accel a)
{
	switch (a) {
	case VMM_ACCEL_KVM: return "kvm";
	case VMM_ACCEL_TCG: return "tcg";
	default: return "auto";
	}
}

static const char *or_default(const char *v, const char *def)
{
	return v && *v ? v : def;
}

static const char *cache_dir_of(const struct vmm_accel_probe *p)
{
	return or_default(p->cache_dir, or_default(getenv("KUMO_ACCEL_CACHE_DIR"),
						   VMM_ACCEL_CACHE_DIR));
}

/* The QEMU binary as an absolute path (PATH search for a bare name), or NULL. */
static char *find_qemu(const char *bin)
{
	if (strchr(bin, '/'))
		return realpath(bin, NULL);
	autofree char *p = kumo_find_executable(bin, NULL);
	return p ? realpath(p, NULL) : NULL;
}

static void read_line(const char *path, char *out, size_t cap)
{
	out[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(out, (int)cap, f))
		out[strcspn(out, "\r\n")] = 0;
	fclose(f);
}

static bool module_loaded(const char *sys_module, const char *name)
{
	autofree char *p = xasprintf("%s/%s", sys_module, name);
	return access(p, F_OK) == 0;
}

int vmm_accel_host_key(const struct vmm_accel_probe *p, struct vmm_accel_key *out,
		       kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	const char *bin = or_default(p->qemu_binary, "qemu-system-x86_64");
	autofree char *qemu = find_qemu(bin);
	struct stat st;
	if (!qemu || stat(qemu, &st) < 0)
		return kumo_error(err, KUMO_E_UNAVAILABLE, "qemu `%s` not found on PATH", bin);
	/* A new QEMU version is a new file: its identity stands for its version without
	 * running it on every call. */
	snprintf(out->qemu, sizeof(out->qemu), "%s ino %llu size %lld mtime %lld.%09ld", qemu,
		 (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec);
	snprintf(out->kernel_id, sizeof(out->kernel_id), "%s", or_default(p->kernel_id, ""));
	const char *dev = or_default(p->dev_kvm, "/dev/kvm");
	const char *mods = or_default(p->sys_module, "/sys/module");
	if (stat(dev, &st) == 0)
		snprintf(out->kvm, sizeof(out->kvm), "%u:%u ino %llu modules%s%s%s",
			 major(st.st_rdev), minor(st.st_rdev), (unsigned long long)st.st_ino,
			 module_loaded(mods, "kvm_intel") ? " kvm_intel" : "",
			 module_loaded(mods, "kvm_amd") ? " kvm_amd" : "",
			 module_loaded(mods, "kvm_pvm") ? " kvm_pvm" : "");
	else
		snprintf(out->kvm, sizeof(out->kvm), "absent");
	read_line(or_default(p->boot_id_path, "/proc/sys/kernel/random/boot_id"), out->boot_id,
		  sizeof(out->boot_id));
	return 0;
}

char *vmm_accel_cache_path(const char *dir, const struct vmm_accel_key *key)
{
	/* FNV-1a over the key names the file; the file repeats the key, which load checks. */
	uint64_t h = 1469598103934665603ull;
	const char *parts[] = {key->kernel_id, key->qemu, key->kvm, key->boot_id};
	for (size_t i = 0; i < 4; i++) {
		for (const char *c = parts[i]; *c; c++)
			h = (h ^ (uint8_t)*c) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;
	}
	return xasprintf("%s/accel-%016llx.json", dir, (unsigned long long)h);
}

static bool str_field(json_t *o, const char *name, char *out, size_t cap)
{
	const char *v = json_string_value(json_object_get(o, name));
	if (!v || strlen(v) >= cap)
		return false;
	memcpy(out, v, strlen(v) + 1);
	return true;
}

int vmm_accel_cache_load(const char *path, const struct vmm_accel_key *key,
			 struct vmm_accel_verdict *out)
{
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return 0; /* absent or not JSON */
	struct vmm_accel_verdict v = {0};
	struct vmm_accel_key k = {0};
	json_t *jk = json_object_get(j, "key");
	json_t *usable = json_object_get(j, "kvm_usable");
	json_t *pvm = json_object_get(j, "pvm");
	json_t *ns = json_object_get(j, "probe_ns");
	json_t *at = json_object_get(j, "probed_at");
	bool ok = json_integer_value(json_object_get(j, "version")) == CACHE_VERSION &&
		  json_is_object(jk) && str_field(jk, "kernel_id", k.kernel_id, sizeof(k.kernel_id)) &&
		  str_field(jk, "qemu", k.qemu, sizeof(k.qemu)) &&
		  str_field(jk, "kvm", k.kvm, sizeof(k.kvm)) &&
		  str_field(jk, "boot_id", k.boot_id, sizeof(k.boot_id)) && json_is_boolean(usable) &&
		  json_is_boolean(pvm) && json_is_integer(ns) && json_integer_value(ns) >= 0 &&
		  json_is_integer(at) && str_field(j, "reason", v.reason, sizeof(v.reason)) &&
		  v.reason[0] && str_field(j, "detail", v.detail, sizeof(v.detail)) &&
		  str_field(j, "qemu_version", v.qemu_version, sizeof(v.qemu_version));
	if (ok)
		ok = strcmp(k.kernel_id, key->kernel_id) == 0 && strcmp(k.qemu, key->qemu) == 0 &&
		     strcmp(k.kvm, key->kvm) == 0 && strcmp(k.boot_id, key->boot_id) == 0;
	if (ok) {
		v.kvm_usable = json_is_true(usable);
		v.pvm = json_is_true(pvm);
		v.probe_ns = (uint64_t)json_integer_value(ns);
		v.probed_at = (int64_t)json_integer_value(at);
		v.cached = true;
		*out = v;
	}
	json_decref(j);
	return ok ? 1 : 0;
}

int vmm_accel_cache_store(const char *path, const struct vmm_accel_key *key,
			  const struct vmm_accel_verdict *v, kumo_error_t *err)
{
	json_t *j = json_pack("{s:i, s:{s:s, s:s, s:s, s:s}, s:b, s:b, s:s, s:s, s:s, s:I, s:I}",
			      "version", CACHE_VERSION, "key", "kernel_id", key->kernel_id, "qemu",
			      key->qemu, "kvm", key->kvm, "boot_id", key->boot_id, "kvm_usable",
			      v->kvm_usable, "pvm", v->pvm, "reason", v->reason, "detail",
			      v->detail, "qemu_version", v->qemu_version, "probe_ns",
			      (json_int_t)v->probe_ns, "probed_at", (json_int_t)v->probed_at);
	if (!j)
		return kumo_error(err, KUMO_E_INTERNAL, "accel cache `%s`: cannot encode the verdict",
				  path);
	autofree char *text = json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	return kumo_write_file_atomic(path, text, strlen(text), 0644, err);
}

extern char **environ;

/* Runs argv (no shell), waits; returns its exit status (0-255) or -1 with *err when it
 * could not run. Output goes to *out when out is not NULL (caller frees). */
static int run_cmd(char *const argv[], char **out, kumo_error_t *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return kumo_error_errno(err, errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return kumo_error_errno(err, rc, "run `%s`", argv[0]);
	}
	size_t len = 0, cap = 256;
	char *buf = xmalloc(cap);
	for (;;) {
		if (len + 1 == cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t n = read(p[0], buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* `qemu --version`'s first line ("QEMU emulator version 7.2.22 (...)"). */
static void qemu_version(const char *bin, char *out, size_t cap)
{
	char *argv[] = {(char *)bin, "--version", NULL};
	char *text = NULL;
	kumo_error_t err = NULL;
	out[0] = 0;
	if (run_cmd(argv, &text, &err) == 0 && text) {
		text[strcspn(text, "\r\n")] = 0;
		const char *v = strncmp(text, "QEMU emulator version ", 22) == 0 ? text + 22 : text;
		snprintf(out, cap, "%s", v);
	}
	kumo_error_free(&err);
	free(text);
}

static void remove_tree(const char *dir)
{
	char *argv[] = {"rm", "-rf", (char *)dir, NULL};
	kumo_error_t err = NULL;
	if (run_cmd(argv, NULL, &err) != 0)
		log_debug("vmm: could not remove `%s`", dir);
	kumo_error_free(&err);
}

static bool file_has(const char *path, const char *needle)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	bool found = kumo_read_file(path, 1 << 20, &buf, &len, &err) == 0 &&
		     strstr((char *)buf, needle) != NULL;
	kumo_error_free(&err);
	free(buf);
	return found;
}

/* How the probe VM ended → the verdict. */
static void verdict_of_probe(struct vmm_accel_verdict *v, int waited,
			     const struct kumo_exit_record *x,
			     bool record, int deadline)
{
	if (waited == 1 && record) {
		v->kvm_usable = true;
		snprintf(v->reason, sizeof(v->reason), "kvm: ok, probe %llu ms",
			 (unsigned long long)(v->probe_ns / 1000000));
	} else if (waited != 1 || strstr(x->msg, "no sign of life")) {
		/* Maybe only a loaded host: decide again next time. */
		v->transient = true;
		snprintf(v->reason, sizeof(v->reason), "kvm: the probe gave no answer within %d ms",
			 deadline);
	} else if (x->kind == KUMO_EXIT_CRASHED) {
		snprintf(v->detail, sizeof(v->detail), "%s", x->msg);
		if (v->pvm)
			snprintf(v->reason, sizeof(v->reason), "kvm: PVM host, guest not PVM-aware");
		else if (strstr(x->msg, "KVM internal error"))
			snprintf(v->reason, sizeof(v->reason), "kvm: internal error in probe: %s",
				 x->msg);
		else
			snprintf(v->reason, sizeof(v->reason), "kvm: probe failed: %s", x->msg);
	} else {
		snprintf(v->reason, sizeof(v->reason),
			 "kvm: probe failed: the kernel did not answer the probe (exit status %u)",
			 x->status);
	}
}

/* Boots p->kernel under KVM in probe mode (QEMU-direct) and fills *v from how it ends. */
static void probe(const struct vmm_accel_probe *p, const char *qemu, struct vmm_accel_verdict *v)
{
	int deadline = p->deadline_ms > 0 ? p->deadline_ms : VMM_ACCEL_PROBE_DEADLINE_MS;
	char dir[] = "/tmp/kumo-probe-XXXXXX";
	if (!mkdtemp(dir)) {
		snprintf(v->reason, sizeof(v->reason), "kvm: not probed (no temporary directory: %s)",
			 strerror(errno));
		v->transient = true;
		return;
	}
	autofree char *run_dir = xasprintf("%s/vm", dir);
	autofree char *name = xasprintf("kumo-probe-%d", (int)getpid());
	/* No jail: the probe boots kumo's own kernel in probe mode, no tenant's code, and
	 * runs before any VM (and from places the jail's user cannot reach, in tests). */
	struct vmm_config vc = {.backend = VMM_BACKEND_QEMU, .qemu_binary = qemu,
				.accel = VMM_ACCEL_KVM, .dev_kvm = p->dev_kvm, .jail_off = true};
	struct vmm_spec spec = {.name = name, .kernel = p->kernel,
				.cmdline = KUMO_BOOT_CMDLINE_PROBE,
				.memory_mib = VMM_MEMORY_FLOOR_MIB, .vcpus = 1, .run_dir = run_dir,
				.stdout_fd = -1, .stderr_fd = -1,
				.life_deadline_ms = (unsigned)deadline};
	struct vmm *vmm = NULL;
	struct vmm_vm *vm = NULL;
	kumo_error_t err = NULL;
	struct kumo_exit_record x = {0};
	int waited = 0;
	uint64_t t0 = kumo_now_ns();
	autofree char *exit_raw = xasprintf("%s/%s", run_dir, VMM_RAW_EXIT);
	if (vmm_open(&vc, &vmm, &err) < 0 || vmm_create(vmm, &spec, &vm, &err) < 0 ||
	    vmm_start(vm, &err) < 0) {
		snprintf(v->reason, sizeof(v->reason), "kvm: QEMU cannot run a VM under KVM: %s",
			 kumo_error_msg(err));
		snprintf(v->detail, sizeof(v->detail), "%s", kumo_error_msg(err));
	} else {
		/* The watchdog ends a silent VM at the deadline; this bounds a VM that wrote
		 * its boot record and then went quiet. */
		waited = vmm_wait(vm, deadline, &x, &err);
		v->probe_ns = kumo_now_ns() - t0;
		verdict_of_probe(v, waited, &x, file_has(exit_raw, KUMO_PROBE_RECORD_OK), deadline);
	}
	if (!v->probe_ns)
		v->probe_ns = kumo_now_ns() - t0;
	v->probed_at = (int64_t)time(NULL);
	kumo_error_free(&err);
	vmm_vm_free(vm);
	vmm_close(vmm);
	remove_tree(dir);
}

int vmm_accel_verdict(const struct vmm_accel_probe *p, struct vmm_accel_verdict *out,
		      kumo_error_t *err)
{
	struct vmm_accel_verdict v = {0};
	const char *dev = or_default(p->dev_kvm, "/dev/kvm");
	v.pvm = module_loaded(or_default(p->sys_module, "/sys/module"), "kvm_pvm");
	if (access(dev, F_OK) < 0) {
		snprintf(v.reason, sizeof(v.reason), "kvm: no %s", dev);
		*out = v;
		return 0;
	}
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(v.reason, sizeof(v.reason), "kvm: %s does not open: %s", dev,
			 strerror(errno));
		*out = v;
		return 0;
	}
	close(fd);
	struct vmm_accel_key key;
	if (vmm_accel_host_key(p, &key, err) < 0)
		return kumo_error_wrap(err, "probe kvm");
	const char *dir = cache_dir_of(p);
	autofree char *path = vmm_accel_cache_path(dir, &key);
	if (vmm_accel_cache_load(path, &key, out) == 1)
		return 0;
	/* One probe per host at a time: a second caller waits, then reads its verdict. */
	kumo_error_t derr = NULL;
	int lock = -1;
	if (kumo_mkdir_p(dir, 0755, &derr) == 0) {
		autofree char *lp = xasprintf("%s/accel.lock", dir);
		lock = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lock >= 0 && flock(lock, LOCK_EX) == 0 &&
		    vmm_accel_cache_load(path, &key, out) == 1) {
			close(lock);
			return 0;
		}
	} else {
		log_debug("vmm: accel cache: %s", kumo_error_msg(derr));
	}
	kumo_error_free(&derr);
	autofree char *kernel = p->kernel && *p->kernel ? xstrdup(p->kernel) : NULL;
	if (!kernel && p->get_kernel && p->get_kernel(p->get_kernel_ctx, &kernel, &derr) < 0) {
		snprintf(v.reason, sizeof(v.reason), "kvm: not probed (%s)", kumo_error_msg(derr));
		kumo_error_free(&derr);
		v.transient = true;
	} else if (!kernel) {
		snprintf(v.reason, sizeof(v.reason), "kvm: not probed (no kumo kernel to probe with)");
		v.transient = true;
	} else {
		autofree char *qemu = find_qemu(or_default(p->qemu_binary, "qemu-system-x86_64"));
		qemu_version(qemu, v.qemu_version, sizeof(v.qemu_version));
		struct vmm_accel_probe with = *p;
		with.kernel = kernel;
		probe(&with, qemu, &v);
	}
	if (!v.transient && vmm_accel_cache_store(path, &key, &v, &derr) < 0) {
		log_debug("vmm: accel cache: %s", kumo_error_msg(derr));
		kumo_error_free(&derr);
	}
	if (lock >= 0)
		close(lock);
	*out = v;
	return 0;
}

int vmm_accel_resolve(enum vmm_accel want, const struct vmm_accel_probe *p, enum vmm_accel *out,
		      struct vmm_accel_verdict *v, kumo_error_t *err)
{
	struct vmm_accel_verdict local;
	if (!v)
		v = &local;
	memset(v, 0, sizeof(*v));
	if (want == VMM_ACCEL_TCG) {
		snprintf(v->reason, sizeof(v->reason), "tcg: asked for");
		*out = VMM_ACCEL_TCG;
		return 0;
	}
	if (vmm_accel_verdict(p, v, err) < 0)
		return -1;
	if (v->kvm_usable) {
		*out = VMM_ACCEL_KVM;
		return 0;
	}
	if (want == VMM_ACCEL_KVM)
		return kumo_error(err, KUMO_E_UNAVAILABLE, "kvm was asked for but is unusable (%s)",
				  v->reason);
	*out = VMM_ACCEL_TCG;
	return 0;
}
