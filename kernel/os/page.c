/* kernel/os/page.c - physical page allocator: a bitmap over the PVH memory map, with the kernel image, start info and initrd kept out. */
#include <string.h>

#include "kernel/os/kos.h"

extern char __kernel_start[], __kernel_end[];

static uint64_t *bitmap;   /* 1 bit per page, set = used */
static uint64_t *dirty;    /* 1 bit per page, set = may hold data (was freed once);
                            * RAM the loader did not write is zero at boot, so a page
                            * never handed out needs no clearing */
static uint64_t npages;    /* pages covered by the bitmap */
static uint64_t nfree, ntotal;
static uint64_t hint;      /* first word that may have a free page */

static inline int used(uint64_t pfn) { return (bitmap[pfn / 64] >> (pfn % 64)) & 1; }
static inline void set_used(uint64_t pfn) { bitmap[pfn / 64] |= 1ull << (pfn % 64); }
static inline void set_free(uint64_t pfn) { bitmap[pfn / 64] &= ~(1ull << (pfn % 64)); }

static void mark(uint64_t start, uint64_t end, int make_used)
{
	uint64_t first = start / PAGE_SIZE, last = (end + PAGE_SIZE - 1) / PAGE_SIZE;
	if (!make_used) { /* free only whole pages */
		first = (start + PAGE_SIZE - 1) / PAGE_SIZE;
		last = end / PAGE_SIZE;
	}
	for (uint64_t p = first; p < last && p < npages; p++) {
		if (make_used && !used(p)) {
			set_used(p);
			nfree--;
		} else if (!make_used && used(p)) {
			set_free(p);
			nfree++;
		}
	}
}

/* Highest RAM end we manage: the identity map (vm.c) covers up to 512 GiB. */
#define MAX_PHYS (512ull << 30)

