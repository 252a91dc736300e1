/* cri/cli/cli_checkpoint.c - `kumo checkpoint POD -o FILE` and `kumo restore FILE`: a
 * pod of kumod's saved into a snapshot archive and brought back, through kumod's CRI
 * socket (CheckpointPod and RestorePod of CRI v1, which kumod implements: no extension
 * of kumod's own; the archive is written and read by kumod, so FILE is a path on
 * kumod's node). The calls go through kumo-crictl (cli_crictl.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cri/cli/cli.h"
#include "cri/cli/cli_crictl.h"
#include "cri/cri.h"

#define DEFAULT_TIMEOUT_S 600

static const struct option long_opts[] = {
	{"output", required_argument, NULL, 'o'},
	{"stop", no_argument, NULL, 's'},
	{"socket", required_argument, NULL, 'S'},
	{"timeout", required_argument, NULL, 't'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* path made absolute against the current directory (kumod runs elsewhere); the file
 * itself need not exist yet. */
static char *absolute(const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

/* Calls kumod: 0 and *resp (may be NULL), or -1 with kumod's message in *err. */
static int call(const char *sock, const char *method, json_t *req, int timeout_s,
		json_t **resp, kumo_error_t *err)
{
	int rc = cli_crictl_call(sock, method, req, timeout_s, resp, err);
	if (rc < 0 && (*err)->status == KUMO_E_UNAVAILABLE)
		kumo_error_wrap(err, "is kumod running on `%s`?", sock);
	return rc;
}

static int cmd_checkpoint(int argc, char **argv)
{
	const char *out = NULL, *sock = CRI_DEFAULT_SOCKET;
	bool stop = false;
	int timeout = DEFAULT_TIMEOUT_S, c;
	while ((c = getopt_long(argc, argv, "o:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 's': stop = true; break;
		case 'S': sock = optarg; break;
		case 't': timeout = atoi(optarg) > 0 ? atoi(optarg) : DEFAULT_TIMEOUT_S; break;
		case 'h':
			printf("usage: kumo checkpoint POD -o FILE [--stop] [--socket PATH] "
			       "[--timeout SECONDS]\n\n"
			       "Saves kumod's pod POD (its sandbox id or a unique prefix) into the\n"
			       "snapshot archive FILE: the pod's VM is paused, its whole state saved\n"
			       "with QEMU's migration stream beside kumo's records of the pod and its\n"
			       "containers, then resumed (--stop: stopped). `kumo restore FILE` brings\n"
			       "it back. FILE is written by kumod, on its node.\n"
			       "  -o, --output FILE  the archive (required)\n"
			       "  --stop             stop the pod (its VM) after the save\n"
			       "  --socket PATH      kumod's CRI socket (default %s)\n"
			       "  --timeout SECONDS  give up after this long (default %d)\n",
			       CRI_DEFAULT_SOCKET, DEFAULT_TIMEOUT_S);
			return 0;
		default: return KUMO_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !out) {
		fprintf(stderr, "usage: kumo checkpoint POD -o FILE [--stop] [--socket PATH]\n");
		return KUMO_EXIT_USAGE;
	}
	autofree char *path = absolute(out);
	json_t *req = json_pack("{s:s, s:s}", "pod_sandbox_id", argv[optind], "output_path", path);
	if (stop)
		json_object_set_new(req, "options", json_pack("{s:s}", "leave_running", "false"));
	kumo_error_t err = NULL;
	uint64_t t0 = kumo_now_ns();
	int rc = call(sock, "CheckpointPod", req, timeout, NULL, &err);
	json_decref(req);
	if (rc < 0) {
		kumo_cli_error("checkpoint", err);
		kumo_error_free(&err);
		return KUMO_EXIT_FAILURE;
	}
	struct stat sb;
	fprintf(stderr, "kumo: pod `%s` checkpointed to `%s` (%lld bytes, %.1f ms)%s\n",
		argv[optind], path, stat(path, &sb) == 0 ? (long long)sb.st_size : -1LL,
		(double)(kumo_now_ns() - t0) / 1e6, stop ? ", stopped" : "");
	return 0;
}
KUMO_COMMAND("checkpoint", cmd_checkpoint, "save a pod of kumod's into a snapshot archive");

static int cmd_restore(int argc, char **argv)
{
	const char *sock = CRI_DEFAULT_SOCKET;
	int timeout = DEFAULT_TIMEOUT_S, c;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'S': sock = optarg; break;
		case 't': timeout = atoi(optarg) > 0 ? atoi(optarg) : DEFAULT_TIMEOUT_S; break;
		case 'h':
			printf("usage: kumo restore FILE [--socket PATH] [--timeout SECONDS]\n\n"
			       "Brings back the pod saved in the snapshot archive FILE (`kumo\n"
			       "checkpoint`) as a new pod of kumod's, its containers going on where\n"
			       "they were saved. The archive is verified first (format version, digests,\n"
			       "the kernel and compiler builds: another build is refused). Prints the new\n"
			       "pod's id, then its containers' ids, one a line.\n"
			       "  --socket PATH      kumod's CRI socket (default %s)\n"
			       "  --timeout SECONDS  give up after this long (default %d)\n",
			       CRI_DEFAULT_SOCKET, DEFAULT_TIMEOUT_S);
			return 0;
		default: return KUMO_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: kumo restore FILE [--socket PATH]\n");
		return KUMO_EXIT_USAGE;
	}
	autofree char *path = absolute(argv[optind]);
	json_t *req = json_pack("{s:s}", "checkpoint_path", path), *resp = NULL;
	kumo_error_t err = NULL;
	uint64_t t0 = kumo_now_ns();
	int rc = call(sock, "RestorePod", req, timeout, &resp, &err);
	json_decref(req);
	if (rc < 0) {
		kumo_cli_error("restore", err);
		kumo_error_free(&err);
		return KUMO_EXIT_FAILURE;
	}
	const char *pod = json_string_value(json_object_get(resp, "pod_sandbox_id"));
	printf("%s\n", pod ? pod : "");
	json_t *ctrs = json_object_get(resp, "restored_containers"), *rc_ctr;
	size_t i;
	json_array_foreach(ctrs, i, rc_ctr)
		printf("%s\n", json_string_value(json_object_get(rc_ctr, "container_id")));
	fprintf(stderr, "kumo: `%s` restored as pod `%.12s` (%.1f ms)\n", path, pod ? pod : "",
		(double)(kumo_now_ns() - t0) / 1e6);
	json_decref(resp);
	return 0;
}
KUMO_COMMAND("restore", cmd_restore, "bring back a pod from a snapshot archive");
