/* cri/podvm_template.c - pod VMs started from a snapshot (issue 18): the pod kernel is
 * booted once per template key (kernel build, accelerator, QEMU, RAM size, NIC or not,
 * boot ABI) with no share attached and its NIC at 0.0.0.0/0 on a tap that reaches
 * nothing, and saved at READY; a new pod VM is that snapshot restored onto the pod's own
 * tap and staging shares and made the pod's by REINIT (kernel/pod_abi.h: a fresh seed,
 * the pod's name, address and MAC, the wall clock). Nothing of one pod reaches another:
 * the template never ran a container, and every random thing is drawn after the seed.
 *
 * Templates live in <root>/pod-templates/<16 hex of the key>/ (a snapshot directory:
 * vmm.h "Snapshots"), made under pv->template_lock by the first pod that needs one and
 * used by many restores at once (read only). kumod removes them at start: a cache, made
 * again for the build that runs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder.h"
#include "cri/podvm_impl.h"

#define TEMPLATE_NAME_PREFIX "kumotmpl-"
#define TEMPLATE_READY_MS 30000

static const uint8_t template_mac[6] = {0x02, 0x6b, 0x75, 0x6d, 0x6f, 0x00}; /* local */

static int64_t wall_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The 16-hex name of the template for a pod VM of mib MiB with or without a NIC. */
static int template_key(struct podvms *pv, unsigned mib, bool nic, char out[17],
			kumo_error_t *err)
{
	char kernel_id[KUMO_DIGEST_BUF], digest[KUMO_DIGEST_BUF];
	if (builder_kernel_id(kernel_id, err) < 0)
		return -1;
	autofree char *key = xasprintf("kernel=%s accel=%s qemu=%s mib=%u nic=%d abi=%d", kernel_id,
				       vmm_accel_name(pv->vmm), vmm_conn_qemu_version(pv->vmm), mib,
				       nic, KUMO_BOOT_ABI_VERSION);
	kumo_sha256(key, strlen(key), digest);
	const char *hex = strchr(digest, ':');
	snprintf(out, 17, "%.16s", hex ? hex + 1 : digest);
	return 0;
}

/* Waits for the READY record at the start of record file path; its JSON (malloc'd). */
static char *wait_ready(const char *path, struct vmm_vm *vm, kumo_error_t *err)
{
	uint64_t end = kumo_now_ns() + (uint64_t)TEMPLATE_READY_MS * 1000000ull;
	while (kumo_now_ns() < end) {
		autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct kumo_pod_rec h;
		if (fd >= 0 && pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h)) {
			if (h.magic != KUMO_POD_REC_MAGIC || h.type != KUMO_POD_REC_READY ||
			    h.len > KUMO_POD_REC_MAX) {
				kumo_error(err, KUMO_E_INTERNAL, "its first record is no READY");
				return NULL;
			}
			char *js = xzalloc(h.len + 1);
			if (pread(fd, js, h.len, sizeof(h)) == (ssize_t)h.len)
				return js;
			free(js);
		}
		struct kumo_exit_record ex;
		if (vmm_vm_exit(vm, &ex, NULL)) {
			kumo_error(err, KUMO_E_INTERNAL, "it ended before READY: %s", ex.msg);
			return NULL;
		}
		usleep(2000);
	}
	kumo_error(err, KUMO_E_INTERNAL, "no READY within %d ms", TEMPLATE_READY_MS);
	return NULL;
}

