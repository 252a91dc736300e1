/* kernel/pod_abi.h - the pod part of the host<->guest boot ABI: a kumo VM that is a
 * whole pod, its containers linked into the running kernel one by one. Included by
 * kernel/boot_abi.h (include that one); the two are one boundary, versioned together
 * by KUMO_BOOT_ABI_VERSION (pod mode appeared in 3). Self-contained (<stdint.h> only),
 * for freestanding and hosted code. Structs only grow by appending; message and record
 * types are never renumbered. IN: host writes, guest reads; OUT: guest writes, host
 * reads. All integers little-endian.
 *
 * Pod mode
 *   A boot config with a "pod" object (boot_abi.h's JSON) boots the kernel with no app:
 *   it mounts the config's host shares ("mounts", and the shares its containers will
 *   name: every virtio-9p device is found at boot), brings the network up ("net"
 *   without its "listen" list; no "net": lwIP on the loopback interface only, so
 *   containers still reach each other on 127.0.0.1), opens the control channel, writes
 *   the READY record and waits for commands. The config's "args", "env", "preopens",
 *   "stack_size" and "net.listen" are the app's, not the pod's: they only configure
 *   container 1 when the initrd carries an object (preloaded: created, not started). A
 *   kernel image linked with an app (today's `kumo build`) ignores "pod" and runs that
 *   app.
 *       "pod": {"name": "web-7d9f"}       the pod's name, for the kernel log only
 *   Each container is a relocatable object from kumo's compiler (compiler/abi.h): the
 *   kernel checks it (ELF64 x86-64 ET_REL, KUMO_ABI_VERSION, the CPU features of
 *   kumo_module.cpu, every offset, symbol, relocation and descriptor pointer against
 *   the object's bounds), resolves its undefined symbols against its own exports (the
 *   WASI functions of kernel/kernel.h's list and compiler/abi.h's libcalls; a missing
 *   WASI import is "unsupported import `module.name`", as `kumo build` says), applies
 *   the relocations and maps it executable/read-only in the top 2 GiB of the address
 *   space, within rel32 reach of the kernel (direct calls stay direct). A bad object is
 *   an error for that command only; the pod's other containers never notice.
 *   Each container runs as its own kernel thread on its own guarded stack with its own
 *   instance (linear memory in its own 8 GiB reservation with guard pages, tables,
 *   globals), its own WASI state (fds, args, env, preopens) and its own stdout/stderr.
 *   A trap, an exit, a stop or a kill ends only that container's instance. One vCPU
 *   runs them all: a blocking WASI call (poll_oneoff, sleeps, socket and console waits)
 *   lets the others run; a container computing in its own code is preempted every
 *   KUMO_POD_SLICE_MS (never while it is inside the kernel: lwIP, WASI, libcalls). Idle:
 *   hlt. A VM with more vCPUs runs everything on the first one (the others stay
 *   parked): a CPU limit above one vCPU buys nothing yet, so the host should give a pod
 *   VM one vCPU. What the pod shares the containers share: one lwIP stack and address
 *   (127.0.0.1 reaches another container; a port held by one container is EADDRINUSE
 *   for the next) and every host share (a write by one is the next read of the other).
 *
 * The control channel (IN): host -> guest commands
 *   A virtio-console device (virtio ID 3) on virtio-mmio, driven as a single console
 *   port (port 0; VIRTIO_CONSOLE_F_MULTIPORT is not negotiated). QEMU, on microvm:
 *       -device virtio-serial-device,max_ports=1
 *       -chardev socket,id=kumoctl,path=<run dir>/control.sock,server=on,wait=off
 *       -device virtconsole,chardev=kumoctl
 *   (libvirt: <console type='unix'><source mode='bind' path=.../><target type='virtio'/>)
 *   The host connects to that socket, writes commands and reads nothing back: the
 *   kernel never writes to the channel. When kumod dies the socket closes; a restarted
 *   kumod connects again (QEMU serves one connection at a time and accepts the next).
 *   Without a virtio-console device a pod VM boots, writes READY with "control": false
 *   and can receive no command (a host-side mistake to report).
 *   A command is a message: JSON (json_len bytes of UTF-8, an object; absent keys take
 *   their defaults) then a blob (blob_len bytes of binary data), together its body, sent
 *   as frames: struct kumo_pod_msg (40 bytes) followed by the next at most
 *   KUMO_POD_FRAG_MAX bytes of the body, from offset frag_off; the frames of one message
 *   go back to back, frag_off 0 first (a message with an empty body is one header).
 *   hdr_crc is CRC-32 (IEEE 802.3, as zlib's crc32) over the header's first 36 bytes,
 *   frag_crc the same over the frame's payload. The kernel reads the stream in order:
 *     - a header whose magic, version or hdr_crc is wrong (or whose lengths exceed the
 *       limits) is skipped one byte at a time until a valid header appears (one ERROR
 *       record "resync", with how many bytes were skipped);
 *     - a frame whose frag_crc is wrong drops its message (ERROR naming its seq);
 *     - a frame that does not continue the message being received (another seq, type,
 *       cid or lengths, or another offset than the bytes received so far) drops that
 *       message and itself; frag_off 0 always starts a new one.
 *   Nothing dropped is executed. So the kernel never takes more than one frame's payload
 *   on trust: after a cut, at most KUMO_POD_SYNC_BYTES of whatever follows are lost.
 *   seq orders commands: the host numbers them from 1 up, never reusing a number for
 *   the life of the VM (persist the next one, e.g. with the container state). The
 *   kernel executes a command only when its seq is above every seq it executed; one at
 *   or below that is a duplicate, acknowledged again (ACK {"dup": true}) and not
 *   executed. PING with seq 0 is the exception: never a duplicate, never moves the
 *   counter.
 *
 * The record stream (OUT): guest -> host, on COM1 in pod mode
 *   In pod mode COM1 (KUMO_BOOT_PORT_STDOUT) carries only records: struct
 *   kumo_pod_rec (24 bytes), then len payload bytes, back to back from the first byte
 *   the kernel writes there. COM2 is unused; COM3 keeps the kernel log, the boot record
 *   and the VM's own exit record (panic, or the end of the pod). Each record is written
 *   whole before the next begins (the kernel never switches threads inside one). The
 *   host backs COM1 with an append-only file (QEMU -chardev file,append=on, as today)
 *   and tails it with a saved offset (vmm/'s console pump), so nothing is lost while
 *   kumod is down and no record needs re-sending: the file is the durable channel.
 *   A record cut short at the end of the file is incomplete (the VM died while writing
 *   it or the host read too early): wait for the rest, drop it when the VM is gone.
 *   Ordering: a container's STDOUT/STDERR records come before its EXIT record; a
 *   command's ACK comes after every record its effects caused up to then.
 *
 * Restart of the host (kill -9 of kumod) - what the host does, in order:
 *   1. Read the record file from its saved offset (or from 0 to rebuild everything):
 *      every ACK, STARTED, EXIT and output record it missed is there.
 *   2. Connect to the control socket again.
 *   3. The dead connection may have left a frame half-written, which the kernel still
 *      expects the rest of. Write KUMO_POD_SYNC_BYTES zero bytes (they finish that frame,
 *      whose checksum then fails, and are never a header), then PING (seq 0, JSON
 *      {"nonce": "<new random>"}); wait for an ACK with that nonce in the file (again
 *      after KUMO_POD_RESYNC_MS without one). From then on the stream is in sync, and
 *      every command the kernel had received whole before that PING has its ACK
 *      earlier in the file.
 *   4. Re-send, with their original seq and in order, the commands whose ACK is not in
 *      the file. (Executed twice: never; the kernel dedups by seq.)
 *
 * Containers
 *   Named by a host-chosen handle `cid` (1..KUMO_POD_MAX_CID, unique among the pod's
 *   containers until REMOVE frees it; the host keeps the CRI id <-> cid map). States:
 *   CREATED (linked, not running) -> RUNNING (START) -> EXITED (the instance ended) ->
 *   RUNNING again (START: a restart is a new instance of the same linked object, no
 *   boot, no new link) ... ; REMOVE from CREATED or EXITED. The kernel counts instances
 *   (INFO, STARTED): a restart moves that count, never the boot id.
 *
 * Commands (struct kumo_pod_msg.type), the JSON they take, what their ACK says:
 *   PING     {"nonce": S}?  -> ACK {"nonce": S, "boot_id", "uptime_us"}
 *   CREATE   cid, the container config JSON (below), blob = the object (or none when
 *            "object" names a share file) -> ACK {"transfer_us": <first to last byte
 *            of the message>, "read_us": <the object from its share>, "link_us",
 *            "object_bytes", "image_bytes"} or an error: cid in use, a bad object
 *            ("object: ..."), an
 *            unsupported import, a share or preopen that is not there, a listen port
 *            another container holds ("listen `tcp:0.0.0.0:8080`: address in use"), a
 *            memory limit that does not fit what the VM has left for containers.
 *   START    cid -> ACK once its thread exists; STARTED when `_start` is called, or
 *            EXIT (kind "error"/"trap") when instantiation failed. START of a RUNNING
 *            container is an error.
 *   STOP     cid, {"grace_ms": N (default KUMO_POD_DEFAULT_GRACE_MS)} -> ACK at once;
 *            the instance ends with KUMO_EXIT_STATUS_STOPPED (143, kind "stopped") at
 *            its next wait (a waiting one at once), or with KUMO_POD_EXIT_KILLED (137,
 *            kind "killed") when grace_ms passes and it has not waited. STOP of a
 *            container that is not running: ACK, nothing to do.
 *   KILL     cid -> ACK; ends the instance at once with 137 (kind "killed").
 *   REMOVE   cid -> ACK; frees the object, instance and handle. RUNNING: an error.
 *   INFO     -> ACK {"boot_id", "uptime_us", "instances", "switches", "heap_bytes",
 *            "free_bytes" (the kernel heap in use, free RAM: leak checks), "containers":
 *            [{"cid", "name", "state": "created|running|exited", "instance", "status",
 *            "preemptions"}...]}
 *   STDIN    cid, blob = bytes for the container's fd 0 (a container CREATEd with
 *            "stdin": true) -> ACK {"buffered": <bytes now waiting to be read>} once
 *            they are appended, all of them; or an error with nothing appended: no
 *            stdin ("created without stdin"), closed, more than KUMO_POD_STDIN_MAX
 *            bytes, or {"full": true, "buffered": N, "error": "stdin of container C is
 *            full: ..."} when N + blob_len would pass KUMO_POD_STDIN_MAX: send the same
 *            bytes again (a new seq) once the app has read some. The host keeps each
 *            STDIN small (a frame's worth) so a full one is cheap to repeat.
 *   CLOSE_STDIN cid -> ACK {"buffered": N}; the app reads the N bytes still waiting,
 *            then end-of-file; a later STDIN is an error ("closed"). Idempotent.
 *   EXEC     reserved, not implemented (ACK with an error "not supported"): the host
 *            runs a command in a pod (CRI Exec) as a container of its own: CREATE with
 *            a fresh cid, the command's object, the container's env and preopens, no
 *            listen sockets; START; its STDOUT/STDERR/EXIT records; REMOVE (KILL first
 *            when the client goes away).
 *   Any other type: ACK with the error "unknown command N".
 *
 * The container config (CREATE's JSON), all keys optional:
 *   {
 *     "name":     "web",                   the host's name (kernel log, INFO)
 *     "args":     ["net_httpd", "--port", "8080"],   argv, argv[0] included
 *     "env":      ["K=V", ...],            environ, in order
 *     "workdir":  "/srv",                  WASI has no working directory: PWD=<workdir>
 *                                          is added to env (wasi-libc resolves relative
 *                                          paths from the first preopen)
 *     "preopens": [{"guest": "/data", "share": "vol1", "path": "sub/dir", "readonly": B},
 *                  {"guest": "/tmp", "path": "/tmp"}]
 *                                          fds 3, 4, ... in order: with "share", the
 *                                          directory "path" (default: the top) of that
 *                                          host share (virtio-9p mount tag); without,
 *                                          the directory "path" of the pod's own tree
 *                                          (the initrd rootfs + "mounts", shared by every
 *                                          container). "readonly": no change through it.
 *     "listen":   ["tcp:0.0.0.0:8080"]     sockets bound (tcp: listening) at CREATE and
 *                                          handed over after the preopens, with
 *                                          LISTEN_FDS/KUMO_LISTEN_FD_START (boot_abi.h)
 *     "memory_limit": 67108864,            bytes the linear memory may grow to (0 or
 *                                          absent: its declared maximum, uncounted);
 *                                          counted against READY's "memory_bytes" (the
 *                                          VM's free RAM at READY less
 *                                          KUMO_POD_KERNEL_RESERVE): size a pod VM as
 *                                          the sum of its limits + the reserve + each
 *                                          container's stack_size
 *     "stack_size": 1048576,               as boot_abi.h's "stack_size"
 *     "object":   {"share": "kumo-objects", "path": "ab/cd.o"}
 *                                          read the object from that share instead of
 *                                          the blob (the blob must then be empty)
 *     "stdin":    true                     fd 0 reads what the host sends with STDIN
 *                                          (a pipe of at most KUMO_POD_STDIN_MAX unread
 *                                          bytes): fd_read waits until bytes are there
 *                                          (the pod's other containers run meanwhile)
 *                                          or CLOSE_STDIN ended it (0 bytes: end of
 *                                          file); poll_oneoff sees fd 0 readable then;
 *                                          a STOP or KILL ends an instance waiting on
 *                                          it as any other wait. The pipe lives from
 *                                          CREATE to REMOVE: a restarted instance reads
 *                                          on where the last one stopped. false or
 *                                          absent: fd 0 is empty (end of file at once)
 *   }
 *
 * Records (struct kumo_pod_rec.type), their cid and seq, their payload:
 *   READY    cid 0; JSON {"boot_id": "<16 hex>", "abi": KUMO_BOOT_ABI_VERSION,
 *            "control": true|false, "max_cid": N, "memory_bytes": <left for containers'
 *            memory limits>, "boot_us": <kernel entry to ready>, "preloaded": 1 (when the
 *            initrd carried an object)}. Once per boot, before any other record.
 *   ACK      seq = the command's (0 for PING), cid = the command's; JSON {"ok": true,
 *            ...} or {"ok": false, "error": "<lowercase message>"}; "dup": true on a
 *            duplicate.
 *   ERROR    seq/cid of the dropped message when its header was valid, else 0; JSON
 *            {"error": "<message>"}: "resync: skipped N bytes ...", "message seq N:
 *            frame checksum mismatch: dropped", "... incomplete (a new message began)",
 *            "... a frame out of order", "... out of memory for its body". Nothing
 *            dropped was executed.
 *   STDOUT, STDERR   cid; the bytes the instance wrote to fd 1 / fd 2, as written (one
 *            fd_write may span several records of at most KUMO_POD_REC_MAX bytes).
 *   STARTED  cid, seq = the START's; JSON {"instance": N (pod-wide count, from 1),
 *            "instantiate_us", "start_us": <START received to `_start` called>,
 *            "thread_us": <START received to its thread running>, "wasi_us": <its
 *            stdio, preopens, sockets and WASI state>} (guest clock)
 *   EXIT     cid, seq = the START's; JSON {"instance": N, "status": 0..255, "kind":
 *            "exit|trap|stopped|killed|error", "trap": <enum kumo_trap_code, 0: none>,
 *            "msg": "<exited | the trap's spec wording | stopped by the host | killed
 *            by the host | the instantiation error>"}. status: the app's exit status;
 *            KUMO_EXIT_STATUS_TRAP (134) for a trap, 143 stopped, 137 killed, 255 error.
 *   Unknown record types: skip them (len says how far).
 *
 * kumo run (the single-container case) keeps today's format: a kernel booted with an
 * object in its initrd (struct kumo_initrd_header.object_*) and no "pod" links and runs
 * it as the one app, stdout raw on COM1, stderr raw on COM2, the exit record on COM3.
 */
