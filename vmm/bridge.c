/* vmm/bridge.c - per-pod networking on kumo's own node bridge, with `ip` and
 * `iptables`: the bridge with the gateway address, masquerade for egress, one tap per
 * pod on the bridge, hostPort DNAT;
 * a record per pod (written before anything is made) so teardown removes exactly what
 * setup made, also after a crash half-way. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "vmm_backend.h"

extern char **environ;

#define MAX_PORTS 64

int vmm_run_cmd(char *const argv[], char **out, kumo_error_t *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return kumo_error_errno(err, errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return kumo_error_errno(err, rc, "run `%s`", argv[0]);
	}
	size_t len = 0, cap = 256;
	char *buf = xmalloc(cap);
	for (;;) {
		if (len + 1 == cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t n = read(p[0], buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs argv and fails with its output when it exits non-zero. */
static int must(char *const argv[], kumo_error_t *err)
{
	autofree char *out = NULL;
	int rc = vmm_run_cmd(argv, &out, err);
	if (rc < 0)
		return -1;
	if (rc != 0) {
		char cmd[512];
		size_t n = 0;
		for (int i = 0; argv[i] && n < sizeof(cmd) - 1; i++)
			n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s%s", i ? " " : "", argv[i]);
		out[strcspn(out, "\n")] = 0;
		return kumo_error(err, KUMO_E_INTERNAL, "`%s` failed (exit %d): %s", cmd, rc, out);
	}
	return 0;
}

/* Runs argv; true when it exits 0 (for checks such as iptables -C). */
static bool ok(char *const argv[])
{
	kumo_error_t err = NULL;
	int rc = vmm_run_cmd(argv, NULL, &err);
	kumo_error_free(&err);
	return rc == 0;
}

#define CMD(...) ((char *const[]){__VA_ARGS__, NULL})

struct names {
	const char *bridge;
	char nat_post[32], nat_ports[32], fwd[32];
};

static void names_of(const struct vmm_net_config *cfg, struct names *n)
{
	const char *pre = cfg->chain_prefix ? cfg->chain_prefix : "KUMO";
	n->bridge = cfg->bridge ? cfg->bridge : "kumo0";
	snprintf(n->nat_post, sizeof(n->nat_post), "%s-POSTROUTING", pre);
	snprintf(n->nat_ports, sizeof(n->nat_ports), "%s-HOSTPORTS", pre);
	snprintf(n->fwd, sizeof(n->fwd), "%s-FORWARD", pre);
}

/* In this process's network namespace (sysfs would show the namespace it was mounted
 * in). */
static bool link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

/* Creates chain in table (if missing) and makes sure `from` jumps to it once (only for
 * local destinations when local_only). */
static int ensure_chain(const char *table, const char *chain, const char *from, bool local_only,
			kumo_error_t *err)
{
	if (!ok(CMD("iptables", "-w", "-t", (char *)table, "-S", (char *)chain)) &&
	    must(CMD("iptables", "-w", "-t", (char *)table, "-N", (char *)chain), err) < 0)
		return -1;
	if (local_only) {
		if (!ok(CMD("iptables", "-w", "-t", (char *)table, "-C", (char *)from, "-m", "addrtype",
			    "--dst-type", "LOCAL", "-j", (char *)chain)) &&
		    must(CMD("iptables", "-w", "-t", (char *)table, "-A", (char *)from, "-m", "addrtype",
			     "--dst-type", "LOCAL", "-j", (char *)chain), err) < 0)
			return -1;
		return 0;
	}
	if (!ok(CMD("iptables", "-w", "-t", (char *)table, "-C", (char *)from, "-j", (char *)chain)) &&
	    must(CMD("iptables", "-w", "-t", (char *)table, "-A", (char *)from, "-j", (char *)chain),
		 err) < 0)
		return -1;
	return 0;
}

static int write_sysctl(const char *path, const char *val, kumo_error_t *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", path);
	ssize_t n = write(fd, val, strlen(val));
	close(fd);
	if (n < 0)
		return kumo_error_errno(err, errno, "write `%s`", path);
	return 0;
}

