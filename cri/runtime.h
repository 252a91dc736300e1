/* cri/runtime.h - private to cri/: pod and container records, the state lock, and the
 * helpers handlers share.
 *
 * Locking: rt->lock guards the pod and container lists and every record in them. A
 * handler looks up under the lock, copies what it needs, UNLOCKS, calls the backend
 * (slow), then locks again and looks the record up again by full id (it may have been
 * removed meanwhile). Records are written to disk under the lock (one small atomic
 * write). rt->events_lock guards only the subscriber list.
 */
#ifndef KUMO_CRI_RUNTIME_H
#define KUMO_CRI_RUNTIME_H

#include <jansson.h>
#include <pthread.h>

#include "cri/api.pb-c.h"
#include "cri/backend.h"
#include "cri/cri.h"
#include "cri/pbjson.h"

#define CRI_ID_LEN 64

struct cri_pod {
	char id[CRI_ID_LEN + 1];
	int state;                           /* Runtime__V1__PodSandboxState */
	int64_t created_at;                  /* ns, wall clock */
	char *ip;                            /* "" without network */
	char *runtime_handler;
	Runtime__V1__PodSandboxConfig *config; /* as kubelet sent it */
	struct cri_pod *next;
};

struct cri_ctr {
	char id[CRI_ID_LEN + 1];
	char pod_id[CRI_ID_LEN + 1];
	int state;                           /* Runtime__V1__ContainerState */
	bool busy;                           /* a create or start is in flight */
	bool creating;                       /* reserved by CreateContainer, not yet listed */
	struct cri_vm_status *pending_exit;  /* exit that came while its start was in flight */
	int64_t created_at, started_at, finished_at; /* ns, wall clock; 0 unset */
	int32_t exit_code;
	char *reason;
	char *message;
	char *image_id;                      /* resolved image id ("sha256:...") */
	char *log_path;                      /* absolute, "" for none */
	Runtime__V1__ContainerConfig *config;
	struct cri_ctr *next;
};

struct cri_sub {
	int handle;
	cri_event_fn fn;
	void *ctx;
	struct cri_sub *next;
};

struct cri_router;

struct cri_runtime {
	pthread_mutex_t lock;
	char *root;
	struct cri_backend *backend;
	struct cri_pod *pods;
	struct cri_ctr *ctrs;
	char *pod_cidr;                      /* from UpdateRuntimeConfig */
	bool host_network_no_nic;            /* hostNetwork pods run without a NIC (else
					      * CreateContainer refuses them) */
	struct cri_stream_server *stream;    /* exec/attach/port-forward URLs (cri/stream.h);
					      * NULL when not started */
	pthread_mutex_t events_lock;
	struct cri_sub *subs;
	int next_sub;
	char **kumo_handlers;                /* runtime handlers run as kumo VMs (NULL-
					      * terminated, never empty; default "kumo") */
	struct cri_router *router;           /* the downstream runtime, NULL: none
					      * (cri/route.c; set once before serving) */
};

/* Lookup by full id or unique prefix (lock held). KUMO_E_NOT_FOUND if none, KUMO_E_INVALID
 * if the prefix is ambiguous. */
int rt_find_pod(struct cri_runtime *rt, const char *id, struct cri_pod **out, kumo_error_t *err);
int rt_find_ctr(struct cri_runtime *rt, const char *id, struct cri_ctr **out, kumo_error_t *err);
struct cri_pod *rt_pod_by_id(struct cri_runtime *rt, const char *full_id);
struct cri_ctr *rt_ctr_by_id(struct cri_runtime *rt, const char *full_id);

/* New random 64-hex id unused by pods and containers (lock held). */
void rt_new_id(struct cri_runtime *rt, char id[CRI_ID_LEN + 1]);

/* Persistence (lock held): write the record atomically / delete its file. */
int rt_save_pod(struct cri_runtime *rt, const struct cri_pod *p, kumo_error_t *err);
int rt_save_ctr(struct cri_runtime *rt, const struct cri_ctr *c, kumo_error_t *err);
void rt_delete_pod(struct cri_runtime *rt, struct cri_pod *p); /* unlinks, frees, rm file */
void rt_delete_ctr(struct cri_runtime *rt, struct cri_ctr *c);

/* Applies a VM status to a container record (lock held); true if it changed. */
bool rt_apply_vm_status(struct cri_ctr *c, const struct cri_vm_status *st);

/* Status messages built from records (lock held); caller frees with
 * protobuf_c_message_free_unpacked. */
Runtime__V1__PodSandboxStatus *rt_pod_status_msg(struct cri_runtime *rt, const struct cri_pod *p);
Runtime__V1__ContainerStatus *rt_ctr_status_msg(const struct cri_ctr *c);

/* Stops a running container (no lock held): vm_stop then the VM's final status is
 * recorded; a container that is not running is left alone. */
