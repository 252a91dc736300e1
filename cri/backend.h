/* cri/backend.h - the seam between kumod's CRI handlers and the stages behind them,
 * one vtable per stage, driven by the handlers in the pod's order:
 *
 *   images   (struct cri_images)  PullImage: imagestore pulls, then builder compiles the
 *                                 module, and an image that does not compile is removed
 *                                 again; list, status, remove, file-system usage.
 *   pod network (struct cri_podnet) RunPodSandbox/StopPodSandbox: whether pods get a
 *                                 network, the pod's address, and the NIC a container's
 *                                 VM takes (tap, MAC, address, gateway, resolvers).
 *   VMs      (struct cri_vms)     CreateContainer: builder prepares the container's
 *                                 artifact and vmm creates its VM paused; Start, Stop,
 *                                 Remove, status, stats, log reopening; a VM's end comes
 *                                 back through the stage's on_exit.
 *
 * Real stages: cri/images.c, cri/pod_network.c, cri/vms.c (imagestore/, builder/,
 * vmm/); the fake ones for tests: tests/support/fake_backend.c. The handlers
 * (cri/runtime_*.c, cri/image_service.c) own the CRI state machine and persistence.
 *
 * Rules for implementations:
 *   - every call may be slow (pull, compile, boot) and is made WITHOUT kumod's state
 *     lock held; calls for different ids may run concurrently, so a stage locks its own
 *     data; cri never runs two calls for the same container at once;
 *   - errors fill `err` with a kumo_error status (cri/grpc_status.c maps it to a gRPC
 *     code) and a message a user understands;
 *   - strings in out-structs are malloc'd and owned by the caller (free with the
 *     matching *_clear function below);
 *   - VMs outlive kumod: after a restart cri asks vms->status for each container it
 *     knows and the stage re-attaches (or reports the exit that happened meanwhile).
 */
#ifndef KUMO_CRI_BACKEND_H
#define KUMO_CRI_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "kernel/boot_abi.h"

/* ---- images ----------------------------------------------------------------------- */

/* One image as the store knows it: what ImageService reports, and what the build stage
 * needs to make a container of it. */
struct cri_image_info {
	char *id;            /* "sha256:<hex>" of the image config (or manifest) */
	char **repo_tags;    /* "registry/repo:tag", NULL-terminated, may be empty */
	char **repo_digests; /* "registry/repo@sha256:<hex>", NULL-terminated */
	uint64_t size;       /* bytes on disk */
	bool pinned;         /* never garbage collected */
	char *module_path;   /* the .wasm to run, NULL: the image names none */
	char *module_digest; /* its "sha256:<hex>" (the build cache's key) */
	char **entrypoint;   /* image config Entrypoint, NULL-terminated (may be empty) */
	char **cmd;          /* Cmd */
	char **env;          /* Env, "K=V" */
	char *working_dir;   /* WorkingDir, NULL: none */
	char *rootfs;        /* unpacked layers, NULL: none */
	char *checkpoint_path; /* a checkpoint image (imagestore.h): its snapshot archive,
			      * whose VM a container of it is restored from (no module);
			      * NULL: a Wasm image */
	char **annotations;  /* the image manifest's annotations: key, value, ...,
			      * NULL-terminated (may be NULL or empty) */
};
void cri_image_info_clear(struct cri_image_info *info);

/* Registry credentials from PullImage (all may be NULL). */
struct cri_auth {
	const char *username;
	const char *password;
	const char *auth;           /* base64 "user:password" */
	const char *identity_token;
	const char *registry_token;
};

/* Usage of the file system holding images (ImageFsInfo). */
struct cri_fs_usage {
	char *mountpoint;     /* directory the store lives in */
	uint64_t used_bytes;  /* bytes used by images and build cache */
	uint64_t inodes_used; /* files used */
};

