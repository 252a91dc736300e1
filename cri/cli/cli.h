/* cri/cli/cli.h - how `kumo` subcommands register themselves.
 *
 * Each subcommand lives in its own cri/cli/cli_<name>.c and declares itself with
 * KUMO_COMMAND(name, fn, summary); the linker gathers the declarations into one
 * section that kumo.c walks, so adding a subcommand touches no shared table.
 * fn(argc, argv) gets argv[0] == the subcommand name and returns the exit code.
 *
 * Habits every subcommand keeps: options may come before or after the operands (GNU
 * getopt's order; `kumo run` alone stops at APP, since what follows is the app's);
 * `--help` prints the usage on stdout; an error names the command once (below).
 */
#ifndef KUMO_CLI_H
#define KUMO_CLI_H

struct kumo_command {
	const char *name;                      /* "compile" */
	int (*run)(int argc, char **argv);     /* returns the process exit code */
	const char *summary;                   /* one line for `kumo help` */
};

#define KUMO_COMMAND(cmd_name, fn, text)                                                   \
	static const struct kumo_command kumo_command_##fn                                \
		__attribute__((used, section("kumo_commands"), aligned(8))) = {           \
			.name = cmd_name, .run = fn, .summary = text}

/* Prints an error on stderr as "kumo CMD: MESSAGE", naming the command once: a message
 * that already starts with it ("pull `REF`: ..." from the image store) is printed as
 * "kumo pull `REF`: ...". Subcommands report every failure this way. */
#include "common.h"
void kumo_cli_error(const char *cmd, kumo_error_t err);

/* Exit codes shared by subcommands (a Wasm app's own exit code passes through). */
#define KUMO_EXIT_USAGE 2      /* bad command line */
#define KUMO_EXIT_FAILURE 125  /* kumo itself failed before or around the app */
#define KUMO_EXIT_TRAP 134     /* the app trapped (128 + SIGABRT, as wasmtime) */

#endif /* KUMO_CLI_H */
