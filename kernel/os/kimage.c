/* kernel/os/kimage.c - the kernel's side of its linker (kload.h): images in the top 2 GiB within rel32 reach of the kernel (vm.c), the CPU check (cpu.c), the generated export table. */
#include "kernel/arch/x86_64/x86.h"
#include "kernel/os/kos.h"
#include "kernel/os/pod.h"

static void *image_map(void *ctx, size_t len)
{
	(void)ctx;
	return vm_image_map(len);
}

static int image_protect(void *ctx, void *addr, size_t len, int exec)
{
	(void)ctx;
	return vm_image_protect((uintptr_t)addr, len, exec) < 0 ? -1 : 0;
}

static void image_unmap(void *ctx, void *addr, size_t len)
{
	(void)ctx;
	vm_image_unmap((uintptr_t)addr, len);
}

static const char *image_cpu_missing(void *ctx, const char *cpu)
{
	(void)ctx;
	return cpu_missing_for_target(cpu);
}

static struct kload_env env = {
	.map = image_map, .protect = image_protect, .unmap = image_unmap,
	.cpu_missing = image_cpu_missing, .exports = kload_kernel_exports,
};

int kimage_link(const uint8_t *obj, size_t len, struct kload_image **out, char *err, size_t errcap)
{
	env.nexports = kload_kernel_nexports;
	return kload_link(obj, len, &env, out, err, errcap);
}

void kimage_free(struct kload_image *img)
{
	kload_free(&env, img);
}
