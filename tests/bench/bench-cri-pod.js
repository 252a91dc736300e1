// tests/bench/bench-cri-pod.js - `make bench-cri`'s pod-VM part (issue 16): StartContainer
// -> the container's first CRI log line, for N containers started one after the other
// in ONE pod (after one warm-up container): with kumod's pod VM that is one booted VM and
// N instances in it; with --pod-vm false each container is a VM of its own (booted at
// StartContainer). The first line's time is the one kumod wrote in the CRI log line
// (wall clock, ns), so the client's polling adds nothing; the start is taken on the same
// wall clock just before the call. Each container is waited for (EXITED) and removed
// before the next one. Prints `start-first-line MODE p50 P50 p95 P95` (ms).
// usage: node bench-cri-pod.js SOCKET PROTO LOGDIR IMAGE N MODE
'use strict';
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const [sock, proto, logdir, image, nstr, mode] = process.argv.slice(2);
const N = parseInt(nstr, 10);
const def = loader.loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true });
const v1 = grpc.loadPackageDefinition(def).runtime.v1;
const rs = new v1.RuntimeService('unix://' + sock, grpc.credentials.createInsecure());
const is = new v1.ImageService('unix://' + sock, grpc.credentials.createInsecure());
const call = (svc, m, req) => new Promise((resolve, reject) => {
	svc[m](req, { deadline: Date.now() + 120000 }, (err, resp) => (err ? reject(err) : resolve(resp)));
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const wallMs = () => performance.timeOrigin + performance.now();
// The wall clock of a CRI log line's RFC3339Nano timestamp, in ms (fraction kept).
const lineMs = (line) => {
	const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)/.exec(line);
	if (!m) throw new Error('not a CRI log line: ' + line);
	return Date.parse(m[1] + m[3]) + (m[2] ? parseFloat('0' + m[2]) * 1000 : 0);
};
const firstLine = async (path) => {
	for (let i = 0; i < 60000; i++) {
		let text = '';
		try { text = fs.readFileSync(path, 'utf8'); } catch (e) { /* not yet */ }
		const nl = text.indexOf('\n');
		if (nl >= 0) return lineMs(text.slice(0, nl));
		await sleep(2);
	}
	throw new Error('no log line in ' + path);
};
const pct = (xs, p) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

(async () => {
	await call(is, 'PullImage', { image: { image } });
	fs.mkdirSync(logdir, { recursive: true });
	const pod = (await call(rs, 'RunPodSandbox', { config: {
		metadata: { name: `bench-${mode}`, uid: `bench-${mode}`, namespace: 'bench' },
		log_directory: logdir } })).pod_sandbox_id;
	const lat = [];
	for (let i = -1; i < N; i++) { // i = -1: the warm-up
		const ctr = (await call(rs, 'CreateContainer', { pod_sandbox_id: pod, config: {
			metadata: { name: `c${i + 1}` }, image: { image }, command: ['echo', 'hello'],
			log_path: `c${i + 1}.log` } })).container_id;
		const t0 = wallMs();
		await call(rs, 'StartContainer', { container_id: ctr });
		const t1 = await firstLine(`${logdir}/c${i + 1}.log`);
		if (i >= 0) lat.push(t1 - t0);
		for (let k = 0; k < 6000; k++) {
			const st = await call(rs, 'ContainerStatus', { container_id: ctr });
			if (st.status.state === 'CONTAINER_EXITED') break;
			await sleep(5);
		}
		await call(rs, 'RemoveContainer', { container_id: ctr });
	}
	await call(rs, 'StopPodSandbox', { pod_sandbox_id: pod });
	await call(rs, 'RemovePodSandbox', { pod_sandbox_id: pod });
	console.log(`start-first-line ${mode} p50 ${pct(lat, 50).toFixed(1)} p95 ${pct(lat, 95).toFixed(1)}`);
	process.exit(0);
})().catch((e) => { console.error('bench-cri-pod: ' + e.message); process.exit(1); });
