/* cri/pod_network.c - the pod network stage on CNI (vmm/vmm.h "Pod networking through
 * CNI"): RunPodSandbox runs the node's network list for the pod in a namespace of its
 * own, the way containerd does (K8S_POD_* arguments, the pod's port mappings, its
 * bandwidth annotations and DNSConfig as capabilities), and a container's VM takes over
 * the CNI interface through a tap in that namespace.
 *
 * A fresh node (an empty conf dir) gets kumo's default list (bridge cni0 + host-local +
 * portmap + loopback) on the pod CIDR kubelet last sent (UpdateRuntimeConfig, persisted
 * by cri in <root>/runtime-config.json), else the configured one, else
 * VMM_PODNET_DEFAULT_CIDR; a CIDR kubelet sends later rewrites it while it is the only,
 * unmodified list. NetworkReady says whether a list and its plugins are there.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cri/backend.h"
#include "vmm/vmm.h"

#define GUEST_MTU_MAX 1500 /* the kernel's (kernel/boot_abi.h: one frame per buffer) */

struct podnet {
	pthread_mutex_t lock; /* cidr */
	char *conf_dir;       /* network lists */
	char *plugin_path;    /* CNI_PATH, NULL: vmm's default */
	char *netns_dir;      /* namespace pins, NULL: vmm's default */
	char *state_dir;      /* <root>/cni: vmm's per-pod records */
	char *cidr;           /* the default list's subnet */
	bool libvirt;         /* a tap may wait in libvirtd's namespace */
};

static struct podnet *podnet_of(struct cri_podnet *s)
{
	return s->priv;
}

/* vmm's configuration; *host (malloc'd, may be NULL) is libvirtd's namespace, looked up
 * each time (libvirtd may have restarted): the caller frees it. */
static struct vmm_podnet_config config_of(struct podnet *p, char **host)
{
	*host = p->libvirt ? vmm_libvirtd_netns() : NULL;
	return (struct vmm_podnet_config){.conf_dir = p->conf_dir, .plugin_path = p->plugin_path,
					  .netns_dir = p->netns_dir, .state_dir = p->state_dir,
					  .host_netns = *host};
}

/* Writes the default list into an empty conf dir (or re-addresses it, see above). */
static int default_list(struct podnet *p, const char *cidr, kumo_error_t *err)
{
	bool written = false;
	if (vmm_podnet_write_default(p->conf_dir, cidr, &written, err) < 0)
		return kumo_error_wrap(err, "pod network");
	if (written)
		log_info("pod network: wrote the default network list `%s/%s` (bridge cni0, "
			 "subnet `%s`)", p->conf_dir, VMM_PODNET_DEFAULT_FILE, cidr);
	return 0;
}

static bool podnet_ready(struct cri_podnet *s, char **reason, char **message)
{
	struct podnet *p = podnet_of(s);
	autofree char *host = NULL;
	struct vmm_podnet_config cfg = config_of(p, &host);
	bool ready = vmm_podnet_ready(&cfg, message);
	if (!ready)
		*reason = xstrdup(VMM_PODNET_NOT_READY);
	return ready;
}

/* ---- what containerd passes to the plugins ------------------------------------------- */

/* A Kubernetes quantity ("10M", "1.5Gi", "100k", "1e6") as an integer, rounded up. */
static int parse_quantity(const char *s, uint64_t *out)
{
	char *end;
	long double v = strtold(s, &end);
	if (end == s || !(v >= 0) || *s == '+' || *s == '-' || isspace((unsigned char)*s))
		return -1;
	static const struct {
		const char *suffix;
		long double mult;
	} units[] = {
		{"", 1},      {"m", 1e-3L}, {"k", 1e3L},         {"M", 1e6L},
		{"G", 1e9L},  {"T", 1e12L}, {"P", 1e15L},        {"E", 1e18L},
		{"Ki", 1024.0L}, {"Mi", 1048576.0L}, {"Gi", 1073741824.0L},
		{"Ti", 1099511627776.0L}, {"Pi", 1125899906842624.0L},
		{"Ei", 1152921504606846976.0L},
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			long double x = ceill(v * units[i].mult);
			if (x > 18e18L)
				return -1;
			*out = (uint64_t)x;
			return 0;
		}
	}
	return -1;
}

