/* vmm/archive.c - the snapshot archive (vmm.h "Snapshot archives"): a ustar file with a
 * versioned manifest of sha256 digests, written atomically, verified while unpacked. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vmm_backend.h"

#define MANIFEST_MAX (1u << 20)
#define RECORD_MAX (16u << 20)

/* The snapshot directory's files, in archive order. */
static const char *const vm_files[] = {VMM_SNAPSHOT_VM, VMM_SNAPSHOT_KERNEL_LOG,
				       VMM_SNAPSHOT_KERNEL, VMM_SNAPSHOT_INITRD,
				       VMM_SNAPSHOT_STATE};

static bool safe_name(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 64 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* A member name the format allows: vm/<name> or records/<name>. */
static bool member_name_ok(const char *s)
{
	if (strncmp(s, "vm/", 3) == 0)
		return safe_name(s + 3);
	if (strncmp(s, "records/", 8) == 0)
		return safe_name(s + 8);
	return false;
}

struct member {
	char *name;      /* in the archive */
	char *src;       /* writing: the file it comes from, NULL for a record */
	const void *data;/* writing: a record's bytes */
	uint64_t size;
	char digest[KUMO_DIGEST_BUF];
};

static int add_entry(struct archive *a, const char *name, uint64_t size, kumo_error_t *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_mtime(e, time(NULL), 0);
	int r = archive_write_header(a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return kumo_error(err, KUMO_E_IO, "write `%s`: %s", name, archive_error_string(a));
	return 0;
}

static int write_data(struct archive *a, const char *name, const void *p, size_t n,
		      kumo_error_t *err)
{
	if (n && archive_write_data(a, p, n) != (la_ssize_t)n)
		return kumo_error(err, KUMO_E_IO, "write `%s`: %s", name, archive_error_string(a));
	return 0;
}

static int copy_in(struct archive *a, const struct member *m, kumo_error_t *err)
{
	autoclose int fd = open(m->src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", m->src);
	autofree char *buf = xmalloc(1 << 16);
	uint64_t left = m->size;
	while (left) {
		ssize_t n = read(fd, buf, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return kumo_error(err, KUMO_E_IO, "`%s` changed while it was archived", m->src);
		if ((uint64_t)n > left)
			n = (ssize_t)left;
		if (write_data(a, m->name, buf, (size_t)n, err) < 0)
			return -1;
		left -= (uint64_t)n;
	}
	return 0;
}

static char *utc_now(void)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	char buf[32];
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}

int vmm_archive_write(const char *path, const char *snap_dir, const struct vmm_archive_ids *ids,
		      const struct vmm_archive_record *recs, size_t nrecs, uint64_t *size,
		      kumo_error_t *err)
{
	size_t nvm = sizeof(vm_files) / sizeof(vm_files[0]);
	struct member *m = xzalloc((nvm + nrecs) * sizeof(*m));
	size_t n = 0;
	int ret = -1;
	json_t *man = NULL;
	autofree char *created = NULL, *text = NULL;
	autoclose int fd = -1;
	autofree char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
	struct archive *a = NULL;
	autofree char *vmj = xasprintf("%s/" VMM_SNAPSHOT_VM, snap_dir);
	json_t *vm = json_load_file(vmj, 0, NULL);
	for (size_t i = 0; i < nvm; i++) {
		char *src = xasprintf("%s/%s", snap_dir, vm_files[i]);
		if (access(src, F_OK) != 0 && (strcmp(vm_files[i], VMM_SNAPSHOT_INITRD) == 0 ||
						strcmp(vm_files[i], VMM_SNAPSHOT_STATE) == 0)) {
			/* a VM booted without an initrd; a description without the state
			 * (vmm_snapshot_describe: a live migration sends it) */
			free(src);
			continue;
		}
		m[n] = (struct member){.name = xasprintf("vm/%s", vm_files[i]), .src = src};
		if (kumo_sha256_file(src, m[n].digest, &m[n].size, err) < 0) {
			n++;
			kumo_error_wrap(err, "snapshot `%s`", snap_dir);
			goto out;
		}
		n++;
	}
	for (size_t i = 0; i < nrecs; i++) {
		if (!safe_name(recs[i].name)) {
			kumo_error(err, KUMO_E_INVALID, "record name `%s` is not allowed", recs[i].name);
			goto out;
		}
		m[n] = (struct member){.name = xasprintf("records/%s", recs[i].name),
				       .data = recs[i].data, .size = recs[i].len};
		kumo_sha256(recs[i].data, recs[i].len, m[n].digest);
		n++;
	}
	created = utc_now();
	man = json_pack("{s:s, s:i, s:s, s:s, s:s, s:O, s:O}", "format", VMM_ARCHIVE_FORMAT,
			"version", VMM_ARCHIVE_VERSION, "created", created, "kernel_id",
			ids && ids->kernel_id ? ids->kernel_id : "", "compiler_id",
			ids && ids->compiler_id ? ids->compiler_id : "", "accel",
			json_object_get(vm, "accel") ? json_object_get(vm, "accel") : json_null(),
			"qemu", json_object_get(vm, "qemu") ? json_object_get(vm, "qemu") : json_null());
	json_t *mods = json_array();
	for (size_t i = 0; ids && ids->modules && ids->modules[i]; i++)
		json_array_append_new(mods, json_string(ids->modules[i]));
	json_object_set_new(man, "modules", mods);
	json_t *files = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "name", m[i].name, "size",
						       (json_int_t)m[i].size, "digest", m[i].digest));
	json_object_set_new(man, "files", files);
	text = json_dumps(man, JSON_INDENT(1));
	a = archive_write_new();
	archive_write_set_format_ustar(a);
	archive_write_set_bytes_in_last_block(a, 1); /* no padding to 10 KiB */
	/* 0600: the archive holds the guest's whole memory (its secrets too). */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		kumo_error_errno(err, errno, "create `%s`", tmp);
		goto out;
	}
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		kumo_error(err, KUMO_E_IO, "create `%s`: %s", tmp, archive_error_string(a));
		goto out;
	}
	if (add_entry(a, VMM_ARCHIVE_MANIFEST, strlen(text), err) < 0 ||
	    write_data(a, VMM_ARCHIVE_MANIFEST, text, strlen(text), err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (add_entry(a, m[i].name, m[i].size, err) < 0)
			goto out;
		if (m[i].src ? copy_in(a, &m[i], err) < 0
			     : write_data(a, m[i].name, m[i].data, m[i].size, err) < 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		kumo_error(err, KUMO_E_IO, "write `%s`: %s", tmp, archive_error_string(a));
		goto out;
	}
	if (fsync(fd) < 0) {
		kumo_error_errno(err, errno, "write `%s`", tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		kumo_error_errno(err, errno, "rename `%s` to `%s`", tmp, path);
		goto out;
	}
	struct stat sb;
	if (size)
		*size = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	ret = 0;
out:
	if (a)
		archive_write_free(a);
	if (ret < 0) {
		unlink(tmp);
		kumo_error_wrap(err, "write snapshot archive `%s`", path);
	}
	for (size_t i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].src);
	}
	free(m);
	json_decref(man);
	json_decref(vm);
	return ret;
}

