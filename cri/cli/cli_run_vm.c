/* cri/cli/cli_run_vm.c - `kumo run APP`: build the app's artifact, boot it, relay its
 * output; with --net/--listen, a network from the node's CNI list for the run's lifetime. */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/builder.h"
#include "cri/accel_choice.h"
#include "cri/cli/cli.h"
#include "cri/cli/cli_run.h"
#include "cri/cri.h"
#include "vmm/vmm.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* The run directory goes in-process (no `rm -rf` child on every run); symlinks are not
 * followed. */
static void remove_tree(const char *dir)
{
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		log_warn("could not remove `%s`: %s", dir, strerror(errno));
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

/* Where one run's time goes (-v): CLOCK_MONOTONIC instants, 0 when not reached. */
struct run_times {
	uint64_t entered;     /* kumo_run_vm called (the command line parsed) */
	uint64_t prepared;    /* builder_prepare done: the kernel image found, initrd written */
	uint64_t chosen;      /* the accelerator chosen (a cached verdict, or a probe) */
	uint64_t created;     /* QEMU started, its machine built and resumed (vmm_run) */
	uint64_t started;     /* the same moment: the guest's time counts from here */
	uint64_t first;       /* the guest's first output seen */
	uint64_t exited;      /* its exit record read, QEMU gone */
};

/* What the kernel said of its boot on COM3 (kumo_log_boot_details). */
struct guest_boot {
	double entry_to_start_ms; /* "kernel entry to _start N us", -1 when absent */
	char clock[16];           /* its TSC's source ("kvmclock", "host", "pit", ...), "?" */
};

static void read_guest_boot(const char *console, struct guest_boot *g)
{
	*g = (struct guest_boot){.entry_to_start_ms = -1, .clock = "?"};
	autofree char *path = xasprintf("%s/%s", console, VMM_RAW_EXIT);
	autofree uint8_t *log = NULL;
	size_t n = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, 1 << 20, &log, &n, &err) < 0) {
		kumo_error_free(&err);
		return;
	}
	const char *p = memmem(log, n, "kernel entry to _start ", 23);
	unsigned long long us;
	if (p && sscanf(p + 23, "%llu us", &us) == 1)
		g->entry_to_start_ms = (double)us / 1e3;
	const char *c = memmem(log, n, ", clock ", 8);
	if (c && sscanf(c + 8, "%15[a-z0-9-]", g->clock) != 1)
		snprintf(g->clock, sizeof(g->clock), "?");
}

static double ms_between(uint64_t from, uint64_t to)
{
	return from && to >= from ? (double)(to - from) / 1e6 : -1.0;
}

/* One line: how long each stage of the run took (bench-boot's breakdown). */
static void print_times(const struct run_times *t, const struct guest_boot *g, uint64_t now)
{
	fprintf(stderr,
		"kumo: timing: prepare %.1f ms, accel %.1f ms, qemu start %.1f ms, "
		"resume->first output %.1f ms, first output->exit %.1f ms, teardown %.1f ms, "
		"in kumo run %.1f ms; guest kernel entry->_start %.2f ms, clock %s\n",
		ms_between(t->entered, t->prepared), ms_between(t->prepared, t->chosen),
		ms_between(t->chosen, t->created), ms_between(t->started, t->first),
		ms_between(t->first, t->exited), ms_between(t->exited, now),
		ms_between(t->entered, now), g->entry_to_start_ms, g->clock);
}

