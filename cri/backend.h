/* cri/backend.h - the seam between kumod's CRI handlers and the machinery behind them.
 *
 * The handlers (cri/runtime_*.c, cri/image_service.c) own the CRI state machine and
 * persistence; everything that touches images, builds, VMs or the network goes through
 * one struct cri_backend. Two implementations:
 *   - the real backend (cri/backend_real.c): imagestore/, builder/, vmm/;
 *   - the test backend (cri/backend_test.c): an in-process fake whose "VMs" are records
 *     on disk, for unit tests and end-to-end tests of the state machine (kumod
 *     --backend=test). It is never the default.
 *
 * Rules for implementations:
 *   - every call may be slow (pull, compile, boot) and is made WITHOUT kumod's state
 *     lock held; calls for different ids may run concurrently, so the backend locks
 *     its own data;
 *   - errors fill `err` with a kumo_error status (cri/grpc_status.c maps it to a gRPC
 *     code) and a message a user understands;
 *   - strings in out-structs are malloc'd and owned by the caller (free with the
 *     matching *_clear function below);
 *   - a VM's exit (app returned, trapped, powered off) is reported by calling
 *     cri_backend_report_exit() from any thread, at most once per VM start;
 *   - VMs outlive kumod: after a restart cri calls vm_status() for each container it
 *     knows and the backend re-attaches (or reports the exit that happened meanwhile).
 */
#ifndef KUMO_CRI_BACKEND_H
#define KUMO_CRI_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

/* One image as the store knows it. */
struct cri_image_info {
	char *id;            /* "sha256:<hex>" of the image config (or manifest) */
	char **repo_tags;    /* "registry/repo:tag", NULL-terminated, may be empty */
	char **repo_digests; /* "registry/repo@sha256:<hex>", NULL-terminated */
	uint64_t size;       /* bytes on disk */
	bool pinned;         /* never garbage collected */
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
	const char *hostname;  /* config.hostname */
	const char *pod_cidr;  /* from UpdateRuntimeConfig, "" until kubelet sent one */
	const struct cri_port *ports;
	size_t n_ports;
	bool host_network;     /* namespace_options.network == NODE: a VM cannot share the
				* node's network, so the pod gets no NIC and no IP */
};

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
	const char *image_id;    /* resolved "sha256:..." from image_status */
	const char *const *argv; /* command then args; NULL-terminated, may be empty */
	const char *const *env;  /* "KEY=VALUE", NULL-terminated */
	const char *working_dir; /* "" for the image default */
	const char *log_path;    /* absolute CRI log file path, "" for none */
	const struct cri_mount *mounts;
	size_t n_mounts;
	const struct cri_port *ports; /* the pod's container ports: preopened sockets */
	size_t n_ports;
	const char *pod_ip;      /* "" when the pod has no network */
	const char *hostname;    /* pod hostname */
	const char *const *dns_servers;  /* the pod's DNSConfig.servers, NULL-terminated */
	const char *const *dns_searches; /* the pod's DNSConfig.searches, NULL-terminated */
	int64_t memory_limit_bytes; /* 0: default */
	int64_t cpu_quota;          /* linux resources, 0: unset */
	int64_t cpu_period;
};

enum cri_vm_state {
	CRI_VM_CREATED,  /* created paused, never started */
	CRI_VM_RUNNING,
	CRI_VM_EXITED,
	CRI_VM_GONE,     /* the backend knows no VM for this id */
};

/* Where a VM is. */
struct cri_vm_status {
	int state;             /* enum cri_vm_state */
	int32_t exit_code;     /* when EXITED */
	int64_t started_at_ns; /* wall clock (CLOCK_REALTIME) ns, 0 if unknown */
	int64_t finished_at_ns;
	char *reason;          /* "Completed", "Error", "Trap", "OOMKilled"...; may be NULL */
	char *message;         /* e.g. the trap name "integer divide by zero"; may be NULL */
};
void cri_vm_status_clear(struct cri_vm_status *st);

/* Resource usage of one VM. */
struct cri_vm_stats {
	int64_t timestamp_ns;          /* wall clock */
	uint64_t cpu_usage_core_ns;    /* cumulative CPU time */
	uint64_t memory_working_set;   /* bytes */
	uint64_t memory_rss;           /* bytes */
	uint64_t writable_layer_bytes; /* guest file system usage */
};

struct cri_backend;
struct cri_exec_spec; /* cri/stream.h */

struct cri_backend_ops {
	const char *name; /* "real", "test" */

	/* Images. image_pull fetches (and builds, if the backend compiles at pull time)
	 * and returns the image id in *image_id. image_status fills *info or fails with
	 * KUMO_E_NOT_FOUND. image_remove of an absent image succeeds. */
	int (*image_pull)(struct cri_backend *b, const char *ref, const struct cri_auth *auth,
			  char **image_id, kumo_error_t *err);
	int (*image_list)(struct cri_backend *b, struct cri_image_info **infos, size_t *n,
			  kumo_error_t *err);
	int (*image_status)(struct cri_backend *b, const char *ref, struct cri_image_info *info,
			    kumo_error_t *err);
	int (*image_remove)(struct cri_backend *b, const char *ref, kumo_error_t *err);
	int (*image_fs_info)(struct cri_backend *b, struct cri_fs_usage *usage, kumo_error_t *err);

