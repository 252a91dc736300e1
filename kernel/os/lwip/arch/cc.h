/* kernel/os/lwip/arch/cc.h - lwIP's compiler and platform glue for the freestanding kernel. */
#ifndef KUMO_LWIP_CC_H
#define KUMO_LWIP_CC_H

#include <stddef.h>
#include <stdint.h>

#define LWIP_NO_INTTYPES_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"
#define LWIP_NO_UNISTD_H 1
#define LWIP_ERRNO_STDINCLUDE 0
#define LWIP_PROVIDE_ERRNO 1
#define BYTE_ORDER LITTLE_ENDIAN
#define lwip_htons(x) __builtin_bswap16(x)
#define lwip_htonl(x) __builtin_bswap32(x)

void kumo_lwip_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
#define LWIP_PLATFORM_ASSERT(x) kumo_lwip_assert((x), __FILE__, __LINE__)
#define LWIP_PLATFORM_DIAG(x) do { } while (0)

#endif /* KUMO_LWIP_CC_H */
