/* cri/accel_choice.c - the accelerator choice for kumo run, kumo info and kumod: the
 * probe image and the line that says what was chosen (cri/accel_choice.h). */
#include <stdio.h>
#include <string.h>

#include "builder/builder.h"
#include "cri/accel_choice.h"

/* (module (func (export "_start"))): the probe image is kumo's kernel with this app,
 * which never runs (probe mode powers off after the CPU set-up). */
static const uint8_t empty_app[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* magic, version */
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00,             /* type: () -> () */
	0x03, 0x02, 0x01, 0x00,                         /* func 0: type 0 */
	0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x00, /* export */
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,             /* code: end */
};

int cri_accel_probe_image(const char *root, char **path, char kernel_id[72], kumo_error_t *err)
{
	struct kumo_build_options o = {.root = root};
	struct kumo_image_result r;
	if (kumo_build_image(&o, empty_app, sizeof(empty_app), &r, err) < 0)
		return kumo_error_wrap(err, "build the accelerator probe image");
	*path = r.image_path;
	r.image_path = NULL;
	if (kernel_id)
		memcpy(kernel_id, r.kernel_id, 72);
	kumo_image_result_free(&r);
	return 0;
}

static int get_probe_image(void *ctx, char **path, kumo_error_t *err)
{
	return cri_accel_probe_image(ctx, path, NULL, err);
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
	else if (kumo_kernel_id(out->kernel_id, err) < 0)
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