/* ---- reading ------------------------------------------------------------------------ */

void vmm_archive_free(struct vmm_archive *a)
{
	if (!a)
		return;
	free(a->snap_dir);
	free(a->kernel_id);
	free(a->compiler_id);
	free(a->accel);
	free(a->qemu);
	free(a->created);
	for (char **p = a->modules; p && *p; p++)
		free(*p);
	free(a->modules);
	for (size_t i = 0; i < a->nrecords; i++) {
		free((char *)a->records[i].name);
		free((void *)a->records[i].data);
	}
	free(a->records);
	free(a);
}

const struct vmm_archive_record *vmm_archive_record(const struct vmm_archive *a,
						    const char *name)
{
	for (size_t i = 0; i < a->nrecords; i++)
		if (strcmp(a->records[i].name, name) == 0)
			return &a->records[i];
	return NULL;
}

json_t *vmm_archive_record_json(const struct vmm_archive *a, const char *name)
{
	const struct vmm_archive_record *r = vmm_archive_record(a, name);
	return r ? json_loadb(r->data, r->len, 0, NULL) : NULL;
}

static char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? xstrdup(s) : NULL;
}

/* Reads the rest of the current entry into a file (or memory, keep != NULL) while
 * hashing it; fails when libarchive reports the archive cut short. */
