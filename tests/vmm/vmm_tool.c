/* tests/vmm/vmm_tool.c - drives vmm/ from the command line for the integration tests
 * and `make bench-vmm`: boot one VM, time create→first output and stop→gone, start
 * many at once.
 *
 *   vmm-tool run   [opts] KERNEL [CMDLINE]   boot, stream the console, exit with its code
 *   vmm-tool bench [opts] KERNEL             --runs N: per-run "create_ms first_ms stop_ms"
 *   vmm-tool many  [opts] KERNEL             --count N VMs at once: totals and RSS
 * opts: --backend qemu|libvirt  --mem MIB  --name NAME  --dir RUN_DIR  --log CRI_LOG
 *       --runs N  --count N  --stop-grace MS
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/vmm.h"

struct opts {
	enum vmm_backend backend;
	unsigned mem;
	const char *name;
	const char *dir;
	const char *log;
	int runs, count, grace;
	const char *kernel;
	const char *cmdline;
	enum vmm_accel accel; /* --accel: the test helper's verdict (tests/accel.sh) */
};

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int open_vmm(const struct opts *o, struct vmm **out)
{
	kumo_error_t err = NULL;
	struct vmm_config cfg = {.backend = o->backend, .accel = o->accel};
	if (vmm_open(&cfg, out, &err) < 0) {
		fprintf(stderr, "vmm-tool: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		return -1;
	}
	return 0;
}

static void fill_spec(const struct opts *o, struct vmm_spec *s, const char *name, const char *dir,
		      const char *cmdline)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->kernel = o->kernel;
	s->cmdline = cmdline;
	s->memory_mib = o->mem;
	s->vcpus = 1;
	s->run_dir = dir;
	s->stdout_fd = -1;
	s->stderr_fd = -1;
}

/* How it ended, in one word. */
static const char *reason_name(const struct kumo_exit_record *x)
{
	switch (x->kind) {
	case KUMO_EXIT_EXITED: return x->status ? "error" : "completed";
	case KUMO_EXIT_TRAPPED: return "trap";
	case KUMO_EXIT_OOM: return "oom";
	case KUMO_EXIT_KILLED: return "killed";
	case KUMO_EXIT_CRASHED: return "crashed";
	case KUMO_EXIT_PANICKED: return "panic";
	}
	return "?";
}

static int cmd_run(const struct opts *o)
{
	struct vmm *vmm;
	if (open_vmm(o, &vmm) < 0)
		return 125;
	fprintf(stderr, "vmm-tool: backend %s, accel %s\n", vmm_backend_name(vmm),
		vmm_accel_name(vmm));
	struct vmm_spec s;
	fill_spec(o, &s, o->name, o->dir, o->cmdline);
	s.stdout_fd = 1;
	s.stderr_fd = 2;
	s.log_path = o->log;
	struct vmm_vm *vm = NULL;
	kumo_error_t err = NULL;
	struct kumo_exit_record ex;
	int code = 125;
	signal(SIGINT, on_sigint);
	if (vmm_create(vmm, &s, &vm, &err) < 0 || vmm_start(vm, &err) < 0)
		goto out;
	for (;;) {
		int r = vmm_wait(vm, 100, &ex, &err);
		if (r < 0)
			goto out;
		if (r == 1)
			break;
		if (interrupted) {
			if (vmm_stop(vm, o->grace, &err) < 0)
				goto out;
		}
	}
	/* The record's message for traps and panics, the cause of a crash. */
	const char *msg = ex.kind == KUMO_EXIT_EXITED || ex.kind == KUMO_EXIT_KILLED ? "" : ex.msg;
	fprintf(stderr, "vmm-tool: exit %s %u%s%s\n", reason_name(&ex), ex.status,
		msg[0] ? " " : "", msg);
	code = ex.status;
out:
	if (err)
		fprintf(stderr, "vmm-tool: %s\n", kumo_error_msg(err));
	kumo_error_free(&err);
	vmm_vm_free(vm);
	vmm_close(vmm);
	return code;
}

static double ms(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e6;
}

/* One VM: create (paused) → start → first output; then a hanging guest's stop → gone.
 * The fixture prints a line and hangs, so stop→gone is the destroy path. */