#ifndef KUMO_POD_ABI_H
#define KUMO_POD_ABI_H

#include <stdint.h>

/* Command header (IN). */
#define KUMO_POD_MSG_MAGIC 0x444d434bu /* "KCMD" */
#define KUMO_POD_MSG_VERSION 1
struct kumo_pod_msg {
	uint32_t magic;     /* IN: KUMO_POD_MSG_MAGIC */
	uint16_t version;   /* IN: KUMO_POD_MSG_VERSION */
	uint16_t type;      /* IN: enum kumo_pod_msg_type */
	uint64_t seq;       /* IN: command number, from 1 up (0: PING only) */
	uint32_t cid;       /* IN: container handle, 0 for pod-wide commands */
	uint32_t json_len;  /* IN: bytes of the message's JSON (<= KUMO_POD_JSON_MAX) */
	uint32_t blob_len;  /* IN: bytes of its blob, after the JSON (<= KUMO_POD_BLOB_MAX) */
	uint32_t frag_off;  /* IN: where this frame's payload starts in JSON + blob */
	uint32_t frag_crc;  /* IN: CRC-32 of this frame's payload (the next
			     * min(KUMO_POD_FRAG_MAX, json_len + blob_len - frag_off) bytes) */
	uint32_t hdr_crc;   /* IN: CRC-32 of the 36 bytes before this field */
};
_Static_assert(sizeof(struct kumo_pod_msg) == 40, "pod abi");

