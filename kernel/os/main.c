/* kernel/os/main.c - kumo_kmain: brings the kernel up in order, then runs the app on its own guarded stack and exits with its status. */
#include <stdio.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/kernel.h"
#include "kernel/os/kos.h"

uint64_t kumo_app_entry_tsc;
uint64_t kumo_start_tsc;
static uint64_t boot_stage_tsc[6];

void kumo_log_boot_details(void)
{
	const uint64_t *t = boot_stage_tsc;
	klog("boot abi %d, accel %s, clock %s (tsc %llu kHz), random %s, %llu MiB RAM, avx %s",
	     KUMO_BOOT_ABI_VERSION, kumo_accel(), clock_source(),
	     (unsigned long long)(clock_tsc_hz() / 1000), random_source(),
	     (unsigned long long)(page_total_count() * PAGE_SIZE >> 20), kumo_cpu.avx ? "on" : "off");
	if (!t[0])
		return;
	klog("boot stages (us): entry->C %llu, cpu %llu, memory %llu, acpi+lapic %llu, clock %llu, config %llu",
	     (unsigned long long)(clock_tsc_to_ns(t[0] - kumo_boot_tsc) / 1000),
	     (unsigned long long)(clock_tsc_to_ns(t[1] - t[0]) / 1000),
	     (unsigned long long)(clock_tsc_to_ns(t[2] - t[1]) / 1000),
	     (unsigned long long)(clock_tsc_to_ns(t[3] - t[2]) / 1000),
	     (unsigned long long)(clock_tsc_to_ns(t[4] - t[3]) / 1000),
	     (unsigned long long)(clock_tsc_to_ns(t[5] - t[4]) / 1000));
	if (kumo_app_entry_tsc)
		klog("boot: kernel entry to app entry %llu us (tsc)",
		     (unsigned long long)(clock_tsc_to_ns(kumo_app_entry_tsc - kumo_boot_tsc) / 1000));
	if (kumo_start_tsc)
		klog("boot: kernel entry to _start %llu us (tsc)",
		     (unsigned long long)(clock_tsc_to_ns(kumo_start_tsc - kumo_boot_tsc) / 1000));
}

const char *kumo_accel(void)
{
	if (strcmp(kumo_cpu.hv_sig, "KVMKVMKVM") == 0)
		return "kvm";
	if (strcmp(kumo_cpu.hv_sig, "TCGTCGTCGTCG") == 0)
		return "tcg";
	if (kumo_cpu.hv_sig[0])
		return kumo_cpu.hv_sig;
	/* QEMU's TCG sets no hypervisor bit by default: no signature means TCG or bare
	 * metal, and kumo only boots under QEMU. */
	return "tcg";
}

/* Whether the kernel command line holds `word` as a whole word. */
static int cmdline_has(const char *cmdline, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = cmdline; p && *p; p++)
		if ((p == cmdline || p[-1] == ' ') && strncmp(p, word, n) == 0 &&
		    (p[n] == 0 || p[n] == ' '))
			return 1;
	return 0;
}

/* Probe mode (boot_abi.h): the CPU set-up ran, so the accelerator runs kumo guests. */
static __attribute__((noreturn)) void probe_report(void)
{
	/* One more SSE round trip beyond cpu_init's, the instructions generated code
	 * uses first: an emulator that cannot run them stops the VM before the record. */
	uint64_t v = 0x6b756d6fu;
	__asm__ volatile("movq %0, %%xmm0\n\tmovq %%xmm0, %0" : "+r"(v) : : "xmm0");
	char line[64];
	int n = snprintf(line, sizeof(line), KUMO_PROBE_RECORD_OK " accel=%s\n",
			 v == 0x6b756d6fu ? kumo_accel() : "broken-sse");
	kcons_write(KCONS_KERNEL, line, (size_t)n);
	kcons_flush();
	power_off();
}

static int app_status;

/* The app's thread: its own stack of the config's size, an unmapped guard below. */
static void app_thread(void *arg)
{
	(void)arg;
	kumo_app_entry_tsc = rdtsc();
	app_status = kumo_app_main();
}

void kumo_kmain(uint32_t start_info_paddr);
void kumo_kmain(uint32_t start_info_paddr)
{
	const struct kumo_hvm_start_info *si = (const void *)(uintptr_t)start_info_paddr;
	uint64_t t[8];
	t[0] = rdtsc();
	kcons_init();
	kcons_write(KCONS_KERNEL, KUMO_BOOT_RECORD "\n", sizeof(KUMO_BOOT_RECORD));
	cpu_init();
	if (si->magic != KUMO_HVM_START_MAGIC)
		panic("not booted through PVH (start info magic %#x)", si->magic);
	const char *cmdline = si->cmdline_paddr ? (const char *)(uintptr_t)si->cmdline_paddr : "";
	if (cmdline_has(cmdline, KUMO_BOOT_CMDLINE_PROBE))
		probe_report();
	if (cmdline_has(cmdline, KUMO_BOOT_CMDLINE_TEST_PVPANIC))
		kpvpanic_hang();
	t[1] = rdtsc();
	page_init(si);
	vm_init(si);
	heap_init();
	t[2] = rdtsc();
	acpi_init(si->rsdp_paddr);
	lapic_init();
	t[3] = rdtsc();
	clock_init(cmdline);
	sched_init();
	t[4] = rdtsc();
	random_init(NULL, 0);
	bootcfg_init(si);
	t[5] = rdtsc();
	net_init();
	if (power_button_init() == 0) {
		if (kumo_bootcfg.pod)
			klog("power button: a host stop stops every container, then the pod");
		else
			klog("power button: a host stop ends the app (exit status %d)",
			     KUMO_EXIT_STATUS_STOPPED);
	}
	for (int i = 0; i < 6; i++)
		boot_stage_tsc[i] = t[i];
	/* Short, since every byte is a VM exit before the app runs; the details follow
	 * at exit (kumo_log_boot_details). */
	klog("up: accel %s, clock %s", kumo_accel(), clock_source());
	struct kthread *app = kthread_create(app_thread, NULL, kumo_bootcfg.stack_size);
	if (!app)
		panic("no RAM for a %llu-byte app stack", (unsigned long long)kumo_bootcfg.stack_size);
	kthread_join(app);
	kexit(app_status);
}

uint64_t kumo_boot_to_app_ns(void)
{
	return kumo_app_entry_tsc ? clock_tsc_to_ns(kumo_app_entry_tsc - kumo_boot_tsc) : 0;
}
