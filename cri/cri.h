/* cri/cri.h - kumod, the CRI v1 server: configuration, the runtime (state machine +
 * backend) and the gRPC server around it.
 *
 * Layering inside cri/: server.c (gRPC core transport) calls cri_dispatch() with a
 * method path and request bytes; methods.c decodes them and runs one handler
 * (runtime_*.c, image_service.c) against the state in state.c; handlers reach images,
 * builds, VMs and the network only through cri/backend.h.
 */
#ifndef KUMO_CRI_H
#define KUMO_CRI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "compiler/compiler.h"

#define KUMO_VERSION "0.1.0"
#define CRI_RUNTIME_NAME "kumo"
#define CRI_API_VERSION "v1"

#define CRI_DEFAULT_SOCKET "/run/kumo/kumo.sock"
#define CRI_DEFAULT_ROOT "/var/lib/kumo"
#define CRI_DEFAULT_CONFIG "/etc/kumo/kumo.json"
/* How the real backend runs VMs: "qemu" (QEMU started directly) or "libvirt". */
#define CRI_DEFAULT_VM_BACKEND "qemu"

/* kumod's configuration: /etc/kumo/kumo.json, then flags. */
struct cri_config {
	char *socket;              /* unix socket path */
	char *root;                /* state directory */
	char **insecure_registries;/* NULL-terminated hosts allowed over plain HTTP */
	char *backend;             /* "real" (default; kumod) or "test" (the test daemon's
				    * fake stages) */
	char *vm_backend;          /* "qemu" or "libvirt" (real backend) */
	char *accel;               /* "auto", "kvm" or "tcg" (real backend's VMs) */
	bool pod_vm;               /* a pod is one VM, its containers linked into its kernel
				    * (default true; kumo.json "pod_vm", --pod-vm true|false);
				    * false: each container its own VM (for comparisons) */
	bool pod_vm_snapshot_start; /* pod VMs start from a snapshot of the pod kernel taken at
				    * READY (one per kernel build, RAM size and NIC, made at the
				    * first pod that needs it) instead of a boot (kumo.json
				    * "pod_vm_snapshot_start", --pod-vm-snapshot-start
				    * true|false; default false) */
	char *log_level;           /* debug|info|warn|error */
	int workers;               /* worker threads for unary calls */
	int shutdown_grace_ms;     /* how long SIGTERM waits for calls in flight */
	char *cni_conf_dir;        /* CNI network lists, NULL: /etc/cni/net.d */
	char *cni_bin_dirs;        /* ':'-separated CNI plugin directories, NULL:
				    * /opt/cni/bin:/usr/lib/cni */
	char *netns_dir;           /* pods' network namespace pins, NULL: /run/kumo/netns */
	char *pod_cidr;            /* the default network list's subnet until kubelet sends
				    * one, NULL: 10.88.0.0/16 */
	char *host_network;        /* hostNetwork pods: "refuse" (default: CreateContainer
				    * fails naming spec.hostNetwork) or "no-network" (their
				    * VMs run without a NIC) */
	struct kumo_compile_limits limits; /* against hostile modules: every key of
				    * kumo_compile_limit_keys() ("max_functions", flag
				    * --max-functions); kumod applies them to every compile */
	char *stream_address;      /* streaming server (exec/attach/port-forward URLs):
				    * "HOST:PORT", default 127.0.0.1:0 (an ephemeral port) */
	int stream_token_ttl_ms;   /* how long a streaming URL stays valid (default 60000) */
	char *downstream_endpoint; /* the CRI runtime of every pod that is not kumo's
				    * (default CRI_DEFAULT_DOWNSTREAM); "none": no downstream */
	char **kumo_handlers;      /* NULL-terminated runtime handlers run as kumo VMs
				    * (default {"kumo"}) */
	char *default_runtime;     /* "downstream" (default) or "kumo": where pods naming no
				    * runtime (empty handler, no annotation) run */
	char *socket_group;        /* the CRI socket's group (mode 0660, owner root), NULL:
				    * root's */
	bool jail;                 /* QEMU jailed (default): its own user, a cgroup per VM
				    * (vmm/vmm.h "The jail around QEMU"); false: as root */
	char *jail_user;           /* QEMU's user, NULL: VMM_JAIL_USER */
	int jail_memory_overhead_mib; /* QEMU's allowance above guest RAM in its cgroup, 0:
				    * VMM_JAIL_MEMORY_OVERHEAD_MIB */
};

/* Fills defaults, then the JSON file `path` (missing file is fine unless `required`),
 * then argv flags (which override). Unknown flags or keys are KUMO_E_INVALID.
 * Sets *show_version for --version. */
int cri_config_load(struct cri_config *cfg, const char *path, bool required, int argc,
		    char **argv, bool *show_version, kumo_error_t *err);
void cri_config_clear(struct cri_config *cfg);
/* Applies the JSON object text[0..len) (kumo.json's content; `path` names it in errors)
 * over cfg, which holds defaults or earlier values: what cri_config_load does with the
 * file. */
int cri_config_parse_json(struct cri_config *cfg, const char *text, size_t len, const char *path,
			  kumo_error_t *err);
#define CRI_CONFIG_MAX_BYTES (1u << 20) /* kumo.json larger than this is refused */

