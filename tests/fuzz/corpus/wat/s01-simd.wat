(module
  (memory 1)
  (global $g (mut v128) (v128.const f32x4 1 -0 inf nan))
  (func (export "f") (param v128 i32) (result v128)
    (global.set $g (f32x4.min (global.get $g) (local.get 0)))
    (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31
      (v128.load8_lane offset=3 5 (local.get 1) (local.get 0))
      (i32x4.trunc_sat_f32x4_u (global.get $g)))))