/* Boots kernel+initrd and waits for the end; returns the exit status, or -1 with *err. */
static int boot(const struct kumo_run_args *o, const char *kernel, const char *kernel_id,
		const char *initrd, const char *console, const struct vmm_net_attach *net,
		const struct vmm_share *shares, size_t nshares, uint64_t build_ns, bool cached,
		struct run_times *tm, kumo_error_t *err)
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
	tm->chosen = kumo_now_ns();
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
		/* Output straight from QEMU's sockets: no raw files, no inotify (closing an
		 * inotify instance waits for an RCU grace period, 12-20 ms here). */
		.console_stream = vc.backend == VMM_BACKEND_QEMU,
	};
	int status = -1;
	struct vmm_vm *vm = NULL;
	struct kumo_exit_record x;
	uint64_t exited_ns = 0;
	uint64_t t_started = 0;
	/* Created and resumed in one step: the guest runs as soon as QEMU has built its
	 * machine, a moment before vmm_run returns. */
	if (interrupted || vmm_run(vmm, &spec, &vm, err) < 0)
		goto out;
	t_started = tm->created = tm->started = kumo_now_ns();
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
	tm->first = vmm_vm_first_output_ns(vm);
	tm->exited = exited_ns;
	if (o->verbose) {
		uint64_t first = tm->first;
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

/* The network this run joins: the node's CNI network list, the one kumod's pods use
 * (kumo.json's cni_conf_dir and cni_bin_dirs, $KUMO_CNI_CONF_DIR and $KUMO_CNI_BIN_DIRS
 * first; an empty conf dir gets the default list, as kumod writes it), in a network
 * namespace of the run's own. Records live apart from kumod's
 * (${KUMO_ROOT:-/var/lib/kumo}/cni-run, pins under /run/kumo/run-netns), so neither
 * tears down the other's. Strings are malloc'd into rn. */
struct run_net {
	char *conf_dir;           /* network lists */
	char *bin_dirs;           /* plugin path, NULL: vmm's default */
	char *state_dir;          /* records of runs */
	struct vmm_podnet_config cfg;
	char id[64];              /* the run's CNI container id: run-<pid>-<ns> */
	struct vmm_podnet pn;     /* address, gateway, tap, MAC, namespace */
	struct vmm_net_attach attach;
	char address[24];         /* "A.B.C.D/P" (the on-link prefix) */
	char dns[3][16];
	const char *dnsv[3];
	const char *searchv[VMM_PODNET_MAX_DNS];
	struct builder_net boot;
	bool up;                  /* set up: tear down at the end */
};

#define RUN_NETNS_DIR "/run/kumo/run-netns"

static void net_config(struct run_net *rn)
{
	struct cri_config cc;
	bool version;
	kumo_error_t cerr = NULL;
	char *noargs[] = {"kumo", NULL};
	bool have_cfg = cri_config_load(&cc, CRI_DEFAULT_CONFIG, false, 1, noargs, &version,
					&cerr) == 0;
	kumo_error_free(&cerr);
	const char *dir = getenv("KUMO_CNI_CONF_DIR");
	const char *bins = getenv("KUMO_CNI_BIN_DIRS");
	const char *root = getenv("KUMO_ROOT");
	rn->conf_dir = xstrdup(dir && *dir ? dir
			       : have_cfg && cc.cni_conf_dir ? cc.cni_conf_dir : "/etc/cni/net.d");
	rn->bin_dirs = bins && *bins ? xstrdup(bins)
		       : have_cfg && cc.cni_bin_dirs ? xstrdup(cc.cni_bin_dirs) : NULL;
	rn->state_dir = xasprintf("%s/cni-run", root && *root ? root : BUILDER_DEFAULT_ROOT);
	if (have_cfg)
		cri_config_clear(&cc);
	rn->cfg = (struct vmm_podnet_config){.conf_dir = rn->conf_dir,
					     .plugin_path = rn->bin_dirs,
					     .netns_dir = RUN_NETNS_DIR,
					     .state_dir = rn->state_dir};
}

/* A run whose process is gone: its network goes (recovery of a kill -9). */
static bool run_alive(const char *id, void *ctx)
{
	(void)ctx;
	int pid = 0;
	if (sscanf(id, "run-%d-", &pid) != 1 || pid <= 1)
		return false;
	autofree char *comm = xasprintf("/proc/%d/comm", pid);
	autofree uint8_t *name = NULL;
	size_t n = 0;
	kumo_error_t err = NULL;
	bool alive = kumo_read_file(comm, 64, &name, &n, &err) == 0 && n >= 4 &&
		     memcmp(name, "kumo", 4) == 0;
	kumo_error_free(&err);
	return alive;
}

/* Namespace, CNI ADD, tap; fills rn->boot. */
static int net_up(const struct kumo_run_args *o, struct run_net *rn, kumo_error_t *err)
{
	net_config(rn);
	if (geteuid() != 0)
		return kumo_error(err, KUMO_E_PERMISSION,
				  "--net needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) for a network "
				  "namespace and the CNI plugins; run as root, or drop --net/--listen");
	kumo_error_t rerr = NULL;
	if (vmm_podnet_recover(&rn->cfg, run_alive, NULL, &rerr) < 0)
		log_warn("kumo run: removing the networks of ended runs: %s", kumo_error_msg(rerr));
	kumo_error_free(&rerr);
	bool written;
	if (vmm_podnet_write_default(rn->conf_dir, NULL, &written, err) < 0)
		return kumo_error_wrap(err, "--net");
	snprintf(rn->id, sizeof(rn->id), "run-%d-%llu", (int)getpid(),
		 (unsigned long long)kumo_now_ns());
	struct vmm_podnet_pod pod = {.id = rn->id, .name = "kumo-run", .namespace = "kumo"};
	rn->up = true; /* from here on a failure may leave a record: tear down */
	if (vmm_podnet_setup(&rn->cfg, &pod, &rn->pn, err) < 0)
		return kumo_error_wrap(err, "--net");
	struct vmm_podnet *pn = &rn->pn;
	fprintf(stderr, "kumo: VM address %s\n", pn->address);
	fflush(stderr);
	/* vmm takes the tap from the run's namespace (an fd for QEMU; libvirt's moves). */
	rn->attach = (struct vmm_net_attach){.tap = pn->tap, .netns = pn->netns};
	memcpy(rn->attach.mac, pn->mac, 6);
	snprintf(rn->address, sizeof(rn->address), "%s/%u", pn->address, pn->onlink_prefix);
	size_t ndns = 0;
	for (size_t i = 0; i < pn->ndns_servers && ndns < 3; i++)
		if (strchr(pn->dns_servers[i], '.') && strlen(pn->dns_servers[i]) < 16)
			snprintf(rn->dns[ndns++], sizeof(rn->dns[0]), "%s", pn->dns_servers[i]);
	if (ndns == 0)
		ndns = vmm_net_host_dns(NULL, rn->dns, 3);
	for (size_t i = 0; i < ndns; i++)
		rn->dnsv[i] = rn->dns[i];
	for (size_t i = 0; i < pn->ndns_search; i++)
		rn->searchv[i] = pn->dns_search[i];
	rn->boot = (struct builder_net){
		.has_mac = true, .address = rn->address,
		.gateway = pn->gateway[0] ? pn->gateway : NULL,
		.mtu = pn->mtu > 1500 ? 1500 : pn->mtu, .dns = rn->dnsv, .ndns = ndns,
		.search = rn->searchv, .nsearch = pn->ndns_search,
		.listen = o->listen, .nlisten = o->nlisten,
	};
	memcpy(rn->boot.mac, pn->mac, 6);
	return 0;
}

/* CNI DEL, namespace, tap (idempotent); says so when it cannot. */
static void net_down(struct run_net *rn)
{
	if (rn->up) {
		kumo_error_t err = NULL;
		if (vmm_podnet_teardown(&rn->cfg, rn->id, &err) < 0)
			fprintf(stderr, "kumo run: removing the VM's network: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		rn->up = false;
	}
	free(rn->conf_dir);
	free(rn->bin_dirs);
	free(rn->state_dir);
}

int kumo_run_vm(const struct kumo_run_args *o)
{
	struct run_times tm = {.entered = kumo_now_ns()};
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
	/* Each --dir is a host share, live (virtio-9p): mounted at its guest path and
	 * preopened there; the app's writes land in the host directory. */
	autofree struct builder_mount *mounts = xzalloc((o->ndirs + 1) * sizeof(*mounts));
	for (size_t i = 0; i < o->ndirs; i++)
		mounts[i] = (struct builder_mount){.guest_path = o->dirs[i].guest,
						   .host_path = o->dirs[i].host, .share = true};
	/* From here on Ctrl-C and SIGTERM stop the VM and let the network be torn down. */
	struct sigaction sa = {.sa_handler = on_sigint}, old_int, old_term;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	struct run_net *rn = xzalloc(sizeof(*rn));
	int status = -1;
	bool want_net = o->net || o->nlisten > 0;
	bool net_ok = !want_net || net_up(o, rn, &err) == 0;
	struct builder_input in = {
		.module = {.path = o->app},
		.argv0 = o->argc ? o->argv[0] : NULL,
		.argv = argv,
		.env = env,
		.mounts = mounts,
		.nmounts = o->ndirs,
		.net = want_net ? &rn->boot : NULL,
		.run_dir = run_dir,
	};
	struct builder_artifact art = {0};
	bool built = false;
	if (net_ok && builder_prepare(&in, &art, &err) == 0) {
		built = true;
		tm.prepared = kumo_now_ns();
		autofree struct vmm_share *shares = xzalloc((art.nshares + 1) * sizeof(*shares));
		for (size_t i = 0; i < art.nshares; i++)
			shares[i] = (struct vmm_share){.host_path = art.shares[i].host_path,
						       .tag = art.shares[i].tag,
						       .readonly = art.shares[i].readonly};
		status = boot(o, art.kernel, art.kernel_id, art.initrd, console,
			      want_net ? &rn->attach : NULL, shares, art.nshares, art.build_ns,
			      art.image_cached, &tm, &err);
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
	struct guest_boot gb;
	if (o->verbose)
		read_guest_boot(console, &gb);
	remove_tree(run_dir);
	if (o->verbose && tm.exited)
		print_times(&tm, &gb, kumo_now_ns());
	return status;
}
