/* vmm/libvirt.c - the libvirt backend: one connection per daemon (re-established when
 * libvirtd restarts), transient domains created paused, lifecycle events from libvirt's
 * event loop (a guest panic or a pause we did not ask for ends the VM at once), stats
 * from virDomainGetInfo; snapshots and live migration with QEMU's own migration stream
 * through libvirt-qemu's monitor passthrough, as the QEMU-direct backend drives it. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "vmm_backend.h"

#define RECONNECT_MS 200

struct lv_conn {
	struct vmm *vmm;          /* back pointer for callbacks */
	pthread_mutex_t lock;     /* guards conn, cb_id, lost, closing */
	pthread_cond_t cond;      /* wakes the reconnect thread */
	virConnectPtr conn;       /* current connection, NULL while down */
	int cb_id;                /* lifecycle callback id on conn */
	bool lost;                /* the close callback fired */
	bool closing;             /* vmm_close() runs: reconnect thread ends */
	pthread_t reconnector;    /* re-establishes lost connections */
};

/* vm->priv of a libvirt VM. */
struct lv_vm {
	bool saving; /* a checkpoint or migration pauses it: its pauses are ours (atomic) */
};

static bool lv_saving(struct vmm_vm *vm)
{
	struct lv_vm *p = vm->priv;
	return p && __atomic_load_n(&p->saving, __ATOMIC_ACQUIRE);
}

static void lv_set_saving(struct vmm_vm *vm, bool on)
{
	struct lv_vm *p = vm->priv;
	if (p)
		__atomic_store_n(&p->saving, on, __ATOMIC_RELEASE);
}

static pthread_once_t event_loop_once = PTHREAD_ONCE_INIT;
static int event_loop_ok;

static void *event_loop(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			log_warn("vmm: libvirt event loop: %s", virGetLastErrorMessage());
	return NULL;
}

