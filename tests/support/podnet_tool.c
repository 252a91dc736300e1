/* tests/support/podnet_tool.c - drives vmm/'s pod networking through CNI from the command
 * line, for tests/e2e/cni-podnet.sh and the setup-time measurement (it does what
 * kumod will do per pod, one step per command, so a script can check between steps):
 *
 *   podnet-tool [opts] setup ID    set the pod's network up; prints it as JSON
 *   podnet-tool [opts] hold ID     setup, print, then wait for SIGTERM (kill -9 tests)
 *   podnet-tool [opts] get ID      the recorded setup as JSON (exit 3 when none)
 *   podnet-tool [opts] check ID    CNI CHECK
 *   podnet-tool [opts] teardown ID
 *   podnet-tool [opts] recover [LIVE_ID...]   prints `recovered N`
 *   podnet-tool [opts] ready       prints `ready` or `not ready: <reason>: <message>`
 *   podnet-tool [opts] boot ID KERNEL INITRD  boots a VM on the pod's tap (QEMU: fd from
 *                                  the pod namespace; libvirt: the pod must be set up with
 *                                  --tap-in-host, the tap moves in after create), prints
 *                                  `vm running`, streams the console, exits with the app's
 *                                  code; SIGTERM stops it
 *   podnet-tool [opts] bench N ID  N x (setup, teardown): per-run ms, then the medians
 *   podnet-tool [opts] bench-parts N ID  the parts of a setup by themselves (vmm/'s
 *                                  internals): namespace, CNI ADD (the plugins' time),
 *                                  tap + redirect; medians of N
 *   podnet-tool default-conf DIR [CIDR]  vmm_podnet_write_default; prints written|kept
 * opts: --conf-dir D --conf-file F --plugin-path P --netns-dir D --state-dir D
 *       --host-netns F --ifname I --timeout-ms N --name N --namespace NS --uid U
 *       --port PROTO:HOST:CONTAINER (repeatable) --bandwidth RATE,BURST --dns SERVER
 *       --search DOMAIN --tap-in-host --backend qemu|libvirt --run-dir D --mem MIB
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cni.h"
#include "vmm/podnet.h"
#include "vmm/vmm.h"

#define MAX_LIST 16

struct opts {
	struct vmm_podnet_config cfg;            /* from --conf-dir ... --timeout-ms */
	struct vmm_podnet_pod pod;               /* from the pod id and --name ... */
	struct vmm_port_mapping ports[MAX_LIST]; /* --port */
	struct vmm_bandwidth bw;                 /* --bandwidth */
	const char *dns[MAX_LIST];               /* --dns */
	const char *search[MAX_LIST];            /* --search */
	struct vmm_dns_config dnscfg;            /* the two above */
	enum vmm_backend backend;                /* --backend, for boot */
	const char *run_dir;                     /* --run-dir, for boot */
	unsigned mem;                            /* --mem MiB, for boot */
};

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int fail(const char *what, kumo_error_t *err)
{
	fprintf(stderr, "podnet-tool: %s: %s\n", what, kumo_error_msg(*err));
	kumo_error_free(err);
	return 1;
}

static void print_podnet(const struct vmm_podnet *p)
{
	char mac[18];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", p->mac[0], p->mac[1], p->mac[2],
		 p->mac[3], p->mac[4], p->mac[5]);
	json_t *routes = json_array(), *dns = json_array(), *search = json_array();
	for (size_t i = 0; i < p->nroutes; i++)
		json_array_append_new(routes, json_pack("{s:s, s:i, s:s}", "dst", p->routes[i].dst,
							"prefix", (int)p->routes[i].prefix, "gw",
							p->routes[i].gw));
	for (size_t i = 0; i < p->ndns_servers; i++)
		json_array_append_new(dns, json_string(p->dns_servers[i]));
	for (size_t i = 0; i < p->ndns_search; i++)
		json_array_append_new(search, json_string(p->dns_search[i]));
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:i, s:s, s:i, s:i, s:s, s:o, s:o, s:o}",
			      "id", p->id, "network", p->network, "netns", p->netns, "tap", p->tap,
			      "tap_in_host", p->tap_in_host, "mac", mac, "mtu", (int)p->mtu, "address",
			      p->address, "prefix", (int)p->prefix, "onlink_prefix",
			      (int)p->onlink_prefix, "gateway", p->gateway, "routes", routes,
			      "dns_servers", dns, "dns_search", search);
	char *s = json_dumps(j, JSON_COMPACT);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(j);
}