struct cri_runtime;
struct cri_backend;

/* Loads the state under `root` (recovering pods and containers, asking the backend
 * about each container's VM) and takes ownership of `backend`. */
int cri_runtime_new(const char *root, struct cri_backend *backend, struct cri_runtime **out,
		    kumo_error_t *err);
void cri_runtime_free(struct cri_runtime *rt); /* accepts NULL; VMs keep running */
/* hostNetwork pods run without a NIC instead of being refused (config host_network
 * "no-network"). */
void cri_runtime_allow_host_network(struct cri_runtime *rt, bool no_nic);

/* Starts the streaming server on cfg->stream_address (cri/stream.h): Exec, Attach and
 * PortForward answer with URLs on it. Stop it (ending every stream) before
 * cri_runtime_free. */
int cri_runtime_start_streaming(struct cri_runtime *rt, const struct cri_config *cfg,
				kumo_error_t *err);
void cri_runtime_stop_streaming(struct cri_runtime *rt);

/* Runs one unary method ("/runtime.v1.RuntimeService/Version") on the request bytes;
 * on success *resp (malloc'd) holds the encoded response. Unknown methods and methods
 * kumo does not implement are KUMO_E_UNSUPPORTED with a message. */
int cri_dispatch(struct cri_runtime *rt, const char *method, const uint8_t *req, size_t len,
		 uint8_t **resp, size_t *resp_len, kumo_error_t *err);
/* The same for a caller that gives up at deadline_ns (kumo_now_ns() clock; 0: never):
 * calls forwarded to the downstream runtime keep that deadline. */
int cri_dispatch_until(struct cri_runtime *rt, const char *method, const uint8_t *req,
		       size_t len, uint64_t deadline_ns, uint8_t **resp, size_t *resp_len,
		       kumo_error_t *err);

/* A mixed node (issue 22): pods whose runtime handler is one of kumo's run as VMs, every
 * other pod is forwarded to a downstream CRI runtime (containerd), and the views merge
 * both (cri/runtime.h, "routing", has the whole contract). */
#define CRI_DEFAULT_DOWNSTREAM "unix:///run/containerd/containerd.sock"
#define CRI_DEFAULT_KUMO_HANDLER "kumo"
/* The pod annotation that picks the runtime of a pod whose handler is empty (static
 * pods and nodes without RuntimeClass objects cannot name one): a kumo handler name
 * (`kumo.dev/runtime: kumo`) runs it as a kumo VM, any other value on the downstream. */
#define CRI_RUNTIME_ANNOTATION "kumo.dev/runtime"
/* A pod annotation asking its network for this IPv4 address (CNI_ARGS IP=; host-local
 * honours it): RestorePod sets it to the archived pod's address, so the restored guest,
 * which keeps the address it had, is reachable there. */
#define CRI_ANNOTATION_IP "kumo.dev/ip"
struct cri_routing {
	const char *downstream_endpoint;   /* CRI endpoint; NULL, "" or "none": no downstream */
	const char *const *kumo_handlers;  /* NULL-terminated; NULL or empty: {"kumo"} */
	bool default_kumo;                 /* pods naming no runtime run as kumo VMs
					    * (default: on the downstream) */
};
/* Sets the runtime's handlers and, with a downstream, opens its client, loads and
 * reconciles the routes table and subscribes to its events. Once, before serving. */
int cri_runtime_route(struct cri_runtime *rt, const struct cri_routing *routing,
		      kumo_error_t *err);
/* Whether GetContainerEvents can be served: -1 with err when the downstream has no
 * event stream (its Unimplemented, passed on: kubelet then relists). */
int cri_events_available(struct cri_runtime *rt, kumo_error_t *err);

/* Server-streaming GetContainerEvents: `fn` gets every event (encoded
 * runtime.v1.ContainerEventResponse, borrowed) until unsubscribed. */
#define CRI_METHOD_EVENTS "/runtime.v1.RuntimeService/GetContainerEvents"
typedef void (*cri_event_fn)(void *ctx, const uint8_t *msg, size_t len);
int cri_events_subscribe(struct cri_runtime *rt, cri_event_fn fn, void *ctx);
void cri_events_unsubscribe(struct cri_runtime *rt, int handle);

/* The one mapping from kumo error statuses (enum kumo_status, CRI_E_*) to gRPC codes. */
int cri_grpc_code(int kumo_status);
/* cri-only status: the call's own time limit passed (ExecSync's timeout). */
#define CRI_E_DEADLINE 101

/* Serves `rt` on cfg->socket until SIGTERM/SIGINT, then shuts down gracefully. */
int cri_server_run(const struct cri_config *cfg, struct cri_runtime *rt, kumo_error_t *err);

/* The daemon's main, shared by kumod (the real stages) and the test daemon (the fake
 * ones): --help, configuration (file, then flags), --version, logging, the state
 * directory, the backend new_backend makes, the runtime and the server. Returns the
 * process exit status (2: a bad command line or configuration). */
typedef int (*cri_backend_fn)(const struct cri_config *cfg, struct cri_backend **out,
			      kumo_error_t *err);
int cri_daemon_main(const char *prog, int argc, char **argv, cri_backend_fn new_backend);

#endif /* KUMO_CRI_H */
