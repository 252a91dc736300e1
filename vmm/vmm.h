/* vmm/vmm.h - kumo's one VM interface: a typed VM spec and its lifecycle, with two
 * backends behind it (QEMU started directly, the default of kumod and `kumo run`;
 * libvirt), the guest console captured into CRI log files, and per-pod networking
 * through CNI (a pod network namespace, the cluster's plugins, a tap the VM uses with
 * a two-way redirect to the CNI interface).
 *
 * Lifecycle: vmm_create() makes the VM paused (CreateContainer), vmm_start() resumes it
 * (StartContainer; vmm_run() does both at once), vmm_wait() returns its exit, vmm_stop() asks the guest to stop and
 * destroys it when the grace period passes, vmm_vm_free() releases it (destroying it
 * first if it still runs). State changes are delivered to the connection's callback
 * from a backend thread (libvirt: its event loop; QEMU: the waiter thread). Both
 * backends let go of a running VM (vmm_vm_detach) and find it again (vmm_attach).
 *
 * The guest side of the contract (which serial port carries stdout, stderr and the exit
 * record, the record's format) is kernel/boot_abi.h: COM1 stdout, COM2 stderr, COM3
 * kernel log + exit record; vmm/ includes nothing else from kernel/ (and nothing from
 * compiler/). How a VM ended is the boot ABI's struct kumo_exit_record, decoded here
 * once. Each VM gets a run directory holding the raw serial streams; the console pump
 * follows them into the sinks (a raw fd and/or a CRI log file), so output written while
 * nobody reads is never lost, and the exit record is read back after power-off.
 *
 * The registry: a connection keeps its VMs by name (vmm_lookup). With a state
 * directory, a VM's run directory is <state_dir>/<name> and holds vm.json, what a
 * later process needs to find the VM again by its name alone (vmm_attach), and
 * vmm_remove ends a VM by name, also one an earlier process left behind.
 *
 * The accelerator (vmm/accel.c) is probed, never assumed: KVM counts as usable only when
 * kumo's own kernel, booted in probe mode under KVM (kernel/boot_abi.h), reports back
 * within a short deadline. The verdict and its reason are cached per host boot under
 * VMM_ACCEL_CACHE_DIR, keyed on the kernel build id, QEMU and /dev/kvm.
 *
 * Never hang: a VM that stops for anything but its app's exit (an accelerator error,
 * a guest panic through pvpanic, a reset, QEMU dying) or shows no sign of life (the
 * kernel's boot record on COM3) within its deadline is destroyed at once and exits
 * KUMO_EXIT_CRASHED with QEMU's first error line (or the cause) in the record's msg.
 *
 * Knobs from the environment (debugging and tests): KUMO_VM_CMDLINE (words appended to
 * every VM's kernel command line), KUMO_VM_QEMU_ARGS (words appended to QEMU's command
 * line, QEMU backend: the guest tests' variations, e.g. `-cpu qemu64`),
 * KUMO_VM_LIFE_DEADLINE_MS (the sign-of-life deadline when the spec gives none),
 * KUMO_VM_MIGRATE_MAX_BANDWIDTH (bytes per second for checkpoints and migrations, tests:
 * a slow migration to break off; default: unthrottled),
 * KUMO_ACCEL_CACHE_DIR (the verdict cache), KUMO_VM_JAIL=off (no jail: tests whose
 * fake QEMU lives where the jail's user cannot reach).
 *
 * All functions returning int return 0 (or a count) on success and -1 with *err set.
 */
#ifndef KUMO_VMM_H
#define KUMO_VMM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "kernel/boot_abi.h"

/* ---- Connections and backends -------------------------------------------------- */

enum vmm_backend {
	VMM_BACKEND_QEMU = 1, /* fork/exec qemu-system-x86_64 -M microvm; no daemon */
	VMM_BACKEND_LIBVIRT,  /* transient libvirt domains over one connection */
};

enum vmm_accel {
	VMM_ACCEL_AUTO = 0, /* KVM when the probe says it runs kumo guests, TCG otherwise */
	VMM_ACCEL_KVM,
	VMM_ACCEL_TCG,
};

enum vmm_state {
	VMM_STATE_CREATED = 1, /* exists, paused, guest not yet run */
	VMM_STATE_RUNNING,
	VMM_STATE_STOPPING,    /* stop requested, grace period running */
	VMM_STATE_EXITED,      /* gone; the exit is known */
};

enum vmm_event_type {
	VMM_EVENT_STARTED = 1, /* resumed: the guest runs */
	VMM_EVENT_OUTPUT,      /* the guest's first console byte arrived (once per VM) */
	VMM_EVENT_EXITED,      /* the VM is gone; vmm_vm_exit() is valid */
	VMM_EVENT_DISCONNECTED,/* libvirt connection lost (reconnect is automatic) */
	VMM_EVENT_RECONNECTED, /* libvirt connection re-established */
};

struct vmm;    /* one backend connection (libvirt: one per daemon) */
struct vmm_vm; /* one VM */
struct vmm_spec;

struct vmm_event {
	enum vmm_event_type type; /* what happened */
	struct vmm_vm *vm;        /* the VM, NULL for connection events */
	uint64_t time_ns;         /* kumo_now_ns() when kumo learned it */
};

/* Called from a backend thread; must not call vmm_close() or vmm_vm_free(). */
typedef void (*vmm_event_fn)(const struct vmm_event *ev, void *ctx);

struct vmm_config {
	enum vmm_backend backend; /* which backend */
	const char *uri;          /* libvirt URI, NULL: "qemu:///system" */
	const char *qemu_binary;  /* QEMU backend, NULL: "qemu-system-x86_64" */
	enum vmm_accel accel;     /* AUTO by default: resolved with vmm_accel_resolve() and
				   * the probe fields below (no probe_kernel: TCG); KVM
				   * only checks that /dev/kvm opens (the caller probed) */
	vmm_event_fn on_event;    /* may be NULL */
	void *event_ctx;          /* passed to on_event */
	const char *state_dir;    /* VMs' run directories: <state_dir>/<name>; NULL: each spec
				   * names its own and VMs cannot be attached by name */
	const char *probe_kernel; /* AUTO: kumo kernel image to probe KVM with, NULL: none */
	const char *kernel_id;    /* its kernel build id (the verdict cache key) */
	const char *accel_cache_dir; /* NULL: $KUMO_ACCEL_CACHE_DIR, else VMM_ACCEL_CACHE_DIR */
	const char *dev_kvm;      /* the KVM device checked for KVM, NULL: "/dev/kvm" (tests) */
	const char *libvirt_netns;/* libvirt: the network namespace libvirtd opens taps in (a
				   * namespace file), NULL: vmm_libvirtd_netns() at each use */
	bool jail_off;            /* QEMU runs as this process's user without a cgroup of its
				   * own (kumo.json "jail": false); its seccomp sandbox stays */
	const char *jail_user;    /* QEMU's user when jailed, NULL: VMM_JAIL_USER */
	const char *cgroup_root;  /* where cgroups are mounted, NULL: VMM_JAIL_CGROUP_ROOT */
	unsigned jail_memory_overhead_mib; /* QEMU's own memory above guest RAM in its
				   * cgroup's limit, 0: VMM_JAIL_MEMORY_OVERHEAD_MIB */
};

/* Opens a connection (libvirt: connects and starts its event loop thread; QEMU: checks
 * the binary). The connection is re-established transparently when libvirtd restarts. */
int vmm_open(const struct vmm_config *cfg, struct vmm **out, kumo_error_t *err);
/* Closes the connection; VMs still held are let go of (vmm_vm_detach: they keep
 * running). NULL is fine. */
