/* kernel/os/clock.c - clocks: TSC calibrated from kvmclock, the host's word (TCG), CPUID or the PIT; realtime from kvmclock's wall clock or the CMOS RTC; hlt-based sleep. */
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"

#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define PIT_HZ 1193182ull

struct pvclock_vcpu {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));
struct pvclock_wall {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

static struct pvclock_vcpu pvti __attribute__((aligned(64)));
static struct pvclock_wall pvwall __attribute__((aligned(16)));

static uint64_t tsc_hz;
static uint64_t tsc_mult; /* ns = ticks * tsc_mult >> 32 */
static const char *source = "none";
static uint64_t realtime_at_boot_ns; /* realtime when monotonic was 0 */

uint64_t clock_tsc_hz(void) { return tsc_hz; }
const char *clock_source(void) { return source; }

uint64_t clock_tsc_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * tsc_mult) >> 32);
}

uint64_t clock_monotonic_ns(void)
{
	return clock_tsc_to_ns(rdtsc() - kumo_boot_tsc);
}

uint64_t clock_realtime_ns(void)
{
	return realtime_at_boot_ns + clock_monotonic_ns();
}

void clock_set_realtime_ns(uint64_t now_ns)
{
	uint64_t mono = clock_monotonic_ns();
	realtime_at_boot_ns = now_ns > mono ? now_ns - mono : 0;
}

static int kvmclock_init(void)
{
	uint32_t r[4];
	if (strcmp(kumo_cpu.hv_sig, "KVMKVMKVM") != 0 || kumo_cpu.hv_max_leaf < 0x40000001)
		return 0;
	cpuid(0x40000001, 0, r);
	if (!(r[0] & (1u << 3))) /* KVM_FEATURE_CLOCKSOURCE2 */
		return 0;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&pvti | 1);
	uint32_t v;
	uint64_t mul, tsc0, sys0;
	int8_t shift;
	do {
		v = __atomic_load_n(&pvti.version, __ATOMIC_ACQUIRE);
		mul = pvti.tsc_to_system_mul;
		shift = pvti.tsc_shift;
		tsc0 = pvti.tsc_timestamp;
		sys0 = pvti.system_time;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != __atomic_load_n(&pvti.version, __ATOMIC_ACQUIRE));
	if (!mul)
		return 0;
	/* system_ns = ((tsc - tsc0) shifted by `shift`) * mul >> 32 */
	uint64_t hz = (1000000000ull << 32) / mul;
	if (shift > 0)
		hz >>= shift;
	else if (shift < 0)
		hz <<= -shift;
	tsc_hz = hz;
	source = "kvmclock";
	/* Wall clock at system time 0, then now = wall + system time. */
	wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uintptr_t)&pvwall);
	uint64_t wall_ns = (uint64_t)pvwall.sec * 1000000000ull + pvwall.nsec;
	uint64_t t = rdtsc();
	uint64_t d = t - tsc0;
	d = shift >= 0 ? d << shift : d >> -shift;
	uint64_t sys_now = sys0 + (uint64_t)(((unsigned __int128)d * mul) >> 32);
	tsc_mult = (1000000000ull << 32) / tsc_hz;
	uint64_t mono_now = clock_tsc_to_ns(t - kumo_boot_tsc);
	realtime_at_boot_ns = wall_ns + sys_now - mono_now;
	return 1;
}

static int cpuid_freq(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	if (r[0] >= 0x15) {
		cpuid(0x15, 0, r);
		if (r[0] && r[1] && r[2]) {
			tsc_hz = (uint64_t)r[2] * r[1] / r[0];
			source = "cpuid-15";
			return 1;
		}
	}
	if (kumo_cpu.hv_max_leaf >= 0x40000010) {
		cpuid(0x40000010, 0, r);
		if (r[0]) {
			tsc_hz = (uint64_t)r[0] * 1000;
			source = "cpuid-hv";
			return 1;
		}
	}
	return 0;
}

/* TCG: QEMU's guest TSC is the host's, whose rate the host measured and passed on the
 * command line (kumo.tsc_khz=N, boot_abi.h), so no calibration loop runs. Never under a
 * hypervisor: its TSC may be scaled. */
static int host_tsc_word(const char *cmdline)
{
	if (!cmdline || (kumo_cpu.hv_sig[0] && strcmp(kumo_cpu.hv_sig, "TCGTCGTCGTCG") != 0))
		return 0;
	const char *w = KUMO_BOOT_CMDLINE_TSC_KHZ;
	size_t n = strlen(w);
	for (const char *p = cmdline; *p; p++) {
		if ((p != cmdline && p[-1] != ' ') || strncmp(p, w, n) != 0)
			continue;
		uint64_t khz = 0;
		const char *q = p + n;
		while (*q >= '0' && *q <= '9' && khz <= 20000000)
			khz = khz * 10 + (uint64_t)(*q++ - '0');
		if ((*q && *q != ' ') || khz < 100000 || khz > 20000000)
			return 0;
		tsc_hz = khz * 1000;
		source = "host";
		return 1;
	}
	return 0;
}

