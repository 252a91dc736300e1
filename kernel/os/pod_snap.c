/* kernel/os/pod_snap.c - the pod supervisor's snapshot commands (kernel/pod_abi.h "Snapshots"): QUIESCE lets go of every host share so QEMU can save the VM, RESUME takes them up again and sets the wall clock, REINIT makes a new pod of a VM restored from a pod kernel's snapshot (seed, boot id, name, clock, address). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/os/p9fs.h"
#include "kernel/os/pod.h"

static void ack_error(const struct kumo_pod_msg *m, const char *msg)
{
	char e[400];
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq, "{\"ok\": false, \"error\": \"%s\"}",
		    pod_json_escape(e, sizeof(e), msg));
}

static uint64_t us_since(uint64_t t0)
{
	return clock_tsc_to_ns(rdtsc() - t0) / 1000;
}

static void quiesce(const struct kumo_pod_msg *m)
{
	uint64_t t0 = rdtsc();
	struct p9fs_snap_stats st;
	char err[200];
	if (p9fs_quiesce(&st, err, sizeof(err)) < 0) {
		ack_error(m, err);
		return;
	}
	uint64_t took = us_since(t0);
	klog("pod: quiesced for a snapshot: %u shares and %u open files let go (%u fids) in %llu us",
	     st.shares, st.files, st.fids, (unsigned long long)took);
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq,
		    "{\"ok\": true, \"shares\": %u, \"files\": %u, \"fids\": %u, \"quiesce_us\": %llu}",
		    st.shares, st.files, st.fids, (unsigned long long)took);
}

/* "realtime_ns" of a command's JSON: 1 and *ns, 0 when absent, -1 when not a number. */
static int realtime_of(const cJSON *root, uint64_t *ns)
{
	const cJSON *rt = root ? cJSON_GetObjectItemCaseSensitive(root, "realtime_ns") : NULL;
	if (!rt)
		return 0;
	if (!cJSON_IsNumber(rt) || rt->valuedouble < 0)
		return -1;
	*ns = (uint64_t)rt->valuedouble;
	return 1;
}

/* RESUME's "rename": [[FROM, TO], ...]: share paths starting with FROM (the directories
 * the host staged for a container of the saved pod) start with TO from now on, in the
 * open files and in every container's preopens (a restart opens them again). 0, or -1
 * with err when the list is malformed (nothing renamed then). */
static int rename_all(const cJSON *list, unsigned *nfiles, char *err, size_t errcap)
{
	const cJSON *e;
	*nfiles = 0;
	if (!list)
		return 0;
	if (!cJSON_IsArray(list)) {
		snprintf(err, errcap, "config: `rename` is not a list of [from, to] pairs");
		return -1;
	}
	cJSON_ArrayForEach(e, list) {
		const cJSON *f = cJSON_GetArrayItem(e, 0), *t = cJSON_GetArrayItem(e, 1);
		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsString(f) ||
		    !cJSON_IsString(t) || !f->valuestring[0] || strchr(f->valuestring, '/') ||
		    strchr(t->valuestring, '/')) {
			snprintf(err, errcap, "config: `rename` is not a list of [from, to] pairs of "
				 "names");
			return -1;
		}
	}
	cJSON_ArrayForEach(e, list) {
		const char *from = cJSON_GetArrayItem(e, 0)->valuestring;
		const char *to = cJSON_GetArrayItem(e, 1)->valuestring;
		*nfiles += (unsigned)p9fs_rename_prefix(from, to);
		for (uint32_t cid = 1; cid <= KUMO_POD_MAX_CID; cid++) {
			struct container *c = pod_container(cid);
			for (int i = 0; c && i < c->npreopens; i++) {
				struct ct_preopen *p = &c->preopens[i];
				char *np = p->share ? p9fs_path_renamed(p->path, from, to) : NULL;
				if (np) {
					free(p->path);
					p->path = np;
				}
			}
		}
	}
	return 0;
}

static int net_of(const cJSON *net, struct kumo_netcfg *n, char *err, size_t errcap);

