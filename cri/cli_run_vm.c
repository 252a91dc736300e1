/* cri/cli_run_vm.c - `kumo run APP`: build the kernel image, boot it, relay its output;
 * with --net/--listen, a NIC on the node bridge for the run's lifetime. */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "cri/accel_choice.h"
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
static int exit_status(const struct kumo_exit_record *x)
{
	switch (x->kind) {
	case KUMO_EXIT_EXITED:
		return (int)(x->status & 0xff);
	case KUMO_EXIT_TRAPPED:
	case KUMO_EXIT_OOM:
		fprintf(stderr, "kumo: trap: %s\n", x->msg);
		return KUMO_EXIT_TRAP;
	case KUMO_EXIT_PANICKED:
		fprintf(stderr, "kumo: the kernel failed: %s\n", x->msg);
		return KUMO_EXIT_FAILURE;
	case KUMO_EXIT_KILLED:
		return 130;
	case KUMO_EXIT_CRASHED:
	default:
		fprintf(stderr, "kumo: the VM failed: %s\n",
			x->msg[0] ? x->msg : "it stopped without an exit record");
		return KUMO_EXIT_FAILURE;
	}
}

/* Boots kernel+initrd and waits for the end; returns the exit status, or -1 with *err. */
static int boot(const struct kumo_run_vm_opts *o, const char *kernel, const char *kernel_id,
		const char *initrd, const char *console, const struct vmm_net_attach *net,
		const struct vmm_share *shares, size_t nshares, uint64_t build_ns, bool cached,
		kumo_error_t *err)
{
	unsigned mib = o->mem_bytes ? (unsigned)(o->mem_bytes >> 20) : VMM_MEMORY_DEFAULT_MIB;
	if (mib < VMM_MEMORY_FLOOR_MIB)
		return kumo_error(err, KUMO_E_INVALID, "--mem %u MiB is below the %u MiB a VM needs",
				  mib, VMM_MEMORY_FLOOR_MIB);
	enum vmm_accel want = VMM_ACCEL_AUTO;
	if (o->accel && vmm_accel_parse(o->accel, &want, err) < 0)
		return -1;
	/* The app's own image is the probe: probe mode stops before the app runs. */
	struct cri_accel choice;
	if (cri_accel_choose(want, kernel, kernel_id, NULL, &choice, err) < 0)
		return -1;
	struct vmm_config vc = {.backend = o->libvirt ? VMM_BACKEND_LIBVIRT : VMM_BACKEND_QEMU,
				.accel = choice.accel};
	struct vmm *vmm = NULL;
	if (vmm_open(&vc, &vmm, err) < 0)
		return -1;
	if (o->verbose)
		fprintf(stderr, "kumo: running `%s` in a VM (%s, %s)\n", o->app,
			vmm_backend_name(vmm), choice.line);
	else if (choice.fell_back)
		fprintf(stderr, "kumo: %s\n", choice.line);
	autofree char *name = xasprintf("kumo-run-%d", (int)getpid());
	struct vmm_spec spec = {
		.name = name, .kernel = kernel, .initrd = initrd, .memory_mib = mib,
		.vcpus = 1, .run_dir = console, .stdout_fd = 1, .stderr_fd = 2, .net = net,
		.shares = shares, .nshares = nshares,
	};
	int status = -1;
	struct vmm_vm *vm = NULL;
	struct kumo_exit_record x;
	uint64_t exited_ns = 0;
	uint64_t t_started = 0;
	if (interrupted || vmm_create(vmm, &spec, &vm, err) < 0)
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
	vmm_vm_exit(vm, &x, &exited_ns);
	if (o->verbose) {
		uint64_t first = vmm_vm_first_output_ns(vm);
		fprintf(stderr,
			"kumo: build %.1f ms (%s), start->first output %.1f ms, start->exit %.1f ms\n",
			(double)build_ns / 1e6, cached ? "cached" : "linked",
			first >= t_started ? (double)(first - t_started) / 1e6 : -1.0,
			(double)(exited_ns - t_started) / 1e6);
	}
out:
	if (interrupted && status < 0 && !*err)
		status = 130;
	vmm_vm_free(vm);
	vmm_close(vmm);
	return status;
}

