/* kernel/arch/x86_64/power.c - ACPI power-off: the FADT's sleep control register (hardware-reduced, microvm) or PM1a_CNT (pc/q35), then a triple fault. */
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"

struct gas {
	uint8_t space; /* 0 memory, 1 I/O port */
	uint8_t bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

static struct gas sleep_ctl;   /* hardware-reduced sleep control register, or zero */
static uint16_t pm1a_cnt;      /* PM1a control port, or 0 */
static uint16_t pm1b_cnt;
static int s5_typ = -1;        /* SLP_TYP for S5 from the DSDT, or -1 */

static const uint8_t *sdt(uint64_t pa, const char *sig)
{
	/* ACPI tables sit in low RAM or just below 4 GiB: both identity-mapped. */
	if (pa == 0 || pa >= (4ull << 30))
		return NULL;
	const uint8_t *t = (const uint8_t *)(uintptr_t)pa;
	return memcmp(t, sig, 4) == 0 ? t : NULL;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Finds Name(_S5_, Package(){ typ, ... }) in the DSDT's AML. */
static void find_s5(const uint8_t *dsdt)
{
	uint32_t len = rd32(dsdt + 4);
	for (uint32_t i = 36; i + 8 < len; i++) {
		if (memcmp(dsdt + i, "_S5_", 4) != 0 || dsdt[i + 4] != 0x12)
			continue;
		const uint8_t *p = dsdt + i + 5;
		p += ((*p >> 6) & 3) + 1; /* PkgLength */
		p++;                      /* NumElements */
		if (*p == 0x0a)           /* BytePrefix */
			p++;
		else if (*p > 1)          /* only Zero/One/BytePrefix handled */
			return;
		s5_typ = *p & 7;
		return;
	}
}

static const uint8_t *acpi_root; /* RSDT or XSDT */
static int acpi_entry;           /* 4 (RSDT) or 8 (XSDT) */

const uint8_t *acpi_table(const char *sig)
{
	if (!acpi_root)
		return NULL;
	for (uint32_t off = 36; off + acpi_entry <= rd32(acpi_root + 4); off += acpi_entry) {
		uint64_t pa = acpi_entry == 8 ? rd64(acpi_root + off) : rd32(acpi_root + off);
		const uint8_t *t = sdt(pa, sig);
		if (t)
			return t;
	}
	return NULL;
}

void acpi_init(uint64_t rsdp_paddr)
{
	const uint8_t *rsdp = (const uint8_t *)(uintptr_t)rsdp_paddr;
	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8) != 0) {
		klog("no ACPI RSDP");
		return;
	}
	const uint8_t *root = NULL;
	int entry = 4;
	if (rsdp[15] >= 2 && rd64(rsdp + 24)) {
		root = sdt(rd64(rsdp + 24), "XSDT");
		entry = 8;
	}
	if (!root) {
		root = sdt(rd32(rsdp + 16), "RSDT");
		entry = 4;
	}
	if (!root)
		return;
	acpi_root = root;
	acpi_entry = entry;
	const uint8_t *fadt = acpi_table("FACP");
	if (!fadt)
		return;
	uint32_t flen = rd32(fadt + 4);
	if (flen >= 256)
		memcpy(&sleep_ctl, fadt + 244, sizeof(sleep_ctl));
	pm1a_cnt = (uint16_t)rd32(fadt + 64);
	pm1b_cnt = (uint16_t)rd32(fadt + 68);
	uint64_t dsdt_pa = flen >= 148 && rd64(fadt + 140) ? rd64(fadt + 140) : rd32(fadt + 40);
	const uint8_t *dsdt = sdt(dsdt_pa, "DSDT");
	if (dsdt)
		find_s5(dsdt);
}

/* The DSDT, or NULL. */
static const uint8_t *dsdt_table(void)
{
	const uint8_t *fadt = acpi_table("FACP");
	if (!fadt)
		return NULL;
	uint32_t flen = rd32(fadt + 4);
	uint64_t dsdt_pa = flen >= 148 && rd64(fadt + 140) ? rd64(fadt + 140) : rd32(fadt + 40);
	return sdt(dsdt_pa, "DSDT");
}

