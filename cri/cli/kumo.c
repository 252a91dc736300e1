/* cri/cli/kumo.c - the `kumo` CLI: dispatches to the registered subcommands. */
#include <stdio.h>
#include <string.h>

#include "cri/cli/cli.h"
#include "cri/cri.h"

extern const struct kumo_command __start_kumo_commands[];
extern const struct kumo_command __stop_kumo_commands[];

void kumo_cli_error(const char *cmd, kumo_error_t err)
{
	const char *msg = kumo_error_msg(err);
	size_t n = strlen(cmd);
	if (strncmp(msg, cmd, n) == 0 && msg[n] == ' ')
		fprintf(stderr, "kumo %s\n", msg);
	else
		fprintf(stderr, "kumo %s: %s\n", cmd, msg);
}

/* kumod's version too (cri/cri.h); also an entry, so the section exists even with no
 * other subcommand linked. */
static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("kumo %s\n", KUMO_VERSION);
	return 0;
}
KUMO_COMMAND("version", cmd_version, "print the version");

static void usage(FILE *out)
{
	fprintf(out, "usage: kumo COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct kumo_command *c = __start_kumo_commands; c < __stop_kumo_commands; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "\n`kumo COMMAND --help` describes one command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? KUMO_EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	for (const struct kumo_command *c = __start_kumo_commands; c < __stop_kumo_commands; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "kumo: unknown command `%s`\n", argv[1]);
	usage(stderr);
	return KUMO_EXIT_USAGE;
}
