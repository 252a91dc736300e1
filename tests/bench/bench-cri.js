// tests/bench/bench-cri.js - `make bench-cri`: CRI latencies of kumod over its socket,
// driven by @grpc/grpc-js on one channel (as kubelet holds one connection).
// usage: node bench-cri.js SOCKET PROTO LOGDIR IMAGE N [create]
// Per pod (sequential, warm image cache): RunPodSandbox + CreateContainer +
// StartContainer -> first log line, StartContainer -> first log line, and
// StopPodSandbox + RemovePodSandbox; then N pods started in parallel.
// With `create`: CreateContainer alone, N times after one warm-up (the image pulled
// and compiled, the kernel image linked), each in a pod of its own, the container
// removed again unstarted; prints the client's round trip (`create-rtt-ms P50`),
// bench-cri.sh reads the handler's own time from kumod's log.
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
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const firstLine = (path) => new Promise((resolve, reject) => {
	const t0 = Date.now();
	const poll = () => {
		let ok = false;
		try { ok = fs.readFileSync(path, 'utf8').includes('\n'); } catch (e) { /* not yet */ }
		if (ok) return resolve(now());
		if (Date.now() - t0 > 120000) return reject(new Error('no log line in ' + path));
		setImmediate(poll);
	};
	poll();
});
const pct = (xs, p) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const fmt = (x) => x.toFixed(1);

async function onePod(i, tag) {
	const dir = `${logdir}/${tag}${i}`;
	fs.mkdirSync(dir, { recursive: true });
	const t0 = now();
	const pod = (await call(rs, 'RunPodSandbox', { config: {
		metadata: { name: `${tag}${i}`, uid: `${tag}-uid-${i}`, namespace: 'bench' },
		log_directory: dir } })).pod_sandbox_id;
	const ctr = (await call(rs, 'CreateContainer', { pod_sandbox_id: pod, config: {
		metadata: { name: 'c' }, image: { image }, command: ['echo', 'hello'],
		log_path: 'c.log' } })).container_id;
	const t1 = now();
	await call(rs, 'StartContainer', { container_id: ctr });
	const t2 = await firstLine(`${dir}/c.log`);
	return { pod, total: t2 - t0, start: t2 - t1 };
}

async function teardown(pod) {
	const t0 = now();
	await call(rs, 'StopPodSandbox', { pod_sandbox_id: pod });
	await call(rs, 'RemovePodSandbox', { pod_sandbox_id: pod });
	return now() - t0;
}

async function createOnly() {
	const rtt = [];
	for (let i = -1; i < N; i++) { // i = -1: the warm-up
		const dir = `${logdir}/create${i}`;
		fs.mkdirSync(dir, { recursive: true });
		const pod = (await call(rs, 'RunPodSandbox', { config: {
			metadata: { name: `create${i}`, uid: `create-uid-${i}`, namespace: 'bench' },
			log_directory: dir } })).pod_sandbox_id;
		const t0 = now();
		const ctr = (await call(rs, 'CreateContainer', { pod_sandbox_id: pod, config: {
			metadata: { name: 'c' }, image: { image }, command: ['echo', 'hello'],
			log_path: 'c.log' } })).container_id;
		if (i >= 0) rtt.push(now() - t0);
		await call(rs, 'RemoveContainer', { container_id: ctr });
		await teardown(pod);
	}
	console.log(`create-rtt-ms ${fmt(pct(rtt, 50))}`);
}

(async () => {
	await call(is, 'PullImage', { image: { image } }); // warm cache
	if (mode === 'create') {
		await createOnly();
		process.exit(0);
	}
	const w = await onePod(0, 'warm');                   // warm kumod and the backend
	await teardown(w.pod);
	const total = [], start = [], down = [];
	for (let i = 0; i < N; i++) {
		const r = await onePod(i, 'seq');
		total.push(r.total);
		start.push(r.start);
		down.push(await teardown(r.pod));
	}
	const t0 = now();
	const par = await Promise.all([...Array(N).keys()].map((i) => onePod(i, 'par')));
	const parWall = now() - t0;
	for (const r of par) await teardown(r.pod);
	console.log(`runp+create+start -> first log line: p50 ${fmt(pct(total, 50))} ms, p95 ${fmt(pct(total, 95))} ms`);
	console.log(`start -> first log line:             p50 ${fmt(pct(start, 50))} ms, p95 ${fmt(pct(start, 95))} ms`);
	console.log(`stopp+rmp:                           p50 ${fmt(pct(down, 50))} ms, p95 ${fmt(pct(down, 95))} ms`);
	console.log(`${N} pods in parallel to first log line: ${fmt(parWall)} ms wall`);
	console.log(`cri-start-p50-ms ${Math.round(pct(start, 50))}`);
	process.exit(0);
})().catch((e) => { console.error('bench-cri: ' + e.message); process.exit(1); });
