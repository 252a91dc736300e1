/* kernel/wasi/wasi_abi.h - WASI preview1 constants and guest struct layouts, from
 * wasi_snapshot_preview1.witx. Self-contained, freestanding. */
#ifndef KUMO_WASI_ABI_H
#define KUMO_WASI_ABI_H

#include <stdint.h>

/* errno */
enum {
	WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EADDRINUSE = 3,
	WASI_EADDRNOTAVAIL = 4, WASI_EAFNOSUPPORT = 5, WASI_EAGAIN = 6, WASI_EALREADY = 7,
	WASI_EBADF = 8, WASI_EBADMSG = 9, WASI_EBUSY = 10, WASI_ECANCELED = 11,
	WASI_ECHILD = 12, WASI_ECONNABORTED = 13, WASI_ECONNREFUSED = 14,
	WASI_ECONNRESET = 15, WASI_EDEADLK = 16, WASI_EDESTADDRREQ = 17, WASI_EDOM = 18,
	WASI_EDQUOT = 19, WASI_EEXIST = 20, WASI_EFAULT = 21, WASI_EFBIG = 22,
	WASI_EHOSTUNREACH = 23, WASI_EIDRM = 24, WASI_EILSEQ = 25, WASI_EINPROGRESS = 26,
	WASI_EINTR = 27, WASI_EINVAL = 28, WASI_EIO = 29, WASI_EISCONN = 30,
	WASI_EISDIR = 31, WASI_ELOOP = 32, WASI_EMFILE = 33, WASI_EMLINK = 34,
	WASI_EMSGSIZE = 35, WASI_EMULTIHOP = 36, WASI_ENAMETOOLONG = 37,
	WASI_ENETDOWN = 38, WASI_ENETRESET = 39, WASI_ENETUNREACH = 40, WASI_ENFILE = 41,
	WASI_ENOBUFS = 42, WASI_ENODEV = 43, WASI_ENOENT = 44, WASI_ENOEXEC = 45,
	WASI_ENOLCK = 46, WASI_ENOLINK = 47, WASI_ENOMEM = 48, WASI_ENOMSG = 49,
	WASI_ENOPROTOOPT = 50, WASI_ENOSPC = 51, WASI_ENOSYS = 52, WASI_ENOTCONN = 53,
	WASI_ENOTDIR = 54, WASI_ENOTEMPTY = 55, WASI_ENOTRECOVERABLE = 56,
	WASI_ENOTSOCK = 57, WASI_ENOTSUP = 58, WASI_ENOTTY = 59, WASI_ENXIO = 60,
	WASI_EOVERFLOW = 61, WASI_EOWNERDEAD = 62, WASI_EPERM = 63, WASI_EPIPE = 64,
	WASI_EPROTO = 65, WASI_EPROTONOSUPPORT = 66, WASI_EPROTOTYPE = 67,
	WASI_ERANGE = 68, WASI_EROFS = 69, WASI_ESPIPE = 70, WASI_ESRCH = 71,
	WASI_ESTALE = 72, WASI_ETIMEDOUT = 73, WASI_ETXTBSY = 74, WASI_EXDEV = 75,
	WASI_ENOTCAPABLE = 76,
};

