/* cri/cli/cli_compile.c - `kumo compile app.wasm -o app.o`: AOT-compiles one module. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "compiler/abi.h"
#include "compiler/compiler.h"
#include "cri/cli/cli.h"

#define MAX_WASM_BYTES (1u << 30)

static void compile_usage(FILE *out)
{
	fprintf(out,
		"usage: kumo compile APP.wasm -o APP.o [--cpu NAME] [--bounds-checks] [-O0..3] [-v]\n"
		"\n"
		"Compiles a WebAssembly 2.0 module ahead of time into an x86-64 ELF object\n"
		"(generated-code ABI: compiler/abi.h).\n"
		"  -o PATH          output object (written atomically)\n"
		"  --cpu NAME       target CPU (default " KUMO_DEFAULT_CPU "), recorded in the object\n"
		"  --bounds-checks  explicit memory bounds checks instead of guard pages\n"
		"  -O0..-O3         optimisation level (default -O2)\n"
		"  -v               print compile time, object size and imports\n"
		"Limits against hostile modules (0: none; defaults in README \"Limits and hardening\"):\n");
	size_t n;
	const struct kumo_limit_key *keys = kumo_compile_limit_keys(&n);
	const struct kumo_compile_limits *cur = kumo_compile_limits();
	for (size_t i = 0; i < n; i++) {
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s", keys[i].key);
		for (char *p = flag; *p; p++)
			if (*p == '_')
				*p = '-';
		fprintf(out, "  %-32s %s (default %llu)\n", flag, keys[i].what,
			(unsigned long long)*(const uint64_t *)((const char *)cur + keys[i].offset));
	}
}

static int compile_one(const char *in, const char *out, const struct kumo_compile_options *o,
		       bool verbose);

static int cmd_compile(int argc, char **argv)
{
	static const struct option fixed[] = {
		{"cpu", required_argument, NULL, 'c'},
		{"bounds-checks", no_argument, NULL, 'b'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
	};
	/* One --max-... flag per limit key (compiler.h), named after the key. */
	size_t nkeys;
	const struct kumo_limit_key *keys = kumo_compile_limit_keys(&nkeys);
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct option *longopts = xzalloc((nfixed + nkeys + 1) * sizeof(*longopts));
	char **names = xzalloc(nkeys * sizeof(char *));
	memcpy(longopts, fixed, sizeof(fixed));
	for (size_t i = 0; i < nkeys; i++) {
		names[i] = xstrdup(keys[i].key);
		for (char *p = names[i]; *p; p++)
			if (*p == '_')
				*p = '-';
		longopts[nfixed + i] = (struct option){names[i], required_argument, NULL, 1000 + (int)i};
	}
	struct kumo_compile_limits lim = *kumo_compile_limits();
	int rc = KUMO_EXIT_USAGE;
	struct kumo_compile_options opts = {.cpu = NULL, .opt_level = 2, .bounds_checks = false};
	const char *out = NULL;
	bool verbose = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:O:vh", longopts, NULL)) != -1) {
		if (c >= 1000 && (size_t)(c - 1000) < nkeys) {
			autoerror kumo_error_t lerr = NULL;
			if (kumo_compile_limit_set(&lim, keys[c - 1000].key, optarg, &lerr) < 0) {
				fprintf(stderr, "kumo compile: --%s\n", kumo_error_msg(lerr));
				goto out;
			}
			continue;
		}
		switch (c) {
		case 'o': out = optarg; break;
		case 'c': opts.cpu = optarg; break;
		case 'b': opts.bounds_checks = true; break;
		case 'v': verbose = true; break;
		case 'O':
			if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '3') {
				fprintf(stderr, "kumo compile: bad optimisation level `-O%s`\n", optarg);
				goto out;
			}
			opts.opt_level = optarg[0] - '0';
			break;
		case 'h': compile_usage(stdout); rc = 0; goto out;
		default: compile_usage(stderr); goto out;
		}
	}
	if (optind + 1 != argc || !out) {
		compile_usage(stderr);
		goto out;
	}
	kumo_compile_set_limits(&lim);
	rc = compile_one(argv[optind], out, &opts, verbose);
out:
	for (size_t i = 0; i < nkeys; i++)
		free(names[i]);
	free(names);
	free(longopts);
	return rc;
}

static int compile_one(const char *in, const char *out, const struct kumo_compile_options *o,
		       bool verbose)
{
	struct kumo_compile_options opts = *o;
	autoerror kumo_error_t err = NULL;
	uint8_t *wasm = NULL;
	size_t len = 0;
	if (kumo_read_file(in, MAX_WASM_BYTES, &wasm, &len, &err) < 0) {
		kumo_cli_error("compile", err);
		return KUMO_EXIT_FAILURE;
	}
	struct kumo_compile_info info;
	int r = kumo_compile_file(wasm, len, &opts, out, &info, &err);
	free(wasm);
	if (r < 0) {
		kumo_error_wrap(&err, "`%s`", in);
		kumo_cli_error("compile", err);
		return KUMO_EXIT_FAILURE;
	}
	if (verbose) {
		fprintf(stderr, "compiled `%s` -> `%s`: %zu bytes in %.1f ms\n", in, out,
			info.object_bytes, info.compile_ns / 1e6);
		if (info.worker_peak_rss_kb)
			fprintf(stderr, "  compile worker: %.1f ms of CPU, peak %llu KiB resident\n",
				info.worker_cpu_ns / 1e6, (unsigned long long)info.worker_peak_rss_kb);
		for (size_t i = 0; i < info.nimports; i++)
			fprintf(stderr, "  import %s.%s%s%s\n", info.imports[i].module,
				info.imports[i].field, info.imports[i].symbol ? " -> " : "",
				info.imports[i].symbol ? info.imports[i].symbol : "");
	}
	kumo_compile_info_free(&info);
	return 0;
}
KUMO_COMMAND("compile", cmd_compile, "compile a Wasm module to a native object");
