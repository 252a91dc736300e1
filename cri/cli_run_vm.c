/* cri/cli_run_vm.c - `kumo run APP`: build the kernel image, boot it, relay its output. */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "cri/cli.h"
#include "cri/cli_run_vm.h"
#include "vmm/vmm.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void remove_tree(const char *dir)
{
	autofree char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		log_warn("could not remove `%s`", dir);
}

/* Maps the VM's end to our exit status, saying what happened on stderr. */
static int exit_status(const struct vmm_exit *x)
{
	switch (x->reason) {
	case VMM_EXIT_COMPLETED:
	case VMM_EXIT_ERROR:
		return x->code & 0xff;
	case VMM_EXIT_TRAP:
	case VMM_EXIT_OOM:
		fprintf(stderr, "kumo: trap: %s\n", x->trap);
		return KUMO_EXIT_TRAP;
	case VMM_EXIT_PANIC:
		fprintf(stderr, "kumo: the kernel failed: %s\n", x->trap);
		return KUMO_EXIT_FAILURE;
	case VMM_EXIT_KILLED:
		return 130;
	case VMM_EXIT_CRASHED:
	default:
		fprintf(stderr, "kumo: the VM stopped without an exit record (QEMU or kernel crash)\n");
		return KUMO_EXIT_FAILURE;
	}
}

/* Boots kernel+initrd and waits for the end; returns the exit status, or -1 with *err. */
static int boot(const struct kumo_run_vm_opts *o, const char *kernel, const char *initrd,
		const char *console, uint64_t build_ns, bool cached, kumo_error_t *err)
{
	unsigned mib = o->mem_bytes ? (unsigned)(o->mem_bytes >> 20) : VMM_MEMORY_DEFAULT_MIB;
	if (mib < VMM_MEMORY_FLOOR_MIB)
		return kumo_error(err, KUMO_E_INVALID, "--mem %u MiB is below the %u MiB a VM needs",
				  mib, VMM_MEMORY_FLOOR_MIB);
	struct vmm_config vc = {.backend = o->libvirt ? VMM_BACKEND_LIBVIRT : VMM_BACKEND_QEMU};
	struct vmm *vmm = NULL;
	if (vmm_open(&vc, &vmm, err) < 0)
		return -1;
	bool kvm = strcmp(vmm_accel_name(vmm), "kvm") == 0;
	if (o->verbose || !kvm)
		fprintf(stderr, "kumo: running `%s` in a VM (%s, %s%s)\n", o->app,
			vmm_backend_name(vmm), vmm_accel_name(vmm),
			kvm ? "" : ": no usable /dev/kvm, slower");
	autofree char *name = xasprintf("kumo-run-%d", (int)getpid());
	struct vmm_spec spec = {
		.name = name, .kernel = kernel, .initrd = initrd, .memory_mib = mib,
		.vcpus = 1, .run_dir = console, .stdout_fd = 1, .stderr_fd = 2,
	};
	struct sigaction sa = {.sa_handler = on_sigint}, old_int, old_term;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	int status = -1;
	struct vmm_vm *vm = NULL;
	struct vmm_exit x;
	uint64_t t_started = 0;
	if (vmm_create(vmm, &spec, &vm, err) < 0)
		goto out;
	/* Taken before the resume: a guest may print before vmm_start returns. */
	t_started = kumo_now_ns();
	if (vmm_start(vm, err) < 0)
		goto out;
	for (;;) {
		int w = vmm_wait(vm, 100, &x, err);
		if (w < 0)
			goto out;
		if (w == 1)
			break;
		if (interrupted && vmm_stop(vm, 0, err) < 0)
			goto out;
	}
	status = exit_status(&x);
	if (o->verbose) {
		uint64_t first = vmm_vm_first_output_ns(vm);
		fprintf(stderr,
			"kumo: build %.1f ms (%s), start->first output %.1f ms, start->exit %.1f ms\n",
			(double)build_ns / 1e6, cached ? "cached" : "linked",
			first >= t_started ? (double)(first - t_started) / 1e6 : -1.0,
			(double)(x.exited_ns - t_started) / 1e6);
	}
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	vmm_vm_free(vm);
	vmm_close(vmm);
	return status;
}

int kumo_run_vm(const struct kumo_run_vm_opts *o)
{
	autoerror kumo_error_t err = NULL;
	uint64_t t0 = kumo_now_ns();
	uint8_t *wasm = NULL;
	size_t len = 0;
	struct kumo_image_result img;
	if (kumo_read_file(o->app, 1u << 30, &wasm, &len, &err) < 0) {
		fprintf(stderr, "kumo run: %s\n", kumo_error_msg(err));
		return KUMO_EXIT_FAILURE;
	}
	int r = kumo_build_image(NULL, wasm, len, &img, &err);
	free(wasm);
	if (r < 0) {
		fprintf(stderr, "kumo run: `%s`: %s\n", o->app, kumo_error_msg(err));
		return KUMO_EXIT_FAILURE;
	}
	uint64_t build_ns = kumo_now_ns() - t0;
	char run_dir[] = "/tmp/kumo-run-XXXXXX";
	if (!mkdtemp(run_dir)) {
		fprintf(stderr, "kumo run: cannot create a run directory in /tmp\n");
		kumo_image_result_free(&img);
		return KUMO_EXIT_FAILURE;
	}
	autofree char *initrd = xasprintf("%s/initrd.img", run_dir);
	autofree char *console = xasprintf("%s/console", run_dir);
	autofree struct kumo_boot_preopen *pre = xzalloc((o->ndirs + 1) * sizeof(*pre));
	for (size_t i = 0; i < o->ndirs; i++)
		pre[i] = (struct kumo_boot_preopen){o->dirs[i].prefix, o->dirs[i].prefix, false};
	struct kumo_boot_config cfg = {
		.args = o->argv, .nargs = o->argc, .env = o->env, .nenv = o->nenv,
		.preopens = pre, .npreopens = o->ndirs,
	};
	int status = -1;
	if (kumo_write_initrd(initrd, &cfg, o->dirs, o->ndirs, &err) == 0)
		status = boot(o, img.image_path, initrd, console, build_ns, img.cache_hit, &err);
	if (status < 0) {
		fprintf(stderr, "kumo run: `%s`: %s\n", o->app, kumo_error_msg(err));
		status = KUMO_EXIT_FAILURE;
	}
	kumo_image_result_free(&img);
	remove_tree(run_dir);
	return status;
}
