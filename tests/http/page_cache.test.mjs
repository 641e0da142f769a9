// The page cache (cgi/pcache.h; README "Performance"): the History page, the
// detail page and the session reads of the API are answered from memory
// while the database is unchanged, and never stale or someone else's:
// - a repeat is a hit (X-Cache: hit) with the same bytes, and for the API the
//   same ETag, so If-None-Match still gets 304;
// - a write through the app, or by another process (the CLI on the same
//   file), shows on the very next request;
// - two users asking for the same URL each get their own page: their own
//   sessions and their own CSRF token;
// - a flash message is shown once and never kept;
// - FLIGHTDECK_PAGE_CACHE_MS bounds an entry's age, and 0 turns it off.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { startServer } from '../lib/server.mjs';
import { createSession, append, sleep } from '../lib/fixtures.mjs';

const csrfOf = (html) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

/** Until the server's background thread has indexed the search text of the
 * events appended so far (it does so within about 250 ms, in a commit of
 * its own, which empties the cache like any write): a test that expects a
 * hit must not meet that commit between its two requests. */
async function searchIndexed(srv) {
  for (let waited = 0; waited < 5000; waited += 50) {
    const n = execFileSync('sqlite3', [srv.dbPath, 'SELECT count(*) FROM search_pending'], { encoding: 'utf8' }).trim();
    if (n === '0') return;
    await sleep(50);
  }
  throw new Error('search_pending still holds rows after 5 s');
}

