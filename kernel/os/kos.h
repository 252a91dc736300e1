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

/* --- console (console.c) --- */
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
/* Called after every hlt of the kernel's waits: when the host pressed the power button
 * (kumo_stop_pending), ends the app with KUMO_EXIT_STATUS_STOPPED. An app that never
 * waits is not interrupted (the host destroys it when its grace period ends). */
void kstop_check(void);
__attribute__((noreturn)) void ktrap(uint32_t trap_code);
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
/* Test hook (boot_abi.h, kumo.test=pvpanic): pvpanic without an exit record, then halt. */
__attribute__((noreturn)) void kpvpanic_hang(void);

/* --- physical pages (page.c): identity-mapped, so a physical address is usable as a
 * pointer --- */
void page_init(const struct kumo_hvm_start_info *si);
/* Returns n contiguous zeroed pages, or NULL. */
void *page_alloc(size_t n);
void page_free(void *p, size_t n);
uint64_t page_free_count(void);
uint64_t page_total_count(void);

/* --- virtual memory (vm.c) --- */
#define VM_WASM_BASE 0x10000000000ull  /* 1 TiB: the Wasm linear-memory reservation */
#define VM_STACK_BASE 0x20000000000ull /* 2 TiB: app stack (guard below) */
uintptr_t vm_stack_bottom(void);      /* lowest mapped byte of the app stack */
#define VM_STACK_GUARD (1ull << 20)    /* unmapped bytes below the app stack */
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
/* App stack: maps `size` bytes below VM_STACK_BASE + VM_STACK_GUARD + size; returns the
 * top. The guard below it stays unmapped. */
uintptr_t vm_stack_create(uint64_t size, uintptr_t *bottom);
/* What a faulting address belongs to. */
enum vm_region { VM_REGION_OTHER, VM_REGION_WASM, VM_REGION_STACK_GUARD, VM_REGION_NULL };
enum vm_region vm_classify(uintptr_t va);

/* --- heap (heap.c): malloc/free/realloc/calloc over page_alloc --- */
void heap_init(void);
uint64_t heap_bytes_in_use(void);

/* --- clocks (clock.c) --- */
void clock_init(void);
uint64_t clock_monotonic_ns(void);     /* since boot (kumo_boot_tsc) */
uint64_t clock_realtime_ns(void);      /* since the Unix epoch */
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
#define VM_WASM_SPAN (256ull << 30)

/* --- network (net.c over virtio_net.c and lwIP) --- */
/* With a "net" config: finds the NIC, brings lwIP's netif up with the static
 * address; panics (boot error) when that fails. Without one: does nothing. */
void net_init(void);
int net_is_up(void);
/* Processes what the NIC delivered and lwIP's timers; cheap when nothing happened. */
void net_poll(void);
/* Sleeps (hlt) until the NIC interrupts, lwIP's next timer is due, or deadline_ns
 * (monotonic; UINT64_MAX = none) passes. Call net_poll() after. */
void net_wait(uint64_t deadline_ns);
/* Logs lwIP's pool and heap use and the kernel heap use on COM3 (at exit). */
void net_log_usage(void);
/* The same figures as one line ("heap-used=... pbuf-used=... memp-tcp-pcb=..."). */
int net_usage(char *buf, size_t cap);
/* The virtio-net device (virtio_net.c), used by net.c. */
struct netif;
/* Finds a virtio-net device (virtio-mmio devices named on the command line, then
 * PCI), with MAC `want` when not NULL; 0, or -1 with a message in err. */
int vnet_init(const uint8_t *want, char *err, size_t errcap);
void vnet_mac(uint8_t mac[6]);
uint16_t vnet_mtu(void);     /* the device's MTU, or 1500 */
const char *vnet_transport(void); /* "mmio" or "pci" */
int vnet_tx(struct netif *nif, void *pbuf); /* lwIP linkoutput (pbuf = struct pbuf *) */
void vnet_poll(struct netif *nif);   /* hands received frames to nif->input */
/* The PCI bus (pci.c): config space through ports 0xcf8/0xcfc. */
uint32_t pci_read32(int bus, int dev, int fn, int off);
void pci_write32(int bus, int dev, int fn, int off, uint32_t v);
uint16_t pci_read16(int bus, int dev, int fn, int off);
void pci_write16(int bus, int dev, int fn, int off, uint16_t v);
uint8_t pci_read8(int bus, int dev, int fn, int off);
/* Address of memory BAR `bar` (64-bit BARs included), mapped; 0 when absent. */
uint64_t pci_bar(int bus, int dev, int fn, int bar);

/* --- main.c --- */
extern uint64_t kumo_app_entry_tsc; /* TSC just before the app's entry point */
extern uint64_t kumo_start_tsc;     /* TSC just before the Wasm `_start` call, or 0 */
const char *kumo_accel(void);         /* "kvm", "tcg", ... (from the hypervisor leaf) */
/* Logs the boot summary and per-stage times (at exit, off the boot path). */
void kumo_log_boot_details(void);

#endif /* KUMO_KOS_H */