/* The "bandwidth" capability from the pod's annotations, as containerd makes it: the
 * rate in bits per second, the burst unlimited (UINT32_MAX); a value outside 1k..1P is
 * refused, as kubelet's own check does. *has: whether there is any. */
static int bandwidth_of(const struct cri_pod_spec *pod, struct vmm_bandwidth *bw, bool *has,
			kumo_error_t *err)
{
	const char *vals[2] = {pod->ingress_bandwidth, pod->egress_bandwidth};
	const char *keys[2] = {"kubernetes.io/ingress-bandwidth", "kubernetes.io/egress-bandwidth"};
	uint64_t rate[2] = {0, 0};
	*has = false;
	for (int i = 0; i < 2; i++) {
		if (!vals[i])
			continue;
		if (parse_quantity(vals[i], &rate[i]) < 0)
			return kumo_error(err, KUMO_E_INVALID,
					  "pod annotation `%s`: `%s` is not a quantity", keys[i],
					  vals[i]);
		if (rate[i] < 1000 || rate[i] > 1000000000000000ull)
			return kumo_error(err, KUMO_E_INVALID,
					  "pod annotation `%s`: `%s` is unreasonably %s (%s)", keys[i],
					  vals[i], rate[i] < 1000 ? "small" : "large",
					  rate[i] < 1000 ? "< 1kbit" : "> 1Pbit");
		*has = true;
	}
	*bw = (struct vmm_bandwidth){
		.ingress_rate = rate[0], .ingress_burst = rate[0] ? UINT32_MAX : 0,
		.egress_rate = rate[1], .egress_burst = rate[1] ? UINT32_MAX : 0,
	};
	return 0;
}

static int vmm_protocol(int cri_protocol)
{
	return cri_protocol == 1 ? IPPROTO_UDP : cri_protocol == 2 ? IPPROTO_SCTP : IPPROTO_TCP;
}