static void silence(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

/* One process-wide event loop thread: libvirt's default implementation. */
static void event_loop_init(void)
{
	virSetErrorFunc(NULL, silence);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
		return;
	pthread_t t;
	if (pthread_create(&t, NULL, event_loop, NULL) != 0)
		return;
	pthread_detach(t);
	event_loop_ok = 1;
}

/* QEMU's first error line in libvirt's log of the domain (after its last start-up
 * header and command line), "" when none. */
static char *libvirt_log_error(const char *name)
{
	autofree char *path = xasprintf("/var/log/libvirt/qemu/%s.log", name);
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, 4 << 20, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return xstrdup("");
	}
	char *text = (char *)buf, *start = text, *p;
	while ((p = strstr(start, "starting up libvirt")))
		start = p + 1; /* the last start of this domain name */
	char *found = NULL, *save = NULL;
	bool in_command = true; /* the header's next lines are QEMU's command line */
	start = strchr(start, '\n') ? strchr(start, '\n') + 1 : start + strlen(start);
	for (char *l = strtok_r(start, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(l);
		if (in_command) {
			/* One argument per line, each but the last ending in a backslash. */
			in_command = n > 0 && l[n - 1] == '\\';
			continue;
		}
		/* -msg timestamp=on puts "2026-12-07T12:18:33.218413Z " before QEMU's own
		 * messages. */
		if (n > 28 && l[4] == '-' && l[10] == 'T' && strchr(l, 'Z') && strchr(l, 'Z') < l + 32)
			l = strchr(l, 'Z') + 2;
		/* libvirt's own notes ("2026-12-07 12:19:19.108+0000: Domain ... tainted"),
		 * QEMU's warnings and notices. */
		bool libvirt_note = n > 24 && l[4] == '-' && l[10] == ' ' && l[13] == ':';
		if (!*l || libvirt_note || strstr(l, "warning:") || strstr(l, "char device redirected"))
			continue;
		found = l;
	}
	char *out = xstrdup(found ? found : "");
	free(buf);
	return out;
}

struct lv_check {
	struct vmm_vm *vm; /* held (vmm_lookup) until the check is done */
	int event;         /* VIR_DOMAIN_EVENT_CRASHED or VIR_DOMAIN_EVENT_SUSPENDED */
};

/* Off libvirt's event loop (no libvirt call is made from a callback): a panicked VM,
 * or one that QEMU paused while it ran (an accelerator error), ends now. */
static void *check_stop(void *arg)
{
	struct lv_check *c = arg;
	struct vmm_vm *vm = c->vm;
	if (c->event == VIR_DOMAIN_EVENT_CRASHED) {
		vmm_vm_fail(vm, "the guest panicked (pvpanic)");
	} else if (!lv_saving(vm) && (vmm_vm_state(vm) == VMM_STATE_RUNNING ||
				      vmm_vm_state(vm) == VMM_STATE_STOPPING)) {
		/* kumo pauses a domain only between create and start, and for a checkpoint
		 * (reason "user"), or QEMU does for a migration's last round (saving): any
		 * other pause of a started VM is QEMU's, and nothing would resume it. */
		virConnectPtr conn = NULL;
		struct lv_conn *lv = vm->vmm->priv;
		pthread_mutex_lock(&lv->lock);
		if (lv->conn) {
			conn = lv->conn;
			virConnectRef(conn);
		}
		pthread_mutex_unlock(&lv->lock);
		virDomainPtr d = conn ? virDomainLookupByName(conn, vm->spec.name) : NULL;
		int st = 0, reason = 0;
		if (d && virDomainGetState(d, &st, &reason, 0) == 0 && st == VIR_DOMAIN_PAUSED &&
		    reason != VIR_DOMAIN_PAUSED_USER) {
			autofree char *first = libvirt_log_error(vm->spec.name);
			if (*first)
				vmm_vm_fail(vm, "%s", first);
			else
				vmm_vm_fail(vm, "QEMU paused the VM (libvirt paused reason %d)", reason);
		}
		if (d)
			virDomainFree(d);
		if (conn)
			virConnectClose(conn);
	}
	vmm_vm_put(vm);
	free(c);
	return NULL;
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	(void)conn;
	(void)detail;
	struct vmm *vmm = opaque;
	if (event != VIR_DOMAIN_EVENT_STOPPED && event != VIR_DOMAIN_EVENT_CRASHED &&
	    event != VIR_DOMAIN_EVENT_SUSPENDED)
		return 0;
	struct vmm_vm *vm = vmm_lookup(vmm, virDomainGetName(dom));
	if (!vm)
		return 0;
	if (event == VIR_DOMAIN_EVENT_STOPPED) {
		const struct vmm_jail *j = &vmm->jail;
		if (detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED)
			vmm_vm_set_error(vm, "the guest panicked (pvpanic)");
		else if (detail == VIR_DOMAIN_EVENT_STOPPED_FAILED && vmm_jail_oom_killed(j, vm->spec.name))
			vmm_vm_set_error(vm, "QEMU was killed by the kernel's OOM killer: its cgroup's "
					 "memory limit is %llu MiB (guest RAM %u MiB + %u MiB for QEMU)",
					 (unsigned long long)(vmm_jail_memory_limit(j, &vm->spec) >> 20),
					 vm->spec.memory_mib, j->overhead_mib);
		else if (detail == VIR_DOMAIN_EVENT_STOPPED_FAILED)
			vmm_vm_set_error(vm, "QEMU (pid %d) died: killed or crashed (libvirt: the "
					 "emulator failed)", (int)vmm_vm_pid(vm));
		vmm_vm_gone(vm);
		vmm_vm_put(vm);
		return 0;
	}
	if (event == VIR_DOMAIN_EVENT_CRASHED)
		vmm_vm_set_error(vm, "the guest panicked (pvpanic)");
	struct lv_check *c = xzalloc(sizeof(*c));
	c->vm = vm; /* the hold passes to the thread */
	c->event = event;
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, check_stop, c) != 0) {
		log_warn("vmm: vm `%s`: cannot start a thread to end it", vm->spec.name);
		vmm_vm_put(vm);
		free(c);
	}
	pthread_attr_destroy(&at);
	return 0;
}

