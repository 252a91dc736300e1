/* cri/podvm_impl.h - the pod-VM stage's own data and helpers, shared by its files:
 * cri/podvm.c (pods, containers, the control channel, the record pump),
 * cri/podvm_snap.c (checkpoints and restores of pod VMs) and cri/podvm_exec.c (through
 * the narrower cri/podvm_exec.h: exec and attach's stdin). Private to cri/podvm*.c.
 * Locking: pod.lock guards a pod's fields but sock (send_lock); podvms.lock the list. */
#ifndef KUMO_CRI_PODVM_IMPL_H
#define KUMO_CRI_PODVM_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cri/accel_choice.h"
#include "cri/backend.h"
#include "vmm/vmm.h"

#define POD_NAME_PREFIX "kumopod-"
#define POD_DEFAULT_MIB 256          /* a pod VM without a memory limit */
#define POD_STACK_ALLOWANCE (8u << 20) /* stacks of the containers a limit does not count */
#define POD_READY_MS 30000           /* boot -> READY */
#define POD_ACK_MS 30000             /* command -> ACK */
#define POD_STOP_EXTRA_MS 5000       /* STOP's grace + this -> its EXIT */

/* One container of a pod VM. */
struct pctr {
	char id[65];              /* the CRI container id */
	uint32_t cid;             /* its handle in the VM */
	char *name;               /* metadata.name */
	char *log_path;           /* CRI log, NULL: none */
	struct vmm_crilog *log;   /* open while the container has a log */
	uint64_t partial_off;     /* record file offset of the first record of an unfinished
				   * line the log holds back, UINT64_MAX: none */
	uint64_t start_seq;       /* its newest START, 0: never started */
	bool started;             /* STARTED (or START acknowledged) for start_seq */
	bool exited;              /* EXIT for start_seq (or the VM ended) */
	struct kumo_exit_record exit; /* with exited */
	int64_t finished_ns;      /* with exited: wall clock */
	char *stage_entry;        /* "<40 hex>-": its staged mounts' prefix, NULL: none */
	char **listen;            /* the sockets it holds until REMOVE ("tcp:0.0.0.0:80") */
	size_t nlisten;
	/* a pod VM restored from a snapshot (podvm_snap.c) */
	bool restored;            /* its id is the checkpointed container's: no CRI container
				   * has adopted it yet */
	char old_key[41];         /* adopted: the checkpointed id's first 40 hex digits (its
				   * staged entries' names in the guest), "": none */
	bool skip_start;          /* adopted with its instance running: the next start only
				   * says so (no START) */
	struct pexec *exec;       /* a transient container's command (podvm_exec.h): its
				   * output and end go there; NULL: a CRI container, or an
				   * orphan found after a restart */
	struct pctr *next;
};

/* A command sent and not yet acknowledged. */
struct pcmd {
	uint64_t seq;
	uint8_t *bytes;           /* the whole message, framed */
	size_t len;
	bool acked;
	char *ack;                /* the ACK's JSON */
	struct pcmd *next;
};

struct pod {
	char id[65];              /* pod sandbox id */
	char *vm_name;            /* "kumopod-<40 hex>" */
	char *run_dir, *rec_path, *sock_path, *stage_dir;
	pthread_mutex_t lock;     /* everything below but sock */
	pthread_cond_t cond;      /* records arrived, or the VM ended */
	pthread_mutex_t send_lock;/* the control connection's writes */
	int sock;                 /* control connection, -1: none */
	uint64_t next_seq;        /* command numbers, from 1 */
	uint64_t rec_off;         /* record file bytes parsed */
	uint64_t log_off;         /* output records below this offset are in the CRI logs */
	uint64_t saved_log_off;   /* the value pod.json holds */
	uint64_t saved_ns;        /* when pod.json was written (kumo_now_ns) */
	int off_fd;               /* <run dir>/log.offset: log_off as one u64, rewritten in
				   * place after each batch of records (as vmm's console
				   * offsets), -1: not open */
	uint8_t *pending;         /* an incomplete record's bytes */
	size_t pending_len;
	bool ready;               /* READY seen */
	bool dead;                /* the VM ended (or was stopped) */
	char *ready_json;
	char *pong_nonce;         /* the newest PING ACK's nonce */
	struct pcmd *journal;
	struct pctr *ctrs;
	int wake_fd;              /* eventfd: the pump thread stops */
	pthread_t pump;
	bool pumping;
	bool restoring;           /* restored from a snapshot, paused until pod_resume: its
				   * containers are being adopted (podvm_snap.c) */
	json_t *restore_net;      /* restoring: its NIC for RESUME's "net", NULL: none */
	bool migrating;           /* a live migration runs (QUIESCE to its end): other
				   * commands are refused (podvm_snap.c) */
	bool handed_over;         /* a live migration handed the VM over (pod.json's
				   * "handed_over"): the destination runs it */
	int refs;                 /* podvm_pod_get holds: removal waits for 0 */
	struct pod *next;
};