int acpi_virtio_mmio(uint64_t *base, uint32_t *irq, int max)
{
	/* QEMU's microvm with ACPI describes each virtio-mmio transport in the DSDT as a
	 * device with _HID "LNRO0005" whose _CRS holds a Memory32Fixed (0x86) and an
	 * extended Interrupt (0x89) descriptor: pick those out of the AML. */
	const uint8_t *d = dsdt_table();
	if (!d)
		return 0;
	uint32_t len = rd32(d + 4);
	int n = 0;
	for (uint32_t i = 36; i + 8 <= len && n < max; i++) {
		if (memcmp(d + i, "LNRO0005", 8) != 0)
			continue;
		uint64_t b = 0;
		uint32_t q = 0;
		int have_b = 0, have_q = 0;
		for (uint32_t j = i + 8; j + 12 <= len && j < i + 200 && !(have_b && have_q); j++) {
			if (!have_b && d[j] == 0x86 && d[j + 1] == 9 && d[j + 2] == 0) {
				b = rd32(d + j + 4);
				have_b = 1;
			} else if (!have_q && d[j] == 0x89 && d[j + 1] >= 6 && d[j + 2] == 0 && d[j + 4] == 1) {
				q = rd32(d + j + 5);
				have_q = 1;
			}
		}
		if (have_b && have_q) {
			base[n] = b;
			irq[n] = q;
			n++;
		}
		i += 8;
	}
	return n;
}

volatile uint32_t kumo_stop_pending;

int acpi_ged_gsi(uint32_t *gsi)
{
	/* QEMU's microvm describes its GED as a device with _HID "ACPI0013" whose _CRS
	 * holds one extended Interrupt descriptor (0x89): its first interrupt is the GSI. */
	const uint8_t *d = dsdt_table();
	if (!d)
		return -1;
	uint32_t len = rd32(d + 4);
	for (uint32_t i = 36; i + 8 <= len; i++) {
		if (memcmp(d + i, "ACPI0013", 8) != 0)
			continue;
		for (uint32_t j = i + 8; j + 9 <= len && j < i + 200; j++)
			if (d[j] == 0x89 && d[j + 1] >= 6 && d[j + 2] == 0 && d[j + 4] == 1) {
				*gsi = rd32(d + j + 5);
				return 0;
			}
	}
	return -1;
}

int power_button_init(void)
{
	uint32_t gsi;
	if (acpi_ged_gsi(&gsi) < 0)
		return -1;
	return ioapic_route(gsi, STOP_VECTOR);
}

void power_off(void)
{
	__asm__ volatile("cli");
	if (sleep_ctl.address) {
		uint8_t v = (uint8_t)(((s5_typ >= 0 ? s5_typ : 5) << 2) | 0x20); /* SLP_TYP|SLP_EN */
		if (sleep_ctl.space == 0)
			mmio_write8((uintptr_t)sleep_ctl.address, v);
		else
			outb((uint16_t)sleep_ctl.address, v);
	}
	if (pm1a_cnt) {
		uint16_t v = (uint16_t)(((s5_typ >= 0 ? s5_typ : 0) << 10) | (1u << 13));
		outw(pm1a_cnt, v);
		if (pm1b_cnt)
			outw(pm1b_cnt, v);
	}
	/* No usable ACPI: QEMU's usual places (microvm GED, then PIIX4 and ICH9 PM). */
	mmio_write8(0xfea00200, 0x34);
	outw(0x604, 0x2000);
	outw(0xb004, 0x2000);
	/* Last resort: a triple fault resets, which -no-reboot turns into an exit. */
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) none = { 0, 0 };
	__asm__ volatile("lidt %0; int3" : : "m"(none));
	for (;;)
		__asm__ volatile("hlt");
}