struct cri_images;
struct cri_images_ops {
	/* Fetches `ref` and compiles its module (a cache hit when an earlier pull had the
	 * same module), so that no later call compiles; *image_id is the image's id. An
	 * image whose module does not compile is not kept. A checkpoint image is stored
	 * as it came (nothing to compile). */
	int (*pull)(struct cri_images *s, const char *ref, const struct cri_auth *auth,
		    char **image_id, kumo_error_t *err);
	int (*list)(struct cri_images *s, struct cri_image_info **infos, size_t *n,
		    kumo_error_t *err);
	/* Fills *info, or fails with KUMO_E_NOT_FOUND. */
	int (*status)(struct cri_images *s, const char *ref, struct cri_image_info *info,
		      kumo_error_t *err);
	/* Removing an absent image succeeds. */
	int (*remove)(struct cri_images *s, const char *ref, kumo_error_t *err);
	int (*fs_info)(struct cri_images *s, struct cri_fs_usage *usage, kumo_error_t *err);
	/* Whether `ref` is an image this stage runs (a WebAssembly image), asked of its
	 * registry without pulling it (a mixed node routes PullImage by it): *is_wasm, and
	 * *what (malloc'd) saying what the registry has, for messages ("linux/amd64").
	 * Fails when the registry cannot tell (unreachable, unknown reference, refused);
	 * quickly: one attempt. */
	int (*probe)(struct cri_images *s, const char *ref, const struct cri_auth *auth,
		     bool *is_wasm, char **what, kumo_error_t *err);
	void (*destroy)(struct cri_images *s);
};
struct cri_images {
	const struct cri_images_ops *ops;
	void *priv; /* the implementation's own data */
};

/* ---- pod network -------------------------------------------------------------------- */

/* A port the pod's container listens on (from PodSandboxConfig.port_mappings). */
struct cri_port {
	int protocol;        /* 0 TCP, 1 UDP, 2 SCTP (runtime.v1.Protocol) */
	int32_t container_port;
	int32_t host_port;   /* 0: none */
	const char *host_ip; /* "" for any */
};

/* What a pod needs from the network. */
struct cri_pod_spec {
	const char *id;        /* pod sandbox id */
	const char *name;      /* metadata.name */
	const char *namespace; /* metadata.namespace */
	const char *uid;       /* metadata.uid */
	const char *hostname;  /* config.hostname */
	const char *pod_cidr;  /* from UpdateRuntimeConfig, "" until kubelet sent one */
	const struct cri_port *ports;
	size_t n_ports;
	const char *const *dns_servers;  /* config.dns_config, NULL-terminated (may be NULL) */
	const char *const *dns_searches;
	const char *const *dns_options;
	const char *ingress_bandwidth; /* the pod's kubernetes.io/ingress-bandwidth annotation
					* (a quantity, bits per second), NULL: none */
	const char *egress_bandwidth;  /* kubernetes.io/egress-bandwidth, NULL: none */
	bool host_network;     /* namespace_options.network == NODE: a VM cannot share the
				* node's network, so the pod gets no NIC and no IP */
	const char *ip;        /* the address to ask for (annotation CRI_ANNOTATION_IP: a
				* restored pod's), NULL: any */
};

/* The pod's network interface as a container's VM takes it. */
struct cri_pod_nic {
	char tap[16];       /* the tap the VM uses, in the pod's network namespace */
	char netns[256];    /* that namespace (a pinned namespace file): the VM stage hands
			     * both to vmm, which takes the tap from there */
	uint8_t mac[6];     /* the guest's MAC (the CNI interface's) */
	char address[24];   /* "A.B.C.D/P", P the on-link prefix (32 when the plugin routes
			     * the subnet through the gateway) */
	char gateway[16];   /* default route, "" for none */
	unsigned mtu;       /* the CNI interface's, capped at the guest kernel's 1500 */
	char dns[3][16];    /* resolvers for a pod without DNSConfig servers: the CNI
			     * result's, else the node's usable ones */
	size_t ndns;
	char search[6][254];/* search domains for a pod without DNSConfig searches: the CNI
			     * result's */
	size_t nsearch;
};

struct cri_podnet;
/* Says whether the pod with this sandbox id is alive for cri (recover). */
typedef bool (*cri_pod_live_fn)(const char *pod_id, void *ctx);

struct cri_podnet_ops {
	/* Whether pods get a network; when not, *reason and *message (malloc'd) say why. */
	bool (*ready)(struct cri_podnet *s, char **reason, char **message);
	/* Sets up the pod's network: *ip (malloc'd) is its address, "" when the pod runs
	 * without a network. On failure nothing of it is left. */
	int (*setup)(struct cri_podnet *s, const struct cri_pod_spec *pod, char **ip,
		     kumo_error_t *err);
	/* The NIC of a pod set up with address ip. */
	int (*nic)(struct cri_podnet *s, const char *pod_id, const char *ip,
		   struct cri_pod_nic *out, kumo_error_t *err);
	/* Idempotent. */
	int (*teardown)(struct cri_podnet *s, const char *pod_id, kumo_error_t *err);
	/* kubelet's pod CIDR (UpdateRuntimeConfig) arrived or changed. NULL: nothing to do. */
	int (*update_cidr)(struct cri_podnet *s, const char *cidr, kumo_error_t *err);
	/* After a restart, once cri knows its pods: tears down the network of every pod
	 * live() says is not alive (and of setups a crash interrupted). NULL: nothing. */
	int (*recover)(struct cri_podnet *s, cri_pod_live_fn live, void *ctx, kumo_error_t *err);
	void (*destroy)(struct cri_podnet *s);
};
struct cri_podnet {
	const struct cri_podnet_ops *ops;
	void *priv; /* the implementation's own data */
};