struct podvms {
	char *root, *state_dir, *mounts_dir;
	struct cri_accel accel;
	struct vmm *vmm;
	pthread_mutex_t lock;     /* pods (the list) */
	struct pod *pods;
	struct cri_vms *stage;
	bool snapshot_start;      /* pod VMs from a template snapshot (podvm_template.c) */
	char *templates_dir;      /* <root>/pod-templates */
	pthread_mutex_t template_lock; /* making a template */
};

/* An exit to report once no pod lock is held. */
struct report {
	char id[65];
	struct cri_vm_status st;
	struct pod *p;  /* its pod: the container's staged mounts go with its instance */
};

/* ---- podvm.c's helpers (see there) ---- */
int pod_save(struct pod *p, kumo_error_t *err);                 /* pod.json; lock held */
void pod_save_or_log(struct pod *p);
struct pod *pod_find(struct podvms *pv, const char *pod_id);
struct pod *pod_new(struct podvms *pv, const char *pod_id);     /* not listed yet */
void pod_free(struct pod *p);                                   /* unlisted ones */
void pod_list(struct podvms *pv, struct pod *p);                /* on the list */
void pod_unlist(struct podvms *pv, struct pod *p);              /* off the list, if on it */
/* The devices every pod VM has, booted or restored: the pod's two staging sides as 9p
 * shares and its NIC. pod_devices_open opens p's staging directory and fills d (the
 * NIC's MAC when with_mac: a restore keeps the saved machine's); d points into itself,
 * so it stays where it was filled. pod_devices_free frees its strings. */
struct pod_devices {
	char *ro, *rw;
	struct vmm_share shares[2];
	struct vmm_net_attach att;
};
int pod_devices_open(struct pod *p, const struct cri_pod_vm_spec *spec, bool with_mac,
		     struct pod_devices *d, kumo_error_t *err);
void pod_devices_free(struct pod_devices *d);
/* Makes the VM saved in dir p's (a checkpoint's, or a snapshot-start template's): any
 * leftover VM of p's name removed, p's run directory and devices (pod_devices_open,
 * without MAC), p's record saved (set what it must hold first), the VM restored paused
 * with COM1 starting with seed (may be NULL); then p is listed and its pump runs. On
 * failure p is not listed; the caller removes what is left as after a failed boot. */
int pod_restore_into(struct podvms *pv, struct pod *p, const struct cri_pod_vm_spec *spec,
		     const char *dir, const struct cri_record *seed, struct vmm_vm **vm,
		     struct vmm_snapshot_stats *st, kumo_error_t *err);
void pctr_free(struct pctr *c);
/* Parses what the record file gained (lock held); exits to report go to *rep. */
bool pod_pump(struct pod *p, struct report **rep, size_t *nrep);
void pod_pump_start(struct podvms *pv, struct pod *p);
void pod_pump_stop(struct pod *p);
/* Reports exits (no pod lock held) and frees rep. */
void pod_report(struct podvms *pv, struct report *rep, size_t n);
/* The control channel: connect (retrying 3 s), write (send_lock held), one message as
 * frames (malloc'd). */
int pod_connect(struct pod *p, kumo_error_t *err);
int pod_write(struct pod *p, const uint8_t *b, size_t n, kumo_error_t *err);
uint8_t *pod_frame(uint16_t type, uint64_t seq, uint32_t cid, const char *json,
		   const uint8_t *blob, size_t blob_len, size_t *len);
/* Waits (lock held) until pred holds, the VM ends or ms pass; true when pred held. */
bool pod_wait(struct pod *p, bool (*pred)(struct pod *, void *), void *arg, int ms);
/* Numbers, journals, sends a command and waits for its ACK (lock held, released while
 * writing); *ack (may be NULL) gets its JSON. */