/* The network this run joins: kumod's bridge and IPAM (vmm.h defaults, $KUMO_BRIDGE,
 * $KUMO_POD_CIDR, ${KUMO_ROOT:-/var/lib/kumo}/net). The CIDR the node already has
 * (kumod may have taken kubelet's) wins over the default, so a run never re-addresses
 * the bridge under running pods. Strings are malloc'd into *cfg. */
static void net_config(struct vmm_net_config *cfg)
{
	const char *root = getenv("KUMO_ROOT");
	const char *bridge = getenv("KUMO_BRIDGE");
	const char *cidr = getenv("KUMO_POD_CIDR");
	cfg->state_dir = xasprintf("%s/" VMM_NET_STATE_SUBDIR, root && *root ? root
										 : BUILDER_DEFAULT_ROOT);
	cfg->bridge = xstrdup(bridge && *bridge ? bridge : VMM_NET_DEFAULT_BRIDGE);
	if (cidr && *cidr) {
		cfg->cidr = xstrdup(cidr);
		return;
	}
	autofree char *rec = xasprintf("%s/node-cidr", cfg->state_dir);
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t rerr = NULL;
	if (kumo_read_file(rec, 64, &buf, &len, &rerr) == 0 && len > 0) {
		buf[strcspn((char *)buf, "\n")] = 0;
		cfg->cidr = (char *)buf;
		return;
	}
	kumo_error_free(&rerr);
	free(buf);
	cfg->cidr = xstrdup(VMM_NET_DEFAULT_CIDR);
}

static void net_config_clear(struct vmm_net_config *cfg)
{
	free((char *)cfg->state_dir);
	free((char *)cfg->bridge);
	free((char *)cfg->cidr);
}

/* What this run's VM gets on the network (owned strings for the boot config). */
struct run_net {
	struct vmm_net_config cfg;
	char owner[64];           /* IPAM owner / pod record name: run-<pid>-<ns> */
	struct vmm_net_pod pod;   /* address, gateway, tap, MAC */
	struct vmm_net_attach attach;
	char address[24];         /* "A.B.C.D/P" */
	char dns[2][16];
	const char *dnsv[2];
	struct builder_net boot;
	bool up;                  /* tap and address exist: tear down at the end */
};

/* Bridge (idempotent), address, tap; fills rn->boot. */
static int net_up(const struct kumo_run_vm_opts *o, struct run_net *rn, kumo_error_t *err)
{
	net_config(&rn->cfg);
	snprintf(rn->owner, sizeof(rn->owner), "run-%d-%llu", (int)getpid(),
		 (unsigned long long)kumo_now_ns());
	if (vmm_net_node_setup(&rn->cfg, err) < 0 ||
	    vmm_net_pod_setup(&rn->cfg, rn->owner, NULL, 0, &rn->pod, err) < 0) {
		if (geteuid() != 0)
			return kumo_error_wrap(err, "--net needs root (CAP_NET_ADMIN) to make the "
						    "bridge `%s` and a tap; run as root, or drop "
						    "--net/--listen", rn->cfg.bridge);
		return kumo_error_wrap(err, "--net");
	}
	rn->up = true;
	fprintf(stderr, "kumo: VM address %s\n", rn->pod.ip);
	fflush(stderr);
	rn->attach.tap = rn->pod.tap;
	memcpy(rn->attach.mac, rn->pod.mac, 6);
	snprintf(rn->address, sizeof(rn->address), "%s/%u", rn->pod.ip, rn->pod.prefix);
	size_t ndns = vmm_net_host_dns(NULL, rn->dns, 2);
	if (ndns == 0) {
		/* Only loopback resolvers on the host: the gateway, which answers when a
		 * resolver listens on the bridge address (e.g. dnsmasq). */
		memcpy(rn->dns[0], rn->pod.gateway, sizeof(rn->dns[0]));
		ndns = 1;
	}
	for (size_t i = 0; i < ndns; i++)
		rn->dnsv[i] = rn->dns[i];
	rn->boot = (struct builder_net){
		.has_mac = true, .address = rn->address, .gateway = rn->pod.gateway,
		.dns = rn->dnsv, .ndns = ndns, .listen = o->listen, .nlisten = o->nlisten,
	};
	memcpy(rn->boot.mac, rn->pod.mac, 6);
	return 0;
}

