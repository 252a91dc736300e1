(module
  (type $t (func (param i32) (result i32)))
  (import "env" "f" (func $imp (type $t)))
  (memory (export "mem") 1 2)
  (table $tab 2 funcref)
  (global $g (mut i64) (i64.const 0x7fff_ffff))
  (func $fac (export "fac") (param $n i32) (result i32)
    (if (result i32) (i32.le_s (local.get $n) (i32.const 1))
      (then (i32.const 1))
      (else (i32.mul (local.get $n) (call $fac (i32.sub (local.get $n) (i32.const 1)))))))
  (func (param f64) (result f64) (local $x f32)
    block $b (result f64)
      local.get 0 f64.const 0x1.8p+1 f64.mul
      (br_if $b (i32.const 0))
      f64.const nan:0x4 f64.add
    end)
  (elem (i32.const 0) $fac $imp)
  (data (i32.const 16) "hi\n\u{1F600}\00"))