/* Boots the template VM of key and saves it into dir (template_lock held). */
static int template_make(struct podvms *pv, const char *key, unsigned mib, bool nic,
			 const char *dir, kumo_error_t *err)
{
	uint64_t t0 = kumo_now_ns();
	autofree char *name = xasprintf(TEMPLATE_NAME_PREFIX "%s", key);
	autofree char *run_dir = xasprintf("%s/%s", pv->state_dir, name);
	autofree char *stage = xasprintf("%s/%s.stage", pv->templates_dir, key);
	autofree char *pins = xasprintf("%s/netns", pv->templates_dir);
	autofree char *snap = xasprintf("%s.new", dir);
	autofree char *kernel = NULL, *initrd = NULL, *ro = NULL, *rw = NULL, *netns = NULL;
	autofree char *rec = xasprintf("%s/%s", run_dir, VMM_RAW_STDOUT);
	autofree char *ready = NULL, *ctl = xasprintf("%s/ctl.sock", run_dir);
	struct vmm_net_attach att = {0};
	struct vmm_vm *vm = NULL;
	struct vmm_snapshot_stats st = {0};
	vmm_remove(pv->vmm, name, NULL); /* a leftover of a kumod killed meanwhile */
	kumo_rm_tree(snap);
	/* The NIC at 0.0.0.0/0 (REINIT gives the address) on a tap nothing reaches. */
	struct builder_net bn = {.has_mac = true, .address = "0.0.0.0/0"};
	memcpy(bn.mac, template_mac, 6);
	int ret = kumo_mkdir_p(run_dir, 0750, err);
	if (ret == 0)
		ret = builder_pod_kernel(&kernel, err);
	if (ret == 0)
		ret = builder_pod_initrd(run_dir, "template", nic ? &bn : NULL, &initrd, err);
	if (ret == 0)
		ret = vmm_stage_open(stage, err);
	if (ret == 0 && nic)
		ret = vmm_nic_stub_create(pins, key, template_mac, &att, &netns, err);
	if (ret == 0) {
		ro = vmm_stage_side(stage, true);
		rw = vmm_stage_side(stage, false);
		struct vmm_share shares[2] = {{ro, VMM_STAGE_TAG_RO, true},
					      {rw, VMM_STAGE_TAG_RW, false}};
		/* The devices of podvm_run's boot, in its order. */
		struct vmm_spec vs = {
			.name = name, .kernel = kernel, .initrd = initrd, .memory_mib = mib,
			.vcpus = 1, .stdout_fd = -1, .stderr_fd = -1, .net = nic ? &att : NULL,
			.shares = shares, .nshares = 2, .control_socket = ctl,
		};
		ret = vmm_create(pv->vmm, &vs, &vm, err);
	}
	if (ret == 0)
		ret = vmm_start(vm, err);
	if (ret == 0 && !(ready = wait_ready(rec, vm, err)))
		ret = -1;
	if (ret == 0 && !strstr(ready, "\"control\": true"))
		ret = kumo_error(err, KUMO_E_INTERNAL, "its kernel found no control channel");
	uint64_t t_ready = kumo_now_ns();
	if (ret == 0)
		ret = vmm_checkpoint(vm, snap, false, &st, err);
	if (ret == 0 && rename(snap, dir) < 0)
		ret = kumo_error_errno(err, errno, "rename `%s` to `%s`", snap, dir);
	vmm_remove(pv->vmm, name, NULL);
	kumo_error_t cerr = NULL;
	if (netns && vmm_nic_stub_remove(netns, &cerr) < 0)
		log_warn("pod VM template %s: %s", key, kumo_error_msg(cerr));
	kumo_error_free(&cerr);
	vmm_stage_remove(stage);
	kumo_rm_tree(snap);
	if (ret < 0)
		return kumo_error_wrap(err, "pod VM template %s (%u MiB, %s)", key, mib,
				       nic ? "a NIC" : "no NIC");
	log_info("pod VM template %s (%u MiB, %s): booted to READY in %.1f ms, saved in %.1f ms "
		 "(stream %llu bytes): %s", key, mib, nic ? "a NIC" : "no NIC",
		 (double)(t_ready - t0) / 1e6, (double)(kumo_now_ns() - t_ready) / 1e6,
		 (unsigned long long)st.stream_bytes, ready);
	return 0;
}

/* The template snapshot directory for a pod VM of mib MiB (malloc'd), made when missing. */
static int template_get(struct podvms *pv, unsigned mib, bool nic, char **dir, kumo_error_t *err)
{
	char key[17];
	if (template_key(pv, mib, nic, key, err) < 0)
		return -1;
	char *d = xasprintf("%s/%s", pv->templates_dir, key);
	autofree char *state = xasprintf("%s/" VMM_SNAPSHOT_STATE, d);
	int ret = 0;
	if (access(state, F_OK) != 0) {
		pthread_mutex_lock(&pv->template_lock);
		if (access(state, F_OK) != 0 && (ret = kumo_mkdir_p(pv->templates_dir, 0700, err)) == 0)
			ret = template_make(pv, key, mib, nic, d, err);
		pthread_mutex_unlock(&pv->template_lock);
	}
	if (ret < 0) {
		free(d);
		return -1;
	}
	*dir = d;
	return 0;
}

json_t *pod_net_json(const struct cri_pod_vm_spec *spec)
{
	const char *dnsv[3], *searchv[6];
	struct builder_net bn;
	pod_net(spec, dnsv, searchv, &bn);
	const uint8_t *m = bn.mac;
	autofree char *mac = xasprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
				       m[5]);
	json_t *net = json_pack("{s:s, s:s}", "mac", mac, "address", bn.address);
	if (bn.gateway)
		json_object_set_new(net, "gateway", json_string(bn.gateway));
	if (bn.mtu)
		json_object_set_new(net, "mtu", json_integer(bn.mtu));
	if (bn.hostname)
		json_object_set_new(net, "hostname", json_string(bn.hostname));
	json_t *dns = json_array(), *search = json_array();
	for (size_t i = 0; i < bn.ndns; i++)
		json_array_append_new(dns, json_string(bn.dns[i]));
	for (size_t i = 0; i < bn.nsearch; i++)
		json_array_append_new(search, json_string(bn.search[i]));
	json_object_set_new(net, "dns", dns);
	json_object_set_new(net, "search", search);
	return net;
}