void vmm_close(struct vmm *vmm);
/* "qemu" or "libvirt". */
const char *vmm_backend_name(const struct vmm *vmm);
/* The accelerator VMs of this connection use: "kvm" or "tcg" (AUTO resolved). */
const char *vmm_accel_name(const struct vmm *vmm);
/* The version of QEMU the connection runs (`qemu --version`, asked once; "" when it
 * cannot be run): snapshots record it and restores compare it (vmm/snapshot.c). */
const char *vmm_conn_qemu_version(struct vmm *vmm);
/* Why (the verdict's reason when AUTO was resolved here, "" otherwise). */
const char *vmm_accel_reason(const struct vmm *vmm);
/* True when /dev/kvm can be opened read-write by this process (it may still be unable
 * to run kumo guests: see vmm_accel_verdict). */
bool vmm_kvm_usable(void);
/* The network namespace file of the local libvirtd ("/proc/<pid>/ns/net" from its pid
 * file /run/libvirtd.pid), NULL when no libvirtd runs here (malloc'd). */
char *vmm_libvirtd_netns(void);

/* ---- The accelerator choice (vmm/accel.c) --------------------------------------- */

#define VMM_ACCEL_CACHE_DIR "/run/kumo"  /* verdicts live for the host's boot */
#define VMM_ACCEL_PROBE_DEADLINE_MS 1500 /* probe VM start → probe record */

/* "auto", "kvm", "tcg" → *out; anything else is KUMO_E_INVALID naming the value. */
int vmm_accel_parse(const char *s, enum vmm_accel *out, kumo_error_t *err);
const char *vmm_accel_str(enum vmm_accel a); /* "auto", "kvm", "tcg" */

/* What a verdict depends on; a change of any field means probing again. */
struct vmm_accel_key {
	char kernel_id[96];  /* the kumo kernel's build id */
	char qemu[320];      /* QEMU: resolved binary path, inode, size, mtime */
	char kvm[160];       /* /dev/kvm: device number, inode, the KVM vendor modules */
	char boot_id[64];    /* /proc/sys/kernel/random/boot_id */
};

/* Whether KVM runs kumo guests here, and why. */
struct vmm_accel_verdict {
	bool kvm_usable;         /* the probe reported back under KVM */
	bool pvm;                /* /dev/kvm belongs to PVM (/sys/module/kvm_pvm) */
	bool cached;             /* read from the cache: no probe ran this time */
	bool transient;          /* not cached (a timeout may not happen again) */
	char reason[320];        /* "kvm: ok, probe 41 ms", "kvm: no /dev/kvm",
				  * "kvm: PVM host, guest not PVM-aware",
				  * "kvm: internal error in probe: <QEMU's first error line>" */
	char detail[256];        /* QEMU's first error line of the probe, "" when none */
	char qemu_version[128];  /* `qemu-system-x86_64 --version`'s first line, "" unknown */
	uint64_t probe_ns;       /* what the probe cost (QEMU start to its end), 0: none */
	int64_t probed_at;       /* wall-clock seconds of the probe, 0: none */
};

/* Where and how to probe. NULL paths mean the real ones (tests point them elsewhere). */
struct vmm_accel_probe {
	const char *qemu_binary;  /* NULL: "qemu-system-x86_64" from PATH */
	const char *kernel;       /* kumo kernel image booted in probe mode (kumo.probe) */
	const char *kernel_id;    /* its build id */
	/* kernel NULL: called when a probe must run (not on a cache hit) for an image
	 * (*path malloc'd) whose build id is kernel_id. */
	int (*get_kernel)(void *ctx, char **path, kumo_error_t *err);
	void *get_kernel_ctx;
	const char *cache_dir;    /* NULL: $KUMO_ACCEL_CACHE_DIR, else VMM_ACCEL_CACHE_DIR */
	int deadline_ms;          /* 0: VMM_ACCEL_PROBE_DEADLINE_MS */
	const char *dev_kvm;      /* "/dev/kvm" */
	const char *sys_module;   /* "/sys/module" */
	const char *boot_id_path; /* "/proc/sys/kernel/random/boot_id" */
};

/* The verdict for this host: no /dev/kvm (or one that does not open) needs no probe;
 * otherwise the cached verdict for the current key, else a probe (kernel booted under
 * KVM in probe mode, QEMU-direct, deadline_ms) whose verdict is cached (an unwritable
 * cache directory only costs a probe per call). Fails only when the host key cannot
 * be read (no QEMU binary, no kernel id); a failed probe is a verdict, not an error. */
int vmm_accel_verdict(const struct vmm_accel_probe *p, struct vmm_accel_verdict *out,
		      kumo_error_t *err);
/* The choice: TCG as asked (no probe); KVM when the verdict says so, else an error
 * (KUMO_E_UNAVAILABLE) naming the verdict's reason; AUTO: KVM or TCG by the verdict.
 * *out is KVM or TCG; *v (may be NULL) gets the verdict (zeroed for TCG). */
int vmm_accel_resolve(enum vmm_accel want, const struct vmm_accel_probe *p, enum vmm_accel *out,
		      struct vmm_accel_verdict *v, kumo_error_t *err);

/* The pieces, exposed for tests. */
int vmm_accel_host_key(const struct vmm_accel_probe *p, struct vmm_accel_key *out,
		       kumo_error_t *err);
/* The cache file for key under dir (malloc'd). */
char *vmm_accel_cache_path(const char *dir, const struct vmm_accel_key *key);
/* 1 and *out when path holds a verdict for exactly key; 0 when it is absent, for
 * another key, or not a verdict (corrupt). */
int vmm_accel_cache_load(const char *path, const struct vmm_accel_key *key,
			 struct vmm_accel_verdict *out);
int vmm_accel_cache_store(const char *path, const struct vmm_accel_key *key,
			  const struct vmm_accel_verdict *v, kumo_error_t *err);
/* The first line of QEMU's stderr that is not a warning, "" when none (malloc'd). */
char *vmm_qemu_first_error(const char *log_path);

/* ---- The host's TSC rate for TCG guests (vmm/tsc.c) ------------------------------- */
/* QEMU's TCG guest reads the host's TSC; a connection resolved to TCG hands every guest
 * the rate (kernel/boot_abi.h kumo.tsc_khz), sparing it its PIT calibration. The rate is
 * measured against CLOCK_MONOTONIC_RAW between the connection's open and a create or
 * its close at least 20 ms later, and cached for the host's boot beside the accelerator
 * verdicts (<accel cache dir>/tsc-<boot id>), so one process measures and later ones
 * read. A host whose TSC is not constant caches 0: its guests calibrate as before. */

/* A TSC reading and CLOCK_MONOTONIC_RAW taken together. */
struct vmm_tsc_mark {
	uint64_t tsc; /* the TSC */
	uint64_t ns;  /* CLOCK_MONOTONIC_RAW, ns; 0: no mark */
};
void vmm_tsc_mark(struct vmm_tsc_mark *m);
/* The rate in kHz: the one cached under cache_dir for this boot; else, when since (may
 * be NULL) is at least 20 ms old, measured from it and cached; 0 when unknown. */
uint32_t vmm_tsc_khz(const struct vmm_tsc_mark *since, const char *cache_dir);

