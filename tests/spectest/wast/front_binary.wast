;; tests/spectest/wast/front_binary.wast - binary-format errors the decoder must refuse.
(module binary "\00asm" "\01\00\00\00")
(assert_malformed (module binary "") "unexpected end")
(assert_malformed (module binary "\00asm") "unexpected end")
(assert_malformed (module binary "\00asx\01\00\00\00") "magic header not detected")
(assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")
;; section size runs past the end
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\05\01\60\00\00") "unexpected end")
;; section holds more than it declares to parse
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\05\01\60\00\00\00") "section size mismatch")
;; duplicate type section
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\01\00" "\01\01\00") "unexpected content after last section")
;; data count section after code section
(assert_malformed (module binary "\00asm\01\00\00\00" "\0a\01\00" "\0c\01\00") "unexpected content after last section")
;; custom sections may appear anywhere
(module binary "\00asm\01\00\00\00" "\00\02\01a" "\01\01\00" "\00\02\01b" "\0a\01\00" "\00\01\00")
(assert_malformed (module binary "\00asm\01\00\00\00" "\0d\01\00") "malformed section id")
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\04\01\60\00\00" "\03\02\01\00") "function and code section have inconsistent lengths")
(assert_malformed (module binary "\00asm\01\00\00\00" "\0a\01\01") "function and code section have inconsistent lengths")
(assert_malformed (module binary "\00asm\01\00\00\00" "\05\03\01\00\01" "\0c\01\02" "\0b\01\00") "data count and data section have inconsistent lengths")
(assert_malformed (module binary "\00asm\01\00\00\00" "\0c\01\01") "data count and data section have inconsistent lengths")
;; invalid UTF-8 in an export name (overlong '/'), in a custom section name (surrogate)
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\04\01\60\00\00" "\03\02\01\00" "\07\06\01\02\c0\af\00\00" "\0a\04\01\02\00\0b") "malformed UTF-8 encoding")
(assert_malformed (module binary "\00asm\01\00\00\00" "\00\04\03\ed\a0\80") "malformed UTF-8 encoding")
;; LEB128: too long, too large
(assert_malformed (module binary "\00asm\01\00\00\00" "\05\08\01\00\80\80\80\80\80\00") "integer representation too long")
(assert_malformed (module binary "\00asm\01\00\00\00" "\05\07\01\00\80\80\80\80\70") "integer too large")
(assert_malformed (module binary "\00asm\01\00\00\00" "\06\09\01\7f\00\41\80\80\80\80\70\0b") "integer too large")
;; too many locals
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\04\01\60\00\00" "\03\02\01\00" "\0a\0c\01\0a\02\ff\ff\ff\ff\0f\7f\02\7e\0b") "too many locals")
;; function body without its final end
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\04\01\60\00\00" "\03\02\01\00" "\0a\04\01\02\00\01") "unexpected end")
;; bad value type, bad mutability, bad element kind, bad data segment kind
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\05\01\60\01\7a\00") "malformed value type")
(assert_malformed (module binary "\00asm\01\00\00\00" "\06\06\01\7f\02\41\00\0b") "malformed mutability")
(assert_malformed (module binary "\00asm\01\00\00\00" "\09\04\01\08\00\00") "malformed elements segment kind")
(assert_malformed (module binary "\00asm\01\00\00\00" "\05\03\01\00\01" "\0b\04\01\03\00\00") "malformed data segment kind")
;; memory.size needs a zero byte
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\05\01\60\00\01\7f" "\03\02\01\00" "\05\03\01\00\01" "\0a\06\01\04\00\3f\01\0b") "zero byte expected")
;; illegal opcode
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\04\01\60\00\00" "\03\02\01\00" "\0a\05\01\03\00\ff\0b") "illegal opcode")
;; memory.init without a data count section
(assert_malformed (module binary "\00asm\01\00\00\00" "\01\04\01\60\00\00" "\03\02\01\00" "\05\03\01\00\01"
  "\0a\0e\01\0c\00\41\00\41\00\41\00\fc\08\00\00\0b" "\0b\04\01\01\01\61") "data count section required")
;; all eight element segment encodings and three data segment encodings decode
(module
  (table $t 4 funcref) (table $e 2 externref) (memory 1)
  (func $f) (func $g)
  (elem (i32.const 0) $f)
  (elem func $f $g)
  (elem (table $t) (i32.const 1) func $g)
  (elem declare func $f)
  (elem (i32.const 2) funcref (ref.func $f) (ref.null func))
  (elem funcref (ref.null func))
  (elem (table $e) (i32.const 0) externref (ref.null extern))
  (elem declare funcref (ref.func $g))
  (data (i32.const 0) "a")
  (data "b")
  (data (memory 0) (i32.const 1) "c"))
