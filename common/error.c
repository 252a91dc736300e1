/* common/error.c - the error object every host module fills and wraps. */
#include <errno.h>
#include <string.h>

#include "common.h"

static int verror(kumo_error_t *err, int status, int errnum, const char *fmt, va_list ap)
{
	if (err == NULL || *err != NULL)
		return -1;
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	if (errnum) {
		char *full = xasprintf("%s: %s", msg, strerror(errnum));
		free(msg);
		msg = full;
	}
	struct kumo_error *e = xzalloc(sizeof(*e));
	e->status = status;
	e->errnum = errnum;
	e->msg = msg;
	*err = e;
	return -1;
}

int kumo_error(kumo_error_t *err, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(err, status, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int kumo_error_errno(kumo_error_t *err, int errnum, const char *fmt, ...)
{
	int status = KUMO_E_IO;
	if (errnum == ENOENT)
		status = KUMO_E_NOT_FOUND;
	else if (errnum == EEXIST)
		status = KUMO_E_EXISTS;
	else if (errnum == EACCES || errnum == EPERM)
		status = KUMO_E_PERMISSION;
	else if (errnum == EINVAL)
		status = KUMO_E_INVALID;
	va_list ap;
	va_start(ap, fmt);
	verror(err, status, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int kumo_error_wrap(kumo_error_t *err, const char *fmt, ...)
{
	if (err == NULL || *err == NULL)
		return -1;
	char *ctx = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		abort();
	va_end(ap);
	char *full = xasprintf("%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = full;
	return -1;
}

void kumo_error_free(kumo_error_t *err)
{
	if (err == NULL || *err == NULL)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}

const char *kumo_error_msg(kumo_error_t err)
{
	return err ? err->msg : "";
}