int vmm_net_node_setup(const struct vmm_net_config *cfg, kumo_error_t *err)
{
	struct names n;
	names_of(cfg, &n);
	uint32_t net;
	unsigned prefix;
	if (!cfg->cidr || vmm_parse_cidr(cfg->cidr, &net, &prefix, err) < 0)
		return kumo_error(err, KUMO_E_INVALID, "node network: no pod cidr");
	char gw[16], netstr[16];
	vmm_ip_str(net + 1, gw);
	vmm_ip_str(net, netstr);
	autofree char *gwcidr = xasprintf("%s/%u", gw, prefix);
	autofree char *cidr = xasprintf("%s/%u", netstr, prefix);
	if (kumo_mkdir_p(cfg->state_dir, 0700, err) < 0)
		return -1;
	/* A changed CIDR (UpdateRuntimeConfig) re-addresses the bridge. */
	autofree char *rec = xasprintf("%s/node-cidr", cfg->state_dir);
	uint8_t *old = NULL;
	size_t oldlen = 0;
	kumo_error_t rerr = NULL;
	bool changed = kumo_read_file(rec, 64, &old, &oldlen, &rerr) == 0 &&
		       strcmp((char *)old, cidr) != 0;
	kumo_error_free(&rerr);
	if (!link_exists(n.bridge) &&
	    must(CMD("ip", "link", "add", (char *)n.bridge, "type", "bridge"), err) < 0)
		goto fail;
	if (changed) {
		if (must(CMD("ip", "addr", "flush", "dev", (char *)n.bridge), err) < 0)
			goto fail;
	}
	if (must(CMD("ip", "addr", "replace", gwcidr, "dev", (char *)n.bridge), err) < 0 ||
	    must(CMD("ip", "link", "set", (char *)n.bridge, "up"), err) < 0 ||
	    write_sysctl("/proc/sys/net/ipv4/ip_forward", "1", err) < 0)
		goto fail;
	/* Masquerade what leaves the pod network; let bridge traffic through FORWARD;
	 * hostPorts are DNAT rules in their own chain, reached for local addresses from
	 * outside (PREROUTING) and from the node itself (OUTPUT). */
	if (ensure_chain("nat", n.nat_post, "POSTROUTING", false, err) < 0 ||
	    ensure_chain("nat", n.nat_ports, "PREROUTING", true, err) < 0 ||
	    ensure_chain("nat", n.nat_ports, "OUTPUT", true, err) < 0 ||
	    ensure_chain("filter", n.fwd, "FORWARD", false, err) < 0)
		goto fail;
	if (must(CMD("iptables", "-w", "-t", "nat", "-F", n.nat_post), err) < 0 ||
	    must(CMD("iptables", "-w", "-t", "nat", "-A", n.nat_post, "-s", cidr, "!", "-d", cidr,
		     "-j", "MASQUERADE"), err) < 0 ||
	    must(CMD("iptables", "-w", "-t", "filter", "-F", n.fwd), err) < 0 ||
	    must(CMD("iptables", "-w", "-t", "filter", "-A", n.fwd, "-i", (char *)n.bridge, "-j",
		     "ACCEPT"), err) < 0 ||
	    must(CMD("iptables", "-w", "-t", "filter", "-A", n.fwd, "-o", (char *)n.bridge, "-j",
		     "ACCEPT"), err) < 0)
		goto fail;
	free(old);
	return kumo_write_file_atomic(rec, cidr, strlen(cidr), 0600, err);
fail:
	free(old);
	return kumo_error_wrap(err, "node network on bridge `%s`", n.bridge);
}

int vmm_net_node_teardown(const struct vmm_net_config *cfg, kumo_error_t *err)
{
	struct names n;
	names_of(cfg, &n);
	/* Each piece may already be gone: remove what is there. */
	ok(CMD("iptables", "-w", "-t", "nat", "-D", "POSTROUTING", "-j", n.nat_post));
	ok(CMD("iptables", "-w", "-t", "nat", "-D", "PREROUTING", "-m", "addrtype", "--dst-type",
	       "LOCAL", "-j", n.nat_ports));
	ok(CMD("iptables", "-w", "-t", "nat", "-D", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL",
	       "-j", n.nat_ports));
	ok(CMD("iptables", "-w", "-t", "filter", "-D", "FORWARD", "-j", n.fwd));
	const char *chains[][2] = {{"nat", n.nat_post}, {"nat", n.nat_ports}, {"filter", n.fwd}};
	for (size_t i = 0; i < 3; i++) {
		ok(CMD("iptables", "-w", "-t", (char *)chains[i][0], "-F", (char *)chains[i][1]));
		ok(CMD("iptables", "-w", "-t", (char *)chains[i][0], "-X", (char *)chains[i][1]));
	}
	if (link_exists(n.bridge) && must(CMD("ip", "link", "del", (char *)n.bridge), err) < 0)
		return kumo_error_wrap(err, "remove bridge `%s`", n.bridge);
	autofree char *rec = xasprintf("%s/node-cidr", cfg->state_dir);
	unlink(rec);
	return 0;
}