static void close_cb(virConnectPtr conn, int reason, void *opaque)
{
	(void)conn;
	struct lv_conn *lv = opaque;
	log_warn("vmm: libvirt connection `%s` closed (reason %d); reconnecting", lv->vmm->uri,
		 reason);
	pthread_mutex_lock(&lv->lock);
	lv->lost = true;
	pthread_cond_broadcast(&lv->cond);
	pthread_mutex_unlock(&lv->lock);
	vmm_emit(lv->vmm, VMM_EVENT_DISCONNECTED, NULL);
}

static int connect_locked(struct lv_conn *lv, kumo_error_t *err)
{
	virConnectPtr c = virConnectOpen(lv->vmm->uri);
	if (!c)
		return kumo_error(err, KUMO_E_UNAVAILABLE,
				  "connect to libvirt `%s`: %s (is libvirtd running? "
				  "deploy/start-libvirtd.sh starts it)",
				  lv->vmm->uri, virGetLastErrorMessage());
	virConnSetErrorFunc(c, NULL, silence);
	if (virConnectSetKeepAlive(c, 5, 3) < 0)
		log_debug("vmm: libvirt keepalive: %s", virGetLastErrorMessage());
	if (virConnectRegisterCloseCallback(c, close_cb, lv, NULL) < 0)
		log_warn("vmm: libvirt close callback: %s", virGetLastErrorMessage());
	int id = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						  VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), lv->vmm,
						  NULL);
	if (id < 0) {
		kumo_error(err, KUMO_E_UNAVAILABLE, "register libvirt lifecycle events: %s",
			   virGetLastErrorMessage());
		virConnectClose(c);
		return -1;
	}
	lv->conn = c;
	lv->cb_id = id;
	lv->lost = false;
	return 0;
}

static void disconnect_locked(struct lv_conn *lv)
{
	if (!lv->conn)
		return;
	virConnectDomainEventDeregisterAny(lv->conn, lv->cb_id);
	virConnectUnregisterCloseCallback(lv->conn, close_cb);
	virConnectClose(lv->conn);
	lv->conn = NULL;
}

/* After a reconnect: VMs whose domain vanished meanwhile exited while we were away. */
static void resync(struct lv_conn *lv, virConnectPtr c)
{
	struct vmm *vmm = lv->vmm;
	pthread_mutex_lock(&vmm->lock);
	size_t n = vmm->nvms;
	struct vmm_vm **vms = xmalloc((n ? n : 1) * sizeof(*vms));
	memcpy(vms, vmm->vms, n * sizeof(*vms));
	for (size_t i = 0; i < n; i++)
		vms[i]->refs++;
	pthread_mutex_unlock(&vmm->lock);
	for (size_t i = 0; i < n; i++) {
		if (vmm_vm_state(vms[i]) == VMM_STATE_EXITED)
			continue; /* (still put below) */
		virDomainPtr d = virDomainLookupByName(c, vms[i]->spec.name);
		bool active = d && virDomainIsActive(d) == 1;
		if (d)
			virDomainFree(d);
		if (!active)
			vmm_vm_gone(vms[i]);
	}
	for (size_t i = 0; i < n; i++)
		vmm_vm_put(vms[i]);
	free(vms);
}

static void *reconnector(void *arg)
{
	struct lv_conn *lv = arg;
	pthread_mutex_lock(&lv->lock);
	while (!lv->closing) {
		if (!lv->lost) {
			pthread_cond_wait(&lv->cond, &lv->lock);
			continue;
		}
		disconnect_locked(lv);
		kumo_error_t err = NULL;
		if (connect_locked(lv, &err) < 0) {
			kumo_error_free(&err);
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += RECONNECT_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&lv->cond, &lv->lock, &ts);
			continue;
		}
		virConnectPtr c = lv->conn;
		virConnectRef(c);
		pthread_mutex_unlock(&lv->lock);
		log_info("vmm: libvirt connection `%s` re-established", lv->vmm->uri);
		resync(lv, c);
		virConnectClose(c);
		vmm_emit(lv->vmm, VMM_EVENT_RECONNECTED, NULL);
		pthread_mutex_lock(&lv->lock);
	}
	pthread_mutex_unlock(&lv->lock);
	return NULL;
}

