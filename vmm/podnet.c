/* vmm/podnet.c - a pod's network through CNI (vmm.h "Pod networking through CNI"):
 * the on-disk record that makes every ADD get its DEL, the namespace, ADD/CHECK/DEL,
 * the VM's takeover of the CNI interface (tap + redirect), recovery, readiness, and the
 * default network list of a fresh node. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cni.h"
#include "podnet.h"
#include "vmm_backend.h"

#define RECORD_VERSION 1

/* The configuration with its defaults filled in. */
struct cfgv {
	const struct vmm_podnet_config *cfg; /* the caller's (conf_file, host_netns) */
	const char *conf_dir;                /* network configurations */
	const char *plugin_path;             /* CNI_PATH */
	const char *netns_dir;               /* namespace pins */
	const char *state_dir;               /* records and locks */
	const char *ifname;                  /* CNI_IFNAME */
	int timeout_ms;                      /* per plugin run */
};

static int resolve(const struct vmm_podnet_config *cfg, struct cfgv *c, kumo_error_t *err)
{
	if (!cfg || !cfg->state_dir || !*cfg->state_dir)
		return kumo_error(err, KUMO_E_INVALID, "pod network: no state directory configured");
	c->cfg = cfg;
	c->conf_dir = cfg->conf_dir ? cfg->conf_dir : CNI_DEFAULT_CONF_DIR;
	c->plugin_path = cfg->plugin_path ? cfg->plugin_path : CNI_DEFAULT_PLUGIN_PATH;
	c->netns_dir = cfg->netns_dir ? cfg->netns_dir : VMM_PODNET_NETNS_DIR;
	c->state_dir = cfg->state_dir;
	c->ifname = cfg->ifname ? cfg->ifname : VMM_PODNET_IFNAME;
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : CNI_DEFAULT_TIMEOUT_MS;
	return 0;
}

/* A CNI container id (spec section 2) that is also a safe file name. */
static bool valid_pod_id(const char *id)
{
	if (!id || !*id || strlen(id) > 128 ||
	    !((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') || (*id >= '0' && *id <= '9')))
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

/* A CNI_ARGS value: no separator characters, printable, bounded. */
static bool valid_arg(const char *v)
{
	if (strlen(v) > 253)
		return false;
	for (const char *p = v; *p; p++)
		if (*p == ';' || *p == '=' || (unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* "kc" + 48 bits of FNV-1a over the pod id: unique in practice, stable across
 * restarts, and within IFNAMSIZ. The tap is made exclusively, so a collision fails
 * loudly instead of sharing a device. */
static void tap_name(const char *id, char out[16])
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	snprintf(out, 16, "kc%012llx", (unsigned long long)(h & 0xffffffffffffull));
}

/* ---- Per-pod lock and record -------------------------------------------------------- */

/* Locks state_dir/<id>.lock. The file is removed when the pod's record goes; a waiter
 * that then wakes on the removed file retries on the new one. */
static int pod_lock(const struct cfgv *c, const char *id, int *out, kumo_error_t *err)
{
	if (kumo_mkdir_p(c->state_dir, 0700, err) < 0)
		return -1;
	autofree char *path = xasprintf("%s/%s.lock", c->state_dir, id);
	for (;;) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return kumo_error_errno(err, errno, "pod `%s`: lock `%s`", id, path);
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				int e = errno;
				close(fd);
				return kumo_error_errno(err, e, "pod `%s`: lock `%s`", id, path);
			}
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			*out = fd;
			return 0;
		}
		close(fd);
	}
}

static void pod_unlock(const struct cfgv *c, const char *id, int fd, bool remove)
{
	if (remove) {
		autofree char *path = xasprintf("%s/%s.lock", c->state_dir, id);
		unlink(path);
	}
	close(fd);
}

static char *record_path(const struct cfgv *c, const char *id)
{
	return xasprintf("%s/%s.json", c->state_dir, id);
}

/* The record, or NULL (and no error) when the pod has none. */
static json_t *record_read(const struct cfgv *c, const char *id, kumo_error_t *err)
{
	autofree char *path = record_path(c, id);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j) {
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return NULL;
		kumo_error(err, KUMO_E_INTERNAL, "pod `%s`: record `%s` is unreadable: %s", id, path, je.text);
		return NULL;
	}
	if (!json_is_object(j) || !json_is_string(json_object_get(j, "state")) ||
	    !json_is_string(json_object_get(j, "netns")) || !json_is_string(json_object_get(j, "tap")) ||
	    !json_is_object(json_object_get(j, "network"))) {
		json_decref(j);
		kumo_error(err, KUMO_E_INTERNAL, "pod `%s`: record `%s` lacks its fields", id, path);
		return NULL;
	}
	return j;
}

static int record_write(const struct cfgv *c, const char *id, json_t *rec, kumo_error_t *err)
{
	autofree char *path = record_path(c, id);
	char *text = json_dumps(rec, JSON_INDENT(1) | JSON_SORT_KEYS);
	int rc = kumo_write_file_atomic(path, text, strlen(text), 0600, err);
	free(text);
	return rc < 0 ? kumo_error_wrap(err, "pod `%s`: record", id) : 0;
}

static const char *rec_str(const json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));
	return s ? s : "";
}