static int read_member(struct archive *a, const char *path, const char *name,
		       uint64_t expect_size, char digest[KUMO_DIGEST_BUF], uint8_t **keep,
		       kumo_error_t *err)
{
	autoclose int fd = -1;
	if (!keep) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return kumo_error_errno(err, errno, "create `%s`", path);
	} else {
		*keep = xmalloc(expect_size + 1);
	}
	struct kumo_sha256 *h = kumo_sha256_new();
	autofree char *buf = xmalloc(1 << 16);
	uint64_t got = 0;
	int rc = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, 1 << 16);
		if (n < 0) {
			rc = kumo_error(err, KUMO_E_INVALID, "member `%s` is cut short or damaged: %s",
					name, archive_error_string(a));
			break;
		}
		if (n == 0)
			break;
		if (got + (uint64_t)n > expect_size) {
			rc = kumo_error(err, KUMO_E_INVALID, "member `%s` is longer than its %llu bytes",
					name, (unsigned long long)expect_size);
			break;
		}
		kumo_sha256_update(h, buf, (size_t)n);
		if (keep)
			memcpy(*keep + got, buf, (size_t)n);
		else if (kumo_write_all(fd, buf, (size_t)n) < 0) {
			rc = kumo_error_errno(err, errno, "write `%s`", path);
			break;
		}
		got += (uint64_t)n;
	}
	kumo_sha256_final(h, digest);
	kumo_sha256_free(h);
	if (rc == 0 && got != expect_size)
		rc = kumo_error(err, KUMO_E_INVALID, "member `%s` has %llu bytes, the manifest says "
				"%llu: the archive is truncated", name, (unsigned long long)got,
				(unsigned long long)expect_size);
	if (keep) {
		if (rc < 0) {
			free(*keep);
			*keep = NULL;
		} else {
			(*keep)[got] = 0;
		}
	}
	return rc;
}

static int check_build(const char *path, const char *what, const char *saved, const char *here,
		       kumo_error_t *err)
{
	if (!here || strcmp(saved ? saved : "", here) == 0)
		return 0;
	return kumo_error(err, KUMO_E_PRECONDITION,
			  "snapshot archive `%s` was made with %s build `%s`, this node has `%s`: "
			  "restore refused (the guest kernel in the snapshot speaks its own build's "
			  "host protocol; install the same kumo build, or checkpoint again)",
			  path, what, saved && *saved ? saved : "unknown", here);
}

