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

/* Handlers: one per CRI method (the table is methods.c): req is the decoded request,
 * *resp the response the handler allocates. Each is defined under its own name at the
 * start of a line, its type on the line before (`grep -n '^cri_pull_image' cri/`). */
typedef int (*cri_handler_fn)(struct cri_runtime *rt, const ProtobufCMessage *req,
			      ProtobufCMessage **resp, kumo_error_t *err);
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

/* Allocates a response message of type T initialized with INIT. */
#define CRI_NEW(T, INIT)                                                                   \
	({                                                                                 \
		T *m__ = xmalloc(sizeof(T));                                               \
		T i__ = INIT;                                                              \
		*m__ = i__;                                                                \
		m__;                                                                       \
	})

#endif /* KUMO_CRI_RUNTIME_H */