static int cmd_bench(const struct opts *o)
{
	struct vmm *vmm;
	if (open_vmm(o, &vmm) < 0)
		return 125;
	printf("# backend %s accel %s runs %d\n", vmm_backend_name(vmm), vmm_accel_name(vmm),
	       o->runs);
	printf("# create_ms resume_to_first_ms create_to_first_ms stop_to_gone_ms\n");
	int rc = 0;
	for (int i = 0; i < o->runs && !rc; i++) {
		autofree char *name = xasprintf("%s-%d", o->name, i);
		autofree char *dir = xasprintf("%s/%s", o->dir, name);
		struct vmm_spec s;
		fill_spec(o, &s, name, dir, "out=ready hang");
		struct vmm_vm *vm = NULL;
		kumo_error_t err = NULL;
		uint64_t t0 = kumo_now_ns();
		if (vmm_create(vmm, &s, &vm, &err) < 0) {
			fprintf(stderr, "vmm-tool: %s\n", kumo_error_msg(err));
			kumo_error_free(&err);
			rc = 1;
			break;
		}
		uint64_t t1 = kumo_now_ns();
		if (vmm_start(vm, &err) < 0)
			goto fail;
		uint64_t first;
		while (!(first = vmm_vm_first_output_ns(vm)))
			usleep(200);
		uint64_t t3 = kumo_now_ns();
		if (vmm_stop(vm, 0, &err) < 0)
			goto fail;
		uint64_t t4 = kumo_now_ns();
		printf("%.3f %.3f %.3f %.3f\n", ms(t0, t1), ms(t1, first), ms(t0, first), ms(t3, t4));
		fflush(stdout);
		vmm_vm_free(vm);
		continue;
fail:
		fprintf(stderr, "vmm-tool: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		vmm_vm_free(vm);
		rc = 1;
	}
	vmm_close(vmm);
	return rc;
}

/* N VMs created and started at once, then stopped: total times and QEMU RSS. */
static int cmd_many(const struct opts *o)
{
	struct vmm *vmm;
	if (open_vmm(o, &vmm) < 0)
		return 125;
	int n = o->count;
	struct vmm_vm **vms = xzalloc((size_t)n * sizeof(*vms));
	char **names = xzalloc((size_t)n * sizeof(char *));
	char **dirs = xzalloc((size_t)n * sizeof(char *));
	kumo_error_t err = NULL;
	int rc = 0;
	uint64_t t0 = kumo_now_ns();
	for (int i = 0; i < n; i++) {
		names[i] = xasprintf("%s-%d", o->name, i);
		dirs[i] = xasprintf("%s/%s", o->dir, names[i]);
		struct vmm_spec s;
		fill_spec(o, &s, names[i], dirs[i], "out=ready hang");
		if (vmm_create(vmm, &s, &vms[i], &err) < 0 || vmm_start(vms[i], &err) < 0) {
			rc = 1;
			goto out;
		}
	}
	for (int i = 0; i < n; i++)
		while (!vmm_vm_first_output_ns(vms[i]))
			usleep(1000);
	uint64_t t1 = kumo_now_ns();
	uint64_t rss = 0;
	for (int i = 0; i < n; i++) {
		struct vmm_stats st;
		if (vmm_vm_stats(vms[i], &st, &err) < 0) {
			rc = 1;
			goto out;
		}
		rss += st.memory_bytes;
	}
	uint64_t t2 = kumo_now_ns();
	for (int i = 0; i < n; i++)
		if (vmm_stop(vms[i], 0, &err) < 0) {
			rc = 1;
			goto out;
		}
	uint64_t t3 = kumo_now_ns();
	printf("many: backend %s accel %s vms %d all-first-output-ms %.1f stop-all-ms %.1f "
	       "rss-per-vm-mib %.1f\n",
	       vmm_backend_name(vmm), vmm_accel_name(vmm), n, ms(t0, t1), ms(t2, t3),
	       (double)rss / n / 1048576.0);
out:
	if (err)
		fprintf(stderr, "vmm-tool: %s\n", kumo_error_msg(err));
	kumo_error_free(&err);
	for (int i = 0; i < n; i++) {
		vmm_vm_free(vms[i]);
		free(names[i]);
		free(dirs[i]);
	}
	free(vms);
	free(names);
	free(dirs);
	vmm_close(vmm);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {.backend = VMM_BACKEND_QEMU, .mem = 32, .name = "kumo-vmm-tool",
			 .dir = "/tmp/kumo-vmm-tool", .runs = 50, .count = 50, .grace = 0};
	static const struct option lo[] = {
		{"backend", 1, 0, 'b'}, {"mem", 1, 0, 'm'},  {"name", 1, 0, 'n'},
		{"dir", 1, 0, 'd'},     {"log", 1, 0, 'l'},  {"runs", 1, 0, 'r'},
		{"count", 1, 0, 'c'},   {"stop-grace", 1, 0, 'g'}, {"accel", 1, 0, 'a'},
		{0, 0, 0, 0}};
	if (argc < 2) {
		fprintf(stderr, "usage: vmm-tool run|bench|many [--accel kvm|tcg] [opts] KERNEL [CMDLINE]\n");
		return 2;
	}
	const char *cmd = argv[1];
	argv++;
	argc--;
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.backend = strcmp(optarg, "libvirt") == 0 ? VMM_BACKEND_LIBVIRT : VMM_BACKEND_QEMU;
			break;
		case 'm': o.mem = (unsigned)atoi(optarg); break;
		case 'n': o.name = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'l': o.log = optarg; break;
		case 'r': o.runs = atoi(optarg); break;
		case 'c': o.count = atoi(optarg); break;
		case 'g': o.grace = atoi(optarg); break;
		case 'a': {
			kumo_error_t err = NULL;
			if (vmm_accel_parse(optarg, &o.accel, &err) < 0) {
				fprintf(stderr, "vmm-tool: %s\n", kumo_error_msg(err));
				kumo_error_free(&err);
				return 2;
			}
			break;
		}
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vmm-tool: no kernel given\n");
		return 2;
	}
	static char kernel[PATH_MAX];
	if (!realpath(argv[optind], kernel)) {
		fprintf(stderr, "vmm-tool: kernel `%s`: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	o.kernel = kernel;
	o.cmdline = optind + 1 < argc ? argv[optind + 1] : "";
	if (strcmp(cmd, "run") == 0)
		return cmd_run(&o);
	if (strcmp(cmd, "bench") == 0)
		return cmd_bench(&o);
	if (strcmp(cmd, "many") == 0)
		return cmd_many(&o);
	fprintf(stderr, "vmm-tool: unknown command `%s`\n", cmd);
	return 2;
}