static uint16_t pit_read(void)
{
	outb(0x43, 0x00); /* latch channel 0 */
	uint8_t lo = inb(0x40);
	uint8_t hi = inb(0x40);
	return (uint16_t)(lo | (hi << 8));
}

/* Counts TSC ticks over 2 ms of PIT channel 0 (no port 0x61 needed: microvm has none). */
static int pit_calibrate(void)
{
	outb(0x43, 0x30); /* channel 0, lo/hi, mode 0, binary */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
	const uint16_t want = (uint16_t)(PIT_HZ * 2 / 1000);
	uint16_t c0 = pit_read();
	uint64_t t0 = rdtsc(), start = t0;
	/* Wait for the counter to move, so t0 matches a tick edge. */
	for (uint16_t c = c0; c == c0; c = pit_read()) {
		if (rdtsc() - start > 200000000ull)
			return 0; /* no PIT */
		t0 = rdtsc();
		c0 = c;
	}
	c0 = pit_read();
	t0 = rdtsc();
	uint64_t t1;
	for (;;) {
		uint16_t c = pit_read();
		t1 = rdtsc();
		if ((uint16_t)(c0 - c) >= want) {
			uint64_t ticks = (uint16_t)(c0 - c);
			tsc_hz = (t1 - t0) * PIT_HZ / ticks;
			break;
		}
		if (t1 - t0 > 2000000000ull)
			return 0;
	}
	source = "pit";
	return tsc_hz != 0;
}

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static uint64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (uint64_t)(era * 146097 + (int64_t)doe - 719468);
}

/* Seconds since the epoch from the CMOS RTC, or 0 when there is none. */
static uint64_t rtc_read(void)
{
	for (int i = 0; i < 100000 && (cmos(0x0a) & 0x80); i++)
		__asm__ volatile("pause");
	uint8_t sec = cmos(0), min = cmos(2), hour = cmos(4), day = cmos(7), mon = cmos(8),
		year = cmos(9), cent = cmos(0x32), b = cmos(0x0b);
	if (sec == 0xff && min == 0xff)
		return 0;
	if (!(b & 0x04)) {
#define BCD(x) (uint8_t)(((x) & 0x0f) + ((x) >> 4) * 10)
		sec = BCD(sec);
		min = BCD(min);
		hour = (uint8_t)(BCD(hour & 0x7f) | (hour & 0x80));
		day = BCD(day);
		mon = BCD(mon);
		year = BCD(year);
		cent = BCD(cent);
#undef BCD
	}
	if (!(b & 0x02) && (hour & 0x80))
		hour = (uint8_t)(((hour & 0x7f) + 12) % 24);
	int64_t y = (cent >= 19 && cent <= 30 ? cent : 20) * 100 + year;
	if (mon < 1 || mon > 12 || day < 1 || day > 31)
		return 0;
	return days_from_civil(y, mon, day) * 86400 + hour * 3600u + min * 60u + sec;
}

void clock_init(const char *cmdline)
{
	if (!kvmclock_init()) {
		if (!host_tsc_word(cmdline) && !cpuid_freq() && !pit_calibrate()) {
			uint32_t r[4];
			cpuid(0, 0, r);
			if (r[0] >= 0x16 && (cpuid(0x16, 0, r), r[0])) {
				tsc_hz = (uint64_t)r[0] * 1000000;
				source = "cpuid-16";
			} else {
				tsc_hz = 1000000000ull;
				source = "guess";
			}
		}
		tsc_mult = (1000000000ull << 32) / tsc_hz;
		uint64_t secs = rtc_read();
		realtime_at_boot_ns = secs * 1000000000ull - clock_monotonic_ns();
	}
}

void clock_sleep_until(uint64_t deadline_ns)
{
	/* With a network, sleeping keeps it alive: frames, ARP, TCP timers. */
	while (net_is_up()) {
		net_poll();
		if (clock_monotonic_ns() >= deadline_ns)
			return;
		net_wait(deadline_ns);
	}
	/* Other threads run meanwhile; with none, the CPU halts until the timer. */
	while (clock_monotonic_ns() < deadline_ns) {
		sched_wait(0, deadline_ns);
		kstop_check();
	}
}

void clock_sleep_ns(uint64_t ns)
{
	clock_sleep_until(clock_monotonic_ns() + ns);
}
