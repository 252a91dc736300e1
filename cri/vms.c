/* cri/vms.c - the VM stage: a container's VM made (builder_prepare, then vmm_create
 * paused), started, stopped, removed, watched; and the CRI-to-VM resource mapping.
 *
 * CreateContainer creates the VM without waiting for QEMU to build the machine
 * (vmm_create_async): StartContainer, which kubelet sends right after, waits for that.
 *
 * A container's VM is named after its id ("kumo-" + the id's first 40 hex digits: a
 * pure function, so this stage keeps no list of its own: vmm's registry is the one)
 * and its run directory is <root>/vms/<name>/: the initrd (builder), the raw console
 * streams and vm.json (vmm: what a restarted kumod needs to find the VM again by its
 * name), and `staged` (here: the staging directory its mounts are bound in). The
 * container's network is its pod's NIC (cri/pod_network.c: a tap in the pod's network
 * namespace, which vmm takes from there) with a "net" boot config: address, gateway,
 * MTU, DNS and searches from the pod's DNSConfig (else its network's), hostname, the
 * pod's container ports as listening sockets. vmm lets one VM at a time hold a pod's
 * tap: init containers in turn, then the app container.
 *
 * Pod mounts are live (virtio-9p), never copied: each mount's host path (a volume
 * directory, or a file such as kubelet's /etc/hosts and termination-message file) is
 * bind-mounted at CreateContainer into the pod's staging directory <root>/mounts/<pod>
 * as entry "<id's first 40 hex digits>-<index>" of its ro/ or rw/ side (vmm/vmm.h "A
 * pod's staged mounts"), and the VM shares the sides it has entries in (tags
 * VMM_STAGE_TAG_RO/RW) and mounts each entry at its container path. The app reads and
 * writes the host's files as it goes (a ConfigMap update, kubelet swapping `..data`, is
 * seen at the next open; the termination message is in kubelet's file as it is
 * written). A container's entries are unbound as soon as its VM is gone (exit, stop,
 * remove, or found gone after a restart), and the pod's directory goes with its last
 * entry; at start, entries of containers that have no run directory any more are swept.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder.h"
#include "cri/accel_choice.h"
#include "cri/backend.h"
#include "vmm/vmm.h"

struct vms {
	char *root;             /* kumod's state directory */
	char *state_dir;        /* <root>/vms: the VMs' run directories */
	enum vmm_backend vm_backend;
	struct cri_accel accel; /* resolved at start: what VMs run with and why */
	char *mounts_dir;       /* <root>/mounts: the pods' staging directories */
	pthread_mutex_t lock;   /* vmm, while it opens */
	pthread_mutex_t stage_lock; /* binds and unbinds in the staging directories */
	struct vmm *vmm;        /* opened at the first VM operation */
	struct cri_vms *stage;  /* for exit reports */
};

static struct vms *vms_of(struct cri_vms *s)
{
	return s->priv;
}

/* The VM of container id: "kumo-" + its first 40 hex digits. */
static char *vm_name_of(const char *id)
{
	return xasprintf("kumo-%.40s", id);
}

static char *run_dir_of(struct vms *v, const char *id)
{
	return xasprintf("%s/kumo-%.40s", v->state_dir, id);
}

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

/* ---- resources ---------------------------------------------------------------------- */

