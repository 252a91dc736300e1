/* cri/accel_choice.h - the accelerator choice for everything in cri/ that boots VMs
 * (`kumo run`, `kumo info`, kumod): what to probe KVM with, the request (auto|kvm|tcg),
 * and the one line that says what was chosen and why. The probing itself, the verdict
 * and its cache are vmm/'s (vmm.h, vmm/accel.c). */
#ifndef KUMO_CRI_ACCEL_CHOICE_H
#define KUMO_CRI_ACCEL_CHOICE_H

#include "common.h"
#include "vmm/vmm.h"

struct cri_accel {
	enum vmm_accel want;              /* as asked */
	enum vmm_accel accel;             /* resolved: VMM_ACCEL_KVM or VMM_ACCEL_TCG */
	struct vmm_accel_verdict verdict; /* the probe's verdict (zeroed when tcg was asked) */
	bool fell_back;                   /* auto chose tcg because kvm is unusable */
	char kernel_id[72];               /* the kernel build id probed with, "" when none */
	char line[480];                   /* "accel: kvm (ok, probe 41 ms)", "accel: tcg (kvm
					   * unusable: PVM host, guest not PVM-aware)",
					   * "accel: tcg (asked for)" */
};

/* Resolves `want`. probe_kernel/kernel_id: a kumo kernel image to boot in probe mode
 * (`kumo run`: the app's own image); NULL: the probe image, kumo's kernel linked with
 * an empty app, builder_probe_image (cached in the build cache under `root`, NULL:
 * $KUMO_ROOT or the default), built only when no cached verdict answers. A kvm that was
 * asked for and is unusable is an error (KUMO_E_UNAVAILABLE) naming the probe's reason. */
int cri_accel_choose(enum vmm_accel want, const char *probe_kernel, const char *kernel_id,
		     const char *root, struct cri_accel *out, kumo_error_t *err);

#endif /* KUMO_CRI_ACCEL_CHOICE_H */