static void resume(const struct kumo_pod_msg *m, const char *json)
{
	uint64_t t0 = rdtsc();
	cJSON *root = json && *json ? cJSON_Parse(json) : NULL;
	uint64_t now = 0;
	int has_rt = realtime_of(root, &now);
	if (has_rt < 0) {
		cJSON_Delete(root);
		ack_error(m, "config: `realtime_ns` is not a number of nanoseconds");
		return;
	}
	char err[200];
	unsigned renamed = 0;
	const cJSON *rn = root ? cJSON_GetObjectItemCaseSensitive(root, "rename") : NULL;
	if (rn && !p9fs_quiesced()) {
		cJSON_Delete(root);
		ack_error(m, "config: `rename` needs the shares quiesced");
		return;
	}
	/* "net": the pod this VM is restored into has another address or MAC. */
	const cJSON *net = root ? cJSON_GetObjectItemCaseSensitive(root, "net") : NULL;
	struct kumo_netcfg n;
	if (net && !kumo_bootcfg.net.present) {
		cJSON_Delete(root);
		ack_error(m, "net: this VM has no NIC");
		return;
	}
	if (net && (!cJSON_IsObject(net) || net_of(net, &n, err, sizeof(err)) < 0)) {
		cJSON_Delete(root);
		ack_error(m, err[0] ? err : "config: `net` is not an object");
		return;
	}
	int rrc = rename_all(rn, &renamed, err, sizeof(err));
	cJSON_Delete(root);
	if (rrc < 0) {
		ack_error(m, err);
		return;
	}
	if (net) {
		n.nlisten = 0;
		n.listen = NULL;
		kumo_bootcfg.net = n;
		net_reconfigure();
	}
	if (has_rt)
		clock_set_realtime_ns(now);
	struct p9fs_snap_stats st;
	if (p9fs_resume(&st, err, sizeof(err)) < 0) {
		ack_error(m, err);
		return;
	}
	uint64_t took = us_since(t0);
	klog("pod: resumed after a snapshot: %u shares and %u open files taken up again (%u lost, "
	     "%u shares not attached, %u renamed) in %llu us", st.shares, st.files, st.lost,
	     st.dead_shares, renamed, (unsigned long long)took);
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq,
		    "{\"ok\": true, \"shares\": %u, \"files\": %u, \"lost\": %u, \"dead_shares\": %u, "
		    "\"renamed\": %u, \"resume_us\": %llu}", st.shares, st.files, st.lost,
		    st.dead_shares, renamed, (unsigned long long)took);
}

/* ---- REINIT ---- */

static int reinit_done; /* a VM becomes a pod once */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "a.b.c.d" at s into ip; *end (may be NULL) after it. 0 or -1. */
static int ip4_of(const char *s, uint8_t ip[4], const char **end)
{
	for (int i = 0; i < 4; i++) {
		int v = 0, n = 0;
		while (*s >= '0' && *s <= '9' && n < 4) {
			v = v * 10 + (*s++ - '0');
			n++;
		}
		if (!n || n > 3 || v > 255 || (i < 3 && *s++ != '.'))
			return -1;
		ip[i] = (uint8_t)v;
	}
	if (end)
		*end = s;
	return end || !*s ? 0 : -1;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	return d ? memcpy(d, s, n) : NULL;
}

/* REINIT's "net" into n (its strings malloc'd); 0, or -1 with err. */
static int net_of(const cJSON *net, struct kumo_netcfg *n, char *err, size_t errcap)
{
	memset(n, 0, sizeof(*n));
	n->present = 1;
	const char *mac = str_of(net, "mac"), *addr = str_of(net, "address");
	const char *gw = str_of(net, "gateway"), *host = str_of(net, "hostname"), *rest;
	if (mac) {
		for (int i = 0; i < 6; i++) {
			int hi = hexval(mac[3 * i]), lo = hi < 0 ? -1 : hexval(mac[3 * i + 1]);
			if (hi < 0 || lo < 0 || mac[3 * i + 2] != (i == 5 ? '\0' : ':')) {
				snprintf(err, errcap, "net: `mac` is not a MAC address");
				return -1;
			}
			n->mac[i] = (uint8_t)(hi << 4 | lo);
		}
		n->has_mac = 1;
	}
	int pfx = -1;
	if (addr && ip4_of(addr, n->addr, &rest) == 0 && rest[0] == '/' && rest[1]) {
		pfx = 0;
		for (const char *p = rest + 1; pfx <= 32 && *p; p++)
			pfx = *p >= '0' && *p <= '9' ? pfx * 10 + (*p - '0') : 99;
	}
	if (pfx < 0 || pfx > 32) {
		snprintf(err, errcap, "net: `address` is not ADDRESS/PREFIX");
		return -1;
	}
	n->prefix = pfx;
	if (gw && ip4_of(gw, n->gateway, NULL) < 0) {
		snprintf(err, errcap, "net: `gateway` is not an IPv4 address");
		return -1;
	}
	const cJSON *mtu = cJSON_GetObjectItemCaseSensitive(net, "mtu"), *e;
	if (mtu && (!cJSON_IsNumber(mtu) || mtu->valuedouble < 576 || mtu->valuedouble > 65535)) {
		snprintf(err, errcap, "net: `mtu` is not a number in 576..65535");
		return -1;
	}
	n->mtu = mtu ? (int)mtu->valuedouble : 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(net, "dns")) {
		uint8_t ip[4];
		if (!cJSON_IsString(e) || ip4_of(e->valuestring, ip, NULL) < 0) {
			snprintf(err, errcap, "net: `dns` holds something that is no IPv4 address");
			return -1;
		}
		if (n->ndns < 2) /* the first two, as the boot config's */
			memcpy(n->dns[n->ndns++], ip, 4);
	}
	const cJSON *search = cJSON_GetObjectItemCaseSensitive(net, "search");
	int ns = cJSON_IsArray(search) ? cJSON_GetArraySize(search) : 0;
	n->search = calloc((size_t)ns + 1, sizeof(char *));
	n->hostname = host ? dup_str(host) : NULL;
	if (!n->search || (host && !n->hostname)) {
		snprintf(err, errcap, "net: out of memory");
		return -1;
	}
	cJSON_ArrayForEach(e, search) {
		if (cJSON_IsString(e) && (n->search[n->nsearch] = dup_str(e->valuestring)))
			n->nsearch++;
	}
	return 0;
}