/* ---- per-pod records ---- */

struct pod_record {
	char ip[16];
	char tap[16];
	size_t nports;
	struct {
		int protocol;
		uint16_t host_port, container_port;
		char host_ip[16];
	} ports[MAX_PORTS];
};

static bool valid_pod_id(const char *id)
{
	if (!*id || strlen(id) > 128)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return id[0] != '.';
}

static int write_record(const char *path, const struct pod_record *r, kumo_error_t *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fprintf(f, "ip %s\ntap %s\n", r->ip, r->tap);
	for (size_t i = 0; i < r->nports; i++)
		fprintf(f, "port %s %s %u %u\n", r->ports[i].protocol == IPPROTO_UDP ? "udp" : "tcp",
			r->ports[i].host_ip[0] ? r->ports[i].host_ip : "-", r->ports[i].host_port,
			r->ports[i].container_port);
	fclose(f);
	int rc = kumo_write_file_atomic(path, buf, len, 0600, err);
	free(buf);
	return rc;
}

/* Returns 1 when read, 0 when there is no record, -1 on error. */
static int read_record(const char *path, struct pod_record *r, kumo_error_t *err)
{
	memset(r, 0, sizeof(*r));
	uint8_t *buf = NULL;
	size_t len;
	kumo_error_t rerr = NULL;
	if (kumo_read_file(path, 1 << 16, &buf, &len, &rerr) < 0) {
		if (rerr->status == KUMO_E_NOT_FOUND) {
			kumo_error_free(&rerr);
			return 0;
		}
		*err = rerr;
		return -1;
	}
	char *save = NULL;
	for (char *line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char proto[8], hip[16];
		unsigned hp, cp;
		if (sscanf(line, "ip %15s", r->ip) == 1 || sscanf(line, "tap %15s", r->tap) == 1)
			continue;
		if (sscanf(line, "port %7s %15s %u %u", proto, hip, &hp, &cp) == 4 && r->nports < MAX_PORTS &&
		    hp < 65536 && cp < 65536) {
			r->ports[r->nports].protocol = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
			snprintf(r->ports[r->nports].host_ip, 16, "%s", strcmp(hip, "-") ? hip : "");
			r->ports[r->nports].host_port = (uint16_t)hp;
			r->ports[r->nports].container_port = (uint16_t)cp;
			r->nports++;
		}
	}
	free(buf);
	return 1;
}

/* The DNAT rule for one port, for -A / -D / -C. */
static int port_rule(const char *op, const char *chain, const char *pod_id, const char *ip,
		     int protocol, const char *host_ip, unsigned hp, unsigned cp, bool check,
		     kumo_error_t *err)
{
	char hps[8], dest[32];
	snprintf(hps, sizeof(hps), "%u", hp);
	snprintf(dest, sizeof(dest), "%s:%u", ip, cp);
	autofree char *comment = xasprintf("kumo:%s", pod_id);
	char *argv[24];
	int n = 0;
	argv[n++] = "iptables";
	argv[n++] = "-w";
	argv[n++] = "-t";
	argv[n++] = "nat";
	argv[n++] = (char *)op;
	argv[n++] = (char *)chain;
	argv[n++] = "-p";
	argv[n++] = protocol == IPPROTO_UDP ? "udp" : "tcp";
	if (host_ip && *host_ip && strcmp(host_ip, "0.0.0.0") != 0) {
		argv[n++] = "-d";
		argv[n++] = (char *)host_ip;
	}
	argv[n++] = "--dport";
	argv[n++] = hps;
	argv[n++] = "-m";
	argv[n++] = "comment";
	argv[n++] = "--comment";
	argv[n++] = comment;
	argv[n++] = "-j";
	argv[n++] = "DNAT";
	argv[n++] = "--to-destination";
	argv[n++] = dest;
	argv[n] = NULL;
	if (check)
		return ok(argv) ? 0 : -1;
	return must(argv, err);
}