int rt_ctr_stop(struct cri_runtime *rt, const char *full_id, int64_t timeout_s, kumo_error_t *err);
/* Stops (forcibly) if needed, destroys the VM and forgets the container (no lock held).
 * A container that is already gone is fine. */
int rt_ctr_remove(struct cri_runtime *rt, const char *full_id, kumo_error_t *err);

/* Container filter shared by list calls (lock held): id and pod_id match as prefixes,
 * state < 0 matches all, sel (JSON object or NULL) must be a subset of the labels. */
bool rt_ctr_matches(struct cri_runtime *rt, const struct cri_ctr *c, const char *id,
		    const char *pod_id, int state, json_t *sel);

/* Emits one event to every GetContainerEvents subscriber (lock held): publishing under
 * the state lock keeps events in the order of the state changes; subscribers only
 * enqueue. `p` is the pod whose status (and containers) the event carries. */
void rt_emit(struct cri_runtime *rt, const char *id, int type, const struct cri_pod *p);

int64_t rt_now(void); /* CLOCK_REALTIME ns */

/* Sets the map<string,string> `info` of a verbose status response to {"info": JSON}. */
void rt_set_verbose_info(ProtobufCMessage *m, json_t *info);

/* A string for protobuf-c (malloc'd copy; "" maps to a malloc'd ""). */
static inline char *pbs(const char *s) { return xstrdup(s ? s : ""); }
/* True if every key/value of `selector` (a map field as JSON) is in `labels`. */
bool rt_labels_match(json_t *labels, json_t *selector);

/* A pull's credentials as the image stage takes them (a NULL AuthConfig: none); the
 * strings stay the request's. */
struct cri_auth rt_auth_of(const Runtime__V1__AuthConfig *a);

/* Emits one event that is already encoded (the downstream's, republished) to every
 * GetContainerEvents subscriber. */
void rt_emit_raw(struct cri_runtime *rt, const uint8_t *msg, size_t len);

/* ---- routing (cri/route.c): the mixed node ----------------------------------------------
 *
 * With a downstream runtime configured (cri_runtime_route), every call is routed:
 *   - RunPodSandbox (RestorePod): a handler of kumo's names a kumo pod; any other
 *     handler goes to the downstream; the empty handler follows the pod's annotation
 *     CRI_RUNTIME_ANNOTATION (a kumo handler name: kumo, anything else: downstream), then
 *     the configured default;
 *   - calls naming a pod or container go to whoever holds it: kumo when its state has
 *     the id, the downstream when the routes table has it or nobody knows it;
 *   - CreateContainer first checks the image's kind against the pod's runtime: a
 *     WebAssembly image (kumo holds it) in a downstream pod, or a Linux image (the
 *     downstream holds it, kumo does not) in a kumo pod, is KUMO_E_INVALID naming the
 *     runtime class to use;
 *   - PullImage goes by content (the images stage's probe: WebAssembly is kumo's, any
 *     other image and any the probe cannot tell are the downstream's); ImageStatus and
 *     RemoveImage to whoever holds the image (kumo first);
 *   - lists (pods, containers, images, stats, ImageFsInfo) are both runtimes' answers to
 *     the same request, merged; a downstream that fails fails the call (kubelet must
 *     never see its pods vanish); Status is ready when both are and names the one that is
 *     not; UpdateRuntimeConfig reaches both; Version is kumo's (the downstream's is in
 *     Status' verbose info);
 *   - a forwarded call is the request's bytes as received, within the caller's deadline,
 *     and its answer or error is the downstream's exactly (CRI_E_DOWNSTREAM codes).
 * The routes table (the downstream's pod and container ids, <root>/routes/{pods,
 * containers}/<id>.json, one atomic file per entry) survives kill -9; at start-up it is
 * reconciled with the downstream's own lists, which adopts the pods the downstream ran
 * before kumod took over. A downstream whose unix socket does not exist (and never
 * did, with no pod of it known) is absent: everything is kumo's, as on a kumo-only node.
 */
/* A CRI handler (below): req is the decoded request, *resp the response it allocates. */
typedef int (*cri_handler_fn)(struct cri_runtime *rt, const ProtobufCMessage *req,
			      ProtobufCMessage **resp, kumo_error_t *err);
struct cri_call {
	const char *method;         /* "/runtime.v1.RuntimeService/Version" */
	cri_handler_fn handler;     /* kumo's handler, NULL: kumo does not implement it */
	const char *why;            /* kumo's message when handler is NULL */
	const ProtobufCMessage *in; /* the decoded request */
	const uint8_t *raw;         /* the request's bytes as received (forwarded as is) */
	size_t len;
	uint64_t deadline_ns;       /* kumo_now_ns() at which the caller gives up, 0: none */
};
/* Runs the call where it belongs (rt->router set); *resp is the encoded answer. */
int rt_route(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp, size_t *len,
	     kumo_error_t *err);
