/* tests/apps/app_errname.h - errno names for the test apps (strerror text differs between libcs). */
#ifndef KUMO_APP_ERRNAME_H
#define KUMO_APP_ERRNAME_H
#include <errno.h>

static inline const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EBADF: return "EBADF";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EROFS: return "EROFS";
	case EBUSY: return "EBUSY";
	case ELOOP: return "ELOOP";
	default: return "other";
	}
}
#endif
