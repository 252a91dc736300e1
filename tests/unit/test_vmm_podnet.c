/* tests/unit/test_vmm_podnet.c - the pieces of a pod network below CNI, in network and
 * mount namespaces this test makes (needs root): namespace pins, a tap and the two-way
 * redirect carrying real frames (an ARP exchange between the node side of a veth and
 * the tap's fd), a tap opened in one namespace and moved to another (libvirt's way),
 * the on-link prefix of bridge- and ptp-style routes; then vmm_podnet_* against
 * shell-script plugins: the record exists before ADD, a failed ADD is DELeted, setup is
 * idempotent, teardown and recovery leave nothing. Real plugins: tests/e2e/cni-podnet.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "vmm/podnet.h"
#include "vmm/vmm.h"

static char dir[] = "/tmp/kumo-podnet-XXXXXX";

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int rc = system(cmd);
	free(cmd);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		perror("unshare (the pod network tests need root)");
		return -1;
	}
	/* Pins made here stay in this test's mount namespace. */
	if (mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || !mkdtemp(dir))
		return -1;
	return sh("ip link set lo up") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	/* Pins a failed test left mounted go first. */
	sh("awk '$2 ~ \"^%s/\" {print $2}' /proc/mounts | sort -r | xargs -r umount -l", dir);
	return sh("rm -rf %s", dir) == 0 ? 0 : -1;
}

static int count_links(void *arg, kumo_error_t *err)
{
	*(unsigned *)arg = if_nametoindex("lo") ? 1 : 0;
	*(unsigned *)arg += if_nametoindex("kutest0") ? 10 : 0;
	return 0;
}

/* True once no link of that name exists (a namespace's links go asynchronously). */
static bool link_gone(const char *name)
{
	for (int i = 0; i < 100; i++) {
		if (sh("ip link show %s >/dev/null 2>&1", name) != 0)
			return true;
		usleep(20000);
	}
	return false;
}