/* REINIT's JSON for the pod of spec: a fresh seed, its name, the clock, its network. */
static char *reinit_json(const struct cri_pod_vm_spec *spec, kumo_error_t *err)
{
	uint8_t seed[32];
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return kumo_error_errno(err, errno, "getrandom"), NULL;
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", seed[i]);
	json_t *j = json_pack("{s:s, s:s, s:I}", "seed", hex, "name", spec->name ? spec->name : "",
			      "realtime_ns", (json_int_t)wall_now_ns());
	if (spec->nic)
		json_object_set_new(j, "net", pod_net_json(spec));
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	explicit_bzero(seed, sizeof(seed));
	return s;
}

int podvm_run_from_template(struct podvms *pv, const struct cri_pod_vm_spec *spec,
			    kumo_error_t *err)
{
	uint64_t t0 = kumo_now_ns();
	unsigned mib = pod_memory_mib(spec->memory_limit_bytes);
	autofree char *tdir = NULL, *js = NULL, *ack = NULL, *e = NULL;
	if (template_get(pv, mib, spec->nic != NULL, &tdir, err) < 0)
		return -1;
	uint64_t t_tmpl = kumo_now_ns();
	struct pod *p = pod_new(pv, spec->id);
	struct vmm_vm *vm = NULL;
	struct vmm_snapshot_stats st = {0};
	bool listed = false;
	if (pod_restore_into(pv, p, spec, tdir, NULL, &vm, &st, err) < 0)
		goto fail;
	listed = true;
	uint64_t t_loaded = kumo_now_ns();
	if (vmm_start(vm, err) < 0 || pod_connect(p, err) < 0 || !(js = reinit_json(spec, err)))
		goto fail;
	pthread_mutex_lock(&p->lock);
	int rc = pod_command(p, KUMO_POD_MSG_REINIT, 0, js, NULL, 0, NULL, NULL, &ack, err);
	e = rc == 0 ? pod_ack_error(ack) : NULL;
	if (e)
		rc = kumo_error(err, KUMO_E_INTERNAL, "the pod VM refused REINIT: %s", e);
	if (rc == 0) {
		/* READY was the template's: the pod is ready once it is its own. */
		p->ready = true;
		free(p->ready_json);
		p->ready_json = ack;
		ack = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	if (rc < 0)
		goto fail;
	log_info("pod %.12s: VM %s ready from snapshot %s in %.1f ms (template %.1f ms, restore "
		 "%.1f ms: QEMU up and %llu bytes loaded in %.1f ms, of which the load %.1f ms; run "
		 "+ REINIT %.1f ms; %u MiB%s%s): %s", p->id, p->vm_name, tdir,
		 (double)(kumo_now_ns() - t0) / 1e6, (double)(t_tmpl - t0) / 1e6,
		 (double)(t_loaded - t_tmpl) / 1e6, (unsigned long long)st.stream_bytes,
		 (double)st.paused_ns / 1e6, (double)st.save_ns / 1e6,
		 (double)(kumo_now_ns() - t_loaded) / 1e6, mib,
		 spec->nic ? ", address " : "", spec->nic ? spec->nic->address : "", p->ready_json);
	return 0;
fail:
	if (listed)
		pod_unlist(pv, p);
	pod_pump_stop(p);
	vmm_remove(pv->vmm, p->vm_name, NULL);
	vmm_stage_unbind(p->stage_dir, NULL, NULL);
	vmm_stage_remove(p->stage_dir);
	pod_free(p);
	return kumo_error_wrap(err, "start the pod VM from a snapshot");
}

void podvm_templates_init(struct podvms *pv)
{
	pv->templates_dir = xasprintf("%s/pod-templates", pv->root);
	pthread_mutex_init(&pv->template_lock, NULL);
	/* A cache for the build that runs: made again when a pod needs one (the NIC stub's
	 * namespace pin of a kumod killed while making one is unmounted first; its
	 * directory stays, a mount point as `ip netns` leaves /run/netns). */
	autofree char *pins = xasprintf("%s/netns", pv->templates_dir);
	DIR *t = opendir(pins);
	struct dirent *te;
	while (t && (te = readdir(t))) {
		autofree char *path = xasprintf("%s/%s", pins, te->d_name);
		kumo_error_t rerr = NULL;
		if (te->d_name[0] != '.')
			vmm_nic_stub_remove(path, &rerr);
		kumo_error_free(&rerr);
	}
	if (t)
		closedir(t);
	kumo_rm_tree(pv->templates_dir);
	DIR *d = opendir(pv->state_dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, TEMPLATE_NAME_PREFIX, strlen(TEMPLATE_NAME_PREFIX)) == 0)
			vmm_remove(pv->vmm, e->d_name, NULL); /* a kumod killed while making one */
	if (d)
		closedir(d);
}

void podvm_templates_free(struct podvms *pv)
{
	if (!pv->templates_dir)
		return;
	pthread_mutex_destroy(&pv->template_lock);
	free(pv->templates_dir);
	pv->templates_dir = NULL;
}
