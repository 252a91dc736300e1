/* kernel/os/kos.h - the unikernel's internal services (console, memory, clocks, boot
 * config, exit), shared by kernel/arch, kernel/os and the kernel's platform code.
 * Freestanding: negative errno-style returns; panic() only for broken invariants. */
#ifndef KUMO_KOS_H
#define KUMO_KOS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/boot_abi.h"

#define PAGE_SIZE 4096ull
#define KERR_NOMEM 12 /* ENOMEM */
#define KERR_INVAL 22 /* EINVAL */

/* --- console (serial.c) --- */
enum kcons_stream { KCONS_STDOUT, KCONS_STDERR, KCONS_KERNEL };
void kcons_init(void);
/* Writes n bytes to a stream's port (see boot_abi.h for which port carries what). */
void kcons_write(enum kcons_stream s, const void *buf, size_t n);
/* Waits until every port has sent what it was given. */
void kcons_flush(void);
/* Kernel log line on COM3: "kumo: " + formatted text. */
void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kprintf(enum kcons_stream s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether COM2 / COM3 exist (otherwise those streams go to COM1). */
int kcons_has_port(enum kcons_stream s);

/* --- exit (exit.c): exit record on COM3, then power-off --- */
__attribute__((noreturn)) void kexit(int status);
/* Called after every wait that can end a container (sleeps, socket and poll waits):
 * a stop or kill the pod requested for the calling thread unwinds its instance (exit
 * 143 or 137, kernel/os/container.c); outside pod mode, the host's power button
 * (kumo_stop_pending) ends the app with KUMO_EXIT_STATUS_STOPPED. An app that never
 * waits is not interrupted by a stop (a kill preempts it, in pod mode). */
void kstop_check(void);
/* Set by the pod supervisor: the power button is the pod's, not an app's. */
extern int kumo_pod_mode;
__attribute__((noreturn)) void ktrap(uint32_t trap_code);
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
/* Test hook (boot_abi.h, kumo.test=pvpanic): pvpanic without an exit record, then halt. */
__attribute__((noreturn)) void kpvpanic_hang(void);

/* --- physical pages (page.c): identity-mapped, so a physical address is usable as a
 * pointer --- */
void page_init(const struct kumo_hvm_start_info *si);
/* Returns n contiguous zeroed pages, or NULL. */
void *page_alloc(size_t n);
/* The same, with whatever the pages held (for buffers about to be overwritten). */
void *page_alloc_uninit(size_t n);
void page_free(void *p, size_t n);
uint64_t page_free_count(void);
uint64_t page_total_count(void);

/* --- virtual memory (paging.c) --- */
#define VM_WASM_BASE 0x10000000000ull  /* 1 TiB: the Wasm linear-memory reservations */
#define VM_STACK_BASE 0x20000000000ull /* 2 TiB: thread stacks, one slot each */
#define VM_STACK_SLOT (4ull << 30)     /* a slot: its stack at the top, the rest guard */
#define VM_STACK_SLOTS 96              /* threads with a stack of their own */
#define VM_STACK_MAX (256ull << 20)    /* largest stack (boot config, container config) */
/* Compiled objects linked at run time (kload.h): the top of the address space, within
 * rel32 reach of the kernel (linked at 1 MiB, smaller than 16 MiB). */
#define VM_IMAGE_BASE 0xffffffff81000000ull
#define VM_IMAGE_END 0xfffffffffffff000ull
/* Unmaps the null page and identity-maps RAM above 4 GiB. */
void vm_init(const struct kumo_hvm_start_info *si);
/* Maps [va, va+len) to fresh zeroed pages; -KERR_NOMEM when RAM runs out (what is
 * already mapped stays). va and len page-aligned. */
int vm_map_fresh(uintptr_t va, uint64_t len);
/* Identity-maps device memory [pa, pa+len) uncached (already mapped below 4 GiB). */
int vm_map_mmio(uint64_t pa, uint64_t len);
/* Unmaps and frees [va, va+len). */
void vm_unmap(uintptr_t va, uint64_t len);
/* Linear-memory reservations, inside VM_WASM_BASE..+VM_WASM_SPAN: address space only
 * (never mapped until committed); NULL when the span is used up. */
void *vm_reserve(uint64_t bytes);
/* Maps fresh zeroed pages at [va, va+len) (page-aligned) if RAM allows, keeping a
 * reserve for page tables and the heap; -KERR_NOMEM otherwise (nothing mapped). */
int vm_commit(uintptr_t va, uint64_t len);
/* Releases a reservation vm_reserve made (unmapping what was committed), so a later
 * reservation can reuse the address space. */
void vm_release(void *base, uint64_t bytes);
/* A thread stack: maps `size` bytes (page-rounded, <= VM_STACK_MAX) at the top of a free
 * slot; the rest of the slot stays unmapped (the guard). Returns the slot, -1 when none
 * is free or RAM runs out; lo and hi receive the mapped range. */
int vm_stack_map(uint64_t size, uintptr_t *lo, uintptr_t *hi);
/* Unmaps a slot's stack and frees the slot. */
void vm_stack_unmap(int slot);
/* Image memory in [VM_IMAGE_BASE, VM_IMAGE_END): len bytes (page multiple) of fresh
 * zeroed writable pages; NULL when the window or RAM runs out. */
void *vm_image_map(uint64_t len);
/* Sets an image range read+execute (exec) or read-only; 0 or -KERR_INVAL. */
int vm_image_protect(uintptr_t va, uint64_t len, int exec);
void vm_image_unmap(uintptr_t va, uint64_t len);
/* Whether va is inside a linked image's code or data (compiled code runs there). */
static inline int vm_in_images(uintptr_t va) { return va >= VM_IMAGE_BASE && va < VM_IMAGE_END; }
/* What a faulting address belongs to. */
enum vm_region { VM_REGION_OTHER, VM_REGION_WASM, VM_REGION_STACK_GUARD, VM_REGION_NULL };
enum vm_region vm_classify(uintptr_t va);

/* --- threads and the scheduler (sched.c, kernel/arch/x86_64/switch.S) ---
 * One CPU. Kernel code is never preempted: a thread gives the CPU away only in
 * sched_wait (and when it ends); the timer preempts a thread only while it runs
 * compiled code of a linked image (vm_in_images), whose full register and SSE/AVX
 * state the interrupt saves. Every scheduler call may come with interrupts on (kernel
 * code called from compiled code runs with IF=1) and returns with them as they were;
 * a switch itself always happens with IF=0. */
enum kthread_state { KT_RUNNABLE, KT_WAITING, KT_DEAD };
#define KWAKE_IRQ 1u   /* wake on any interrupt or sched_kick() since the last wait */
#define KWAKE_EVENT 2u /* wake on sched_post() to this thread */
#define KSTOP_TERM 1   /* the host stopped the thread's container: 143 at its next wait */
#define KSTOP_KILL 2   /* killed: 137 now (at once when waiting or computing) */
struct kthread {
	uint64_t rsp;              /* saved stack pointer while switched out */
	enum kthread_state state;
	unsigned wake;             /* KWAKE_* that end its wait */
	uint64_t deadline_ns;      /* its wait ends then too (UINT64_MAX: never) */
	uint64_t seen;             /* interrupt + kick count when it last woke */
	int posted;                /* a sched_post() arrived since it last waited */
	volatile int stop;         /* KSTOP_*, set by the pod supervisor */
	int slot;                  /* stack slot (vm_stack_map), -1: the boot stack */
	uintptr_t stack_lo, stack_hi; /* mapped stack, 0 for the boot stack */
	void *fpu;                 /* XSAVE/FXSAVE area: the state a preemption saved */
	void *guard;               /* innermost guarded call (plat_kernel.c) */
	void (*fn)(void *);        /* what it runs */
	void *arg;
	void *owner;               /* the pod container it runs, NULL: a kernel thread */
	struct kthread *joiner;    /* posted when it ends */
	uint64_t preemptions;      /* times the timer took the CPU from it */
	int index;                 /* in the thread table */
};
void sched_init(void);
/* A thread running fn(arg) on a fresh stack of stack_size bytes; it starts when the
 * scheduler picks it and ends when fn returns (the thread that creates it may wait with
 * kthread_join). NULL when no slot, stack or memory is left. */
struct kthread *kthread_create(void (*fn)(void *), void *arg, uint64_t stack_size);
/* Waits (KWAKE_EVENT) until t ended, then frees it. Call at most once per thread. */
void kthread_join(struct kthread *t);
/* Frees a thread that ended (kthread_join does it too). */
void kthread_free(struct kthread *t);
struct kthread *kthread_current(void);
/* Blocks the calling thread until one of `wake` happens, deadline_ns passes
 * (monotonic; UINT64_MAX: never) or a stop is requested for it; others run meanwhile,
 * and with none runnable the CPU halts. Callers re-check their condition after. */
void sched_wait(unsigned wake, uint64_t deadline_ns);
/* Something a KWAKE_IRQ waiter may be waiting for happened without an interrupt (lwIP
 * delivered data, a loopback frame, a connection): they all re-check. */
void sched_kick(void);
/* Wakes t if it waits with KWAKE_EVENT (or makes its next such wait return at once). */
void sched_post(struct kthread *t);
/* For a wait that must not give the CPU away (virtio-9p holds the one request buffer):
 * a mark before checking, then halt until an interrupt after the mark or deadline_ns. */
uint64_t sched_irq_mark(void);
void sched_halt(uint64_t mark, uint64_t deadline_ns);
/* Run in the idle loop before halting (net_poll, so loopback traffic moves). */
extern void (*sched_idle_hook)(void);
/* Total switches and preemptions so far (stats). */
uint64_t sched_switch_count(void);

/* --- heap (heap.c): malloc/free/realloc/calloc over page_alloc --- */
void heap_init(void);
uint64_t heap_bytes_in_use(void);
/* malloc whose large blocks (whole pages) are not zeroed first: lwIP's buffers
 * (lwipopts.h mem_clib_malloc), which it fills before use. malloc's large blocks are
 * zeroed (they always were; callers may have come to rely on it). */
void *malloc_uninit(size_t n);

/* --- clocks (clock.c) --- */
/* cmdline: the kernel command line (under TCG, its kumo.tsc_khz= word, boot_abi.h). */
void clock_init(const char *cmdline);
uint64_t clock_monotonic_ns(void);     /* since boot (kumo_boot_tsc) */
uint64_t clock_realtime_ns(void);      /* since the Unix epoch */
/* The host says what realtime is now (a VM restored from a snapshot: its clock stood
 * still while it was saved). Monotonic time is not touched. */
void clock_set_realtime_ns(uint64_t now_ns);
uint64_t clock_tsc_hz(void);
uint64_t clock_tsc_to_ns(uint64_t ticks);
const char *clock_source(void);        /* "kvmclock", "cpuid", "pit", ... */
/* Sleeps (hlt + timer interrupt) until clock_monotonic_ns() >= deadline. */
void clock_sleep_until(uint64_t deadline_ns);
void clock_sleep_ns(uint64_t ns);

/* --- randomness (random.c) --- */
void random_init(const void *seed, size_t n);
void random_get(void *buf, size_t n);
const char *random_source(void);

/* --- boot config (bootcfg.c) --- */
struct kumo_preopen {
	const char *guest;  /* path the app sees */
	const char *path;   /* directory in the rootfs (where a share is mounted) */
	int readonly;
	const char *share;  /* mount tag of the host share backing it, or NULL */
};
/* A host share mounted into the tree without being preopened ("mounts"). */
struct kumo_mount {
	const char *path;   /* absolute path in the tree */
	const char *share;  /* mount tag of the virtio-9p device */
	const char *entry;  /* one name in the share's top directory, or NULL: all of it */
	int readonly;
};
struct kumo_bootfile {
	const char *path;   /* a file of the rootfs that stands for a host file mount */
	int readonly;       /* writes refused (EROFS) */
	int copy_back;      /* reported at exit when changed (KUMO-FILE record) */
};
struct kumo_netcfg {
	int present;             /* the config has a "net" object */
	int has_mac;
	uint8_t mac[6];
	uint8_t addr[4], gateway[4]; /* network order; gateway 0.0.0.0 = none */
	int prefix;              /* 0..32 */
	int mtu;                 /* 0 = the device's */
	int ndns;
	uint8_t dns[2][4];
	int nsearch;
	char **search;
	const char *hostname;    /* or NULL */
	int nlisten;
	char **listen;           /* "tcp:ADDR:PORT" / "udp:ADDR:PORT" */
};
struct kumo_bootcfg {
	int argc;
	char **argv;             /* argc entries + NULL */
	int envc;
	char **envp;             /* envc entries + NULL */
	int npreopens;
	struct kumo_preopen *preopens;
	int nmounts;
	struct kumo_mount *mounts;
	uint64_t stack_size;
	int nfiles;
	struct kumo_bootfile *files; /* file mounts ("files") */
	const uint8_t *rootfs;   /* ustar archive in the initrd, or NULL */
	uint64_t rootfs_size;
	const char *cmdline;     /* kernel command line, or "" */
	struct kumo_netcfg net;
	int pod;                 /* the config has a "pod" object (pod mode, pod_abi.h) */
	const char *pod_name;    /* its "name", or NULL */
	const uint8_t *object;   /* a compiled object in the initrd (8-byte aligned), or NULL */
	uint64_t object_size;
};
extern struct kumo_bootcfg kumo_bootcfg;
/* Reads module 0 of the PVH start info; panics on a malformed config. */
void bootcfg_init(const struct kumo_hvm_start_info *si);
/* Physical ranges the boot config and the start info occupy (kept by page_init). */

/* --- kernel platform (plat_kernel.c): the rest of kernel/rt/rt_platform.h --- */
struct kumo_kjmp {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
	uint32_t mxcsr;
	uint16_t fpucw;
	uint16_t pad;
};
__attribute__((returns_twice)) int kumo_kjmp_save(struct kumo_kjmp *j);
__attribute__((noreturn)) void kumo_kjmp_jump(struct kumo_kjmp *j, int v);
/* A fault that is a Wasm trap (guard region, stack guard): unwinds to the innermost
 * guarded call, or reports the trap and powers off when there is none. */
__attribute__((noreturn)) void kplat_fault_trap(uint32_t trap_code);
/* Where the Wasm memory reservations live (VM_WASM_BASE..+VM_WASM_SPAN). */
#define VM_WASM_SPAN (1ull << 40)

/* --- network (netstack.c over virtio_net.c and lwIP) --- */
/* With a "net" config: finds the NIC, brings lwIP's netif up with the static
 * address; panics (boot error) when that fails. Without one: does nothing. */
void net_init(void);
/* A pod VM made from a snapshot (pod_snap.c REINIT): the NIC takes kumo_bootcfg.net's MAC,
 * address, gateway, MTU, resolvers and hostname as they are now (the caller filled
 * them), announces itself; the ephemeral ports are drawn anew (after the caller reseeded
 * the random generator). -1 when the VM has no NIC (the ports are drawn anew anyway). */
int net_reconfigure(void);
int net_is_up(void);
/* Processes what the NIC delivered and lwIP's timers; cheap when nothing happened.
 * Ends with net_flush. */
void net_poll(void);
/* Hands the frames lwIP queued to the NIC in one notification: every path that made
 * lwIP send (a socket call, a close) ends with it, so frames never wait for the next
 * call. */
void net_flush(void);
/* Sleeps (hlt) until the NIC interrupts, lwIP's next timer is due, or deadline_ns
 * (monotonic; UINT64_MAX = none) passes. Call net_poll() after. */
void net_wait(uint64_t deadline_ns);
/* Logs lwIP's pool and heap use and the kernel heap use on COM3 (at exit). */
void net_log_usage(void);
/* The same figures as one line ("heap-used=... pbuf-used=... memp-tcp-pcb=..."). */
int net_usage(char *buf, size_t cap);
/* The virtio-net device (virtio_net.c), used by netstack.c. */
struct netif;
/* Finds a virtio-net device (virtio-mmio devices named on the command line, then
 * PCI), with MAC `want` when not NULL; 0, or -1 with a message in err. */
int vnet_init(const uint8_t *want, char *err, size_t errcap);
void vnet_mac(uint8_t mac[6]);
uint16_t vnet_mtu(void);     /* the device's MTU, or 1500 */
const char *vnet_transport(void); /* "mmio" or "pci" */
/* lwIP linkoutput (pbuf = struct pbuf *): queues the frame; the device is told at the
 * next vnet_flush (or once TX_KICK_BATCH frames wait). */
int vnet_tx(struct netif *nif, void *pbuf);
void vnet_flush(void);        /* tells the device about queued frames, if any */
void vnet_poll(struct netif *nif);   /* hands received frames to nif->input */
int vnet_csum_offload(void);  /* the device completes tx TCP checksums (CSUM) */
int vnet_tso(void);           /* ... and segments large TCP/IPv4 packets (HOST_TSO4) */
/* Before the CPU halts (netstack.c's idle hook): lets the rx queue interrupt again (it is
 * quiet while the kernel runs: every wait polls first). 1 when frames arrived meanwhile
 * (do not halt; the queue is quiet again). vnet_poll quiets it again (vnet_disarm). */
int vnet_arm(void);
void vnet_disarm(void);
/* What the NIC did since boot (counters for net_usage, the bench's guest profile). */
struct vnet_stats {
	uint64_t tx_pkts, tx_bytes; /* frames handed to the device, their bytes */
	uint64_t tx_tso;            /* of which the device segments (GSO TCPV4) */
	uint64_t tx_copied;         /* of which went through a bounce buffer */
	uint64_t tx_kicks, tx_kicks_skipped; /* tx notifications written / not needed */
	uint64_t rx_pkts;           /* frames handed to lwIP */
	uint64_t rx_kicks, rx_kicks_skipped; /* rx refill notifications written / not */
	uint64_t arms;              /* idle moments that let the NIC interrupt (vnet_arm) */
	uint64_t arm_hits;          /* of which found frames already there (no halt) */
};
void vnet_stats(struct vnet_stats *out);
/* The guest-side profile of the network path (`kumo.netprof=1` on the kernel command
 * line; off: nothing is timed): TSC ticks spent in each stage, logged at exit with the
 * NIC's counters. Stages nest as marked; "busy" is everything but idle. */
enum netprof_stage {
	NETPROF_POLL,   /* net_poll: frames into lwIP, its timers (and what they send) */
	NETPROF_IDLE,   /* idle: from vnet_arm to the next poll (the scheduler's hlt) */
	NETPROF_WRITE,  /* tcp_write in sock_send: the app's bytes copied into lwIP */
	NETPROF_OUTPUT, /* tcp_output in sock_send: segments to the driver */
	NETPROF_TX,     /* vnet_tx (inside POLL and OUTPUT) */
	NETPROF_KICK,   /* tx notifications (vnet_flush: inside POLL, OUTPUT or alone) */
	NETPROF_RECV,   /* copies from lwIP's pbufs into the app's memory (sock_recv) */
	NETPROF_N
};
extern int kumo_netprof;
extern uint64_t kumo_netprof_ticks[NETPROF_N];
/* prof_begin() returns the TSC when profiling is on (else 0); prof_end adds the time
 * since to the stage. */
static inline uint64_t prof_begin(void)
{
	if (!kumo_netprof)
		return 0;
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
static inline void prof_end(enum netprof_stage st, uint64_t t0)
{
	if (t0)
		kumo_netprof_ticks[st] += prof_begin() - t0;
}
/* The MSS the device cuts TSO packets to, 0: no TSO (netstack.c). */
uint16_t net_tso_mss(void);
/* A connected TCP pcb (struct tcp_pcb *) whose MSS is the link's: from now on lwIP
 * builds segments of up to NET_TSO_SEG bytes and the device cuts them (no-op without
 * TSO). */
void net_tcp_tso(void *pcb);
#define NET_TSO_SEG (44u * 1460u)
/* The PCI bus (pci.c): config space through ports 0xcf8/0xcfc. */
uint32_t pci_read32(int bus, int dev, int fn, int off);
void pci_write32(int bus, int dev, int fn, int off, uint32_t v);
uint16_t pci_read16(int bus, int dev, int fn, int off);
void pci_write16(int bus, int dev, int fn, int off, uint16_t v);
uint8_t pci_read8(int bus, int dev, int fn, int off);
/* Address of memory BAR `bar` (64-bit BARs included), mapped; 0 when absent. */
uint64_t pci_bar(int bus, int dev, int fn, int bar);

/* --- the kumo-run app (app_run.c) --- */
struct kumo_module;
/* Runs a module as the VM's one app from the boot config (rootfs, shares, preopens,
 * listen sockets, args, env); returns its exit status; a trap or a bad config ends the
 * VM (trap or panic record). */
int app_run_module(const struct kumo_module *module);

/* --- main.c --- */
extern uint64_t kumo_app_entry_tsc; /* TSC just before the app's entry point */
extern uint64_t kumo_start_tsc;     /* TSC just before the Wasm `_start` call, or 0 */
const char *kumo_accel(void);         /* "kvm", "tcg", ... (from the hypervisor leaf) */
/* Logs the boot summary and per-stage times (at exit, off the boot path). */
void kumo_log_boot_details(void);

#endif /* KUMO_KOS_H */
