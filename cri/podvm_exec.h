/* cri/podvm_exec.h - inside the pod-VM stage: what cri/podvm.c (the pods, their control
 * channels and record pumps) and cri/podvm_exec.c (Exec and attach's stdin) ask of each
 * other. Private to those two files.
 *
 * A command exec runs is a transient container of the pod VM: a handle of its own
 * (CREATE, START, its records, REMOVE), listed among the pod's containers under an id
 * starting with PODVM_EXEC_ID_PREFIX (never a CRI id: those are 64 hex digits), so that
 * handles are never given twice and pod.json keeps it across a kill -9 of kumod. It is
 * never reported to cri: its output and end go to its struct pexec. After a restart a
 * transient container has no pexec (an orphan): podvm_exec_reap_orphans ends it.
 *
 * Locking: podvm.c calls podvm_exec_output/podvm_exec_ended with the pod's lock held;
 * they take only the pexec's own lock. Every podvm_* service below takes the pod's lock
 * itself (call them without it). */
#ifndef KUMO_CRI_PODVM_EXEC_H
#define KUMO_CRI_PODVM_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "cri/backend.h"

#define PODVM_EXEC_ID_PREFIX "exec-"

struct pod;
struct pexec;

/* ---- podvm_exec.c, for podvm.c ------------------------------------------------------ */

/* cri_vms_ops.exec and .attach_stdin of the pod-VM stage (backend.h). */
int podvm_exec(struct cri_vms *s, const struct cri_exec_spec *spec, int32_t *exit_code,
	       kumo_error_t *err);
int podvm_attach_stdin(struct cri_vms *s, const char *id, bool once, int *fd,
		       kumo_error_t *err);
/* The record pump: output (stream 1 stdout, 2 stderr) of x's container, and its end. */
void podvm_exec_output(struct pexec *x, int stream, const uint8_t *p, size_t n);
void podvm_exec_ended(struct pexec *x, const struct kumo_exit_record *ex);
/* CreateContainer: remembers in run_dir what an exec in this container needs (its
 * CREATE config JSON, the image's rootfs, the mounts, whether it has a stdin); logged
 * on failure (exec then says the container has no record). */
void podvm_exec_remember(const char *run_dir, const struct cri_container_spec *spec,
			 const char *config_json);
/* RemoveContainer: forgets it. */
void podvm_exec_forget(const char *run_dir, const char *id);
/* After a restart, with the control channel in sync: every transient container of p
 * without a pexec is killed and removed. */
void podvm_exec_reap_orphans(struct pod *p);
/* Waits (up to 5 s) until no attach stdin thread is left (the stage is being freed). */
void podvm_exec_quiesce(void);

/* ---- podvm.c, for podvm_exec.c ------------------------------------------------------ */

/* A CRI container of a pod VM, as exec sees it. */
struct podvm_ctr_info {
	uint32_t cid;   /* its handle in the VM */
	bool running;   /* started, not ended, its pod VM up */
	char *run_dir;  /* the pod VM's run directory (malloc'd) */
	char *root;     /* kumod's state root, the build cache's (malloc'd) */
	char *name;     /* metadata.name (malloc'd) */
};
void podvm_ctr_info_clear(struct podvm_ctr_info *i);
/* The pod VM of CRI container id (a full id), held until podvm_pod_put (a held pod is
 * not freed: removing it waits); KUMO_E_NOT_FOUND when no pod VM has it. */
struct pod *podvm_pod_get(struct cri_vms *s, const char *id, struct podvm_ctr_info *info,
			  kumo_error_t *err);
void podvm_pod_put(struct pod *p);
/* Sends a command for handle cid and waits for its ACK (*ack: its JSON, malloc'd); a
 * START records its seq as the container's newest. Fails when the VM is not running or
 * no ACK came (a refusal is an ACK: read it). */
int podvm_send(struct pod *p, uint16_t type, uint32_t cid, const char *json,
	       const uint8_t *blob, size_t blob_len, char **ack, kumo_error_t *err);
/* The ACK's error message, NULL when it says ok (malloc'd). */
char *podvm_ack_error(const char *ack);
/* Lists a transient container for x under a free handle (*cid) and saves pod.json. */
int podvm_transient_add(struct pod *p, const char *name, struct pexec *x, uint32_t *cid,
			kumo_error_t *err);
/* Lets go of transient container cid's pexec: forget, it leaves the pod's list (after
 * its REMOVE, or when the VM is gone); else it stays listed as an orphan (its REMOVE
 * failed: the restart procedure ends it). */
void podvm_transient_release(struct pod *p, uint32_t cid, bool forget);
/* The first transient container without a pexec: its handle (0: none), whether it was
 * started and whether it has ended. */
uint32_t podvm_transient_orphan(struct pod *p, bool *started, bool *ended);
/* Waits up to ms until container cid's newest instance ended; true when it did. */
bool podvm_wait_ended(struct pod *p, uint32_t cid, int ms);
/* True once the pod VM ended. */
bool podvm_pod_dead(struct pod *p);

#endif /* KUMO_CRI_PODVM_EXEC_H */
