/* cri/kumod.c - kumod's main: the daemon (cri/daemon.c) on the real stages. */
#include <string.h>

#include "cri/backend.h"
#include "cri/cri.h"
#include "vmm/vmm.h"

static int real_backend(const struct cri_config *cfg, struct cri_backend **out,
			kumo_error_t *err)
{
	if (strcmp(cfg->backend, "real") != 0)
		return kumo_error(err, KUMO_E_INVALID,
				  "backend `%s`: kumod runs the real one (the fake backend is the "
				  "test daemon's, build/tests/kumod-fake)", cfg->backend);
	/* Every VM connection of this process jails QEMU as kumo.json says. */
	vmm_jail_set_defaults(!cfg->jail, cfg->jail_user, (unsigned)cfg->jail_memory_overhead_mib);
	return cri_backend_real_new(cfg->root, (const char *const *)cfg->insecure_registries,
				    cfg->vm_backend,
				    &(struct cri_net_options){.cni_conf_dir = cfg->cni_conf_dir,
							      .cni_bin_dirs = cfg->cni_bin_dirs,
							      .netns_dir = cfg->netns_dir,
							      .pod_cidr = cfg->pod_cidr,
							      .vm_backend = cfg->vm_backend},
				    cfg->accel, cfg->pod_vm, cfg->pod_vm_snapshot_start, out, err);
}

int main(int argc, char **argv)
{
	return cri_daemon_main("kumod", argc, argv, real_backend);
}
