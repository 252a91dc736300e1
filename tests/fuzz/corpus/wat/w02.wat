(module (func (param i32) (result i32) (block (result i32) (i32.const 7) (local.get 0) (br_table 0 0 0))) (func $s) (start $s))