int cri_vm_size_of(int64_t memory_limit_bytes, int64_t cpu_quota, int64_t cpu_period,
		   int64_t cpu_shares, unsigned host_cpus, struct cri_vm_size *out,
		   kumo_error_t *err)
{
	if (memory_limit_bytes < 0 || cpu_quota < -1 || cpu_period < 0 || cpu_shares < 0)
		return kumo_error(err, KUMO_E_INVALID,
				  "negative resource value (memory %lld, quota %lld, period %lld, "
				  "shares %lld)",
				  (long long)memory_limit_bytes, (long long)cpu_quota,
				  (long long)cpu_period, (long long)cpu_shares);
	if (host_cpus < 1)
		host_cpus = 1;
	struct cri_vm_size z = {.memory_mib = VMM_MEMORY_DEFAULT_MIB, .vcpus = 1};
	if (memory_limit_bytes > 0) {
		int64_t m = memory_limit_bytes / (1024 * 1024);
		if (m < VMM_MEMORY_FLOOR_MIB)
			return kumo_error(err, KUMO_E_INVALID,
					  "memory limit %lld bytes is below the %d MiB the kernel "
					  "needs to boot",
					  (long long)memory_limit_bytes, VMM_MEMORY_FLOOR_MIB);
		z.memory_mib = m > (int64_t)UINT32_MAX ? UINT32_MAX : (unsigned)m;
	}
	if (cpu_quota > 0) {
		int64_t period = cpu_period > 0 ? cpu_period : 100000;
		if (period < 1000 || period > 1000000)
			return kumo_error(err, KUMO_E_INVALID,
					  "cpu period %lld us is outside 1000..1000000",
					  (long long)period);
		int64_t n = (cpu_quota + period - 1) / period;
		if (n > (int64_t)host_cpus)
			n = host_cpus;
		if (n > VMM_VCPUS_MAX)
			n = VMM_VCPUS_MAX;
		z.vcpus = (unsigned)(n < 1 ? 1 : n);
		z.cpu_period_us = (uint64_t)period;
		/* libvirt's <quota> applies per vCPU thread: spread the pod's quota. */
		z.cpu_quota_us = cpu_quota / z.vcpus;
		if (z.cpu_quota_us < 1000)
			z.cpu_quota_us = 1000;
	}
	if (cpu_shares > 0)
		z.cpu_shares = (uint64_t)(cpu_shares < 2 ? 2 : cpu_shares > 262144 ? 262144 : cpu_shares);
	*out = z;
	return 0;
}

/* ---- staged mounts --------------------------------------------------------------- */

/* "<40 hex digits>-<index>" and its NUL fit. */
#define ENTRY_MAX 64

static char *stage_dir_of(struct vms *v, const char *pod_id)
{
	return xasprintf("%s/%s", v->mounts_dir, pod_id);
}

/* The entries of container id: "<its first 40 hex digits>-" (the VM's name's part). */
static char *entry_prefix_of(const char *id)
{
	return xasprintf("%.40s-", id);
}

/* Unbinds what container id has staged (its VM is gone), and removes its pod's staging
 * directory when that was the last. The run directory's `staged` names the directory. */
static void unstage(struct vms *v, const char *id)
{
	autofree char *dir = run_dir_of(v, id);
	autofree char *rec = xasprintf("%s/staged", dir);
	autofree uint8_t *stage = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(rec, 4096, &stage, &len, &err) < 0) {
		kumo_error_free(&err); /* nothing staged */
		return;
	}
	autofree char *prefix = entry_prefix_of(id);
	pthread_mutex_lock(&v->stage_lock);
	int n = vmm_stage_unbind((char *)stage, prefix, &err);
	vmm_stage_remove((char *)stage);
	pthread_mutex_unlock(&v->stage_lock);
	if (n < 0)
		log_warn("container %.12s: %s", id, kumo_error_msg(err));
	else if (n > 0)
		log_debug("container %.12s: %d staged mounts unbound", id, n);
	kumo_error_free(&err);
	unlink(rec);
}

/* Binds the container's mounts into its pod's staging directory (mounts[i].entry set by
 * the caller); *ro and *rw say which sides it uses. On error nothing stays bound. */
static int stage_mounts(struct vms *v, const struct cri_container_spec *spec,
			const struct builder_mount *mounts, const char *stage, const char *run_dir,
			bool *ro, bool *rw, kumo_error_t *err)
{
	*ro = *rw = false;
	if (!spec->n_mounts)
		return 0;
	autofree char *rec = xasprintf("%s/staged", run_dir);
	if (kumo_write_file_replace(rec, stage, strlen(stage), 0600, err) < 0)
		return -1;
	int ret = 0;
	pthread_mutex_lock(&v->stage_lock);
	for (size_t i = 0; i < spec->n_mounts && ret == 0; i++) {
		ret = vmm_stage_bind(stage, mounts[i].entry, mounts[i].host_path, mounts[i].readonly,
				     err);
		if (ret < 0)
			kumo_error_wrap(err, "mount `%s`", mounts[i].guest_path);
		*ro |= mounts[i].readonly;
		*rw |= !mounts[i].readonly;
	}
	pthread_mutex_unlock(&v->stage_lock);
	if (ret < 0)
		unstage(v, spec->id);
	return ret;
}

