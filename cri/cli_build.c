/* cri/cli_build.c - `kumo build`: a Wasm module -> bootable kernel image + initrd. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/builder.h"
#include "cri/cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kumo build APP.wasm -o DIR [--rootfs DIR] [--env K=V]... [--cpu NAME]\n"
		"                  [-- ARGS...]\n\n"
		"Compiles APP.wasm (cached), links it with the kumo kernel into DIR/kernel.elf\n"
		"and writes DIR/initrd.img (boot config + the rootfs as a ustar archive) and\n"
		"DIR/config.json. Boot them with `qemu-system-x86_64 -M microvm -kernel\n"
		"DIR/kernel.elf -initrd DIR/initrd.img` or `kumo run`.\n"
		"  -o DIR          output directory (created)\n"
		"  --rootfs DIR    files the app sees (its root directory, preopened as /)\n"
		"  --env K=V       environment variable (repeatable)\n"
		"  --cpu NAME      target CPU (default x86-64-v2)\n");
}

/* Hard-links src to dst (same filesystem as the cache), else copies it. */
static int place(const char *src, const char *dst, kumo_error_t *err)
{
	unlink(dst);
	if (link(src, dst) == 0)
		return 0;
	uint8_t *buf;
	size_t len;
	if (kumo_read_file(src, 1u << 30, &buf, &len, err) < 0)
		return -1;
	int r = kumo_write_file_atomic(dst, buf, len, 0644, err);
	free(buf);
	return r;
}

static int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'}, {"rootfs", required_argument, NULL, 'r'},
		{"env", required_argument, NULL, 'e'},    {"cpu", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *out = NULL, *rootfs = NULL;
	struct kumo_build_options bo = {0};
	autofree const char **env = xzalloc((size_t)argc * sizeof(char *));
	size_t nenv = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'r': rootfs = optarg; break;
		case 'e': env[nenv++] = optarg; break;
		case 'c': bo.cpu = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return KUMO_EXIT_USAGE;
		}
	}
	if (optind >= argc || !out) {
		usage(stderr);
		return KUMO_EXIT_USAGE;
	}
	const char *app = argv[optind++];
	autofree const char **args = xzalloc((size_t)(argc + 1) * sizeof(char *));
	size_t nargs = 0;
	args[nargs++] = app;
	while (optind < argc)
		args[nargs++] = argv[optind++];

	autoerror kumo_error_t err = NULL;
	uint8_t *wasm = NULL;
	size_t len = 0;
	struct kumo_image_result img;
	struct kumo_boot_preopen root_pre = {.guest = "/", .path = "/", .readonly = false};
	struct kumo_boot_config cfg = {
		.args = args, .nargs = nargs, .env = env, .nenv = nenv,
		.preopens = &root_pre, .npreopens = rootfs ? 1 : 0,
	};
	autofree char *elf = xasprintf("%s/kernel.elf", out);
	autofree char *initrd = xasprintf("%s/initrd.img", out);
	autofree char *cfg_path = xasprintf("%s/config.json", out);
	if (kumo_read_file(app, 1u << 30, &wasm, &len, &err) < 0)
		goto fail;
	if (kumo_build_image(&bo, wasm, len, &img, &err) < 0) {
		free(wasm);
		kumo_error_wrap(&err, "build `%s`", app);
		goto fail;
	}
	free(wasm);
	int r = kumo_mkdir_p(out, 0755, &err);
	if (r == 0)
		r = place(img.image_path, elf, &err);
	if (r == 0)
		r = kumo_write_initrd(initrd, &cfg, &(struct kumo_rootfs_dir){rootfs, ""},
				      rootfs ? 1 : 0, &err);
	if (r == 0) {
		autofree char *json = kumo_boot_config_json(&cfg);
		r = kumo_write_file_atomic(cfg_path, json, strlen(json), 0644, &err);
	}
	if (r == 0)
		fprintf(stderr, "kumo: built `%s` -> `%s` (compile %s, link %s)\n", app, out,
			img.object.cache_hit ? "cached" : "done", img.cache_hit ? "cached" : "done");
	kumo_image_result_free(&img);
	if (r == 0)
		return 0;
fail:
	fprintf(stderr, "kumo: %s\n", kumo_error_msg(err));
	return KUMO_EXIT_FAILURE;
}
KUMO_COMMAND("build", cmd_build, "build a bootable kernel image + initrd from a Wasm module");