/* ---- VMs ---------------------------------------------------------------------------- */

/* A mount of the pod made visible to the app (ConfigMap, Secret, emptyDir, hostPath). */
struct cri_mount {
	const char *container_path;
	const char *host_path;
	bool readonly;
};

/* Everything needed to build and boot one container; all borrowed from cri. */
struct cri_container_spec {
	const char *id;          /* container id (64 hex) */
	const char *pod_id;      /* its pod */
	const char *name;        /* metadata.name */
	uint32_t attempt;        /* metadata.attempt */
	const char *image;       /* image as requested (ImageSpec.image) */
	const struct cri_image_info *image_info; /* the image it resolved to */
	const char *const *argv; /* command then args; NULL-terminated, may be empty */
	const char *const *env;  /* "KEY=VALUE", NULL-terminated */
	const char *working_dir; /* "" for the image default */
	const char *log_path;    /* absolute CRI log file path, "" for none */
	const struct cri_mount *mounts;
	size_t n_mounts;
	const struct cri_port *ports; /* the pod's container ports: preopened sockets */
	size_t n_ports;
	const struct cri_pod_nic *nic; /* the pod's NIC, NULL when the pod has no network */
	const char *hostname;    /* pod hostname */
	const char *const *dns_servers;  /* the pod's DNSConfig.servers, NULL-terminated */
	const char *const *dns_searches; /* the pod's DNSConfig.searches, NULL-terminated */
	int64_t memory_limit_bytes; /* 0: default */
	int64_t cpu_quota;          /* linux resources, 0: unset */
	int64_t cpu_period;
	int64_t cpu_shares;
	const char *restore_dir; /* a verified, unpacked snapshot (vmm_archive_open's
				  * snap_dir): the VM is restored from it instead of built and
				  * booted (RestorePod); NULL: a new VM */
	const char *restore_incoming; /* with restore_dir: the state arrives by a live
				  * migration at this URI ("tcp:ADDR:PORT"), not from the
				  * snapshot; create returns once it has all arrived */
	const char *ports_annotation; /* kubelet's io.kubernetes.container.ports annotation
				       * (JSON: the container's own ports), NULL: none */
	bool stdin;              /* config.stdin: the app reads what attach sends on fd 0 */
};

/* How a checkpoint is taken (cri_vms_ops.checkpoint). */
struct cri_checkpoint_opts {
	bool leave_running;     /* the VM goes on after the save */
	bool describe_only;     /* no state: what a migration's destination needs first */
	const char *migrate_to; /* live migration to this URI ("tcp:HOST:PORT"), NULL: none */
	uint64_t max_bandwidth; /* a migration's, bytes per second; 0: unthrottled */
};

/* One of kumo's records stored in a snapshot archive beside the VM (vmm.h). */
struct cri_record {
	const char *name; /* "pod.json", "container.json", "kumo.json" */
	const void *data;
	size_t len;
};

/* A pod VM restored from a snapshot (RestorePod of a pod VM's archive): the verified,
 * unpacked snapshot (vmm_archive_open's snap_dir) and the archive's records, the VM
 * stage's own among them (what cri_vms_ops.pod_checkpoint added). */
struct cri_pod_restore {
	const char *dir;
	const struct cri_record *recs;
	size_t nrecs;
	/* A pod VM's live migration (dir is a describe_only archive's): the state arrives at
	 * incoming ("tcp:ADDR:PORT"), then the source writes what the pause left in its
	 * record stream to incoming_tail (an absolute path, required with incoming: the
	 * caller checks it; cri/podvm_snap.c), which the restore waits for. NULL: a
	 * snapshot's restore. */
	const char *incoming;
	const char *incoming_tail;
};

/* A pod VM (kernel/pod_abi.h): what RunPodSandbox boots when the VM stage runs pods as
 * one VM (cri_vms_ops.pod_run); all borrowed from cri. */
