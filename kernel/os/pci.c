/* kernel/os/pci.c - PCI configuration space through the legacy ports 0xcf8/0xcfc, and BAR addresses. */
#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"

static uint32_t cfg_addr(int bus, int dev, int fn, int off)
{
	return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 |
	       ((uint32_t)off & 0xfc);
}

uint32_t pci_read32(int bus, int dev, int fn, int off)
{
	outl(0xcf8, cfg_addr(bus, dev, fn, off));
	return inl(0xcfc);
}

void pci_write32(int bus, int dev, int fn, int off, uint32_t v)
{
	outl(0xcf8, cfg_addr(bus, dev, fn, off));
	outl(0xcfc, v);
}

uint16_t pci_read16(int bus, int dev, int fn, int off)
{
	return (uint16_t)(pci_read32(bus, dev, fn, off) >> ((off & 2) * 8));
}

void pci_write16(int bus, int dev, int fn, int off, uint16_t v)
{
	uint32_t w = pci_read32(bus, dev, fn, off);
	int sh = (off & 2) * 8;
	w = (w & ~(0xffffu << sh)) | (uint32_t)v << sh;
	pci_write32(bus, dev, fn, off, w);
}

uint8_t pci_read8(int bus, int dev, int fn, int off)
{
	return (uint8_t)(pci_read32(bus, dev, fn, off) >> ((off & 3) * 8));
}

/* Firmware that boots a PVH kernel directly (qboot) may leave BARs unassigned: we
 * place them ourselves in a window no RAM layout of pc or q35 reaches (below the
 * IOAPIC at 0xfec00000). */
#define BAR_WINDOW_START 0xe0000000ull
#define BAR_WINDOW_END 0xfe000000ull
static uint64_t bar_next = BAR_WINDOW_START;

static uint64_t bar_assign(int bus, int dev, int fn, int bar, int is64)
{
	int off = 0x10 + 4 * bar;
	uint16_t cmd = pci_read16(bus, dev, fn, 0x04);
	pci_write16(bus, dev, fn, 0x04, (uint16_t)(cmd & ~2)); /* memory decoding off */
	uint32_t lo = pci_read32(bus, dev, fn, off);
	pci_write32(bus, dev, fn, off, 0xffffffffu);
	uint32_t mask = pci_read32(bus, dev, fn, off) & ~0xfu;
	uint64_t size = mask ? (uint64_t)(~mask) + 1 : 0;
	if (size == 0 || bar_next + ((size - 1) & ~0ull) > BAR_WINDOW_END) {
		pci_write32(bus, dev, fn, off, lo);
		pci_write16(bus, dev, fn, 0x04, cmd);
		return 0;
	}
	uint64_t a = (bar_next + size - 1) & ~(size - 1);
	if (a + size > BAR_WINDOW_END) {
		pci_write32(bus, dev, fn, off, lo);
		pci_write16(bus, dev, fn, 0x04, cmd);
		return 0;
	}
	bar_next = a + size;
	pci_write32(bus, dev, fn, off, (uint32_t)a | (lo & 0xf));
	if (is64)
		pci_write32(bus, dev, fn, off + 4, 0);
	pci_write16(bus, dev, fn, 0x04, (uint16_t)(cmd | 2));
	return a;
}

uint64_t pci_bar(int bus, int dev, int fn, int bar)
{
	if (bar < 0 || bar > 5)
		return 0;
	uint32_t lo = pci_read32(bus, dev, fn, 0x10 + 4 * bar);
	if (lo & 1)
		return 0; /* an I/O BAR */
	uint64_t a = lo & ~0xfull;
	if (((lo >> 1) & 3) == 2 && bar < 5)
		a |= (uint64_t)pci_read32(bus, dev, fn, 0x14 + 4 * bar) << 32;
	if (a == 0)
		a = bar_assign(bus, dev, fn, bar, ((lo >> 1) & 3) == 2 && bar < 5);
	if (a && vm_map_mmio(a, 1ull << 20) < 0)
		return 0;
	return a;
}
