;; tests/apps/app_starttrap.wat - guest test app: a trap in the module's start function (before _start runs) is still the Wasm trap.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "_start ran\n")
  (func $init
    ;; an integer divide by zero in the start function
    (drop (i32.div_u (i32.const 1) (i32.const 0))))
  (start $init)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 11))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