/* ---- The jail around QEMU (vmm/jail.c) -------------------------------------------- */
/*
 * Defence in depth below the hypervisor boundary (Firecracker's jailer is the mark): a
 * guest that escapes QEMU should find an unprivileged process in a seccomp filter whose
 * memory and task count are capped.
 *
 *   user     QEMU runs as VMM_JAIL_USER (a system user deploy/install-deps.sh creates),
 *            with the `kvm` group for /dev/kvm. QEMU-direct: kumod forks, joins the VM's
 *            cgroups, drops to that user and execs QEMU; everything QEMU needs is opened by
 *            kumod and handed over as fds (kernel, initrd, the tap, the run directory, the
 *            re-attach monitor's listening socket), the run directory is group-owned by
 *            that user (mode 0750) and only the raw console files in it are the user's.
 *            A VM with shares keeps the capabilities virtio-9p's passthrough needs to act
 *            on the host's files as their owners (CAP_CHOWN, CAP_DAC_OVERRIDE,
 *            CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID: what QEMU's own
 *            virtfs-proxy-helper keeps), as ambient capabilities of that user; no other.
 *            libvirt: qemu.conf's user/group (deploy/start-libvirtd.sh).
 *   seccomp  QEMU's own sandbox, VMM_QEMU_SANDBOX (both backends; libvirt adds the same
 *            by itself, seccomp_sandbox = 1).
 *   cgroup   one per VM, <cgroup root>/<controller>/kumo/<vm name> on cgroup v1 (the memory
 *            and pids hierarchies; these hosts are v1 + an empty v2 mount), or
 *            <cgroup root>/kumo/<vm name> when the root is cgroup v2: memory limit = guest
 *            RAM + the overhead, pids limit = VMM_JAIL_PIDS_BASE + 2 per vCPU. QEMU
 *            joins them while it builds its machine, paused (-S): vmm_start waits for
 *            that, so no guest instruction runs outside them. libvirt: kumod moves the
 *            paused QEMU into the same groups (libvirt's own cgroups stay cpu, cpuacct).
 *            Removed when the VM is gone.
 *
 * The jail applies when this process is root and vmm_config.jail_off is false; otherwise
 * QEMU runs as the caller (`kumo run` as a user) with its seccomp sandbox only.
 */
#define VMM_JAIL_USER "kumo-qemu"
#define VMM_JAIL_CGROUP_ROOT "/sys/fs/cgroup"
#define VMM_JAIL_CGROUP_PARENT "kumo"
#define VMM_JAIL_MEMORY_OVERHEAD_MIB 256 /* QEMU's RSS under TCG with a running guest:
					  * ~40 MiB, plus translated code and 9p buffers */
#define VMM_JAIL_PIDS_BASE 96            /* QEMU's threads: main, RCU, I/O, a worker pool
					  * of up to 64 (9p); plus 2 per vCPU */
#define VMM_QEMU_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

struct vmm_jail {
	bool on;               /* QEMU is jailed (root, and not turned off) */
	char user[64];         /* its user's name */
	uid_t uid;             /* its uid */
	gid_t gid;             /* its primary group */
	gid_t kvm_gid;         /* the `kvm` group (supplementary), (gid_t)-1: none */
	int cgroup_version;    /* 1 (memory + pids hierarchies) or 2 (unified root) */
	char cgroup_root[256]; /* the mount of the hierarchies, VMM_JAIL_CGROUP_ROOT */
	unsigned overhead_mib; /* QEMU's allowance above guest RAM */
};

/* Fills *out from cfg: off (no error) when cfg->jail_off or this process is not root;
 * else resolves the user (KUMO_E_PRECONDITION naming it when it does not exist, and how
 * to create it) and the cgroup layout (KUMO_E_UNAVAILABLE when neither a v2 root nor v1
 * memory and pids hierarchies are mounted there), and removes VM cgroups older than a
 * minute that hold no task (left by a QEMU whose starter was killed before it). */
int vmm_jail_init(const struct vmm_config *cfg, struct vmm_jail *out, kumo_error_t *err);
/* Process-wide defaults for the jail fields a vmm_config leaves unset (kumod sets them
 * once from kumo.json, before any vmm_open): off, the user (copied; NULL: default), the
 * memory overhead (0: default). */
void vmm_jail_set_defaults(bool off, const char *user, unsigned overhead_mib);
/* The limits of spec's VM: bytes of memory (guest RAM + overhead) and tasks. */
uint64_t vmm_jail_memory_limit(const struct vmm_jail *j, const struct vmm_spec *spec);
unsigned vmm_jail_pids_limit(const struct vmm_spec *spec);
/* The VM's cgroup directory for controller ("memory" or "pids"; one directory on v2),
 * malloc'd. */
char *vmm_jail_cgroup_dir(const struct vmm_jail *j, const char *controller, const char *name);
/* Creates the VM's cgroups (reusing leftovers) with the limits for spec, and opens
 * their cgroup.procs for writing (close-on-exec) into procs[] (*nprocs: 1 on v2, 2 on
 * v1; memory's first). memory false: only pids (libvirt's QEMU is in its own memory
 * cgroup). On error nothing stays open. */
int vmm_jail_cgroup_create(const struct vmm_jail *j, const struct vmm_spec *spec, bool memory,
			   int procs[2], size_t *nprocs, kumo_error_t *err);
/* Moves pid (all its threads) into the VM's cgroups made with memory as above. */
int vmm_jail_cgroup_join(const struct vmm_jail *j, const char *name, bool memory, pid_t pid,
			 kumo_error_t *err);
/* Whether the kernel's OOM killer acted in the VM's memory cgroup. */
bool vmm_jail_oom_killed(const struct vmm_jail *j, const char *name);
/* The jail's DAC part of a VM's run directory: traversable (not writable) by QEMU's
 * group (root:<group> 0750), the raw console files it has QEMU's to append to. No-op when the
 * jail is off. */
int vmm_jail_hand_run_dir(const struct vmm_jail *j, const char *run_dir, kumo_error_t *err);
/* Lets the jail's user reach path (libvirt's QEMU opens the kernel, initrd and shares
 * by path): each directory above it that the user may not search gets an ACL entry
 * user:<jail user>:--x (search only: no listing, no reading). No-op when the jail is
 * off. The entries stay (the directories may outlive the VM). */
int vmm_jail_grant_path(const struct vmm_jail *j, const char *path, kumo_error_t *err);
/* KUMO_E_PERMISSION naming path when the jail's user may not read the file itself (its
 * mode bits for that user; the directories above are another matter: fds or ACLs). */
int vmm_jail_check_readable(const struct vmm_jail *j, const char *path, kumo_error_t *err);
/* Removes the VM's cgroups (empty once QEMU is gone); missing ones are fine. */
void vmm_jail_cgroup_remove(const struct vmm_jail *j, const char *name);

/* ---- The VM spec --------------------------------------------------------------- */

/* Network attachment: an existing tap and the guest's MAC. */
struct vmm_net_attach {
	const char *tap;  /* tap device name, e.g. "kc1a2b3c4d5e6f" */
	uint8_t mac[6];   /* guest MAC address */
	const char *netns;/* a pod's network (vmm_podnet_setup): the namespace file holding
			   * the tap and the CNI interface. QEMU: vmm opens the tap there
			   * and hands QEMU the fd (-netdev tap,fd=N). libvirt, which opens
			   * taps by name in libvirtd's namespace (vmm_config.libvirt_netns):
			   * vmm brings the tap there for the create, then back into netns
			   * with the redirect to ifname. NULL: the tap is in this process's
			   * namespace and QEMU opens it by name */
	const char *ifname; /* with netns: the CNI interface, NULL: VMM_PODNET_IFNAME */
	bool has_fd;      /* QEMU backend only: hand QEMU fd instead of letting it open tap
			   * by name; the libvirt backend refuses it */
	int fd;           /* with has_fd: an open queue of the tap; the caller keeps it and
			   * may close it once vmm_create returned */
};