/* Runs kumo's own handler (methods.c): encoded, or as the message. */
int rt_call_local(struct cri_runtime *rt, const struct cri_call *c, uint8_t **resp,
		  size_t *len, kumo_error_t *err);
int rt_call_local_msg(struct cri_runtime *rt, const struct cri_call *c, ProtobufCMessage **out,
		      kumo_error_t *err);
/* Whether the downstream is there (see above; no lock held). */
bool rt_router_present(struct cri_runtime *rt);
/* Whether the routes table has an id starting with these 12 characters (kumo never
 * makes an id the downstream uses; rt->lock may be held). */
bool rt_router_knows(struct cri_runtime *rt, const char *id12);
/* Whether `handler` is one of kumo's handler names. */
bool rt_is_kumo_handler(struct cri_runtime *rt, const char *handler);
void rt_router_free(struct cri_runtime *rt); /* no router: nothing */

/* Handlers: one per CRI method (the table is methods.c): req is the decoded request,
 * *resp the response the handler allocates. Each is defined under its own name at the
 * start of a line, its type on the line before (`grep -n '^cri_pull_image' cri/`). */
/* runtime_info.c */
int cri_version(struct cri_runtime *rt, const ProtobufCMessage *req,
		ProtobufCMessage **resp, kumo_error_t *err);
int cri_status(struct cri_runtime *rt, const ProtobufCMessage *req,
	       ProtobufCMessage **resp, kumo_error_t *err);
int cri_runtime_config(struct cri_runtime *rt, const ProtobufCMessage *req,
		       ProtobufCMessage **resp, kumo_error_t *err);
int cri_update_runtime_config(struct cri_runtime *rt, const ProtobufCMessage *req,
			      ProtobufCMessage **resp, kumo_error_t *err);
/* runtime_pod.c */
int cri_run_pod_sandbox(struct cri_runtime *rt, const ProtobufCMessage *req,
			ProtobufCMessage **resp, kumo_error_t *err);
/* RunPodSandbox, with the pod's VM restored from a pod VM's snapshot when restore is not
 * NULL (RestorePod: cri_pod_vm_spec.restore). */
int rt_run_pod_sandbox(struct cri_runtime *rt, const Runtime__V1__RunPodSandboxRequest *r,
		       const struct cri_pod_restore *restore, ProtobufCMessage **resp,
		       kumo_error_t *err);
int cri_stop_pod_sandbox(struct cri_runtime *rt, const ProtobufCMessage *req,
			 ProtobufCMessage **resp, kumo_error_t *err);
int cri_remove_pod_sandbox(struct cri_runtime *rt, const ProtobufCMessage *req,
			   ProtobufCMessage **resp, kumo_error_t *err);
int cri_pod_sandbox_status(struct cri_runtime *rt, const ProtobufCMessage *req,
			   ProtobufCMessage **resp, kumo_error_t *err);
int cri_list_pod_sandbox(struct cri_runtime *rt, const ProtobufCMessage *req,
			 ProtobufCMessage **resp, kumo_error_t *err);
/* runtime_container.c */
int cri_create_container(struct cri_runtime *rt, const ProtobufCMessage *req,
			 ProtobufCMessage **resp, kumo_error_t *err);
int cri_start_container(struct cri_runtime *rt, const ProtobufCMessage *req,
			ProtobufCMessage **resp, kumo_error_t *err);
/* CreateContainer, with the VM restored from restore_dir (an unpacked, verified snapshot)
 * when it is not NULL (RestorePod; the image need not be present), its state arriving
 * by a live migration at incoming when that is not NULL. */
int rt_create_container(struct cri_runtime *rt, const Runtime__V1__CreateContainerRequest *r,
			const char *restore_dir, const char *incoming, ProtobufCMessage **resp,
			kumo_error_t *err);
int cri_stop_container(struct cri_runtime *rt, const ProtobufCMessage *req,
		       ProtobufCMessage **resp, kumo_error_t *err);
int cri_remove_container(struct cri_runtime *rt, const ProtobufCMessage *req,
			 ProtobufCMessage **resp, kumo_error_t *err);
int cri_list_containers(struct cri_runtime *rt, const ProtobufCMessage *req,
			ProtobufCMessage **resp, kumo_error_t *err);
int cri_container_status(struct cri_runtime *rt, const ProtobufCMessage *req,
			 ProtobufCMessage **resp, kumo_error_t *err);
int cri_update_container_resources(struct cri_runtime *rt, const ProtobufCMessage *req,
				   ProtobufCMessage **resp, kumo_error_t *err);
int cri_reopen_container_log(struct cri_runtime *rt, const ProtobufCMessage *req,
			     ProtobufCMessage **resp, kumo_error_t *err);