/* ---- What the pod's network is -------------------------------------------------------- */

/* Copies src into dst[cap], cut to fit (callers pass values that fit). */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = 0;
}

/* The address, gateway, routes and DNS the result gives the interface ifname in netns. */
static int fill_from_result(const struct cni_result *r, const char *netns, const char *ifname,
			    const char *network, struct vmm_podnet *out, kumo_error_t *err)
{
	int idx = -1;
	for (size_t i = 0; i < r->ninterfaces && idx < 0; i++)
		if (strcmp(r->interfaces[i].name, ifname) == 0 && r->interfaces[i].sandbox &&
		    strcmp(r->interfaces[i].sandbox, netns) == 0)
			idx = (int)i;
	for (size_t i = 0; i < r->ninterfaces && idx < 0; i++)
		if (strcmp(r->interfaces[i].name, ifname) == 0 && r->interfaces[i].sandbox)
			idx = (int)i;
	const struct cni_ip *ip = NULL;
	for (size_t i = 0; i < r->nips && !ip; i++)
		if (r->ips[i].family == AF_INET && (r->ips[i].interface == idx || r->ips[i].interface < 0))
			ip = &r->ips[i];
	if (!ip)
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "network `%s` gave `%s` no IPv4 address (kumo's guests are IPv4 only)",
				  network, ifname);
	copy_str(out->address, sizeof(out->address), ip->address);
	out->prefix = ip->prefix;
	/* The guest has one route besides its on-link subnet: the default one. Its next hop
	 * is the default route's (its gw, else the ip's gateway); without a default route,
	 * the next hop the result's other routes use, so they keep working; none when no
	 * route leaves the subnet (the namespace reaches only the subnet either). */
	const char *dflt = NULL, *other = NULL;
	for (size_t i = 0; i < r->nroutes; i++) {
		const struct cni_route *rt = &r->routes[i];
		const char *hop = rt->gw[0] ? rt->gw : ip->gateway;
		if (rt->family != AF_INET || !hop || !*hop)
			continue;
		if (rt->prefix == 0 && !dflt)
			dflt = hop;
		else if (!other)
			other = hop;
	}
	copy_str(out->gateway, sizeof(out->gateway), dflt ? dflt : other);
	out->nroutes = 0;
	for (size_t i = 0; i < r->nroutes; i++) {
		const struct cni_route *rt = &r->routes[i];
		if (rt->family != AF_INET)
			continue;
		if (out->nroutes < VMM_PODNET_MAX_ROUTES) {
			struct vmm_podnet_route *o = &out->routes[out->nroutes++];
			copy_str(o->dst, sizeof(o->dst), rt->dst);
			o->prefix = rt->prefix;
			copy_str(o->gw, sizeof(o->gw), rt->gw);
		}
	}
	out->ndns_servers = out->ndns_search = out->ndns_options = 0;
	for (size_t i = 0; i < r->dns.nnameservers && out->ndns_servers < VMM_PODNET_MAX_DNS; i++)
		copy_str(out->dns_servers[out->ndns_servers++], 46, r->dns.nameservers[i]);
	for (size_t i = 0; i < r->dns.nsearch && out->ndns_search < VMM_PODNET_MAX_DNS; i++)
		if (strlen(r->dns.search[i]) < 254)
			copy_str(out->dns_search[out->ndns_search++], 254, r->dns.search[i]);
	for (size_t i = 0; i < r->dns.noptions && out->ndns_options < VMM_PODNET_MAX_DNS; i++)
		if (strlen(r->dns.options[i]) < 64)
			copy_str(out->dns_options[out->ndns_options++], 64, r->dns.options[i]);
	out->dns_domain[0] = 0;
	if (r->dns.domain && strlen(r->dns.domain) < 254)
		copy_str(out->dns_domain, sizeof(out->dns_domain), r->dns.domain);
	return 0;
}

