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
	struct builder_options bo = {0};
	autofree const char **env = xzalloc((size_t)(argc + 1) * sizeof(char *));
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
	while (optind < argc)
		args[nargs++] = argv[optind++];

	autoerror kumo_error_t err = NULL;
	/* --rootfs is the app's root directory: copied in at "/" and preopened there. */
	struct builder_mount root = {.guest_path = "/", .host_path = rootfs};
	struct builder_input in = {
		.options = bo, .module = {.path = app}, .argv0 = app, .argv = args, .env = env,
		.mounts = &root, .nmounts = rootfs ? 1 : 0, .run_dir = out,
	};
	struct builder_artifact art;
	autofree char *elf = xasprintf("%s/kernel.elf", out);
	autofree char *cfg_path = xasprintf("%s/config.json", out);
	bool made = access(out, F_OK) != 0;
	if (kumo_mkdir_p(out, 0755, &err) < 0)
		goto fail;
	if (builder_prepare(&in, &art, &err) < 0) {
		if (made)
			rmdir(out); /* a failed build leaves no output directory */
		kumo_error_wrap(&err, "build `%s`", app);
		goto fail;
	}
	int r = place(art.kernel, elf, &err);
	if (r == 0)
		r = kumo_write_file_atomic(cfg_path, art.boot_config, strlen(art.boot_config), 0644,
					   &err);
	if (r == 0)
		fprintf(stderr, "kumo: built `%s` -> `%s` (compile %s, link %s)\n", app, out,
			art.object_cached ? "cached" : "done", art.image_cached ? "cached" : "done");
	builder_artifact_free(&art);
	if (r == 0)
		return 0;
fail:
	fprintf(stderr, "kumo: %s\n", kumo_error_msg(err));
	return KUMO_EXIT_FAILURE;
}
KUMO_COMMAND("build", cmd_build, "build a bootable kernel image + initrd from a Wasm module");