/* Another pod already publishing protocol/host_port is a conflict. */
static int check_port_free(const char *pods_dir, const char *pod_id, int protocol, unsigned hp,
			   kumo_error_t *err)
{
	DIR *d = opendir(pods_dir);
	if (!d)
		return 0;
	struct dirent *e;
	int rc = 0;
	struct pod_record *r = xmalloc(sizeof(*r));
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, pod_id) == 0 || strstr(e->d_name, ".tmp."))
			continue;
		autofree char *p = xasprintf("%s/%s", pods_dir, e->d_name);
		kumo_error_t rerr = NULL;
		if (read_record(p, r, &rerr) <= 0) {
			kumo_error_free(&rerr);
			continue;
		}
		for (size_t i = 0; i < r->nports; i++)
			if (r->ports[i].protocol == protocol && r->ports[i].host_port == hp)
				rc = kumo_error(err, KUMO_E_EXISTS, "host port %s/%u is already used by pod `%s`",
						protocol == IPPROTO_UDP ? "udp" : "tcp", hp, e->d_name);
	}
	free(r);
	closedir(d);
	return rc;
}

static void fill_out(const struct vmm_net_config *cfg, const struct pod_record *r, struct vmm_net_pod *out)
{
	uint32_t net = 0;
	unsigned prefix = 0;
	kumo_error_t err = NULL;
	vmm_parse_cidr(cfg->cidr, &net, &prefix, &err);
	kumo_error_free(&err);
	memset(out, 0, sizeof(*out));
	snprintf(out->ip, sizeof(out->ip), "%s", r->ip);
	snprintf(out->tap, sizeof(out->tap), "%s", r->tap);
	out->prefix = prefix;
	vmm_ip_str(net + 1, out->gateway);
	unsigned a, b, c, d;
	if (sscanf(r->ip, "%u.%u.%u.%u", &a, &b, &c, &d) == 4) {
		/* Locally administered, derived from the address: stable across restarts. */
		uint8_t mac[6] = {0x02, 0x6b, (uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
		memcpy(out->mac, mac, 6);
	}
}

static int ensure_tap(const char *tap, const char *bridge, kumo_error_t *err)
{
	if (!link_exists(tap) &&
	    must(CMD("ip", "tuntap", "add", "dev", (char *)tap, "mode", "tap"), err) < 0)
		return -1;
	return must(CMD("ip", "link", "set", (char *)tap, "master", (char *)bridge, "up"), err);
}

int vmm_net_pod_setup(const struct vmm_net_config *cfg, const char *pod_id,
		      const struct vmm_port_mapping *ports, size_t nports, struct vmm_net_pod *out,
		      kumo_error_t *err)
{
	struct names n;
	names_of(cfg, &n);
	if (!valid_pod_id(pod_id))
		return kumo_error(err, KUMO_E_INVALID, "pod id `%s` is not usable as a file name", pod_id);
	if (nports > MAX_PORTS)
		return kumo_error(err, KUMO_E_INVALID, "pod `%s`: %zu port mappings (at most %d)", pod_id,
				  nports, MAX_PORTS);
	autofree char *pods = xasprintf("%s/pods", cfg->state_dir);
	autofree char *ipam = xasprintf("%s/ipam", cfg->state_dir);
	autofree char *path = xasprintf("%s/%s", pods, pod_id);
	if (kumo_mkdir_p(pods, 0700, err) < 0)
		return -1;
	struct pod_record *r = xzalloc(sizeof(*r));
	int have = read_record(path, r, err);
	if (have < 0)
		goto fail;
	if (have == 1) {
		/* Set up before (kumod restarted, or a retry): make sure the pieces exist. */
		if (ensure_tap(r->tap, n.bridge, err) < 0)
			goto fail;
		for (size_t i = 0; i < r->nports; i++)
			if (port_rule("-C", n.nat_ports, pod_id, r->ip, r->ports[i].protocol,
				      r->ports[i].host_ip, r->ports[i].host_port,
				      r->ports[i].container_port, true, NULL) < 0 &&
			    port_rule("-A", n.nat_ports, pod_id, r->ip, r->ports[i].protocol,
				      r->ports[i].host_ip, r->ports[i].host_port,
				      r->ports[i].container_port, false, err) < 0)
				goto fail;
		fill_out(cfg, r, out);
		free(r);
		return 0;
	}
	for (size_t i = 0; i < nports; i++) {
		if (!ports[i].host_port)
			continue;
		if (ports[i].protocol != IPPROTO_TCP && ports[i].protocol != IPPROTO_UDP) {
			kumo_error(err, KUMO_E_UNSUPPORTED, "pod `%s`: port protocol %d (tcp or udp only)",
				   pod_id, ports[i].protocol);
			goto fail;
		}
		if (check_port_free(pods, pod_id, ports[i].protocol, ports[i].host_port, err) < 0)
			goto fail;
		r->ports[r->nports].protocol = ports[i].protocol;
		r->ports[r->nports].host_port = ports[i].host_port;
		r->ports[r->nports].container_port = ports[i].container_port ? ports[i].container_port
									     : ports[i].host_port;
		snprintf(r->ports[r->nports].host_ip, 16, "%s", ports[i].host_ip ? ports[i].host_ip : "");
		r->nports++;
	}
	if (vmm_ipam_alloc(ipam, cfg->cidr, pod_id, r->ip, err) < 0)
		goto fail;
	unsigned a, b, c, d;
	sscanf(r->ip, "%u.%u.%u.%u", &a, &b, &c, &d);
	snprintf(r->tap, sizeof(r->tap), "kt%02x%02x%02x%02x", a, b, c, d);
	/* The record first: a crash from here on leaves teardown a full list. */
	if (write_record(path, r, err) < 0 || ensure_tap(r->tap, n.bridge, err) < 0)
		goto undo;
	for (size_t i = 0; i < r->nports; i++)
		if (port_rule("-A", n.nat_ports, pod_id, r->ip, r->ports[i].protocol, r->ports[i].host_ip,
			      r->ports[i].host_port, r->ports[i].container_port, false, err) < 0)
			goto undo;
	fill_out(cfg, r, out);
	free(r);
	return 0;
undo:;
	kumo_error_t uerr = NULL;
	if (vmm_net_pod_teardown(cfg, pod_id, &uerr) < 0)
		kumo_error_free(&uerr);
fail:
	free(r);
	return kumo_error_wrap(err, "network of pod `%s`", pod_id);
}

int vmm_net_pod_teardown(const struct vmm_net_config *cfg, const char *pod_id, kumo_error_t *err)
{
	struct names n;
	names_of(cfg, &n);
	if (!valid_pod_id(pod_id))
		return kumo_error(err, KUMO_E_INVALID, "pod id `%s` is not usable as a file name", pod_id);
	autofree char *ipam = xasprintf("%s/ipam", cfg->state_dir);
	autofree char *path = xasprintf("%s/pods/%s", cfg->state_dir, pod_id);
	struct pod_record *r = xzalloc(sizeof(*r));
	int have = read_record(path, r, err);
	if (have < 0) {
		free(r);
		return kumo_error_wrap(err, "network of pod `%s`", pod_id);
	}
	if (have == 1) {
		/* Delete every copy of each rule (a retried setup may have added twice). */
		for (size_t i = 0; i < r->nports; i++)
			while (port_rule("-D", n.nat_ports, pod_id, r->ip, r->ports[i].protocol,
					 r->ports[i].host_ip, r->ports[i].host_port,
					 r->ports[i].container_port, true, NULL) == 0)
				;
		if (r->tap[0] && link_exists(r->tap) &&
		    must(CMD("ip", "link", "del", r->tap), err) < 0) {
			free(r);
			return kumo_error_wrap(err, "network of pod `%s`", pod_id);
		}
	}
	free(r);
	/* The address last: it is only free once nothing refers to it. */
	if (vmm_ipam_release(ipam, pod_id, err) < 0)
		return kumo_error_wrap(err, "network of pod `%s`", pod_id);
	if (unlink(path) < 0 && errno != ENOENT)
		return kumo_error_errno(err, errno, "remove `%s`", path);
	return 0;
}
