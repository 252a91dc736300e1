/* vmm/vmm_backend.h - private to vmm/: the backend operations table, the connection and
 * VM objects both backends fill, and the console pump they share. */
#ifndef KUMO_VMM_BACKEND_H
#define KUMO_VMM_BACKEND_H

#include <pthread.h>

#include "vmm.h"

/* File names inside a VM's run directory (the raw streams: vmm.h). */
#define VMM_CONSOLE_OFFSETS "console.offsets"
#define VMM_QEMU_PID_FILE "qemu.pid" /* QEMU-direct: written as soon as QEMU is spawned,
				      * before vm.json (which waits for its monitor) */

struct vmm_ops {
	const char *name;                                           /* "qemu", "libvirt" */
	int (*open)(struct vmm *vmm, kumo_error_t *err);            /* connect */
	void (*close)(struct vmm *vmm);                             /* disconnect, free priv */
	int (*create)(struct vmm_vm *vm, kumo_error_t *err);        /* make it, paused */
	int (*resume)(struct vmm_vm *vm, kumo_error_t *err);        /* run it */
	int (*shutdown)(struct vmm_vm *vm, kumo_error_t *err);      /* ask the guest to stop */
	int (*destroy)(struct vmm_vm *vm, kumo_error_t *err);       /* end it now */
	int (*stats)(struct vmm_vm *vm, struct vmm_stats *out, kumo_error_t *err);
	void (*release)(struct vmm_vm *vm);                         /* free vm->priv */
	/* Finds an existing VM by name: 1 and *state when it runs (or is paused: CREATED),
	 * 0 when it is gone, -1 on error. NULL: the backend cannot re-attach. */
	int (*attach)(struct vmm_vm *vm, enum vmm_state *state, kumo_error_t *err);
	/* Snapshots (vmm/snapshot.c); NULL: the backend cannot. save pauses the guest and
	 * writes the machine's state (QEMU's migration stream) to fd, leaving it paused;
	 * save_end resumes it (resume) or leaves it paused for a destroy; load_wait waits
	 * until a VM created with vm->incoming has read its whole state. */
	int (*save)(struct vmm_vm *vm, int fd, kumo_error_t *err);
	int (*save_end)(struct vmm_vm *vm, bool resume, kumo_error_t *err);
	int (*load_wait)(struct vmm_vm *vm, kumo_error_t *err);
	/* Live migration to uri (pre-copy while the guest runs, paused for the last round);
	 * on success the guest is paused for good (save_end(false) and a destroy follow);
	 * st gets QEMU's downtime (paused_ns), total time (save_ns) and bytes sent;
	 * max_bandwidth in bytes per second, 0: unthrottled. */
	int (*migrate)(struct vmm_vm *vm, const char *uri, uint64_t max_bandwidth,
		       struct vmm_snapshot_stats *st, kumo_error_t *err);
	/* Ends an outgoing migration, if one runs, and waits until it has; *status
	 * (malloc'd) is QEMU's migration status then. NULL: the backend has none. */
	int (*migrate_cancel)(struct vmm_vm *vm, char **status, kumo_error_t *err);
};

extern const struct vmm_ops vmm_qemu_ops;
extern const struct vmm_ops vmm_libvirt_ops;

struct vmm {
	struct vmm_config cfg;     /* copy; strings below own theirs */
	char *uri;                 /* libvirt URI */
	char *qemu_binary;         /* QEMU executable */
	enum vmm_accel accel;      /* resolved: KVM or TCG */
	char accel_reason[320];    /* the verdict's reason when resolved here */
	struct vmm_jail jail;      /* how QEMU is confined (vmm_jail_init) */
	char *jail_user;           /* cfg.jail_user's copy, NULL: default */
	char *cgroup_root;         /* cfg.cgroup_root's copy, NULL: default */
	const struct vmm_ops *ops; /* the backend */
	void *priv;                /* backend connection state */
	pthread_mutex_t lock;      /* guards vms and each vm's refs */
	pthread_cond_t cond;       /* signalled when a vm's refs drop to 0 */
	struct vmm_vm **vms;       /* live VMs of this connection: the registry */
	char *state_dir;           /* run directories by name, NULL: none */
	char *libvirt_netns;       /* cfg.libvirt_netns's copy, NULL: none */
	size_t nvms;
	pthread_t watchdog;        /* ends started VMs that show no sign of life */
	bool watchdog_started;
	bool closing;              /* vmm_close() runs: the watchdog ends */
	pthread_cond_t watch_cond; /* wakes the watchdog (a VM started, closing) */
	char qemu_version[128];    /* vmm_qemu_version of qemu_binary, "" until asked
				    * (snapshots; under lock) */
	struct vmm_tsc_mark tsc_mark; /* taken at open: the TSC rate's measuring window */
	char *tsc_cache_dir;       /* where the rate is cached (the accelerator cache's) */
};

