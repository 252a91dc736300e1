/* kernel/wasi/wasi_funcs.h - prototypes of the 46 wasi_snapshot_preview1 functions
 * and of the WasmEdge socket extension (same module) under their import symbols (compiler/abi.h's KUMO_WASI_SYM). Each returns a WASI
 * errno (proc_exit does not return). Parameters follow the witx, pointers are guest
 * addresses. */
#ifndef KUMO_WASI_FUNCS_H
#define KUMO_WASI_FUNCS_H

#include <stdint.h>

#include "compiler/abi.h"

typedef struct kumo_vmctx wvm;
typedef uint32_t u32;
typedef uint64_t u64;

u32 KUMO_WASI_SYM(8, args_get, ii_i)(wvm *vm, u32 argv, u32 argv_buf);
u32 KUMO_WASI_SYM(14, args_sizes_get, ii_i)(wvm *vm, u32 argc, u32 argv_buf_size);
u32 KUMO_WASI_SYM(11, environ_get, ii_i)(wvm *vm, u32 environ, u32 environ_buf);
u32 KUMO_WASI_SYM(17, environ_sizes_get, ii_i)(wvm *vm, u32 count, u32 buf_size);
u32 KUMO_WASI_SYM(13, clock_res_get, ii_i)(wvm *vm, u32 id, u32 res);
u32 KUMO_WASI_SYM(14, clock_time_get, ili_i)(wvm *vm, u32 id, u64 precision, u32 time);
u32 KUMO_WASI_SYM(9, fd_advise, illi_i)(wvm *vm, u32 fd, u64 offset, u64 len, u32 advice);
u32 KUMO_WASI_SYM(11, fd_allocate, ill_i)(wvm *vm, u32 fd, u64 offset, u64 len);
u32 KUMO_WASI_SYM(8, fd_close, i_i)(wvm *vm, u32 fd);
u32 KUMO_WASI_SYM(11, fd_datasync, i_i)(wvm *vm, u32 fd);
u32 KUMO_WASI_SYM(13, fd_fdstat_get, ii_i)(wvm *vm, u32 fd, u32 stat);
u32 KUMO_WASI_SYM(19, fd_fdstat_set_flags, ii_i)(wvm *vm, u32 fd, u32 flags);
u32 KUMO_WASI_SYM(20, fd_fdstat_set_rights, ill_i)(wvm *vm, u32 fd, u64 base, u64 inheriting);
u32 KUMO_WASI_SYM(15, fd_filestat_get, ii_i)(wvm *vm, u32 fd, u32 buf);
u32 KUMO_WASI_SYM(20, fd_filestat_set_size, il_i)(wvm *vm, u32 fd, u64 size);
u32 KUMO_WASI_SYM(21, fd_filestat_set_times, illi_i)(wvm *vm, u32 fd, u64 atim, u64 mtim,
						     u32 fst_flags);
u32 KUMO_WASI_SYM(8, fd_pread, iiili_i)(wvm *vm, u32 fd, u32 iovs, u32 iovs_len, u64 offset,
					u32 nread);
u32 KUMO_WASI_SYM(14, fd_prestat_get, ii_i)(wvm *vm, u32 fd, u32 buf);
u32 KUMO_WASI_SYM(19, fd_prestat_dir_name, iii_i)(wvm *vm, u32 fd, u32 path, u32 path_len);
u32 KUMO_WASI_SYM(9, fd_pwrite, iiili_i)(wvm *vm, u32 fd, u32 iovs, u32 iovs_len, u64 offset,
					 u32 nwritten);
u32 KUMO_WASI_SYM(7, fd_read, iiii_i)(wvm *vm, u32 fd, u32 iovs, u32 iovs_len, u32 nread);
u32 KUMO_WASI_SYM(10, fd_readdir, iiili_i)(wvm *vm, u32 fd, u32 buf, u32 buf_len, u64 cookie,
					   u32 bufused);
