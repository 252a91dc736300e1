/* cri/backend_real.c - the real backend: imagestore/ for images, builder/ for the
 * bootable artifact, vmm/ for VMs and for pod networking (node bridge, IPAM, one tap per
 * pod, hostPort DNAT).
 *
 * Networking: the node bridge is set up when the backend starts (and retried by Status
 * and RunPodSandbox until it works; NetworkReady says why not meanwhile). The pod CIDR
 * is the one kubelet last sent (UpdateRuntimeConfig, persisted by cri in
 * <root>/runtime-config.json), else the configured one, else VMM_NET_DEFAULT_CIDR.
 * RunPodSandbox allocates the pod's address and tap; the container VM gets the tap and
 * a "net" boot config (address, gateway, DNS and searches from the pod's DNSConfig,
 * hostname, the pod's container ports as listening sockets). A pod has one tap, so one
 * VM of the pod at a time owns the NIC: init containers in turn, then the app
 * container; creating a second VM of a pod while another one exists and has not exited
 * fails with a clear error (vmm/: "the pod network on tap ... is in use").
 *
 * Each container gets a run directory <root>/vms/<id>/ holding its initrd (boot config +
 * rootfs), the raw console streams and vm.json (what a restarted kumod needs to find
 * the VM again). Pod mounts (directories, and files such as kubelet's /etc/hosts and
 * termination-message file) are COPIED into the initrd's rootfs at CreateContainer: the
 * app sees the files as they were then; its writes to directories stay in the VM, and
 * what it wrote to a writable file mount is written back to the host file when the VM
 * ends (KUMO-FILE records, before the exit is reported).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder.h"
#include "cri/accel_choice.h"
#include "cri/backend.h"
#include "cri/cri.h"
#include "imagestore/imagestore.h"
#include "vmm/vmm.h"

#define MODULE_MAX_BYTES (512u << 20)

/* One container's VM as this kumod knows it. */
struct vmrec {
	char id[65];
	char pod_id[65];   /* its pod */
	bool net;          /* holds the pod's NIC */
	char *name;        /* VM name: "kumo-" + the first 40 hex digits of the id */
	char *dir;         /* <root>/vms/<id> */
	struct vmm_vm *vm; /* NULL while vmm_create runs */
	int64_t started_ns; /* wall clock of vm_start, 0 before */
	struct vmrec *next;
};

struct real {
	struct imagestore *store;
	char *root;
	enum vmm_backend vm_backend;
	struct cri_accel accel; /* resolved at start: what VMs run with and why */
	pthread_mutex_t lock; /* vmm and vms; held across no vmm call but vmm_open */
	struct vmm *vmm;      /* opened at the first VM operation */
	struct vmrec *vms;
	struct cri_backend *b;
	pthread_mutex_t net_lock; /* the fields below; held across node setup only */
	struct vmm_net_config net; /* bridge, cidr, state_dir (malloc'd strings) */
	bool net_ready;           /* node setup succeeded for net.cidr */
	char *net_error;          /* why not, NULL when ready */
};

/* Id of the image whose module this thread just failed to compile (see real_image_pull). */
static __thread char *compile_failed_id;

/* imagestore's pull hook: compile the module now (a cache hit when another image or
 * an earlier pull had the same module), so CreateContainer and StartContainer never
 * compile. A module that does not validate fails the pull. */
static int compile_pulled(void *ctx, const struct imagestore_image *img, kumo_error_t *err)
{
	struct real *r = ctx;
	if (!img->module_path)
		return kumo_error(err, KUMO_E_INVALID, "image `%s` names no .wasm module", img->id);
	autofree uint8_t *wasm = NULL;
	size_t len = 0;
	if (kumo_read_file(img->module_path, MODULE_MAX_BYTES, &wasm, &len, err) < 0)
		return kumo_error_wrap(err, "compile the image's module");
	struct kumo_build_options opts = {.root = r->root};
	struct kumo_build_result res = {0};
	if (kumo_build_object(&opts, wasm, len, &res, err) < 0) {
		free(compile_failed_id);
		compile_failed_id = xstrdup(img->id);
		return kumo_error_wrap(err, "compile the image's module");
	}
	log_info("module %s of image %s: %s (%llu ms)", res.module_digest, img->id,
		 res.cache_hit ? "already compiled" : "compiled",
		 (unsigned long long)(res.ns / 1000000));
	kumo_build_result_free(&res);
	return 0;
}

static struct imagestore *store_of(struct cri_backend *b)
{
	return ((struct real *)b->priv)->store;
}