struct cri_pod_vm_spec {
	const char *id;                  /* pod sandbox id */
	const char *name;                /* metadata.name (the kernel log's) */
	const struct cri_pod_nic *nic;   /* the pod's NIC, NULL: loopback only */
	const char *hostname;            /* config.hostname */
	const char *const *dns_servers;  /* DNSConfig.servers, NULL-terminated (may be NULL) */
	const char *const *dns_searches; /* DNSConfig.searches */
	int64_t memory_limit_bytes;      /* LinuxPodSandboxConfig.resources (the sum of the
					  * containers' limits), 0: none */
	const struct cri_pod_restore *restore; /* RestorePod: the VM comes from this snapshot
					  * instead of a boot (its size and devices are the
					  * snapshot's), paused until pod_resume; NULL: boot */
};

/* The size of a container's VM, from its CRI resources. */
struct cri_vm_size {
	unsigned memory_mib;   /* guest RAM */
	unsigned vcpus;        /* vCPUs */
	uint64_t cpu_shares;   /* libvirt <shares>, 0: none */
	uint64_t cpu_period_us;/* CFS period, 0: none */
	int64_t cpu_quota_us;  /* CFS quota per vCPU and period, 0: none */
};
/* Maps LinuxContainerResources (cri/vms.c):
 *   memory_limit_bytes: 0 → VMM_MEMORY_DEFAULT_MIB; otherwise rounded down to MiB; a
 *     limit below VMM_MEMORY_FLOOR_MIB is an error (KUMO_E_INVALID) naming both.
 *   cpu_quota/cpu_period (CFS, µs): vCPUs = ceil(quota/period) capped at host_cpus,
 *     period/quota per vCPU so the VM as a whole gets quota/period CPUs; no quota → 1
 *     vCPU. cpu_shares → shares (0: none). */
int cri_vm_size_of(int64_t memory_limit_bytes, int64_t cpu_quota, int64_t cpu_period,
		   int64_t cpu_shares, unsigned host_cpus, struct cri_vm_size *out,
		   kumo_error_t *err);

enum cri_vm_state {
	CRI_VM_CREATED,  /* created paused, never started */
	CRI_VM_RUNNING,
	CRI_VM_EXITED,
	CRI_VM_GONE,     /* the stage knows no VM for this id */
};

/* Where a VM is. */
struct cri_vm_status {
	int state;                     /* enum cri_vm_state */
	struct kumo_exit_record exit;  /* when EXITED: how (kernel/boot_abi.h) */
	int64_t finished_at_ns;        /* when EXITED: wall clock (CLOCK_REALTIME) ns */
};

/* Resource usage of one VM. */
struct cri_vm_stats {
	int64_t timestamp_ns;          /* wall clock */
	uint64_t cpu_usage_core_ns;    /* cumulative CPU time */
	uint64_t memory_working_set;   /* bytes */
	uint64_t memory_rss;           /* bytes */
	uint64_t writable_layer_bytes; /* guest file system usage */
};

/* Called by the VM stage, from any thread, when a started VM ends (at most once per
 * start); id is the container's id or a unique prefix of it; st is borrowed. */
typedef void (*cri_exit_fn)(void *ctx, const char *id, const struct cri_vm_status *st);

