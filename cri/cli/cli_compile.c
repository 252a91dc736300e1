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
		"  -v               print compile time, object size and imports\n");
}

static int cmd_compile(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cpu", required_argument, NULL, 'c'},
		{"bounds-checks", no_argument, NULL, 'b'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct kumo_compile_options opts = {.cpu = NULL, .opt_level = 2, .bounds_checks = false};
	const char *out = NULL;
	bool verbose = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:O:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'c': opts.cpu = optarg; break;
		case 'b': opts.bounds_checks = true; break;
		case 'v': verbose = true; break;
		case 'O':
			if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '3') {
				fprintf(stderr, "kumo compile: bad optimisation level `-O%s`\n", optarg);
				return KUMO_EXIT_USAGE;
			}
			opts.opt_level = optarg[0] - '0';
			break;
		case 'h': compile_usage(stdout); return 0;
		default: compile_usage(stderr); return KUMO_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !out) {
		compile_usage(stderr);
		return KUMO_EXIT_USAGE;
	}
	const char *in = argv[optind];
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
		for (size_t i = 0; i < info.nimports; i++)
			fprintf(stderr, "  import %s.%s%s%s\n", info.imports[i].module,
				info.imports[i].field, info.imports[i].symbol ? " -> " : "",
				info.imports[i].symbol ? info.imports[i].symbol : "");
	}
	kumo_compile_info_free(&info);
	return 0;
}
KUMO_COMMAND("compile", cmd_compile, "compile a Wasm module to a native object");
