;; tests/apps/app_tableoob.wat - guest test app: table.get past the end of a table traps with `out of bounds table access`.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table $t 2 funcref)
  (data (i32.const 16) "before table.get\n")
  (func (export "_start")
    ;; iovec {buf=16, len=17} at 0; nwritten at 8
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 17))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (table.get $t (i32.const 2)))))