struct vmm_console;

struct vmm_vm {
	struct vmm *vmm;             /* the connection */
	struct vmm_spec spec;        /* deep copy of the caller's spec */
	struct vmm_net_attach net;   /* storage for spec.net */
	pthread_mutex_t lock;        /* guards the fields below */
	pthread_cond_t cond;         /* signalled when state changes */
	enum vmm_state state;
	bool stop_requested;         /* vmm_stop began: an exit without record is KILLED */
	struct kumo_exit_record exit; /* valid in VMM_STATE_EXITED */
	uint64_t exited_ns;          /* kumo_now_ns() when it was learned */
	bool started;                /* vmm_start ran (or attached after one) */
	bool create_async;           /* vmm_create_async: the backend's create returns before
				      * the VM is built; vmm_start waits for it */
	bool run_at_once;            /* vmm_run: the backend's create also resumes the guest
				      * (QEMU: `cont` sent with the start-up's last command) */
	bool gone;                   /* vmm_vm_gone() ran or runs */
	bool exit_delivered;         /* the EXITED event returned: waiters may go on */
	pid_t pid;                   /* QEMU's pid when known */
	struct vmm_console *console; /* the pump following the raw streams */
	uint64_t first_output_ns;    /* kept from the console once it finished */
	void *priv;                  /* backend state */
	unsigned refs;               /* holds by event handlers (under vmm->lock) */
	char error[256];             /* why it ended without its app's exit (first cause
				      * wins), "" when none known */
	uint64_t life_deadline_ns;   /* kumo_now_ns() by which COM3 must show the boot
				      * record; 0: not watched (under vmm->lock) */
	bool incoming;               /* a restore: the backend loads the machine's state
				      * from incoming_fd instead of booting (vmm/snapshot.c) */
	int incoming_fd;             /* with incoming: the migration stream, read from its
				      * current offset */
	char *incoming_uri;          /* with incoming: QEMU listens here instead
				      * ("tcp:ADDR:PORT", a live migration), NULL: fd */
};

/* `qemu --version`'s first line without "QEMU emulator version " ("" when it does not
 * run), into out (vmm/accel.c). */
void vmm_qemu_version(const char *bin, char *out, size_t cap);

/* A restore's input: the migration stream and the kernel log (COM3) saved with it. */
struct vmm_incoming {
	int fd;                   /* the stream, read from its current offset */
	const char *uri;          /* instead of fd: QEMU's -incoming URI ("tcp:ADDR:PORT") */
	const uint8_t *kernel_log;/* COM3's bytes at the checkpoint (borrowed) */
	size_t kernel_log_len;
	const uint8_t *com1;      /* what COM1's file starts with (borrowed, may be NULL) */
	size_t com1_len;
};
/* vmm_create for a restore (vmm/snapshot.c): the VM is created paused with its state
 * loading from in->fd; the caller waits for ops->load_wait. */
int vmm_create_incoming(struct vmm *vmm, const struct vmm_spec *spec,
			const struct vmm_incoming *in, struct vmm_vm **out, kumo_error_t *err);

/* ---- Migration over QMP (vmm/migration.c) --------------------------------------------
 * Both backends save, load and migrate with QEMU's migration stream, which they drive
 * with the same QMP commands: QEMU-direct on its own monitor socket, libvirt through
 * libvirt-qemu's monitor passthrough. */

#define VMM_INCOMING_IDLE_MS 60000 /* a live migration's destination waits this long */

/* How a backend runs one QMP command on a VM's QEMU: cmd with args (a JSON object's text,
 * NULL: none); *answer (may be NULL) gets QEMU's whole answer line (malloc'd). An
 * "error" answer is an error naming QEMU's description. */
struct vmm_qmp {
	int (*call)(void *ctx, const char *cmd, const char *args, char **answer,
		    kumo_error_t *err);
	void *ctx; /* the backend's: its VM, its domain */
};

