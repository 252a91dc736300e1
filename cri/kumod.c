/* cri/kumod.c - kumod's main: configuration, logging, state, backend, server. */
#include <string.h>

#include "cri/backend.h"
#include "cri/cri.h"

static const char usage[] =
	"usage: kumod [options]\n"
	"  --config PATH             configuration file (default " CRI_DEFAULT_CONFIG ")\n"
	"  --socket PATH             CRI socket (default " CRI_DEFAULT_SOCKET ")\n"
	"  --root DIR                state directory (default " CRI_DEFAULT_ROOT ")\n"
	"  --insecure-registry HOST  allow plain HTTP for HOST (repeatable; `*` for all)\n"
	"  --backend real|test       `test` runs fake images/VMs for tests (default real)\n"
	"  --vm-backend qemu|libvirt how the real backend runs VMs (default " CRI_DEFAULT_VM_BACKEND ")\n"
	"  --accel auto|kvm|tcg      the VMs' accelerator (default auto: KVM when a probe shows it\n"
	"                            runs kumo guests, else TCG; kvm: refuse to start without it)\n"
	"  --log-level LEVEL         debug|info|warn|error (default info)\n"
	"  --workers N               worker threads for calls (default 8)\n"
	"  --shutdown-grace-ms N     how long SIGTERM waits for calls in flight\n"
	"  --host-network refuse|no-network\n"
	"                            hostNetwork pods: refused at CreateContainer (default),\n"
	"                            or run without a network device\n"
	"  --stream-address HOST:PORT  where exec/attach/port-forward URLs point (default\n"
	"                            127.0.0.1:0: loopback, an ephemeral port)\n"
	"  --stream-token-ttl-ms N   how long such a URL stays valid (default 60000)\n"
	"  --version                 print the version and exit\n"
	"Flags override the configuration file. SIGTERM stops kumod; VMs keep running.\n";

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
	struct cri_config cfg;
	bool version = false;
	kumo_error_t err = NULL;
	if (cri_config_load(&cfg, CRI_DEFAULT_CONFIG, false, argc, argv, &version, &err) < 0) {
		fprintf(stderr, "kumod: %s\n%s", kumo_error_msg(err), usage);
		kumo_error_free(&err);
		cri_config_clear(&cfg);
		return 2;
	}
	if (version) {
		printf("kumod %s (CRI %s)\n", KUMO_VERSION, CRI_API_VERSION);
		cri_config_clear(&cfg);
		return 0;
	}
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (strcmp(cfg.log_level, levels[i]) == 0)
			kumo_log_set_level(i);

	int rc = 1;
	struct cri_backend *b = NULL;
	struct cri_runtime *rt = NULL;
	if (kumo_mkdir_p(cfg.root, 0700, &err) < 0)
		goto out;
	if (strcmp(cfg.backend, "test") == 0)
		cri_backend_test_new(cfg.root, &b, &err);
	else
		cri_backend_real_new(cfg.root, (const char *const *)cfg.insecure_registries,
				     cfg.vm_backend,
				     &(struct cri_net_options){cfg.bridge, cfg.pod_cidr}, cfg.accel, &b,
				     &err);
	if (!b)
		goto out;
	if (cri_runtime_new(cfg.root, b, &rt, &err) < 0)
		goto out; /* rt owns b even on failure */
	cri_runtime_allow_host_network(rt, strcmp(cfg.host_network, "no-network") == 0);
	if (cri_runtime_start_streaming(rt, &cfg, &err) < 0)
		goto out;
	if (cri_server_run(&cfg, rt, &err) < 0)
		goto out;
	rc = 0;
out:
	if (err)
		log_error("%s", kumo_error_msg(err));
	kumo_error_free(&err);
	if (rt)
		cri_runtime_stop_streaming(rt);
	cri_runtime_free(rt);
	cri_config_clear(&cfg);
	return rc;
}
