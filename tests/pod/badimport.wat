;; tests/pod/badimport.wat - a module importing what no kernel provides: its object must
;; be refused at CREATE with "unsupported import `env.foo`".
(module
  (import "env" "foo" (func $foo))
  (func (export "_start") call $foo))
