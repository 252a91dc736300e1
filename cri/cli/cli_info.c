/* cri/cli/cli_info.c - `kumo info`: what this node can do — the accelerator and why (with
 * the probe's cost), QEMU and libvirt, the VM backends, the network, the store and the
 * build cache, the CRI socket — in words or as JSON (-o json). */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include <jansson.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "builder/builder.h"
#include "cri/accel_choice.h"
#include "cri/cli/cli.h"
#include "cri/cri.h"
#include "vmm/vmm.h"

static const char usage[] =
	"usage: kumo info [-o text|json] [--accel auto|kvm|tcg] [--root DIR] [--config PATH] [accel]\n"
	"Prints what this node can do: the VM accelerator and why (probing KVM with kumo's\n"
	"kernel once per host boot, cached under $KUMO_ACCEL_CACHE_DIR or " VMM_ACCEL_CACHE_DIR "),\n"
	"QEMU and libvirt versions, the VM backends, the network, the store and build cache,\n"
	"and kumod's CRI socket (from kumod's configuration, default " CRI_DEFAULT_CONFIG ").\n"
	"--accel: what `kumo run --accel` would use (kvm: exit 125 when KVM is unusable).\n"
	"`kumo info accel` prints the accelerator alone (what test scripts ask, tests/lib/testlib.sh).\n";

static uint64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		tree_bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

/* Bytes on disk under dir (0 when it does not exist). */
static uint64_t du(const char *dir)
{
	tree_bytes = 0;
	if (access(dir, F_OK) == 0)
		nftw(dir, add_size, 16, FTW_PHYS);
	return tree_bytes;
}

static void human(uint64_t n, char *buf, size_t len)
{
	if (n >= (1ull << 30))
		snprintf(buf, len, "%.1f GiB", (double)n / (1ull << 30));
	else if (n >= (1ull << 20))
		snprintf(buf, len, "%.1f MiB", (double)n / (1 << 20));
	else if (n >= 1024)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)n);
}