/* A referenced connection for one operation (caller virConnectClose()s it). */
static virConnectPtr get_conn(struct vmm *vmm, kumo_error_t *err)
{
	struct lv_conn *lv = vmm->priv;
	pthread_mutex_lock(&lv->lock);
	if (lv->conn && (lv->lost || virConnectIsAlive(lv->conn) != 1)) {
		lv->lost = true;
		disconnect_locked(lv);
	}
	if (!lv->conn && connect_locked(lv, err) < 0) {
		pthread_mutex_unlock(&lv->lock);
		return NULL;
	}
	virConnectPtr c = lv->conn;
	virConnectRef(c);
	pthread_mutex_unlock(&lv->lock);
	return c;
}

static int lv_open(struct vmm *vmm, kumo_error_t *err)
{
	pthread_once(&event_loop_once, event_loop_init);
	if (!event_loop_ok)
		return kumo_error(err, KUMO_E_INTERNAL, "libvirt event loop: %s",
				  virGetLastErrorMessage());
	struct lv_conn *lv = xzalloc(sizeof(*lv));
	lv->vmm = vmm;
	pthread_mutex_init(&lv->lock, NULL);
	pthread_cond_init(&lv->cond, NULL);
	pthread_mutex_lock(&lv->lock);
	int rc = connect_locked(lv, err);
	pthread_mutex_unlock(&lv->lock);
	if (rc < 0 || pthread_create(&lv->reconnector, NULL, reconnector, lv) != 0) {
		if (rc == 0)
			kumo_error(err, KUMO_E_INTERNAL, "cannot start the libvirt reconnect thread");
		pthread_mutex_lock(&lv->lock);
		disconnect_locked(lv);
		pthread_mutex_unlock(&lv->lock);
		pthread_mutex_destroy(&lv->lock);
		pthread_cond_destroy(&lv->cond);
		free(lv);
		return -1;
	}
	vmm->priv = lv;
	return 0;
}

static void lv_close(struct vmm *vmm)
{
	struct lv_conn *lv = vmm->priv;
	if (!lv)
		return;
	pthread_mutex_lock(&lv->lock);
	lv->closing = true;
	pthread_cond_broadcast(&lv->cond);
	pthread_mutex_unlock(&lv->lock);
	pthread_join(lv->reconnector, NULL);
	pthread_mutex_lock(&lv->lock);
	disconnect_locked(lv);
	pthread_mutex_unlock(&lv->lock);
	pthread_mutex_destroy(&lv->lock);
	pthread_cond_destroy(&lv->cond);
	free(lv);
	vmm->priv = NULL;
}

static pid_t read_pid(const char *name)
{
	autofree char *p = xasprintf("/run/libvirt/qemu/%s.pid", name);
	uint8_t *buf = NULL;
	size_t len;
	kumo_error_t err = NULL;
	if (kumo_read_file(p, 64, &buf, &len, &err) < 0) {
		kumo_error_free(&err);
		return 0;
	}
	pid_t pid = (pid_t)atoi((char *)buf);
	free(buf);
	return pid;
}

/* ---- QMP through libvirt (libvirt-qemu) ----------------------------------------------- */

/* Runs `{"execute": cmd, "arguments": args}` on d's QEMU monitor, with fd passed along
 * (SCM_RIGHTS to libvirtd, which hands it to QEMU: for `getfd`) when fd >= 0; *answer
 * (may be NULL) gets QEMU's answer. libvirt marks the domain tainted (custom-monitor) in
 * its log: kumo's domains are transient and already carry custom arguments. */
static int lv_qmp(virDomainPtr d, const char *cmd, const char *args, int fd, char **answer,
		  kumo_error_t *err)
{
	autofree char *json = args ? xasprintf("{\"execute\":\"%s\",\"arguments\":%s}", cmd, args)
				   : xasprintf("{\"execute\":\"%s\"}", cmd);
	char *result = NULL;
	int rc = fd >= 0 ? virDomainQemuMonitorCommandWithFiles(d, json, 1, &fd, NULL, NULL, &result, 0)
			 : virDomainQemuMonitorCommand(d, json, &result, 0);
	if (rc < 0) {
		/* Copied first: any libvirt call (virDomainGetName too) resets the last error. */
		autofree char *why = xstrdup(virGetLastErrorMessage());
		return kumo_error(err, KUMO_E_INTERNAL, "qmp `%s` through libvirt on domain `%s`: %s",
				  cmd, virDomainGetName(d), why);
	}
	json_t *j = json_loads(result, 0, NULL);
	json_t *qerr = json_object_get(j, "error");
	if (!j || qerr) {
		const char *desc = json_string_value(json_object_get(qerr, "desc"));
		kumo_error(err, KUMO_E_INTERNAL, "qmp `%s` on domain `%s`: %s", cmd,
			   virDomainGetName(d), desc ? desc : result);
		json_decref(j);
		free(result);
		return -1;
	}
	json_decref(j);
	if (answer)
		*answer = result;
	else
		free(result);
	return 0;
}