struct cri_vms;
struct cri_exec_spec; /* cri/stream.h */
struct cri_vms_ops {
	/* Builds the container's bootable artifact and creates its VM paused, so start only
	 * resumes it. One VM of a pod at a time holds the pod's NIC: creating another while
	 * one has not exited fails with KUMO_E_PRECONDITION. */
	int (*create)(struct cri_vms *s, const struct cri_container_spec *spec,
		      kumo_error_t *err);
	int (*start)(struct cri_vms *s, const char *id, kumo_error_t *err);
	/* Asks the app to stop, waits up to timeout_s seconds, then powers the VM off;
	 * returns once the VM is stopped and has reported its exit (stopping a stopped VM
	 * succeeds). */
	int (*stop)(struct cri_vms *s, const char *id, int64_t timeout_s, kumo_error_t *err);
	/* Destroys whatever is left (idempotent). */
	int (*remove)(struct cri_vms *s, const char *id, kumo_error_t *err);
	int (*status)(struct cri_vms *s, const char *id, struct cri_vm_status *st,
		      kumo_error_t *err);
	int (*stats)(struct cri_vms *s, const char *id, struct cri_vm_stats *stats,
		     kumo_error_t *err);
	/* Reopens the container's log file (kubelet rotated it); NULL: nothing to do
	 * because the stage opens the file per write. */
	int (*log_reopen)(struct cri_vms *s, const char *id, kumo_error_t *err);
	/* The accelerator VMs run with and why ("tcg (kvm unusable: PVM host, guest not
	 * PVM-aware)", "kvm (ok, probe 41 ms)"); borrowed. NULL: the stage runs no VMs. */
	const char *(*accel)(struct cri_vms *s);
	/* Streaming (cri/stream.h). Both optional: NULL says the stage cannot do it yet,
	 * and the CRI call fails with Unimplemented naming what is missing.
	 * attach_stdin: the running app's stdin for an attach: *fd is the write end of a pipe
	 * whose bytes reach the app's fd 0. When the caller closes it, a `once` stdin ends
	 * (the app reads end-of-file; later attaches get none: *fd -1), any other stays
	 * open for the next attach.
	 * exec: runs spec->argv in the running container until it ends (blocking, on a
	 * thread of the caller's; spec->cancel_fd readable: end it now), with its stdio on
	 * the spec's fds (never closed by the stage); sets its exit code. <0 when the
	 * command could not be run (not a Wasm module, container not running). */
	int (*attach_stdin)(struct cri_vms *s, const char *id, bool once, int *fd,
			    kumo_error_t *err);
	int (*exec)(struct cri_vms *s, const struct cri_exec_spec *spec, int32_t *exit_code,
		    kumo_error_t *err);
	/* Snapshots (CheckpointContainer, CheckpointPod): saves the running container's
	 * whole VM with recs and the modules' digests (NULL-terminated, may be NULL) into the
	 * archive at path (vmm.h "Snapshot archives"); the VM goes on (o->leave_running) or
	 * is destroyed (its exit is reported as after a stop). o->describe_only: the archive
	 * gets everything but the VM's state (a live migration's first step) and the VM goes
	 * on; o->migrate_to: no archive, the VM is migrated live to that URI (a destination
	 * restoring with incoming) and destroyed here once it runs there. NULL: the stage
	 * cannot. */
	int (*checkpoint)(struct cri_vms *s, const char *id, const char *path,
			  const struct cri_checkpoint_opts *o, const struct cri_record *recs,
			  size_t nrecs, const char *const *modules, kumo_error_t *err);
	/* Pod VMs (kernel/pod_abi.h), all three NULL when each container is its own VM.
	 * pod_run: RunPodSandbox boots the pod's VM (the kernel alone, the pod's NIC, the
	 * control channel, the pod's staging shares) and returns once the kernel is READY;
	 * create/start/stop/remove then act on containers inside it. pod_stop: ends the VM
	 * (every container still there exits, saying so); idempotent. pod_remove: forgets
	 * the VM and its files; idempotent. */
	int (*pod_run)(struct cri_vms *s, const struct cri_pod_vm_spec *pod, kumo_error_t *err);
	/* Pod VM snapshots (both NULL when the stage cannot). pod_checkpoint: as checkpoint,
	 * of the pod's whole VM (every container in it; the stage adds its own records to
	 * recs). A restore: pod_run with pod->restore, then create (spec->restore_dir set)
	 * for each running container of the archive, by metadata.name (its instance runs
	 * in the VM: nothing is built, start sends nothing), then pod_resume, which runs the
	 * VM; the archive's containers no create named are removed from it. */
	int (*pod_checkpoint)(struct cri_vms *s, const char *pod_id, const char *path,
			      const struct cri_checkpoint_opts *o, const struct cri_record *recs,
			      size_t nrecs, const char *const *modules, kumo_error_t *err);
	int (*pod_resume)(struct cri_vms *s, const char *pod_id, kumo_error_t *err);
	/* A checkpoint image of a pod VM as a container's image (CreateContainer; NULL when
	 * the stage cannot): the VM of pod->id, whose containers must all have ended (none
	 * created and not started, none running: KUMO_E_PRECONDITION), ends with their
	 * staged mounts, and pod->restore's VM takes its place
	 * (pod->nic the pod's, the snapshot's size and devices), paused as after pod_run
	 * with pod->restore. The snapshot's one running container is renamed adopt_as, so
	 * that create of that name adopts it; the snapshot's other containers (not running)
	 * are removed at pod_resume. start of the adopted container runs the VM first
	 * (pod_resume) when nobody did. When the restore fails after the booted VM ended,
	 * the pod gets a new booted VM (as RunPodSandbox left it). pod->restore NULL: a new
	 * VM is booted in place of whatever the pod has (a replacement whose container's
	 * create failed is undone; allowed while the replacement has not run). */
	int (*pod_replace)(struct cri_vms *s, const struct cri_pod_vm_spec *pod, const char *adopt_as,
			   kumo_error_t *err);
	int (*pod_stop)(struct cri_vms *s, const char *pod_id, kumo_error_t *err);
	int (*pod_remove)(struct cri_vms *s, const char *pod_id, kumo_error_t *err);
	/* After a restart, once cri knows its records: removes every pod VM whose pod
	 * known() does not name, and every container of a pod VM whose id known() does not
	 * name (kumod killed inside RunPodSandbox or CreateContainer, a record set aside),
	 * with a log line each. NULL: nothing to do. */
	void (*sweep)(struct cri_vms *s, bool (*known)(const char *id, void *ctx), void *ctx);
	/* Frees the stage (VMs keep running). */
	void (*destroy)(struct cri_vms *s);
};
struct cri_vms {
	const struct cri_vms_ops *ops;
	void *priv;          /* the implementation's own data */
	cri_exit_fn on_exit; /* set by cri before any VM starts */
	void *on_exit_ctx;
};