/* ---- A NIC that reaches nothing (vmm/nicstub.c) ---------------------------------------
 * For a VM that needs a pod VM's devices without a pod (a pod kernel booted once for a
 * template snapshot, restored onto each pod's own tap later): a tap alone in a network
 * namespace of its own, pinned at dir/name (so QEMU sees the same tap device, and offers
 * the guest the same NIC features, as on a pod's tap). *att gets what vmm_spec.net takes
 * (its strings borrowed from *netns and a constant; the MAC is mac), *netns (malloc'd)
 * what vmm_nic_stub_remove takes (idempotent: the tap and the namespace go). */
int vmm_nic_stub_create(const char *dir, const char *name, const uint8_t mac[6],
			struct vmm_net_attach *att, char **netns, kumo_error_t *err);
int vmm_nic_stub_remove(const char *netns, kumo_error_t *err);

/* CPU controls (libvirt <cputune>; QEMU-direct applies none). */
struct vmm_cputune {
	uint64_t shares;    /* libvirt <shares>, 0: default */
	uint64_t period_us; /* CFS period, 0: none */
	int64_t quota_us;   /* CFS quota per vCPU period, 0: none */
};

/* A host directory shared live with the guest over virtio-9p (QEMU -fsdev local,
 * security_model=passthrough; libvirt <filesystem accessmode='passthrough'>): the
 * guest reads and writes the host's files in place, as whoever QEMU runs as (root
 * for kumod), and sees their real owners and modes. The boot config names the share
 * by its tag (kernel/boot_abi.h "Host shares"). */
struct vmm_share {
	const char *host_path; /* absolute path of an existing host directory */
	const char *tag;       /* mount tag: 1 to 63 of [A-Za-z0-9_.-], unique in the VM */
	bool readonly;         /* QEMU refuses writes as well (the guest already does) */
};

struct vmm_spec {
	const char *name;      /* unique VM name: [A-Za-z0-9_.-], at most 64 chars */
	const char *kernel;    /* PVH ELF kernel image (absolute path) */
	const char *initrd;    /* initrd (boot config + rootfs), NULL: none */
	const char *cmdline;   /* kernel command line, NULL: empty */
	unsigned memory_mib;   /* guest RAM */
	unsigned vcpus;        /* vCPUs, at least 1 */
	struct vmm_cputune cputune; /* zeroes: none */
	const char *run_dir;   /* per-VM directory for raw console files and vm.json
				* (created); NULL: <state_dir>/<name> */
	int stdout_fd;         /* guest stdout bytes copied here as they arrive, -1: none */
	int stderr_fd;         /* guest stderr bytes copied here, -1: none */
	const char *log_path;  /* CRI log file (kubelet's log_path), NULL: none */
	bool console_stream;   /* QEMU backend: COM1 and COM2 reach the sinks through
				* sockets instead of raw files in run_dir (no file, no
				* inotify: `kumo run`); the VM cannot be re-attached
				* (vmm_attach refuses it), COM3 stays a file. A guest that
				* writes faster than the sinks take waits (its UART) */
	const struct vmm_net_attach *net; /* NULL: no network device */
	const struct vmm_share *shares;   /* host directories shared live, in order */
	size_t nshares;
	const char *control_socket; /* pod VM (kernel/pod_abi.h): the unix socket path QEMU
				     * serves the control channel's virtio-console on (the
				     * caller connects, and reconnects after a restart); NULL:
				     * none. QEMU backend only, for now */
	unsigned life_deadline_ms; /* no boot record on COM3 this long after vmm_start:
				    * the VM is dead (destroyed, KUMO_EXIT_CRASHED). 0:
				    * $KUMO_VM_LIFE_DEADLINE_MS, else VMM_LIFE_DEADLINE_MS */
};

#define VMM_LIFE_DEADLINE_MS 10000

/* The raw serial streams in a VM's run directory, appended to by QEMU/libvirt
 * (kernel/boot_abi.h): COM1 (the app's stdout; a pod VM's record stream,
 * kernel/pod_abi.h), COM2 (stderr), COM3 (kernel log, boot and exit records). A VM with
 * console_stream has only COM3's. */
#define VMM_RAW_STDOUT "stdout.raw"
#define VMM_RAW_STDERR "stderr.raw"
#define VMM_RAW_EXIT "exit.raw"

/* ---- A pod's staged mounts (vmm/stage.c) ------------------------------------------ */

/* A pod's VMs see the pod's mounts through two shares that can exist for the pod's
 * whole life, so that a VM booted before its containers' mounts are known (the pod VM,
 * kernel/pod_abi.h; microvm cannot hot-plug a device) gets them all the same: the
 * staging directory's ro/ (shared with readonly=on, tag VMM_STAGE_TAG_RO) and rw/ (tag
 * VMM_STAGE_TAG_RW). Each mount of a container is bind-mounted there as one entry, the
 * source itself (a directory on a directory, a regular file on a file: a VM is never
 * handed the directory around a file it was given, such as kubelet's pod directory,
 * which holds every volume of the pod); the guest mounts the entry by name (boot config
 * `mounts[].entry`, kernel/boot_abi.h). The bind is recursive (submounts of the source
 * come along) and private; every entry is nosuid, nodev and noexec, so a device node or
 * set-uid file created through a writable share cannot be used through it; a read-only
 * entry is read-only on the host too, down to its submounts. QEMU's 9p server resolves
 * every walk in the share's current tree, so an entry bound after QEMU started is seen
 * (multidevs=remap keeps the inode numbers of different devices apart). QEMU must run
 * in the mount namespace of whoever binds (the QEMU backend; libvirt with kumo's
 * qemu.conf `namespaces = [ ]`). Binding needs CAP_SYS_ADMIN.
 *
 * The layout is the caller's (kumod: <root>/mounts/<pod id>, entries
 * "<container id's first 40 hex digits>-<mount index>"). Nothing here ever removes what
 * was bound: an entry is removed only after it is unmounted (the kernel refuses to
 * remove a mount point), and the directories only with rmdir. Not thread-safe for one
 * dir: callers serialise bind, unbind and remove of the same staging directory. */
#define VMM_STAGE_TAG_RO "pod-ro" /* the share of <dir>/ro */
#define VMM_STAGE_TAG_RW "pod-rw" /* the share of <dir>/rw */

/* Creates dir with both sides, empty (what a pod VM shares from its boot). */
int vmm_stage_open(const char *dir, kumo_error_t *err);
/* Binds source (symlinks on it followed) at <dir>/ro/<entry> or <dir>/rw/<entry>,
 * creating the side. entry is one name; a leftover entry of that name is unbound first.
 * KUMO_E_NOT_FOUND: no source; KUMO_E_UNSUPPORTED: neither a directory nor a regular
 * file; KUMO_E_PRECONDITION: not allowed to mount. On error no entry is left. */
int vmm_stage_bind(const char *dir, const char *entry, const char *source, bool readonly,
		   kumo_error_t *err);
/* Unbinds and removes every entry of both sides whose name starts with prefix ("" or
 * NULL: all). Returns how many, or -1 (the entries that could go are gone). */
int vmm_stage_unbind(const char *dir, const char *prefix, kumo_error_t *err);
/* Unbinds and removes every entry for which keep(name, ctx) is false (a sweep after a
 * restart). Returns how many, or -1. */
int vmm_stage_sweep(const char *dir, bool (*keep)(const char *entry, void *ctx), void *ctx,
		    kumo_error_t *err);
/* Removes the sides and dir if they are empty; leaves them otherwise. */
void vmm_stage_remove(const char *dir);
/* <dir>/ro or <dir>/rw, malloc'd: the host path of that share. */
char *vmm_stage_side(const char *dir, bool readonly);

/* ---- Lifecycle ------------------------------------------------------------------ */