/* runtime_stats.c */
int cri_container_stats(struct cri_runtime *rt, const ProtobufCMessage *req,
			ProtobufCMessage **resp, kumo_error_t *err);
int cri_list_container_stats(struct cri_runtime *rt, const ProtobufCMessage *req,
			     ProtobufCMessage **resp, kumo_error_t *err);
int cri_pod_sandbox_stats(struct cri_runtime *rt, const ProtobufCMessage *req,
			  ProtobufCMessage **resp, kumo_error_t *err);
int cri_list_pod_sandbox_stats(struct cri_runtime *rt, const ProtobufCMessage *req,
			       ProtobufCMessage **resp, kumo_error_t *err);
int cri_list_metric_descriptors(struct cri_runtime *rt, const ProtobufCMessage *req,
				ProtobufCMessage **resp, kumo_error_t *err);
int cri_list_pod_sandbox_metrics(struct cri_runtime *rt, const ProtobufCMessage *req,
				 ProtobufCMessage **resp, kumo_error_t *err);
/* image_service.c */
int cri_list_images(struct cri_runtime *rt, const ProtobufCMessage *req,
		    ProtobufCMessage **resp, kumo_error_t *err);
int cri_image_status(struct cri_runtime *rt, const ProtobufCMessage *req,
		     ProtobufCMessage **resp, kumo_error_t *err);
int cri_pull_image(struct cri_runtime *rt, const ProtobufCMessage *req,
		   ProtobufCMessage **resp, kumo_error_t *err);
int cri_remove_image(struct cri_runtime *rt, const ProtobufCMessage *req,
		     ProtobufCMessage **resp, kumo_error_t *err);
int cri_image_fs_info(struct cri_runtime *rt, const ProtobufCMessage *req,
		      ProtobufCMessage **resp, kumo_error_t *err);
/* runtime_stream.c */
int cri_exec_sync(struct cri_runtime *rt, const ProtobufCMessage *req,
		  ProtobufCMessage **resp, kumo_error_t *err);
int cri_exec(struct cri_runtime *rt, const ProtobufCMessage *req, ProtobufCMessage **resp,
	     kumo_error_t *err);
int cri_attach(struct cri_runtime *rt, const ProtobufCMessage *req, ProtobufCMessage **resp,
	       kumo_error_t *err);
int cri_port_forward(struct cri_runtime *rt, const ProtobufCMessage *req,
		     ProtobufCMessage **resp, kumo_error_t *err);
/* runtime_checkpoint.c */
struct vmm_archive;
/* The snapshot archive at path verified against this node's kernel and compiler builds
 * and unpacked into a new directory under <root>/restores (*work, malloc'd: the caller
 * passes it to rt_archive_close, which removes it and frees *a; both may be NULL). */
int rt_archive_open(struct cri_runtime *rt, const char *path, struct vmm_archive **a,
		    char **work, kumo_error_t *err);
void rt_archive_close(struct vmm_archive *a, char *work);
/* CreateContainer whose image is the absolute path of a snapshot archive on this node (as
 * CRI-O takes a checkpoint archive): verified, then the container's VM restored from it
 * into the request's pod with the request's config; StartContainer resumes it. */
int rt_create_from_archive(struct cri_runtime *rt, const Runtime__V1__CreateContainerRequest *r,
			   ProtobufCMessage **resp, kumo_error_t *err);
/* runtime_ckimage.c */
/* CreateContainer whose image is a checkpoint image (its snapshot archive at `archive`,
 * in the image store): verified, then the container restored from it (a pod VM's
 * archive: the request's pod, without containers, takes the archive's VM and the
 * container adopts its one running container); StartContainer resumes it. */
int rt_create_from_checkpoint_image(struct cri_runtime *rt,
				    const Runtime__V1__CreateContainerRequest *r, const char *archive,
				    ProtobufCMessage **resp, kumo_error_t *err);
int cri_checkpoint_container(struct cri_runtime *rt, const ProtobufCMessage *req,
			     ProtobufCMessage **resp, kumo_error_t *err);
int cri_checkpoint_pod(struct cri_runtime *rt, const ProtobufCMessage *req,
		       ProtobufCMessage **resp, kumo_error_t *err);
int cri_restore_pod(struct cri_runtime *rt, const ProtobufCMessage *req,
		    ProtobufCMessage **resp, kumo_error_t *err);

/* Allocates a response message of type T initialized with INIT. */
#define CRI_NEW(T, INIT)                                                                   \
	({                                                                                 \
		T *m__ = xmalloc(sizeof(T));                                               \
		T i__ = INIT;                                                              \
		*m__ = i__;                                                                \
		m__;                                                                       \
	})

#endif /* KUMO_CRI_RUNTIME_H */
