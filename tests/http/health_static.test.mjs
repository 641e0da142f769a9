// Liveness, the front door, unknown paths, and static files: lighttpd serves
// web/ under /static/ (never the app), and nothing outside web/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startServer, ROOT } from '../lib/server.mjs';

/** A raw GET: the path goes on the wire exactly as given. */
function rawGet(port, p) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: p }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('health, routing and static files', () => {
  let srv;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.stop();
  });

  it('GET /healthz: 200 JSON with status ok and the schema version', async () => {
    const r = await srv.api('GET', '/healthz');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.equal(r.json.status, 'ok');
    assert.equal(typeof r.json.version, 'string');
    assert.ok(r.json.schema >= 1, `schema ${r.json.schema}`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.headers.get('x-request-id') || '', /^[A-Za-z0-9_-]{8,}$/);
  });

  it('HEAD /healthz: 200 without a body', async () => {
    const r = await srv.fetch('/healthz', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '');
  });

  it('every answer gets its own request id', async () => {
    const a = await srv.fetch('/healthz');
    const b = await srv.fetch('/healthz');
    assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
  });

  it('GET / redirects to the History page', async () => {
    const r = await srv.fetch('/');
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/sessions');
  });

  it('an unknown page: 404 HTML with the security headers', async () => {
    const r = await srv.fetch('/no-such-page');
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    const body = await r.text();
    assert.match(body, /<html/i);
    assert.match(body, /404|not found/i);
    const csp = r.headers.get('content-security-policy') || '';
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
  });

  it('an unknown API path: 404 JSON', async () => {
    const r = await srv.api('GET', '/api/v1/no-such-thing');
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.equal(r.json.error.code, 'not_found');
  });

  it('a page route with the wrong method: 405 with Allow', async () => {
    const r = await srv.fetch('/sessions', { method: 'DELETE' });
    assert.equal(r.status, 405);
    const allow = (r.headers.get('allow') || '').split(/,\s*/);
    assert.ok(allow.includes('GET'), `Allow: ${r.headers.get('allow')}`);
    assert.match(r.headers.get('content-type'), /^text\/html/);
  });

  it('GET /static/app.css is served by lighttpd as text/css', async (t) => {
    const file = path.join(ROOT, 'web', 'app.css');
    const r = await srv.fetch('/static/app.css');
    assert.equal(r.status, 200, 'web/app.css must exist and be served');
    assert.match(r.headers.get('content-type'), /^text\/css/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.headers.get('cache-control') || '', /max-age=/);
    // The app stamps X-Request-Id on its answers; a static file never passes through it.
    assert.equal(r.headers.get('x-request-id'), null);
    const body = await r.text();
    assert.equal(body, fs.readFileSync(file, 'utf8'));
  });

  it('other static files get their media types', async () => {
    const r = await srv.fetch('/static/favicon.svg');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^image\/svg\+xml/);
    const missing = await srv.fetch('/static/does-not-exist.css');
    assert.equal(missing.status, 404);
  });

  it('stopping lighttpd stops the app: it exits on SIGTERM', async () => {
    const other = await startServer();
    const r = await other.fetch('/healthz');
    assert.equal(r.status, 200);
    const { apps, survivedTerm } = await other.stop();
    assert.ok(apps.length >= 1, 'lighttpd had started the app');
    assert.deepEqual(survivedTerm, [], `flightdeck.fcgi pid(s) ${survivedTerm} ignored SIGTERM and had to be killed`);
  });

  it('/static/../cgi/main.c (and encoded variants) never serve the source', async () => {
    const source = fs.readFileSync(path.join(ROOT, 'cgi', 'main.c'), 'utf8');
    const marker = source.split('\n').find((l) => l.startsWith('#include')) || 'FCGX_Accept_r';
    for (const p of [
      '/static/../cgi/main.c',
      '/static/%2e%2e/cgi/main.c',
      '/static/..%2fcgi/main.c',
      '/static/%2e%2e%2fcgi%2fmain.c',
      '/static/../../cgi/main.c',
      '/static//../cgi/main.c',
      '/cgi/main.c',
      '/static/../lighttpd.conf',
    ]) {
      const r = await rawGet(srv.port, p);
      assert.notEqual(r.status, 200, `${p} answered 200`);
      assert.ok(r.status >= 400 && r.status < 500, `${p}: ${r.status}`);
      assert.ok(!r.text.includes(marker), `${p} leaked cgi/main.c`);
      assert.ok(!r.text.includes('FCGX_Accept_r'), `${p} leaked cgi/main.c`);
      assert.ok(!r.text.includes('server.modules'), `${p} leaked lighttpd.conf`);
    }
  });
});
