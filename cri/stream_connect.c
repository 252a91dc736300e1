/* cri/stream_connect.c - port-forward's outgoing connections: to the pod's address,
 * from inside the pod's network namespace when it has one. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>

#include "cri/stream_impl.h"

struct ns_socket {
	const char *netns; /* the namespace's path (/run/kumo/netns/<pod>, /proc/PID/ns/net) */
	int family;
	int fd;            /* the socket made inside it, or -1 */
	int err;           /* errno when it failed */
	const char *step;  /* what failed */
};

/* A socket belongs to the network namespace it was made in. This thread enters the
 * pod's namespace, makes the socket and ends, so no thread of kumod stays there. */
static void *ns_socket_main(void *arg)
{
	struct ns_socket *n = arg;
	pthread_setname_np(pthread_self(), "kumo-netns");
	int nsfd = open(n->netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		n->err = errno;
		n->step = "open";
		return NULL;
	}
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		n->err = errno;
		n->step = "setns";
		close(nsfd);
		return NULL;
	}
	close(nsfd);
	n->fd = socket(n->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0) {
		n->err = errno;
		n->step = "socket";
	}
	return NULL;
}

int stream_connect_start(const char *ip, uint16_t port, const char *netns, int *fd,
			 kumo_error_t *err)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	} else {
		return kumo_error(err, KUMO_E_INVALID, "the pod's address `%s` is not an IP", ip);
	}
	int s = -1;
	if (netns && *netns) {
		struct ns_socket n = {.netns = netns, .family = ss.ss_family, .fd = -1};
		pthread_t t;
		int e = pthread_create(&t, NULL, ns_socket_main, &n);
		if (e != 0)
			return kumo_error_errno(err, e, "port-forward: thread");
		pthread_join(t, NULL);
		if (n.fd < 0)
			return kumo_error_errno(err, n.err, "port-forward: %s in the pod's network "
						"namespace `%s`", n.step, netns);
		s = n.fd;
	} else {
		s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s < 0)
			return kumo_error_errno(err, errno, "port-forward: socket");
	}
	if (connect(s, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(s);
		return kumo_error_errno(err, e, "connect to %s:%u", ip, port);
	}
	*fd = s;
	return 0;
}
