/* tests/unit/test_vmm_net.c - per-pod networking inside a network namespace this test
 * creates (unshare): node bridge, taps, masquerade and hostPort rules set up and torn
 * down with leak counting; IPAM under concurrent allocation by threads and processes,
 * persistence, exhaustion. Never touches the machine's real interfaces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/vmm.h"

static char workdir[] = "/tmp/kumo-vmmnet-XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET) (the network tests need root)");
		return -1;
	}
	if (system("ip link set lo up") != 0 || !mkdtemp(workdir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	autofree char *cmd = xasprintf("rm -rf %s", workdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int count_cmd(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	int n = -1;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct counts {
	int links, taps, addrs, rules, ips, records;
};

static struct counts snapshot(const char *state_dir)
{
	struct counts c;
	c.links = count_cmd("ip -o link show | wc -l");
	c.taps = count_cmd("ip -o -d link show | grep -c 'tun type tap'");
	c.addrs = count_cmd("ip -o -4 addr show | wc -l"); /* v6 link-local comes and goes with links */
	c.rules = count_cmd("(iptables-save -t nat; iptables-save -t filter) | grep -cE '^(-A|:)'");
	autofree char *ips = xasprintf("%s/ipam/ips", state_dir);
	autofree char *pods = xasprintf("%s/pods", state_dir);
	c.ips = count_files(ips);
	c.records = count_files(pods);
	return c;
}

static void same_counts(struct counts a, struct counts b)
{
	assert_int_equal(a.links, b.links);
	assert_int_equal(a.taps, b.taps);
	assert_int_equal(a.addrs, b.addrs);
	assert_int_equal(a.rules, b.rules);
	assert_int_equal(a.ips, b.ips);
	assert_int_equal(a.records, b.records);
}

