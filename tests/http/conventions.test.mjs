// The conventions every API answer follows (issue 7), end to end through
// lighttpd: ETag + If-None-Match -> 304 (also with gzip), gzip where the
// client accepts it, CORS off by default and on for configured origins
// (FLIGHTDECK_CORS_ORIGINS), Location on every 201, Retry-After on 429/503,
// Allow on every 405 of every API route, and X-Request-Id.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer, ROOT, parseForms } from '../lib/server.mjs';
import { createSession, append } from '../lib/fixtures.mjs';

const CLI = path.resolve(ROOT, process.env.FD_CLI || 'build/san/flightdeck');
const ROUTES = JSON.parse(execFileSync(CLI, ['routes'], { encoding: 'utf8' }));

/** A request without fetch's automatic decompression: {status, headers, body: Buffer}. */
function raw(srv, method, p, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(srv.url + p, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const ACA = (headers) => Object.keys(headers).filter((k) => k.startsWith('access-control-'));

describe('conventions (CORS off, the default)', () => {
  let srv, admin, runtime, sid;
  before(async () => {
    srv = await startServer();
    admin = await srv.token('admin');
    runtime = await srv.token('runtime');
    // A finished session: a running one's duration runs with the clock, so
    // its answer (and tag) changes from one millisecond to the next.
    const s = await createSession(srv, runtime, { agent: 'etag-agent', name: 'ETag session', prompt: 'p'.repeat(400) });
    sid = s.id;
    await append(srv, runtime, sid, { events: [{ type: 'user_message', content: 'hello '.repeat(100) }, { type: 'thought', content: 'hmm' },
      { type: 'status', status: 'completed', response: 'done' }] });
  });
  after(async () => {
    await srv?.stop();
  });

  describe('ETag and If-None-Match', () => {
    for (const [what, url] of [
      ['the sessions list', () => '/api/v1/sessions?limit=10&status=completed'],
      ['one session', () => `/api/v1/sessions/${sid}?include=events`],
      ['its events', () => `/api/v1/sessions/${sid}/events`],
      ['the tasks', () => '/api/v1/tasks'],
      ['healthz', () => '/healthz'],
    ]) {
      it(`${what}: a strong ETag; the same answer twice has the same tag; If-None-Match -> 304 without a body`, async () => {
        const a = await raw(srv, 'GET', url(), { authorization: `Bearer ${admin}` });
        assert.equal(a.status, 200);
        const tag = a.headers.etag;
        assert.match(tag || '', /^"[0-9a-f]{32}"$/, 'a strong, quoted tag (no W/)');
        assert.equal(a.headers['cache-control'], 'private, no-cache');
        const b = await raw(srv, 'GET', url(), { authorization: `Bearer ${admin}` });
        assert.equal(b.headers.etag, tag, 'unchanged resource, same tag');
        const c = await raw(srv, 'GET', url(), { authorization: `Bearer ${admin}`, 'if-none-match': tag });
        assert.equal(c.status, 304);
        assert.equal(c.body.length, 0, 'no body');
        assert.equal(c.headers.etag, tag, 'the 304 names the tag');
        assert.equal(c.headers['content-length'] ?? '0', '0');
        // Weak comparison, lists, and "*".
        for (const inm of [`W/${tag}`, `"nope", ${tag}`, '*']) {
          const d = await raw(srv, 'GET', url(), { authorization: `Bearer ${admin}`, 'if-none-match': inm });
          assert.equal(d.status, 304, `If-None-Match: ${inm}`);
        }
        const e = await raw(srv, 'GET', url(), { authorization: `Bearer ${admin}`, 'if-none-match': '"0123456789abcdef0123456789abcdef"' });
        assert.equal(e.status, 200, 'another tag: the full answer');
        const h = await raw(srv, 'HEAD', url(), { authorization: `Bearer ${admin}`, 'if-none-match': tag });
        assert.equal(h.status, 304, 'HEAD too');
      });
    }

    it('a changed resource gets a new ETag, and the old tag no longer gives 304', async () => {
      const url = `/api/v1/sessions/${sid}`;
      const before1 = await raw(srv, 'GET', url, { authorization: `Bearer ${admin}` });
      const evs1 = await raw(srv, 'GET', `${url}/events`, { authorization: `Bearer ${admin}` });
      const list1 = await raw(srv, 'GET', '/api/v1/sessions?status=completed', { authorization: `Bearer ${admin}` });
      const put = await srv.api('PUT', `${url}/report`, { token: runtime, json: { summary: 'a change' } });
      assert.equal(put.status, 200);
      await append(srv, runtime, sid, { type: 'log', severity: 'info', body: 'a change' });
      await append(srv, runtime, sid, { type: 'thought', content: 'a change' });
      const after1 = await raw(srv, 'GET', url, { authorization: `Bearer ${admin}`, 'if-none-match': before1.headers.etag });
      assert.equal(after1.status, 200);
      assert.notEqual(after1.headers.etag, before1.headers.etag);
      const evs2 = await raw(srv, 'GET', `${url}/events`, { authorization: `Bearer ${admin}`, 'if-none-match': evs1.headers.etag });
      assert.equal(evs2.status, 200);
      assert.notEqual(evs2.headers.etag, evs1.headers.etag);
      const list2 = await raw(srv, 'GET', '/api/v1/sessions?status=completed', { authorization: `Bearer ${admin}`, 'if-none-match': list1.headers.etag });
      assert.equal(list2.status, 200, 'the list shows the new updated_at');
      assert.notEqual(list2.headers.etag, list1.headers.etag);
    });

    it('only successful GETs carry an ETag: not a POST, not an error, not a page', async () => {
      const post = await srv.api('POST', `/api/v1/sessions/${sid}/events`, { token: runtime, json: { type: 'thought', content: 'x' } });
      assert.equal(post.status, 200);
      assert.equal(post.headers.get('etag'), null);
      const nf = await srv.api('GET', '/api/v1/sessions/nope', { token: admin });
      assert.equal(nf.status, 404);
      assert.equal(nf.headers.get('etag'), null);
      const page = await srv.fetch('/login');
      assert.equal(page.headers.get('etag'), null);
    });
  });

  describe('gzip (the app\'s cached copies, else lighttpd mod_deflate)', () => {
    it('an API answer is gzipped when the client accepts it, and gunzips to the same JSON', async () => {
      const plain = await raw(srv, 'GET', `/api/v1/sessions/${sid}/events`, { authorization: `Bearer ${admin}` });
      assert.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: identity');
      const gz = await raw(srv, 'GET', `/api/v1/sessions/${sid}/events`, { authorization: `Bearer ${admin}`, 'accept-encoding': 'gzip' });
      assert.equal(gz.status, 200);
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.match(gz.headers.vary || '', /Accept-Encoding/i);
      assert.ok(gz.body.length < plain.body.length, `compressed ${gz.body.length} < ${plain.body.length}`);
      const text = zlib.gunzipSync(gz.body).toString('utf8');
      assert.equal(text, plain.body.toString('utf8'));
      assert.ok(Array.isArray(JSON.parse(text).data));
    });

    it('ETag/304 still work with gzip: the compressed copy has its own tag, and either tag gives 304', async () => {
      const url = `/api/v1/sessions/${sid}`;
      const plain = await raw(srv, 'GET', url, { authorization: `Bearer ${admin}` });
      const gz = await raw(srv, 'GET', url, { authorization: `Bearer ${admin}`, 'accept-encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(gz.headers.etag, plain.headers.etag.replace(/"$/, '-gzip"'), 'the compressed copy is marked');
      const r1 = await raw(srv, 'GET', url, { authorization: `Bearer ${admin}`, 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag });
      assert.equal(r1.status, 304);
      assert.equal(r1.body.length, 0);
      assert.equal(r1.headers.etag, gz.headers.etag, 'the 304 names the tag the client holds');
      const r2 = await raw(srv, 'GET', url, { authorization: `Bearer ${admin}`, 'accept-encoding': 'gzip', 'if-none-match': plain.headers.etag });
      assert.equal(r2.status, 304);
      const r3 = await raw(srv, 'GET', url, { authorization: `Bearer ${admin}`, 'if-none-match': gz.headers.etag });
      assert.equal(r3.status, 304);
    });

    it('pages, CSS, JavaScript and SVG are gzipped too; tiny answers are not', async () => {
      for (const [p, type] of [['/login', /^text\/html/], ['/static/app.css', /^text\/css/], ['/static/app.js', /javascript/], ['/api/v1/openapi.json', /^application\/json/]]) {
        const r = await raw(srv, 'GET', p, { 'accept-encoding': 'gzip' });
        assert.equal(r.status, 200, p);
        assert.match(r.headers['content-type'], type, p);
        assert.equal(r.headers['content-encoding'], 'gzip', p);
        assert.ok(zlib.gunzipSync(r.body).length > 0);
      }
      const tiny = await raw(srv, 'GET', '/healthz', { 'accept-encoding': 'gzip' });
      assert.equal(tiny.headers['content-encoding'], undefined, 'under deflate.min-compress-size');
    });
  });

  describe('CORS is off', () => {
    it('no Access-Control-* header on any answer, even to an Origin; OPTIONS is 405 with Allow', async () => {
      const origin = 'https://app.example.com';
      const get = await raw(srv, 'GET', '/api/v1/sessions', { authorization: `Bearer ${admin}`, origin });
      assert.equal(get.status, 200);
      assert.deepEqual(ACA(get.headers), []);
      assert.doesNotMatch(get.headers.vary || '', /Origin/);
      const pre = await raw(srv, 'OPTIONS', '/api/v1/sessions', { origin, 'access-control-request-method': 'POST' });
      assert.equal(pre.status, 405);
      assert.equal(pre.headers.allow, 'GET, HEAD, POST');
      assert.deepEqual(ACA(pre.headers), []);
    });
  });

  describe('Location on every 201', () => {
    it('a created session names its URL, which answers with it', async () => {
      const r = await srv.api('POST', '/api/v1/sessions', { token: runtime, json: { agent: 'loc' } });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('location'), `/api/v1/sessions/${r.json.id}`);
      const g = await srv.api('GET', r.headers.get('location'), { token: admin });
      assert.equal(g.status, 200);
      assert.equal(g.json.id, r.json.id);
    });
    it('an uploaded artifact names its URL, which answers with it', async () => {
      const r = await srv.api('POST', `/api/v1/sessions/${sid}/artifacts`, { token: runtime, json: { name: 'a.txt', content_base64: 'aGk=' } });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('location'), `/api/v1/sessions/${sid}/artifacts/${r.json.id}`);
      const g = await srv.api('GET', r.headers.get('location'), { token: admin });
      assert.equal(g.status, 200);
      assert.equal(g.json.content_base64, 'aGk=');
    });
    it('a recorded eval run names its URL: the list page holding just that run', async () => {
      const r = await srv.api('POST', `/api/v1/sessions/${sid}/evals`, { token: runtime, json: { eval_id: 'e1' } });
      assert.equal(r.status, 201);
      const loc = r.headers.get('location');
      assert.ok(loc, 'Location on 201');
      const g = await srv.api('GET', loc, { token: admin });
      assert.equal(g.status, 200);
      assert.deepEqual(g.json.data.map((e) => e.id), [r.json.id]);
    });
    it('appended log lines name their URL: the log page holding exactly them', async () => {
      const r = await srv.api('POST', `/api/v1/sessions/${sid}/logs`, { token: runtime, json: { logs: [{ body: 'line one' }, { body: 'line two' }] } });
      assert.equal(r.status, 201);
      const loc = r.headers.get('location');
      assert.ok(loc, 'Location on 201');
      const g = await srv.api('GET', loc, { token: admin });
      assert.equal(g.status, 200);
      assert.deepEqual(g.json.data.map((l) => l.body), ['line one', 'line two']);
    });
    it('a session created with its own id is at that id', async () => {
      const r = await srv.api('POST', '/api/v1/sessions', { token: runtime, json: { id: 'loc-own-id' } });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('location'), '/api/v1/sessions/loc-own-id');
    });
  });

  describe('Retry-After', () => {
    it('429 of the sign-in throttle says when to come back', async () => {
      await srv.addUser('throttled', 'the-right-password-1', 'viewer');
      let last;
      for (let i = 0; i < 6; i++) {
        const c = srv.client();
        const page = await c.get('/login');
        const form = parseForms(page.text).find((f) => f.inputs.some((x) => x.type === 'password'));
        const fields = {};
        for (const x of form.inputs) if (x.type === 'hidden') fields[x.name] = x.value;
        fields[form.inputs.find((x) => x.type === 'text' || x.type === 'email')?.name || 'username'] = 'throttled';
        fields[form.inputs.find((x) => x.type === 'password').name] = 'wrong-password';
        last = await c.post(form.action || '/login', fields);
      }
      assert.equal(last.status, 429);
      assert.match(last.headers.get('retry-after') || '', /^[1-9]\d*$/);
    });
  });

  describe('405 answers carry Allow', () => {
    const api = ROUTES.filter((r) => r.kind === 'api');
    const patterns = [...new Set(api.map((r) => r.pattern))];
    const matches = (pattern, url) => new RegExp(`^${pattern.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(url);
    for (const pattern of patterns) {
      const url = pattern.replace(/\{[^}]+\}/g, 'x1');
      // Every route serving this URL (/api/v1/sessions/bulk is also {id}).
      const methods = ROUTES.filter((r) => matches(r.pattern, url)).map((r) => r.method);
      it(`${pattern} (${methods.join(', ')})`, async () => {
        // A method the path does not take (and that no other pattern serves there).
        const wrong = ['PUT', 'PATCH', 'DELETE', 'POST', 'GET'].find((m) => !methods.includes(m) && !(m === 'GET' && methods.includes('HEAD')));
        const r = await srv.api(wrong, url, { token: admin, json: wrong === 'GET' ? undefined : {} });
        assert.equal(r.status, 405, `${wrong} ${url}`);
        const want = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => methods.includes(m) || (m === 'HEAD' && methods.includes('GET')));
        assert.equal(r.headers.get('allow'), want.join(', '));
        if (url.startsWith('/api/')) assert.equal(r.json.error.code, 'method_not_allowed');
      });
    }
  });

  describe('X-Request-Id', () => {
    it('every answer has one; a short safe incoming id is kept, anything else replaced', async () => {
      const own = await srv.api('GET', '/healthz');
      assert.match(own.headers.get('x-request-id'), /^[A-Za-z0-9_-]{16}$/);
      const kept = await srv.api('GET', '/api/v1/sessions/nope', { token: admin, headers: { 'x-request-id': 'proxy-7f3a.01_x' } });
      assert.equal(kept.status, 404);
      assert.equal(kept.headers.get('x-request-id'), 'proxy-7f3a.01_x');
      for (const bad of ['a'.repeat(65), 'has space', 'semi;colon', 'quote"d']) {
        const r = await srv.api('GET', '/healthz', { headers: { 'x-request-id': bad } });
        assert.notEqual(r.headers.get('x-request-id'), bad, JSON.stringify(bad));
        assert.match(r.headers.get('x-request-id'), /^[A-Za-z0-9_-]{16}$/);
      }
      // An answer written before routing (413) has one too.
      const big = await srv.api('POST', '/api/v1/sessions', { token: runtime, body: 'x'.repeat(9 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
      assert.equal(big.status, 413);
      assert.match(big.headers.get('x-request-id') || '', /^[A-Za-z0-9_-]{16}$/);
      assert.equal(big.headers.get('x-content-type-options'), 'nosniff');
    });
  });
});

describe('conventions (CORS on: FLIGHTDECK_CORS_ORIGINS)', () => {
  const GOOD = 'https://app.example.com';
  const OTHER = 'http://localhost:3000';
  let srv, admin;
  before(async () => {
    srv = await startServer({ env: { FLIGHTDECK_CORS_ORIGINS: ` ${GOOD} ,${OTHER}` } });
    admin = await srv.token('admin');
  });
  after(async () => {
    await srv?.stop();
  });

  it('a preflight from an allowed origin: 204 with the methods and headers, no credentials', async () => {
    const r = await raw(srv, 'OPTIONS', '/api/v1/sessions', {
      origin: GOOD, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type',
    });
    assert.equal(r.status, 204);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['access-control-allow-origin'], GOOD);
    assert.equal(r.headers['access-control-allow-methods'], 'GET, HEAD, POST, OPTIONS');
    assert.equal(r.headers['access-control-allow-headers'], 'Authorization, Content-Type, If-None-Match');
    assert.match(r.headers['access-control-max-age'], /^\d+$/);
    assert.match(r.headers.vary || '', /Origin/);
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
    assert.equal(r.headers.allow, 'GET, HEAD, POST, OPTIONS');
    const one = await raw(srv, 'OPTIONS', '/api/v1/sessions/x/report', { origin: OTHER, 'access-control-request-method': 'PUT' });
    assert.equal(one.status, 204);
    assert.equal(one.headers['access-control-allow-origin'], OTHER);
    assert.equal(one.headers['access-control-allow-methods'], 'GET, HEAD, PUT, OPTIONS');
  });

  it('an actual request from an allowed origin gets Allow-Origin (echoed), Vary: Origin and the exposed headers', async () => {
    const r = await raw(srv, 'GET', '/api/v1/sessions', { authorization: `Bearer ${admin}`, origin: GOOD });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], GOOD);
    assert.match(r.headers.vary || '', /Origin/);
    assert.match(r.headers['access-control-expose-headers'] || '', /ETag/);
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
    const err = await raw(srv, 'GET', '/api/v1/sessions', { origin: GOOD });
    assert.equal(err.status, 401);
    assert.equal(err.headers['access-control-allow-origin'], GOOD, 'errors too, so the page can read them');
  });

  it('another origin (or a prefix of one) gets no Allow-Origin; pages and /healthz never get CORS headers', async () => {
    for (const o of ['https://evil.example.com', 'https://app.example.com.evil.com', 'https://app.example.co', 'null']) {
      const r = await raw(srv, 'GET', '/api/v1/sessions', { authorization: `Bearer ${admin}`, origin: o });
      assert.equal(r.headers['access-control-allow-origin'], undefined, o);
      assert.match(r.headers.vary || '', /Origin/);
      const p = await raw(srv, 'OPTIONS', '/api/v1/sessions', { origin: o, 'access-control-request-method': 'GET' });
      assert.equal(p.headers['access-control-allow-origin'], undefined, o);
      assert.equal(p.headers['access-control-allow-methods'], undefined, o);
    }
    for (const p of ['/login', '/healthz', '/static/app.css']) {
      const r = await raw(srv, 'GET', p, { origin: GOOD });
      assert.deepEqual(ACA(r.headers), [], p);
    }
    const pageOptions = await raw(srv, 'OPTIONS', '/sessions', { origin: GOOD, 'access-control-request-method': 'GET' });
    assert.equal(pageOptions.status, 405);
    assert.deepEqual(ACA(pageOptions.headers), []);
  });

  it('OPTIONS on an API path that does not exist is 404; a 405 lists OPTIONS in Allow', async () => {
    const r = await raw(srv, 'OPTIONS', '/api/v1/nothing', { origin: GOOD, 'access-control-request-method': 'GET' });
    assert.equal(r.status, 404);
    const w = await srv.api('PATCH', '/api/v1/tasks', { token: admin, json: {} });
    assert.equal(w.status, 405);
    assert.equal(w.headers.get('allow'), 'GET, HEAD, OPTIONS');
  });
});
