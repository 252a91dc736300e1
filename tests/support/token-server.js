// tests/support/token-server.js - a tiny docker token server on 127.0.0.1 for registry tests:
// anonymous requests get pull access to repositories under "public/", the test user gets
// pull,push everywhere; tokens are RS256 JWTs with the signing certificate in x5c.
// usage: node token-server.js PORT KEY.pem CERT.pem USER PASS
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');

const [port, keyPath, certPath, user, pass] = process.argv.slice(2);
const key = crypto.createPrivateKey(fs.readFileSync(keyPath));
const certPem = fs.readFileSync(certPath, 'utf8');
const certDer = new crypto.X509Certificate(certPem).raw.toString('base64');
const b64url = (b) => Buffer.from(b).toString('base64url');
let issued = 0;

function grant(scope, authed) {
	// scope = repository:NAME:ACTIONS
	const m = /^repository:([^:]+):(.+)$/.exec(scope || '');
	if (!m) return [];
	const want = m[2].split(',');
	const allowed = authed ? want : want.filter((a) => a === 'pull' && m[1].startsWith('public/'));
	return allowed.length ? [{ type: 'repository', name: m[1], actions: allowed }] : [];
}

http.createServer((req, res) => {
	const url = new URL(req.url, 'http://x');
	if (url.pathname !== '/token') { res.writeHead(404); res.end(); return; }
	let authed = false;
	const h = req.headers.authorization || '';
	if (h.startsWith('Basic ')) {
		const [u, p] = Buffer.from(h.slice(6), 'base64').toString().split(/:(.*)/s);
		if (u !== user || p !== pass) { res.writeHead(401); res.end('{"errors":[{"message":"bad credentials"}]}'); return; }
		authed = true;
	}
	const now = Math.floor(Date.now() / 1000);
	const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer] };
	const claims = {
		iss: 'kumo-token', sub: authed ? user : '', aud: url.searchParams.get('service'),
		exp: now + 300, nbf: now - 10, iat: now, jti: String(++issued),
		access: url.searchParams.getAll('scope').flatMap((s) => grant(s, authed)),
	};
	const input = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(claims));
	const sig = crypto.sign('sha256', Buffer.from(input), key);
	const token = input + '.' + b64url(sig);
	process.stdout.write(`token ${authed ? 'user' : 'anonymous'} ${JSON.stringify(claims.access)}\n`);
	res.writeHead(200, { 'Content-Type': 'application/json' });
	res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
}).listen(Number(port), '127.0.0.1');