static void setup_teardown_no_leaks(void **state)
{
	(void)state;
	autofree char *sd = xasprintf("%s/net", workdir);
	struct vmm_net_config cfg = {.bridge = "kumotest0", .cidr = "10.244.7.0/24", .state_dir = sd};
	kumo_error_t err = NULL;
	struct counts empty = snapshot(sd);
	assert_int_equal(vmm_net_node_setup(&cfg, &err), 0);
	assert_int_equal(vmm_net_node_setup(&cfg, &err), 0); /* idempotent */
	struct counts node = snapshot(sd);
	assert_int_equal(node.links, empty.links + 1);
	assert_int_equal(node.addrs, empty.addrs + 1);
	assert_true(node.rules > empty.rules);
	assert_int_equal(count_cmd("ip -o addr show dev kumotest0 | grep -c '10.244.7.1/24'"), 1);
	assert_int_equal(count_cmd("cat /proc/sys/net/ipv4/ip_forward"), 1);
	assert_int_equal(count_cmd("iptables-save -t nat | grep -c 'MASQUERADE'"), 1);

	struct vmm_port_mapping ports[] = {
		{.protocol = IPPROTO_TCP, .host_port = 8080, .container_port = 80},
		{.protocol = IPPROTO_UDP, .host_port = 5353, .container_port = 53},
		{.protocol = IPPROTO_TCP, .host_port = 0, .container_port = 9000}, /* unpublished */
	};
	struct vmm_net_pod a, b, c, again;
	assert_int_equal(vmm_net_pod_setup(&cfg, "pod-a", ports, 3, &a, &err), 0);
	assert_int_equal(vmm_net_pod_setup(&cfg, "pod-b", NULL, 0, &b, &err), 0);
	struct vmm_port_mapping pc = {.protocol = IPPROTO_TCP, .host_port = 8443,
				      .container_port = 443, .host_ip = "127.0.0.1"};
	assert_int_equal(vmm_net_pod_setup(&cfg, "pod-c", &pc, 1, &c, &err), 0);
	assert_string_equal(a.ip, "10.244.7.2");
	assert_string_equal(b.ip, "10.244.7.3");
	assert_string_equal(c.ip, "10.244.7.4");
	assert_string_equal(a.gateway, "10.244.7.1");
	assert_int_equal(a.prefix, 24);
	assert_string_equal(a.tap, "kt0af40702");
	assert_int_equal(a.mac[0], 0x02);
	assert_int_equal(a.mac[5], 2);
	/* Again for the same pod: the recorded setup, nothing new. */
	struct counts three = snapshot(sd);
	assert_int_equal(vmm_net_pod_setup(&cfg, "pod-a", ports, 3, &again, &err), 0);
	assert_string_equal(again.ip, a.ip);
	same_counts(snapshot(sd), three);
	assert_int_equal(three.taps, node.taps + 3);
	assert_int_equal(three.links, node.links + 3);
	assert_int_equal(three.rules, node.rules + 3);
	assert_int_equal(three.ips, 3);
	assert_int_equal(three.records, 3);
	autofree char *master = xasprintf("ip -o link show %s | grep -c 'master kumotest0'", a.tap);
	assert_int_equal(count_cmd(master), 1);
	assert_int_equal(count_cmd("iptables-save -t nat | grep -c -- '-p udp -m udp --dport 5353 .*--to-destination 10.244.7.2:53'"), 1);
	assert_int_equal(count_cmd("iptables-save -t nat | grep -c -- '-d 127.0.0.1/32 -p tcp .*--dport 8443 .*10.244.7.4:443'"), 1);

	/* A host port another pod publishes: a clear error, nothing left behind. */
	struct vmm_net_pod d;
	struct vmm_port_mapping clash = {.protocol = IPPROTO_TCP, .host_port = 8080, .container_port = 8080};
	assert_int_equal(vmm_net_pod_setup(&cfg, "pod-d", &clash, 1, &d, &err), -1);
	assert_string_equal(kumo_error_msg(err),
			    "network of pod `pod-d`: host port tcp/8080 is already used by pod `pod-a`");
	kumo_error_free(&err);
	same_counts(snapshot(sd), three);
	assert_int_equal(vmm_net_pod_setup(&cfg, "../evil", NULL, 0, &d, &err), -1);
	kumo_error_free(&err);

	/* Teardown: back to the node-only counts; twice is fine. */
	assert_int_equal(vmm_net_pod_teardown(&cfg, "pod-a", &err), 0);
	assert_int_equal(vmm_net_pod_teardown(&cfg, "pod-b", &err), 0);
	assert_int_equal(vmm_net_pod_teardown(&cfg, "pod-c", &err), 0);
	assert_int_equal(vmm_net_pod_teardown(&cfg, "pod-c", &err), 0);
	assert_int_equal(vmm_net_pod_teardown(&cfg, "never-set-up", &err), 0);
	same_counts(snapshot(sd), node);

	/* A crash after the tap was made but before the rules: teardown still cleans. */
	assert_int_equal(vmm_net_pod_setup(&cfg, "pod-e", ports, 2, &a, &err), 0);
	assert_int_equal(system("iptables -w -t nat -F KUMO-HOSTPORTS"), 0);
	assert_int_equal(vmm_net_pod_teardown(&cfg, "pod-e", &err), 0);
	same_counts(snapshot(sd), node);

	/* A new pod CIDR (UpdateRuntimeConfig) re-addresses the bridge. */
	cfg.cidr = "10.245.0.0/16";
	assert_int_equal(vmm_net_node_setup(&cfg, &err), 0);
	assert_int_equal(count_cmd("ip -o addr show dev kumotest0 | grep -c '10.245.0.1/16'"), 1);
	assert_int_equal(count_cmd("ip -o addr show dev kumotest0 | grep -c '10.244.7.1'"), 0);
	assert_int_equal(vmm_net_node_teardown(&cfg, &err), 0);
	struct counts end = snapshot(sd);
	same_counts(end, empty);
}

struct alloc_job {
	const char *dir;
	const char *cidr;
	int id, n;
	char (*ips)[16];
	int failed;
};

static void *alloc_thread(void *arg)
{
	struct alloc_job *j = arg;
	for (int i = 0; i < j->n; i++) {
		autofree char *owner = xasprintf("t%d-%d", j->id, i);
		kumo_error_t err = NULL;
		if (vmm_ipam_alloc(j->dir, j->cidr, owner, j->ips[i], &err) < 0) {
			fprintf(stderr, "%s\n", kumo_error_msg(err));
			kumo_error_free(&err);
			j->failed++;
		}
	}
	return NULL;
}