static void test_netns(void **state)
{
	(void)state;
	autofree char *nsdir = xasprintf("%s/netns", dir);
	char *path = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(vmm_netns_create(nsdir, "a", &path, &err), 0);
	assert_true(vmm_netns_pinned(path));
	char *again = NULL;
	assert_int_equal(vmm_netns_create(nsdir, "a", &again, &err), -1);
	assert_int_equal(err->status, KUMO_E_EXISTS);
	kumo_error_free(&err);
	/* A link made here is not there, and the other way round. */
	assert_int_equal(sh("ip link add kutest0 type veth peer name kutest1"), 0);
	unsigned seen = 0;
	assert_int_equal(vmm_netns_run(path, count_links, &seen, &err), 0);
	assert_int_equal(seen, 1);
	assert_int_equal(vmm_netns_run(NULL, count_links, &seen, &err), 0);
	assert_int_equal(seen, 11);
	assert_int_equal(sh("ip link del kutest0"), 0);
	assert_int_equal(vmm_netns_remove(path, &err), 0);
	assert_false(vmm_netns_pinned(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(vmm_netns_remove(path, &err), 0);
	assert_int_equal(vmm_netns_run(path, count_links, &seen, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "open network namespace"));
	kumo_error_free(&err);
	free(path);
}

/* The pod side: namespace pod with eth0 (10.5.0.2/24, veth to the node's vnode0 at
 * 10.5.0.1/24). */
static char *make_pod(const char *name, const char *net)
{
	autofree char *nsdir = xasprintf("%s/netns", dir);
	char *path = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(vmm_netns_create(nsdir, name, &path, &err), 0);
	assert_int_equal(sh("ip link add vn%s type veth peer name eth0 netns %s && "
			    "ip addr add %s.1/24 dev vn%s && ip link set vn%s up && "
			    "nsenter --net=%s sh -c 'ip addr add %s.2/24 dev eth0 && ip link set eth0 up'",
			    name, path, net, name, name, path, net),
			 0);
	return path;
}

struct pod_job {
	const char *tap;
	int fd;
	struct vmm_link_facts facts;
	unsigned onlink;
	bool active[2];
};

static int pod_tap_fn(void *arg, kumo_error_t *err)
{
	struct pod_job *j = arg;
	if (vmm_link_facts("eth0", &j->facts, err) < 0 || vmm_tap_create(j->tap, j->facts.mtu, err) < 0 ||
	    vmm_redirect_install("eth0", j->tap, err) < 0 || vmm_tap_open(j->tap, &j->fd, err) < 0)
		return -1;
	j->active[0] = vmm_redirect_active("eth0", j->tap);
	j->active[1] = vmm_redirect_active(j->tap, "eth0");
	return 0;
}

/* Sends a datagram to net.2 from the node, reads the ARP request off the tap fd, answers it through
 * the fd with mac, and checks the node learnt net.2 at mac. */
static void arp_through(int fd, const char *node_if, const char *net, const uint8_t mac[6])
{
	/* Any datagram to net.2 makes the node ask for its MAC (no ping on every host). */
	assert_int_equal(sh("bash -c 'echo x >/dev/udp/%s.2/9' 2>/dev/null", net), 0);
	uint8_t f[2048];
	ssize_t n = 0;
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		/* IFF_VNET_HDR: a 10-byte virtio-net header comes first. */
		n = read(fd, f, sizeof(f));
		if (n >= 10 + 42 && f[10 + 12] == 0x08 && f[10 + 13] == 0x06)
			break;
		n = 0;
	}
	assert_true(n >= 52);
	uint8_t *eth = f + 10, *arp = eth + 14;
	struct in_addr target;
	autofree char *ip = xasprintf("%s.2", net);
	inet_pton(AF_INET, ip, &target);
	assert_int_equal(arp[7], 1); /* request */
	assert_memory_equal(arp + 24, &target, 4);
	/* The reply: to the asker, from mac. */
	uint8_t r[10 + 42] = {0};
	uint8_t *re = r + 10, *ra = re + 14;
	memcpy(re, eth + 6, 6);
	memcpy(re + 6, mac, 6);
	re[12] = 0x08, re[13] = 0x06;
	ra[1] = 1, ra[2] = 0x08, ra[4] = 6, ra[5] = 4, ra[7] = 2;
	memcpy(ra + 8, mac, 6);
	memcpy(ra + 14, &target, 4);
	memcpy(ra + 18, arp + 8, 10);
	assert_int_equal(write(fd, r, sizeof(r)), (ssize_t)sizeof(r));
	char m[18];
	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	int found = 1;
	for (int tries = 0; tries < 50 && found; tries++) {
		found = sh("ip neigh show dev %s | grep -q '%s.2 lladdr %s'", node_if, net, m);
		if (found)
			usleep(20000);
	}
	assert_int_equal(found, 0);
}

static void test_tap_redirect(void **state)
{
	(void)state;
	autofree char *pod = make_pod("p1", "10.5.0");
	struct pod_job j = {.tap = "kctest1", .fd = -1};
	kumo_error_t err = NULL;
	if (vmm_netns_run(pod, pod_tap_fn, &j, &err) < 0)
		fail_msg("%s", kumo_error_msg(err));
	assert_true(j.active[0] && j.active[1]);
	assert_int_equal(j.facts.mtu, 1500);
	arp_through(j.fd, "vnp1", "10.5.0", j.facts.mac);
	/* The tap exists only in the pod, exclusively. */
	assert_false(vmm_link_exists("kctest1"));
	struct pod_job j2 = {.tap = "kctest1"};
	assert_int_equal(vmm_netns_run(pod, pod_tap_fn, &j2, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "TUNSETIFF"));
	kumo_error_free(&err);
	close(j.fd);
	assert_int_equal(vmm_netns_remove(pod, &err), 0);
	assert_true(link_gone("vnp1"));
}

static int arrive_fn(void *arg, kumo_error_t *err)
{
	struct pod_job *j = arg;
	if (vmm_link_facts("eth0", &j->facts, err) < 0 || vmm_link_up(j->tap, j->facts.mtu, err) < 0)
		return -1;
	return vmm_redirect_install("eth0", j->tap, err);
}

static void test_tap_moved(void **state)
{
	(void)state;
	autofree char *pod = make_pod("p2", "10.6.0");
	kumo_error_t err = NULL;
	/* libvirt's order: the tap in the host namespace, opened, then moved into the pod. */
	assert_int_equal(vmm_tap_create("kctest2", 0, &err), 0);
	int fd = -1;
	assert_int_equal(vmm_tap_open("kctest2", &fd, &err), 0);
	int nsfd = open(pod, O_RDONLY | O_CLOEXEC);
	assert_true(nsfd >= 0);
	assert_int_equal(vmm_link_move("kctest2", nsfd, &err), 0);
	close(nsfd);
	assert_false(vmm_link_exists("kctest2"));
	struct pod_job j = {.tap = "kctest2"};
	if (vmm_netns_run(pod, arrive_fn, &j, &err) < 0)
		fail_msg("%s", kumo_error_msg(err));
	arp_through(fd, "vnp2", "10.6.0", j.facts.mac);
	close(fd);
	assert_int_equal(vmm_link_delete("kctest2", &err), 0); /* not here: fine */
	assert_int_equal(vmm_netns_remove(pod, &err), 0);
}

static int onlink_fn(void *arg, kumo_error_t *err)
{
	struct pod_job *j = arg;
	return vmm_onlink_prefix("eth0", "10.7.0.2", 24, &j->onlink, err);
}

static void test_onlink(void **state)
{
	(void)state;
	autofree char *pod = make_pod("p3", "10.7.0");
	struct pod_job j = {0};
	kumo_error_t err = NULL;
	assert_int_equal(vmm_netns_run(pod, onlink_fn, &j, &err), 0);
	assert_int_equal(j.onlink, 24);
	/* What the ptp plugin does: the subnet through the gateway. */
	assert_int_equal(sh("nsenter --net=%s sh -c 'ip route del 10.7.0.0/24 dev eth0 && "
			    "ip route add 10.7.0.1/32 dev eth0 scope link && "
			    "ip route add 10.7.0.0/24 via 10.7.0.1 dev eth0'",
			    pod),
			 0);
	assert_int_equal(vmm_netns_run(pod, onlink_fn, &j, &err), 0);
	assert_int_equal(j.onlink, 32);
	assert_int_equal(vmm_netns_remove(pod, &err), 0);
}

/* ---- vmm_podnet_* against shell-script plugins ---- */

/* Plugins: "mkif" checks that its pod's record exists in state "adding", makes eth0
 * (a veth to the node) and prints a result; "flaky" fails when $dir/fail exists; both
 * log their command to $dir/plog. */
static void make_plugins(const char *bin, const char *state_dir)
{
	autofree char *mkif = xasprintf("%s/mkif", bin);
	autofree char *flaky = xasprintf("%s/flaky", bin);
	sh("mkdir -p %s", bin);
	FILE *f = fopen(mkif, "w");
	assert_non_null(f);
	fprintf(f,
		"#!/bin/sh\n"
		"cat >/dev/null\n"
		"echo \"$CNI_COMMAND mkif $CNI_CONTAINERID\" >>%s/plog\n"
		"node=vh$(echo \"$CNI_CONTAINERID\" | cut -c1-8)\n"
		"case $CNI_COMMAND in\n"
		"ADD)\n"
		"  grep -q '\"state\": \"adding\"' %s/$CNI_CONTAINERID.json || "
		"{ echo '{\"code\":100,\"msg\":\"no record before ADD\"}'; exit 1; }\n"
		"  ip link add $node type veth peer name $CNI_IFNAME netns $CNI_NETNS || exit 1\n"
		"  ip link set $node up; ip addr add 10.8.0.1/24 dev $node 2>/dev/null\n"
		"  nsenter --net=$CNI_NETNS sh -c \"ip addr add 10.8.0.2/24 dev $CNI_IFNAME && ip link set $CNI_IFNAME up\"\n"
		"  echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"'$node'\"},{\"name\":\"'$CNI_IFNAME'\","
		"\"sandbox\":\"'$CNI_NETNS'\"}],\"ips\":[{\"address\":\"10.8.0.2/24\",\"gateway\":\"10.8.0.1\","
		"\"interface\":1}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{\"nameservers\":[\"10.8.0.1\"],"
		"\"search\":[\"svc.test\"]}}' ;;\n"
		"DEL) ip link del $node 2>/dev/null; echo '{}' ;;\n"
		"esac\n",
		dir, state_dir);
	fclose(f);
	f = fopen(flaky, "w");
	assert_non_null(f);
	fprintf(f,
		"#!/bin/sh\n"
		"in=$(cat)\n"
		"echo \"$CNI_COMMAND flaky $CNI_CONTAINERID\" >>%s/plog\n"
		"[ -e %s/fail ] && [ $CNI_COMMAND = ADD ] && "
		"{ echo '{\"cniVersion\":\"1.0.0\",\"code\":101,\"msg\":\"flaky says no\"}'; exit 1; }\n"
		"printf '%%s' \"$in\" | sed 's/.*\"prevResult\":\\(.*\\)}$/\\1/'\n",
		dir, dir);
	fclose(f);
	chmod(mkif, 0755);
	chmod(flaky, 0755);
}

static char *plog(void)
{
	autofree char *p = xasprintf("%s/plog", dir);
	uint8_t *buf = NULL;
	size_t len;
	kumo_error_t err = NULL;
	if (kumo_read_file(p, 1 << 20, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return xstrdup("");
	}
	unlink(p);
	return (char *)buf;
}

static int redirect_fn(void *arg, kumo_error_t *err)
{
	struct pod_job *j = arg;
	j->active[0] = vmm_redirect_active("eth0", j->tap) && vmm_redirect_active(j->tap, "eth0");
	return 0;
}

static bool never_live(const char *id, void *ctx)
{
	(void)id;
	(void)ctx;
	return false;
}

static bool live_a(const char *id, void *ctx)
{
	(void)ctx;
	return strcmp(id, "poda") == 0;
}

static void test_podnet(void **state)
{
	(void)state;
	autofree char *bin = xasprintf("%s/bin", dir);
	autofree char *conf = xasprintf("%s/conf", dir);
	autofree char *st = xasprintf("%s/state", dir);
	autofree char *nsd = xasprintf("%s/pods", dir);
	make_plugins(bin, st);
	sh("mkdir -p %s && echo '{\"cniVersion\":\"1.0.0\",\"name\":\"fake\",\"plugins\":"
	   "[{\"type\":\"mkif\"},{\"type\":\"flaky\"}]}' >%s/10-fake.conflist",
	   conf, conf);
	struct vmm_podnet_config cfg = {.conf_dir = conf, .plugin_path = bin, .netns_dir = nsd,
					.state_dir = st, .timeout_ms = 20000};
	struct vmm_podnet_pod pod = {.id = "poda", .name = "web", .namespace = "default", .uid = "u1"};
	struct vmm_podnet pn;
	kumo_error_t err = NULL;
	if (vmm_podnet_setup(&cfg, &pod, &pn, &err) < 0)
		fail_msg("%s", kumo_error_msg(err));
	autofree char *l1 = plog();
	assert_string_equal(l1, "ADD mkif poda\nADD flaky poda\n");
	assert_string_equal(pn.address, "10.8.0.2");
	assert_int_equal(pn.prefix, 24);
	assert_int_equal(pn.onlink_prefix, 24);
	assert_string_equal(pn.gateway, "10.8.0.1");
	assert_int_equal(pn.mtu, 1500);
	assert_string_equal(pn.network, "fake");
	assert_int_equal(pn.ndns_servers, 1);
	assert_string_equal(pn.dns_search[0], "svc.test");
	assert_int_equal(pn.nroutes, 1);
	assert_false(pn.tap_in_host);
	assert_true(vmm_netns_pinned(pn.netns));
	struct pod_job j = {.tap = pn.tap};
	assert_int_equal(vmm_netns_run(pn.netns, redirect_fn, &j, &err), 0);
	assert_true(j.active[0]);
	/* The QEMU backend's fd. */
	int fd = -1;
	assert_int_equal(vmm_pod_tap_open(pn.netns, pn.tap, &fd, &err), 0);
	arp_through(fd, "vhpoda", "10.8.0", pn.mac);
	close(fd);
	/* Again: the recorded setup, no plugin run. */
	struct vmm_podnet pn2;
	assert_int_equal(vmm_podnet_setup(&cfg, &pod, &pn2, &err), 0);
	assert_memory_equal(&pn, &pn2, sizeof(pn));
	assert_int_equal(vmm_podnet_get(&cfg, "poda", &pn2, &err), 1);
	assert_memory_equal(&pn, &pn2, sizeof(pn));
	autofree char *l2 = plog();
	assert_string_equal(l2, "");
	/* libvirt's moves: to the host and back, the redirect following. */
	assert_int_equal(vmm_pod_tap_to_host(NULL, pn.netns, pn.tap, NULL, &err), 0);
	assert_true(vmm_link_exists(pn.tap));
	assert_int_equal(vmm_pod_tap_to_host(NULL, pn.netns, pn.tap, NULL, &err), 0); /* stays */
	assert_int_equal(vmm_podnet_get(&cfg, "poda", &pn2, &err), 1);
	assert_true(pn2.tap_in_host);
	assert_int_equal(vmm_podnet_setup(&cfg, &pod, &pn2, &err), 0); /* found in the host */
	assert_true(pn2.tap_in_host);
	assert_int_equal(vmm_pod_tap_to_pod(NULL, pn.netns, pn.tap, NULL, &err), 0);
	assert_false(vmm_link_exists(pn.tap));
	assert_int_equal(vmm_podnet_get(&cfg, "poda", &pn2, &err), 1);
	assert_false(pn2.tap_in_host);
	assert_int_equal(vmm_netns_run(pn.netns, redirect_fn, &j, &err), 0);
	assert_true(j.active[0]);

	/* A failing second plugin: its message, then DEL of the whole list. */
	sh("touch %s/fail", dir);
	struct vmm_podnet_pod podb = {.id = "podb"};
	assert_int_equal(vmm_podnet_setup(&cfg, &podb, &pn2, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "plugin `flaky` ADD failed: flaky says no (code 101)"));
	kumo_error_free(&err);
	autofree char *l3 = plog();
	assert_string_equal(l3, "ADD mkif podb\nADD flaky podb\nDEL flaky podb\nDEL mkif podb\n");
	autofree char *recb = xasprintf("%s/podb.json", st);
	autofree char *pinb = xasprintf("%s/podb", nsd);
	assert_int_equal(access(recb, F_OK), -1);
	assert_int_equal(access(pinb, F_OK), -1);
	assert_int_equal(vmm_podnet_get(&cfg, "podb", &pn2, &err), 0);

	/* A crash half-way (a record in state adding, its namespace pinned, ADD done):
	 * recovery DELs it, leaves the live pod alone. */
	sh("rm -f %s/fail", dir);
	struct vmm_podnet_pod podc = {.id = "podc"};
	assert_int_equal(vmm_podnet_setup(&cfg, &podc, &pn2, &err), 0);
	autofree char *recc = xasprintf("%s/podc.json", st);
	sh("sed -i 's/\"state\": \"ready\"/\"state\": \"added\"/' %s", recc);
	autofree char *l4 = plog();
	assert_int_equal(vmm_podnet_recover(&cfg, live_a, NULL, &err), 1);
	autofree char *l5 = plog();
	assert_string_equal(l5, "DEL flaky podc\nDEL mkif podc\n");
	assert_int_equal(access(recc, F_OK), -1);
	assert_true(link_gone("vhpodc"));
	assert_int_equal(vmm_podnet_get(&cfg, "poda", &pn2, &err), 1);
	/* A stale pin no record owns goes too. */
	char *stale = NULL;
	assert_int_equal(vmm_netns_create(nsd, "podz", &stale, &err), 0);
	assert_int_equal(vmm_podnet_recover(&cfg, live_a, NULL, &err), 0);
	assert_false(vmm_netns_pinned(stale));
	free(stale);

	/* Teardown: DEL in reverse with the recorded result, nothing left; again: fine. */
	assert_int_equal(vmm_podnet_teardown(&cfg, "poda", &err), 0);
	autofree char *l6 = plog();
	assert_string_equal(l6, "DEL flaky poda\nDEL mkif poda\n");
	assert_false(vmm_netns_pinned(pn.netns));
	assert_true(link_gone("vhpoda"));
	assert_int_equal(vmm_podnet_teardown(&cfg, "poda", &err), 0);
	autofree char *l7 = plog();
	assert_string_equal(l7, "");
	assert_int_equal(vmm_podnet_recover(&cfg, never_live, NULL, &err), 0);
	assert_int_equal(sh("ls %s | grep -q json", st), 256);

	/* Bad ids and arguments are refused before anything runs. */
	struct vmm_podnet_pod bad = {.id = "../x"};
	assert_int_equal(vmm_podnet_setup(&cfg, &bad, &pn2, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "is not a CNI container id"));
	kumo_error_free(&err);
	struct vmm_podnet_pod badarg = {.id = "pode", .name = "a;b=c"};
	assert_int_equal(vmm_podnet_setup(&cfg, &badarg, &pn2, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "cannot be passed in CNI_ARGS"));
	kumo_error_free(&err);
	autofree char *l8 = plog();
	assert_string_equal(l8, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netns),
		cmocka_unit_test(test_tap_redirect),
		cmocka_unit_test(test_tap_moved),
		cmocka_unit_test(test_onlink),
		cmocka_unit_test(test_podnet),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