/* vmm_qmp's call on a domain (ctx). */
static int qmp_for_migration(void *ctx, const char *cmd, const char *args, char **answer,
			     kumo_error_t *err)
{
	return lv_qmp(ctx, cmd, args, -1, answer, err);
}

/* Hands fd to d's QEMU as `kumo-snapshot` and starts its incoming migration from it, or
 * from uri (a live migration's destination listening) when uri is not NULL. */
static int lv_incoming_start(virDomainPtr d, int fd, const char *uri, kumo_error_t *err)
{
	if (!uri && lv_qmp(d, "getfd", "{\"fdname\":\"kumo-snapshot\"}", fd, NULL, err) < 0)
		return -1;
	json_t *a = json_pack("{s:s}", "uri", uri ? uri : "fd:kumo-snapshot");
	autofree char *args = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return lv_qmp(d, "migrate-incoming", args, -1, NULL, err);
}

static int lv_create(struct vmm_vm *vm, kumo_error_t *err)
{
	if (!vm->priv)
		vm->priv = xzalloc(sizeof(struct lv_vm));
	if (vm->spec.control_socket)
		return kumo_error(err, KUMO_E_UNSUPPORTED, "vm `%s`: a pod's control channel needs the "
				  "qemu backend (libvirt's <console type='unix'> is not wired yet)",
				  vm->spec.name);
	virConnectPtr c = get_conn(vm->vmm, err);
	if (!c)
		return -1;
	/* The jail (vmm.h): QEMU runs as qemu.conf's user (deploy/start-libvirtd.sh), reads
	 * the run directory through its group, and joins the VM's memory and pids cgroups
	 * while it is still paused. */
	const struct vmm_jail *j = &vm->vmm->jail;
	int granted = vmm_jail_hand_run_dir(j, vm->spec.run_dir, err);
	autofree char *raw = xasprintf("%s/" VMM_RAW_EXIT, vm->spec.run_dir);
	const char *paths[] = {vm->spec.kernel, vm->spec.initrd, raw};
	for (size_t i = 0; granted == 0 && i < sizeof(paths) / sizeof(paths[0]); i++)
		granted = vmm_jail_grant_path(j, paths[i], err);
	for (size_t i = 0; granted == 0 && i < 2; i++)
		granted = paths[i] ? vmm_jail_check_readable(j, paths[i], err) : 0;
	for (size_t i = 0; granted == 0 && i < vm->spec.nshares; i++) {
		autofree char *in = xasprintf("%s/.", vm->spec.shares[i].host_path);
		granted = vmm_jail_grant_path(j, in, err);
	}
	if (granted < 0) {
		virConnectClose(c);
		return kumo_error_wrap(err, "vm `%s`", vm->spec.name);
	}
	autofree char *xml = vmm_domain_xml(&vm->spec, vm->vmm->accel, vm->incoming);
	virDomainPtr d = virDomainCreateXML(c, xml, VIR_DOMAIN_START_PAUSED);
	if (!d) {
		kumo_error(err, KUMO_E_INTERNAL, "libvirt create: %s", virGetLastErrorMessage());
		virConnectClose(c);
		return -1;
	}
	pid_t pid = read_pid(vm->spec.name);
	pthread_mutex_lock(&vm->lock);
	vm->pid = pid;
	pthread_mutex_unlock(&vm->lock);
	if (j->on) {
		int procs[2];
		size_t n = 0;
		int rc = vmm_jail_cgroup_create(j, &vm->spec, true, procs, &n, err);
		for (size_t i = 0; rc == 0 && i < n; i++)
			close(procs[i]);
		if (rc < 0 || pid <= 0 ||
		    vmm_jail_cgroup_join(j, vm->spec.name, true, pid, err) < 0) {
			if (rc == 0 && pid <= 0)
				kumo_error(err, KUMO_E_INTERNAL, "vm `%s`: no qemu pid from libvirt",
					   vm->spec.name);
			virDomainDestroy(d);
			virDomainFree(d);
			virConnectClose(c);
			vmm_jail_cgroup_remove(j, vm->spec.name);
			return -1;
		}
	}
	/* A restore: the state loads into QEMU inside its cgroups (lv_load_wait waits). */
	if (vm->incoming && lv_incoming_start(d, vm->incoming_fd, vm->incoming_uri, err) < 0) {
		virDomainDestroy(d);
		virDomainFree(d);
		virConnectClose(c);
		vmm_jail_cgroup_remove(j, vm->spec.name);
		return -1;
	}
	virDomainFree(d);
	virConnectClose(c);
	return 0;
}