static char **strv_copy(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = xzalloc(sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void info_from_image(const struct imagestore_image *img, struct cri_image_info *info)
{
	info->id = xstrdup(img->id);
	info->repo_tags = strv_copy(img->repo_tags);
	info->repo_digests = strv_copy(img->repo_digests);
	info->size = img->size;
	info->pinned = img->pinned;
}

static int real_image_pull(struct cri_backend *b, const char *ref, const struct cri_auth *auth,
			   char **image_id, kumo_error_t *err)
{
	struct imagestore_auth ia = {0};
	if (auth) {
		ia.username = auth->username && *auth->username ? auth->username : NULL;
		ia.password = auth->password && *auth->password ? auth->password : NULL;
		ia.auth = auth->auth && *auth->auth ? auth->auth : NULL;
		ia.identity_token = auth->identity_token && *auth->identity_token ? auth->identity_token : NULL;
		ia.registry_token = auth->registry_token && *auth->registry_token ? auth->registry_token : NULL;
	}
	struct imagestore_image *img = NULL;
	if (imagestore_pull(store_of(b), ref, auth ? &ia : NULL, &img, err) < 0) {
		/* An image kumo cannot compile is not kept: ListImages would call it
		 * present and every CreateContainer would then fail. */
		if (compile_failed_id) {
			kumo_error_t rerr = NULL;
			if (imagestore_remove(store_of(b), compile_failed_id, true, &rerr) < 0)
				log_warn("drop image %s: %s", compile_failed_id, kumo_error_msg(rerr));
			kumo_error_free(&rerr);
			free(compile_failed_id);
			compile_failed_id = NULL;
		}
		return -1;
	}
	*image_id = xstrdup(img->id);
	imagestore_image_free(img);
	return 0;
}

static int real_image_list(struct cri_backend *b, struct cri_image_info **infos, size_t *n,
			   kumo_error_t *err)
{
	struct imagestore_image **list = NULL;
	if (imagestore_list(store_of(b), &list, err) < 0)
		return -1;
	size_t k = 0;
	while (list[k])
		k++;
	*infos = xzalloc(sizeof(**infos) * (k + 1));
	for (size_t i = 0; i < k; i++)
		info_from_image(list[i], &(*infos)[i]);
	*n = k;
	imagestore_image_list_free(list);
	return 0;
}

static int real_image_status(struct cri_backend *b, const char *ref, struct cri_image_info *info,
			     kumo_error_t *err)
{
	struct imagestore_image *img = NULL;
	if (imagestore_status(store_of(b), ref, &img, err) < 0)
		return -1;
	info_from_image(img, info);
	imagestore_image_free(img);
	return 0;
}

static int real_image_remove(struct cri_backend *b, const char *ref, kumo_error_t *err)
{
	return imagestore_remove(store_of(b), ref, true, err);
}

static int real_image_fs_info(struct cri_backend *b, struct cri_fs_usage *u, kumo_error_t *err)
{
	uint64_t bytes = 0, inodes = 0;
	if (imagestore_fs_usage(store_of(b), &bytes, &inodes, err) < 0)
		return -1;
	u->mountpoint = xstrdup(imagestore_root(store_of(b)));
	u->used_bytes = bytes;
	u->inodes_used = inodes;
	return 0;
}

/* ---- networking ------------------------------------------------------------------ */

/* Sets up the node network for cidr ("" or NULL: the current one) unless it already is;
 * returns 0 when ready, -1 with *err (and r->net_error) otherwise. */
static int node_net(struct real *r, const char *cidr, kumo_error_t *err)
{
	pthread_mutex_lock(&r->net_lock);
	if (cidr && *cidr && strcmp(cidr, r->net.cidr) != 0) {
		log_info("pod network: cidr `%s` replaces `%s` on bridge `%s`", cidr, r->net.cidr,
			 r->net.bridge);
		free((char *)r->net.cidr);
		r->net.cidr = xstrdup(cidr);
		r->net_ready = false;
	}
	int ret = 0;
	if (!r->net_ready) {
		uint64_t t0 = kumo_now_ns();
		kumo_error_t nerr = NULL;
		ret = vmm_net_node_setup(&r->net, &nerr);
		free(r->net_error);
		r->net_error = NULL;
		if (ret == 0) {
			r->net_ready = true;
			log_info("pod network ready: bridge `%s`, cidr `%s` (%.1f ms)", r->net.bridge,
				 r->net.cidr, (double)(kumo_now_ns() - t0) / 1e6);
		} else {
			r->net_error = xasprintf("node network (bridge `%s`, cidr `%s`) could not be "
						 "set up%s: %s", r->net.bridge, r->net.cidr,
						 geteuid() ? " (kumod is not root)" : "",
						 kumo_error_msg(nerr));
			log_warn("%s", r->net_error);
			ret = kumo_error(err, KUMO_E_UNAVAILABLE, "%s", r->net_error);
		}
		kumo_error_free(&nerr);
	}
	pthread_mutex_unlock(&r->net_lock);
	return ret;
}

static bool real_network_ready(struct cri_backend *b, char **reason, char **message)
{
	struct real *r = b->priv;
	kumo_error_t err = NULL;
	bool ready = node_net(r, NULL, &err) == 0; /* retried while not ready */
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

static int real_pod_net_setup(struct cri_backend *b, const struct cri_pod_spec *pod, char **ip,
			      kumo_error_t *err)
{
	struct real *r = b->priv;
	if (pod->host_network) {
		/* A VM cannot join the node's network namespace: no NIC, no IP. */
		log_info("pod %.12s asks for the host network: its VMs get no network device",
			 pod->id);
		*ip = xstrdup("");
		return 0;
	}
	uint64_t t0 = kumo_now_ns();
	if (node_net(r, pod->pod_cidr, err) < 0)
		return -1;
	struct vmm_port_mapping *pm = xzalloc(sizeof(*pm) * (pod->n_ports + 1));
	for (size_t i = 0; i < pod->n_ports; i++) {
		const struct cri_port *p = &pod->ports[i];
		if (p->container_port < 0 || p->container_port > 65535 || p->host_port < 0 ||
		    p->host_port > 65535) {
			free(pm);
			return kumo_error(err, KUMO_E_INVALID,
					  "port mapping %d -> %d is out of range (0..65535)",
					  p->host_port, p->container_port);
		}
		pm[i] = (struct vmm_port_mapping){.protocol = vmm_protocol(p->protocol),
						  .host_port = (uint16_t)p->host_port,
						  .container_port = (uint16_t)p->container_port,
						  .host_ip = p->host_ip};
	}
	struct vmm_net_config cfg;
	pthread_mutex_lock(&r->net_lock);
	cfg = r->net;
	cfg.cidr = xstrdup(r->net.cidr);
	pthread_mutex_unlock(&r->net_lock);
	struct vmm_net_pod np;
	int ret = vmm_net_pod_setup(&cfg, pod->id, pm, pod->n_ports, &np, err);
	free((char *)cfg.cidr);
	free(pm);
	if (ret < 0)
		return -1;
	*ip = xstrdup(np.ip);
	log_info("pod %.12s: address %s/%u on tap %s (%.1f ms)", pod->id, np.ip, np.prefix, np.tap,
		 (double)(kumo_now_ns() - t0) / 1e6);
	return 0;
}

static int real_pod_net_teardown(struct cri_backend *b, const char *pod_id, kumo_error_t *err)
{
	struct real *r = b->priv;
	struct vmm_net_config cfg;
	pthread_mutex_lock(&r->net_lock);
	cfg = r->net;
	cfg.cidr = xstrdup(r->net.cidr);
	pthread_mutex_unlock(&r->net_lock);
	int ret = vmm_net_pod_teardown(&cfg, pod_id, err); /* idempotent */
	free((char *)cfg.cidr);
	return ret;
}

/* The container's network: the pod's tap (its recorded setup) and the boot config's
 * "net" object. Returns 0 with *has false when the pod has no network. */
struct ctr_net {
	bool has;
	struct vmm_net_pod pod;
	struct vmm_net_attach attach;
	char address[24];
	char host_dns[2][16];
	const char *dnsv[2];
	char **listen;         /* "tcp:0.0.0.0:<port>", malloc'd */
	size_t nlisten;
	struct kumo_boot_net boot;
};

static void ctr_net_clear(struct ctr_net *cn)
{
	for (size_t i = 0; i < cn->nlisten; i++)
		free(cn->listen[i]);
	free(cn->listen);
	memset(cn, 0, sizeof(*cn));
}

static int ctr_net(struct real *r, const struct cri_container_spec *spec, struct ctr_net *cn,
		   kumo_error_t *err)
{
	memset(cn, 0, sizeof(*cn));
	if (!spec->pod_ip || !*spec->pod_ip)
		return 0;
	struct vmm_net_config cfg;
	pthread_mutex_lock(&r->net_lock);
	cfg = r->net;
	cfg.cidr = xstrdup(r->net.cidr);
	pthread_mutex_unlock(&r->net_lock);
	/* The pod's record: the tap exists again if something removed it. */
	int ret = vmm_net_pod_setup(&cfg, spec->pod_id, NULL, 0, &cn->pod, err);
	free((char *)cfg.cidr);
	if (ret < 0)
		return -1;
	if (strcmp(cn->pod.ip, spec->pod_ip) != 0)
		return kumo_error(err, KUMO_E_INTERNAL,
				  "pod `%.12s` has address %s but its network record says %s",
				  spec->pod_id, spec->pod_ip, cn->pod.ip);
	cn->has = true;
	cn->attach.tap = cn->pod.tap;
	memcpy(cn->attach.mac, cn->pod.mac, 6);
	snprintf(cn->address, sizeof(cn->address), "%s/%u", cn->pod.ip, cn->pod.prefix);
	cn->listen = xzalloc(sizeof(char *) * (spec->n_ports + 1));
	for (size_t i = 0; i < spec->n_ports; i++) {
		const struct cri_port *p = &spec->ports[i];
		if (p->container_port <= 0 || p->container_port > 65535)
			continue;
		if (p->protocol == 2) {
			log_warn("container %.12s: sctp port %d is not supported (tcp and udp are)",
				 spec->id, p->container_port);
			continue;
		}
		autofree char *l = xasprintf("%s:0.0.0.0:%d", p->protocol == 1 ? "udp" : "tcp",
					     p->container_port);
		bool dup = false;
		for (size_t k = 0; k < cn->nlisten; k++)
			dup |= strcmp(cn->listen[k], l) == 0;
		if (!dup) {
			cn->listen[cn->nlisten++] = l;
			l = NULL;
		}
	}
	size_t ndns = 0, nsearch = 0;
	while (spec->dns_servers && spec->dns_servers[ndns])
		ndns++;
	while (spec->dns_searches && spec->dns_searches[nsearch])
		nsearch++;
	const char *const *dns = spec->dns_servers;
	if (ndns == 0) {
		/* No DNSConfig (crictl without one): the node's resolvers, else the gateway. */
		ndns = vmm_net_host_dns(NULL, cn->host_dns, 2);
		if (ndns == 0) {
			memcpy(cn->host_dns[0], cn->pod.gateway, sizeof(cn->host_dns[0]));
			ndns = 1;
		}
		for (size_t i = 0; i < ndns; i++)
			cn->dnsv[i] = cn->host_dns[i];
		dns = cn->dnsv;
	}
	cn->boot = (struct kumo_boot_net){
		.has_mac = true, .address = cn->address, .gateway = cn->pod.gateway,
		.dns = dns, .ndns = ndns, .search = spec->dns_searches, .nsearch = nsearch,
		.hostname = spec->hostname && *spec->hostname ? spec->hostname : NULL,
		.listen = (const char *const *)cn->listen, .nlisten = cn->nlisten,
	};
	memcpy(cn->boot.mac, cn->pod.mac, 6);
	return 0;
}

/* ---- VMs ------------------------------------------------------------------------- */

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wall clock of a kumo_now_ns() instant. */
static int64_t wall_of(uint64_t mono_ns)
{
	uint64_t now = kumo_now_ns();
	return wall_ns() - (mono_ns && mono_ns <= now ? (int64_t)(now - mono_ns) : 0);
}

static void vmrec_free(struct vmrec *v)
{
	if (!v)
		return;
	free(v->name);
	free(v->dir);
	free(v);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *run_dir_of(struct real *r, const char *id)
{
	return xasprintf("%s/vms/%s", r->root, id);
}

static char *vm_name_of(const char *id)
{
	return xasprintf("kumo-%.40s", id);
}

/* Unlinks and returns id's record, or NULL (takes the lock). */
static struct vmrec *take_rec(struct real *r, const char *id)
{
	pthread_mutex_lock(&r->lock);
	struct vmrec **pp = &r->vms, *v = NULL;
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0) {
			v = *pp;
			*pp = v->next;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return v;
}

/* id's VM handle (records live until vm_remove, which cri never runs concurrently
 * with another call for the same container). */
static struct vmm_vm *vm_of(struct real *r, const char *id, int64_t *started_ns)
{
	struct vmm_vm *vm = NULL;
	pthread_mutex_lock(&r->lock);
	for (struct vmrec *v = r->vms; v; v = v->next)
		if (strcmp(v->id, id) == 0) {
			vm = v->vm;
			if (started_ns)
				*started_ns = v->started_ns;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return vm;
}

/* What ContainerStatus says about a VM's end. */
static void status_from_exit(const struct vmm_exit *x, int64_t started_ns, struct cri_vm_status *st)
{
	*st = (struct cri_vm_status){.state = CRI_VM_EXITED, .exit_code = x->code,
				     .started_at_ns = started_ns,
				     .finished_at_ns = wall_of(x->exited_ns)};
	switch (x->reason) {
	case VMM_EXIT_COMPLETED:
		st->reason = xstrdup("Completed");
		break;
	case VMM_EXIT_ERROR:
		st->reason = xstrdup("Error");
		break;
	case VMM_EXIT_TRAP:
		st->reason = xstrdup("Trap");
		st->message = xstrdup(x->trap);
		break;
	case VMM_EXIT_OOM:
		st->reason = xstrdup("OOMKilled");
		st->message = xstrdup(x->trap);
		break;
	case VMM_EXIT_PANIC:
		st->reason = xstrdup("KernelPanic");
		st->message = xasprintf("the kumo kernel failed: %s", x->trap);
		break;
	case VMM_EXIT_KILLED:
		st->reason = xstrdup("Error");
		st->message = xstrdup("the VM was powered off by kumod (stop)");
		break;
	case VMM_EXIT_CRASHED:
	default:
		/* Stopped by QEMU, panicked without a record, no sign of life, QEMU died:
		 * the VM's failure, not the app's. */
		st->reason = xstrdup("VMError");
		st->message = xstrdup(x->message[0] ? x->message
				      : "the VM stopped without an exit record");
		break;
	}
}

/* Writes one file the guest reported back to its mount's host file. */
static int write_back(const char *guest, const uint8_t *data, size_t len, void *ctx)
{
	json_t *cb = ctx; /* [{"guest": ..., "host": ...}] from vm.json, in mount order */
	const char *h = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(cb, i, e) { /* the last mount at a path is the one the app saw */
		const char *g = json_string_value(json_object_get(e, "guest"));
		if (g && strcmp(g, guest) == 0)
			h = json_string_value(json_object_get(e, "host"));
	}
	if (!h) {
		log_warn("the app reported file `%s`, which is no writable file mount of it", guest);
		return 0;
	}
	/* In place: kubelet reads this very file, and the mount may be a bind of it. */
	int fd = open(h, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		log_warn("file `%s` of the app: host file `%s`: %s (not written back)", guest, h,
			 strerror(errno));
		return 0;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("file `%s` of the app: write `%s`: %s", guest, h, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	log_info("file `%s` of the app: %zu bytes written back to `%s`", guest, len, h);
	return 0;
}

/* After a VM ended: what the app wrote to its writable file mounts goes back to the host
 * files (KUMO-FILE records), once, before the exit is reported, because kubelet reads
 * the termination-message file as soon as ContainerStatus says EXITED. */
static void copy_back_files(struct real *r, const char *id)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	autofree char *dir = run_dir_of(r, id);
	autofree char *done = xasprintf("%s/files.done", dir);
	autofree char *path = xasprintf("%s/vm.json", dir);
	autofree char *console = xasprintf("%s/console", dir);
	pthread_mutex_lock(&once);
	json_t *j = access(done, F_OK) == 0 ? NULL : json_load_file(path, 0, NULL);
	json_t *cb = j ? json_object_get(j, "copy_back") : NULL;
	if (json_array_size(cb) > 0) {
		kumo_error_t err = NULL;
		if (vmm_exit_files(console, write_back, cb, &err) < 0)
			log_warn("container %.12s: %s", id, kumo_error_msg(err));
		kumo_error_free(&err);
	}
	if (j) {
		int fd = open(done, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	json_decref(j);
	pthread_mutex_unlock(&once);
}

static void on_vmm_event(const struct vmm_event *ev, void *ctx)
{
	struct real *r = ctx;
	if (ev->type != VMM_EVENT_EXITED || !ev->vm)
		return;
	struct vmm_exit x;
	if (!vmm_vm_exit(ev->vm, &x))
		return;
	char id[65] = "";
	int64_t started = 0;
	const char *name = vmm_vm_name(ev->vm);
	pthread_mutex_lock(&r->lock);
	for (struct vmrec *v = r->vms; v; v = v->next)
		if (strcmp(v->name, name) == 0) {
			memcpy(id, v->id, sizeof(id));
			started = v->started_ns;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	if (!*id || !started)
		return; /* removed meanwhile, or never started (cri asks vm_status then) */
	copy_back_files(r, id);
	struct cri_vm_status st;
	status_from_exit(&x, started, &st);
	cri_backend_report_exit(r->b, id, &st);
	cri_vm_status_clear(&st);
}

static int ensure_vmm(struct real *r, kumo_error_t *err)
{
	int ret = 0;
	pthread_mutex_lock(&r->lock);
	if (!r->vmm) {
		struct vmm_config vc = {.backend = r->vm_backend, .on_event = on_vmm_event,
					.event_ctx = r, .accel = r->accel.accel};
		ret = vmm_open(&vc, &r->vmm, err);
		if (ret == 0)
			log_info("VMs run through %s (%s)", vmm_backend_name(r->vmm), r->accel.line);
		else
			kumo_error_wrap(err, "open the %s VM backend",
					r->vm_backend == VMM_BACKEND_LIBVIRT ? "libvirt" : "qemu");
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* vm.json: what a restarted kumod needs to find the VM again. */
static int save_vm_json(const char *dir, const struct vmm_spec *vs, const char *pod_id, pid_t pid,
			json_t *copy_back, kumo_error_t *err)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:I}", "name", vs->name,
			      "kernel", vs->kernel, "initrd", vs->initrd, "run_dir", vs->run_dir,
			      "log_path", vs->log_path ? vs->log_path : "", "memory_mib",
			      (int)vs->memory_mib, "vcpus", (int)vs->vcpus, "pid", (json_int_t)pid);
	if (vs->net) {
		const uint8_t *m = vs->net->mac;
		char mac[18];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		json_object_set_new(j, "tap", json_string(vs->net->tap));
		json_object_set_new(j, "mac", json_string(mac));
	}
	json_object_set_new(j, "pod_id", json_string(pod_id ? pod_id : ""));
	if (copy_back)
		json_object_set(j, "copy_back", copy_back);
	autofree char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	autofree char *path = xasprintf("%s/vm.json", dir);
	return kumo_write_file_atomic(path, text, strlen(text), 0600, err);
}

/* A mount kumo can copy into the VM: a directory, or a regular file (kubelet mounts
 * /etc/hosts and the termination-message file as files); symlinks on the host path are
 * followed. Sets *is_file. */
static int check_mount(const struct cri_mount *m, bool *is_file, kumo_error_t *err)
{
	struct stat sb;
	if (!m->container_path || m->container_path[0] != '/')
		return kumo_error(err, KUMO_E_INVALID, "mount `%s`: the container path must be absolute",
				  m->container_path ? m->container_path : "");
	if (stat(m->host_path, &sb) < 0)
		return kumo_error(err, KUMO_E_NOT_FOUND, "mount `%s`: host path `%s`: %s",
				  m->container_path, m->host_path, strerror(errno));
	*is_file = S_ISREG(sb.st_mode);
	if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
		return kumo_error(err, KUMO_E_UNSUPPORTED,
				  "mount `%s`: host path `%s` is neither a directory nor a regular "
				  "file (kumo copies files and directories into the VM; devices, "
				  "sockets and pipes cannot be)", m->container_path, m->host_path);
	if (*is_file && strspn(m->container_path, "/") == strlen(m->container_path))
		return kumo_error(err, KUMO_E_INVALID,
				  "mount `%s`: a file cannot be mounted at the root", m->container_path);
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* True when the image's unpacked rootfs holds anything besides the module itself. */
static bool rootfs_has_files(const char *rootfs, const char *module_path)
{
	DIR *d = opendir(rootfs);
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	size_t rl = strlen(rootfs);
	while (!found && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		/* The module at the top ("/app.wasm") is not a file to copy. */
		found = !(module_path && strncmp(module_path, rootfs, rl) == 0 &&
			  module_path[rl] == '/' && strcmp(module_path + rl + 1, e->d_name) == 0);
	}
	closedir(d);
	return found;
}

static int real_vm_create(struct cri_backend *b, const struct cri_container_spec *spec,
			  kumo_error_t *err)
{
	struct real *r = b->priv;
	struct vmm_spec vs = {0};
	if (vmm_resources_from_cri(spec->memory_limit_bytes, spec->cpu_quota, spec->cpu_period, 0,
				   (unsigned)sysconf(_SC_NPROCESSORS_ONLN), &vs, err) < 0)
		return -1;
	bool file_mounts = false;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		bool is_file = false;
		if (check_mount(&spec->mounts[i], &is_file, err) < 0)
			return -1;
		file_mounts |= is_file;
	}
	if (ensure_vmm(r, err) < 0)
		return -1;
	struct imagestore_image *img = NULL;
	const char *ref = spec->image_id && *spec->image_id ? spec->image_id : spec->image;
	if (imagestore_status(r->store, ref, &img, err) < 0)
		return -1;
	int ret = -1;
	struct kumo_image_result res = {0};
	bool built = false;
	autofree uint8_t *wasm = NULL;
	size_t len = 0;
	autofree char *dir = run_dir_of(r, spec->id);
	autofree char *initrd = xasprintf("%s/initrd.img", dir);
	autofree char *console = xasprintf("%s/console", dir);
	autofree char *name = vm_name_of(spec->id);
	size_t nargv = 0, nenv = 0, n;
	const char **argv = NULL, **env = NULL;
	struct kumo_rootfs_dir *dirs = NULL;
	struct kumo_boot_preopen *pre = NULL;
	struct kumo_boot_file *files = NULL;
	json_t *copy_back = json_array();
	struct vmrec *v = NULL;
	struct ctr_net cn = {0};
	autofree char *pwd = NULL;
	if (!img->module_path) {
		kumo_error(err, KUMO_E_INVALID, "image `%s` names no .wasm module", img->id);
		goto out;
	}
	if (kumo_read_file(img->module_path, MODULE_MAX_BYTES, &wasm, &len, err) < 0)
		goto out;
	struct kumo_build_options opts = {.root = r->root};
	if (kumo_build_image(&opts, wasm, len, &res, err) < 0) {
		kumo_error_wrap(err, "image `%s`", spec->image);
		goto out;
	}
	built = true;

	/* argv: the module's name, then command and args as the CRI gives them (the
	 * image's Entrypoint + Cmd when both are empty). */
	n = 0;
	while (spec->argv && spec->argv[n])
		n++;
	size_t ne = 0, nc = 0;
	while (img->entrypoint && img->entrypoint[ne])
		ne++;
	while (img->cmd && img->cmd[nc])
		nc++;
	argv = xzalloc(sizeof(char *) * (n + ne + nc + 2));
	argv[nargv++] = base_name(img->module_path);
	if (n)
		for (size_t i = 0; i < n; i++)
			argv[nargv++] = spec->argv[i];
	else {
		for (size_t i = 0; i < ne; i++)
			argv[nargv++] = img->entrypoint[i];
		for (size_t i = 0; i < nc; i++)
			argv[nargv++] = img->cmd[i];
	}
	/* env: the container's, then the image's it does not override. */
	size_t nie = 0, nse = 0;
	while (img->env && img->env[nie])
		nie++;
	while (spec->env && spec->env[nse])
		nse++;
	env = xzalloc(sizeof(char *) * (nie + nse + 1));
	for (size_t i = 0; i < nse; i++)
		env[nenv++] = spec->env[i];
	for (size_t i = 0; i < nie; i++) {
		const char *eq = strchr(img->env[i], '=');
		size_t kl = eq ? (size_t)(eq - img->env[i]) : strlen(img->env[i]);
		bool overridden = false;
		for (size_t k = 0; k < nse; k++)
			overridden |= strncmp(spec->env[k], img->env[i], kl) == 0 && spec->env[k][kl] == '=';
		if (!overridden)
			env[nenv++] = img->env[i];
	}
	/* WASI has no working directory: PWD says which one the container asked for (the
	 * image's WorkingDir when the CRI gives none), for apps that honour it. */
	const char *wd = spec->working_dir && *spec->working_dir ? spec->working_dir
			 : img->working_dir && *img->working_dir ? img->working_dir : NULL;
	bool has_pwd = false;
	for (size_t i = 0; i < nenv; i++)
		has_pwd |= strncmp(env[i], "PWD=", 4) == 0;
	if (wd && !has_pwd) {
		pwd = xasprintf("PWD=%s", wd);
		env = xrealloc(env, sizeof(char *) * (nenv + 2));
		env[nenv++] = pwd;
		env[nenv] = NULL;
	}
	/* The rootfs: the image's files besides the module (if it carries any) at "/",
	 * then each mount at its container path; all copies made now. "/" is preopened
	 * when anything but directory mounts is in it (image files, file mounts such as
	 * /etc/hosts), so absolute and (wasi-libc resolves them from "/") relative paths
	 * reach the files; each directory mount is preopened at its path as well. A file
	 * cannot be a preopen: it is reached through "/". */
	bool image_files = img->rootfs_path && rootfs_has_files(img->rootfs_path, img->module_path);
	size_t nd = 0, np = 0;
	dirs = xzalloc(sizeof(*dirs) * (spec->n_mounts + 2));
	pre = xzalloc(sizeof(*pre) * (spec->n_mounts + 2));
	if (image_files)
		dirs[nd++] = (struct kumo_rootfs_dir){img->rootfs_path, ""};
	if (image_files || file_mounts)
		pre[np++] = (struct kumo_boot_preopen){"/", "/", false};
	/* A file mount is a "files" entry of the boot config: pinned, read-only when the
	 * mount is, and copied back to the host file at exit when writable (the
	 * termination-message file kubelet reads after the exit). */
	size_t nf = 0;
	files = xzalloc(sizeof(*files) * (spec->n_mounts + 1));
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct cri_mount *m = &spec->mounts[i];
		struct stat sb;
		dirs[nd++] = (struct kumo_rootfs_dir){m->host_path, m->container_path};
		/* A later mount at the same path, or a directory above it, shadows an
		 * earlier file mount. */
		size_t cl = strlen(m->container_path);
		for (size_t k = nf; k-- > 0;)
			if (strncmp(files[k].path, m->container_path, cl) == 0 &&
			    (files[k].path[cl] == 0 || files[k].path[cl] == '/' ||
			     m->container_path[cl - 1] == '/'))
				files[k] = files[--nf];
		if (stat(m->host_path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			pre[np++] = (struct kumo_boot_preopen){m->container_path, m->container_path,
							       m->readonly};
			continue;
		}
		files[nf++] = (struct kumo_boot_file){m->container_path, m->readonly, !m->readonly};
		if (!m->readonly)
			json_array_append_new(copy_back, json_pack("{s:s, s:s}", "guest",
								   m->container_path, "host",
								   m->host_path));
	}
	if (ctr_net(r, spec, &cn, err) < 0)
		goto out;
	struct kumo_boot_config cfg = {.args = argv, .nargs = nargv, .env = env, .nenv = nenv,
				       .preopens = pre, .npreopens = np,
				       .net = cn.has ? &cn.boot : NULL, .files = files, .nfiles = nf};
	if (kumo_mkdir_p(dir, 0700, err) < 0 ||
	    kumo_write_initrd(initrd, &cfg, dirs, nd, err) < 0)
		goto out;
	if (spec->log_path && *spec->log_path) {
		autofree char *logdir = xstrdup(spec->log_path);
		char *slash = strrchr(logdir, '/');
		if (slash && slash != logdir) {
			*slash = 0;
			if (kumo_mkdir_p(logdir, 0755, err) < 0)
				goto out;
		}
	}
	vs.name = name;
	vs.kernel = res.image_path;
	vs.initrd = initrd;
	vs.run_dir = console;
	vs.stdout_fd = -1;
	vs.stderr_fd = -1;
	vs.log_path = spec->log_path && *spec->log_path ? spec->log_path : NULL;
	vs.net = cn.has ? &cn.attach : NULL;
	if (save_vm_json(dir, &vs, spec->pod_id, 0, copy_back, err) < 0)
		goto out;

	v = xzalloc(sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", spec->id);
	snprintf(v->pod_id, sizeof(v->pod_id), "%s", spec->pod_id);
	v->net = cn.has;
	v->name = xstrdup(name);
	v->dir = xstrdup(dir);
	pthread_mutex_lock(&r->lock);
	/* One NIC per pod: another VM of the pod that has not exited holds it. */
	for (struct vmrec *o = r->vms; cn.has && o; o = o->next)
		if (o->net && strcmp(o->pod_id, spec->pod_id) == 0 &&
		    (!o->vm || vmm_vm_state(o->vm) != VMM_STATE_EXITED)) {
			pthread_mutex_unlock(&r->lock);
			kumo_error(err, CRI_E_PRECONDITION,
				   "pod `%.12s` has one network interface and container `%.12s` "
				   "holds it: kumo runs each container as its own VM, so a pod's "
				   "containers take the pod's address in turn (init containers, "
				   "then one app container), not at the same time",
				   spec->pod_id, o->id);
			vmrec_free(v);
			v = NULL;
			goto out;
		}
	v->next = r->vms;
	r->vms = v;
	pthread_mutex_unlock(&r->lock);
	struct vmm_vm *vm = NULL;
	if (vmm_create(r->vmm, &vs, &vm, err) < 0) {
		vmrec_free(take_rec(r, spec->id));
		goto out;
	}
	pthread_mutex_lock(&r->lock);
	v->vm = vm;
	pthread_mutex_unlock(&r->lock);
	kumo_error_t jerr = NULL;
	if (save_vm_json(dir, &vs, spec->pod_id, vmm_vm_pid(vm), copy_back, &jerr) < 0)
		log_warn("container %.12s: %s", spec->id, kumo_error_msg(jerr));
	kumo_error_free(&jerr);
	log_info("container %.12s: VM %s created (%u MiB, %u vCPU, image %s%s%s%s)", spec->id,
		 name, vs.memory_mib, vs.vcpus, res.image_path, res.cache_hit ? ", cached" : "",
		 cn.has ? ", address " : "", cn.has ? cn.address : "");
	ret = 0;
out:
	if (ret < 0)
		remove_tree(dir);
	free(argv);
	free(env);
	free(dirs);
	free(pre);
	free(files);
	json_decref(copy_back);
	ctr_net_clear(&cn);
	if (built)
		kumo_image_result_free(&res);
	imagestore_image_free(img);
	return ret;
}

static int real_vm_start(struct cri_backend *b, const char *id, kumo_error_t *err)
{
	struct real *r = b->priv;
	pthread_mutex_lock(&r->lock);
	struct vmm_vm *vm = NULL;
	for (struct vmrec *v = r->vms; v; v = v->next)
		if (strcmp(v->id, id) == 0) {
			vm = v->vm;
			v->started_ns = wall_ns(); /* before the resume: an exit may race it */
			break;
		}
	pthread_mutex_unlock(&r->lock);
	if (!vm)
		return kumo_error(err, KUMO_E_NOT_FOUND, "container `%.12s` has no VM (kumod restarted?)",
				  id);
	return vmm_start(vm, err);
}

static int real_vm_stop(struct cri_backend *b, const char *id, int64_t timeout_s, kumo_error_t *err)
{
	struct vmm_vm *vm = vm_of(b->priv, id, NULL);
	if (!vm)
		return 0; /* nothing of ours runs */
	int64_t ms = timeout_s > 3600 ? 3600000 : timeout_s * 1000;
	return vmm_stop(vm, (int)ms, err);
}

/* Kills the QEMU a previous kumod started for a container (one it could not re-attach to). */
static void kill_orphan(const char *dir)
{
	autofree char *path = xasprintf("%s/vm.json", dir);
	json_t *j = json_load_file(path, 0, NULL);
	if (!j)
		return;
	pid_t pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	const char *name = json_string_value(json_object_get(j, "name"));
	if (pid > 1 && name) {
		autofree char *cmdpath = xasprintf("/proc/%d/cmdline", (int)pid);
		autofree uint8_t *cmd = NULL;
		size_t len = 0;
		kumo_error_t e = NULL;
		if (kumo_read_file(cmdpath, 1 << 20, &cmd, &len, &e) == 0 &&
		    memmem(cmd, len, name, strlen(name))) {
			log_info("killing QEMU %d of VM %s left by a previous kumod", (int)pid, name);
			kill(pid, SIGKILL);
		}
		kumo_error_free(&e);
	}
	json_decref(j);
}

static int real_vm_remove(struct cri_backend *b, const char *id, kumo_error_t *err)
{
	struct real *r = b->priv;
	struct vmrec *v = take_rec(r, id);
	autofree char *dir = run_dir_of(r, id);
	if (v)
		vmm_vm_free(v->vm); /* destroys it if it still runs */
	else if (r->vm_backend == VMM_BACKEND_QEMU)
		kill_orphan(dir);
	vmrec_free(v);
	remove_tree(dir);
	return 0;
}

/* After a kumod restart: finds the VM of id again (libvirt), or says why not. */
static int recover(struct real *r, const char *id, struct cri_vm_status *st, kumo_error_t *err)
{
	autofree char *dir = run_dir_of(r, id);
	autofree char *path = xasprintf("%s/vm.json", dir);
	json_t *j = json_load_file(path, 0, NULL);
	if (!j) {
		*st = (struct cri_vm_status){.state = CRI_VM_GONE};
		return 0;
	}
	int ret = 0;
	if (ensure_vmm(r, err) < 0) {
		ret = -1;
		goto out;
	}
	const char *lp = json_string_value(json_object_get(j, "log_path"));
	struct vmm_spec vs = {
		.name = json_string_value(json_object_get(j, "name")),
		.kernel = json_string_value(json_object_get(j, "kernel")),
		.initrd = json_string_value(json_object_get(j, "initrd")),
		.run_dir = json_string_value(json_object_get(j, "run_dir")),
		.log_path = lp && *lp ? lp : NULL,
		.memory_mib = (unsigned)json_integer_value(json_object_get(j, "memory_mib")),
		.vcpus = (unsigned)json_integer_value(json_object_get(j, "vcpus")),
		.stdout_fd = -1, .stderr_fd = -1,
	};
	struct vmm_net_attach att = {0};
	const char *tap = json_string_value(json_object_get(j, "tap"));
	const char *mac = json_string_value(json_object_get(j, "mac"));
	unsigned m[6];
	if (tap && mac && sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
				 &m[5]) == 6) {
		att.tap = tap;
		for (int i = 0; i < 6; i++)
			att.mac[i] = (uint8_t)m[i];
		vs.net = &att;
	}
	if (!vs.name || !vs.kernel || !vs.run_dir) {
		ret = kumo_error(err, KUMO_E_INTERNAL, "`%s` is incomplete", path);
		goto out;
	}
	struct vmm_vm *vm = NULL;
	kumo_error_t aerr = NULL;
	if (vmm_attach(r->vmm, &vs, &vm, &aerr) < 0) {
		if (r->vm_backend != VMM_BACKEND_QEMU) {
			*err = aerr;
			ret = -1;
			goto out;
		}
		/* A QEMU kumod cannot drive (started by an older kumo): it goes, and the
		 * container ends, so that kubelet starts it again on a VM kumod owns. */
		log_warn("container %.12s: %s", id, kumo_error_msg(aerr));
		kumo_error_free(&aerr);
		kill_orphan(dir);
		*st = (struct cri_vm_status){.state = CRI_VM_EXITED, .exit_code = 255,
					     .finished_at_ns = wall_ns()};
		st->reason = xstrdup("Unknown");
		st->message = xstrdup("kumod restarted and could not re-attach to the container's "
				      "VM, so it was stopped");
		goto out;
	}
	struct vmrec *v = xzalloc(sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", id);
	const char *pid_s = json_string_value(json_object_get(j, "pod_id"));
	snprintf(v->pod_id, sizeof(v->pod_id), "%s", pid_s ? pid_s : "");
	v->net = vs.net != NULL;
	v->name = xstrdup(vs.name);
	v->dir = xstrdup(dir);
	v->vm = vm;
	v->started_ns = vmm_vm_state(vm) == VMM_STATE_CREATED ? 0 : wall_ns();
	pthread_mutex_lock(&r->lock);
	v->next = r->vms;
	r->vms = v;
	pthread_mutex_unlock(&r->lock);
	log_info("container %.12s: re-attached to VM %s", id, vs.name);
	*st = (struct cri_vm_status){.state = CRI_VM_GONE};
	ret = 1; /* the caller reads the state from the handle */
out:
	json_decref(j);
	return ret;
}

static int real_vm_status(struct cri_backend *b, const char *id, struct cri_vm_status *st,
			  kumo_error_t *err)
{
	struct real *r = b->priv;
	int64_t started = 0;
	struct vmm_vm *vm = vm_of(r, id, &started);
	if (!vm) {
		int rr = recover(r, id, st, err);
		if (rr <= 0)
			return rr;
		vm = vm_of(r, id, &started);
	}
	*st = (struct cri_vm_status){.started_at_ns = started};
	struct vmm_exit x;
	switch (vmm_vm_state(vm)) {
	case VMM_STATE_CREATED:
		st->state = CRI_VM_CREATED;
		break;
	case VMM_STATE_RUNNING:
	case VMM_STATE_STOPPING:
		st->state = CRI_VM_RUNNING;
		break;
	default:
		if (vmm_vm_exit(vm, &x)) {
			copy_back_files(r, id);
			status_from_exit(&x, started, st);
		} else
			st->state = CRI_VM_GONE;
		break;
	}
	return 0;
}

static int real_vm_stats(struct cri_backend *b, const char *id, struct cri_vm_stats *stats,
			 kumo_error_t *err)
{
	struct vmm_vm *vm = vm_of(b->priv, id, NULL);
	if (!vm)
		return kumo_error(err, KUMO_E_NOT_FOUND, "container `%.12s` has no VM", id);
	struct vmm_stats vst = {0};
	if (vmm_vm_stats(vm, &vst, err) < 0)
		return -1;
	*stats = (struct cri_vm_stats){.timestamp_ns = wall_ns(), .cpu_usage_core_ns = vst.cpu_ns,
				       .memory_working_set = vst.memory_bytes,
				       .memory_rss = vst.memory_bytes};
	return 0;
}

static int real_log_reopen(struct cri_backend *b, const char *id, kumo_error_t *err)
{
	struct vmm_vm *vm = vm_of(b->priv, id, NULL);
	return vm ? vmm_vm_reopen_log(vm, err) : 0;
}

static void real_destroy(struct cri_backend *b)
{
	struct real *r = b->priv;
	if (!r)
		return;
	/* VMs keep running: let go of them (a restarted kumod re-attaches). */
	while (r->vms) {
		struct vmrec *v = r->vms;
		r->vms = v->next;
		vmm_vm_detach(v->vm);
		vmrec_free(v);
	}
	vmm_close(r->vmm);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->net_lock);
	free((char *)r->net.bridge);
	free((char *)r->net.cidr);
	free((char *)r->net.state_dir);
	free(r->net_error);
	imagestore_close(r->store);
	free(r->root);
	free(r);
	b->priv = NULL;
}

static const char *real_accel(struct cri_backend *b)
{
	struct real *r = b->priv;
	return r->accel.line + strlen("accel: ");
}

static const struct cri_backend_ops real_ops = {
	.name = "real",
	.image_pull = real_image_pull,
	.image_list = real_image_list,
	.image_status = real_image_status,
	.image_remove = real_image_remove,
	.image_fs_info = real_image_fs_info,
	.network_ready = real_network_ready,
	.pod_net_setup = real_pod_net_setup,
	.pod_net_teardown = real_pod_net_teardown,
	.vm_create = real_vm_create,
	.vm_start = real_vm_start,
	.vm_stop = real_vm_stop,
	.vm_remove = real_vm_remove,
	.vm_status = real_vm_status,
	.vm_stats = real_vm_stats,
	.log_reopen = real_log_reopen,
	.accel = real_accel,
	.destroy = real_destroy,
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

int cri_backend_real_new(const char *root, const char *const *insecure, const char *vm_backend,
			 const struct cri_net_options *net, const char *accel,
			 struct cri_backend **out, kumo_error_t *err)
{
	enum vmm_accel want = VMM_ACCEL_AUTO;
	if (accel && vmm_accel_parse(accel, &want, err) < 0)
		return -1;
	enum vmm_backend vb;
	if (!vm_backend || strcmp(vm_backend, "qemu") == 0)
		vb = VMM_BACKEND_QEMU;
	else if (strcmp(vm_backend, "libvirt") == 0)
		vb = VMM_BACKEND_LIBVIRT;
	else
		return kumo_error(err, KUMO_E_INVALID, "vm backend `%s`: want qemu or libvirt",
				  vm_backend);
	struct cri_backend *b = xzalloc(sizeof(*b));
	b->ops = &real_ops;
	b->root = xstrdup(root);
	size_t n = 0;
	while (insecure && insecure[n])
		n++;
	b->insecure_registries = xzalloc(sizeof(char *) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		b->insecure_registries[i] = xstrdup(insecure[i]);
		if (strcmp(insecure[i], "*") == 0)
			b->insecure_registry_all = true;
	}
	struct real *r = xzalloc(sizeof(*r));
	r->root = xstrdup(root);
	r->vm_backend = vb;
	r->b = b;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->net_lock, NULL);
	r->net.bridge = xstrdup(net && net->bridge ? net->bridge : VMM_NET_DEFAULT_BRIDGE);
	r->net.cidr = kubelet_cidr(root);
	if (!r->net.cidr)
		r->net.cidr = xstrdup(net && net->pod_cidr ? net->pod_cidr : VMM_NET_DEFAULT_CIDR);
	r->net.state_dir = xasprintf("%s/" VMM_NET_STATE_SUBDIR, root);
	b->priv = r;
	/* Once, at start: every VM of this kumod runs with the same accelerator, and the
	 * start-up log says which and why. The probe image lands in our build cache. */
	if (cri_accel_choose(want, NULL, NULL, root, &r->accel, err) < 0) {
		cri_backend_free(b);
		return kumo_error_wrap(err, "choose the VM accelerator");
	}
	if (r->accel.fell_back)
		log_warn("%s: VMs run without hardware acceleration, slower", r->accel.line);
	else
		log_info("%s", r->accel.line);
	/* No --insecure-registry: imagestore's default (localhost, 127.0.0.1, ::1). */
	struct imagestore_config icfg = {
		.root = root,
		.insecure_registries = n ? (const char *const *)b->insecure_registries : NULL,
		.on_pulled = compile_pulled,
		.on_pulled_ctx = r,
	};
	if (imagestore_open(&icfg, &r->store, err) < 0) {
		cri_backend_free(b);
		return kumo_error_wrap(err, "open the image store");
	}
	/* The node network now, so the first pod does not pay for it; a failure here is
	 * reported by Status (NetworkReady) and retried. */
	kumo_error_t nerr = NULL;
	node_net(r, NULL, &nerr);
	kumo_error_free(&nerr);
	*out = b;
	return 0;
}