/* Creates the VM paused: QEMU started with -S / a transient libvirt domain created
 * with VIR_DOMAIN_START_PAUSED. The console pump starts here, so nothing the guest
 * writes is missed. *out is owned by the caller (vmm_vm_free). */
int vmm_create(struct vmm *vmm, const struct vmm_spec *spec, struct vmm_vm **out,
	       kumo_error_t *err);
/* The same, returning once QEMU is started but before it has built the machine (QEMU
 * backend; libvirt: as vmm_create): the spec is checked, the VM registered (the
 * one-tap-one-VM check made) and its record written now; a QEMU that then gives up
 * ends the VM (KUMO_EXIT_CRASHED, "qemu did not start: ..."), and vmm_start, which
 * waits for the machine, fails saying so. CreateContainer uses it: the machine is built
 * while kubelet gets to StartContainer. */
int vmm_create_async(struct vmm *vmm, const struct vmm_spec *spec, struct vmm_vm **out,
		     kumo_error_t *err);
/* vmm_create and vmm_start in one step (`kumo run`, which needs no paused phase). QEMU
 * backend: the commands that end QEMU's start-up and resume the guest are sent together,
 * so the guest runs as soon as QEMU has built its machine (and, jailed, joined its
 * cgroups, as ever before any guest instruction), with no round trip through the
 * caller in between; libvirt: a create, then a resume. Returns with the VM RUNNING and
 * the STARTED event delivered. */
int vmm_run(struct vmm *vmm, const struct vmm_spec *spec, struct vmm_vm **out,
	    kumo_error_t *err);
/* Resumes a created VM (waiting for an asynchronous create to finish building it). */
int vmm_start(struct vmm_vm *vm, kumo_error_t *err);
/* Waits for the VM to exit: timeout_ms < 0 waits forever. Returns 1 and fills *out
 * when it exited, 0 on timeout. */
int vmm_wait(struct vmm_vm *vm, int timeout_ms, struct kumo_exit_record *out,
	     kumo_error_t *err);
/* Asks the guest to power off (ACPI power button), waits grace_ms, then destroys it.
 * Returns when the VM is gone. Stopping an exited VM is a no-op. */
int vmm_stop(struct vmm_vm *vm, int grace_ms, kumo_error_t *err);
/* Releases the VM, destroying it first if it still runs, and removes nothing from
 * run_dir (the caller owns it). NULL is fine. */
void vmm_vm_free(struct vmm_vm *vm);

/* The VM of this connection called name, held until vmm_vm_put (a vmm_vm_free or
 * vmm_remove of it waits for that); NULL when the connection has none. */
struct vmm_vm *vmm_lookup(struct vmm *vmm, const char *name);
void vmm_vm_put(struct vmm_vm *vm);

/* Recovery after a restart: finds VM `name` again from <state_dir>/<name>/vm.json
 * (libvirt: the domain; QEMU: the process in qemu.pid, driven through the monitor QEMU
 * keeps on qmp.sock for this, watched through a pidfd). When it still runs (or waits
 * paused) it comes back RUNNING (or CREATED) and console capture resumes from the
 * offsets saved in the run directory, so no line is lost or repeated; when it ended
 * meanwhile, it comes back EXITED with the exit record's code. No vm.json: KUMO_E_NOT_FOUND.
 * A QEMU that runs without that monitor (started by an older kumo) fails with an error
 * naming it. */
int vmm_attach(struct vmm *vmm, const char *name, struct vmm_vm **out, kumo_error_t *err);

/* Ends VM `name` and forgets it: destroyed if this connection holds it, else a QEMU an
 * earlier process left running (vm.json's pid, when its command line names the VM) is
 * killed; then its run directory <state_dir>/<name> is removed. Nothing left is fine. */
int vmm_remove(struct vmm *vmm, const char *name, kumo_error_t *err);
/* Lets go of the VM without stopping it (kumod shutting down): the console pump
 * drains and saves its offsets, the handle is freed. NULL is fine. */
void vmm_vm_detach(struct vmm_vm *vm);

enum vmm_state vmm_vm_state(struct vmm_vm *vm);
const char *vmm_vm_name(const struct vmm_vm *vm);
/* QEMU's host pid, or 0 when unknown. */
pid_t vmm_vm_pid(struct vmm_vm *vm);
/* Fills *out (and *exited_ns, may be NULL: kumo_now_ns() when kumo learned of the end)
 * when the VM exited; returns false while it runs. */
bool vmm_vm_exit(struct vmm_vm *vm, struct kumo_exit_record *out, uint64_t *exited_ns);
/* True once the VM was started (vmm_start, or attached after it had been). */
bool vmm_vm_started(struct vmm_vm *vm);
/* kumo_now_ns() of the first console byte, 0 while none arrived. */
uint64_t vmm_vm_first_output_ns(struct vmm_vm *vm);
/* Re-opens the CRI log file (kubelet rotated it: ReopenContainerLog). */
int vmm_vm_reopen_log(struct vmm_vm *vm, kumo_error_t *err);

struct vmm_stats {
	uint64_t cpu_ns;       /* guest CPU time, all vCPUs */
	uint64_t memory_bytes; /* host memory in use for the guest (QEMU RSS) */
	uint64_t guest_mib;    /* configured guest RAM */
};
int vmm_vm_stats(struct vmm_vm *vm, struct vmm_stats *out, kumo_error_t *err);

/* ---- Snapshots (vmm/snapshot.c) ---------------------------------------------------- */
/*
 * A VM's whole state (guest memory, vCPU and device state: the app's linear memory, the
 * kernel, its open files and sockets) saved with QEMU's own migration stream and loaded
 * into a new QEMU. A snapshot is a directory:
 *   qemu.state    the migration stream (`migrate fd:` on either backend; QEMU 7.2 has no file:)
 *   kernel.log    COM3 up to the checkpoint (the boot record; the exit record follows it)
 *   kernel.elf    the kernel image the VM was started with (QEMU loads it before the
 *   initrd.img    stream overwrites memory; the device set must match the saved one)
 *   vm.json       VMM_SNAPSHOT_VM_VERSION, memory, vCPUs, command line, MAC, share tags,
 *                 control channel, the accelerator and the QEMU version it was saved by
 * The archive around it (manifest, digests, kumo's records) is vmm_archive_*.
 *
 * What migrates under QEMU 7.2 (measured): microvm with the ISA serial ports, pvpanic,
 * virtio-mmio net (tap) and virtio-serial (a pod VM's control channel). A virtio-9p share
 * the guest has mounted (attached) blocks migration ("Migration is disabled when VirtFS
 * export path ... is mounted in the guest"): QEMU lifts that only when the guest clunks
 * its attach fid, which kumo's kernel never does while the mount exists; such a VM is
 * refused with QEMU's reason (share tags alone, never mounted, are fine). Both backends
 * save, restore and migrate with the same stream (libvirt through libvirt-qemu's monitor
 * passthrough, vmm/libvirt.c), so a snapshot made by one loads on the other. A
 * snapshot taken under one accelerator or QEMU version is refused by another.
 */
#define VMM_SNAPSHOT_VM_VERSION 1
#define VMM_SNAPSHOT_STATE "qemu.state"
#define VMM_SNAPSHOT_KERNEL_LOG "kernel.log"
#define VMM_SNAPSHOT_KERNEL "kernel.elf"
#define VMM_SNAPSHOT_INITRD "initrd.img"
#define VMM_SNAPSHOT_VM "vm.json"