u32 KUMO_WASI_SYM(11, fd_renumber, ii_i)(wvm *vm, u32 fd, u32 to);
u32 KUMO_WASI_SYM(7, fd_seek, ilii_i)(wvm *vm, u32 fd, u64 offset, u32 whence, u32 newoffset);
u32 KUMO_WASI_SYM(7, fd_sync, i_i)(wvm *vm, u32 fd);
u32 KUMO_WASI_SYM(7, fd_tell, ii_i)(wvm *vm, u32 fd, u32 offset);
u32 KUMO_WASI_SYM(8, fd_write, iiii_i)(wvm *vm, u32 fd, u32 iovs, u32 iovs_len, u32 nwritten);
u32 KUMO_WASI_SYM(21, path_create_directory, iii_i)(wvm *vm, u32 fd, u32 path, u32 path_len);
u32 KUMO_WASI_SYM(17, path_filestat_get, iiiii_i)(wvm *vm, u32 fd, u32 flags, u32 path,
						  u32 path_len, u32 buf);
u32 KUMO_WASI_SYM(23, path_filestat_set_times, iiiilli_i)(wvm *vm, u32 fd, u32 flags, u32 path,
							  u32 path_len, u64 atim, u64 mtim,
							  u32 fst_flags);
u32 KUMO_WASI_SYM(9, path_link, iiiiiii_i)(wvm *vm, u32 old_fd, u32 old_flags, u32 old_path,
					   u32 old_len, u32 new_fd, u32 new_path, u32 new_len);
u32 KUMO_WASI_SYM(9, path_open, iiiiillii_i)(wvm *vm, u32 fd, u32 dirflags, u32 path,
					     u32 path_len, u32 oflags, u64 rights_base,
					     u64 rights_inheriting, u32 fdflags, u32 opened);
u32 KUMO_WASI_SYM(13, path_readlink, iiiiii_i)(wvm *vm, u32 fd, u32 path, u32 path_len, u32 buf,
					       u32 buf_len, u32 bufused);
u32 KUMO_WASI_SYM(21, path_remove_directory, iii_i)(wvm *vm, u32 fd, u32 path, u32 path_len);
u32 KUMO_WASI_SYM(11, path_rename, iiiiii_i)(wvm *vm, u32 fd, u32 old_path, u32 old_len,
					     u32 new_fd, u32 new_path, u32 new_len);
u32 KUMO_WASI_SYM(12, path_symlink, iiiii_i)(wvm *vm, u32 old_path, u32 old_len, u32 fd,
					     u32 new_path, u32 new_len);
u32 KUMO_WASI_SYM(16, path_unlink_file, iii_i)(wvm *vm, u32 fd, u32 path, u32 path_len);
u32 KUMO_WASI_SYM(11, poll_oneoff, iiii_i)(wvm *vm, u32 in, u32 out, u32 nsubs, u32 nevents);
__attribute__((noreturn)) void KUMO_WASI_SYM(9, proc_exit, i_)(wvm *vm, u32 code);
u32 KUMO_WASI_SYM(10, proc_raise, i_i)(wvm *vm, u32 sig);
u32 KUMO_WASI_SYM(11, sched_yield, _i)(wvm *vm);
u32 KUMO_WASI_SYM(10, random_get, ii_i)(wvm *vm, u32 buf, u32 buf_len);
u32 KUMO_WASI_SYM(11, sock_accept, iii_i)(wvm *vm, u32 fd, u32 flags, u32 fd_out);
u32 KUMO_WASI_SYM(9, sock_recv, iiiiii_i)(wvm *vm, u32 fd, u32 ri_data, u32 ri_data_len,
					  u32 ri_flags, u32 ro_datalen, u32 ro_flags);
u32 KUMO_WASI_SYM(9, sock_send, iiiii_i)(wvm *vm, u32 fd, u32 si_data, u32 si_data_len,
					 u32 si_flags, u32 so_datalen);
u32 KUMO_WASI_SYM(13, sock_shutdown, ii_i)(wvm *vm, u32 fd, u32 how);

