/* cri/cli/cli_run_args.c - the command line of `kumo run` and `kumo-hostrun`, parsed
 * once, and the --host runner on the hosted runtime (cri/cli/cli_run.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri/cli/cli.h"
#include "cri/cli/cli_run.h"

#define MAX_LIST 1024

static void run_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s [--host|--libvirt] [--accel auto|kvm|tcg] [-v] APP [--dir HOST::GUEST]...\n"
		"       [--env K=V]..."
		"       [--mem SIZE] [--net] [--listen [tcp:|udp:]ADDR:PORT]... [--bounds-checks]\n"
		"       [--] [ARGS...]\n"
		"\n"
		"Runs a WASI preview1 command. APP is a .wasm or .wat module (compiled first, `kumo run`\n"
		"only), or an object (.o) or shared object (.so) made by `kumo compile`.\n"
		"`kumo run` boots APP (a .wasm or .wat) as a kumo unikernel VM by default: QEMU started\n"
		"directly, KVM when a probe shows it runs kumo guests, TCG otherwise; --dir then\n"
		"shares HOST live with the VM at GUEST (virtio-9p: the app's writes land in HOST)\n"
		"and --mem sets the guest RAM.\n"
		"  --host              run as a Linux process on the hosted runtime\n"
		"  --libvirt           boot the VM through libvirt (as kumod does)\n"
		"  --accel auto|kvm|tcg the VM's accelerator (default auto: KVM when usable, else\n"
		"                      TCG, said once on stderr; kvm: an error when it is unusable)\n"
		"  -v, --verbose       report the VM backend, accelerator and timings on stderr\n"
		"  --dir HOST::GUEST   preopen host directory HOST as GUEST (--dir DIR: same name)\n"
		"  --env K=V           set an environment variable (--env K: copy the host's)\n"
		"  --mem SIZE          cap linear memory (bytes; K, M, G suffixes), e.g. 64M\n"
		"  --net               give the VM a network from the node's CNI list, as a pod (its\n"
		"                      address is printed on stderr as `kumo: VM address A.B.C.D`)\n"
		"  --listen [tcp:|udp:]ADDR:PORT\n"
		"                      a socket bound (and listening, tcp) before the app starts,\n"
		"                      handed to it as the fd after the preopened directories\n"
		"                      (env LISTEN_FDS, KUMO_LISTEN_FD_START); \":8080\" and \"8080\"\n"
		"                      mean 0.0.0.0:8080; repeatable; implies --net for a VM\n"
		"  --bounds-checks     compile with explicit bounds checks instead of guard pages\n"
		"\n"
		"Exit status: the app's; %d when it traps (the trap is printed on stderr);\n"
		"%d when kumo itself fails.\n",
		prog, KUMO_EXIT_TRAP, KUMO_EXIT_FAILURE);
}

/* "64M" -> bytes; -1 when malformed. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	uint64_t mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1ull << 10;
	else if (*end == 'm' || *end == 'M')
		mul = 1ull << 20;
	else if (*end == 'g' || *end == 'G')
		mul = 1ull << 30;
	else if (*end)
		return -1;
	if (mul > 1 && end[1] && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
		return -1;
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* A module to compile: a binary (`\0asm`) or WebAssembly text (the first non-blank byte
 * opens a form `(` or a comment `;;`, as compiler/wat.h's wat_is_text). */
static bool is_wasm_file(const char *path)
{
	unsigned char head[256] = {0};
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t n = fread(head, 1, sizeof(head), f);
	fclose(f);
	if (n >= 4 && memcmp(head, "\0asm", 4) == 0)
		return true;
	size_t i = 0;
	while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r'))
		i++;
	return i < n && (head[i] == '(' || (head[i] == ';' && i + 1 < n && head[i + 1] == ';'));
}

/* The app on the hosted runtime: compiled first when it is a module (and compile can),
 * loaded, run as a WASI command. */