static void silence(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static char *version_str(unsigned long v)
{
	return xasprintf("%lu.%lu.%lu", v / 1000000, (v / 1000) % 1000, v % 1000);
}

/* libvirt's library version and, when libvirtd answers on its socket, the daemon's. */
static json_t *libvirt_info(void)
{
	virSetErrorFunc(NULL, silence);
	unsigned long lib = 0;
	json_t *j = json_object();
	if (virGetVersion(&lib, NULL, NULL) == 0) {
		autofree char *s = version_str(lib);
		json_object_set_new(j, "library", json_string(s));
	}
	json_object_set_new(j, "uri", json_string("qemu:///system"));
	json_t *daemon = json_null();
	if (access("/run/libvirt/libvirt-sock", F_OK) == 0) {
		virConnectPtr c = virConnectOpenReadOnly("qemu:///system");
		unsigned long dv = 0;
		if (c && virConnectGetLibVersion(c, &dv) == 0) {
			autofree char *s = version_str(dv);
			daemon = json_string(s);
		}
		if (c)
			virConnectClose(c);
	}
	json_object_set_new(j, "daemon", daemon);
	return j;
}

/* Whether something accepts connections on the unix socket at path. */
static bool socket_answers(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static json_t *accel_info(const struct cri_accel *a)
{
	const struct vmm_accel_verdict *v = &a->verdict;
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "name", vmm_accel_str(a->accel),
			      "want", vmm_accel_str(a->want), "reason", v->reason, "line", a->line,
			      "kvm_usable", v->kvm_usable, "pvm", v->pvm, "cached", v->cached);
	json_object_set_new(j, "detail", v->detail[0] ? json_string(v->detail) : json_null());
	json_object_set_new(j, "probe_ms", v->probe_ns ? json_real((double)v->probe_ns / 1e6)
						       : json_null());
	if (v->probed_at) {
		char ts[40];
		time_t t = (time_t)v->probed_at;
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		json_object_set_new(j, "probed_at", json_string(ts));
	} else {
		json_object_set_new(j, "probed_at", json_null());
	}
	json_object_set_new(j, "dev_kvm", json_boolean(access("/dev/kvm", F_OK) == 0));
	const char *dir = getenv("KUMO_ACCEL_CACHE_DIR");
	dir = dir && *dir ? dir : VMM_ACCEL_CACHE_DIR;
	struct vmm_accel_probe p = {.kernel_id = a->kernel_id};
	struct vmm_accel_key key;
	kumo_error_t err = NULL;
	json_t *file = json_null();
	if (a->want != VMM_ACCEL_TCG && vmm_accel_host_key(&p, &key, &err) == 0) {
		autofree char *path = vmm_accel_cache_path(dir, &key);
		if (access(path, F_OK) == 0)
			file = json_string(path);
	}
	kumo_error_free(&err);
	json_object_set_new(j, "cache_dir", json_string(dir));
	json_object_set_new(j, "cache_file", file);
	return j;
}

static json_t *gather(enum vmm_accel want, const char *root, const struct cri_config *cfg,
		      const char *config_path, bool accel_only, int *rc)
{
	json_t *j = json_object();
	autoerror kumo_error_t err = NULL;
	struct cri_accel a;
	if (cri_accel_choose(want, NULL, NULL, root, &a, &err) < 0) {
		json_object_set_new(j, "accel", json_pack("{s:s, s:s}", "name", "none", "error",
							  kumo_error_msg(err)));
		*rc = KUMO_EXIT_FAILURE;
	} else {
		json_object_set_new(j, "accel", accel_info(&a));
	}
	if (accel_only)
		return j;
	autofree char *qemu_path = kumo_find_executable("qemu-system-x86_64", NULL);
	char ver[160] = "";
	if (qemu_path) {
		autofree char *cmd = xasprintf("'%s' --version 2>/dev/null", qemu_path);
		FILE *pf = popen(cmd, "r");
		if (pf) {
			if (fgets(ver, sizeof(ver), pf))
				ver[strcspn(ver, "\r\n")] = 0;
			pclose(pf);
		}
	}
	const char *v = strncmp(ver, "QEMU emulator version ", 22) == 0 ? ver + 22 : ver;
	json_object_set_new(j, "qemu", json_pack("{s:o, s:o}", "binary",
						 qemu_path ? json_string(qemu_path) : json_null(),
						 "version", *v ? json_string(v) : json_null()));
	json_object_set_new(j, "libvirt", libvirt_info());
	json_object_set_new(j, "vm_backend",
			    json_pack("{s:s, s:s, s:s}", "kumo_run", "qemu", "kumo_run_libvirt",
				      "libvirt (--libvirt)", "kumod", cfg->vm_backend));
	autofree char *kdir = NULL;
	char kid[72] = "";
	kumo_error_t kerr = NULL;
	if (builder_kernel_dir(&kdir, &kerr) == 0) {
		builder_kernel_id(kid, &kerr);
		char *real = realpath(kdir, NULL);
		if (real) {
			free(kdir);
			kdir = real;
		}
	}
	json_object_set_new(j, "kernel", json_pack("{s:o, s:o}", "dir",
						   kdir ? json_string(kdir) : json_null(), "id",
						   kid[0] ? json_string(kid) : json_null()));
	kumo_error_free(&kerr);

	/* The network kumod (and `kumo run --net`) use: the node's CNI configuration. */
	const char *conf_dir = getenv("KUMO_CNI_CONF_DIR");
	conf_dir = conf_dir && *conf_dir ? conf_dir : cfg->cni_conf_dir ? cfg->cni_conf_dir
									 : "/etc/cni/net.d";
	const char *bin_dirs = getenv("KUMO_CNI_BIN_DIRS");
	bin_dirs = bin_dirs && *bin_dirs ? bin_dirs : cfg->cni_bin_dirs;
	autofree char *state_dir = xasprintf("%s/" VMM_PODNET_STATE_SUBDIR, root);
	struct vmm_podnet_config pc = {.conf_dir = conf_dir, .plugin_path = bin_dirs,
				       .state_dir = state_dir};
	autofree char *why = NULL;
	bool ready = vmm_podnet_ready(&pc, &why);
	json_object_set_new(j, "network",
			    json_pack("{s:s, s:s, s:b, s:o, s:s}", "cni_conf_dir", conf_dir,
				      "cni_bin_dirs", bin_dirs ? bin_dirs : "/opt/cni/bin:/usr/lib/cni",
				      "ready", ready, "message", why ? json_string(why) : json_null(),
				      "state_dir", state_dir));

	autofree char *blobs = xasprintf("%s/blobs", root);
	autofree char *build = xasprintf("%s/build", root);
	json_object_set_new(j, "store",
			    json_pack("{s:s, s:I, s:s, s:I, s:s, s:I}", "root", root, "bytes",
				      (json_int_t)du(root), "blobs", blobs, "blobs_bytes",
				      (json_int_t)du(blobs), "build_cache", build,
				      "build_cache_bytes", (json_int_t)du(build)));
	json_object_set_new(j, "cri", json_pack("{s:s, s:b, s:s, s:s, s:s}", "socket", cfg->socket,
						"kumod_listening", socket_answers(cfg->socket),
						"kumod_root", cfg->root, "kumod_accel", cfg->accel,
						"config", config_path));
	return j;
}

static const char *str(json_t *o, const char *a, const char *b)
{
	const char *s = json_string_value(json_object_get(json_object_get(o, a), b));
	return s ? s : "";
}

static void print_text(json_t *j, bool accel_only)
{
	char b1[32], b2[32], b3[32];
	json_t *a = json_object_get(j, "accel");
	if (json_object_get(a, "error")) {
		printf("%-12s none: %s\n", "accelerator", str(j, "accel", "error"));
	} else {
		printf("%-12s %s\n", "accelerator", str(j, "accel", "line") + strlen("accel: "));
		json_t *ms = json_object_get(a, "probe_ms");
		if (json_is_number(ms)) {
			printf("%-12s %.0f ms at %s%s%s", "  probe", json_number_value(ms),
			       str(j, "accel", "probed_at"),
			       json_is_true(json_object_get(a, "cached")) ? ", cached in " : ", now",
			       json_is_true(json_object_get(a, "cached")) ? str(j, "accel", "cache_file")
									  : "");
			if (*str(j, "accel", "detail"))
				printf("; QEMU said: %s", str(j, "accel", "detail"));
			printf("\n");
		} else if (*str(j, "accel", "detail")) {
			printf("%-12s QEMU said: %s\n", "  probe", str(j, "accel", "detail"));
		}
	}
	if (accel_only)
		return;
	printf("%-12s %s%s%s\n", "qemu", *str(j, "qemu", "binary") ? str(j, "qemu", "binary") : "not found",
	       *str(j, "qemu", "version") ? ", " : "", str(j, "qemu", "version"));
	const char *daemon = str(j, "libvirt", "daemon");
	printf("%-12s library %s, daemon %s%s%s\n", "libvirt", str(j, "libvirt", "library"),
	       str(j, "libvirt", "uri"), *daemon ? " " : " not reachable", daemon);
	printf("%-12s kumo run: qemu (--libvirt: libvirt); kumod: %s\n", "vm backend",
	       str(j, "vm_backend", "kumod"));
	printf("%-12s %s, id %s\n", "kernel", str(j, "kernel", "dir"), str(j, "kernel", "id"));
	json_t *n = json_object_get(j, "network");
	printf("%-12s cni %s (plugins in %s): %s%s\n", "network", str(j, "network", "cni_conf_dir"),
	       str(j, "network", "cni_bin_dirs"),
	       json_is_true(json_object_get(n, "ready")) ? "ready" : "not ready: ",
	       str(j, "network", "message"));
	json_t *s = json_object_get(j, "store");
	human((uint64_t)json_integer_value(json_object_get(s, "bytes")), b1, sizeof(b1));
	human((uint64_t)json_integer_value(json_object_get(s, "blobs_bytes")), b2, sizeof(b2));
	human((uint64_t)json_integer_value(json_object_get(s, "build_cache_bytes")), b3, sizeof(b3));
	printf("%-12s %s: %s (blobs %s, build cache %s at %s)\n", "store", str(j, "store", "root"), b1,
	       b2, b3, str(j, "store", "build_cache"));
	json_t *c = json_object_get(j, "cri");
	printf("%-12s %s (%s), kumod config %s: accel %s, root %s\n", "cri socket",
	       str(j, "cri", "socket"),
	       json_is_true(json_object_get(c, "kumod_listening")) ? "kumod listening" : "no kumod",
	       str(j, "cri", "config"), str(j, "cri", "kumod_accel"), str(j, "cri", "kumod_root"));
}

static int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'}, {"accel", required_argument, NULL, 'A'},
		{"root", required_argument, NULL, 'r'},   {"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *out = "text", *root = NULL, *config = NULL;
	enum vmm_accel want = VMM_ACCEL_AUTO;
	autoerror kumo_error_t err = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'r': root = optarg; break;
		case 'c': config = optarg; break;
		case 'A':
			if (vmm_accel_parse(optarg, &want, &err) < 0) {
				kumo_cli_error("info", err);
				return KUMO_EXIT_USAGE;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return KUMO_EXIT_USAGE;
		}
	}
	bool accel_only = optind + 1 == argc && strcmp(argv[optind], "accel") == 0;
	if ((optind != argc && !accel_only) || (strcmp(out, "text") && strcmp(out, "json"))) {
		fputs(usage, stderr);
		return KUMO_EXIT_USAGE;
	}
	/* kumod's configuration says where its socket, root and network are. */
	struct cri_config cfg;
	bool version = false;
	char *noargs[] = {"kumod", NULL};
	if (cri_config_load(&cfg, config ? config : CRI_DEFAULT_CONFIG, config != NULL, 1, noargs,
			    &version, &err) < 0) {
		kumo_cli_error("info", err);
		cri_config_clear(&cfg);
		return KUMO_EXIT_FAILURE;
	}
	if (!root) {
		root = getenv("KUMO_ROOT");
		if (!root || !*root)
			root = BUILDER_DEFAULT_ROOT;
	}
	int rc = 0;
	json_t *j = gather(want, root, &cfg, config ? config : CRI_DEFAULT_CONFIG, accel_only, &rc);
	cri_config_clear(&cfg);
	if (strcmp(out, "json") == 0) {
		autofree char *text = json_dumps(j, JSON_INDENT(2));
		puts(text);
	} else {
		print_text(j, accel_only);
	}
	json_decref(j);
	return rc;
}
KUMO_COMMAND("info", cmd_info, "what this node can do: accelerator and why, QEMU, libvirt, network, store");