/* The WasmEdge socket extension (kernel/wasi/wasi_sock.c). */
u32 KUMO_WASI_SYM(9, sock_open, iii_i)(wvm *vm, u32 af, u32 type, u32 ro_fd);
u32 KUMO_WASI_SYM(9, sock_bind, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port);
u32 KUMO_WASI_SYM(11, sock_listen, ii_i)(wvm *vm, u32 fd, u32 backlog);
u32 KUMO_WASI_SYM(11, sock_accept, ii_i)(wvm *vm, u32 fd, u32 ro_fd);
u32 KUMO_WASI_SYM(12, sock_connect, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port);
u32 KUMO_WASI_SYM(14, sock_recv_from, iiiiiii_i)(wvm *vm, u32 fd, u32 ri, u32 ri_len, u32 addr,
						 u32 flags, u32 ro_len, u32 ro_flags);
u32 KUMO_WASI_SYM(14, sock_recv_from, iiiiiiii_i)(wvm *vm, u32 fd, u32 ri, u32 ri_len,
						  u32 addr, u32 flags, u32 port, u32 ro_len,
						  u32 ro_flags);
u32 KUMO_WASI_SYM(12, sock_send_to, iiiiiii_i)(wvm *vm, u32 fd, u32 si, u32 si_len, u32 addr,
					       u32 port, u32 flags, u32 so_len);
u32 KUMO_WASI_SYM(17, sock_getlocaladdr, iiii_i)(wvm *vm, u32 fd, u32 addr, u32 type, u32 port);
u32 KUMO_WASI_SYM(16, sock_getpeeraddr, iiii_i)(wvm *vm, u32 fd, u32 addr, u32 type, u32 port);
u32 KUMO_WASI_SYM(15, sock_setsockopt, iiiii_i)(wvm *vm, u32 fd, u32 level, u32 name, u32 flag,
						u32 flag_size);
u32 KUMO_WASI_SYM(15, sock_getsockopt, iiiii_i)(wvm *vm, u32 fd, u32 level, u32 name, u32 flag,
						u32 flag_size_ptr);
u32 KUMO_WASI_SYM(16, sock_getaddrinfo, iiiiiiii_i)(wvm *vm, u32 node, u32 node_len,
						    u32 service, u32 service_len, u32 hints,
						    u32 res, u32 max_res, u32 res_len);
u32 KUMO_WASI_SYM(12, sock_open_v2, iii_i)(wvm *vm, u32 af, u32 type, u32 ro_fd);
u32 KUMO_WASI_SYM(12, sock_bind_v2, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port);
u32 KUMO_WASI_SYM(14, sock_listen_v2, ii_i)(wvm *vm, u32 fd, u32 backlog);
u32 KUMO_WASI_SYM(14, sock_accept_v2, iii_i)(wvm *vm, u32 fd, u32 flags, u32 ro_fd);
u32 KUMO_WASI_SYM(15, sock_connect_v2, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port);
u32 KUMO_WASI_SYM(12, sock_recv_v2, iiiiii_i)(wvm *vm, u32 fd, u32 ri, u32 ri_len, u32 flags,
					      u32 ro_len, u32 ro_flags);
u32 KUMO_WASI_SYM(17, sock_recv_from_v2, iiiiiiii_i)(wvm *vm, u32 fd, u32 ri, u32 ri_len,
						     u32 addr, u32 flags, u32 port, u32 ro_len,
						     u32 ro_flags);
u32 KUMO_WASI_SYM(12, sock_send_v2, iiiii_i)(wvm *vm, u32 fd, u32 si, u32 si_len, u32 flags,
					     u32 so_len);
u32 KUMO_WASI_SYM(15, sock_send_to_v2, iiiiiii_i)(wvm *vm, u32 fd, u32 si, u32 si_len,
						  u32 addr, u32 port, u32 flags, u32 so_len);
u32 KUMO_WASI_SYM(20, sock_getlocaladdr_v2, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port);
u32 KUMO_WASI_SYM(19, sock_getpeeraddr_v2, iii_i)(wvm *vm, u32 fd, u32 addr, u32 port);

#endif /* KUMO_WASI_FUNCS_H */
