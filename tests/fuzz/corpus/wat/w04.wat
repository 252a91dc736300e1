(func (export "f") (result f32) (f32.const -0x1.fffffep127))
(global i32 (i32.const -2147483648))
