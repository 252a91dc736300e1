/* vmm/podnet.h - private to vmm/: the pieces vmm/podnet.c assembles into a pod's
 * network (the public contract is "Pod networking through CNI" in vmm/vmm.h):
 *   netns.c     per-pod network namespaces, pinned by a bind mount as `ip netns` does;
 *   tap.c       persistent tap devices and the link operations they need (netlink);
 *   redirect.c  the VM's takeover of the CNI interface: its facts (MAC, MTU, on-link
 *               prefix) and the two-way tc redirect between it and the tap.
 * No process is run: everything is a system call or a netlink message (libnl-route-3).
 * tap.c and redirect.c act in the network namespace of the calling thread; run them
 * inside a pod's namespace with vmm_netns_run(). Functions returning int return 0 on
 * success and -1 with *err set.
 */
#ifndef KUMO_VMM_PODNET_H
#define KUMO_VMM_PODNET_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

/* ---- netns.c ---------------------------------------------------------------------- */

/* Creates a network namespace pinned at dir/name (an empty file with the namespace
 * bind-mounted on it). dir is created and made a shared mount point first (bound onto
 * itself when it is not one), as `ip netns add` does, so that a pin's unmount reaches
 * every mount namespace it was copied into. KUMO_E_EXISTS when dir/name exists.
 * *path: dir/name (caller frees). */
int vmm_netns_create(const char *dir, const char *name, char **path, kumo_error_t *err);
/* Unmounts the pin and removes the file; a path that is missing or not mounted is
 * fine (idempotent). */
int vmm_netns_remove(const char *path, kumo_error_t *err);
/* True when path is a pinned network namespace (an nsfs mount). */
bool vmm_netns_pinned(const char *path);

typedef int (*vmm_netns_fn)(void *arg, kumo_error_t *err);
/* Runs fn(arg, err) on a new thread that first joins the network namespace at path
 * (NULL: fn runs directly on the calling thread), and returns fn's value. The caller's
 * own thread never changes namespace. */
int vmm_netns_run(const char *path, vmm_netns_fn fn, void *arg, kumo_error_t *err);

/* ---- tap.c (the calling thread's namespace) -------------------------------------- */

struct nl_sock;
/* A connected NETLINK_ROUTE socket of the calling thread's namespace (libnl), NULL
 * with *err set; free with nl_socket_free(). */
struct nl_sock *vmm_nl_open(kumo_error_t *err);

/* Creates a persistent tap (IFF_TAP, IFF_NO_PI, IFF_VNET_HDR), failing when a device
 * of that name exists; sets its MTU (0: leave the default) and brings it up. */
int vmm_tap_create(const char *name, unsigned mtu, kumo_error_t *err);
/* Opens the existing tap name: *fd (O_CLOEXEC) is a queue QEMU can use (-netdev
 * tap,fd=N). The device outlives the fd (persistent). */
int vmm_tap_open(const char *name, int *fd, kumo_error_t *err);
/* Sets a link's MTU (0: leave it) and brings it up. */
int vmm_link_up(const char *name, unsigned mtu, kumo_error_t *err);
/* Moves the link into the network namespace of netns_fd (an open namespace file). */
int vmm_link_move(const char *name, int netns_fd, kumo_error_t *err);
/* Deletes the link; 0 also when there is none. */
int vmm_link_delete(const char *name, kumo_error_t *err);
/* True when a link of that name exists. */
bool vmm_link_exists(const char *name);

/* ---- redirect.c (the calling thread's namespace) ---------------------------------- */

/* What the VM takes over from the CNI interface. */
struct vmm_link_facts {
	int ifindex;    /* interface index */
	uint8_t mac[6]; /* hardware address */
	unsigned mtu;   /* MTU */
};
int vmm_link_facts(const char *name, struct vmm_link_facts *out, kumo_error_t *err);

/* The prefix under which the IPv4 address addr/prefix on ifname is on-link: prefix
 * when the routing table has the connected route for that subnet on ifname (a bridge
 * network), 32 when a plugin replaced it by a route through the gateway (ptp), so
 * the guest sends everything to the gateway exactly as the namespace would. */
int vmm_onlink_prefix(const char *ifname, const char *addr, unsigned prefix, unsigned *out,
		      kumo_error_t *err);

/* Redirects every frame arriving on a to the egress of b and every frame arriving on
 * b to the egress of a: an ingress qdisc on each with a matchall filter holding a
 * mirred egress-redirect action (what `tc filter add dev A ingress matchall action
 * mirred egress redirect dev B` makes). Replaces ingress qdiscs already there. */
int vmm_redirect_install(const char *a, const char *b, kumo_error_t *err);
/* Removes the ingress qdiscs (and with them the filters) from a and b; missing
 * devices or qdiscs are fine. */
int vmm_redirect_remove(const char *a, const char *b, kumo_error_t *err);
/* True when name has an ingress qdisc whose filter redirects to the link `to`. */
bool vmm_redirect_active(const char *name, const char *to);

/* ---- podnet.c: a pod's tap as the VM backends take it (vm.c) ----------------------- */

/* Opens a queue of the tap in the namespace netns (QEMU: -netdev tap,fd=N). */
int vmm_pod_tap_open(const char *netns, const char *tap, int *fd, kumo_error_t *err);
/* libvirt, before the create: brings the tap from the pod namespace netns into host_netns
 * (libvirtd's; NULL: this thread's), removing its redirect to ifname first. A tap
 * already in host_netns stays (idempotent). The pod's previous VM must be gone. */
int vmm_pod_tap_to_host(const char *host_netns, const char *netns, const char *tap,
			const char *ifname, kumo_error_t *err);
/* libvirt, after the create opened it: moves the tap from host_netns into netns (when
 * it is there), brings it up with ifname's MTU and installs the redirect. */
int vmm_pod_tap_to_pod(const char *host_netns, const char *netns, const char *tap,
		       const char *ifname, kumo_error_t *err);

#endif /* KUMO_VMM_PODNET_H */