/* A staged entry is kept when its container still has a run directory. */
static bool entry_has_vm(const char *entry, void *ctx)
{
	struct vms *v = ctx;
	autofree char *dir = run_dir_of(v, entry); /* the first 40 hex digits name it */
	return strlen(entry) > 40 && entry[40] == '-' && access(dir, F_OK) == 0;
}

/* At start: the entries a crash or a missed exit left behind. */
static void sweep_stages(struct vms *v)
{
	DIR *d = opendir(v->mounts_dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		autofree char *stage = xasprintf("%s/%s", v->mounts_dir, e->d_name);
		kumo_error_t err = NULL;
		int n = vmm_stage_sweep(stage, entry_has_vm, v, &err);
		if (n < 0)
			log_warn("sweep `%s`: %s", stage, kumo_error_msg(err));
		else if (n > 0)
			log_info("pod %.12s: %d staged mounts of gone containers unbound", e->d_name, n);
		kumo_error_free(&err);
		vmm_stage_remove(stage);
	}
	closedir(d);
}

/* The status of an ended VM: its exit, and when. */
static void exited_status(struct vmm_vm *vm, struct cri_vm_status *st)
{
	uint64_t at = 0;
	*st = (struct cri_vm_status){.state = CRI_VM_EXITED};
	vmm_vm_exit(vm, &st->exit, &at);
	st->finished_at_ns = wall_of(at);
}

static void on_vmm_event(const struct vmm_event *ev, void *ctx)
{
	struct vms *v = ctx;
	if (ev->type != VMM_EVENT_EXITED || !ev->vm || !vmm_vm_started(ev->vm))
		return; /* one never started is reported by vms->status when cri asks */
	const char *name = vmm_vm_name(ev->vm);
	if (strncmp(name, "kumo-", 5) != 0)
		return;
	const char *id = name + 5; /* the container's id, or its unique prefix */
	unstage(v, id);
	struct cri_vm_status st;
	exited_status(ev->vm, &st);
	cri_vms_report_exit(v->stage, id, &st);
}