static void mac_str(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int parse_mac(const char *s, uint8_t m[6])
{
	unsigned v[6];
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

/* *out from a finished record. */
static int fill_from_record(const json_t *rec, const char *ifname, struct vmm_podnet *out,
			    kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	const json_t *pod = json_object_get(rec, "pod");
	const json_t *guest = json_object_get(rec, "guest");
	copy_str(out->id, sizeof(out->id), json_string_value(json_object_get(pod, "id")));
	copy_str(out->network, sizeof(out->network),
		 json_string_value(json_object_get(json_object_get(rec, "network"), "name")));
	copy_str(out->netns, sizeof(out->netns), rec_str(rec, "netns"));
	copy_str(out->tap, sizeof(out->tap), rec_str(rec, "tap"));
	out->mtu = (unsigned)json_integer_value(json_object_get(guest, "mtu"));
	out->onlink_prefix = (unsigned)json_integer_value(json_object_get(guest, "onlink_prefix"));
	if (parse_mac(json_string_value(json_object_get(guest, "mac")) ?: "", out->mac) < 0)
		return kumo_error(err, KUMO_E_INTERNAL, "pod `%s`: record has no guest mac", out->id);
	struct cni_result *r = NULL;
	if (cni_result_from_json(json_object_get(rec, "result"), &r, err) < 0)
		return kumo_error_wrap(err, "pod `%s`: recorded result", out->id);
	int rc = fill_from_result(r, out->netns, ifname, out->network, out, err);
	cni_result_free(r);
	return rc;
}

/* ---- Namespace jobs ------------------------------------------------------------------- */

struct takeover_job {
	const char *ifname;          /* the CNI interface */
	const char *tap;             /* the pod's tap */
	const char *address;         /* its IPv4 address */
	unsigned prefix;             /* and prefix */
	bool make_tap;               /* make the tap and the redirect here */
	struct vmm_link_facts facts; /* OUT: the CNI interface */
	unsigned onlink;             /* OUT: on-link prefix */
};

/* In the pod namespace: what the guest copies from the CNI interface, then (QEMU
 * backend) the tap and the redirect. */
static int takeover_fn(void *arg, kumo_error_t *err)
{
	struct takeover_job *j = arg;
	if (vmm_link_facts(j->ifname, &j->facts, err) < 0 ||
	    vmm_onlink_prefix(j->ifname, j->address, j->prefix, &j->onlink, err) < 0)
		return -1;
	if (!j->make_tap)
		return 0;
	if (vmm_tap_create(j->tap, j->facts.mtu, err) < 0)
		return -1;
	return vmm_redirect_install(j->ifname, j->tap, err);
}

struct tap_job {
	const char *tap;    /* the pod's tap */
	const char *ifname; /* the CNI interface (redirect jobs) */
	unsigned mtu;       /* for a new tap */
	int netns_fd;       /* move target */
	int fd;             /* OUT: an opened queue */
	bool exists;        /* OUT: the tap is here */
};

static int tap_create_fn(void *arg, kumo_error_t *err)
{
	struct tap_job *j = arg;
	return vmm_tap_create(j->tap, j->mtu, err);
}

static int tap_delete_fn(void *arg, kumo_error_t *err)
{
	struct tap_job *j = arg;
	return vmm_link_delete(j->tap, err);
}

static int tap_exists_fn(void *arg, kumo_error_t *err)
{
	struct tap_job *j = arg;
	j->exists = vmm_link_exists(j->tap);
	return 0;
}

static int tap_open_fn(void *arg, kumo_error_t *err)
{
	struct tap_job *j = arg;
	return vmm_tap_open(j->tap, &j->fd, err);
}

static int tap_move_fn(void *arg, kumo_error_t *err)
{
	struct tap_job *j = arg;
	return vmm_link_move(j->tap, j->netns_fd, err);
}

/* In the pod namespace: the tap arrived from the host; up with the CNI interface's MTU,
 * redirect. */
static int tap_arrived_fn(void *arg, kumo_error_t *err)
{
	struct tap_job *j = arg;
	struct vmm_link_facts f;
	if (vmm_link_facts(j->ifname, &f, err) < 0 || vmm_link_up(j->tap, f.mtu, err) < 0)
		return -1;
	return vmm_redirect_install(j->ifname, j->tap, err);
}

/* In the pod namespace: the redirect goes, the tap leaves for netns_fd. */
static int tap_leave_fn(void *arg, kumo_error_t *err)
{
	struct tap_job *j = arg;
	if (vmm_redirect_remove(j->ifname, j->tap, err) < 0)
		return -1;
	return vmm_link_move(j->tap, j->netns_fd, err);
}

static bool tap_in(const char *netns, const char *tap)
{
	struct tap_job j = {.tap = tap};
	kumo_error_t err = NULL;
	int rc = vmm_netns_run(netns, tap_exists_fn, &j, &err);
	kumo_error_free(&err);
	return rc == 0 && j.exists;
}

/* ---- Teardown --------------------------------------------------------------------------- */

/* Undoes whatever rec says was (or may have been) done, in reverse: a tap in the host
 * namespace, CNI DEL with the recorded configuration and result, the namespace (and
 * with it a tap inside), the record. The record stays when DEL fails. */
static int teardown_locked(const struct cfgv *c, const char *id, json_t *rec, kumo_error_t *err)
{
	const char *netns = rec_str(rec, "netns");
	const char *tap = rec_str(rec, "tap");
	bool pinned = vmm_netns_pinned(netns);
	struct tap_job tj = {.tap = tap};
	/* A tap in the host namespace (libvirt) is the only thing outside the pod's
	 * namespace kumo itself made; one inside goes with the namespace (deleting it
	 * first would only add a device unregistration to the critical path). */
	if (*tap && vmm_netns_run(c->cfg->host_netns, tap_delete_fn, &tj, err) < 0)
		return kumo_error_wrap(err, "pod `%s`: tap in the host namespace", id);

	char *text = json_dumps(json_object_get(rec, "network"), JSON_COMPACT);
	struct cni_netconf *nc = NULL;
	int rc = cni_conf_parse(text, strlen(text), true, "recorded", &nc, err);
	free(text);
	if (rc < 0)
		return kumo_error_wrap(err, "pod `%s`", id);
	const json_t *pod = json_object_get(rec, "pod");
	struct cni_attachment at = {
		.container_id = json_string_value(json_object_get(pod, "id")),
		.netns = pinned ? netns : "",
		.ifname = rec_str(rec, "ifname"),
		.args = rec_str(rec, "args"),
		.plugin_path = c->plugin_path,
		.capabilities = json_object_get(rec, "capabilities"),
		.timeout_ms = c->timeout_ms,
	};
	rc = cni_del(nc, &at, json_object_get(rec, "result"), err);
	cni_conf_free(nc);
	if (rc < 0)
		return kumo_error_wrap(err, "pod `%s`: CNI DEL", id);
	if (vmm_netns_remove(netns, err) < 0)
		return kumo_error_wrap(err, "pod `%s`", id);
	autofree char *path = record_path(c, id);
	if (unlink(path) < 0 && errno != ENOENT)
		return kumo_error_errno(err, errno, "pod `%s`: remove record `%s`", id, path);
	return 0;
}

int vmm_podnet_teardown(const struct vmm_podnet_config *cfg, const char *pod_id,
			kumo_error_t *err)
{
	struct cfgv c;
	if (resolve(cfg, &c, err) < 0)
		return -1;
	if (!valid_pod_id(pod_id))
		return kumo_error(err, KUMO_E_INVALID, "pod id `%s` is not a CNI container id", pod_id);
	int lk;
	if (pod_lock(&c, pod_id, &lk, err) < 0)
		return -1;
	int rc = 0;
	json_t *rec = record_read(&c, pod_id, err);
	if (rec) {
		rc = teardown_locked(&c, pod_id, rec, err);
		json_decref(rec);
	} else if (err && *err) {
		rc = -1;
	} else {
		/* No record: nothing was set up, or teardown already finished. */
		autofree char *pin = xasprintf("%s/%s", c.netns_dir, pod_id);
		rc = vmm_netns_remove(pin, err);
	}
	pod_unlock(&c, pod_id, lk, rc == 0);
	return rc;
}

/* ---- Setup ------------------------------------------------------------------------------ */

static int load_conf(const struct cfgv *c, struct cni_netconf **out, kumo_error_t *err)
{
	if (c->cfg->conf_file)
		return cni_conf_load_file(c->cfg->conf_file, out, err);
	return cni_conf_load_dir(c->conf_dir, out, err);
}

/* Every plugin of nc on the plugin path, else an error naming the missing ones. */
static int plugins_present(const struct cfgv *c, const struct cni_netconf *nc, kumo_error_t *err)
{
	char *missing = NULL;
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(nc->plugins); i++) {
		const char *type = json_string_value(json_object_get(json_array_get(nc->plugins, i), "type"));
		char *p = cni_find_plugin(c->plugin_path, type);
		if (p) {
			free(p);
			continue;
		}
		char *m = missing ? xasprintf("%s, `%s`", missing, type) : xasprintf("`%s`", type);
		free(missing);
		missing = m;
		n++;
	}
	if (!missing)
		return 0;
	kumo_error(err, KUMO_E_UNAVAILABLE, "network `%s` (`%s`): %s %s %s not in the plugin path `%s`",
		   nc->name, nc->origin, n == 1 ? "plugin" : "plugins", missing, n == 1 ? "is" : "are",
		   c->plugin_path);
	free(missing);
	return -1;
}

static char *cni_args(const struct vmm_podnet_pod *pod)
{
	char *s = xstrdup("IgnoreUnknown=1");
	const char *keys[4] = {"K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID",
			       "K8S_POD_UID"};
	const char *vals[4] = {pod->namespace, pod->name, pod->id, pod->uid};
	for (int i = 0; i < 4; i++) {
		if (!vals[i] || !*vals[i])
			continue;
		char *t = xasprintf("%s;%s=%s", s, keys[i], vals[i]);
		free(s);
		s = t;
	}
	if (pod->ip && *pod->ip) {
		char *t = xasprintf("%s;IP=%s", s, pod->ip);
		free(s);
		s = t;
	}
	return s;
}

static json_t *str_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The capability arguments kumo provides (CONVENTIONS.md): portMappings, bandwidth,
 * dns. A plugin gets those it declares in its "capabilities". */
static json_t *capabilities(const struct vmm_podnet_pod *pod)
{
	json_t *caps = json_object();
	json_t *pm = json_array();
	for (size_t i = 0; i < pod->nports; i++) {
		const struct vmm_port_mapping *p = &pod->ports[i];
		if (!p->host_port)
			continue;
		const char *proto = p->protocol == IPPROTO_UDP ? "udp" : p->protocol == IPPROTO_SCTP ? "sctp" : "tcp";
		json_t *m = json_pack("{s:i, s:i, s:s}", "hostPort", p->host_port, "containerPort",
				      p->container_port, "protocol", proto);
		if (p->host_ip && *p->host_ip)
			json_object_set_new(m, "hostIP", json_string(p->host_ip));
		json_array_append_new(pm, m);
	}
	if (json_array_size(pm))
		json_object_set(caps, "portMappings", pm);
	json_decref(pm);
	if (pod->bandwidth)
		json_object_set_new(caps, "bandwidth",
				    json_pack("{s:I, s:I, s:I, s:I}", "ingressRate",
					      (json_int_t)pod->bandwidth->ingress_rate, "ingressBurst",
					      (json_int_t)pod->bandwidth->ingress_burst, "egressRate",
					      (json_int_t)pod->bandwidth->egress_rate, "egressBurst",
					      (json_int_t)pod->bandwidth->egress_burst));
	if (pod->dns)
		json_object_set_new(caps, "dns",
				    json_pack("{s:o, s:o, s:o}", "servers",
					      str_array(pod->dns->servers, pod->dns->nservers), "searches",
					      str_array(pod->dns->searches, pod->dns->nsearches), "options",
					      str_array(pod->dns->options, pod->dns->noptions)));
	return caps;
}

/* Undoes a failed setup; the setup's error stays first, the undo's is appended. */
static int undo(const struct cfgv *c, const char *id, json_t *rec, kumo_error_t *err)
{
	kumo_error_t uerr = NULL;
	if (teardown_locked(c, id, rec, &uerr) < 0 && err && *err) {
		char *m = xasprintf("%s (undoing the setup failed too, its record stays for "
				    "recovery: %s)",
				    (*err)->msg, kumo_error_msg(uerr));
		free((*err)->msg);
		(*err)->msg = m;
	}
	kumo_error_free(&uerr);
	return -1;
}

static int setup_locked(const struct cfgv *c, const struct vmm_podnet_pod *pod,
			struct vmm_podnet *out, kumo_error_t *err)
{
	json_t *old = record_read(c, pod->id, err);
	if (!old && err && *err)
		return -1;
	if (old) {
		const char *netns = rec_str(old, "netns"), *tap = rec_str(old, "tap");
		bool ready = strcmp(rec_str(old, "state"), "ready") == 0 && vmm_netns_pinned(netns);
		bool in_pod = ready && tap_in(netns, tap);
		bool in_host = ready && !in_pod && tap_in(c->cfg->host_netns, tap);
		if (in_pod || in_host) {
			int rc = fill_from_record(old, c->ifname, out, err);
			out->tap_in_host = in_host;
			json_decref(old);
			return rc;
		}
		/* A setup that never finished (or lost its namespace): undo it, then anew. */
		int rc = teardown_locked(c, pod->id, old, err);
		json_decref(old);
		if (rc < 0)
			return kumo_error_wrap(err, "undo the earlier unfinished setup");
	}
	struct cni_netconf *nc = NULL;
	if (load_conf(c, &nc, err) < 0 || plugins_present(c, nc, err) < 0) {
		cni_conf_free(nc);
		return -1;
	}
	char tap[16];
	tap_name(pod->id, tap);
	autofree char *args = cni_args(pod);
	autofree char *netns = xasprintf("%s/%s", c->netns_dir, pod->id);
	json_t *rec = json_pack("{s:i, s:s, s:{s:s, s:s?, s:s?, s:s?}, s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:b}",
				"version", RECORD_VERSION, "state", "adding", "pod", "id", pod->id, "name",
				pod->name, "namespace", pod->namespace, "uid", pod->uid, "netns", netns,
				"ifname", c->ifname, "args", args, "network", cni_conf_to_json(nc),
				"conf_origin", nc->origin, "capabilities", capabilities(pod), "tap", tap,
				"tap_in_host", pod->tap_in_host);
	struct cni_result *res = NULL;
	int rc = -1;
	/* Recorded before anything exists: from here on, a crash leaves a record that
	 * recovery tears down. */
	if (record_write(c, pod->id, rec, err) < 0)
		goto out;
	char *made = NULL;
	if (vmm_netns_create(c->netns_dir, pod->id, &made, err) < 0) {
		undo(c, pod->id, rec, err);
		goto out;
	}
	free(made);
	struct cni_attachment at = {
		.container_id = pod->id,
		.netns = netns,
		.ifname = c->ifname,
		.args = args,
		.plugin_path = c->plugin_path,
		.capabilities = json_object_get(rec, "capabilities"),
		.timeout_ms = c->timeout_ms,
	};
	if (cni_add(nc, &at, &res, err) < 0) {
		undo(c, pod->id, rec, err);
		goto out;
	}
	json_object_set_new(rec, "state", json_string("added"));
	json_object_set(rec, "result", res->json);
	memset(out, 0, sizeof(*out));
	if (record_write(c, pod->id, rec, err) < 0 ||
	    fill_from_result(res, netns, c->ifname, nc->name, out, err) < 0) {
		undo(c, pod->id, rec, err);
		goto out;
	}
	struct takeover_job tj = {.ifname = c->ifname, .tap = tap, .address = out->address,
				  .prefix = out->prefix, .make_tap = !pod->tap_in_host};
	if (vmm_netns_run(netns, takeover_fn, &tj, err) < 0) {
		kumo_error_wrap(err, "take over `%s` in `%s`", c->ifname, netns);
		undo(c, pod->id, rec, err);
		goto out;
	}
	if (pod->tap_in_host) {
		struct tap_job j = {.tap = tap, .mtu = tj.facts.mtu};
		if (vmm_netns_run(c->cfg->host_netns, tap_create_fn, &j, err) < 0) {
			kumo_error_wrap(err, "tap in the host namespace");
			undo(c, pod->id, rec, err);
			goto out;
		}
	}
	char mac[18];
	mac_str(tj.facts.mac, mac);
	json_object_set_new(rec, "state", json_string("ready"));
	json_object_set_new(rec, "guest", json_pack("{s:s, s:i, s:i}", "mac", mac, "mtu",
						    (int)tj.facts.mtu, "onlink_prefix", (int)tj.onlink));
	if (record_write(c, pod->id, rec, err) < 0) {
		undo(c, pod->id, rec, err);
		goto out;
	}
	rc = fill_from_record(rec, c->ifname, out, err);
	out->tap_in_host = pod->tap_in_host;
out:
	cni_result_free(res);
	cni_conf_free(nc);
	json_decref(rec);
	return rc;
}

int vmm_podnet_setup(const struct vmm_podnet_config *cfg, const struct vmm_podnet_pod *pod,
		     struct vmm_podnet *out, kumo_error_t *err)
{
	struct cfgv c;
	if (resolve(cfg, &c, err) < 0)
		return -1;
	if (!valid_pod_id(pod->id))
		return kumo_error(err, KUMO_E_INVALID,
				  "pod id `%s` is not a CNI container id (alphanumeric first, then "
				  "alphanumerics, `_`, `.` or `-`, at most 128)",
				  pod->id ? pod->id : "");
	struct in_addr want;
	if (pod->ip && *pod->ip && inet_pton(AF_INET, pod->ip, &want) != 1)
		return kumo_error(err, KUMO_E_INVALID, "pod `%s`: `%s` is not an IPv4 address", pod->id,
				  pod->ip);
	const char *vals[3] = {pod->name, pod->namespace, pod->uid};
	for (int i = 0; i < 3; i++)
		if (vals[i] && !valid_arg(vals[i]))
			return kumo_error(err, KUMO_E_INVALID, "pod `%s`: `%s` cannot be passed in CNI_ARGS",
					  pod->id, vals[i]);
	int lk;
	if (pod_lock(&c, pod->id, &lk, err) < 0)
		return -1;
	int rc = setup_locked(&c, pod, out, err);
	pod_unlock(&c, pod->id, lk, false);
	return rc < 0 ? kumo_error_wrap(err, "pod `%s`: network", pod->id) : 0;
}

int vmm_podnet_get(const struct vmm_podnet_config *cfg, const char *pod_id,
		   struct vmm_podnet *out, kumo_error_t *err)
{
	struct cfgv c;
	if (resolve(cfg, &c, err) < 0)
		return -1;
	if (!valid_pod_id(pod_id))
		return kumo_error(err, KUMO_E_INVALID, "pod id `%s` is not a CNI container id", pod_id);
	int lk;
	if (pod_lock(&c, pod_id, &lk, err) < 0)
		return -1;
	json_t *rec = record_read(&c, pod_id, err);
	int rc = rec ? 1 : (err && *err) ? -1 : 0;
	if (rec && strcmp(rec_str(rec, "state"), "ready") != 0)
		rc = 0;
	if (rc == 1 && fill_from_record(rec, c.ifname, out, err) < 0)
		rc = -1;
	if (rc == 1)
		out->tap_in_host = !tap_in(out->netns, out->tap) && tap_in(cfg->host_netns, out->tap);
	json_decref(rec);
	pod_unlock(&c, pod_id, lk, false);
	return rc;
}

/* The pod's finished record, locked: *lk holds the lock. */
static json_t *ready_record(const struct cfgv *c, const char *pod_id, int *lk, kumo_error_t *err)
{
	if (!valid_pod_id(pod_id)) {
		kumo_error(err, KUMO_E_INVALID, "pod id `%s` is not a CNI container id", pod_id);
		return NULL;
	}
	if (pod_lock(c, pod_id, lk, err) < 0)
		return NULL;
	json_t *rec = record_read(c, pod_id, err);
	if (!rec || strcmp(rec_str(rec, "state"), "ready") != 0) {
		if (!(err && *err))
			kumo_error(err, KUMO_E_NOT_FOUND, "pod `%s` has no network set up", pod_id);
		json_decref(rec);
		pod_unlock(c, pod_id, *lk, false);
		return NULL;
	}
	return rec;
}

int vmm_podnet_check(const struct vmm_podnet_config *cfg, const char *pod_id, kumo_error_t *err)
{
	struct cfgv c;
	int lk;
	if (resolve(cfg, &c, err) < 0)
		return -1;
	json_t *rec = ready_record(&c, pod_id, &lk, err);
	if (!rec)
		return -1;
	char *text = json_dumps(json_object_get(rec, "network"), JSON_COMPACT);
	struct cni_netconf *nc = NULL;
	int rc = cni_conf_parse(text, strlen(text), true, "recorded", &nc, err);
	free(text);
	const char *netns = rec_str(rec, "netns");
	if (rc == 0 && !vmm_netns_pinned(netns))
		rc = kumo_error(err, KUMO_E_NOT_FOUND, "network namespace `%s` is gone", netns);
	if (rc == 0) {
		struct cni_attachment at = {
			.container_id = pod_id,
			.netns = netns,
			.ifname = rec_str(rec, "ifname"),
			.args = rec_str(rec, "args"),
			.plugin_path = c.plugin_path,
			.capabilities = json_object_get(rec, "capabilities"),
			.timeout_ms = c.timeout_ms,
		};
		rc = cni_check(nc, &at, json_object_get(rec, "result"), err);
	}
	cni_conf_free(nc);
	json_decref(rec);
	pod_unlock(&c, pod_id, lk, false);
	return rc < 0 ? kumo_error_wrap(err, "pod `%s`: network check", pod_id) : 0;
}

/* ---- Recovery and readiness --------------------------------------------------------------- */

int vmm_podnet_recover(const struct vmm_podnet_config *cfg,
		       bool (*live)(const char *pod_id, void *ctx), void *ctx, kumo_error_t *err)
{
	struct cfgv c;
	if (resolve(cfg, &c, err) < 0)
		return -1;
	int count = 0, rc = 0;
	DIR *d = opendir(c.state_dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n <= 5 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		autofree char *id = xstrndup(e->d_name, n - 5);
		if (!valid_pod_id(id))
			continue;
		int lk;
		kumo_error_t perr = NULL;
		if (pod_lock(&c, id, &lk, &perr) < 0) {
			rc = -1;
			if (err && !*err)
				*err = perr;
			else
				kumo_error_free(&perr);
			continue;
		}
		json_t *rec = record_read(&c, id, &perr);
		bool removed = false;
		if (rec && !(strcmp(rec_str(rec, "state"), "ready") == 0 && live && live(id, ctx))) {
			if (teardown_locked(&c, id, rec, &perr) == 0) {
				count++;
				removed = true;
			}
		}
		if (perr) {
			rc = -1;
			kumo_error_wrap(&perr, "recover");
			if (err && !*err)
				*err = perr;
			else
				kumo_error_free(&perr);
		}
		json_decref(rec);
		pod_unlock(&c, id, lk, removed);
	}
	if (d)
		closedir(d);
	/* Pins no record owns (a record is written before its namespace is made). */
	d = opendir(c.netns_dir);
	while (d && (e = readdir(d))) {
		if (!valid_pod_id(e->d_name) || (live && live(e->d_name, ctx)))
			continue;
		autofree char *rp = record_path(&c, e->d_name);
		if (access(rp, F_OK) == 0)
			continue;
		autofree char *pin = xasprintf("%s/%s", c.netns_dir, e->d_name);
		kumo_error_t perr = NULL;
		if (vmm_netns_remove(pin, &perr) < 0) {
			rc = -1;
			if (err && !*err)
				*err = perr;
			else
				kumo_error_free(&perr);
		}
	}
	if (d)
		closedir(d);
	return rc < 0 ? -1 : count;
}

bool vmm_podnet_ready(const struct vmm_podnet_config *cfg, char **message)
{
	struct cfgv c;
	kumo_error_t err = NULL;
	struct cni_netconf *nc = NULL;
	bool ok = resolve(cfg, &c, &err) == 0 && load_conf(&c, &nc, &err) == 0 &&
		  plugins_present(&c, nc, &err) == 0;
	cni_conf_free(nc);
	if (!ok && message)
		*message = xasprintf("cni: %s", kumo_error_msg(err));
	kumo_error_free(&err);
	return ok;
}

/* ---- The tap for the VM backends (vm.c) ----------------------------------------------------- */

/* The namespace file for moves into the host namespace (NULL: this thread's). */
static int host_ns_fd(const char *host_netns, kumo_error_t *err)
{
	const char *p = host_netns ? host_netns : "/proc/thread-self/ns/net";
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open the host network namespace `%s`", p);
	return fd;
}

int vmm_pod_tap_open(const char *netns, const char *tap, int *fd, kumo_error_t *err)
{
	struct tap_job j = {.tap = tap, .fd = -1};
	if (vmm_netns_run(netns, tap_open_fn, &j, err) < 0)
		return kumo_error_wrap(err, "open tap `%s` in `%s`", tap, netns);
	*fd = j.fd;
	return 0;
}

int vmm_pod_tap_to_host(const char *host_netns, const char *netns, const char *tap,
			const char *ifname, kumo_error_t *err)
{
	if (tap_in(host_netns, tap))
		return 0;
	struct tap_job j = {.tap = tap, .ifname = ifname ? ifname : VMM_PODNET_IFNAME};
	j.netns_fd = host_ns_fd(host_netns, err);
	int rc = j.netns_fd < 0 ? -1 : vmm_netns_run(netns, tap_leave_fn, &j, err);
	if (j.netns_fd >= 0)
		close(j.netns_fd);
	return rc < 0 ? kumo_error_wrap(err, "move tap `%s` from `%s` to the host namespace", tap,
					netns) : 0;
}

int vmm_pod_tap_to_pod(const char *host_netns, const char *netns, const char *tap,
		       const char *ifname, kumo_error_t *err)
{
	struct tap_job j = {.tap = tap, .ifname = ifname ? ifname : VMM_PODNET_IFNAME};
	int rc = 0;
	if (tap_in(host_netns, tap)) {
		j.netns_fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (j.netns_fd < 0)
			rc = kumo_error_errno(err, errno, "open network namespace `%s`", netns);
		if (rc == 0)
			rc = vmm_netns_run(host_netns, tap_move_fn, &j, err);
		if (j.netns_fd >= 0)
			close(j.netns_fd);
	}
	if (rc == 0)
		rc = vmm_netns_run(netns, tap_arrived_fn, &j, err);
	return rc < 0 ? kumo_error_wrap(err, "move tap `%s` into `%s`", tap, netns) : 0;
}

/* ---- A fresh node's network list ------------------------------------------------------------- */

/* "a.b.c.d/p" → host-order network and prefix. */
static int parse_cidr(const char *cidr, uint32_t *net, unsigned *prefix, kumo_error_t *err)
{
	char addr[32];
	const char *slash = strchr(cidr, '/');
	if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
		return kumo_error(err, KUMO_E_INVALID, "pod cidr `%s` is not a.b.c.d/prefix", cidr);
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = 0;
	struct in_addr in;
	char *end;
	long p = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &in) != 1 || *end || end == slash + 1)
		return kumo_error(err, KUMO_E_INVALID, "pod cidr `%s` is not a.b.c.d/prefix", cidr);
	if (p < 8 || p > 30)
		return kumo_error(err, KUMO_E_INVALID, "pod cidr `%s`: prefix must be 8 to 30", cidr);
	uint32_t mask = 0xffffffffu << (32 - p);
	*net = ntohl(in.s_addr) & mask;
	*prefix = (unsigned)p;
	return 0;
}

