/* vmm/nicstub.c - a NIC that reaches nothing: a tap alone in a network namespace of its own, for a VM that needs a pod VM's devices without a pod (vmm.h "A NIC that reaches nothing"). */
#include <errno.h>
#include <string.h>

#include "podnet.h"
#include "vmm.h"

#define STUB_TAP "kumostub0"

static int make_tap(void *arg, kumo_error_t *err)
{
	(void)arg;
	return vmm_tap_create(STUB_TAP, 0, err);
}

static int drop_tap(void *arg, kumo_error_t *err)
{
	(void)arg;
	return vmm_link_delete(STUB_TAP, err);
}

int vmm_nic_stub_create(const char *dir, const char *name, const uint8_t mac[6],
			struct vmm_net_attach *att, char **netns, kumo_error_t *err)
{
	char *path = NULL;
	if (vmm_netns_create(dir, name, &path, err) < 0)
		return kumo_error_wrap(err, "a NIC that reaches nothing");
	if (vmm_netns_run(path, make_tap, NULL, err) < 0) {
		kumo_error_t rerr = NULL;
		vmm_netns_remove(path, &rerr);
		kumo_error_free(&rerr);
		free(path);
		return kumo_error_wrap(err, "a NIC that reaches nothing");
	}
	*att = (struct vmm_net_attach){.tap = STUB_TAP, .netns = path};
	memcpy(att->mac, mac, 6);
	*netns = path;
	return 0;
}

int vmm_nic_stub_remove(const char *netns, kumo_error_t *err)
{
	if (!netns)
		return 0;
	if (!vmm_netns_pinned(netns))
		return vmm_netns_remove(netns, err);
	int rc = vmm_netns_run(netns, drop_tap, NULL, err);
	if (rc == 0)
		rc = vmm_netns_remove(netns, err);
	return rc;
}
