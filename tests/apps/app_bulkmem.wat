;; tests/apps/app_bulkmem.wat - guest test app: memory.fill/copy inside bounds work, then a memory.fill that ends past the memory traps with `out of bounds memory access` and writes nothing.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 64) "bulk ok\n")
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    ;; copy the message to 128, fill 'x' over 200..207 and check the copy
    (memory.copy (i32.const 128) (i32.const 64) (i32.const 8))
    (memory.fill (i32.const 200) (i32.const 120) (i32.const 8))
    (if (i32.ne (i32.load8_u (i32.const 207)) (i32.const 120)) (then (call $proc_exit (i32.const 3))))
    (call $print (i32.const 128) (i32.const 8))
    ;; 65530 + 16 > 65536: traps before writing anything
    (memory.fill (i32.const 65530) (i32.const 1) (i32.const 16))
    (call $proc_exit (i32.const 4))))