char *vmm_podnet_default_conflist(const char *cidr)
{
	return xasprintf(
		"{\n"
		"  \"cniVersion\": \"1.0.0\",\n"
		"  \"name\": \"kumo\",\n"
		"  \"plugins\": [\n"
		"    {\n"
		"      \"type\": \"bridge\",\n"
		"      \"bridge\": \"cni0\",\n"
		"      \"isGateway\": true,\n"
		"      \"ipMasq\": true,\n"
		"      \"hairpinMode\": true,\n"
		"      \"ipam\": {\n"
		"        \"type\": \"host-local\",\n"
		"        \"ranges\": [[{\"subnet\": \"%s\"}]],\n"
		"        \"routes\": [{\"dst\": \"0.0.0.0/0\"}]\n"
		"      }\n"
		"    },\n"
		"    {\n"
		"      \"type\": \"portmap\",\n"
		"      \"capabilities\": {\"portMappings\": true}\n"
		"    },\n"
		"    {\n"
		"      \"type\": \"loopback\"\n"
		"    }\n"
		"  ]\n"
		"}\n",
		cidr ? cidr : VMM_PODNET_DEFAULT_CIDR);
}

/* The subnet of a default list file, when the file is exactly a default list. */
static char *default_subnet(const char *path)
{
	uint8_t *buf = NULL;
	size_t len;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, CNI_CONF_MAX_BYTES, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return NULL;
	}
	json_t *j = json_loadb((char *)buf, len, 0, NULL);
	json_t *ipam = json_object_get(json_array_get(json_object_get(j, "plugins"), 0), "ipam");
	const char *sub = json_string_value(
		json_object_get(json_array_get(json_array_get(json_object_get(ipam, "ranges"), 0), 0), "subnet"));
	char *out = NULL;
	if (sub) {
		autofree char *again = vmm_podnet_default_conflist(sub);
		if (strlen(again) == len && memcmp(again, buf, len) == 0)
			out = xstrdup(sub);
	}
	json_decref(j);
	free(buf);
	return out;
}

