/* cri/accel_choice.c - the accelerator choice for kumo run, kumo info and kumod: the
 * line that says what was chosen (cri/accel_choice.h); the probe image is builder's. */
#include <stdio.h>
#include <string.h>

#include "builder/builder.h"
#include "cri/accel_choice.h"

/* The probe image (kumo's kernel with an empty app) from the build cache under ctx, the
 * state root (NULL: $KUMO_ROOT or the default). */
static int get_probe_image(void *ctx, char **path, kumo_error_t *err)
{
	return builder_probe_image(&(struct builder_options){.root = ctx}, path, NULL, err);
}

/* A reason without its "kvm: " prefix, for "kvm unusable: <why>". */
static const char *why(const char *reason)
{
	return strncmp(reason, "kvm: ", 5) == 0 ? reason + 5 : reason;
}

int cri_accel_choose(enum vmm_accel want, const char *probe_kernel, const char *kernel_id,
		     const char *root, struct cri_accel *out, kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	out->want = want;
	if (want == VMM_ACCEL_TCG) {
		out->accel = VMM_ACCEL_TCG;
		snprintf(out->verdict.reason, sizeof(out->verdict.reason), "tcg: asked for");
		snprintf(out->line, sizeof(out->line), "accel: tcg (asked for)");
		return 0;
	}
	if (kernel_id)
		snprintf(out->kernel_id, sizeof(out->kernel_id), "%s", kernel_id);
	else if (builder_kernel_id(out->kernel_id, err) < 0)
		return kumo_error_wrap(err, "choose the accelerator");
	struct vmm_accel_probe p = {.kernel = probe_kernel, .kernel_id = out->kernel_id,
				    .get_kernel = get_probe_image, .get_kernel_ctx = (void *)root};
	if (vmm_accel_resolve(want, &p, &out->accel, &out->verdict, err) < 0)
		return -1;
	if (out->accel == VMM_ACCEL_KVM) {
		snprintf(out->line, sizeof(out->line), "accel: kvm (%s)", why(out->verdict.reason));
	} else {
		out->fell_back = true;
		snprintf(out->line, sizeof(out->line), "accel: tcg (kvm unusable: %s)",
			 why(out->verdict.reason));
	}
	return 0;
}
