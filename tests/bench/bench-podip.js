// tests/bench/bench-podip.js - `make bench-cri`'s pod-IP figure: RunPodSandbox until the
// pod's IP is in PodSandboxStatus, N times in a row, over one @grpc/grpc-js channel, on
// any CRI runtime (kumod, or containerd on the same network list).
// usage: node bench-podip.js SOCKET PROTO LOGDIR N NAME
// Prints each run's milliseconds, then `NAME-podip-median-ms X`.
'use strict';
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const [sock, proto, logdir, nstr, name] = process.argv.slice(2);
const N = parseInt(nstr, 10);
const def = loader.loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true });
const v1 = grpc.loadPackageDefinition(def).runtime.v1;
const rs = new v1.RuntimeService('unix://' + sock, grpc.credentials.createInsecure());
const call = (m, req) => new Promise((resolve, reject) => {
	rs[m](req, { deadline: Date.now() + 120000 }, (err, resp) => (err ? reject(err) : resolve(resp)));
});
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

// One pod: RunPodSandbox, then its IP; returns [ms, ip, id].
async function podIp(i) {
	const t0 = now();
	const id = (await call('RunPodSandbox', { config: {
		metadata: { name: `podip${i}`, uid: `podip-uid-${i}`, namespace: 'bench' },
		log_directory: `${logdir}/podip${i}`, linux: {} } })).pod_sandbox_id;
	const st = await call('PodSandboxStatus', { pod_sandbox_id: id });
	const ip = st.status && st.status.network ? st.status.network.ip : '';
	const ms = now() - t0;
	if (!ip)
		throw new Error(`pod ${id} has no IP`);
	return [ms, ip, id];
}

(async () => {
	const [, , w] = await podIp('warm'); // warm the runtime (and containerd's pause image)
	await call('StopPodSandbox', { pod_sandbox_id: w });
	await call('RemovePodSandbox', { pod_sandbox_id: w });
	const ms = [];
	for (let i = 0; i < N; i++) {
		const [m, ip, id] = await podIp(i);
		ms.push(m);
		console.log(`${name} run ${i + 1}: ${m.toFixed(1)} ms, ip ${ip}`);
		await call('StopPodSandbox', { pod_sandbox_id: id });
		await call('RemovePodSandbox', { pod_sandbox_id: id });
	}
	const s = [...ms].sort((a, b) => a - b);
	const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
	console.log(`${name}-podip-median-ms ${med.toFixed(1)} (min ${s[0].toFixed(1)}, max ${s[s.length - 1].toFixed(1)})`);
	process.exit(0);
})().catch((e) => { console.error(`bench-podip (${name}): ${e.message}`); process.exit(1); });
