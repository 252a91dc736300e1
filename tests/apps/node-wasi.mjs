// tests/apps/node-wasi.mjs - runs a wasm32-wasi module under Node's node:wasi with kumo's command line:
//   node node-wasi.mjs [OPTIONS] app.wasm [OPTIONS] [--] [ARGS...]
//   OPTIONS: --dir HOST::GUEST (or --dir DIR), --env K=V; before or after the module
// Exit code: the app's; a trap prints `trap: <message>` on stderr and exits 134 (as kumo).
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import process from 'node:process';

const argv = process.argv.slice(2);
if (argv.length < 1) {
	process.stderr.write('usage: node-wasi.mjs [--dir HOST::GUEST] [--env K=V] app.wasm [--] [ARGS...]\n');
	process.exit(2);
}
let wasmPath;
const preopens = {};
const env = {};
let i = 0;
for (; i < argv.length; i++) {
	const a = argv[i];
	if (a === '--') { i++; break; }
	if (wasmPath === undefined && !a.startsWith('--')) {
		wasmPath = a;
	} else if (a === '--dir' && i + 1 < argv.length) {
		const d = argv[++i];
		const sep = d.indexOf('::');
		if (sep < 0) preopens[d] = d; else preopens[d.slice(sep + 2)] = d.slice(0, sep);
	} else if (a === '--env' && i + 1 < argv.length) {
		const kv = argv[++i];
		const eq = kv.indexOf('=');
		env[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
	} else {
		break;
	}
}
if (wasmPath === undefined) {
	process.stderr.write('node-wasi.mjs: no module given\n');
	process.exit(2);
}
const args = [wasmPath, ...argv.slice(i)];
const wasi = new WASI({ version: 'preview1', args, env, preopens, returnOnExit: true });
let code;
try {
	const mod = await WebAssembly.compile(readFileSync(wasmPath));
	const instance = await WebAssembly.instantiate(mod, wasi.getImportObject());
	code = wasi.start(instance);
} catch (e) {
	process.stderr.write(`trap: ${e && e.message ? e.message : e}\n`);
	code = 134;
}
process.exitCode = code;
