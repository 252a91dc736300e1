/* vmm/tap.c - the VM's end of a pod network: a persistent tap device, opened for QEMU
 * or moved between namespaces, and the link operations it needs, over netlink
 * (libnl-route-3) in the calling thread's namespace. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <string.h>
#include <sys/ioctl.h>

#include "podnet.h"

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

struct nl_sock *vmm_nl_open(kumo_error_t *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk) {
		kumo_error(err, KUMO_E_INTERNAL, "netlink: cannot allocate a socket");
		return NULL;
	}
	int rc = nl_connect(sk, NETLINK_ROUTE);
	if (rc < 0) {
		kumo_error(err, KUMO_E_IO, "netlink: connect: %s", nl_geterror(rc));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

static int tun_ioctl(const char *name, int flags, int *fd_out, kumo_error_t *err)
{
	if (strlen(name) >= IFNAMSIZ)
		return kumo_error(err, KUMO_E_INVALID, "tap name `%s` is longer than %d bytes", name,
				  IFNAMSIZ - 1);
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "tap `%s`: open /dev/net/tun", name);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = (short)flags;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		return kumo_error_errno(err, e, "tap `%s`: TUNSETIFF", name);
	}
	*fd_out = fd;
	return 0;
}

int vmm_tap_create(const char *name, unsigned mtu, kumo_error_t *err)
{
	int fd;
	/* Exclusive: an existing device of that name is never adopted by mistake. */
	if (tun_ioctl(name, TAP_FLAGS | IFF_TUN_EXCL, &fd, err) < 0)
		return -1;
	if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
		int e = errno;
		close(fd);
		return kumo_error_errno(err, e, "tap `%s`: TUNSETPERSIST", name);
	}
	close(fd);
	if (vmm_link_up(name, mtu, err) < 0) {
		kumo_error_t derr = NULL;
		vmm_link_delete(name, &derr);
		kumo_error_free(&derr);
		return -1;
	}
	return 0;
}

int vmm_tap_open(const char *name, int *fd, kumo_error_t *err)
{
	if (!vmm_link_exists(name))
		return kumo_error(err, KUMO_E_NOT_FOUND, "tap `%s` does not exist", name);
	return tun_ioctl(name, TAP_FLAGS, fd, err);
}

bool vmm_link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

/* Looks name up; *link is NULL (and 0 returned) when there is none and missing_ok. */
static int get_link(struct nl_sock *sk, const char *name, bool missing_ok, struct rtnl_link **link,
		    kumo_error_t *err)
{
	*link = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, name, link);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
		if (missing_ok)
			return 0;
		return kumo_error(err, KUMO_E_NOT_FOUND, "link `%s` does not exist", name);
	}
	if (rc < 0)
		return kumo_error(err, KUMO_E_IO, "link `%s`: %s", name, nl_geterror(rc));
	return 0;
}

int vmm_link_up(const char *name, unsigned mtu, kumo_error_t *err)
{
	struct nl_sock *sk = vmm_nl_open(err);
	if (!sk)
		return kumo_error_wrap(err, "link `%s`", name);
	struct rtnl_link *link = NULL, *change = NULL;
	int rc = get_link(sk, name, false, &link, err);
	if (rc == 0) {
		change = rtnl_link_alloc();
		if (mtu)
			rtnl_link_set_mtu(change, mtu);
		rtnl_link_set_flags(change, IFF_UP);
		int r = rtnl_link_change(sk, link, change, 0);
		if (r < 0)
			rc = kumo_error(err, KUMO_E_IO, "link `%s`: set mtu %u and up: %s", name, mtu,
					nl_geterror(r));
	}
	rtnl_link_put(change);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return rc;
}

int vmm_link_move(const char *name, int netns_fd, kumo_error_t *err)
{
	struct nl_sock *sk = vmm_nl_open(err);
	if (!sk)
		return kumo_error_wrap(err, "link `%s`", name);
	struct rtnl_link *link = NULL, *change = NULL;
	int rc = get_link(sk, name, false, &link, err);
	if (rc == 0) {
		change = rtnl_link_alloc();
		rtnl_link_set_ns_fd(change, netns_fd);
		int r = rtnl_link_change(sk, link, change, 0);
		if (r < 0)
			rc = kumo_error(err, KUMO_E_IO, "link `%s`: move to another namespace: %s", name,
					nl_geterror(r));
	}
	rtnl_link_put(change);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return rc;
}

int vmm_link_delete(const char *name, kumo_error_t *err)
{
	struct nl_sock *sk = vmm_nl_open(err);
	if (!sk)
		return kumo_error_wrap(err, "link `%s`", name);
	struct rtnl_link *link = NULL;
	int rc = get_link(sk, name, true, &link, err);
	if (rc == 0 && link) {
		int r = rtnl_link_delete(sk, link);
		if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV)
			rc = kumo_error(err, KUMO_E_IO, "delete link `%s`: %s", name, nl_geterror(r));
	}
	rtnl_link_put(link);
	nl_socket_free(sk);
	return rc;
}