static int run_host(const char *prog, const struct kumo_run_args *a,
		    kumo_run_compile_fn compile)
{
	int status = KUMO_EXIT_FAILURE;
	autoerror kumo_error_t err = NULL;
	char *obj = NULL;
	struct kumo_loaded *loaded = NULL;
	const char *load_path = a->app;
	if (is_wasm_file(a->app)) {
		if (!compile) {
			fprintf(stderr, "%s: `%s` is a .wasm module: compile it first with "
					"`kumo compile`, or use `kumo run --host`\n", prog, a->app);
			return status;
		}
		if (compile(a->app, a->bounds_checks, &obj, &err) < 0) {
			fprintf(stderr, "%s: %s\n", prog, kumo_error_msg(err));
			return status;
		}
		load_path = obj;
	}
	if (kumo_embed_load(load_path, &loaded, &err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, kumo_error_msg(err));
		goto out;
	}
	struct kumo_embed_run run = {
		.argc = a->argc, .argv = a->argv, .envc = a->nenv, .envp = a->env,
		.ndirs = a->ndirs, .dirs = a->dirs, .mem_limit_bytes = a->mem_bytes,
		.nlisten = a->nlisten, .listen = a->listen,
	};
	/* A peer closing a connection must be an EPIPE for the app, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	struct kumo_rt_outcome outcome;
	if (kumo_embed_run_wasi(kumo_loaded_module(loaded), &run, &outcome, &err) < 0) {
		fprintf(stderr, "%s: `%s`: %s\n", prog, a->app, kumo_error_msg(err));
		goto out;
	}
	switch (outcome.kind) {
	case KUMO_RT_OK:
		status = 0;
		break;
	case KUMO_RT_EXIT:
		status = (int)(outcome.code & 0xff);
		break;
	case KUMO_RT_TRAP:
		fprintf(stderr, "kumo: trap: %s\n", outcome.msg);
		status = KUMO_EXIT_TRAP;
		break;
	default:
		fprintf(stderr, "%s: `%s`: %s\n", prog, a->app, outcome.msg);
		break;
	}
out:
	free(obj);
	kumo_loaded_free(loaded);
	return status;
}

int kumo_run_main(const char *prog, int argc, char **argv, kumo_run_compile_fn compile,
		  kumo_run_vm_fn vm)
{
	static const struct option longopts[] = {
		{"host", no_argument, NULL, 'H'},
		{"libvirt", no_argument, NULL, 'L'},
		{"verbose", no_argument, NULL, 'v'},
		{"dir", required_argument, NULL, 'd'},
		{"env", required_argument, NULL, 'e'},
		{"mem", required_argument, NULL, 'm'},
		{"bounds-checks", no_argument, NULL, 'b'},
		{"net", no_argument, NULL, 'N'},
		{"listen", required_argument, NULL, 'l'},
		{"accel", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct kumo_embed_dir dirs[MAX_LIST];
	static char *dir_bufs[MAX_LIST];
	static const char *envs[MAX_LIST];
	static char *env_bufs[MAX_LIST];
	static char *listens[MAX_LIST];
	size_t ndirs = 0, nenv = 0, nlisten = 0;
	bool host = false, bounds_checks = false, libvirt = false, verbose = false, net = false;
	uint64_t mem = 0;
	const char *accel = NULL;
	int c, status = KUMO_EXIT_FAILURE;

	optind = 1;
	/* '+': options stop at APP; everything after it belongs to the app. */
	while ((c = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': host = true; break;
		case 'L': libvirt = true; break;
		case 'v': verbose = true; break;
		case 'b': bounds_checks = true; break;
		case 'N': net = true; break;
		case 'A':
			if (strcmp(optarg, "auto") && strcmp(optarg, "kvm") && strcmp(optarg, "tcg")) {
				fprintf(stderr, "%s: bad --accel `%s`: want auto, kvm or tcg\n", prog,
					optarg);
				return KUMO_EXIT_USAGE;
			}
			accel = optarg;
			break;
		case 'l': {
			autoerror kumo_error_t lerr = NULL;
			if (nlisten == MAX_LIST) {
				fprintf(stderr, "%s: too many --listen\n", prog);
				return KUMO_EXIT_USAGE;
			}
			if (kumo_hosted_listen_parse(optarg, &listens[nlisten], &lerr) < 0) {
				fprintf(stderr, "%s: %s\n", prog, kumo_error_msg(lerr));
				for (size_t i = 0; i < nlisten; i++)
					free(listens[i]);
				return KUMO_EXIT_USAGE;
			}
			nlisten++;
			break;
		}
		case 'd': {
			if (ndirs == MAX_LIST) {
				fprintf(stderr, "%s: too many --dir\n", prog);
				return KUMO_EXIT_USAGE;
			}
			char *s = xstrdup(optarg);
			char *sep = strstr(s, "::");
			dir_bufs[ndirs] = s;
			if (sep) {
				*sep = 0;
				dirs[ndirs] = (struct kumo_embed_dir){s, sep + 2};
			} else {
				dirs[ndirs] = (struct kumo_embed_dir){s, s};
			}
			if (!*dirs[ndirs].host || !*dirs[ndirs].guest) {
				fprintf(stderr, "%s: bad --dir `%s`: want HOST::GUEST\n", prog,
					optarg);
				return KUMO_EXIT_USAGE;
			}
			ndirs++;
			break;
		}
		case 'e':
			if (nenv == MAX_LIST) {
				fprintf(stderr, "%s: too many --env\n", prog);
				return KUMO_EXIT_USAGE;
			}
			if (strchr(optarg, '=')) {
				envs[nenv++] = optarg;
			} else {
				const char *v = getenv(optarg);
				if (!v)
					break; /* not set on the host: not set in the guest */
				env_bufs[nenv] = xasprintf("%s=%s", optarg, v);
				envs[nenv] = env_bufs[nenv];
				nenv++;
			}
			break;
		case 'm':
			if (parse_size(optarg, &mem) < 0 || mem < KUMO_WASM_PAGE_SIZE) {
				fprintf(stderr, "%s: bad --mem `%s`: want a size like 64M\n", prog,
					optarg);
				return KUMO_EXIT_USAGE;
			}
			break;
		case 'h': run_usage(stdout, prog); return 0;
		default: run_usage(stderr, prog); return KUMO_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		run_usage(stderr, prog);
		return KUMO_EXIT_USAGE;
	}
	const char *app = argv[optind];
	if (access(app, F_OK) != 0) {
		fprintf(stderr, "%s: load `%s`: no such file\n", prog, app);
		status = KUMO_EXIT_FAILURE;
		goto out;
	}
	int first_arg = optind + 1;
	if (first_arg < argc && strcmp(argv[first_arg], "--") == 0)
		first_arg++;
	/* The app's argv[0] is the app as named on the command line. */
	size_t gargc = (size_t)(argc - first_arg) + 1;
	const char **gargv = xzalloc((gargc + 1) * sizeof(*gargv));
	gargv[0] = app;
	for (int i = first_arg; i < argc; i++)
		gargv[1 + i - first_arg] = argv[i];
	struct kumo_run_args a = {
		.app = app, .argv = gargv, .argc = gargc, .env = envs, .nenv = nenv,
		.dirs = dirs, .ndirs = ndirs, .mem_bytes = mem, .listen = (const char *const *)listens,
		.nlisten = nlisten, .net = net || nlisten > 0, .libvirt = libvirt,
		.verbose = verbose, .bounds_checks = bounds_checks, .accel = accel,
	};
	status = vm && !host ? vm(&a) : run_host(prog, &a, compile);
	free(gargv);
out:
	for (size_t i = 0; i < ndirs; i++)
		free(dir_bufs[i]);
	for (size_t i = 0; i < nenv; i++)
		free(env_bufs[i]);
	for (size_t i = 0; i < nlisten; i++)
		free(listens[i]);
	return status;
}