	/* Networking. network_ready tells Status whether pods get a network; when not,
	 * *reason and *message (malloc'd) say why. pod_net_setup allocates the pod IP
	 * (*ip, malloc'd; "" when the pod runs without a network); teardown is idempotent. */
	bool (*network_ready)(struct cri_backend *b, char **reason, char **message);
	int (*pod_net_setup)(struct cri_backend *b, const struct cri_pod_spec *pod, char **ip,
			     kumo_error_t *err);
	int (*pod_net_teardown)(struct cri_backend *b, const char *pod_id, kumo_error_t *err);

	/* VMs. vm_create builds the container's bootable artifact (cache hit or compile)
	 * and creates the VM paused, so vm_start only resumes it. vm_stop asks the app to
	 * stop, waits up to timeout_s seconds, then powers the VM off; it returns once the
	 * VM is stopped and has reported its exit (stopping a stopped VM succeeds).
	 * vm_remove destroys whatever is left (idempotent). */
	int (*vm_create)(struct cri_backend *b, const struct cri_container_spec *spec,
			 kumo_error_t *err);
	int (*vm_start)(struct cri_backend *b, const char *id, kumo_error_t *err);
	int (*vm_stop)(struct cri_backend *b, const char *id, int64_t timeout_s, kumo_error_t *err);
	int (*vm_remove)(struct cri_backend *b, const char *id, kumo_error_t *err);
	int (*vm_status)(struct cri_backend *b, const char *id, struct cri_vm_status *st,
			 kumo_error_t *err);
	int (*vm_stats)(struct cri_backend *b, const char *id, struct cri_vm_stats *stats,
			kumo_error_t *err);

	/* The accelerator VMs run with and why ("tcg (kvm unusable: PVM host, guest not
	 * PVM-aware)", "kvm (ok, probe 41 ms)"); borrowed. NULL: the backend runs no VMs. */
	const char *(*accel)(struct cri_backend *b);

	/* Reopens the container's log file (kubelet rotated it); NULL: nothing to do
	 * because the backend opens the file per write. */
	int (*log_reopen)(struct cri_backend *b, const char *id, kumo_error_t *err);

	/* Streaming (cri/stream.h). Both optional: NULL says the backend cannot do it yet,
	 * and the CRI call fails with Unimplemented naming what is missing.
	 * ctr_stdin: the running app's stdin for an attach: *fd is the write end of a pipe
	 * whose bytes reach the app's fd 0. When the caller closes it, a `once` stdin ends
	 * (the app reads end-of-file; later attaches get none), any other stays open for
	 * the next attach.
	 * ctr_exec: runs spec->argv in the running container until it ends (blocking, on a
	 * thread of the caller's; spec->cancel_fd readable: end it now), with its stdio on
	 * the spec's fds (never closed by the backend); sets its exit code. <0 when the
	 * command could not be run (not a Wasm module, container not running). */
	int (*ctr_stdin)(struct cri_backend *b, const char *id, bool once, int *fd,
			 kumo_error_t *err);
	int (*ctr_exec)(struct cri_backend *b, const struct cri_exec_spec *spec,
			int32_t *exit_code, kumo_error_t *err);

	/* Frees the backend (VMs keep running). */
	void (*destroy)(struct cri_backend *b);
};

/* Called by the backend when a started VM ends; `st` is borrowed. */
typedef void (*cri_exit_fn)(void *ctx, const char *id, const struct cri_vm_status *st);

struct cri_backend {
	const struct cri_backend_ops *ops;
	char *root;            /* kumod's state dir; the backend may use <root>/<name>/ */
	bool insecure_registry_all;
	char **insecure_registries; /* hosts allowed over plain HTTP, NULL-terminated */
	cri_exit_fn on_exit;   /* set by cri before any VM starts */
	void *on_exit_ctx;
	void *priv;            /* the implementation's own data */
};

/* Reports an exit to cri (no-op until on_exit is set). */
void cri_backend_report_exit(struct cri_backend *b, const char *id, const struct cri_vm_status *st);

/* Constructors. `root` is copied; insecure is NULL-terminated (copied) or NULL;
 * vm_backend is "qemu" or "libvirt" (vmm/ backends; the connection opens at the first
 * VM operation, so kumod starts without libvirtd); accel is "auto" (or NULL), "kvm" or
 * "tcg": resolved here (cri/accel_choice.h: a probe at the first start of this host
 * boot), logged, and an error when kvm is asked for and unusable. */
int cri_backend_test_new(const char *root, struct cri_backend **out, kumo_error_t *err);
/* Pod networking of the real backend (vmm/ net): NULL strings take the defaults. */
struct cri_net_options {
	const char *bridge;   /* node bridge, NULL: VMM_NET_DEFAULT_BRIDGE */
	const char *pod_cidr; /* until kubelet sends one, NULL: VMM_NET_DEFAULT_CIDR */
};
int cri_backend_real_new(const char *root, const char *const *insecure, const char *vm_backend,
			 const struct cri_net_options *net, const char *accel,
			 struct cri_backend **out, kumo_error_t *err);
void cri_backend_free(struct cri_backend *b); /* accepts NULL */

#endif /* KUMO_CRI_BACKEND_H */
