// tests/bench/bench-execsync.js - `make bench-cri`'s ExecSync figure: one pod, one
// long-running container, then ExecSync of a command in it N times in a row (after one
// warm-up: an image's module compiled, a runtime's binaries cached), over one
// @grpc/grpc-js channel, on any CRI runtime (kumod's pod VM, or containerd + runc).
// usage: node bench-execsync.js SOCKET PROTO LOGDIR IMAGE N NAME CTR_CMD_JSON EXEC_CMD_JSON
// Each call must end with exit code 0. Prints each call's milliseconds, then
// `NAME-execsync-median-ms X (min A, max B)`.
'use strict';
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const [sock, proto, logdir, image, nstr, name, ctrCmd, execCmd] = process.argv.slice(2);
const N = parseInt(nstr, 10);
const def = loader.loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true });
const v1 = grpc.loadPackageDefinition(def).runtime.v1;
const rs = new v1.RuntimeService('unix://' + sock, grpc.credentials.createInsecure());
const is = new v1.ImageService('unix://' + sock, grpc.credentials.createInsecure());
const call = (svc, m, req) => new Promise((resolve, reject) => {
	svc[m](req, { deadline: Date.now() + 120000 }, (err, resp) => (err ? reject(err) : resolve(resp)));
});
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function execOnce(ctr) {
	const t0 = now();
	const r = await call(rs, 'ExecSync', { container_id: ctr, cmd: JSON.parse(execCmd), timeout: 60 });
	const ms = now() - t0;
	if (r.exit_code !== 0)
		throw new Error(`exit code ${r.exit_code}: ${r.stderr.toString()}`);
	return ms;
}

(async () => {
	await call(is, 'PullImage', { image: { image } });
	const pod = (await call(rs, 'RunPodSandbox', { config: {
		metadata: { name: `exec-${name}`, uid: `exec-uid-${name}`, namespace: 'bench' },
		log_directory: logdir, linux: {} } })).pod_sandbox_id;
	const ctr = (await call(rs, 'CreateContainer', { pod_sandbox_id: pod, config: {
		metadata: { name: 'c' }, image: { image }, command: JSON.parse(ctrCmd),
		log_path: 'c.log', linux: {} }, sandbox_config: {
		metadata: { name: `exec-${name}`, uid: `exec-uid-${name}`, namespace: 'bench' },
		log_directory: logdir, linux: {} } })).container_id;
	await call(rs, 'StartContainer', { container_id: ctr });
	for (let i = 0; i < 600; i++) {
		const st = await call(rs, 'ContainerStatus', { container_id: ctr });
		if (st.status.state === 'CONTAINER_RUNNING')
			break;
		await sleep(100);
	}
	await execOnce(ctr); // the warm-up
	const ms = [];
	for (let i = 0; i < N; i++) {
		const m = await execOnce(ctr);
		ms.push(m);
		console.log(`${name} ExecSync ${i + 1}: ${m.toFixed(1)} ms`);
	}
	await call(rs, 'StopPodSandbox', { pod_sandbox_id: pod });
	await call(rs, 'RemovePodSandbox', { pod_sandbox_id: pod });
	const s = [...ms].sort((a, b) => a - b);
	const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
	console.log(`${name}-execsync-median-ms ${med.toFixed(1)} (min ${s[0].toFixed(1)}, max ${s[s.length - 1].toFixed(1)})`);
	process.exit(0);
})().catch((e) => { console.error(`bench-execsync (${name}): ${e.message}`); process.exit(1); });
