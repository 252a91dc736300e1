/* cri/cli/cli_migrate.c - `kumo migrate POD --to SOCKET`: a running pod of one kumod moved
 * live to another (pre-copy over TCP), with CRI v1 calls only:
 *   1. source CheckpointPod {describe_only}: an archive with the pod's records, kernel
 *      image and machine description, without its state;
 *   2. destination RestorePod {incoming: tcp:ADDRESS:PORT} of that archive (on a
 *      thread: it returns once the state has arrived and the container runs);
 *   3. source CheckpointPod {migrate_to: tcp:ADDRESS:PORT} (and output_path: the
 *      hand-over a pod VM's destination waits for, the RestorePod's incoming_tail):
 *      QEMU sends the memory while the guest runs and pauses it for the last round
 *      only; the source VM ends;
 *   4. the source pod is stopped and removed (--keep-source: left, its container exited).
 * A step that fails leaves the source running (QEMU goes on when its destination breaks
 * off; a destination nobody sends to gives up after a minute and removes its pod). The
 * calls go through kumo-crictl (cli_crictl.h); step 2 runs while step 3 does. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cri/cli/cli.h"
#include "cri/cli/cli_crictl.h"
#include "cri/cri.h"

#define TIMEOUT_S 3600

static int checkpoint_pod(const char *sock, const char *pod, const char *path,
			  const char *key, const char *value, const char *bandwidth,
			  kumo_error_t *err)
{
	json_t *req = json_pack("{s:s, s:s, s:{s:s}}", "pod_sandbox_id", pod, "output_path",
				path ? path : "", "options", key, value);
	if (bandwidth)
		json_object_set_new(json_object_get(req, "options"), "max_bandwidth",
				    json_string(bandwidth));
	int rc = cli_crictl_call(sock, "CheckpointPod", req, TIMEOUT_S, NULL, err);
	json_decref(req);
	return rc < 0 ? kumo_error_wrap(err, "kumod on `%s`: CheckpointPod", sock) : 0;
}

static void remove_pod(const char *sock, const char *pod)
{
	json_t *req = json_pack("{s:s}", "pod_sandbox_id", pod);
	kumo_error_t err = NULL;
	if (cli_crictl_call(sock, "StopPodSandbox", req, TIMEOUT_S, NULL, &err) == 0)
		cli_crictl_call(sock, "RemovePodSandbox", req, TIMEOUT_S, NULL, &err);
	json_decref(req);
	if (err)
		fprintf(stderr, "kumo migrate: removing the source pod: %s\n", kumo_error_msg(err));
	kumo_error_free(&err);
}

/* A TCP port nobody listens on here now (the kernel's pick for port 0). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port ? port : 47000 + (int)(getpid() % 1000);
}

static const struct option long_opts[] = {
	{"to", required_argument, NULL, 't'},       {"socket", required_argument, NULL, 'S'},
	{"address", required_argument, NULL, 'a'},  {"port", required_argument, NULL, 'p'},
	{"work-dir", required_argument, NULL, 'w'}, {"keep-source", no_argument, NULL, 'k'},
	{"max-bandwidth", required_argument, NULL, 'b'},
	{"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
};

static int cmd_migrate(int argc, char **argv)
{
	const char *src = CRI_DEFAULT_SOCKET, *dst = NULL;
	const char *address = "127.0.0.1", *work = "/tmp", *bandwidth = NULL;
	int port = 0, c;
	bool keep = false;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case 't': dst = optarg; break;
		case 'S': src = optarg; break;
		case 'a': address = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'w': work = optarg; break;
		case 'k': keep = true; break;
		case 'b': bandwidth = optarg; break;
		case 'h':
			printf("usage: kumo migrate POD --to SOCKET [--socket SOCKET] [--address ADDR]\n"
			       "                   [--port N] [--work-dir DIR] [--keep-source]\n"
			       "                   [--max-bandwidth BYTES_PER_S]\n\n"
			       "Moves kumod's running pod POD live to the kumod serving SOCKET: the\n"
			       "destination restores the pod's description and listens at ADDR:PORT,\n"
			       "the source's QEMU sends the memory while the app runs (pre-copy) and\n"
			       "pauses it for the last round only; then the source pod is removed.\n"
			       "Prints the new pod's id. The description archive goes through DIR,\n"
			       "which both kumods must read and write (one node, or shared storage).\n"
			       "The destination's network is asked for the pod's address: when it gives\n"
			       "it (two nodes on one L2 network with IPAM of their own), the pod's\n"
			       "connections go on; otherwise the pod gets another address and they\n"
			       "reset.\n"
			       "  --to SOCKET     the destination kumod's CRI socket (required)\n"
			       "  --socket SOCKET the source kumod's (default %s)\n"
			       "  --address ADDR  where the destination listens, as the source reaches\n"
			       "                  it (default 127.0.0.1)\n"
			       "  --port N        its TCP port (default: a free port here)\n"
			       "  --work-dir DIR  for the description archive (default /tmp)\n"
			       "  --keep-source   leave the source pod (its container exited)\n"
			       "  --max-bandwidth BYTES_PER_S  limit the transfer (default: none)\n",
			       CRI_DEFAULT_SOCKET);
			return 0;
		default: return KUMO_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !dst) {
		fprintf(stderr, "usage: kumo migrate POD --to SOCKET [--socket SOCKET]\n");
		return KUMO_EXIT_USAGE;
	}
	const char *pod = argv[optind];
	if (port <= 0) /* a free port on this machine (the destination is here too) */
		port = free_port();
	char cwd[PATH_MAX];
	autofree char *dir = work[0] == '/' ? xstrdup(work)
					    : xasprintf("%s/%s", getcwd(cwd, sizeof(cwd)) ? cwd : ".",
							work);
	autofree char *archive = xasprintf("%s/kumo-migrate-%d.kumo", dir, (int)getpid());
	autofree char *tail = xasprintf("%s/kumo-migrate-%d.tail", dir, (int)getpid());
	autofree char *uri = xasprintf("tcp:%s:%d", address, port);
	kumo_error_t err = NULL;
	int code = KUMO_EXIT_FAILURE;
	uint64_t t0 = kumo_now_ns();
	unlink(tail);
	if (checkpoint_pod(src, pod, archive, "describe_only", "true", NULL, &err) < 0)
		goto out;
	json_t *rreq = json_pack("{s:s, s:{s:s, s:s}}", "checkpoint_path", archive, "options",
				 "incoming", uri, "incoming_tail", tail);
	struct cli_crictl_job job;
	int started = cli_crictl_start(dst, "RestorePod", rreq, TIMEOUT_S, &job, &err);
	json_decref(rreq);
	if (started < 0)
		goto out;
	uint64_t t1 = kumo_now_ns();
	/* The destination's QEMU listens once it has started: until then, refused. */
	int rc = -1;
	for (int i = 0; i < 500 && rc < 0; i++) {
		kumo_error_free(&err);
		rc = checkpoint_pod(src, pod, tail, "migrate_to", uri, bandwidth, &err);
		if (rc < 0 && !strstr(kumo_error_msg(err), "refused"))
			break;
		if (rc < 0)
			usleep(20000);
	}
	uint64_t t2 = kumo_now_ns();
	if (rc < 0) {
		fprintf(stderr, "kumo migrate: the pod goes on running on the source; the "
				"destination gives up within a minute\n");
		kumo_error_t derr = NULL;
		cli_crictl_finish(&job, NULL, &derr);
		kumo_error_free(&derr);
		goto out;
	}
	json_t *resp = NULL;
	if (cli_crictl_finish(&job, &resp, &err) < 0) {
		kumo_error_wrap(&err, "kumod on `%s`: RestorePod", dst);
		goto out;
	}
	uint64_t t3 = kumo_now_ns();
	if (!keep)
		remove_pod(src, pod);
	const char *new_pod = json_string_value(json_object_get(resp, "pod_sandbox_id"));
	printf("%s\n", new_pod ? new_pod : "");
	fprintf(stderr, "kumo: pod `%s` migrated to `%s` as `%.12s` over %s (describe %.1f ms, "
			"migrate %.1f ms, destination running after %.1f ms)\n", pod, dst,
		new_pod ? new_pod : "", uri, (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6,
		(double)(t3 - t0) / 1e6);
	json_decref(resp);
	code = 0;
out:
	if (err)
		kumo_cli_error("migrate", err);
	kumo_error_free(&err);
	unlink(archive);
	unlink(tail);
	return code;
}
KUMO_COMMAND("migrate", cmd_migrate, "move a running pod live to another kumod");
