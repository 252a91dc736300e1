/* kernel/os/pod_main.c - kumo_app_main of the kernel image linked without an app (KUMO_KERNEL_POD_IMAGE_PATH): a pod (kernel/pod_abi.h), or the one object the initrd carries run as a kumo-run app. Not in the kernel library: linked only into that image. */
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/os/kos.h"
#include "kernel/os/pod.h"

int kumo_app_main(void)
{
	const struct kumo_bootcfg *b = &kumo_bootcfg;
	if (b->pod)
		return pod_main();
	if (!b->object)
		panic("this kernel has no app: boot it with a \"pod\" config or an object in the initrd");
	struct kload_image *img;
	char err[300];
	uint64_t t0 = clock_monotonic_ns();
	if (kimage_link(b->object, b->object_size, &img, err, sizeof(err)) < 0)
		panic("boot config: the initrd's object: %s", err);
	klog("app: %zu-byte object linked into a %zu-byte image in %llu us", img->object_bytes,
	     img->len, (unsigned long long)((clock_monotonic_ns() - t0) / 1000));
	return app_run_module(img->module);
}