static int ensure_vmm(struct vms *v, kumo_error_t *err)
{
	int ret = 0;
	pthread_mutex_lock(&v->lock);
	if (!v->vmm) {
		struct vmm_config vc = {.backend = v->vm_backend, .on_event = on_vmm_event,
					.event_ctx = v, .accel = v->accel.accel,
					.state_dir = v->state_dir};
		ret = vmm_open(&vc, &v->vmm, err);
		if (ret == 0)
			log_info("VMs run through %s (%s)", vmm_backend_name(v->vmm), v->accel.line);
		else
			kumo_error_wrap(err, "open the %s VM backend",
					v->vm_backend == VMM_BACKEND_LIBVIRT ? "libvirt" : "qemu");
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* ---- create -------------------------------------------------------------------------- */

/* The boot network of a container: its pod's NIC, the pod's DNS (else the NIC's
 * fallback resolvers), hostname, and the pod's container ports as listening sockets.
 * Strings live in *bn's owner `ln` (free with listen_free). */
struct listen_list {
	char **v;
	size_t n;
};

static void listen_free(struct listen_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void boot_net(const struct cri_container_spec *spec, struct listen_list *ln,
		     const char **dnsv, const char **searchv, struct builder_net *bn)
{
	const struct cri_pod_nic *nic = spec->nic;
	ln->v = xzalloc(sizeof(char *) * (spec->n_ports + 1));
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
		for (size_t k = 0; k < ln->n; k++)
			dup |= strcmp(ln->v[k], l) == 0;
		if (!dup) {
			ln->v[ln->n++] = l;
			l = NULL;
		}
	}
	/* The pod's DNSConfig wins over what its network gives (cri/pod_network.c: the CNI
	 * result's, else the node's resolvers), list by list. */
	size_t ndns = 0, nsearch = 0;
	while (spec->dns_servers && spec->dns_servers[ndns])
		ndns++;
	while (spec->dns_searches && spec->dns_searches[nsearch])
		nsearch++;
	const char *const *dns = spec->dns_servers;
	if (ndns == 0) {
		for (size_t i = 0; i < nic->ndns; i++)
			dnsv[i] = nic->dns[i];
		ndns = nic->ndns;
		dns = dnsv;
	}
	const char *const *search = spec->dns_searches;
	if (nsearch == 0) {
		for (size_t i = 0; i < nic->nsearch; i++)
			searchv[i] = nic->search[i];
		nsearch = nic->nsearch;
		search = searchv;
	}
	*bn = (struct builder_net){
		.has_mac = true, .address = nic->address,
		.gateway = *nic->gateway ? nic->gateway : NULL, .mtu = nic->mtu,
		.dns = dns, .ndns = ndns, .search = search, .nsearch = nsearch,
		.hostname = spec->hostname && *spec->hostname ? spec->hostname : NULL,
		.listen = (const char *const *)ln->v, .nlisten = ln->n,
	};
	memcpy(bn->mac, nic->mac, 6);
}

static int mkdir_for_log(const char *log_path, kumo_error_t *err)
{
	if (!log_path || !*log_path)
		return 0;
	autofree char *logdir = xstrdup(log_path);
	char *slash = strrchr(logdir, '/');
	if (!slash || slash == logdir)
		return 0;
	*slash = 0;
	return kumo_mkdir_p(logdir, 0755, err);
}

/* ---- snapshots ------------------------------------------------------------------------ */

/* A container's VM from a verified snapshot (its memory, vCPUs and devices are the
 * snapshot's; the NIC is the new pod's tap, with the guest's own MAC). */
static int vms_restore(struct vms *v, const struct cri_container_spec *spec, unsigned vcpus,
		       kumo_error_t *err)
{
	(void)vcpus;
	autofree char *dir = run_dir_of(v, spec->id);
	autofree char *name = vm_name_of(spec->id);
	struct vmm_net_attach att = {0};
	if (spec->nic) {
		att.tap = spec->nic->tap;
		att.netns = *spec->nic->netns ? spec->nic->netns : NULL;
	}
	if (mkdir_for_log(spec->log_path, err) < 0)
		return -1;
	struct vmm_restore_spec rs = {
		.name = name, .run_dir = dir, .stdout_fd = -1, .stderr_fd = -1,
		.log_path = spec->log_path && *spec->log_path ? spec->log_path : NULL,
		.net = spec->nic ? &att : NULL, .incoming = spec->restore_incoming,
	};
	struct vmm_vm *vm = NULL;
	struct vmm_snapshot_stats st;
	if (vmm_restore(v->vmm, spec->restore_dir, &rs, &vm, &st, err) < 0) {
		kumo_error_t rerr = NULL;
		if (vmm_remove(v->vmm, name, &rerr) < 0)
			log_warn("container %.12s: %s", spec->id, kumo_error_msg(rerr));
		kumo_error_free(&rerr);
		return -1;
	}
	log_info("container %.12s: VM %s restored from `%s` (stream %llu bytes loaded in %llu us, "
		 "%llu us in all)", spec->id, name, spec->restore_dir,
		 (unsigned long long)st.stream_bytes, (unsigned long long)(st.save_ns / 1000),
		 (unsigned long long)(st.paused_ns / 1000));
	return 0;
}

static int vms_checkpoint(struct cri_vms *s, const char *id, const char *path,
			  const struct cri_checkpoint_opts *o, const struct cri_record *recs,
			  size_t nrecs, const char *const *modules, kumo_error_t *err)
{
	bool leave_running = o->leave_running;
	struct vms *v = vms_of(s);
	autofree char *name = vm_name_of(id);
	struct vmm_vm *vm = v->vmm ? vmm_lookup(v->vmm, name) : NULL;
	if (!vm)
		return kumo_error(err, KUMO_E_NOT_FOUND, "container `%.12s` has no running VM", id);
	char kernel_id[KUMO_DIGEST_BUF];
	if (builder_kernel_id(kernel_id, err) < 0) {
		vmm_vm_put(vm);
		return -1;
	}
	/* The snapshot directory lives next to the run directories (same file system: the
	 * kernel image is linked, not copied) only until the archive is written. */
	autofree char *snap = xasprintf("%s/snapshot-%.40s-%lld", v->state_dir, id,
					(long long)wall_ns());
	struct vmm_snapshot_stats st = {0};
	if (o->migrate_to) {
		struct vmm_migrate_opts mo = {.max_bandwidth = o->max_bandwidth};
		int mrc = vmm_migrate(vm, o->migrate_to, &mo, &st, err);
		vmm_vm_put(vm);
		if (mrc == 0)
			log_info("container %.12s: migrated live to `%s` (%llu bytes, %llu ms in all, "
				 "guest paused %llu ms)", id, o->migrate_to,
				 (unsigned long long)st.stream_bytes,
				 (unsigned long long)(st.save_ns / 1000000),
				 (unsigned long long)(st.paused_ns / 1000000));
		return mrc;
	}
	int ret = o->describe_only ? vmm_snapshot_describe(vm, snap, err)
				   : vmm_checkpoint(vm, snap, leave_running, &st, err);
	vmm_vm_put(vm);
	uint64_t t1 = kumo_now_ns(), size = 0;
	struct vmm_archive_record *ar = xzalloc((nrecs + 1) * sizeof(*ar));
	for (size_t i = 0; i < nrecs; i++)
		ar[i] = (struct vmm_archive_record){recs[i].name, recs[i].data, recs[i].len};
	struct vmm_archive_ids ids = {kernel_id, builder_compiler_id(), modules};
	if (ret == 0)
		ret = vmm_archive_write(path, snap, &ids, ar, nrecs, &size, err);
	free(ar);
	kumo_rm_tree(snap);
	if (ret < 0)
		return -1;
	log_info("container %.12s: checkpointed to `%s` (%llu bytes; guest paused %llu us, "
		 "archive written in %llu us)%s", id, path, (unsigned long long)size,
		 (unsigned long long)(st.paused_ns / 1000),
		 (unsigned long long)((kumo_now_ns() - t1) / 1000),
		 o->describe_only ? ", its state not included" : leave_running ? "" : ", VM stopped");
	return 0;
}

static int vms_create(struct cri_vms *s, const struct cri_container_spec *spec,
		      kumo_error_t *err)
{
	struct vms *v = vms_of(s);
	const struct cri_image_info *img = spec->image_info;
	struct cri_vm_size size;
	if (cri_vm_size_of(spec->memory_limit_bytes, spec->cpu_quota, spec->cpu_period,
			   spec->cpu_shares, (unsigned)sysconf(_SC_NPROCESSORS_ONLN), &size,
			   err) < 0)
		return -1;
	if (spec->restore_dir) /* RestorePod: nothing is built or booted */
		return ensure_vmm(v, err) < 0 ? -1 : vms_restore(v, spec, size.vcpus, err);
	if (!img->module_path)
		return kumo_error(err, KUMO_E_INVALID, "image `%s` names no .wasm module", img->id);
	if (ensure_vmm(v, err) < 0)
		return -1;
	autofree char *dir = run_dir_of(v, spec->id);
	autofree char *name = vm_name_of(spec->id);
	autofree char *stage = stage_dir_of(v, spec->pod_id);
	autofree struct builder_mount *mounts = xzalloc(sizeof(*mounts) * (spec->n_mounts + 1));
	autofree char *entries = xzalloc(spec->n_mounts * ENTRY_MAX + 1);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		char *entry = entries + i * ENTRY_MAX;
		snprintf(entry, ENTRY_MAX, "%.40s-%zu", spec->id, i);
		bool ro = spec->mounts[i].readonly;
		mounts[i] = (struct builder_mount){.guest_path = spec->mounts[i].container_path,
						   .host_path = spec->mounts[i].host_path,
						   .readonly = ro, .share = true,
						   .tag = ro ? VMM_STAGE_TAG_RO : VMM_STAGE_TAG_RW,
						   .entry = entry};
	}
	struct listen_list ln = {0};
	const char *dnsv[3], *searchv[6];
	struct builder_net bn;
	if (spec->nic)
		boot_net(spec, &ln, dnsv, searchv, &bn);
	struct builder_input in = {
		.options = {.root = v->root},
		.module = {img->module_path, img->module_digest},
		.image = {(const char *const *)img->entrypoint, (const char *const *)img->cmd,
			  (const char *const *)img->env, img->working_dir, img->rootfs},
		.argv = spec->argv,
		.env = spec->env,
		.working_dir = spec->working_dir,
		.mounts = mounts,
		.nmounts = spec->n_mounts,
		.net = spec->nic ? &bn : NULL,
		.run_dir = dir,
	};
	struct builder_artifact art = {0};
	autofree struct vmm_share *shares = NULL;
	autofree char *ro_side = NULL, *rw_side = NULL;
	size_t nshares = 0;
	struct vmm_vm *vm = NULL;
	uint64_t t0 = kumo_now_ns();
	int ret = builder_prepare(&in, &art, err);
	uint64_t t_prepared = kumo_now_ns();
	listen_free(&ln);
	if (ret < 0) {
		kumo_error_wrap(err, "image `%s`", spec->image);
		goto out;
	}
	bool ro = false, rw = false;
	if ((ret = stage_mounts(v, spec, mounts, stage, dir, &ro, &rw, err)) < 0)
		goto out;
	uint64_t t_staged = kumo_now_ns();
	/* The pod's staging sides this container has entries in, then builder's own (none
	 * for kumod's mounts: all are tagged). */
	ro_side = vmm_stage_side(stage, true);
	rw_side = vmm_stage_side(stage, false);
	shares = xzalloc(sizeof(*shares) * (art.nshares + 3));
	if (ro)
		shares[nshares++] = (struct vmm_share){ro_side, VMM_STAGE_TAG_RO, true};
	if (rw)
		shares[nshares++] = (struct vmm_share){rw_side, VMM_STAGE_TAG_RW, false};
	for (size_t i = 0; i < art.nshares; i++)
		shares[nshares++] = (struct vmm_share){art.shares[i].host_path, art.shares[i].tag,
						       art.shares[i].readonly};
	struct vmm_net_attach att = {0};
	if (spec->nic) {
		att.tap = spec->nic->tap;
		att.netns = *spec->nic->netns ? spec->nic->netns : NULL; /* vmm takes it there */
		memcpy(att.mac, spec->nic->mac, 6);
	}
	struct vmm_spec vs = {
		.name = name, .kernel = art.kernel, .initrd = art.initrd,
		.memory_mib = size.memory_mib, .vcpus = size.vcpus,
		.cputune = {size.cpu_shares, size.cpu_period_us, size.cpu_quota_us},
		.stdout_fd = -1, .stderr_fd = -1,
		.log_path = spec->log_path && *spec->log_path ? spec->log_path : NULL,
		.net = spec->nic ? &att : NULL, .shares = shares, .nshares = nshares,
	};
	if ((ret = mkdir_for_log(spec->log_path, err)) < 0)
		goto out;
	/* QEMU builds the machine while kubelet gets to StartContainer (vmm_start waits
	 * for it; a QEMU that gives up fails StartContainer, saying why). */
	if ((ret = vmm_create_async(v->vmm, &vs, &vm, err)) < 0) {
		if ((*err)->status == KUMO_E_PRECONDITION)
			kumo_error_wrap(err,
					"pod `%.12s` has one network interface and another container "
					"holds it: kumo runs each container as its own VM, so a pod's "
					"containers take the pod's address in turn (init containers, "
					"then one app container), not at the same time",
					spec->pod_id);
		goto out;
	}
	uint64_t t_created = kumo_now_ns();
	log_info("container %.12s: VM %s created (%u MiB, %u vCPU, image %s%s%s%s; prepared in "
		 "%llu us, %zu mounts staged in %llu us, VM created in %llu us)", spec->id, name,
		 vs.memory_mib, vs.vcpus, art.kernel, art.image_cached ? ", cached" : "",
		 spec->nic ? ", address " : "", spec->nic ? spec->nic->address : "",
		 (unsigned long long)((t_prepared - t0) / 1000), spec->n_mounts,
		 (unsigned long long)((t_staged - t_prepared) / 1000),
		 (unsigned long long)((t_created - t_staged) / 1000));
out:
	if (ret < 0) {
		unstage(v, spec->id);
		kumo_error_t rerr = NULL;
		if (vmm_remove(v->vmm, name, &rerr) < 0)
			log_warn("container %.12s: %s", spec->id, kumo_error_msg(rerr));
		kumo_error_free(&rerr);
	}
	builder_artifact_free(&art);
	return ret;
}

/* ---- the rest of the lifecycle ------------------------------------------------------ */

static int vms_start(struct cri_vms *s, const char *id, kumo_error_t *err)
{
	struct vms *v = vms_of(s);
	autofree char *name = vm_name_of(id);
	struct vmm_vm *vm = v->vmm ? vmm_lookup(v->vmm, name) : NULL;
	if (!vm)
		return kumo_error(err, KUMO_E_NOT_FOUND, "container `%.12s` has no VM (kumod restarted?)",
				  id);
	int ret = vmm_start(vm, err);
	vmm_vm_put(vm);
	return ret;
}

static int vms_stop(struct cri_vms *s, const char *id, int64_t timeout_s, kumo_error_t *err)
{
	struct vms *v = vms_of(s);
	autofree char *name = vm_name_of(id);
	struct vmm_vm *vm = v->vmm ? vmm_lookup(v->vmm, name) : NULL;
	if (!vm)
		return 0; /* nothing of ours runs */
	int64_t ms = timeout_s > 3600 ? 3600000 : timeout_s * 1000;
	int ret = vmm_stop(vm, (int)ms, err);
	vmm_vm_put(vm);
	if (ret == 0)
		unstage(v, id); /* also for a VM that never started (no exit event) */
	return ret;
}

static int vms_remove(struct cri_vms *s, const char *id, kumo_error_t *err)
{
	struct vms *v = vms_of(s);
	autofree char *name = vm_name_of(id);
	kumo_error_t oerr = NULL;
	unstage(v, id); /* before the run directory, which names the staging directory, goes */
	if (ensure_vmm(v, &oerr) == 0)
		return vmm_remove(v->vmm, name, err); /* destroys it if it still runs */
	/* No VM backend to ask (libvirtd down): none of ours is held, the files go. */
	log_warn("container %.12s: %s", id, kumo_error_msg(oerr));
	kumo_error_free(&oerr);
	autofree char *dir = run_dir_of(v, id);
	kumo_rm_tree(dir);
	return 0;
}

/* After a kumod restart: finds the VM of id again, or says why not. Returns 1 with *vm
 * held, 0 with *st when there is nothing to hold. */
static int recover(struct vms *v, const char *id, struct vmm_vm **vm, struct cri_vm_status *st,
		   kumo_error_t *err)
{
	autofree char *name = vm_name_of(id);
	if (ensure_vmm(v, err) < 0)
		return -1;
	kumo_error_t aerr = NULL;
	struct vmm_vm *attached = NULL;
	if (vmm_attach(v->vmm, name, &attached, &aerr) == 0) {
		log_info("container %.12s: re-attached to VM %s", id, name);
		*vm = vmm_lookup(v->vmm, name); /* held like every other lookup */
		*st = (struct cri_vm_status){.state = CRI_VM_GONE};
		return *vm ? 1 : 0;
	}
	if (aerr->status == KUMO_E_NOT_FOUND) {
		kumo_error_free(&aerr);
		unstage(v, id);
		*st = (struct cri_vm_status){.state = CRI_VM_GONE};
		return 0;
	}
	if (v->vm_backend != VMM_BACKEND_QEMU) {
		*err = aerr;
		return -1;
	}
	/* A QEMU kumod cannot drive (started by an older kumo): it goes, and the container
	 * ends, so that kubelet starts it again on a VM kumod owns. */
	log_warn("container %.12s: %s", id, kumo_error_msg(aerr));
	kumo_error_free(&aerr);
	unstage(v, id);
	kumo_error_t rerr = NULL;
	vmm_remove(v->vmm, name, &rerr);
	kumo_error_free(&rerr);
	*st = (struct cri_vm_status){.state = CRI_VM_EXITED, .finished_at_ns = wall_ns(),
				     .exit = {.status = KUMO_EXIT_STATUS_PANIC,
					      .kind = KUMO_EXIT_CRASHED, .trap = -1}};
	snprintf(st->exit.msg, sizeof(st->exit.msg),
		 "kumod restarted and could not re-attach to the container's VM, so it was "
		 "stopped");
	return 0;
}

static int vms_status(struct cri_vms *s, const char *id, struct cri_vm_status *st,
		      kumo_error_t *err)
{
	struct vms *v = vms_of(s);
	autofree char *name = vm_name_of(id);
	struct vmm_vm *vm = v->vmm ? vmm_lookup(v->vmm, name) : NULL;
	if (!vm) {
		int rr = recover(v, id, &vm, st, err);
		if (rr <= 0)
			return rr;
	}
	*st = (struct cri_vm_status){0};
	switch (vmm_vm_state(vm)) {
	case VMM_STATE_CREATED:
		st->state = CRI_VM_CREATED;
		break;
	case VMM_STATE_RUNNING:
	case VMM_STATE_STOPPING:
		st->state = CRI_VM_RUNNING;
		break;
	default:
		unstage(v, id);
		exited_status(vm, st);
		break;
	}
	vmm_vm_put(vm);
	return 0;
}

static int vms_stats(struct cri_vms *s, const char *id, struct cri_vm_stats *stats,
		     kumo_error_t *err)
{
	struct vms *v = vms_of(s);
	autofree char *name = vm_name_of(id);
	struct vmm_vm *vm = v->vmm ? vmm_lookup(v->vmm, name) : NULL;
	if (!vm)
		return kumo_error(err, KUMO_E_NOT_FOUND, "container `%.12s` has no VM", id);
	struct vmm_stats vst = {0};
	int ret = vmm_vm_stats(vm, &vst, err);
	vmm_vm_put(vm);
	if (ret < 0)
		return -1;
	*stats = (struct cri_vm_stats){.timestamp_ns = wall_ns(), .cpu_usage_core_ns = vst.cpu_ns,
				       .memory_working_set = vst.memory_bytes,
				       .memory_rss = vst.memory_bytes};
	return 0;
}

static int vms_log_reopen(struct cri_vms *s, const char *id, kumo_error_t *err)
{
	struct vms *v = vms_of(s);
	autofree char *name = vm_name_of(id);
	struct vmm_vm *vm = v->vmm ? vmm_lookup(v->vmm, name) : NULL;
	if (!vm)
		return 0;
	int ret = vmm_vm_reopen_log(vm, err);
	vmm_vm_put(vm);
	return ret;
}

static const char *vms_accel(struct cri_vms *s)
{
	return vms_of(s)->accel.line + strlen("accel: ");
}

static void vms_destroy(struct cri_vms *s)
{
	struct vms *v = vms_of(s);
	if (v) {
		vmm_close(v->vmm); /* VMs keep running: a restarted kumod re-attaches */
		pthread_mutex_destroy(&v->lock);
		pthread_mutex_destroy(&v->stage_lock);
		free(v->mounts_dir);
		free(v->root);
		free(v->state_dir);
		free(v);
	}
	free(s);
}

static const struct cri_vms_ops vms_ops = {
	.create = vms_create,
	.start = vms_start,
	.stop = vms_stop,
	.remove = vms_remove,
	.status = vms_status,
	.stats = vms_stats,
	.log_reopen = vms_log_reopen,
	.accel = vms_accel,
	.checkpoint = vms_checkpoint,
	.destroy = vms_destroy,
};

int cri_vms_new(const char *root, const char *vm_backend, const char *accel,
		struct cri_vms **out, kumo_error_t *err)
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
	struct vms *v = xzalloc(sizeof(*v));
	v->root = xstrdup(root);
	v->state_dir = xasprintf("%s/vms", root);
	v->mounts_dir = xasprintf("%s/mounts", root);
	v->vm_backend = vb;
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->stage_lock, NULL);
	sweep_stages(v);
	struct cri_vms *s = xzalloc(sizeof(*s));
	s->ops = &vms_ops;
	s->priv = v;
	v->stage = s;
	/* Once, at start: every VM of this kumod runs with the same accelerator, and the
	 * start-up log says which and why. The probe image lands in our build cache. */
	if (cri_accel_choose(want, NULL, NULL, root, &v->accel, err) < 0) {
		vms_destroy(s);
		return kumo_error_wrap(err, "choose the VM accelerator");
	}
	if (v->accel.fell_back)
		log_warn("%s: VMs run without hardware acceleration, slower", v->accel.line);
	else
		log_info("%s", v->accel.line);
	*out = s;
	return 0;
}