void page_init(const struct kumo_hvm_start_info *si)
{
	const struct kumo_hvm_memmap_entry *mm = (const void *)(uintptr_t)si->memmap_paddr;
	uint32_t nmm = si->version >= 1 ? si->memmap_entries : 0;
	if (nmm == 0)
		panic("the PVH start info has no memory map (version %u)", si->version);
	uint64_t top = 0;
	for (uint32_t i = 0; i < nmm; i++)
		if (mm[i].type == KUMO_HVM_MEMMAP_RAM && mm[i].addr + mm[i].size > top)
			top = mm[i].addr + mm[i].size;
	if (top > MAX_PHYS)
		top = MAX_PHYS;
	npages = top / PAGE_SIZE;
	uint64_t bm_bytes = ((npages + 63) / 64) * 8 * 2; /* used + dirty */

	/* Things that must survive: the kernel image, the start info and everything it
	 * points to (module list, modules = the initrd, command line, memory map). */
	struct { uint64_t a, b; } keep[8 + 4];
	int nkeep = 0;
	keep[nkeep++] = (typeof(keep[0])){ 0, 1ull << 20 };
	keep[nkeep++] = (typeof(keep[0])){ (uintptr_t)__kernel_start, (uintptr_t)__kernel_end };
	keep[nkeep++] = (typeof(keep[0])){ (uintptr_t)si, (uintptr_t)si + sizeof(*si) };
	keep[nkeep++] = (typeof(keep[0])){ si->memmap_paddr, si->memmap_paddr + nmm * sizeof(*mm) };
	if (si->cmdline_paddr)
		keep[nkeep++] = (typeof(keep[0])){ si->cmdline_paddr, si->cmdline_paddr + 4096 };
	const struct kumo_hvm_modlist_entry *mods = (const void *)(uintptr_t)si->modlist_paddr;
	if (si->nr_modules) {
		keep[nkeep++] = (typeof(keep[0])){ si->modlist_paddr,
						   si->modlist_paddr + si->nr_modules * sizeof(*mods) };
		for (uint32_t i = 0; i < si->nr_modules && nkeep < (int)(sizeof(keep) / sizeof(keep[0])); i++)
			keep[nkeep++] = (typeof(keep[0])){ mods[i].paddr, mods[i].paddr + mods[i].size };
	}

	/* Place the bitmap in the first RAM gap below 4 GiB that overlaps nothing kept. */
	uint64_t bm = 0;
	for (uint32_t i = 0; i < nmm && !bm; i++) {
		if (mm[i].type != KUMO_HVM_MEMMAP_RAM)
			continue;
		uint64_t a = (mm[i].addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1), end = mm[i].addr + mm[i].size;
		if (end > (4ull << 30))
			end = 4ull << 30;
		for (int again = 1; again;) {
			again = 0;
			for (int k = 0; k < nkeep; k++) {
				if (a < keep[k].b && a + bm_bytes > keep[k].a) {
					a = (keep[k].b + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
					again = 1;
				}
			}
		}
		if (a + bm_bytes <= end)
			bm = a;
	}
	if (!bm)
		panic("no room for the page bitmap (%llu bytes)", (unsigned long long)bm_bytes);
	bitmap = (uint64_t *)(uintptr_t)bm;
	dirty = bitmap + (npages + 63) / 64;
	memset(bitmap, 0xff, bm_bytes / 2);
	memset(dirty, 0, bm_bytes / 2);
	nfree = 0;
	for (uint32_t i = 0; i < nmm; i++)
		if (mm[i].type == KUMO_HVM_MEMMAP_RAM && mm[i].addr < top)
			mark(mm[i].addr, mm[i].addr + mm[i].size > top ? top : mm[i].addr + mm[i].size, 0);
	ntotal = nfree;
	for (int k = 0; k < nkeep; k++)
		mark(keep[k].a, keep[k].b, 1);
	mark(bm, bm + bm_bytes, 1);
	hint = 0;
}

static void *alloc_run(size_t n, int zero);

void *page_alloc(size_t n)
{
	return alloc_run(n, 1);
}

void *page_alloc_uninit(size_t n)
{
	return alloc_run(n, 0);
}

/* n free pages in a row, marked used; zeroed (those freed before) when `zero`. */
static void *alloc_run(size_t n, int zero)
{
	if (n == 0 || n > nfree)
		return NULL;
	uint64_t words = (npages + 63) / 64;
	for (uint64_t w = hint; w < words; w++) {
		if (bitmap[w] == ~0ull)
			continue;
		for (uint64_t p = w * 64; p < (w + 1) * 64 && p < npages; p++) {
			if (used(p))
				continue;
			uint64_t run = 0;
			while (run < n && p + run < npages && !used(p + run))
				run++;
			if (run < n) {
				p += run;
				continue;
			}
			for (uint64_t q = p; q < p + n; q++) {
				set_used(q);
				if (zero && (dirty[q / 64] >> (q % 64)) & 1) {
					uint64_t *z = (uint64_t *)(uintptr_t)(q * PAGE_SIZE);
					size_t cnt = PAGE_SIZE / 8;
					__asm__ volatile("rep stosq" : "+D"(z), "+c"(cnt) : "a"(0ull) : "memory");
					dirty[q / 64] &= ~(1ull << (q % 64));
				}
			}
			nfree -= n;
			if (n == 1 && w == hint && bitmap[w] == ~0ull)
				hint = w + 1;
			return (void *)(uintptr_t)(p * PAGE_SIZE);
		}
	}
	return NULL;
}

void page_free(void *addr, size_t n)
{
	uint64_t p = (uintptr_t)addr / PAGE_SIZE;
	for (uint64_t q = p; q < p + n; q++) {
		if (!used(q))
			panic("page_free: page %#llx is not allocated", (unsigned long long)(q * PAGE_SIZE));
		set_free(q);
		dirty[q / 64] |= 1ull << (q % 64);
	}
	nfree += n;
	if (p / 64 < hint)
		hint = p / 64;
}

uint64_t page_free_count(void) { return nfree; }
uint64_t page_total_count(void) { return ntotal; }