static int open_into(const char *path, const char *work_dir, const struct vmm_archive_ids *here,
		     struct vmm_archive *out, kumo_error_t *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	struct archive_entry *e;
	json_t *man = NULL;
	int ret = -1;
	autofree uint8_t *mtext = NULL;
	bool *seen = NULL;
	autofree char *vmdir = xasprintf("%s/vm", work_dir);
	autofree char *recdir = xasprintf("%s/records", work_dir);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		if (access(path, R_OK) != 0)
			kumo_error_errno(err, errno, "open `%s`", path);
		else
			kumo_error(err, KUMO_E_INVALID, "`%s` is not a kumo snapshot archive: %s", path,
				   archive_error_string(a));
		goto out;
	}
	int r = archive_read_next_header(a, &e);
	if (r != ARCHIVE_OK || strcmp(archive_entry_pathname(e), VMM_ARCHIVE_MANIFEST) != 0 ||
	    archive_entry_size(e) <= 0 || archive_entry_size(e) > MANIFEST_MAX) {
		kumo_error(err, KUMO_E_INVALID,
			   "`%s` is not a kumo snapshot archive (its first member must be `"
			   VMM_ARCHIVE_MANIFEST "`)%s%s", path, r == ARCHIVE_OK ? "" : ": ",
			   r == ARCHIVE_OK ? "" : archive_error_string(a));
		goto out;
	}
	char mdigest[KUMO_DIGEST_BUF];
	if (read_member(a, NULL, VMM_ARCHIVE_MANIFEST, (uint64_t)archive_entry_size(e), mdigest,
			&mtext, err) < 0)
		goto out;
	json_error_t je;
	man = json_loads((const char *)mtext, 0, &je);
	const char *format = json_string_value(json_object_get(man, "format"));
	if (!man || !format || strcmp(format, VMM_ARCHIVE_FORMAT) != 0) {
		kumo_error(err, KUMO_E_INVALID, "`%s` is not a kumo snapshot archive: its manifest %s",
			   path, man ? "names another format" : je.text);
		goto out;
	}
	json_t *jv = json_object_get(man, "version");
	if (!json_is_integer(jv) || json_integer_value(jv) != VMM_ARCHIVE_VERSION) {
		autofree char *v = json_dumps(jv ? jv : json_null(), JSON_ENCODE_ANY);
		kumo_error(err, KUMO_E_UNSUPPORTED,
			   "snapshot archive `%s` has format version %s, this kumo reads version %d",
			   path, v, VMM_ARCHIVE_VERSION);
		goto out;
	}
	json_t *files = json_object_get(man, "files");
	size_t nfiles = json_array_size(files);
	if (!nfiles || nfiles > 256) {
		kumo_error(err, KUMO_E_INVALID, "snapshot archive `%s`: its manifest lists no files",
			   path);
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		json_t *f = json_array_get(files, i);
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *dg = json_string_value(json_object_get(f, "digest"));
		if (!name || !dg || !json_is_integer(json_object_get(f, "size")) ||
		    json_integer_value(json_object_get(f, "size")) < 0 || !member_name_ok(name)) {
			kumo_error(err, KUMO_E_INVALID,
				   "snapshot archive `%s`: manifest entry %zu is malformed", path, i);
			goto out;
		}
	}
	/* The builds: refused before anything is unpacked. */
	out->kernel_id = jstr(man, "kernel_id");
	out->compiler_id = jstr(man, "compiler_id");
	out->accel = jstr(man, "accel");
	out->qemu = jstr(man, "qemu");
	out->created = jstr(man, "created");
	if (check_build(path, "kernel", out->kernel_id, here ? here->kernel_id : NULL, err) < 0 ||
	    check_build(path, "compiler", out->compiler_id, here ? here->compiler_id : NULL,
			err) < 0)
		goto out;
	json_t *mods = json_object_get(man, "modules");
	out->modules = xzalloc((json_array_size(mods) + 1) * sizeof(char *));
	for (size_t i = 0, k = 0; i < json_array_size(mods); i++)
		if (json_is_string(json_array_get(mods, i)))
			out->modules[k++] = xstrdup(json_string_value(json_array_get(mods, i)));
	if (kumo_mkdir_p(vmdir, 0700, err) < 0 || kumo_mkdir_p(recdir, 0700, err) < 0)
		goto out;
	seen = xzalloc(nfiles * sizeof(bool));
	out->records = xzalloc(nfiles * sizeof(*out->records));
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			kumo_error(err, KUMO_E_INVALID, "snapshot archive `%s` is truncated or damaged: %s",
				   path, archive_error_string(a));
			goto out;
		}
		const char *name = archive_entry_pathname(e);
		size_t i = 0;
		while (i < nfiles && strcmp(json_string_value(json_object_get(json_array_get(files, i),
									     "name")), name) != 0)
			i++;
		if (i == nfiles || seen[i] || archive_entry_filetype(e) != AE_IFREG) {
			kumo_error(err, KUMO_E_INVALID,
				   "snapshot archive `%s`: member `%s` is %s", path, name,
				   i == nfiles ? "not in its manifest"
				   : seen[i]   ? "there twice"
					       : "not a regular file");
			goto out;
		}
		seen[i] = true;
		json_t *f = json_array_get(files, i);
		uint64_t size = (uint64_t)json_integer_value(json_object_get(f, "size"));
		const char *want = json_string_value(json_object_get(f, "digest"));
		char got[KUMO_DIGEST_BUF];
		bool record = strncmp(name, "records/", 8) == 0;
		autofree char *dst = xasprintf("%s/%s", work_dir, name);
		uint8_t *data = NULL;
		if (record && size > RECORD_MAX) {
			kumo_error(err, KUMO_E_INVALID, "snapshot archive `%s`: record `%s` is too large",
				   path, name);
			goto out;
		}
		if (read_member(a, dst, name, size, got, record ? &data : NULL, err) < 0) {
			kumo_error_wrap(err, "snapshot archive `%s`", path);
			goto out;
		}
		if (record)
			out->records[out->nrecords++] =
				(struct vmm_archive_record){xstrdup(name + 8), data, size};
		if (strcmp(got, want) != 0) {
			kumo_error(err, KUMO_E_INVALID,
				   "snapshot archive `%s`: member `%s` has digest %s, its manifest says "
				   "%s: the archive was altered or damaged; refusing it",
				   path, name, got, want);
			goto out;
		}
	}
	for (size_t i = 0; i < nfiles; i++)
		if (!seen[i]) {
			kumo_error(err, KUMO_E_INVALID,
				   "snapshot archive `%s` is truncated: member `%s` is missing", path,
				   json_string_value(json_object_get(json_array_get(files, i), "name")));
			goto out;
		}
	out->snap_dir = xstrdup(vmdir);
	ret = 0;
out:
	free(seen);
	json_decref(man);
	archive_read_free(a);
	return ret;
}

int vmm_archive_open(const char *path, const char *work_dir, const struct vmm_archive_ids *here,
		     struct vmm_archive **out, kumo_error_t *err)
{
	struct vmm_archive *a = xzalloc(sizeof(*a));
	if (kumo_mkdir_p(work_dir, 0700, err) < 0) {
		vmm_archive_free(a);
		return -1;
	}
	if (open_into(path, work_dir, here, a, err) < 0) {
		vmm_archive_free(a);
		autofree char *vmdir = xasprintf("%s/vm", work_dir);
		autofree char *recdir = xasprintf("%s/records", work_dir);
		kumo_rm_tree(vmdir);
		kumo_rm_tree(recdir);
		return -1;
	}
	*out = a;
	return 0;
}