/* Looks the VM's domain up on the current connection. */
static virDomainPtr lookup(struct vmm_vm *vm, virConnectPtr *conn, kumo_error_t *err)
{
	virConnectPtr c = get_conn(vm->vmm, err);
	if (!c)
		return NULL;
	virDomainPtr d = virDomainLookupByName(c, vm->spec.name);
	if (!d) {
		kumo_error(err, KUMO_E_NOT_FOUND, "libvirt domain `%s`: %s", vm->spec.name,
			   virGetLastErrorMessage());
		virConnectClose(c);
		return NULL;
	}
	*conn = c;
	return d;
}

static int lv_resume(struct vmm_vm *vm, kumo_error_t *err)
{
	virConnectPtr c;
	virDomainPtr d = lookup(vm, &c, err);
	if (!d)
		return -1;
	int rc = virDomainResume(d);
	if (rc < 0)
		kumo_error(err, KUMO_E_INTERNAL, "libvirt resume: %s", virGetLastErrorMessage());
	virDomainFree(d);
	virConnectClose(c);
	return rc < 0 ? -1 : 0;
}

static int lv_shutdown(struct vmm_vm *vm, kumo_error_t *err)
{
	virConnectPtr c;
	virDomainPtr d = lookup(vm, &c, err);
	if (!d)
		return -1;
	int rc = virDomainShutdownFlags(d, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN);
	if (rc < 0)
		kumo_error(err, KUMO_E_INTERNAL, "libvirt shutdown: %s", virGetLastErrorMessage());
	virDomainFree(d);
	virConnectClose(c);
	return rc < 0 ? -1 : 0;
}

static int lv_destroy(struct vmm_vm *vm, kumo_error_t *err)
{
	kumo_error_t lerr = NULL;
	virConnectPtr c;
	virDomainPtr d = lookup(vm, &c, &lerr);
	if (!d) {
		/* Already gone: report it now rather than wait for an event that came and
		 * went while we were not connected. */
		if (lerr->status == KUMO_E_NOT_FOUND) {
			kumo_error_free(&lerr);
			vmm_vm_gone(vm);
			return 0;
		}
		*err = lerr;
		return -1;
	}
	int rc = virDomainDestroy(d);
	/* Kept before the next call, which resets libvirt's last error. */
	autofree char *why = rc < 0 ? xstrdup(virGetLastErrorMessage()) : NULL;
	bool active = virDomainIsActive(d) == 1;
	if (rc < 0 && active)
		kumo_error(err, KUMO_E_INTERNAL, "libvirt destroy: %s", why);
	virDomainFree(d);
	virConnectClose(c);
	if (rc < 0 && active)
		return -1;
	vmm_vm_gone(vm); /* QEMU is dead: its files are complete; STOPPED may follow */
	return 0;
}