enum kumo_pod_msg_type {
	KUMO_POD_MSG_PING = 1,
	KUMO_POD_MSG_CREATE = 2,
	KUMO_POD_MSG_START = 3,
	KUMO_POD_MSG_STOP = 4,
	KUMO_POD_MSG_KILL = 5,
	KUMO_POD_MSG_REMOVE = 6,
	KUMO_POD_MSG_INFO = 7,
	KUMO_POD_MSG_EXEC = 8,        /* reserved (not implemented) */
	KUMO_POD_MSG_STDIN = 9,
	KUMO_POD_MSG_CLOSE_STDIN = 10,
};

/* Record header (OUT). */
#define KUMO_POD_REC_MAGIC 0x4345524bu /* "KREC" */
struct kumo_pod_rec {
	uint32_t magic;     /* OUT: KUMO_POD_REC_MAGIC */
	uint16_t type;      /* OUT: enum kumo_pod_rec_type */
	uint16_t flags;     /* OUT: zero */
	uint32_t cid;       /* OUT: the container it is about, 0: the pod */
	uint32_t len;       /* OUT: payload bytes that follow (<= KUMO_POD_REC_MAX) */
	uint64_t seq;       /* OUT: the command it answers or follows from, 0: none */
};
_Static_assert(sizeof(struct kumo_pod_rec) == 24, "pod abi");