struct vmm_snapshot_stats {
	uint64_t paused_ns;    /* checkpoint: the guest's pause (stop → resumed or destroyed);
				* restore: QEMU start → state loaded */
	uint64_t save_ns;      /* checkpoint: the stream written; restore: the stream read */
	uint64_t stream_bytes; /* the migration stream's size */
	uint64_t com1_bytes;   /* checkpoint: bytes in the run directory's COM1 file
				* (VMM_RAW_STDOUT) when the guest was paused: all it wrote
				* there before the saved state (a pod VM's record stream) */
};

/* Saves the running VM into dir (created; must not hold a snapshot already): the guest
 * is paused, its state written, then resumed (leave_running) or destroyed (its exit is
 * KILLED, as after vmm_stop). A failed save resumes it. st may be NULL. */
int vmm_checkpoint(struct vmm_vm *vm, const char *dir, bool leave_running,
		   struct vmm_snapshot_stats *st, kumo_error_t *err);

/* What the restoring side decides: everything else comes from the snapshot. */
struct vmm_restore_spec {
	const char *name;      /* the new VM's name (as vmm_spec.name) */
	const char *run_dir;   /* as vmm_spec.run_dir */
	int stdout_fd;         /* as vmm_spec */
	int stderr_fd;
	const char *log_path;  /* CRI log file, NULL: none */
	const struct vmm_net_attach *net; /* required when the snapshot has a NIC (its MAC
				* is the snapshot's: the guest knows it), refused otherwise */
	const struct vmm_share *shares; /* the host directories for the snapshot's share
				* tags, NULL: the paths recorded at the checkpoint */
	size_t nshares;
	const char *control_socket; /* required when the snapshot has a control channel */
	const char *incoming;  /* a live migration's destination: QEMU listens at this URI
				* ("tcp:ADDR:PORT") for the source's vmm_migrate instead of
				* reading dir's qemu.state (which need not exist); vmm_restore
				* returns once the whole state arrived. NULL: the snapshot */
	const uint8_t *com1_seed; /* what the new COM1 file starts with (borrowed, NULL:
				* empty): a pod VM's record that the save cut, whose rest
				* the restored guest writes */
	size_t com1_seed_len;
};

/* Writes dir's snapshot files but the stream (vm.json, kernel.log, kernel.elf,
 * initrd.img): what a live migration's destination needs first. */
int vmm_snapshot_describe(struct vmm_vm *vm, const char *dir, kumo_error_t *err);

/* Live migration (pre-copy): sends the running VM's state to a destination that
 * listens at uri ("tcp:HOST:PORT": vmm_restore with incoming), the guest running
 * meanwhile and paused only for the last round (QEMU's default downtime limit, 300 ms).
 * On success the VM here is destroyed (its exit is KILLED, as after a stop) and st gets
 * QEMU's downtime (paused_ns), total time (save_ns), bytes sent and the COM1 file's
 * length at the last pause (com1_bytes); on failure (the destination refused, vanished
 * or broke off) the VM goes on running here. o may be NULL. */
struct vmm_migrate_opts {
	uint64_t max_bandwidth; /* bytes per second, 0: unthrottled (or the environment's
				 * KUMO_VM_MIGRATE_MAX_BANDWIDTH) */
	/* Called once the destination has the whole state, the guest here paused for good
	 * and st filled: a caller's last step before the source ends (a pod VM hands its
	 * record stream's cut over). Its failure resumes the guest here and fails the
	 * migration (the destination, which waits for that step, gives up). NULL: none. */
	int (*completed)(void *ctx, const struct vmm_snapshot_stats *st, kumo_error_t *err);
	void *ctx;
};
int vmm_migrate(struct vmm_vm *vm, const char *uri, const struct vmm_migrate_opts *o,
		struct vmm_snapshot_stats *st, kumo_error_t *err);
/* Ends an outgoing live migration QEMU may still run from vm (one a process that died
 * started: QEMU goes on without its monitor) and waits until it has let go; *status
 * (malloc'd, may be NULL) gets QEMU's migration status then: "none", "cancelled",
 * "failed", or "completed" (the destination has the state; the guest here is paused).
 * A backend without migrations answers "none". */
int vmm_migrate_cancel(struct vmm_vm *vm, char **status, kumo_error_t *err);

/* Creates a VM from the snapshot in dir, paused with its state loaded (CREATED):
 * vmm_start resumes the guest where it was saved. Refuses (KUMO_E_PRECONDITION) a
 * snapshot of another accelerator or QEMU version, or of an unknown vm.json version. */
int vmm_restore(struct vmm *vmm, const char *dir, const struct vmm_restore_spec *rs,
		struct vmm_vm **out, struct vmm_snapshot_stats *st, kumo_error_t *err);

/* ---- Snapshot archives (vmm/archive.c) ------------------------------------------------ */
/*
 * One file carrying a snapshot and kumo's records about it: an uncompressed POSIX tar
 * (ustar) whose FIRST member is manifest.json:
 *   {"format": "kumo-snapshot", "version": 1, "created": "<RFC 3339 UTC>",
 *    "kernel_id": "sha256:...", "compiler_id": "...", "accel": "tcg", "qemu": "7.2.22 ...",
 *    "modules": ["sha256:...", ...],
 *    "files": [{"name": "vm/qemu.state", "size": N, "digest": "sha256:..."}, ...]}
 * then every file the manifest lists, once each, as regular files: vm/<snapshot file>
 * (VMM_SNAPSHOT_*; without vm/qemu.state it is a description, what a live migration's
 * destination restores with incoming) and records/<name> (kumo's records, e.g. the pod's and container's
 * CRI configs). Opening one verifies it before anything uses it: the format and version,
 * member names (relative, no `..`, listed), sizes and sha256 digests, nothing missing or
 * extra, then the kernel and compiler builds against this node's. The digests catch a
 * damaged or altered member; they do not authenticate whoever wrote the manifest (no
 * signature).
 */
#define VMM_ARCHIVE_FORMAT "kumo-snapshot"
#define VMM_ARCHIVE_VERSION 1
#define VMM_ARCHIVE_MANIFEST "manifest.json"

/* The builds a snapshot depends on: the guest kernel talks to the host side (boot ABI,
 * pod ABI records, control channel) with that build's protocol, so another build on
 * the restoring node is refused. */
struct vmm_archive_ids {
	const char *kernel_id;        /* the kernel build id (builder_kernel_id) */
	const char *compiler_id;      /* kumo_compiler_id() */
	const char *const *modules;   /* the modules' digests in the VM, NULL-terminated
				       * (may be NULL) */
};

/* One of kumo's records stored beside the VM (records/<name>). */
struct vmm_archive_record {
	const char *name; /* [A-Za-z0-9_.-]+ */
	const void *data;
	size_t len;
};

/* Writes the archive of snapshot directory snap_dir (vmm_checkpoint's) with recs to path
 * (atomically: a temporary file renamed). *size (may be NULL) gets its bytes. */
int vmm_archive_write(const char *path, const char *snap_dir, const struct vmm_archive_ids *ids,
		      const struct vmm_archive_record *recs, size_t nrecs, uint64_t *size,
		      kumo_error_t *err);

/* A verified archive, unpacked. */
struct vmm_archive {
	char *snap_dir;            /* <work_dir>/vm: a snapshot directory for vmm_restore */
	char *kernel_id;           /* the manifest's */
	char *compiler_id;
	char *accel;
	char *qemu;
	char *created;
	char **modules;            /* NULL-terminated */
	struct vmm_archive_record *records; /* data malloc'd, NUL-terminated */
	size_t nrecords;
};

/* Reads path into work_dir (created, must be empty or absent) and verifies it (above).
 * here: this node's builds; a field that is NULL is not compared. Errors:
 * KUMO_E_INVALID for a file that is not a kumo snapshot, is truncated or altered
 * (naming the member and both digests), KUMO_E_UNSUPPORTED for another format version,
 * KUMO_E_PRECONDITION for another kernel or compiler build (naming both). On error
 * nothing is left in work_dir. */
