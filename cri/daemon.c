/* cri/daemon.c - the daemon around the runtime, shared by kumod and the test daemon:
 * configuration, logging, state, the backend, the server. */
#include <string.h>

#include "cri/backend.h"
#include "cri/cri.h"

static const char usage[] =
	"usage: %s [options]\n"
	"  --config PATH             configuration file (default " CRI_DEFAULT_CONFIG ")\n"
	"  --socket PATH             CRI socket (default " CRI_DEFAULT_SOCKET ", mode 0660)\n"
	"  --socket-group GROUP      the CRI socket's group (default root's)\n"
	"  --jail on|off             QEMU as its own user in a cgroup per VM (default on)\n"
	"  --root DIR                state directory (default " CRI_DEFAULT_ROOT ")\n"
	"  --insecure-registry HOST  allow plain HTTP for HOST (repeatable; `*` for all)\n"
	"  --vm-backend qemu|libvirt how VMs run (default " CRI_DEFAULT_VM_BACKEND ")\n"
	"  --accel auto|kvm|tcg      the VMs' accelerator (default auto: KVM when a probe shows it\n"
	"                            runs kumo guests, else TCG; kvm: refuse to start without it)\n"
	"  --pod-vm true|false       a pod is one VM, its containers linked into its running\n"
	"                            kernel (default true); false: each container its own VM\n"
	"  --pod-vm-snapshot-start true|false\n"
	"                            pod VMs start from a snapshot of the pod kernel taken at\n"
	"                            READY instead of a boot (default false)\n"
	"  --log-level LEVEL         debug|info|warn|error (default info)\n"
	"  --workers N               worker threads for calls (default 8)\n"
	"  --shutdown-grace-ms N     how long SIGTERM waits for calls in flight\n"
	"  --cni-conf-dir DIR        CNI network lists (default /etc/cni/net.d; an empty one gets\n"
	"                            kumo's default list, bridge cni0 on --pod-cidr)\n"
	"  --cni-bin-dirs DIR:DIR    CNI plugin directories (default /opt/cni/bin:/usr/lib/cni)\n"
	"  --netns-dir DIR           pods' network namespaces (default /run/kumo/netns)\n"
	"  --pod-cidr CIDR           the default list's subnet until kubelet sends one\n"
	"                            (default 10.88.0.0/16)\n"
	"  --host-network refuse|no-network\n"
	"                            hostNetwork pods: refused at CreateContainer (default),\n"
	"                            or run without a network device\n"
	"  --max-functions N, ...    limits against hostile modules, one flag per kumo.json key\n"
	"                            (`kumo compile --help` lists them; README \"Limits and hardening\")\n"
	"  --stream-address HOST:PORT  where exec/attach/port-forward URLs point (default\n"
	"                            127.0.0.1:0: loopback, an ephemeral port)\n"
	"  --stream-token-ttl-ms N   how long such a URL stays valid (default 60000)\n"
	"  --downstream-endpoint EP  the CRI runtime of every pod that is not kumo's (default\n"
	"                            " CRI_DEFAULT_DOWNSTREAM ";\n"
	"                            none: no downstream, every pod is kumo's)\n"
	"  --kumo-handlers A[,B]     runtime handlers run as kumo VMs (default " CRI_DEFAULT_KUMO_HANDLER ")\n"
	"  --default-runtime downstream|kumo\n"
	"                            where pods naming no runtime handler run (default\n"
	"                            downstream); the annotation " CRI_RUNTIME_ANNOTATION ": "
	CRI_DEFAULT_KUMO_HANDLER "\n"
	"                            picks kumo for one pod\n"
	"  --version                 print the version and exit\n"
	"Flags override the configuration file. SIGTERM stops %s; VMs keep running.\n";

int cri_daemon_main(const char *prog, int argc, char **argv, cri_backend_fn new_backend)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf(usage, prog, prog);
			return 0;
		}
	struct cri_config cfg;
	bool version = false;
	kumo_error_t err = NULL;
	if (cri_config_load(&cfg, CRI_DEFAULT_CONFIG, false, argc, argv, &version, &err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, kumo_error_msg(err));
		fprintf(stderr, usage, prog, prog);
		kumo_error_free(&err);
		cri_config_clear(&cfg);
		return 2;
	}
	if (version) {
		printf("%s %s (CRI %s)\n", prog, KUMO_VERSION, CRI_API_VERSION);
		cri_config_clear(&cfg);
		return 0;
	}
	/* Every compile of this process (PullImage, CreateContainer) obeys them. */
	kumo_compile_set_limits(&cfg.limits);
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (strcmp(cfg.log_level, levels[i]) == 0)
			kumo_log_set_level(i);

	int rc = 1;
	struct cri_backend *b = NULL;
	struct cri_runtime *rt = NULL;
	if (kumo_mkdir_p(cfg.root, 0700, &err) < 0 || new_backend(&cfg, &b, &err) < 0)
		goto out;
	if (cri_runtime_new(cfg.root, b, &rt, &err) < 0)
		goto out; /* rt owns b even on failure */
	cri_runtime_allow_host_network(rt, strcmp(cfg.host_network, "no-network") == 0);
	if (cri_runtime_start_streaming(rt, &cfg, &err) < 0)
		goto out;
	struct cri_routing routing = {
		.downstream_endpoint = cfg.downstream_endpoint,
		.kumo_handlers = (const char *const *)cfg.kumo_handlers,
		.default_kumo = strcmp(cfg.default_runtime, "kumo") == 0,
	};
	if (cri_runtime_route(rt, &routing, &err) < 0)
		goto out;
	if (cri_server_run(&cfg, rt, &err) < 0)
		goto out;
	rc = 0;
out:
	if (err)
		log_error("%s", kumo_error_msg(err));
	kumo_error_free(&err);
	if (rt)
		cri_runtime_stop_streaming(rt); /* every stream ends before the state goes */
	cri_runtime_free(rt);
	cri_config_clear(&cfg);
	return rc;
}
