/* kernel/os/pod.h - pod mode inside the kernel (kernel/pod_abi.h): the record stream on
 * COM1, the control channel's virtio-console device, linking objects into the running
 * kernel, the containers and the supervisor that drives them. Freestanding; errors are
 * lowercase messages in caller buffers (they travel to the host in ACK/EXIT records). */
#ifndef KUMO_POD_H
#define KUMO_POD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/boot_abi.h"
#include "kernel/os/kload.h"

/* ---- the record stream (podrec.c) ----
 * Each record is written whole (header, then payload) before anything else can write
 * on COM1: the calls never give the CPU away and kernel code is never preempted. */
void podrec_write(uint16_t type, uint32_t cid, uint64_t seq, const void *payload, size_t len);
/* A record whose payload is formatted JSON (at most 4 KiB). */
void podrec_json(uint16_t type, uint32_t cid, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* An instance's output on fd 1 (stream 1) or fd 2 (stream 2), split into records of at
 * most KUMO_POD_REC_MAX bytes. */
void podrec_output(int stream, uint32_t cid, const void *buf, size_t len);
/* s as the inside of a JSON string (quotes, backslashes, control bytes escaped) into
 * out[cap], truncated; returns out. */
char *pod_json_escape(char *out, size_t cap, const char *s);

/* ---- the control channel (virtio_console.c) ---- */
/* Finds and starts the first virtio-console device (port 0 only, receive side): 1 when
 * there is one, 0 when the VM has none, -1 with a message in err when it failed. */
int vcons_init(char *err, size_t errcap);
/* Copies up to cap bytes the host sent and hands the device its buffers back; 0 when
 * nothing is waiting. Acknowledges the device's interrupt first. */
size_t vcons_read(uint8_t *buf, size_t cap);
/* 1 when the device interrupts on data; 0: the supervisor must poll it. */
extern int vcons_irq;

/* ---- linking into the running kernel (kimage.c: kload.h over vm.c's image window) ---- */
int kimage_link(const uint8_t *obj, size_t len, struct kload_image **out, char *err,
		size_t errcap);
void kimage_free(struct kload_image *img);

/* ---- containers (container.c) ---- */
enum ct_state { CT_CREATED = 1, CT_RUNNING, CT_EXITED };

/* A container preopen: a directory of a host share or of the pod's own tree. */
struct ct_preopen {
	char *guest;   /* the name the app sees */
	char *share;   /* mount tag, NULL: the pod's tree */
	char *path;    /* in the share (relative, NULL: its top) or the tree (absolute) */
	int readonly;
};

struct container {
	uint32_t cid;                 /* the host's handle */
	char *name;                   /* the host's name, for logs */
	enum ct_state state;
	struct kload_image *img;      /* the linked object (NULL: linked into the image) */
	const struct kumo_module *module;
	int argc, envc;
	char **argv, **envp;          /* NULL-terminated; env holds PWD when workdir is set */
	int npreopens;
	struct ct_preopen *preopens;
	int nlisten;
	char **listen;                /* "tcp:ADDR:PORT" / "udp:ADDR:PORT" */
	struct kumo_plat_file **socks; /* bound at create (or restart); the instance owns them */
	uint64_t memory_limit;        /* bytes, 0: none */
	uint64_t stack_size;
	int legacy;                   /* the kumo-run app: raw COM1/COM2, no records */
	struct kpipe *stdin_pipe;     /* "stdin": true: its fd 0 (pod_stdin.c), kept across
				       * restarts until REMOVE; NULL: fd 0 is empty */
	/* the instance */
	struct kthread *thread;       /* while RUNNING (until reaped) */
	uint64_t start_seq;           /* the START that made it */
	uint32_t instance;            /* pod-wide instance number */
	uint64_t start_tsc;           /* when START arrived */
	uint64_t stop_deadline_ns;    /* STOP's grace end, UINT64_MAX: none */
	/* how the last instance ended (EXIT record) */
	int exit_status;
	char exit_kind[12];
	uint32_t exit_trap;
	char exit_msg[200];
	uint64_t instantiate_ns;      /* of the last instance */
	uint64_t preemptions;         /* times the timer took the CPU from its instances */
};

/* Builds a container from CREATE's JSON (json NUL-terminated); binds its listen
 * sockets. 0, or -1 with err (nothing kept). The image is attached by the caller. */
int container_configure(struct container *c, const char *json, char *err, size_t errcap);
/* Opens (and closes) every preopen of c: a missing share or directory is a CREATE
 * error, not a surprise at START. 0 or -1 with err. */
int container_check_preopens(struct container *c, char *err, size_t errcap);
/* Reads file `path` (relative) of host share `tag` into a malloc'd buffer. 0 or -1. */
int container_read_share_file(const char *tag, const char *path, uint8_t **out, size_t *len,
			      char *err, size_t errcap);
/* Binds c's listen sockets (again, for a restart); 0 or -1 with err. */
int container_bind(struct container *c, char *err, size_t errcap);
/* Frees what container_configure and the image made (not the struct). */
void container_release(struct container *c);
/* Runs one instance on the calling thread (a container thread): WASI state, instance,
 * STARTED, `_start`, EXIT record; returns the exit status. Interrupts on while the
 * app's code runs. */
int container_run(struct container *c);

/* ---- a container's stdin (pod_stdin.c) ----
 * A pipe of at most KUMO_POD_STDIN_MAX unread bytes, filled by the supervisor (STDIN)
 * and read by the container's instance on fd 0; the supervisor kicks waiters. */
struct kpipe;
struct kumo_plat_iov;
struct kpipe *kpipe_new(void);        /* NULL: out of memory */
void kpipe_free(struct kpipe *p);     /* accepts NULL */
/* fd_read on fd 0: waits (others run) until bytes are there or the host closed it
 * (0 bytes: end-of-file); a STOP or KILL of the container ends the wait. */
int kpipe_read(struct kpipe *p, const struct kumo_plat_iov *iov, size_t n, size_t *done);
/* poll_oneoff: readable when bytes wait (nbytes of them) or at end-of-file (hangup). */
void kpipe_poll(const struct kpipe *p, bool *ready, bool *hangup, uint64_t *nbytes);
/* Executes STDIN (m's blob appended) or CLOSE_STDIN for c and writes its ACK. */
void pod_stdin_command(struct container *c, const struct kumo_pod_msg *m, const uint8_t *blob);

/* ---- the pod (pod.c) ---- */
/* The pod supervisor: kumo_app_main of the pod image (kernel/os/pod_main.c). */
int pod_main(void);
/* Total instances started since boot (INFO, STARTED). */
extern uint32_t pod_instances;

/* ---- snapshots (pod_snap.c) ---- */
/* Executes QUIESCE, RESUME or REINIT (kernel/pod_abi.h "Snapshots"), writes its ACK. */
void pod_snap_command(const struct kumo_pod_msg *m, const char *json);
/* Container cid (1..KUMO_POD_MAX_CID), NULL: none (pod.c). */
struct container *pod_container(uint32_t cid);
/* A new random boot id (READY, INFO, PING): at boot, and at REINIT (pod.c). */
const char *pod_new_boot_id(void);
/* Whether m must wait for RESUME (a CREATE while quiesced: its preopens and object may
 * be on a share); 1 with its error ACK written, else 0. */
int pod_snap_refuses(const struct kumo_pod_msg *m);

#endif /* KUMO_POD_H */