static int cmp_ip(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void ipam_concurrent(void **state)
{
	(void)state;
	autofree char *dir = xasprintf("%s/ipam-conc", workdir);
	const char *cidr = "10.9.0.0/22"; /* 1021 usable */
	enum { THREADS = 6, PER = 25, PROCS = 4 };
	/* Processes first, in parallel with the threads: each writes what it got. */
	pid_t pids[PROCS];
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			char ips[PER][16];
			struct alloc_job j = {.dir = dir, .cidr = cidr, .id = 100 + p, .n = PER, .ips = ips};
			alloc_thread(&j);
			autofree char *out = xasprintf("%s/proc-%d.txt", workdir, p);
			FILE *f = fopen(out, "w");
			for (int i = 0; i < PER; i++)
				fprintf(f, "%s\n", ips[i]);
			fclose(f);
			_exit(j.failed ? 1 : 0);
		}
	}
	pthread_t t[THREADS];
	struct alloc_job jobs[THREADS];
	char (*ips)[16] = xzalloc(sizeof(char[16]) * (THREADS + PROCS) * PER);
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct alloc_job){.dir = dir, .cidr = cidr, .id = i, .n = PER, .ips = ips + i * PER};
		assert_int_equal(pthread_create(&t[i], NULL, alloc_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(jobs[i].failed, 0);
	}
	for (int p = 0; p < PROCS; p++) {
		int st;
		assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		autofree char *in = xasprintf("%s/proc-%d.txt", workdir, p);
		FILE *f = fopen(in, "r");
		for (int i = 0; i < PER; i++)
			assert_int_equal(fscanf(f, "%15s", ips[(THREADS + p) * PER + i]), 1);
		fclose(f);
	}
	int total = (THREADS + PROCS) * PER;
	qsort(ips, (size_t)total, 16, cmp_ip);
	for (int i = 1; i < total; i++)
		if (strcmp(ips[i - 1], ips[i]) == 0) {
			fprintf(stderr, "duplicate address %s\n", ips[i]);
			fail();
		}
	autofree char *ipsdir = xasprintf("%s/ips", dir);
	assert_int_equal(count_files(ipsdir), total);
	/* Release everything: nothing left. */
	kumo_error_t err = NULL;
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < PER; k++) {
			autofree char *owner = xasprintf("t%d-%d", i, k);
			assert_int_equal(vmm_ipam_release(dir, owner, &err), 0);
		}
	for (int p = 0; p < PROCS; p++)
		for (int k = 0; k < PER; k++) {
			autofree char *owner = xasprintf("t%d-%d", 100 + p, k);
			assert_int_equal(vmm_ipam_release(dir, owner, &err), 0);
		}
	assert_int_equal(count_files(ipsdir), 0);
	free(ips);
}

static void ipam_persist_and_exhaust(void **state)
{
	(void)state;
	autofree char *dir = xasprintf("%s/ipam-small", workdir);
	const char *cidr = "192.168.50.0/29"; /* .2 .. .6 */
	kumo_error_t err = NULL;
	char ip[16], ip2[16];
	assert_int_equal(vmm_ipam_alloc(dir, cidr, "a", ip, &err), 0);
	assert_string_equal(ip, "192.168.50.2");
	/* Same owner (a restart asking again): same address. */
	assert_int_equal(vmm_ipam_alloc(dir, cidr, "a", ip2, &err), 0);
	assert_string_equal(ip2, ip);
	assert_int_equal(vmm_ipam_alloc(dir, cidr, "b", ip, &err), 0);
	assert_string_equal(ip, "192.168.50.3");
	/* Freed .3 is not handed out again at once (the hint moves on). */
	assert_int_equal(vmm_ipam_release(dir, "b", &err), 0);
	assert_int_equal(vmm_ipam_alloc(dir, cidr, "c", ip, &err), 0);
	assert_string_equal(ip, "192.168.50.4");
	const char *more[] = {"d", "e", "f"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(vmm_ipam_alloc(dir, cidr, more[i], ip, &err), 0);
	assert_int_equal(vmm_ipam_alloc(dir, cidr, "g", ip, &err), -1);
	assert_string_equal(kumo_error_msg(err), "pod cidr `192.168.50.0/29` has no free address left");
	kumo_error_free(&err);
	const char *bad[] = {"10.0.0.0", "10.0.0.0/31", "10.0.0.0/7", "300.0.0.0/24", "10.0.0.0/x"};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(vmm_ipam_alloc(dir, bad[i], "z", ip, &err), -1);
		assert_int_equal(err->status, KUMO_E_INVALID);
		kumo_error_free(&err);
	}
}

/* A VM on a pod's tap inside the namespace (QEMU backend, paused): the tap is taken,
 * a second VM on the same pod network gets a clear error. */