/** GET path with exactly these headers (no decompression): status, headers, raw bytes. */
function rawGet(srv, p, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get(srv.url + p, { headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
}

describe('page cache', () => {
  let srv, runtime, reader, admin;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    reader = await srv.token('viewer');
    admin = await srv.login('admin', srv.adminPassword);
  });
  after(async () => {
    await srv?.stop();
  });

  it('a repeated page is a hit with the same bytes', async () => {
    await createSession(srv, runtime, { name: 'cache-repeat', agent: 'a1' });
    const first = await admin.get('/sessions');
    const second = await admin.get('/sessions');
    assert.equal(first.status, 200);
    assert.equal(second.headers.get('x-cache'), 'hit');
    assert.equal(second.text, first.text);
    assert.match(second.text, /cache-repeat/);
    // Per-request headers are the request's own, not the cached ones.
    assert.notEqual(second.headers.get('x-request-id'), first.headers.get('x-request-id'));
    assert.match(second.headers.get('content-security-policy') || '', /default-src 'self'/);
  });

  it('a write through the API shows on the next request', async () => {
    await searchIndexed(srv);
    await admin.get('/sessions');
    const warm = await admin.get('/sessions');
    assert.equal(warm.headers.get('x-cache'), 'hit');
    const s = await createSession(srv, runtime, { name: 'cache-after-write', agent: 'a1' });
    const next = await admin.get('/sessions');
    assert.equal(next.headers.get('x-cache'), 'miss');
    assert.match(next.text, /cache-after-write/);
    // The detail page too: an event appended is on the next view.
    const d1 = await admin.get(`/sessions/${s.id}?tab=activity`);
    assert.doesNotMatch(d1.text, /first thought of the run/);
    await append(srv, runtime, s.id, { type: 'thought', content: 'first thought of the run' });
    const d2 = await admin.get(`/sessions/${s.id}?tab=activity`);
    assert.match(d2.text, /first thought of the run/);
  });

  it('a write by another process (the CLI) shows on the next request', async () => {
    const s = await createSession(srv, runtime, { name: 'cache-cli-cancel', agent: 'a1' });
    await searchIndexed(srv); // the last test's append
    const before1 = await admin.get(`/sessions/${s.id}`);
    const before2 = await admin.get(`/sessions/${s.id}`);
    assert.equal(before2.headers.get('x-cache'), 'hit');
    assert.match(before1.text, /pending/i);
    await srv.cli(['sessions', 'cancel', s.id]);
    const after1 = await admin.get(`/sessions/${s.id}`);
    assert.equal(after1.headers.get('x-cache'), 'miss');
    assert.match(after1.text, /canceled/i);
    const api = await srv.api('GET', `/api/v1/sessions/${s.id}`, { token: reader });
    assert.equal(api.json.status, 'canceled');
  });

  it('two users asking for the same URL each get their own page', async () => {
    await srv.addUser('cache-p1', 'cache-pass-one-1', 'viewer', { project: 'cache-p1' });
    await srv.addUser('cache-p2', 'cache-pass-two-2', 'viewer', { project: 'cache-p2' });
    await createSession(srv, runtime, { name: 'only-in-p1', agent: 'a1', project: 'cache-p1' });
    await createSession(srv, runtime, { name: 'only-in-p2', agent: 'a1', project: 'cache-p2' });
    const u1 = await srv.login('cache-p1', 'cache-pass-one-1');
    const u2 = await srv.login('cache-p2', 'cache-pass-two-2');
    const url = '/sessions?q=only';
    for (let i = 0; i < 2; i++) {
      const a = await u1.get(url);
      const b = await u2.get(url);
      assert.match(a.text, /only-in-p1/);
      assert.doesNotMatch(a.text, /only-in-p2/);
      assert.match(b.text, /only-in-p2/);
      assert.doesNotMatch(b.text, /only-in-p1/);
      if (i === 1) {
        assert.equal(a.headers.get('x-cache'), 'hit');
        assert.equal(b.headers.get('x-cache'), 'hit');
      }
    }
    // Two sign-ins of one user: each page carries its own CSRF token.
    const u1b = await srv.login('cache-p1', 'cache-pass-one-1');
    const p1 = await u1.get('/sessions');
    const p2 = await u1b.get('/sessions');
    assert.ok(csrfOf(p1.text) && csrfOf(p2.text));
    assert.notEqual(csrfOf(p1.text), csrfOf(p2.text));
  });

  it('an API answer from the cache keeps its ETag, and If-None-Match gets 304', async () => {
    const a = await srv.api('GET', '/api/v1/sessions?limit=5', { token: reader });
    const b = await srv.api('GET', '/api/v1/sessions?limit=5', { token: reader });
    assert.equal(b.headers.get('x-cache'), 'hit');
    assert.equal(b.headers.get('etag'), a.headers.get('etag'));
    assert.equal(b.text, a.text);
    const c = await srv.fetch('/api/v1/sessions?limit=5', {
      headers: { authorization: `Bearer ${reader}`, 'if-none-match': a.headers.get('etag') },
    });
    assert.equal(c.status, 304);
    // Another token with the same role is another key: a miss first.
    const other = await srv.token('viewer');
    const d = await srv.api('GET', '/api/v1/sessions?limit=5', { token: other });
    assert.equal(d.headers.get('x-cache'), 'miss');
    // (Rendered now: a running session's duration has moved on.)
    assert.deepEqual(d.json.data.map((x) => x.id), a.json.data.map((x) => x.id));
  });

  it('gzip clients get the copy compressed when it was rendered; others the same page as text', async () => {
    await createSession(srv, runtime, { name: 'cache-gzip', agent: 'a1' });
    const cookie = `fd_session=${admin.jar.get('fd_session')}`;
    const gz1 = await rawGet(srv, '/sessions', { cookie, 'accept-encoding': 'gzip, deflate, br' });
    const gz2 = await rawGet(srv, '/sessions', { cookie, 'accept-encoding': 'gzip' });
    const plain = await rawGet(srv, '/sessions', { cookie, 'accept-encoding': 'identity' });
    const none = await rawGet(srv, '/sessions', { cookie });
    for (const r of [gz1, gz2, plain, none]) assert.equal(r.status, 200);
    assert.equal(gz1.headers['x-cache'], 'miss');
    for (const r of [gz2, plain, none]) assert.equal(r.headers['x-cache'], 'hit');
    for (const r of [gz1, gz2]) {
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.match(r.headers.vary || '', /Accept-Encoding/i);
      assert.equal(Number(r.headers['content-length']), r.body.length);
      assert.ok(r.body.length < plain.body.length / 4, `compressed: ${r.body.length} of ${plain.body.length}`);
    }
    // The same compressed bytes from the cache, and the same page inside.
    assert.deepEqual(gz2.body, gz1.body);
    assert.equal(zlib.gunzipSync(gz2.body).toString(), plain.body.toString());
    assert.match(plain.body.toString(), /cache-gzip/);
    for (const r of [plain, none]) assert.equal(r.headers['content-encoding'], undefined);
    // (gzip;q=0 is a refusal to the app, tests/unit/test_pcache.c; lighttpd's
    // mod_deflate then compresses by itself, and it ignores q-values.)
  });

  it('an API answer in gzip has its own ETag, and its If-None-Match still gets 304', async () => {
    const auth = `Bearer ${reader}`;
    const plain = await rawGet(srv, '/api/v1/sessions?limit=30', { authorization: auth });
    const gz = await rawGet(srv, '/api/v1/sessions?limit=30', { authorization: auth, 'accept-encoding': 'gzip' });
    assert.equal(plain.status, 200);
    assert.equal(gz.status, 200);
    if (gz.headers['content-encoding'] === 'gzip') {
      assert.equal(gz.headers['x-cache'], 'hit');
      assert.equal(gz.headers.etag, plain.headers.etag.replace(/"$/, '-gzip"'));
      assert.equal(zlib.gunzipSync(gz.body).toString(), plain.body.toString());
    } else {
      // Too small to be worth compressing: then it is the plain answer.
      assert.ok(plain.body.length < 1024, `a ${plain.body.length}-byte answer was not compressed`);
    }
    const again = await rawGet(srv, '/api/v1/sessions?limit=30', { authorization: auth, 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  it('a flash message is shown once and never kept', async () => {
    const s = await createSession(srv, runtime, { name: 'cache-flash', agent: 'a1' });
    await admin.get('/sessions');
    const csrf = await admin.csrf('/sessions');
    const act = await admin.post(`/sessions/${s.id}/cancel`, { csrf, return_to: '/sessions' });
    assert.equal(act.status, 303);
    const shown = await admin.get('/sessions');
    assert.match(shown.text, /canceled/);
    assert.equal(shown.headers.get('x-cache'), null, 'a request with a flash bypasses the cache');
    assert.match(shown.text, new RegExp(`Session ${s.id} canceled`));
    const again = await admin.get('/sessions');
    assert.doesNotMatch(again.text, new RegExp(`Session ${s.id} canceled`));
  });
});

describe('page cache settings', () => {
  it('FLIGHTDECK_PAGE_CACHE_MS bounds the age of an entry', async () => {
    const srv = await startServer({ env: { FLIGHTDECK_PAGE_CACHE_MS: '300' } });
    try {
      const web = await srv.login('admin', srv.adminPassword);
      await web.get('/sessions');
      assert.equal((await web.get('/sessions')).headers.get('x-cache'), 'hit');
      await sleep(450);
      assert.equal((await web.get('/sessions')).headers.get('x-cache'), 'miss');
    } finally {
      await srv.stop();
    }
  });

  it('FLIGHTDECK_PAGE_CACHE_MS=0 turns the cache off', async () => {
    const srv = await startServer({ env: { FLIGHTDECK_PAGE_CACHE_MS: '0' } });
    try {
      const web = await srv.login('admin', srv.adminPassword);
      const a = await web.get('/sessions');
      const b = await web.get('/sessions');
      assert.equal(a.status, 200);
      assert.equal(b.headers.get('x-cache'), null);
    } finally {
      await srv.stop();
    }
  });
});