static int cmd_setup(struct opts *o, bool hold)
{
	struct vmm_podnet pn;
	kumo_error_t err = NULL;
	if (vmm_podnet_setup(&o->cfg, &o->pod, &pn, &err) < 0)
		return fail("setup", &err);
	print_podnet(&pn);
	if (hold)
		while (!stop_requested)
			pause();
	return 0;
}

static int cmd_get(struct opts *o)
{
	struct vmm_podnet pn;
	kumo_error_t err = NULL;
	int rc = vmm_podnet_get(&o->cfg, o->pod.id, &pn, &err);
	if (rc < 0)
		return fail("get", &err);
	if (rc == 0)
		return 3;
	print_podnet(&pn);
	return 0;
}

static bool is_live(const char *id, void *ctx)
{
	for (char **p = ctx; *p; p++)
		if (strcmp(*p, id) == 0)
			return true;
	return false;
}

static int cmd_boot(struct opts *o, const char *kernel, const char *initrd)
{
	kumo_error_t err = NULL;
	struct vmm_podnet pn;
	int rc = vmm_podnet_get(&o->cfg, o->pod.id, &pn, &err);
	if (rc <= 0) {
		if (rc == 0)
			kumo_error(&err, KUMO_E_NOT_FOUND, "pod `%s` has no network", o->pod.id);
		return fail("boot", &err);
	}
	struct vmm *vmm = NULL;
	struct vmm_config vc = {.backend = o->backend, .libvirt_netns = o->cfg.host_netns};
	if (vmm_open(&vc, &vmm, &err) < 0)
		return fail("boot", &err);
	fprintf(stderr, "podnet-tool: backend %s, accel %s\n", vmm_backend_name(vmm),
		vmm_accel_name(vmm));
	/* vmm takes the tap from the pod's namespace the way the backend needs it. */
	struct vmm_net_attach att = {.tap = pn.tap, .netns = pn.netns, .fd = -1};
	memcpy(att.mac, pn.mac, 6);
	autofree char *name = xasprintf("kumo-test-podnet-%.20s", o->pod.id);
	autofree char *dir = xasprintf("%s/%s", o->run_dir, name);
	struct vmm_spec s = {.name = name, .kernel = kernel, .initrd = initrd, .memory_mib = o->mem,
			     .vcpus = 1, .run_dir = dir, .stdout_fd = 1, .stderr_fd = 2, .net = &att};
	struct vmm_vm *vm = NULL;
	int code = 125;
	if (vmm_create(vmm, &s, &vm, &err) < 0)
		goto out;
	if (vmm_start(vm, &err) < 0)
		goto out;
	fprintf(stderr, "podnet-tool: vm running\n");
	struct kumo_exit_record ex;
	for (;;) {
		int r = vmm_wait(vm, 100, &ex, &err);
		if (r < 0)
			goto out;
		if (r == 1)
			break;
		if (stop_requested && vmm_stop(vm, 0, &err) < 0)
			goto out;
	}
	fprintf(stderr, "podnet-tool: vm exit %d\n", ex.status);
	code = ex.status;
out:
	if (err)
		fprintf(stderr, "podnet-tool: boot: %s\n", kumo_error_msg(err));
	kumo_error_free(&err);
	vmm_vm_free(vm);
	vmm_close(vmm);
	return code;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmd_bench(struct opts *o, int n)
{
	double *setup = xzalloc((size_t)n * sizeof(double)), *down = xzalloc((size_t)n * sizeof(double));
	printf("# run setup_ms teardown_ms\n");
	for (int i = 0; i < n; i++) {
		struct vmm_podnet pn;
		kumo_error_t err = NULL;
		uint64_t t0 = kumo_now_ns();
		if (vmm_podnet_setup(&o->cfg, &o->pod, &pn, &err) < 0) {
			free(setup);
			free(down);
			return fail("bench setup", &err);
		}
		uint64_t t1 = kumo_now_ns();
		if (vmm_podnet_teardown(&o->cfg, o->pod.id, &err) < 0) {
			free(setup);
			free(down);
			return fail("bench teardown", &err);
		}
		uint64_t t2 = kumo_now_ns();
		setup[i] = (double)(t1 - t0) / 1e6;
		down[i] = (double)(t2 - t1) / 1e6;
		printf("%d %.2f %.2f\n", i, setup[i], down[i]);
		fflush(stdout);
	}
	qsort(setup, (size_t)n, sizeof(double), cmp_double);
	qsort(down, (size_t)n, sizeof(double), cmp_double);
	printf("podnet-setup-median-ms %.2f\npodnet-teardown-median-ms %.2f\n", setup[n / 2], down[n / 2]);
	free(setup);
	free(down);
	return 0;
}

struct parts_job {
	const char *tap; /* the tap to make */
};

static int parts_tap_fn(void *arg, kumo_error_t *err)
{
	struct parts_job *j = arg;
	struct vmm_link_facts f;
	if (vmm_link_facts("eth0", &f, err) < 0 || vmm_tap_create(j->tap, f.mtu, err) < 0)
		return -1;
	return vmm_redirect_install("eth0", j->tap, err);
}

/* What vmm_podnet_setup does, minus its records and checks, timed part by part. */
static int cmd_bench_parts(struct opts *o, int n)
{
	double *ns = xzalloc((size_t)n * sizeof(double)), *add = xzalloc((size_t)n * sizeof(double)),
	       *tap = xzalloc((size_t)n * sizeof(double));
	const char *dir = o->cfg.netns_dir ? o->cfg.netns_dir : VMM_PODNET_NETNS_DIR;
	kumo_error_t err = NULL;
	struct cni_netconf *nc = NULL;
	int rc = o->cfg.conf_file ? cni_conf_load_file(o->cfg.conf_file, &nc, &err)
				  : cni_conf_load_dir(o->cfg.conf_dir ? o->cfg.conf_dir : CNI_DEFAULT_CONF_DIR,
						      &nc, &err);
	printf("# run netns_ms cni_add_ms tap_redirect_ms\n");
	for (int i = 0; rc == 0 && i < n; i++) {
		char *path = NULL;
		struct cni_result *r = NULL;
		uint64_t t0 = kumo_now_ns();
		if (vmm_netns_create(dir, o->pod.id, &path, &err) < 0) {
			rc = -1;
			break;
		}
		uint64_t t1 = kumo_now_ns();
		struct cni_attachment at = {.container_id = o->pod.id, .netns = path, .ifname = "eth0",
					    .args = "IgnoreUnknown=1", .plugin_path = o->cfg.plugin_path,
					    .timeout_ms = o->cfg.timeout_ms};
		rc = cni_add(nc, &at, &r, &err);
		uint64_t t2 = kumo_now_ns();
		struct parts_job j = {.tap = "kcbench0"};
		if (rc == 0)
			rc = vmm_netns_run(path, parts_tap_fn, &j, &err);
		uint64_t t3 = kumo_now_ns();
		kumo_error_t derr = NULL;
		if (cni_del(nc, &at, r ? r->json : NULL, &derr) < 0 || vmm_netns_remove(path, &derr) < 0) {
			fprintf(stderr, "podnet-tool: bench-parts cleanup: %s\n", kumo_error_msg(derr));
			kumo_error_free(&derr);
			rc = -1;
		}
		cni_result_free(r);
		free(path);
		ns[i] = (double)(t1 - t0) / 1e6;
		add[i] = (double)(t2 - t1) / 1e6;
		tap[i] = (double)(t3 - t2) / 1e6;
		if (rc == 0)
			printf("%d %.2f %.2f %.2f\n", i, ns[i], add[i], tap[i]);
	}
	if (rc == 0) {
		qsort(ns, (size_t)n, sizeof(double), cmp_double);
		qsort(add, (size_t)n, sizeof(double), cmp_double);
		qsort(tap, (size_t)n, sizeof(double), cmp_double);
		printf("podnet-netns-median-ms %.2f\ncni-add-median-ms %.2f\ntap-redirect-median-ms %.2f\n",
		       ns[n / 2], add[n / 2], tap[n / 2]);
	}
	cni_conf_free(nc);
	free(ns);
	free(add);
	free(tap);
	return rc < 0 ? fail("bench-parts", &err) : 0;
}

static int parse_port(const char *s, struct vmm_port_mapping *p)
{
	char proto[8];
	unsigned hp, cp;
	if (sscanf(s, "%7[a-z]:%u:%u", proto, &hp, &cp) != 3 || hp > 65535 || cp > 65535)
		return -1;
	p->protocol = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	p->host_port = (uint16_t)hp;
	p->container_port = (uint16_t)cp;
	return 0;
}

int main(int argc, char **argv)
{
	static struct opts o = {.backend = VMM_BACKEND_QEMU, .run_dir = "/tmp/kumo-podnet-tool", .mem = 32};
	static const struct option lo[] = {
		{"conf-dir", 1, 0, 'c'},   {"conf-file", 1, 0, 'f'}, {"plugin-path", 1, 0, 'p'},
		{"netns-dir", 1, 0, 'n'},  {"state-dir", 1, 0, 's'}, {"host-netns", 1, 0, 'H'},
		{"ifname", 1, 0, 'i'},     {"timeout-ms", 1, 0, 't'}, {"name", 1, 0, 'N'},
		{"namespace", 1, 0, 'S'},  {"uid", 1, 0, 'U'},      {"port", 1, 0, 'P'},
		{"bandwidth", 1, 0, 'B'},  {"dns", 1, 0, 'D'},      {"search", 1, 0, 'E'},
		{"tap-in-host", 0, 0, 'T'}, {"backend", 1, 0, 'b'}, {"run-dir", 1, 0, 'r'},
		{"mem", 1, 0, 'm'},        {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o.cfg.conf_dir = optarg; break;
		case 'f': o.cfg.conf_file = optarg; break;
		case 'p': o.cfg.plugin_path = optarg; break;
		case 'n': o.cfg.netns_dir = optarg; break;
		case 's': o.cfg.state_dir = optarg; break;
		case 'H': o.cfg.host_netns = optarg; break;
		case 'i': o.cfg.ifname = optarg; break;
		case 't': o.cfg.timeout_ms = atoi(optarg); break;
		case 'N': o.pod.name = optarg; break;
		case 'S': o.pod.namespace = optarg; break;
		case 'U': o.pod.uid = optarg; break;
		case 'P':
			if (o.pod.nports == MAX_LIST || parse_port(optarg, &o.ports[o.pod.nports]) < 0) {
				fprintf(stderr, "podnet-tool: --port `%s`: want PROTO:HOST:CONTAINER\n", optarg);
				return 2;
			}
			o.pod.nports++;
			break;
		case 'B': {
			unsigned long long rate, burst;
			if (sscanf(optarg, "%llu,%llu", &rate, &burst) != 2)
				return 2;
			o.bw = (struct vmm_bandwidth){rate, burst, rate, burst};
			o.pod.bandwidth = &o.bw;
			break;
		}
		case 'D':
			if (o.dnscfg.nservers < MAX_LIST)
				o.dns[o.dnscfg.nservers++] = optarg;
			o.pod.dns = &o.dnscfg;
			break;
		case 'E':
			if (o.dnscfg.nsearches < MAX_LIST)
				o.search[o.dnscfg.nsearches++] = optarg;
			o.pod.dns = &o.dnscfg;
			break;
		case 'T': o.pod.tap_in_host = true; break;
		case 'b': o.backend = strcmp(optarg, "libvirt") == 0 ? VMM_BACKEND_LIBVIRT : VMM_BACKEND_QEMU; break;
		case 'r': o.run_dir = optarg; break;
		case 'm': o.mem = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	o.pod.ports = o.ports;
	o.dnscfg.servers = o.dns;
	o.dnscfg.searches = o.search;
	if (optind >= argc) {
		fprintf(stderr, "usage: podnet-tool [opts] setup|hold|get|check|teardown|recover|ready|"
				"boot|bench|default-conf ...\n");
		return 2;
	}
	const char *cmd = argv[optind++];
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	kumo_error_t err = NULL;
	if (strcmp(cmd, "default-conf") == 0) {
		if (optind >= argc)
			return 2;
		bool written;
		if (vmm_podnet_write_default(argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL,
					     &written, &err) < 0)
			return fail("default-conf", &err);
		printf("%s\n", written ? "written" : "kept");
		return 0;
	}
	if (strcmp(cmd, "ready") == 0) {
		char *msg = NULL;
		if (vmm_podnet_ready(&o.cfg, &msg)) {
			printf("ready\n");
			return 0;
		}
		printf("not ready: %s: %s\n", VMM_PODNET_NOT_READY, msg);
		free(msg);
		return 1;
	}
	if (strcmp(cmd, "recover") == 0) {
		int n = vmm_podnet_recover(&o.cfg, is_live, argv + optind, &err);
		if (n < 0)
			return fail("recover", &err);
		printf("recovered %d\n", n);
		return 0;
	}
	if (strcmp(cmd, "bench") == 0 || strcmp(cmd, "bench-parts") == 0) {
		if (optind + 1 >= argc)
			return 2;
		int n = atoi(argv[optind]);
		o.pod.id = argv[optind + 1];
		if (n <= 0)
			return 2;
		return strcmp(cmd, "bench") == 0 ? cmd_bench(&o, n) : cmd_bench_parts(&o, n);
	}
	if (optind >= argc) {
		fprintf(stderr, "podnet-tool: %s: no pod id\n", cmd);
		return 2;
	}
	o.pod.id = argv[optind++];
	if (strcmp(cmd, "setup") == 0 || strcmp(cmd, "hold") == 0)
		return cmd_setup(&o, strcmp(cmd, "hold") == 0);
	if (strcmp(cmd, "get") == 0)
		return cmd_get(&o);
	if (strcmp(cmd, "check") == 0)
		return vmm_podnet_check(&o.cfg, o.pod.id, &err) < 0 ? fail("check", &err) : 0;
	if (strcmp(cmd, "teardown") == 0)
		return vmm_podnet_teardown(&o.cfg, o.pod.id, &err) < 0 ? fail("teardown", &err) : 0;
	if (strcmp(cmd, "boot") == 0) {
		if (optind + 1 >= argc)
			return 2;
		static char kernel[PATH_MAX], initrd[PATH_MAX];
		if (!realpath(argv[optind], kernel) || !realpath(argv[optind + 1], initrd)) {
			fprintf(stderr, "podnet-tool: boot: %s\n", strerror(errno));
			return 2;
		}
		return cmd_boot(&o, kernel, initrd);
	}
	fprintf(stderr, "podnet-tool: unknown command `%s`\n", cmd);
	return 2;
}