/* Reports an exit to cri (no-op until on_exit is set). */
void cri_vms_report_exit(struct cri_vms *s, const char *id, const struct cri_vm_status *st);

/* ---- the three together ------------------------------------------------------------- */

struct cri_backend {
	const char *name;          /* "real", "test" (static) */
	struct cri_images *images;
	struct cri_podnet *podnet;
	struct cri_vms *vms;
};
void cri_backend_free(struct cri_backend *b); /* accepts NULL; VMs keep running */

/* The real stages. root: kumod's state directory (copied); insecure: NULL-terminated
 * registry hosts allowed over plain HTTP (copied) or NULL; vm_backend "qemu" or
 * "libvirt" (vmm/ backends; the connection opens at the first VM operation, so kumod
 * starts without libvirtd); accel "auto" (or NULL), "kvm" or "tcg": resolved here
 * (cri/accel_choice.h: a probe at the first start of this host boot), logged, and an
 * error when kvm is asked for and unusable. */
/* The pod network stage's configuration (kumo.json keys and kumod flags of the same
 * names, cri/cri.h); NULL strings take the defaults. */
struct cri_net_options {
	const char *cni_conf_dir; /* network lists, NULL: /etc/cni/net.d */
	const char *cni_bin_dirs; /* ':'-separated plugin dirs, NULL: /opt/cni/bin:/usr/lib/cni */
	const char *netns_dir;    /* pods' network namespace pins, NULL: /run/kumo/netns */
	const char *pod_cidr;     /* the default list's subnet until kubelet sends one, NULL:
				   * VMM_PODNET_DEFAULT_CIDR */
	const char *vm_backend;   /* "libvirt": a tap may wait in libvirtd's namespace */
};
/* pod_vm: a pod is one VM (cri/podvm.c, the default; QEMU backend only: with libvirt
 * each container stays its own VM), else each container its own VM (cri/vms.c);
 * snapshot_start: pod VMs start from a template snapshot (cri_podvms_new). */
int cri_backend_real_new(const char *root, const char *const *insecure, const char *vm_backend,
			 const struct cri_net_options *net, const char *accel, bool pod_vm,
			 bool snapshot_start, struct cri_backend **out, kumo_error_t *err);
/* Each stage alone (cri_backend_real_new makes all three). */
int cri_images_new(const char *root, const char *const *insecure, struct cri_images **out,
		   kumo_error_t *err);
int cri_podnet_new(const char *root, const struct cri_net_options *net,
		   struct cri_podnet **out);
int cri_vms_new(const char *root, const char *vm_backend, const char *accel,
		struct cri_vms **out, kumo_error_t *err);
/* The pod-VM stage (cri/podvm.c): QEMU backend; re-attaches the pod VMs a previous
 * kumod left running (restart procedure of kernel/pod_abi.h) before it returns.
 * snapshot_start: a pod VM is restored from a template (a pod kernel booted once per
 * kernel build, RAM size and NIC and saved at READY, cri/podvm_template.c) and made the
 * pod's by REINIT, falling back to a boot when that fails. */
int cri_podvms_new(const char *root, const char *accel, bool snapshot_start, struct cri_vms **out,
		   kumo_error_t *err);

#endif /* KUMO_CRI_BACKEND_H */