int vmm_podnet_write_default(const char *conf_dir, const char *cidr, bool *written,
			     kumo_error_t *err)
{
	*written = false;
	const char *want = cidr && *cidr ? cidr : VMM_PODNET_DEFAULT_CIDR;
	uint32_t net;
	unsigned prefix;
	if (parse_cidr(want, &net, &prefix, err) < 0)
		return kumo_error_wrap(err, "default network list");
	if (kumo_mkdir_p(conf_dir, 0755, err) < 0)
		return -1;
	DIR *d = opendir(conf_dir);
	if (!d)
		return kumo_error_errno(err, errno, "open `%s`", conf_dir);
	size_t others = 0;
	bool ours = false;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' ||
		    !((n > 9 && strcmp(e->d_name + n - 9, ".conflist") == 0) ||
		      (n > 5 && strcmp(e->d_name + n - 5, ".conf") == 0) ||
		      (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0)))
			continue;
		if (strcmp(e->d_name, VMM_PODNET_DEFAULT_FILE) == 0)
			ours = true;
		else
			others++;
	}
	closedir(d);
	autofree char *path = xasprintf("%s/%s", conf_dir, VMM_PODNET_DEFAULT_FILE);
	if (others)
		return 0;
	if (ours) {
		autofree char *sub = default_subnet(path);
		/* Changed by hand, or already this CIDR: leave it. */
		if (!sub || !cidr || !*cidr || strcmp(sub, cidr) == 0)
			return 0;
	}
	autofree char *text = vmm_podnet_default_conflist(want);
	if (kumo_write_file_atomic(path, text, strlen(text), 0644, err) < 0)
		return kumo_error_wrap(err, "default network list");
	*written = true;
	return 0;
}
