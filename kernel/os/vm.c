/* kernel/os/vm.c - page tables: the identity map of RAM, the unmapped null page, the Wasm linear-memory reservation and the guarded app stack. */
#include <stdbool.h>
#include <string.h>

#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "compiler/abi.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

/* Free address ranges of a window (linear-memory reservations, images): first fit,
 * neighbours merged on release. */
#define MAX_RANGES 128
struct range_set {
	uint64_t base[MAX_RANGES], len[MAX_RANGES];
	int n;
};
static struct range_set wasm_free = {{VM_WASM_BASE}, {VM_WASM_SPAN}, 1};
static struct range_set image_free = {{VM_IMAGE_BASE}, {VM_IMAGE_END - VM_IMAGE_BASE}, 1};

static uint64_t range_take(struct range_set *r, uint64_t len)
{
	for (int i = 0; i < r->n; i++) {
		if (r->len[i] < len)
			continue;
		uint64_t a = r->base[i];
		r->base[i] += len;
		r->len[i] -= len;
		if (r->len[i] == 0) {
			memmove(&r->base[i], &r->base[i + 1], (size_t)(r->n - i - 1) * sizeof(uint64_t));
			memmove(&r->len[i], &r->len[i + 1], (size_t)(r->n - i - 1) * sizeof(uint64_t));
			r->n--;
		}
		return a;
	}
	return 0;
}

static void range_give(struct range_set *r, uint64_t a, uint64_t len)
{
	int i = 0;
	while (i < r->n && r->base[i] < a)
		i++;
	if (i > 0 && r->base[i - 1] + r->len[i - 1] == a) { /* merge with the one before */
		r->len[i - 1] += len;
		if (i < r->n && a + len == r->base[i]) {
			r->len[i - 1] += r->len[i];
			memmove(&r->base[i], &r->base[i + 1], (size_t)(r->n - i - 1) * sizeof(uint64_t));
			memmove(&r->len[i], &r->len[i + 1], (size_t)(r->n - i - 1) * sizeof(uint64_t));
			r->n--;
		}
		return;
	}
	if (i < r->n && a + len == r->base[i]) { /* with the one after */
		r->base[i] = a;
		r->len[i] += len;
		return;
	}
	if (r->n == MAX_RANGES)
		return; /* too fragmented: the range is lost, not reused */
	memmove(&r->base[i + 1], &r->base[i], (size_t)(r->n - i) * sizeof(uint64_t));
	memmove(&r->len[i + 1], &r->len[i], (size_t)(r->n - i) * sizeof(uint64_t));
	r->base[i] = a;
	r->len[i] = len;
	r->n++;
}

/* Thread stacks: the mapped bottom of each slot's stack, 0 for a free slot. */
static uintptr_t slot_lo[VM_STACK_SLOTS];
static int slot_used[VM_STACK_SLOTS];

static uint64_t *table_of(uint64_t e) { return (uint64_t *)(uintptr_t)(e & PTE_ADDR); }

/* Returns the entry for `va` at `level` (1 = 4 KiB PTE, 2 = PD entry), creating
 * intermediate tables, and splitting a 2 MiB page when going below it; NULL when out
 * of pages. */
static uint64_t *walk_opt(uintptr_t va, int level, bool create)
{
	uint64_t *t = boot_pml4;
	for (int l = 4; l > level; l--) {
		uint64_t *e = &t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(*e & PTE_P) && !create)
			return NULL;
		if (!(*e & PTE_P)) {
			uint64_t *n = page_alloc(1);
			if (!n)
				return NULL;
			*e = (uintptr_t)n | PTE_P | PTE_W;
		} else if (*e & PTE_PS) {
			/* Split a 2 MiB page into 512 4 KiB pages with the same attributes. */
			uint64_t *n = page_alloc(1);
			if (!n)
				return NULL;
			uint64_t base = *e & PTE_ADDR & ~0x1fffffull, attr = *e & (PTE_W | PTE_NX);
			for (int i = 0; i < 512; i++)
				n[i] = (base + (uint64_t)i * PAGE_SIZE) | PTE_P | attr;
			*e = (uintptr_t)n | PTE_P | PTE_W;
		}
		t = table_of(*e);
	}
	return &t[(va >> (12 + 9 * (level - 1))) & 511];
}

static uint64_t *walk(uintptr_t va, int level) { return walk_opt(va, level, true); }

/* Identity-maps [start, end) with 2 MiB pages (RAM above the 4 GiB boot.S mapped). */
static void identity_map(uint64_t start, uint64_t end)
{
	for (uint64_t a = start & ~0x1fffffull; a < end; a += 2ull << 20) {
		uint64_t *e = walk(a, 2);
		if (!e)
			panic("no page to map RAM at %#llx", (unsigned long long)a);
		*e = a | PTE_P | PTE_W | PTE_PS;
	}
}

void vm_init(const struct kumo_hvm_start_info *si)
{
	/* Null pointer dereferences fault instead of reading the real-mode IVT. */
	uint64_t *pte = walk(0, 1);
	if (!pte)
		panic("no page for the first page table");
	*pte = 0;
	invlpg(0);
	const struct kumo_hvm_memmap_entry *mm = (const void *)(uintptr_t)si->memmap_paddr;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		uint64_t end = mm[i].addr + mm[i].size;
		if (mm[i].type == KUMO_HVM_MEMMAP_RAM && end > (4ull << 30))
			identity_map(mm[i].addr < (4ull << 30) ? 4ull << 30 : mm[i].addr,
				     end > (512ull << 30) ? 512ull << 30 : end);
	}
}