int pod_command(struct pod *p, uint16_t type, uint32_t cid, const char *json,
		const uint8_t *blob, size_t blob_len,
		void (*before_send)(struct pod *, uint64_t, void *), void *ctx, char **ack,
		kumo_error_t *err);
/* The ACK's error message, NULL when it says ok (malloc'd). */
char *pod_ack_error(const char *ack);
/* A pod VM's RAM for the pod's memory limit (0: none). */
unsigned pod_memory_mib(int64_t limit);
struct builder_net;
/* The boot network of a pod with a NIC: its address, MAC, DNS (else the NIC's
 * resolvers: dnsv[3], searchv[6] hold them), hostname. */
void pod_net(const struct cri_pod_vm_spec *spec, const char **dnsv, const char **searchv,
	     struct builder_net *bn);

/* ---- podvm_template.c ---- */
/* Sets up pv's templates (removing earlier ones: a cache) at the stage's start. */
void podvm_templates_init(struct podvms *pv);
void podvm_templates_free(struct podvms *pv);
/* pod_run from the template snapshot of the pod's size and NIC (made first when
 * missing): restored onto the pod's tap and shares, REINIT, ready. On failure nothing
 * of the pod is left (the caller boots it). */
int podvm_run_from_template(struct podvms *pv, const struct cri_pod_vm_spec *spec,
			    kumo_error_t *err);
/* The "net" object of REINIT and RESUME (kernel/pod_abi.h) for the pod of spec (a NIC). */
json_t *pod_net_json(const struct cri_pod_vm_spec *spec);

/* ---- podvm_snap.c ---- */
/* cri_vms_ops.pod_checkpoint / pod_resume of the pod-VM stage. */
int podvm_pod_checkpoint(struct cri_vms *s, const char *pod_id, const char *path,
			 const struct cri_checkpoint_opts *o, const struct cri_record *recs,
			 size_t nrecs, const char *const *modules, kumo_error_t *err);
int podvm_pod_resume(struct cri_vms *s, const char *pod_id, kumo_error_t *err);
/* pod_run with spec->restore_dir: the pod's VM from the snapshot, paused, its
 * containers waiting to be adopted. */
int podvm_restore_vm(struct podvms *pv, const struct cri_pod_vm_spec *spec, kumo_error_t *err);
/* create with spec->restore_dir: container spec->name of the restored pod p becomes
 * spec->id; its mounts were staged by the caller under spec->id (stage_entry: their
 * prefix, NULL: none), the guest learns the new names at pod_resume. */
int podvm_adopt(struct pod *p, const struct cri_container_spec *spec, const char *stage_entry,
		kumo_error_t *err);
/* pod_replace with a snapshot: the one container that was running in restored pod p is
 * renamed name (adopted by the create of that name; NULL: it keeps its name); its others
 * (not running) that had that name take another, so that no create adopts them.
 * KUMO_E_PRECONDITION when the snapshot ran no container or several. */
int podvm_adopt_as(struct pod *p, const char *name, kumo_error_t *err);
/* After a restart's resynchronisation: RESUME, in case the kumod that died was in the
 * middle of a checkpoint (the pod's shares quiesced, its containers waiting); nothing
 * happens to a pod that is not quiesced but its clock set. */
void podvm_snap_recovered(struct pod *p);
/* The bytes of record file `path` from the last record boundary before `end` up to
 * `end`: a record a save cut, whose rest the restored guest writes (*out malloc'd, *len
 * may be 0). from: a record boundary at or before end. A header that is not a record's
 * (magic, length) between them is an error. */
/* A pod VM's live-migration hand-over (podvm_snap.c): MIGRATE magic line, podvm.json (one
 * line) and the bytes of a record the source's last pause cut. podvm_hand_over builds
 * it (malloc'd, *len); podvm_hand_over_parse checks one of pod src_pod (the source's
 * id) and points *state at its podvm.json and *cut at the cut record's bytes, inside
 * buf. */
uint8_t *podvm_hand_over(const char *state, const uint8_t *cut, size_t cut_len, size_t *len);
int podvm_hand_over_parse(const uint8_t *buf, size_t len, const char *src_pod,
			  struct cri_record *state, const uint8_t **cut, size_t *cut_len,
			  kumo_error_t *err);
int podvm_cut_record(const char *path, uint64_t from, uint64_t end, uint8_t **out, size_t *len,
		     kumo_error_t *err);

#endif /* KUMO_CRI_PODVM_IMPL_H */