enum kumo_pod_rec_type {
	KUMO_POD_REC_READY = 1,
	KUMO_POD_REC_ACK = 2,
	KUMO_POD_REC_ERROR = 3,
	KUMO_POD_REC_STDOUT = 4,
	KUMO_POD_REC_STDERR = 5,
	KUMO_POD_REC_STARTED = 6,
	KUMO_POD_REC_EXIT = 7,
};

/* Snapshots: the commands that bracket a save of the pod VM's whole state (QEMU's
 * migration stream: a checkpoint, a live migration) and the one that makes a pod of a VM
 * restored from a pod kernel's snapshot taken at READY. Numbered after the commands above;
 * a kernel without them answers "unknown command N".
 *   QUIESCE  -> ACK {"shares", "files", "fids", "quiesce_us"} once no virtio-9p request
 *            is in flight and every fid is clunked, the shares' attach fids last: QEMU
 *            7.2 refuses to migrate while the guest holds a share attached (it drops its
 *            blocker when the attach fid is clunked). The kernel keeps each open file's
 *            path from its share's root and its open flags (its offset is the fd's). Until
 *            RESUME a container touching a share waits (no error); a command that needs a
 *            share (CREATE of an object read from one, a preopen) fails saying so. Another
 *            QUIESCE: ACK, nothing to do.
 *   RESUME   {"realtime_ns": N, "rename": [[FROM, TO], ...], "net": {...}}? -> ACK {"shares", "files",
 *            "lost", "dead_shares", "renamed", "resume_us"}: a new 9P session on every
 *            share (after a restore its server
 *            is a new QEMU), every open file walked to its path again and reopened with
 *            its flags (never truncating again). A file gone meanwhile is logged on COM3
 *            and its fd fails with ESTALE from then on ("lost"); a share that cannot be
 *            attached again fails with EIO ("dead_shares"). realtime_ns: the host's wall
 *            clock, which the guest's had stood still at while it was saved. Send it on
 *            the VM that was saved too (when it goes on) and after every restore, before
 *            anything else. Without a QUIESCE: ACK, only the clock is set. "rename"
 *            (quiesced only): paths in the shares that start with FROM (one name or its
 *            start, no `/`) start with TO before the files are reopened, in the open
 *            files and in every container's preopens: a restoring host that staged a
 *            container's directories under new names ("renamed": the open files moved).
 *            "net" (REINIT's, below): the NIC of the pod the VM was restored into (its
 *            MAC, its address when the saved one was not free: connections on the old
 *            address end).
 *   REINIT   {"seed": "<64 hex>", "name": S, "realtime_ns": N, "net": {...}} -> ACK
 *            {"boot_id": "<16 hex>", "reinit_us"}: a VM restored from a snapshot of a pod
 *            kernel taken at READY (no container, no share attached, its NIC at 0.0.0.0/0)
 *            becomes a new pod: random state mixed with the seed (required) and, drawn
 *            from it, a new boot id and lwIP's ephemeral ports; the pod's name; the wall
 *            clock; with "net" (boot_abi.h's "net" object: "mac", "address", "gateway",
 *            "mtu", "dns", "search", "hostname"; a VM without a NIC refuses it) its NIC's
 *            MAC, address, resolvers and hostname, announced by a gratuitous ARP. Nothing
 *            is applied when something is refused: a second REINIT, one after a CREATE
 *            (nothing of an earlier pod may be there), a bad seed or field. The host sends
 *            it first, instead of waiting for READY (the snapshot's READY is not there).
 * QUIESCE and RESUME also serve a snapshot of a pod with no share (they do nothing but
 * the clock); the host sends them whenever it saves a pod VM. */