int vm_map_fresh(uintptr_t va, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t *e = walk(va + off, 1);
		void *p = e ? page_alloc(1) : NULL;
		if (!p)
			return -KERR_NOMEM;
		*e = (uintptr_t)p | PTE_P | PTE_W | (kumo_cpu.nx ? PTE_NX : 0);
	}
	return 0;
}

void vm_unmap(uintptr_t va, uint64_t len)
{
	for (uint64_t off = 0; off < len;) {
		uint64_t *e = walk_opt(va + off, 1, false);
		if (!e) { /* no page table here: skip to the next 2 MiB */
			off = ((va + off) | 0x1fffffull) + 1 - va;
			continue;
		}
		if (*e & PTE_P) {
			page_free(table_of(*e), 1);
			*e = 0;
			invlpg(va + off);
		}
		off += PAGE_SIZE;
	}
}

void *vm_reserve(uint64_t bytes)
{
	uint64_t len = (bytes + (2ull << 20) - 1) & ~((2ull << 20) - 1);
	if (len == 0 || len > VM_WASM_SPAN)
		return NULL;
	return (void *)range_take(&wasm_free, len);
}

void vm_release(void *base, uint64_t bytes)
{
	uint64_t len = (bytes + (2ull << 20) - 1) & ~((2ull << 20) - 1);
	vm_unmap((uintptr_t)base, len);
	range_give(&wasm_free, (uintptr_t)base, len);
}

int vm_commit(uintptr_t va, uint64_t len)
{
	/* Keep RAM for page tables and the kernel heap: one table page per 2 MiB. */
	uint64_t need = len / PAGE_SIZE;
	if (need + need / 512 + 64 > page_free_count())
		return -KERR_NOMEM;
	int rc = vm_map_fresh(va, len);
	if (rc < 0)
		vm_unmap(va, len);
	return rc;
}

int vm_stack_map(uint64_t size, uintptr_t *lo, uintptr_t *hi)
{
	size = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (size == 0 || size > VM_STACK_MAX)
		return -1;
	for (int k = 0; k < VM_STACK_SLOTS; k++) {
		if (slot_used[k])
			continue;
		uintptr_t top = VM_STACK_BASE + (uint64_t)(k + 1) * VM_STACK_SLOT;
		if (vm_map_fresh(top - size, size) < 0) {
			vm_unmap(top - size, size);
			return -1;
		}
		slot_used[k] = 1;
		slot_lo[k] = top - size;
		*lo = top - size;
		*hi = top;
		return k;
	}
	return -1;
}

void vm_stack_unmap(int k)
{
	if (k < 0 || k >= VM_STACK_SLOTS || !slot_used[k])
		return;
	uintptr_t top = VM_STACK_BASE + (uint64_t)(k + 1) * VM_STACK_SLOT;
	vm_unmap(slot_lo[k], top - slot_lo[k]);
	slot_used[k] = 0;
	slot_lo[k] = 0;
}

void *vm_image_map(uint64_t len)
{
	len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	uint64_t a = range_take(&image_free, len);
	if (!a)
		return NULL;
	if (vm_commit(a, len) < 0) {
		range_give(&image_free, a, len);
		return NULL;
	}
	return (void *)a;
}

int vm_image_protect(uintptr_t va, uint64_t len, int exec)
{
	if (!vm_in_images(va) || len > VM_IMAGE_END - va)
		return -KERR_INVAL;
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t *e = walk_opt(va + off, 1, false);
		if (!e || !(*e & PTE_P))
			return -KERR_INVAL;
		uint64_t pa = *e & PTE_ADDR;
		*e = pa | PTE_P | (exec || !kumo_cpu.nx ? 0 : PTE_NX);
		invlpg(va + off);
	}
	return 0;
}

void vm_image_unmap(uintptr_t va, uint64_t len)
{
	len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	vm_unmap(va, len);
	range_give(&image_free, va, len);
}

enum vm_region vm_classify(uintptr_t va)
{
	if (va < PAGE_SIZE)
		return VM_REGION_NULL;
	if (va >= VM_WASM_BASE && va - VM_WASM_BASE < VM_WASM_SPAN)
		return VM_REGION_WASM;
	/* A stack slot below its stack (or a free slot), and anything a big frame could
	 * jump to below the first slot. */
	if (va >= VM_STACK_BASE - (1ull << 30) && va < VM_STACK_BASE)
		return VM_REGION_STACK_GUARD;
	if (va >= VM_STACK_BASE && va < VM_STACK_BASE + VM_STACK_SLOTS * VM_STACK_SLOT) {
		int k = (int)((va - VM_STACK_BASE) / VM_STACK_SLOT);
		if (!slot_used[k] || va < slot_lo[k])
			return VM_REGION_STACK_GUARD;
	}
	return VM_REGION_OTHER;
}

int vm_map_mmio(uint64_t pa, uint64_t len)
{
	if (pa + len <= (4ull << 30))
		return 0; /* boot.S identity-maps the low 4 GiB, MMIO hole included */
	if (pa + len > (512ull << 30))
		return -KERR_INVAL;
	for (uint64_t a = pa & ~0x1fffffull; a < pa + len; a += 2ull << 20) {
		uint64_t *e = walk(a, 2);
		if (!e)
			return -KERR_NOMEM;
		*e = a | PTE_P | PTE_W | PTE_PS | (1ull << 4) /* PCD */ | (1ull << 3) /* PWT */;
		invlpg(a);
	}
	return 0;
}