/* What QEMU says of a finished outgoing migration (query-migrate). */
struct vmm_migrate_result {
	uint64_t downtime_ms;   /* "downtime": the guest's pause at the end */
	uint64_t total_ms;      /* "total-time" */
	uint64_t transferred;   /* "ram"."transferred" bytes */
};

/* QEMU 7.2 throttles every outgoing migration to 32 MiB/s by default (a file too): kumo's
 * go as fast as they can, unless max (bytes per second, a caller's limit) or
 * KUMO_VM_MIGRATE_MAX_BANDWIDTH (vmm.h's test knobs) says otherwise. */
int vmm_migrate_unthrottle(const struct vmm_qmp *q, uint64_t max, kumo_error_t *err);
/* migrate_cancel, then query-migrate until QEMU has let go of the migration (up to 5 s);
 * *status (malloc'd) is its status then: "none", "cancelled", "failed" or "completed". */
int vmm_migrate_cancel_wait(const struct vmm_qmp *q, char **status, kumo_error_t *err);
/* Polls query-migrate until the migration (outgoing, or the incoming one of a restore)
 * ends: 0 when it completed; QEMU's reason when it failed; an error after timeout_ms, or
 * after VMM_INCOMING_IDLE_MS without a byte when incoming_uri (a live migration's
 * destination, named in the error) is not NULL. res (may be NULL) gets the figures. */
int vmm_migrate_wait(const struct vmm_qmp *q, const char *incoming_uri, int timeout_ms,
		     struct vmm_migrate_result *res, kumo_error_t *err);

/* After a save's stream completed: waits until QEMU has left run state `finish-migrate`
 * (QEMU 7.2 reports "completed" a moment before its migration thread moves the guest
 * to `postmigrate`; a `cont` in between fails with "Migration is not finalized yet"). */
int vmm_migrate_settle(const struct vmm_qmp *q, kumo_error_t *err);

/* Backends call this exactly once when the VM is gone (QEMU reaped / STOPPED event):
 * drains the console, reads the exit record, wakes waiters, emits VMM_EVENT_EXITED. */
void vmm_vm_gone(struct vmm_vm *vm);
/* Records why the VM ends without its app's exit (the first cause wins; later ones
 * only go to the debug log). */
void vmm_vm_set_error(struct vmm_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Records the cause, then destroys the VM now (never hang). From any thread that does
 * not hold vm->lock; the backend's destroy must not wait for events. */
void vmm_vm_fail(struct vmm_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Delivers an event to the connection's callback. */
void vmm_emit(struct vmm *vmm, enum vmm_event_type type, struct vmm_vm *vm);

/* The console pump: follows run_dir's raw stdout/stderr files into the spec's sinks.
 * resume: continue from the offsets saved in run_dir (re-attach), else start at 0. */
int vmm_console_start(struct vmm_vm *vm, bool resume, struct vmm_console **out,
		      kumo_error_t *err);
/* A stream console's (vmm_spec.console_stream) QEMU ends of the COM1 and COM2 sockets
 * into out[] (-1 when the console is not a stream, or they were closed): the backend
 * hands them to QEMU; the console keeps them until vmm_console_close_peers. */
void vmm_console_peers(const struct vmm_console *c, int out[2]);
/* Closes our copies of QEMU's ends (after the create; NULL is fine). */
void vmm_console_close_peers(struct vmm_console *c);
/* Copies everything still in the files, flushes the CRI log (final), stops the thread,
 * frees c; returns its first-output time (0: none, or c is NULL). */
uint64_t vmm_console_finish(struct vmm_console *c);
/* Like vmm_console_finish, for a VM that keeps running (vmm_vm_detach): an unfinished
 * line is not logged; the saved offsets point at its start, so the next owner
 * (vmm_attach) logs it whole. */
void vmm_console_detach(struct vmm_console *c);
/* The bytes of each stream's unfinished line held in memory, not yet in the file (a
 * NULL log holds none). */
void vmm_crilog_pending(const struct vmm_crilog *log, size_t pending[2]);
/* Forgets the unfinished lines (their lengths in dropped[]) without logging them. */
void vmm_crilog_drop_partial(struct vmm_crilog *log, size_t dropped[2]);
int vmm_console_reopen(struct vmm_console *c, kumo_error_t *err);
uint64_t vmm_console_first_output_ns(struct vmm_console *c);

#endif /* KUMO_VMM_BACKEND_H */