/* Removes the tap and frees the address (idempotent); says so when it cannot. */
static void net_down(struct run_net *rn)
{
	if (rn->up) {
		kumo_error_t err = NULL;
		if (vmm_net_pod_teardown(&rn->cfg, rn->owner, &err) < 0)
			fprintf(stderr, "kumo run: removing the VM's network: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		rn->up = false;
	}
	net_config_clear(&rn->cfg);
}

int kumo_run_vm(const struct kumo_run_vm_opts *o)
{
	autoerror kumo_error_t err = NULL;
	char run_dir[] = "/tmp/kumo-run-XXXXXX";
	if (!mkdtemp(run_dir)) {
		fprintf(stderr, "kumo run: cannot create a run directory in /tmp\n");
		return KUMO_EXIT_FAILURE;
	}
	autofree char *console = xasprintf("%s/console", run_dir);
	/* builder's lists end with NULL. */
	autofree const char **argv = xzalloc((o->argc + 1) * sizeof(char *));
	for (size_t i = 1; i < o->argc; i++)
		argv[i - 1] = o->argv[i];
	autofree const char **env = xzalloc((o->nenv + 1) * sizeof(char *));
	for (size_t i = 0; i < o->nenv; i++)
		env[i] = o->env[i];
	/* From here on Ctrl-C and SIGTERM stop the VM and let the network be torn down. */
	struct sigaction sa = {.sa_handler = on_sigint}, old_int, old_term;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	struct run_net *rn = xzalloc(sizeof(*rn));
	int status = -1;
	bool want_net = o->net || o->nlisten > 0;
	bool net_ok = !want_net || net_up(o, rn, &err) == 0;
	/* Each --dir is a host share, live (virtio-9p): mounted at its guest path and
	 * preopened there; the app's writes land in the host directory. */
	struct builder_input in = {
		.module = {.path = o->app},
		.argv0 = o->argc ? o->argv[0] : NULL,
		.argv = argv,
		.env = env,
		.mounts = o->dirs,
		.nmounts = o->ndirs,
		.net = want_net ? &rn->boot : NULL,
		.run_dir = run_dir,
	};
	struct builder_artifact art = {0};
	bool built = false;
	if (net_ok && builder_prepare(&in, &art, &err) == 0) {
		built = true;
		autofree struct vmm_share *shares = xzalloc((art.nshares + 1) * sizeof(*shares));
		for (size_t i = 0; i < art.nshares; i++)
			shares[i] = (struct vmm_share){.host_path = art.shares[i].host_path,
						       .tag = art.shares[i].tag,
						       .readonly = art.shares[i].readonly};
		status = boot(o, art.kernel, art.kernel_id, art.initrd, console,
			      want_net ? &rn->attach : NULL, shares, art.nshares, art.build_ns,
			      art.image_cached, &err);
	}
	if (status < 0) {
		fprintf(stderr, "kumo run: `%s`: %s\n", o->app,
			err ? kumo_error_msg(err) : "interrupted");
		status = err ? KUMO_EXIT_FAILURE : 130;
	}
	if (want_net)
		net_down(rn);
	free(rn);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (built)
		builder_artifact_free(&art);
	remove_tree(run_dir);
	return status;
}
