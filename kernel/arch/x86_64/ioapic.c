/* kernel/arch/x86_64/ioapic.c - the IOAPICs from the ACPI MADT: routes a device's GSI to a vector on the boot CPU. */
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"

volatile uint32_t kumo_net_irq_pending;

struct ioapic {
	uintptr_t base;
	uint32_t gsi_base, count;
};
static struct ioapic ioapics[4];
static int nioapics = -1; /* -1: MADT not read yet */
static struct { uint8_t irq; uint32_t gsi; } isos[16];
static int nisos;

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static uint32_t io_read(uintptr_t base, uint32_t reg)
{
	mmio_write32(base, reg);
	return mmio_read32(base + 0x10);
}
static void io_write(uintptr_t base, uint32_t reg, uint32_t v)
{
	mmio_write32(base, reg);
	mmio_write32(base + 0x10, v);
}

static void add_ioapic(uintptr_t base, uint32_t gsi_base)
{
	if (nioapics >= (int)(sizeof(ioapics) / sizeof(ioapics[0])))
		return;
	struct ioapic *a = &ioapics[nioapics++];
	a->base = base;
	a->gsi_base = gsi_base;
	a->count = ((io_read(base, 1) >> 16) & 0xff) + 1;
}

static void madt_read(void)
{
	nioapics = 0;
	const uint8_t *madt = acpi_table("APIC");
	if (madt) {
		uint32_t len = rd32(madt + 4);
		for (uint32_t off = 44; off + 2 <= len;) {
			uint8_t type = madt[off], elen = madt[off + 1];
			if (elen < 2 || off + elen > len)
				break;
			if (type == 1 && elen >= 12)
				add_ioapic(rd32(madt + off + 4), rd32(madt + off + 8));
			else if (type == 2 && elen >= 10 && nisos < 16) {
				isos[nisos].irq = madt[off + 3];
				isos[nisos].gsi = rd32(madt + off + 4);
				nisos++;
			}
			off += elen;
		}
	}
	if (nioapics == 0) /* no MADT: QEMU's standard IOAPIC */
		add_ioapic(0xfec00000u, 0);
}

uint32_t ioapic_gsi_of_isa(uint32_t irq)
{
	if (nioapics < 0)
		madt_read();
	for (int i = 0; i < nisos; i++)
		if (isos[i].irq == irq)
			return isos[i].gsi;
	return irq;
}

int ioapic_route(uint32_t gsi, uint8_t vector)
{
	if (nioapics < 0)
		madt_read();
	for (int i = 0; i < nioapics; i++) {
		struct ioapic *a = &ioapics[i];
		if (gsi < a->gsi_base || gsi >= a->gsi_base + a->count)
			continue;
		uint32_t idx = 0x10 + 2 * (gsi - a->gsi_base);
		io_write(a->base, idx + 1, lapic_id() << 24);
		io_write(a->base, idx, vector); /* fixed, physical, active high, edge, unmasked */
		return 0;
	}
	return -1;
}