int vmm_archive_open(const char *path, const char *work_dir, const struct vmm_archive_ids *here,
		     struct vmm_archive **out, kumo_error_t *err);
/* The record called name, NULL when the archive has none. */
const struct vmm_archive_record *vmm_archive_record(const struct vmm_archive *a,
						    const char *name);
/* Record name of a decoded as JSON (a new reference), NULL when it is missing or no JSON. */
json_t *vmm_archive_record_json(const struct vmm_archive *a, const char *name);
void vmm_archive_free(struct vmm_archive *a); /* the unpacked files stay; NULL is fine */

/* ---- Boot ABI exit record -------------------------------------------------------- */

/* Parses the exit channel's bytes (COM3: kernel log lines and the exit record of
 * kernel/boot_abi.h, "KUMO-EXIT v=1 status=N kind=K[ trap=T] msg=M\n"; the last
 * complete record wins) into *out. Returns 0, or -1 when no valid record is there. */
int vmm_parse_exit_record(const char *buf, size_t len, struct kumo_exit_record *out);

/* ---- Files reported at exit ------------------------------------------------------ */

/* Called once per file the guest reported (kernel/boot_abi.h KUMO-FILE records): its
 * path in the guest and its bytes (borrowed). A negative return stops the walk. */
typedef int (*vmm_exit_file_fn)(const char *guest_path, const uint8_t *data, size_t len,
				void *ctx);
/* Calls fn for each valid KUMO-FILE record in buf (the exit channel's bytes; other lines
 * and malformed records are skipped), in order. Returns how many, or -1 when fn failed. */
int vmm_parse_file_records(const char *buf, size_t len, vmm_exit_file_fn fn, void *ctx);
/* The same for the exit channel of the VM whose run directory is run_dir (the VM has
 * ended: the records precede its exit record). Returns how many files, or -1. */
int vmm_exit_files(const char *run_dir, vmm_exit_file_fn fn, void *ctx, kumo_error_t *err);

/* ---- Resources ------------------------------------------------------------------ */

#define VMM_MEMORY_FLOOR_MIB 16 /* KUMO_BOOT_MIN_RAM_BYTES (kernel/boot_abi.h) in MiB */
#define VMM_MEMORY_DEFAULT_MIB 64
#define VMM_VCPUS_MAX 64

/* ---- Domain XML (libvirt backend; pure, golden-tested) -------------------------- */

/* The transient domain's XML for spec; accel is KVM or TCG (resolved); incoming: a
 * restore, QEMU started with `-incoming defer` (the state follows over its monitor).
 * Caller frees. */
char *vmm_domain_xml(const struct vmm_spec *spec, enum vmm_accel accel, bool incoming);
/* The QEMU command line for spec (NULL-terminated argv; caller frees with
 * vmm_argv_free). */
char **vmm_qemu_argv(const char *qemu_binary, const struct vmm_spec *spec, enum vmm_accel accel);
void vmm_argv_free(char **argv);

/* ---- CRI log writer -------------------------------------------------------------- */

enum vmm_stream { VMM_STDOUT = 0, VMM_STDERR = 1 };

#define VMM_CRILOG_MAX_LINE 16384 /* longer lines are split into P records */

struct vmm_crilog; /* one CRI log file fed by a container's two streams */

/* Opens (append, create 0640) path. clock_ns: wall-clock source (NULL: CLOCK_REALTIME;
 * tests pass a fake). */
int vmm_crilog_open(const char *path, uint64_t (*clock_ns)(void), struct vmm_crilog **out,
		    kumo_error_t *err);
/* Feeds raw bytes of one stream: each complete line becomes
 * "<RFC3339Nano> <stdout|stderr> F <line>\n"; a line longer than VMM_CRILOG_MAX_LINE is
 * written as P records of that size, then F for its rest; an unfinished line is kept
 * until its newline arrives or vmm_crilog_flush(). A "\r\n" ending drops the '\r'. */
int vmm_crilog_write(struct vmm_crilog *log, enum vmm_stream stream, const void *buf,
		     size_t len, kumo_error_t *err);
/* Writes the unfinished lines: as P when final is false (the stream continues), as F
 * when final is true (the stream ended). */
int vmm_crilog_flush(struct vmm_crilog *log, bool final, kumo_error_t *err);
/* Re-opens the path (after kubelet rotated the file). */
int vmm_crilog_reopen(struct vmm_crilog *log, kumo_error_t *err);
void vmm_crilog_close(struct vmm_crilog *log); /* flushes as F; NULL is fine */

/* ---- Host resolvers (vmm/resolv.c) ---------------------------------------------- */

/* The host's IPv4 resolvers a guest can use, from resolv_path (NULL:
 * "/etc/resolv.conf"): loopback resolvers (127.0.0.0/8, e.g. systemd-resolved's
 * 127.0.0.53) are unreachable from a VM and skipped; when every listed resolver is a
 * loopback one, the upstream list systemd-resolved keeps in
 * /run/systemd/resolve/resolv.conf is read instead (only when resolv_path is NULL).
 * Fills up to max addresses and returns how many (0: none usable, the caller falls
 * back). IPv6 resolvers are skipped (the guest network is IPv4). */
size_t vmm_net_host_dns(const char *resolv_path, char out[][16], size_t max);

/* ---- Pod networking through CNI ------------------------------------------------- */
/*
 * A pod's network as the node's CNI configuration gives it (spec v1.0.0; the first
 * .conflist/.conf/.json file of conf_dir, plugins on plugin_path), taken over by the VM
 * the way Kata and urunc do it:
 *
 *   vmm_podnet_setup   records the attachment, makes the pod's network namespace
 *                      (netns_dir/<pod id>), runs CNI ADD (the plugins create the CNI
 *                      interface, eth0, and its address), makes the pod's tap and
 *                      redirects all traffic both ways between eth0 and the tap (tc
 *                      ingress + mirred), and returns what the guest needs: eth0's MAC
 *                      and MTU, the result's address, gateway, routes and DNS.
 *   the VM             takes the pod's tap through vmm_net_attach.netns: QEMU gets an
 *                      fd of it opened inside the namespace; libvirt opens taps by
 *                      name in its own namespace, so vmm_create brings the tap there,
 *                      lets libvirt open it, then moves it back into the pod namespace
 *                      (the open queue keeps working across the move) and installs
 *                      the redirect again.
 *   vmm_podnet_teardown  deletes the tap, runs CNI DEL (reverse order, prevResult = the
 *                      recorded result), removes the namespace and the record.
 *   vmm_podnet_recover   after a restart: tears down every recorded pod that is not
 *                      live or whose setup never finished.
 *
 * Every ADD is recorded on disk (state_dir/<pod id>.json, written atomically) BEFORE it
 * runs, with the exact network configuration and arguments, and its result after, so
 * every ADD gets its DEL with the same configuration: after a stop, a failed setup or a
 * kill -9 anywhere in between. Operations on one pod are serialised by a lock file
 * (state_dir/<pod id>.lock); different pods run in parallel. No `ip`, `tc` or iptables
 * process is run by kumo (plugins run what they run).
 */
#define VMM_PODNET_IFNAME "eth0"
#define VMM_PODNET_NETNS_DIR "/run/kumo/netns"
#define VMM_PODNET_STATE_SUBDIR "cni"       /* under the state root: <root>/cni */
#define VMM_PODNET_NOT_READY "NetworkPluginNotReady" /* CRI NetworkReady reason */
#define VMM_PODNET_DEFAULT_FILE "99-kumo.conflist"   /* vmm_podnet_write_default's: last
						      * in byte order, so a cluster plugin's
						      * list written later wins */
