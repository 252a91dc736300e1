// tests/e2e/cri-node.js - an independent CRI client (@grpc/grpc-js + @grpc/proto-loader,
// not kumo code) talking to kumod on the test backend: checks that our gRPC transport,
// status codes and wire format agree with another implementation.
// usage: node cri-node.js SOCKET PROTO LOGDIR   (NODE_PATH points at the npm modules)
'use strict';
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const [sock, proto, logdir] = process.argv.slice(2);
const def = loader.loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true });
const v1 = grpc.loadPackageDefinition(def).runtime.v1;
const rs = new v1.RuntimeService('unix://' + sock, grpc.credentials.createInsecure());
const is = new v1.ImageService('unix://' + sock, grpc.credentials.createInsecure());
let passed = 0, failed = 0;
const check = (name, cond, detail) => {
	if (cond) { passed++; console.log('ok   ' + name); }
	else { failed++; console.log('FAIL ' + name + (detail ? ': ' + detail : '')); }
};
const call = (svc, m, req) => new Promise((resolve) => {
	svc[m](req, { deadline: Date.now() + 20000 }, (err, resp) => resolve({ err, resp }));
});

(async () => {
	let r = await call(rs, 'Version', { version: 'v1' });
	check('Version', !r.err && r.resp.runtime_name === 'kumo' && r.resp.runtime_api_version === 'v1',
	      r.err && r.err.message);
	r = await call(rs, 'Status', {});
	check('Status conditions', !r.err && r.resp.status.conditions.length === 2);
	r = await call(is, 'PullImage', { image: { image: 'example.com/app:v1' } });
	check('PullImage', !r.err && /^sha256:/.test(r.resp.image_ref));
	r = await call(rs, 'RunPodSandbox', { config: {
		metadata: { name: 'node', uid: 'node-uid', namespace: 'js', attempt: 1 },
		log_directory: logdir, labels: { from: 'node' }, annotations: { a: 'b' } } });
	check('RunPodSandbox', !r.err, r.err && r.err.message);
	const pod = r.resp && r.resp.pod_sandbox_id;
	// Events: subscribe, then create and start; expect CREATED then STARTED for it.
	const events = [];
	const stream = rs.GetContainerEvents({});
	stream.on('data', (e) => events.push(e));
	stream.on('error', () => {});
	await new Promise((res) => setTimeout(res, 300));
	r = await call(rs, 'CreateContainer', { pod_sandbox_id: pod, config: {
		metadata: { name: 'c' }, image: { image: 'example.com/app:v1' },
		command: ['echo', 'from', 'node'], log_path: 'c.log',
		envs: [{ key: 'K', value: Buffer.from('v') }] }, sandbox_config: {} });
	check('CreateContainer', !r.err, r.err && r.err.message);
	const ctr = r.resp && r.resp.container_id;
	r = await call(rs, 'StartContainer', { container_id: ctr.slice(0, 12) });
	check('StartContainer by prefix', !r.err, r.err && r.err.message);
	let st;
	for (let i = 0; i < 200; i++) {
		st = await call(rs, 'ContainerStatus', { container_id: ctr });
		if (!st.err && st.resp.status.state === 'CONTAINER_EXITED') break;
		await new Promise((res) => setTimeout(res, 50));
	}
	check('ContainerStatus exited 0', !st.err && st.resp.status.state === 'CONTAINER_EXITED' &&
	      st.resp.status.exit_code === 0 && st.resp.status.reason === 'Completed');
	check('nanosecond timestamps as int64', !st.err && /^\d{19}$/.test(st.resp.status.started_at));
	for (let i = 0; i < 100 && events.length < 3; i++) await new Promise((res) => setTimeout(res, 50));
	const mine = events.filter((e) => e.container_id === ctr).map((e) => e.container_event_type);
	check('events stream', mine[0] === 'CONTAINER_CREATED_EVENT' && mine[1] === 'CONTAINER_STARTED_EVENT',
	      JSON.stringify(mine));
	check('event carries the pod status', events.length > 0 && events[0].pod_sandbox_status &&
	      events[0].pod_sandbox_status.id === pod);
	stream.cancel();
	r = await call(rs, 'ListPodSandbox', { filter: { label_selector: { from: 'node' } } });
	check('ListPodSandbox label selector', !r.err && r.resp.items.length === 1 &&
	      r.resp.items[0].labels.from === 'node' && r.resp.items[0].metadata.attempt === 1);
	r = await call(rs, 'ContainerStatus', { container_id: 'ffffffff' });
	check('NotFound code', r.err && r.err.code === grpc.status.NOT_FOUND, r.err && r.err.code);
	r = await call(rs, 'RunPodSandbox', {});
	check('InvalidArgument code', r.err && r.err.code === grpc.status.INVALID_ARGUMENT);
	r = await call(rs, 'ExecSync', { container_id: ctr, cmd: ['sh'] });
	check('FailedPrecondition code with a message (exec in an exited container)',
	      r.err && r.err.code === grpc.status.FAILED_PRECONDITION && /not running/.test(r.err.details));
	r = await call(rs, 'UpdatePodSandboxResources', { pod_sandbox_id: pod });
	check('Unimplemented code with a message', r.err && r.err.code === grpc.status.UNIMPLEMENTED &&
	      /resize/.test(r.err.details));
	r = await call(rs, 'RemovePodSandbox', { pod_sandbox_id: pod });
	check('RemovePodSandbox', !r.err);
	console.log(`cri-node: ${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
})();