static void reinit(const struct kumo_pod_msg *m, const char *json)
{
	uint64_t t0 = rdtsc();
	char err[200] = "";
	uint8_t seed[32];
	struct kumo_netcfg n;
	int has_net = 0, has_rt = 0;
	uint64_t now = 0;
	const char *name = NULL;
	cJSON *root = json && *json ? cJSON_Parse(json) : NULL;
	const char *sd = root ? str_of(root, "seed") : NULL;
	const cJSON *net = root ? cJSON_GetObjectItemCaseSensitive(root, "net") : NULL;
	int fresh = !reinit_done && pod_instances == 0;
	for (uint32_t cid = 1; fresh && cid <= KUMO_POD_MAX_CID; cid++)
		fresh = pod_container(cid) == NULL;
	if (!fresh)
		snprintf(err, sizeof(err), "this VM is a pod already (REINIT once, before any CREATE)");
	else if (!root || !cJSON_IsObject(root))
		snprintf(err, sizeof(err), "config: not a JSON object");
	else if (!sd || strlen(sd) != 64)
		snprintf(err, sizeof(err), "config: `seed` is not 64 hex digits");
	for (int i = 0; !err[0] && i < 32; i++) {
		int hi = hexval(sd[2 * i]), lo = hexval(sd[2 * i + 1]);
		if (hi < 0 || lo < 0)
			snprintf(err, sizeof(err), "config: `seed` is not 64 hex digits");
		seed[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!err[0] && (has_rt = realtime_of(root, &now)) < 0)
		snprintf(err, sizeof(err), "config: `realtime_ns` is not a number of nanoseconds");
	if (!err[0] && cJSON_GetObjectItemCaseSensitive(root, "name") && !(name = str_of(root, "name")))
		snprintf(err, sizeof(err), "config: `name` is not a string");
	if (!err[0] && net && !kumo_bootcfg.net.present)
		snprintf(err, sizeof(err), "net: this VM has no NIC (its snapshot was taken without one)");
	if (!err[0] && net && (!cJSON_IsObject(net) || net_of(net, &n, err, sizeof(err)) < 0) && !err[0])
		snprintf(err, sizeof(err), "config: `net` is not an object");
	has_net = net && !err[0];
	char *name_copy = name ? dup_str(name) : NULL;
	cJSON_Delete(root);
	if (err[0]) {
		free(name_copy);
		ack_error(m, err);
		return;
	}
	reinit_done = 1;
	/* Nothing of the snapshot's boot stays predictable: the random state (and from it
	 * the boot id, lwIP's ports and ISNs), the clock, the name, the address. */
	random_init(seed, sizeof(seed));
	const char *id = pod_new_boot_id();
	if (has_rt)
		clock_set_realtime_ns(now);
	if (name_copy)
		kumo_bootcfg.pod_name = name_copy;
	if (has_net) {
		n.nlisten = 0;
		n.listen = NULL;
		kumo_bootcfg.net = n;
	}
	net_reconfigure();
	uint64_t took = us_since(t0);
	klog("pod `%s` made from a snapshot: boot id %s, random source %s, %s, in %llu us",
	     kumo_bootcfg.pod_name ? kumo_bootcfg.pod_name : "", id, random_source(),
	     has_net ? "its address set" : "no address", (unsigned long long)took);
	podrec_json(KUMO_POD_REC_ACK, m->cid, m->seq,
		    "{\"ok\": true, \"boot_id\": \"%s\", \"reinit_us\": %llu}", id,
		    (unsigned long long)took);
}

int pod_snap_refuses(const struct kumo_pod_msg *m)
{
	if (m->type != KUMO_POD_MSG_CREATE || !p9fs_quiesced())
		return 0;
	ack_error(m, "the pod is quiesced for a snapshot: CREATE waits for RESUME");
	return 1;
}

void pod_snap_command(const struct kumo_pod_msg *m, const char *json)
{
	switch (m->type) {
	case KUMO_POD_MSG_QUIESCE:
		quiesce(m);
		break;
	case KUMO_POD_MSG_RESUME:
		resume(m, json);
		break;
	case KUMO_POD_MSG_REINIT:
		reinit(m, json);
		break;
	default:
		ack_error(m, "not a snapshot command");
	}
}