static size_t count(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* Says which of the result's routes the guest cannot follow: it has one route off its
 * subnet, the default one through the gateway. */
static void check_routes(const struct cri_pod_spec *pod, const struct vmm_podnet *pn)
{
	for (size_t i = 0; i < pn->nroutes; i++) {
		const struct vmm_podnet_route *r = &pn->routes[i];
		if (r->prefix == 0 || !r->gw[0] || strcmp(r->gw, pn->gateway) == 0)
			continue;
		log_warn("pod %.12s (%s/%s): route %s/%u via %s of network `%s` is not followed: "
			 "the VM sends everything off its subnet to %s", pod->id, pod->namespace,
			 pod->name, r->dst, r->prefix, r->gw, pn->network,
			 pn->gateway[0] ? pn->gateway : "no gateway");
	}
}

static int podnet_setup(struct cri_podnet *s, const struct cri_pod_spec *pod, char **ip,
			kumo_error_t *err)
{
	struct podnet *p = podnet_of(s);
	if (pod->host_network) {
		/* A VM cannot join the node's network namespace: no NIC, no IP. */
		log_info("pod %.12s asks for the host network: its VMs get no network device",
			 pod->id);
		*ip = xstrdup("");
		return 0;
	}
	struct vmm_bandwidth bw;
	bool has_bw;
	if (bandwidth_of(pod, &bw, &has_bw, err) < 0)
		return -1;
	autofree struct vmm_port_mapping *pm = xzalloc(sizeof(*pm) * (pod->n_ports + 1));
	size_t npm = 0;
	for (size_t i = 0; i < pod->n_ports; i++) {
		const struct cri_port *cp = &pod->ports[i];
		if (cp->container_port < 0 || cp->container_port > 65535 || cp->host_port < 0 ||
		    cp->host_port > 65535)
			return kumo_error(err, KUMO_E_INVALID,
					  "port mapping %d -> %d is out of range (0..65535)",
					  cp->host_port, cp->container_port);
		if (cp->host_port == 0)
			continue; /* containerd passes only published ports */
		pm[npm++] = (struct vmm_port_mapping){.protocol = vmm_protocol(cp->protocol),
						      .host_port = (uint16_t)cp->host_port,
						      .container_port = (uint16_t)cp->container_port,
						      .host_ip = cp->host_ip};
	}
	struct vmm_dns_config dns = {
		.servers = pod->dns_servers, .nservers = count(pod->dns_servers),
		.searches = pod->dns_searches, .nsearches = count(pod->dns_searches),
		.options = pod->dns_options, .noptions = count(pod->dns_options),
	};
	bool has_dns = dns.nservers || dns.nsearches || dns.noptions;
	struct vmm_podnet_pod vp = {
		.id = pod->id,
		.name = pod->name,
		.namespace = pod->namespace,
		.uid = pod->uid && *pod->uid ? pod->uid : NULL,
		.ports = pm,
		.nports = npm,
		.bandwidth = has_bw ? &bw : NULL,
		.dns = has_dns ? &dns : NULL,
		.ip = pod->ip,
	};
	uint64_t t0 = kumo_now_ns();
	autofree char *host = NULL;
	struct vmm_podnet_config cfg = config_of(p, &host);
	struct vmm_podnet pn;
	if (vmm_podnet_setup(&cfg, &vp, &pn, err) < 0) {
		/* No network list is the node's network not being ready (as NetworkReady
		 * says), not a missing pod; a malformed list or plugin result is the node's
		 * fault, not the request's (which was checked above and by cri). */
		if ((*err)->status == KUMO_E_NOT_FOUND)
			(*err)->status = KUMO_E_UNAVAILABLE;
		else if ((*err)->status == KUMO_E_INVALID)
			(*err)->status = KUMO_E_INTERNAL;
		return -1;
	}
	check_routes(pod, &pn);
	*ip = xstrdup(pn.address);
	log_info("pod %.12s: address %s/%u on network `%s`, tap %s, mtu %u (%.1f ms)", pod->id,
		 pn.address, pn.prefix, pn.network, pn.tap, pn.mtu,
		 (double)(kumo_now_ns() - t0) / 1e6);
	return 0;
}

static int podnet_nic(struct cri_podnet *s, const char *pod_id, const char *ip,
		      struct cri_pod_nic *out, kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	autofree char *host = NULL;
	struct vmm_podnet_config cfg = config_of(podnet_of(s), &host);
	struct vmm_podnet pn;
	int rc = vmm_podnet_get(&cfg, pod_id, &pn, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return kumo_error(err, KUMO_E_NOT_FOUND,
				  "pod `%.12s` has no network set up (stop and run the pod again)",
				  pod_id);
	if (strcmp(pn.address, ip) != 0)
		return kumo_error(err, KUMO_E_INTERNAL,
				  "pod `%.12s` has address %s but its network record says %s",
				  pod_id, ip, pn.address);
	snprintf(out->tap, sizeof(out->tap), "%s", pn.tap);
	snprintf(out->netns, sizeof(out->netns), "%s", pn.netns);
	memcpy(out->mac, pn.mac, 6);
	snprintf(out->address, sizeof(out->address), "%s/%u", pn.address, pn.onlink_prefix);
	snprintf(out->gateway, sizeof(out->gateway), "%s", pn.gateway);
	out->mtu = pn.mtu > GUEST_MTU_MAX ? GUEST_MTU_MAX : pn.mtu;
	/* For a pod without DNSConfig (crictl without one): the network's resolvers (IPv4:
	 * the guest's stack), else the node's usable ones. */
	for (size_t i = 0; i < pn.ndns_servers && out->ndns < 3; i++) {
		struct in_addr a;
		if (inet_pton(AF_INET, pn.dns_servers[i], &a) == 1)
			snprintf(out->dns[out->ndns++], sizeof(out->dns[0]), "%s", pn.dns_servers[i]);
	}
	if (out->ndns == 0)
		out->ndns = vmm_net_host_dns(NULL, out->dns, 3);
	for (size_t i = 0; i < pn.ndns_search && out->nsearch < 6; i++)
		snprintf(out->search[out->nsearch++], sizeof(out->search[0]), "%s", pn.dns_search[i]);
	return 0;
}

static int podnet_teardown(struct cri_podnet *s, const char *pod_id, kumo_error_t *err)
{
	autofree char *host = NULL;
	struct vmm_podnet_config cfg = config_of(podnet_of(s), &host);
	uint64_t t0 = kumo_now_ns();
	if (vmm_podnet_teardown(&cfg, pod_id, err) < 0) /* idempotent */
		return -1;
	log_debug("pod %.12s: network torn down (%.1f ms)", pod_id,
		  (double)(kumo_now_ns() - t0) / 1e6);
	return 0;
}

static int podnet_update_cidr(struct cri_podnet *s, const char *cidrs, kumo_error_t *err)
{
	struct podnet *p = podnet_of(s);
	/* kubelet joins a dual-stack node's CIDRs with commas; the guests are IPv4. */
	autofree char *list = xstrdup(cidrs);
	char *cidr = NULL, *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t && !cidr; t = strtok_r(NULL, ",", &save))
		if (!strchr(t, ':'))
			cidr = t;
	if (!cidr) {
		log_warn("pod network: kubelet's pod cidr `%s` has no IPv4 range; the default "
			 "network list keeps `%s`", cidrs, p->cidr);
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	int rc = default_list(p, cidr, err);
	if (rc == 0) {
		free(p->cidr);
		p->cidr = xstrdup(cidr);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int podnet_recover(struct cri_podnet *s, cri_pod_live_fn live, void *ctx,
			  kumo_error_t *err)
{
	autofree char *host = NULL;
	struct vmm_podnet_config cfg = config_of(podnet_of(s), &host);
	int n = vmm_podnet_recover(&cfg, live, ctx, err);
	if (n > 0)
		log_info("pod network: tore down what %d pods no longer alive had left", n);
	return n < 0 ? kumo_error_wrap(err, "pod network recovery") : 0;
}

static void podnet_destroy(struct cri_podnet *s)
{
	struct podnet *p = podnet_of(s);
	if (p) {
		pthread_mutex_destroy(&p->lock);
		free(p->conf_dir);
		free(p->plugin_path);
		free(p->netns_dir);
		free(p->state_dir);
		free(p->cidr);
		free(p);
	}
	free(s);
}

static const struct cri_podnet_ops podnet_ops = {
	.ready = podnet_ready,
	.setup = podnet_setup,
	.nic = podnet_nic,
	.teardown = podnet_teardown,
	.update_cidr = podnet_update_cidr,
	.recover = podnet_recover,
	.destroy = podnet_destroy,
};

/* The pod CIDR kubelet last sent (cri keeps it in <root>/runtime-config.json), or NULL. */
static char *kubelet_cidr(const char *root)
{
	autofree char *path = xasprintf("%s/runtime-config.json", root);
	json_t *j = json_load_file(path, 0, NULL);
	const char *c = j ? json_string_value(json_object_get(j, "pod_cidr")) : NULL;
	char *out = c && *c ? xstrdup(c) : NULL;
	json_decref(j);
	return out;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

int cri_podnet_new(const char *root, const struct cri_net_options *net,
		   struct cri_podnet **out)
{
	struct podnet *p = xzalloc(sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->conf_dir = xstrdup(net && net->cni_conf_dir && *net->cni_conf_dir ? net->cni_conf_dir
										: "/etc/cni/net.d");
	p->plugin_path = dup_or_null(net ? net->cni_bin_dirs : NULL);
	p->netns_dir = dup_or_null(net ? net->netns_dir : NULL);
	p->state_dir = xasprintf("%s/" VMM_PODNET_STATE_SUBDIR, root);
	p->cidr = kubelet_cidr(root);
	if (!p->cidr)
		p->cidr = xstrdup(net && net->pod_cidr && *net->pod_cidr ? net->pod_cidr
									 : VMM_PODNET_DEFAULT_CIDR);
	p->libvirt = net && net->vm_backend && strcmp(net->vm_backend, "libvirt") == 0;
	struct cri_podnet *s = xzalloc(sizeof(*s));
	s->ops = &podnet_ops;
	s->priv = p;
	/* A fresh node gets a network now; a failure is what NetworkReady reports. */
	kumo_error_t derr = NULL;
	if (default_list(p, p->cidr, &derr) < 0)
		log_warn("%s", kumo_error_msg(derr));
	kumo_error_free(&derr);
	*out = s;
	return 0;
}