#define VMM_PODNET_DEFAULT_CIDR "10.88.0.0/16"      /* the default list's subnet */
#define VMM_PODNET_MAX_ROUTES 16
#define VMM_PODNET_MAX_DNS 8

struct vmm_podnet_config {
	const char *conf_dir;    /* network configurations, NULL: "/etc/cni/net.d" */
	const char *conf_file;   /* use this file instead of conf_dir's first, NULL: none */
	const char *plugin_path; /* ':'-separated plugin dirs, NULL: "/opt/cni/bin:/usr/lib/cni" */
	const char *netns_dir;   /* namespace pins, NULL: VMM_PODNET_NETNS_DIR */
	const char *state_dir;   /* per-pod records (required), e.g. /var/lib/kumo/cni */
	const char *host_netns;  /* namespace file of the namespace libvirtd opens taps in
				  * (where tap_in_host makes the tap, and where teardown
				  * looks for one a crash left there), NULL: this process's */
	const char *ifname;      /* CNI_IFNAME, NULL: "eth0" */
	int timeout_ms;          /* per plugin run, 0: 60 s */
};

struct vmm_port_mapping {    /* the "portMappings" capability: one hostPort */
	int protocol;          /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint16_t host_port;    /* 0: not published */
	uint16_t container_port;
	const char *host_ip;   /* NULL or "": all addresses */
};

struct vmm_bandwidth {       /* the "bandwidth" capability: bits per second, bits */
	uint64_t ingress_rate;
	uint64_t ingress_burst;
	uint64_t egress_rate;
	uint64_t egress_burst;
};

struct vmm_dns_config {      /* the "dns" capability (the pod's CRI DNSConfig) */
	const char *const *servers;
	size_t nservers;
	const char *const *searches;
	size_t nsearches;
	const char *const *options;
	size_t noptions;
};

struct vmm_podnet_pod {
	const char *id;          /* the sandbox id: CNI_CONTAINERID and K8S_POD_INFRA_CONTAINER_ID;
				  * [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 chars */
	const char *name;        /* K8S_POD_NAME, NULL: not passed */
	const char *namespace;   /* K8S_POD_NAMESPACE, NULL: not passed */
	const char *uid;         /* K8S_POD_UID, NULL: not passed */
	const struct vmm_port_mapping *ports; /* the "portMappings" capability; entries
				  * without host_port are not published */
	size_t nports;
	const struct vmm_bandwidth *bandwidth; /* NULL: none */
	const struct vmm_dns_config *dns;      /* NULL: none */
	bool tap_in_host;        /* make the tap in host_netns instead of the pod's namespace
				  * (vmm_create moves it where its backend needs it) */
	const char *ip;          /* the IPv4 address to ask the IPAM for (CNI_ARGS IP=, which
				  * host-local honours: a restored pod keeps the address its
				  * guest has), NULL: any */
};

struct vmm_podnet_route {
	char dst[16];            /* destination network, dotted quad */
	unsigned prefix;         /* its prefix length */
	char gw[16];             /* next hop, "" when none given */
};

/* What a pod's network is, for the VM and for CRI (PodSandboxStatus). */
struct vmm_podnet {
	char id[129];            /* the pod */
	char network[128];       /* the CNI network's name */
	char netns[256];         /* path of the namespace pin */
	char tap[16];            /* the tap's name */
	bool tap_in_host;        /* where the tap is now (looked up): host_netns (true) or
				  * the pod's namespace */
	uint8_t mac[6];          /* the CNI interface's MAC: give it to the guest */
	unsigned mtu;            /* the CNI interface's MTU: give it to the guest (the kernel
				  * caps it at 1500) */
	char address[16];        /* the result's IPv4 address on the CNI interface */
	unsigned prefix;         /* its prefix length */
	unsigned onlink_prefix;  /* the prefix the guest should configure: prefix when the
				  * subnet is on-link (bridge), 32 when the plugin routes it
				  * through the gateway (ptp) */
	char gateway[16];        /* the guest's one gateway: the default route's next hop
				  * (its gw, else the ip's gateway); without a default
				  * route, the next hop of the result's other routes; ""
				  * when no route leaves the subnet */
	struct vmm_podnet_route routes[VMM_PODNET_MAX_ROUTES]; /* the result's IPv4 routes */
	size_t nroutes;
	char dns_servers[VMM_PODNET_MAX_DNS][46]; /* the result's DNS (the pod's CRI
				  * DNSConfig, when there is one, is what Kubernetes uses) */
	size_t ndns_servers;
	char dns_search[VMM_PODNET_MAX_DNS][254];
	size_t ndns_search;
	char dns_domain[254];
	char dns_options[VMM_PODNET_MAX_DNS][64];
	size_t ndns_options;
};

/* Sets the pod's network up (see above) and fills *out. Calling it again for a pod set
 * up before returns the recorded setup when its namespace is still there; a record of
 * a setup that never finished is torn down first. On failure every step taken is
 * undone (CNI DEL included) and the error names the step; a plugin's error carries the
 * plugin's own message. */
int vmm_podnet_setup(const struct vmm_podnet_config *cfg, const struct vmm_podnet_pod *pod,
		     struct vmm_podnet *out, kumo_error_t *err);
/* The recorded setup of a pod: 1 and *out when there is a finished one, 0 when none. */
int vmm_podnet_get(const struct vmm_podnet_config *cfg, const char *pod_id,
		   struct vmm_podnet *out, kumo_error_t *err);
/* CNI CHECK of the pod's attachment (a no-op for lists with disableCheck). */
int vmm_podnet_check(const struct vmm_podnet_config *cfg, const char *pod_id, kumo_error_t *err);
/* Tears the pod's network down: tap, CNI DEL, namespace, record. A pod without a
 * record is fine (idempotent). When DEL fails the record stays, so a later teardown
 * or vmm_podnet_recover retries it. */
int vmm_podnet_teardown(const struct vmm_podnet_config *cfg, const char *pod_id,
			kumo_error_t *err);
/* Tears down every recorded pod for which live(pod_id, ctx) is false (live NULL: none
 * is live) and every pod whose setup never finished, and removes namespace pins in
 * netns_dir that no record owns. Returns how many pods it tore down; on errors goes on
 * with the others and returns -1 with the first error. */
int vmm_podnet_recover(const struct vmm_podnet_config *cfg,
		       bool (*live)(const char *pod_id, void *ctx), void *ctx, kumo_error_t *err);
/* True when a network configuration and every plugin it names are present; else
 * false and *message (caller frees) says what is missing (report it with reason
 * VMM_PODNET_NOT_READY). */
bool vmm_podnet_ready(const struct vmm_podnet_config *cfg, char **message);
/* The default network list for a fresh node (deploy/cni/99-kumo.conflist is it for
 * VMM_PODNET_DEFAULT_CIDR): network "kumo", bridge "cni0" as the pods' gateway with
 * masquerade and hairpin, host-local addresses from cidr with a default route, portmap
 * for hostPorts, loopback. NULL cidr: VMM_PODNET_DEFAULT_CIDR. Caller frees. */
char *vmm_podnet_default_conflist(const char *cidr);
/* Writes it as conf_dir/VMM_PODNET_DEFAULT_FILE when conf_dir holds no network
 * configuration, or rewrites it when that file is the only one, is unmodified and
 * cidr (kubelet's UpdateRuntimeConfig) differs. *written says whether it wrote. */
int vmm_podnet_write_default(const char *conf_dir, const char *cidr, bool *written,
			     kumo_error_t *err);

#endif /* KUMO_VMM_H */