static int lv_stats(struct vmm_vm *vm, struct vmm_stats *out, kumo_error_t *err)
{
	virConnectPtr c;
	virDomainPtr d = lookup(vm, &c, err);
	if (!d)
		return -1;
	virDomainInfo info;
	int rc = virDomainGetInfo(d, &info);
	if (rc < 0) {
		kumo_error(err, KUMO_E_INTERNAL, "libvirt domain info: %s", virGetLastErrorMessage());
	} else {
		out->cpu_ns = info.cpuTime;
		virDomainMemoryStatStruct ms[VIR_DOMAIN_MEMORY_STAT_NR];
		int n = virDomainMemoryStats(d, ms, VIR_DOMAIN_MEMORY_STAT_NR, 0);
		for (int i = 0; i < n; i++)
			if (ms[i].tag == VIR_DOMAIN_MEMORY_STAT_RSS)
				out->memory_bytes = ms[i].val * 1024;
	}
	virDomainFree(d);
	virConnectClose(c);
	return rc < 0 ? -1 : 0;
}

static int lv_attach(struct vmm_vm *vm, enum vmm_state *state, kumo_error_t *err)
{
	if (!vm->priv)
		vm->priv = xzalloc(sizeof(struct lv_vm));
	virConnectPtr c = get_conn(vm->vmm, err);
	if (!c)
		return -1;
	virDomainPtr d = virDomainLookupByName(c, vm->spec.name);
	int rc = 0;
	if (d) {
		int st = 0, reason = 0;
		if (virDomainGetState(d, &st, &reason, 0) == 0 && st != VIR_DOMAIN_SHUTOFF &&
		    st != VIR_DOMAIN_SHUTDOWN && st != VIR_DOMAIN_CRASHED) {
			/* kumo pauses a domain only between create and start. */
			*state = st == VIR_DOMAIN_PAUSED ? VMM_STATE_CREATED : VMM_STATE_RUNNING;
			pid_t pid = read_pid(vm->spec.name);
			pthread_mutex_lock(&vm->lock);
			vm->pid = pid;
			pthread_mutex_unlock(&vm->lock);
			rc = 1;
		}
		virDomainFree(d);
	}
	virConnectClose(c);
	return rc;
}

static void lv_release(struct vmm_vm *vm)
{
	free(vm->priv);
	vm->priv = NULL;
}

/* ---- Snapshots (vmm/snapshot.c) ------------------------------------------------------ */

/* The same stream as the QEMU-direct backend's (qemu.c), so a snapshot loads on either:
 * libvirt pauses the guest (reason "user", which no check ends), the stream's fd goes to
 * QEMU with `getfd` through libvirt-qemu, and `migrate fd:` writes it. virDomainSave
 * would write libvirt's own save-image format (a header and the domain XML before the
 * stream) and end the domain. */
static int lv_save(struct vmm_vm *vm, int fd, kumo_error_t *err)
{
	virConnectPtr c;
	virDomainPtr d = lookup(vm, &c, err);
	if (!d)
		return -1;
	lv_set_saving(vm, true);
	struct vmm_qmp qmp = {.call = qmp_for_migration, .ctx = d};
	int rc = 0;
	/* The fd is handed over before the pause: the guest pauses only for the stream. */
	if (vmm_migrate_unthrottle(&qmp, 0, err) < 0 ||
	    lv_qmp(d, "getfd", "{\"fdname\":\"kumo-snapshot\"}", fd, NULL, err) < 0)
		rc = -1;
	bool handed = rc == 0; /* QEMU holds the fd until `migrate` takes it */
	if (rc == 0 && virDomainSuspend(d) < 0)
		rc = kumo_error(err, KUMO_E_INTERNAL, "libvirt suspend: %s", virGetLastErrorMessage());
	if (rc == 0 && lv_qmp(d, "migrate", "{\"uri\":\"fd:kumo-snapshot\"}", -1, NULL, err) < 0)
		rc = -1;
	else if (rc == 0)
		handed = false;
	if (rc == 0 && (vmm_migrate_wait(&qmp, NULL, 600000, NULL, err) < 0 ||
			vmm_migrate_settle(&qmp, err) < 0))
		rc = -1;
	kumo_error_t cerr = NULL;
	if (handed && lv_qmp(d, "closefd", "{\"fdname\":\"kumo-snapshot\"}", -1, NULL, &cerr) < 0)
		log_debug("vmm: vm `%s`: %s", vm->spec.name, kumo_error_msg(cerr));
	kumo_error_free(&cerr);
	virDomainFree(d);
	virConnectClose(c);
	return rc;
}

