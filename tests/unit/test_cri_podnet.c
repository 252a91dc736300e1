/* tests/unit/test_cri_podnet.c - the pod network stage (cri/pod_network.c) without any
 * plugin running: the default list a fresh node gets and kubelet's CIDR rewriting it
 * (dual-stack and IPv6-only CIDRs too), NetworkReady's reason and message, the bandwidth
 * annotations read as containerd reads them, a hostNetwork pod, and the error codes
 * RunPodSandbox gets from a node without a network list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri/backend.h"

static char dir[] = "/tmp/kumo-test-podnet-XXXXXX";

static void sh(const char *fmt, const char *a)
{
	autofree char *cmd = xasprintf(fmt, a);
	if (system(cmd) != 0)
		fail_msg("`%s` failed", cmd);
}

/* The default list's subnet in conf (NULL when there is none). */
static char *subnet(const char *conf)
{
	autofree char *path = xasprintf("%s/99-kumo.conflist", conf);
	json_t *j = json_load_file(path, 0, NULL);
	const char *s = json_string_value(json_object_get(json_array_get(json_array_get(
		json_object_get(json_object_get(json_array_get(json_object_get(j, "plugins"), 0),
						"ipam"), "ranges"), 0), 0), "subnet"));
	char *out = s ? xstrdup(s) : NULL;
	json_decref(j);
	return out;
}

static struct cri_podnet *stage(const char *conf, const char *bins)
{
	autofree char *root = xasprintf("%s/root", dir);
	autofree char *netns = xasprintf("%s/netns", dir);
	struct cri_net_options o = {.cni_conf_dir = conf, .cni_bin_dirs = bins, .netns_dir = netns,
				    .pod_cidr = "10.77.0.0/24"};
	struct cri_podnet *s = NULL;
	assert_int_equal(cri_podnet_new(root, &o, &s), 0);
	return s;
}

static void test_default_list(void **state)
{
	(void)state;
	autofree char *conf = xasprintf("%s/net.d", dir);
	autofree char *bins = xasprintf("%s/nobins", dir);
	struct cri_podnet *s = stage(conf, bins);
	autofree char *s1 = subnet(conf);
	assert_non_null(s1);
	assert_string_equal(s1, "10.77.0.0/24"); /* pod_cidr until kubelet sends one */
	kumo_error_t err = NULL;
	assert_int_equal(s->ops->update_cidr(s, "10.244.3.0/24,fd00:10:244:3::/64", &err), 0);
	autofree char *s2 = subnet(conf);
	assert_string_equal(s2, "10.244.3.0/24"); /* the IPv4 range of a dual-stack node */
	assert_int_equal(s->ops->update_cidr(s, "fd00:10:244:3::/64", &err), 0);
	autofree char *s3 = subnet(conf);
	assert_string_equal(s3, "10.244.3.0/24"); /* no IPv4 range: kept */
	assert_int_equal(s->ops->update_cidr(s, "not-a-cidr", &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	assert_non_null(strstr(kumo_error_msg(err), "not-a-cidr"));
	kumo_error_free(&err);
	/* A list of the cluster's own: kubelet's CIDR no longer touches ours. */
	sh("echo '{\"cniVersion\":\"1.0.0\",\"name\":\"c\",\"plugins\":[{\"type\":\"ptp\"}]}' "
	   ">%s/10-cluster.conflist", conf);
	assert_int_equal(s->ops->update_cidr(s, "10.9.0.0/24", &err), 0);
	autofree char *s4 = subnet(conf);
	assert_string_equal(s4, "10.244.3.0/24");
	/* Its plugin is on no path: not ready, saying which and why. */
	char *reason = NULL, *message = NULL;
	assert_false(s->ops->ready(s, &reason, &message));
	assert_string_equal(reason, "NetworkPluginNotReady");
	assert_non_null(strstr(message, "plugin `ptp` is not in the plugin path"));
	free(reason);
	free(message);
	s->ops->destroy(s);
}

/* setup's error for pod annotations ann_in/ann_eg (NULL: none), or NULL on success. */
static kumo_error_t setup_err(struct cri_podnet *s, const char *in, const char *eg)
{
	struct cri_pod_spec pod = {.id = "podq", .name = "q", .namespace = "n", .uid = "u",
				   .ingress_bandwidth = in, .egress_bandwidth = eg};
	char *ip = NULL;
	kumo_error_t err = NULL;
	if (s->ops->setup(s, &pod, &ip, &err) == 0)
		free(ip);
	return err;
}

static void test_bandwidth_and_errors(void **state)
{
	(void)state;
	autofree char *conf = xasprintf("%s/empty.d", dir);
	autofree char *bins = xasprintf("%s/nobins", dir);
	struct cri_podnet *s = stage(conf, bins);
	/* The stage wrote the default list; take it away: a node without a network. */
	sh("rm -f %s/99-kumo.conflist", conf);
	static const struct {
		const char *value;  /* the annotation */
		const char *says;   /* NULL: accepted (the error is then the missing list) */
	} cases[] = {
		{"10M", NULL},        {"1.5M", NULL},      {"1Ki", NULL},     {"1e6", NULL},
		{"1k", NULL},         {"1P", NULL},        {"10", "unreasonably small (< 1kbit)"},
		{"999", "unreasonably small"}, {"2P", "unreasonably large (> 1Pbit)"},
		{"abc", "is not a quantity"}, {"-5M", "is not a quantity"}, {"5MB", "is not a quantity"},
		{"", "is not a quantity"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int way = 0; way < 2; way++) {
			kumo_error_t err = setup_err(s, way ? NULL : cases[i].value,
						     way ? cases[i].value : NULL);
			assert_non_null(err);
			if (cases[i].says) {
				if (err->status != KUMO_E_INVALID || !strstr(err->msg, cases[i].says) ||
				    !strstr(err->msg, way ? "kubernetes.io/egress-bandwidth"
							  : "kubernetes.io/ingress-bandwidth"))
					fail_msg("`%s`: %s", cases[i].value, err->msg);
			} else if (err->status != KUMO_E_UNAVAILABLE ||
				   !strstr(err->msg, "no network configuration in")) {
				/* Accepted: it got as far as the (missing) network list. */
				fail_msg("`%s`: %s", cases[i].value, err->msg);
			}
			kumo_error_free(&err);
		}
	}
	/* hostNetwork: no network at all, so nothing to fail on. */
	struct cri_pod_spec hn = {.id = "podh", .name = "h", .namespace = "n", .host_network = true};
	char *ip = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(s->ops->setup(s, &hn, &ip, &err), 0);
	assert_string_equal(ip, "");
	free(ip);
	/* Teardown of a pod never set up is fine. */
	assert_int_equal(s->ops->teardown(s, "podnever", &err), 0);
	s->ops->destroy(s);
}

static int setup_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	sh("rm -rf %s", dir);
	return 0;
}

int main(void)
{
	kumo_log_set_level(3);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_list),
		cmocka_unit_test(test_bandwidth_and_errors),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