enum kumo_pod_snap_msg_type {
	KUMO_POD_MSG_QUIESCE = 11,
	KUMO_POD_MSG_RESUME = 12,
	KUMO_POD_MSG_REINIT = 13,
};

/* EXIT "kind" values (the VM-level kinds of boot_abi.h plus the per-container ones). */
#define KUMO_POD_KIND_EXIT "exit"
#define KUMO_POD_KIND_TRAP "trap"
#define KUMO_POD_KIND_STOPPED "stopped"
#define KUMO_POD_KIND_KILLED "killed"
#define KUMO_POD_KIND_ERROR "error"
#define KUMO_POD_EXIT_KILLED 137 /* 128 + SIGKILL */
#define KUMO_POD_EXIT_ERROR 255  /* the instance could not be made */

/* Limits. */
#define KUMO_POD_MAX_CID 64u               /* handles 1..64: containers at once */
#define KUMO_POD_JSON_MAX (1u << 20)       /* bytes of a command's JSON */
#define KUMO_POD_BLOB_MAX (256u << 20)     /* bytes of a command's blob (an object) */
#define KUMO_POD_FRAG_MAX (64u << 10)      /* payload bytes of one frame */
#define KUMO_POD_SYNC_BYTES (40u + KUMO_POD_FRAG_MAX) /* zeros that end a cut frame */
#define KUMO_POD_REC_MAX (64u << 10)       /* payload bytes of one record */
#define KUMO_POD_STDIN_MAX (1u << 20)      /* unread bytes a container's stdin holds */
#define KUMO_POD_DEFAULT_GRACE_MS 10000    /* STOP without grace_ms */
#define KUMO_POD_KERNEL_RESERVE (16u << 20) /* RAM the kernel keeps for itself (heap,
					      * lwIP, page tables) out of memory_limit's count */
#define KUMO_POD_SLICE_MS 10               /* a computing container's time slice */
#define KUMO_POD_RESYNC_MS 1000            /* resynchronise again without an answer */

#endif /* KUMO_POD_ABI_H */
