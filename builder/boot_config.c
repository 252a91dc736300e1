/* builder/boot_config.c - the boot config as the JSON the kernel reads
 * (kernel/boot_abi.h "The boot config JSON"). */
#include <jansson.h>
#include <stdio.h>

#include "builder/boot_config.h"
#include "kernel/boot_abi.h"

static json_t *strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The "net" object exactly as kernel/boot_abi.h documents it. */
static json_t *net_json(const struct builder_net *n)
{
	json_t *o = json_object();
	if (n->has_mac) {
		char mac[18];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		json_object_set_new(o, "mac", json_string(mac));
	}
	if (n->address)
		json_object_set_new(o, "address", json_string(n->address));
	if (n->gateway && *n->gateway)
		json_object_set_new(o, "gateway", json_string(n->gateway));
	if (n->mtu)
		json_object_set_new(o, "mtu", json_integer(n->mtu));
	json_object_set_new(o, "dns", strv_json(n->dns, n->ndns));
	json_object_set_new(o, "search", strv_json(n->search, n->nsearch));
	if (n->hostname && *n->hostname)
		json_object_set_new(o, "hostname", json_string(n->hostname));
	json_object_set_new(o, "listen", strv_json(n->listen, n->nlisten));
	return o;
}

char *boot_config_json(const struct boot_config *cfg)
{
	json_t *root = json_object();
	json_object_set_new(root, "version", json_integer(KUMO_BOOT_ABI_VERSION));
	json_t *args = json_array();
	for (size_t i = 0; i < cfg->nargs; i++)
		json_array_append_new(args, json_string(cfg->args[i]));
	json_object_set_new(root, "args", args);
	json_t *env = json_array();
	for (size_t i = 0; i < cfg->nenv; i++)
		json_array_append_new(env, json_string(cfg->env[i]));
	json_object_set_new(root, "env", env);
	json_t *pre = json_array();
	for (size_t i = 0; i < cfg->npreopens; i++)
		json_array_append_new(pre, json_pack("{s:s, s:s, s:b}", "guest",
						     cfg->preopens[i].guest, "path",
						     cfg->preopens[i].path, "readonly",
						     cfg->preopens[i].readonly));
	json_object_set_new(root, "preopens", pre);
	if (cfg->nmounts) {
		json_t *mnt = json_array();
		for (size_t i = 0; i < cfg->nmounts; i++) {
			const struct boot_mount *m = &cfg->mounts[i];
			json_t *o = json_pack("{s:s, s:s, s:b}", "path", m->path, "share", m->share,
					      "readonly", m->readonly);
			if (m->entry)
				json_object_set_new(o, "entry", json_string(m->entry));
			json_array_append_new(mnt, o);
		}
		json_object_set_new(root, "mounts", mnt);
	}
	if (cfg->stack_size)
		json_object_set_new(root, "stack_size", json_integer((json_int_t)cfg->stack_size));
	if (cfg->seed_hex)
		json_object_set_new(root, "seed", json_string(cfg->seed_hex));
	if (cfg->net)
		json_object_set_new(root, "net", net_json(cfg->net));
	if (cfg->nfiles) {
		json_t *files = json_array();
		for (size_t i = 0; i < cfg->nfiles; i++)
			json_array_append_new(files, json_pack("{s:s, s:b, s:b}", "path",
							       cfg->files[i].path, "readonly",
							       cfg->files[i].readonly, "copy_back",
							       cfg->files[i].copy_back));
		json_object_set_new(root, "files", files);
	}
	if (cfg->pod_name)
		json_object_set_new(root, "pod", json_pack("{s:s}", "name", cfg->pod_name));
	char *text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	if (!text)
		abort(); /* jansson only fails on allocation or invalid UTF-8 we never give it */
	return text;
}