/* filetype */
enum {
	WASI_FILETYPE_UNKNOWN = 0, WASI_FILETYPE_BLOCK_DEVICE = 1,
	WASI_FILETYPE_CHARACTER_DEVICE = 2, WASI_FILETYPE_DIRECTORY = 3,
	WASI_FILETYPE_REGULAR_FILE = 4, WASI_FILETYPE_SOCKET_DGRAM = 5,
	WASI_FILETYPE_SOCKET_STREAM = 6, WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

/* rights */
#define WASI_RIGHT_FD_DATASYNC (1ull << 0)
#define WASI_RIGHT_FD_READ (1ull << 1)
#define WASI_RIGHT_FD_SEEK (1ull << 2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define WASI_RIGHT_FD_SYNC (1ull << 4)
#define WASI_RIGHT_FD_TELL (1ull << 5)
#define WASI_RIGHT_FD_WRITE (1ull << 6)
#define WASI_RIGHT_FD_ADVISE (1ull << 7)
#define WASI_RIGHT_FD_ALLOCATE (1ull << 8)
#define WASI_RIGHT_PATH_CREATE_DIRECTORY (1ull << 9)
#define WASI_RIGHT_PATH_CREATE_FILE (1ull << 10)
#define WASI_RIGHT_PATH_LINK_SOURCE (1ull << 11)
#define WASI_RIGHT_PATH_LINK_TARGET (1ull << 12)
#define WASI_RIGHT_PATH_OPEN (1ull << 13)
#define WASI_RIGHT_FD_READDIR (1ull << 14)
#define WASI_RIGHT_PATH_READLINK (1ull << 15)
#define WASI_RIGHT_PATH_RENAME_SOURCE (1ull << 16)
#define WASI_RIGHT_PATH_RENAME_TARGET (1ull << 17)
#define WASI_RIGHT_PATH_FILESTAT_GET (1ull << 18)
#define WASI_RIGHT_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define WASI_RIGHT_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define WASI_RIGHT_FD_FILESTAT_GET (1ull << 21)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE (1ull << 22)
#define WASI_RIGHT_FD_FILESTAT_SET_TIMES (1ull << 23)
#define WASI_RIGHT_PATH_SYMLINK (1ull << 24)
#define WASI_RIGHT_PATH_REMOVE_DIRECTORY (1ull << 25)
#define WASI_RIGHT_PATH_UNLINK_FILE (1ull << 26)
#define WASI_RIGHT_POLL_FD_READWRITE (1ull << 27)
#define WASI_RIGHT_SOCK_SHUTDOWN (1ull << 28)
#define WASI_RIGHT_SOCK_ACCEPT (1ull << 29)
#define WASI_RIGHTS_ALL ((1ull << 30) - 1)

/* fdflags, oflags, lookupflags, fstflags */
#define WASI_FDFLAG_APPEND 0x1
#define WASI_FDFLAG_DSYNC 0x2
#define WASI_FDFLAG_NONBLOCK 0x4
#define WASI_FDFLAG_RSYNC 0x8
#define WASI_FDFLAG_SYNC 0x10
#define WASI_OFLAG_CREAT 0x1
#define WASI_OFLAG_DIRECTORY 0x2
#define WASI_OFLAG_EXCL 0x4
#define WASI_OFLAG_TRUNC 0x8
#define WASI_LOOKUP_SYMLINK_FOLLOW 0x1
#define WASI_FSTFLAG_ATIM 0x1
#define WASI_FSTFLAG_ATIM_NOW 0x2
#define WASI_FSTFLAG_MTIM 0x4
#define WASI_FSTFLAG_MTIM_NOW 0x8

enum { WASI_WHENCE_SET = 0, WASI_WHENCE_CUR = 1, WASI_WHENCE_END = 2 };
enum {
	WASI_CLOCK_REALTIME = 0, WASI_CLOCK_MONOTONIC = 1,
	WASI_CLOCK_PROCESS_CPUTIME = 2, WASI_CLOCK_THREAD_CPUTIME = 3,
};
enum {
	WASI_ADVICE_NORMAL = 0, WASI_ADVICE_SEQUENTIAL = 1, WASI_ADVICE_RANDOM = 2,
	WASI_ADVICE_WILLNEED = 3, WASI_ADVICE_DONTNEED = 4, WASI_ADVICE_NOREUSE = 5,
};
enum { WASI_EVENTTYPE_CLOCK = 0, WASI_EVENTTYPE_FD_READ = 1, WASI_EVENTTYPE_FD_WRITE = 2 };
#define WASI_SUBCLOCK_ABSTIME 0x1
#define WASI_EVENT_FD_READWRITE_HANGUP 0x1
#define WASI_PREOPENTYPE_DIR 0
#define WASI_SDFLAG_RD 0x1
#define WASI_SDFLAG_WR 0x2
#define WASI_RIFLAG_RECV_PEEK 0x1
#define WASI_RIFLAG_RECV_WAITALL 0x2
#define WASI_ROFLAG_RECV_DATA_TRUNCATED 0x1

/* The WasmEdge socket extension (also in module wasi_snapshot_preview1), values as in
 * WasmEdge's thirdparty/wasi/api.hpp. */
enum { WE_AF_UNSPEC = 0, WE_AF_INET4 = 1, WE_AF_INET6 = 2, WE_AF_UNIX = 3 };
enum { WE_SOCK_ANY = 0, WE_SOCK_DGRAM = 1, WE_SOCK_STREAM = 2 };
enum { WE_PROTO_IP = 0, WE_PROTO_TCP = 1, WE_PROTO_UDP = 2 };
#define WE_SOL_SOCKET 0
enum {
	WE_SO_REUSEADDR = 0, WE_SO_TYPE = 1, WE_SO_ERROR = 2, WE_SO_DONTROUTE = 3,
	WE_SO_BROADCAST = 4, WE_SO_SNDBUF = 5, WE_SO_RCVBUF = 6, WE_SO_KEEPALIVE = 7,
	WE_SO_OOBINLINE = 8, WE_SO_LINGER = 9, WE_SO_RCVLOWAT = 10, WE_SO_RCVTIMEO = 11,
	WE_SO_SNDTIMEO = 12, WE_SO_ACCEPTCONN = 13, WE_SO_BINDTODEVICE = 14,
};
#define WE_AI_PASSIVE 0x1
#define WE_AI_CANONNAME 0x2
#define WE_AI_NUMERICHOST 0x4
#define WE_AI_NUMERICSERV 0x8
#define WE_AI_V4MAPPED 0x10
#define WE_AI_ALL 0x20
#define WE_AI_ADDRCONFIG 0x40
/* getaddrinfo errnos WasmEdge adds after WASI's. */
enum {
	WE_EAI_ADDRFAMILY = 77, WE_EAI_AGAIN = 78, WE_EAI_BADFLAGS = 79, WE_EAI_FAIL = 80,
	WE_EAI_FAMILY = 81, WE_EAI_MEMORY = 82, WE_EAI_NODATA = 83, WE_EAI_NONAME = 84,
	WE_EAI_SERVICE = 85, WE_EAI_SOCKTYPE = 86, WE_EAI_SYSTEM = 87,
};
/* getlocaladdr/getpeeraddr (V1) report the family as 4 or 6, not WE_AF_*. */
#define WE_ADDR_TYPE_V1_INET4 4
#define WE_ADDR_TYPE_V1_INET6 6

/* Guest struct sizes and field offsets (little-endian, wasm32). */
#define WASI_IOVEC_SIZE 8        /* buf u32 @0, buf_len u32 @4 */
#define WASI_FDSTAT_SIZE 24      /* filetype u8 @0, flags u16 @2, rights u64 @8, inh u64 @16 */
#define WASI_FILESTAT_SIZE 64    /* dev @0 ino @8 filetype u8 @16 nlink @24 size @32
                                  * atim @40 mtim @48 ctim @56 */
#define WASI_DIRENT_SIZE 24      /* d_next @0 d_ino @8 d_namlen u32 @16 d_type u8 @20 */
#define WASI_PRESTAT_SIZE 8      /* tag u8 @0, pr_name_len u32 @4 */
#define WASI_SUBSCRIPTION_SIZE 48 /* userdata @0 tag u8 @8; clock: id u32 @16 timeout @24
                                   * precision @32 flags u16 @40; fd: fd u32 @16 */
#define WASI_EVENT_SIZE 32       /* userdata @0 error u16 @8 type u8 @10 nbytes @16
                                  * flags u16 @24 */
/* WasmEdge: */
#define WE_ADDRESS_SIZE 8        /* buf u32 @0, buf_len u32 @4; buf_len 4 = an IPv4 address,
                                  * 16 = IPv6, 128 = storage: family u16 @0, address @2 */
#define WE_ADDR_STORAGE_SIZE 128
#define WE_ADDRINFO_SIZE 28      /* ai_flags u16 @0 ai_family u8 @2 ai_socktype u8 @3
                                  * ai_protocol u8 @4 ai_addrlen u32 @8 ai_addr u32 @12
                                  * ai_canonname u32 @16 ai_canonname_len u32 @20
                                  * ai_next u32 @24 */
#define WE_SOCKADDR_SIZE 12      /* sa_family u8 @0 sa_data_len u32 @4 sa_data u32 @8;
                                  * sa_data = a Linux sockaddr after its family: port
                                  * (big-endian) then address (INET: 14 bytes, INET6: 26) */

#endif /* KUMO_WASI_ABI_H */