static void one_vm_per_pod_network(void **state)
{
	(void)state;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	autofree char *fixture = xasprintf("%s/vmm/pvh-fixture.elf", exe);
	if (access(fixture, R_OK) < 0) {
		fprintf(stderr, "fixture `%s` missing\n", fixture);
		fail();
	}
	autofree char *sd = xasprintf("%s/net2", workdir);
	struct vmm_net_config cfg = {.bridge = "kumotest1", .cidr = "10.250.0.0/24", .state_dir = sd};
	kumo_error_t err = NULL;
	assert_int_equal(vmm_net_node_setup(&cfg, &err), 0);
	struct vmm_net_pod pod;
	assert_int_equal(vmm_net_pod_setup(&cfg, "pod-vm", NULL, 0, &pod, &err), 0);
	struct vmm_config vc = {.backend = VMM_BACKEND_QEMU};
	struct vmm *vmm;
	assert_int_equal(vmm_open(&vc, &vmm, &err), 0);
	struct vmm_net_attach att = {.tap = pod.tap};
	memcpy(att.mac, pod.mac, 6);
	autofree char *d1 = xasprintf("%s/vm1", workdir);
	autofree char *d2 = xasprintf("%s/vm2", workdir);
	struct vmm_spec s = {.name = "netvm1", .kernel = fixture, .cmdline = "out=x", .memory_mib = 32,
			     .vcpus = 1, .run_dir = d1, .stdout_fd = -1, .stderr_fd = -1, .net = &att};
	struct vmm_vm *vm1 = NULL, *vm2 = NULL;
	assert_int_equal(vmm_create(vmm, &s, &vm1, &err), 0);
	s.name = "netvm2";
	s.run_dir = d2;
	assert_int_equal(vmm_create(vmm, &s, &vm2, &err), -1);
	assert_int_equal(err->status, KUMO_E_PRECONDITION);
	assert_non_null(strstr(kumo_error_msg(err), "is in use by vm `netvm1`"));
	kumo_error_free(&err);
	/* Once the first is gone, the next one (the next init container) may use it. */
	vmm_vm_free(vm1);
	assert_int_equal(vmm_create(vmm, &s, &vm2, &err), 0);
	assert_int_equal(vmm_start(vm2, &err), 0);
	struct kumo_exit_record ex;
	assert_int_equal(vmm_wait(vm2, -1, &ex, &err), 1);
	assert_int_equal(ex.kind, KUMO_EXIT_EXITED);
	vmm_vm_free(vm2);
	vmm_close(vmm);
	assert_int_equal(vmm_net_pod_teardown(&cfg, "pod-vm", &err), 0);
	assert_int_equal(vmm_net_node_teardown(&cfg, &err), 0);
	assert_int_equal(count_cmd("ip -o link show | wc -l"), 1);
}

/* The host's resolvers for guests: IPv4 only, loopback ones skipped, in order, no
 * duplicates, at most max. */
static void host_dns(void **state)
{
	(void)state;
	autofree char *path = xasprintf("%s/resolv.conf", workdir);
	const char *text = "# generated\nsearch example.org\nnameserver 127.0.0.53\n"
			   "nameserver 10.1.2.3\nnameserver ::1\nnameserver fe80::1%eth0\n"
			   "  nameserver 192.168.1.1  \nnameserver 10.1.2.3\nnameserver 9.9.9.9\n";
	kumo_error_t err = NULL;
	assert_int_equal(kumo_write_file_atomic(path, text, strlen(text), 0644, &err), 0);
	char dns[4][16];
	assert_int_equal(vmm_net_host_dns(path, dns, 4), 3);
	assert_string_equal(dns[0], "10.1.2.3");
	assert_string_equal(dns[1], "192.168.1.1");
	assert_string_equal(dns[2], "9.9.9.9");
	assert_int_equal(vmm_net_host_dns(path, dns, 2), 2);
	/* Only loopback resolvers: none usable from a VM. */
	const char *lo = "nameserver 127.0.0.53\noptions edns0\n";
	assert_int_equal(kumo_write_file_atomic(path, lo, strlen(lo), 0644, &err), 0);
	assert_int_equal(vmm_net_host_dns(path, dns, 4), 0);
	autofree char *missing = xasprintf("%s/no-such-resolv.conf", workdir);
	assert_int_equal(vmm_net_host_dns(missing, dns, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(setup_teardown_no_leaks),
		cmocka_unit_test(ipam_concurrent),
		cmocka_unit_test(ipam_persist_and_exhaust),
		cmocka_unit_test(one_vm_per_pod_network),
		cmocka_unit_test(host_dns),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