static int lv_save_end(struct vmm_vm *vm, bool resume, kumo_error_t *err)
{
	if (!resume)
		return 0; /* it stays paused until it is destroyed: its pauses stay ours */
	virConnectPtr c;
	virDomainPtr d = lookup(vm, &c, err);
	if (!d)
		return -1;
	int st = 0, reason = 0, rc = 0;
	/* A failed migration's QEMU resumed the guest itself. */
	if (virDomainGetState(d, &st, &reason, 0) < 0 || st == VIR_DOMAIN_PAUSED)
		if (virDomainResume(d) < 0)
			rc = kumo_error(err, KUMO_E_INTERNAL, "libvirt resume: %s",
					virGetLastErrorMessage());
	virDomainFree(d);
	virConnectClose(c);
	lv_set_saving(vm, false);
	return rc;
}

static int lv_migrate(struct vmm_vm *vm, const char *uri, uint64_t max_bandwidth,
		      struct vmm_snapshot_stats *st, kumo_error_t *err)
{
	virConnectPtr c;
	virDomainPtr d = lookup(vm, &c, err);
	if (!d)
		return -1;
	lv_set_saving(vm, true); /* QEMU pauses the guest for the last round: that pause is ours */
	struct vmm_qmp qmp = {.call = qmp_for_migration, .ctx = d};
	json_t *a = json_pack("{s:s}", "uri", uri);
	autofree char *args = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	struct vmm_migrate_result res = {0};
	int rc = 0;
	if (vmm_migrate_unthrottle(&qmp, max_bandwidth, err) < 0 ||
	    lv_qmp(d, "migrate", args, -1, NULL, err) < 0 ||
	    vmm_migrate_wait(&qmp, NULL, 3600000, &res, err) < 0)
		rc = -1;
	virDomainFree(d);
	virConnectClose(c);
	if (rc < 0)
		return -1;
	st->paused_ns = res.downtime_ms * 1000000ull;
	st->save_ns = res.total_ms * 1000000ull;
	st->stream_bytes = res.transferred;
	return 0;
}

static int lv_load_wait(struct vmm_vm *vm, kumo_error_t *err)
{
	virConnectPtr c;
	virDomainPtr d = lookup(vm, &c, err);
	if (!d)
		return -1;
	struct vmm_qmp qmp = {.call = qmp_for_migration, .ctx = d};
	int rc = vmm_migrate_wait(&qmp, vm->incoming_uri, vm->incoming_uri ? 3600000 : 600000,
				  NULL, err);
	virDomainFree(d);
	virConnectClose(c);
	if (rc < 0) {
		/* QEMU 7.2 exits when a stream does not load: its reason is in libvirt's log. */
		autofree char *first = libvirt_log_error(vm->spec.name);
		if (*first)
			return kumo_error_wrap(err, "%s", first);
	}
	return rc;
}

const struct vmm_ops vmm_libvirt_ops = {
	.name = "libvirt",
	.open = lv_open,
	.close = lv_close,
	.create = lv_create,
	.resume = lv_resume,
	.shutdown = lv_shutdown,
	.destroy = lv_destroy,
	.stats = lv_stats,
	.release = lv_release,
	.attach = lv_attach,
	.save = lv_save,
	.save_end = lv_save_end,
	.migrate = lv_migrate,
	.load_wait = lv_load_wait,
};

char *vmm_libvirtd_netns(void)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	char *out = NULL;
	if (kumo_read_file("/run/libvirtd.pid", 32, &buf, &len, &err) == 0) {
		int pid = atoi((char *)buf);
		autofree char *comm = xasprintf("/proc/%d/comm", pid);
		autofree uint8_t *name = NULL;
		size_t n = 0;
		/* A stale pid file may name another process now. */
		if (pid > 1 && kumo_read_file(comm, 64, &name, &n, &err) == 0 && n >= 8 &&
		    memcmp(name, "libvirtd", 8) == 0)
			out = xasprintf("/proc/%d/ns/net", pid);
	}
	kumo_error_free(&err);
	free(buf);
	return out;
}
