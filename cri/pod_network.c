/* cri/pod_network.c - the pod network stage on kumo's own node network (vmm/: node
 * bridge, IPAM, one tap per pod, hostPort DNAT).
 *
 * The node bridge is set up when the stage starts (and retried by Status and
 * RunPodSandbox until it works; NetworkReady says why not meanwhile). The pod CIDR is
 * the one kubelet last sent (UpdateRuntimeConfig, persisted by cri in
 * <root>/runtime-config.json), else the configured one, else VMM_NET_DEFAULT_CIDR.
 * RunPodSandbox allocates the pod's address and tap; a container's VM takes the pod's
 * NIC (nic: the pod's recorded setup, its tap made again if something removed it).
 */
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "cri/backend.h"
#include "vmm/vmm.h"

struct podnet {
	pthread_mutex_t lock;      /* the fields below; held across node setup only */
	struct vmm_net_config net; /* bridge, cidr, state_dir (malloc'd strings) */
	bool ready;                /* node setup succeeded for net.cidr */
	char *error;               /* why not, NULL when ready */
};

static struct podnet *podnet_of(struct cri_podnet *s)
{
	return s->priv;
}

/* Sets up the node network for cidr ("" or NULL: the current one) unless it already is;
 * returns 0 when ready, -1 with *err (and p->error) otherwise. */
static int node_net(struct podnet *p, const char *cidr, kumo_error_t *err)
{
	pthread_mutex_lock(&p->lock);
	if (cidr && *cidr && strcmp(cidr, p->net.cidr) != 0) {
		log_info("pod network: cidr `%s` replaces `%s` on bridge `%s`", cidr, p->net.cidr,
			 p->net.bridge);
		free((char *)p->net.cidr);
		p->net.cidr = xstrdup(cidr);
		p->ready = false;
	}
	int ret = 0;
	if (!p->ready) {
		uint64_t t0 = kumo_now_ns();
		kumo_error_t nerr = NULL;
		ret = vmm_net_node_setup(&p->net, &nerr);
		free(p->error);
		p->error = NULL;
		if (ret == 0) {
			p->ready = true;
			log_info("pod network ready: bridge `%s`, cidr `%s` (%.1f ms)", p->net.bridge,
				 p->net.cidr, (double)(kumo_now_ns() - t0) / 1e6);
		} else {
			p->error = xasprintf("node network (bridge `%s`, cidr `%s`) could not be "
					     "set up%s: %s", p->net.bridge, p->net.cidr,
					     geteuid() ? " (kumod is not root)" : "",
					     kumo_error_msg(nerr));
			log_warn("%s", p->error);
			ret = kumo_error(err, KUMO_E_UNAVAILABLE, "%s", p->error);
		}
		kumo_error_free(&nerr);
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* A copy of the configuration for one vmm call (its cidr malloc'd: free it). */
static struct vmm_net_config config_now(struct podnet *p)
{
	pthread_mutex_lock(&p->lock);
	struct vmm_net_config cfg = p->net;
	cfg.cidr = xstrdup(p->net.cidr);
	pthread_mutex_unlock(&p->lock);
	return cfg;
}

static bool podnet_ready(struct cri_podnet *s, char **reason, char **message)
{
	kumo_error_t err = NULL;
	bool ready = node_net(podnet_of(s), NULL, &err) == 0; /* retried while not ready */
	if (!ready) {
		*reason = xstrdup("NetworkSetupFailed");
		*message = xstrdup(kumo_error_msg(err));
	}
	kumo_error_free(&err);
	return ready;
}

static int vmm_protocol(int cri_protocol)
{
	return cri_protocol == 1 ? IPPROTO_UDP : cri_protocol == 2 ? IPPROTO_SCTP : IPPROTO_TCP;
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
	uint64_t t0 = kumo_now_ns();
	if (node_net(p, pod->pod_cidr, err) < 0)
		return -1;
	autofree struct vmm_port_mapping *pm = xzalloc(sizeof(*pm) * (pod->n_ports + 1));
	for (size_t i = 0; i < pod->n_ports; i++) {
		const struct cri_port *cp = &pod->ports[i];
		if (cp->container_port < 0 || cp->container_port > 65535 || cp->host_port < 0 ||
		    cp->host_port > 65535)
			return kumo_error(err, KUMO_E_INVALID,
					  "port mapping %d -> %d is out of range (0..65535)",
					  cp->host_port, cp->container_port);
		pm[i] = (struct vmm_port_mapping){.protocol = vmm_protocol(cp->protocol),
						  .host_port = (uint16_t)cp->host_port,
						  .container_port = (uint16_t)cp->container_port,
						  .host_ip = cp->host_ip};
	}
	struct vmm_net_config cfg = config_now(p);
	struct vmm_net_pod np;
	int ret = vmm_net_pod_setup(&cfg, pod->id, pm, pod->n_ports, &np, err);
	free((char *)cfg.cidr);
	if (ret < 0)
		return -1;
	*ip = xstrdup(np.ip);
	log_info("pod %.12s: address %s/%u on tap %s (%.1f ms)", pod->id, np.ip, np.prefix, np.tap,
		 (double)(kumo_now_ns() - t0) / 1e6);
	return 0;
}

static int podnet_nic(struct cri_podnet *s, const char *pod_id, const char *ip,
		      struct cri_pod_nic *out, kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	struct vmm_net_config cfg = config_now(podnet_of(s));
	/* The pod's record: the tap exists again if something removed it. */
	struct vmm_net_pod np;
	int ret = vmm_net_pod_setup(&cfg, pod_id, NULL, 0, &np, err);
	free((char *)cfg.cidr);
	if (ret < 0)
		return -1;
	if (strcmp(np.ip, ip) != 0)
		return kumo_error(err, KUMO_E_INTERNAL,
				  "pod `%.12s` has address %s but its network record says %s",
				  pod_id, ip, np.ip);
	snprintf(out->tap, sizeof(out->tap), "%s", np.tap);
	memcpy(out->mac, np.mac, 6);
	snprintf(out->address, sizeof(out->address), "%s/%u", np.ip, np.prefix);
	snprintf(out->gateway, sizeof(out->gateway), "%s", np.gateway);
	/* For a pod without DNSConfig (crictl without one): the node's resolvers, else the
	 * gateway. */
	out->ndns = vmm_net_host_dns(NULL, out->dns, 2);
	if (out->ndns == 0) {
		memcpy(out->dns[0], np.gateway, sizeof(out->dns[0]));
		out->ndns = 1;
	}
	return 0;
}

static int podnet_teardown(struct cri_podnet *s, const char *pod_id, kumo_error_t *err)
{
	struct vmm_net_config cfg = config_now(podnet_of(s));
	int ret = vmm_net_pod_teardown(&cfg, pod_id, err); /* idempotent */
	free((char *)cfg.cidr);
	return ret;
}

static void podnet_destroy(struct cri_podnet *s)
{
	struct podnet *p = podnet_of(s);
	if (p) {
		pthread_mutex_destroy(&p->lock);
		free((char *)p->net.bridge);
		free((char *)p->net.cidr);
		free((char *)p->net.state_dir);
		free(p->error);
		free(p);
	}
	free(s);
}

static const struct cri_podnet_ops podnet_ops = {
	.ready = podnet_ready,
	.setup = podnet_setup,
	.nic = podnet_nic,
	.teardown = podnet_teardown,
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

int cri_podnet_new(const char *root, const struct cri_net_options *net,
		   struct cri_podnet **out)
{
	struct podnet *p = xzalloc(sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->net.bridge = xstrdup(net && net->bridge ? net->bridge : VMM_NET_DEFAULT_BRIDGE);
	p->net.cidr = kubelet_cidr(root);
	if (!p->net.cidr)
		p->net.cidr = xstrdup(net && net->pod_cidr ? net->pod_cidr : VMM_NET_DEFAULT_CIDR);
	p->net.state_dir = xasprintf("%s/" VMM_NET_STATE_SUBDIR, root);
	struct cri_podnet *s = xzalloc(sizeof(*s));
	s->ops = &podnet_ops;
	s->priv = p;
	/* The node network now, so the first pod does not pay for it; a failure here is
	 * reported by Status (NetworkReady) and retried. */
	kumo_error_t nerr = NULL;
	node_net(p, NULL, &nerr);
	kumo_error_free(&nerr);
	*out = s;
	return 0;
}
