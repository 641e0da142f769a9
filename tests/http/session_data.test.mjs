// The session data API (DESIGN.md sections 3, 5 and 9; cgi/h_api_data.c,
// cgi/sessdata.c, cgi/report.c): artifacts (upload as base64, cursor list
// without content, one with content, raw download), logs, the report (PUT;
// GET as JSON, Markdown or an HTML document), eval runs, and `include=` of
// GET /api/v1/sessions/{id} and of `flightdeck sessions get`. Every refusal
// has its status and error code and leaves nothing written.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, tagAttrs } from '../lib/server.mjs';
import { createSession, append, getSession } from '../lib/fixtures.mjs';

// A small body limit, so the 413 test stays small; every body below fits.
const LIMIT = 65536;

/** Assert the JSON error shape; returns the error object. */
function apiError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/json/, 'errors are JSON on the API');
  assert.ok(r.json && typeof r.json.error === 'object', `error object in ${r.text}`);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 0);
  if (code) assert.equal(r.json.error.code, code, r.text);
  if (field !== undefined) assert.equal(r.json.error.field, field, r.text);
  return r.json.error;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ART_ID = /^art_[A-Za-z0-9]{20}$/;
const b64 = (s) => Buffer.from(s).toString('base64');

describe('session data API', () => {
  let srv, runtime, viewer, admin, alphaViewer;
  let sid; // the session most tests use
  const P = (id = sid) => `/api/v1/sessions/${encodeURIComponent(id)}`;

  before(async () => {
    srv = await startServer({ env: { FLIGHTDECK_MAX_BODY: String(LIMIT) } });
    runtime = await srv.token('runtime');
    viewer = await srv.token('viewer');
    admin = await srv.token('admin');
    alphaViewer = await srv.token('viewer', { project: 'alpha' });
    sid = (await createSession(srv, runtime, { agent: 'data-bot', name: 'Data session', project: 'alpha' })).id;
  });
  after(async () => {
    await srv?.stop();
  });

  /** Every artifact of a session through the cursor list (limit per page). */
  async function allArtifacts(id, limit = 200, token = viewer) {
    const seen = [];
    let cursor = null;
    for (let page = 0; page < 100; page++) {
      const q = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await srv.api('GET', `${P(id)}/artifacts${q}`, { token });
      assert.equal(r.status, 200, r.text);
      assert.ok(Array.isArray(r.json.data));
      assert.ok('next_cursor' in r.json);
      seen.push(...r.json.data);
      cursor = r.json.next_cursor;
      if (cursor === null) return seen;
      assert.equal(typeof cursor, 'string');
    }
    throw new Error('the cursor never ended');
  }

  /** The session's updated_at: a write (even a touch) changes it. */
  async function updatedAt(id = sid) {
    return (await getSession(srv, viewer, id)).updated_at;
  }

  // --------------------------------------------------------------- artifacts

  describe('artifacts', () => {
    let binId;
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

    it('upload: 201, Location, the object without content', async () => {
      const r = await srv.api('POST', `${P()}/artifacts`, {
        token: runtime,
        json: { name: 'bytes.bin', media_type: 'application/octet-stream', content_base64: allBytes.toString('base64') },
      });
      assert.equal(r.status, 201, r.text);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      const a = r.json;
      assert.match(a.id, ART_ID);
      assert.equal(r.headers.get('location'), `${P()}/artifacts/${a.id}`);
      assert.deepEqual(Object.keys(a).sort(), ['created_at', 'id', 'media_type', 'name', 'origin', 'size']);
      assert.equal(a.name, 'bytes.bin');
      assert.equal(a.media_type, 'application/octet-stream');
      assert.equal(a.size, 256);
      assert.equal(a.origin, 'uploaded');
      assert.match(a.created_at, RFC3339);
      binId = a.id;
    });

    it('GET one: the same object plus content_base64 of every byte 0..255', async () => {
      const r = await srv.api('GET', `${P()}/artifacts/${binId}`, { token: viewer });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.id, binId);
      assert.equal(r.json.size, 256);
      assert.equal(r.json.content_base64, allBytes.toString('base64'));
      assert.ok(Buffer.from(r.json.content_base64, 'base64').equals(allBytes));
    });

    it('download: the raw bytes, an attachment, nosniff and a sandbox', async () => {
      const res = await srv.fetch(`${P()}/artifacts/${binId}/download`, { headers: { authorization: `Bearer ${viewer}` } });
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      assert.ok(body.equals(allBytes), 'every byte value comes back unchanged');
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="bytes.bin"; filename*=UTF-8''bytes.bin`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('content-security-policy'), "sandbox; default-src 'none'");
      assert.equal(res.headers.get('cache-control'), 'private, no-store');
      assert.equal(res.headers.get('content-length'), '256');
    });

    it('media types: normalized on upload; active types download as octet-stream', async () => {
      let r = await srv.api('POST', `${P()}/artifacts`, {
        token: runtime,
        json: { name: 'notes.txt', media_type: 'Text/Plain; charset=utf-8', content_base64: b64('hello\n'), origin: 'generated' },
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.media_type, 'text/plain');
      assert.equal(r.json.origin, 'generated');
      assert.equal(r.json.size, 6);
      let res = await srv.fetch(`${P()}/artifacts/${r.json.id}/download`, { headers: { authorization: `Bearer ${viewer}` } });
      assert.equal(res.headers.get('content-type'), 'text/plain');
      assert.equal(await res.text(), 'hello\n');

      for (const [mt, name] of [['text/html', 'page.html'], ['image/svg+xml', 'pic.svg'], ['application/atom+xml', 'feed.xml']]) {
        r = await srv.api('POST', `${P()}/artifacts`, {
          token: runtime,
          json: { name, media_type: mt, content_base64: b64('<script>alert(1)</script>') },
        });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.media_type, mt, 'stored as sent');
        res = await srv.fetch(`${P()}/artifacts/${r.json.id}/download`, { headers: { authorization: `Bearer ${viewer}` } });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'application/octet-stream', `${mt} is not sent as itself`);
        assert.match(res.headers.get('content-disposition'), /^attachment;/);
        assert.equal(await res.text(), '<script>alert(1)</script>');
      }

      // No media type: octet-stream; empty content is fine.
      r = await srv.api('POST', `${P()}/artifacts`, { token: runtime, json: { name: 'empty', content_base64: '' } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.media_type, 'application/octet-stream');
      assert.equal(r.json.size, 0);
      const one = await srv.api('GET', `${P()}/artifacts/${r.json.id}`, { token: viewer });
      assert.equal(one.json.content_base64, '');
      res = await srv.fetch(`${P()}/artifacts/${r.json.id}/download`, { headers: { authorization: `Bearer ${viewer}` } });
      assert.equal(res.status, 200);
      assert.equal((await res.arrayBuffer()).byteLength, 0);

      // Base64 with line breaks (as MIME tools wrap it) is accepted.
      const wrapped = allBytes.toString('base64').replace(/(.{76})/g, '$1\r\n');
      r = await srv.api('POST', `${P()}/artifacts`, { token: runtime, json: { name: 'wrapped.bin', content_base64: wrapped } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.size, 256);
    });

    it('Content-Disposition of names with quotes, backslashes, %, ; and non-ASCII is safe', async () => {
      const name = 'a "quoted" name;%20 ünïcødé ✓.txt';
      const r = await srv.api('POST', `${P()}/artifacts`, { token: runtime, json: { name, content_base64: b64('x') } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.name, name, 'the name is stored exactly');
      const res = await srv.fetch(`${P()}/artifacts/${r.json.id}/download`, { headers: { authorization: `Bearer ${viewer}` } });
      assert.equal(res.status, 200);
      const cd = res.headers.get('content-disposition');
      assert.equal(
        cd,
        `attachment; filename="a _quoted_ name;_20 _n_c_d_ _.txt"; filename*=UTF-8''${encodeURIComponent(name).replace(/[!'()*]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase())}`,
      );
      // Two quotes: the fallback's delimiters, nothing inside.
      assert.equal((cd.match(/"/g) || []).length, 2);
      assert.doesNotMatch(cd, /[\r\n\x00-\x1f\x7f-\uffff]/);
      // The RFC 8187 form decodes back to the exact name.
      assert.equal(decodeURIComponent(cd.split("filename*=UTF-8''")[1]), name);
      // No injected header.
      assert.equal(res.headers.get('x-injected'), null);
    });

    it('names with CR/LF or other control characters are refused, never sent as headers', async () => {
      const before = (await allArtifacts(sid)).length;
      for (const name of ['evil\r\nX-Injected: 1', 'line\nbreak', 'tab\there', 'del\u007f', 'c1\u0085x', 'esc\u001b[31m']) {
        const r = await srv.api('POST', `${P()}/artifacts`, { token: runtime, json: { name, content_base64: b64('x') } });
        apiError(r, 422, 'invalid_field', 'name');
      }
      // U+0000 would cut C text short ("nul" stored for "nul\0byte"): refused
      // wherever it is, as is base64 that is valid only up to a NUL.
      for (const json of [{ name: 'nul\u0000byte', content_base64: b64('x') }, { name: 'x', content_base64: 'QUJD\u0000!!' }, { name: 'x', content_base64: 'QUJD', media_type: 'text/plain\u0000html' }]) {
        const r = await srv.api('POST', `${P()}/artifacts`, { token: runtime, json });
        apiError(r, 422, 'invalid_body');
      }
      // An escaped backslash before "u0000" is no NUL: refused for the '\\' in a name only.
      apiError(await srv.api('POST', `${P()}/artifacts`, { token: runtime, json: { name: 'back\\u0000slash', content_base64: 'QUJD' } }), 422, 'invalid_field', 'name');
      assert.equal((await allArtifacts(sid)).length, before);
    });

    it('cursor pagination reaches every artifact exactly once, newest first', async () => {
      const s = await createSession(srv, runtime, { agent: 'pager', project: 'alpha' });
      const made = [];
      for (let i = 0; i < 13; i++) {
        const r = await srv.api('POST', `${P(s.id)}/artifacts`, {
          token: runtime,
          json: { name: `file-${i}.txt`, media_type: 'text/plain', content_base64: b64(`content ${i}`) },
        });
        assert.equal(r.status, 201, r.text);
        made.push(r.json);
      }
      const expected = [...made].sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1));
      for (const limit of [1, 3, 5, 13, 50]) {
        const seen = await allArtifacts(s.id, limit);
        assert.equal(seen.length, 13, `limit ${limit}`);
        assert.deepEqual(seen.map((a) => a.id), expected.map((a) => a.id), `limit ${limit}: newest first, each once`);
        assert.deepEqual(seen, expected, 'list objects equal the upload answers');
        for (const a of seen) assert.ok(!('content_base64' in a), 'the list carries no content');
      }
      // The page boundaries: 13 at 5 a page is 5, 5, 3 with a cursor after the first two.
      const p1 = await srv.api('GET', `${P(s.id)}/artifacts?limit=5`, { token: viewer });
      assert.equal(p1.json.data.length, 5);
      assert.equal(typeof p1.json.next_cursor, 'string');
      const p3 = await srv.api('GET', `${P(s.id)}/artifacts?limit=13`, { token: viewer });
      assert.equal(p3.json.data.length, 13);
      assert.equal(p3.json.next_cursor, null, 'no next page when the last one is shown');
      // Default limit (50) shows all 13.
      const dflt = await srv.api('GET', `${P(s.id)}/artifacts`, { token: viewer });
      assert.equal(dflt.json.data.length, 13);
      assert.equal(dflt.json.next_cursor, null);
    });

    it('bad list parameters: 400 naming the parameter', async () => {
      for (const q of ['limit=0', 'limit=201', 'limit=x', 'limit=']) {
        apiError(await srv.api('GET', `${P()}/artifacts?${q}`, { token: viewer }), 400, 'invalid_parameter', 'limit');
      }
      for (const c of ['nonsense', 'AAAA', Buffer.from('12.art_short').toString('base64url'), Buffer.from('x1.art_aaaaaaaaaaaaaaaaaaaa').toString('base64url')]) {
        apiError(await srv.api('GET', `${P()}/artifacts?cursor=${encodeURIComponent(c)}`, { token: viewer }), 400, 'invalid_parameter', 'cursor');
      }
    });

    it('refused uploads: status, code and field; nothing written', async () => {
      const before = await allArtifacts(sid);
      const upBefore = await updatedAt();
      const cases = [
        [{ name: 'x', content_base64: 'not base64!' }, 422, 'invalid_field', 'content_base64'],
        [{ name: 'x', content_base64: 'QUJD=' }, 422, 'invalid_field', 'content_base64'],
        [{ name: 'x', content_base64: 'QQ' }, 422, 'invalid_field', 'content_base64'],
        [{ name: 'x', content_base64: 'QUJD-_' }, 422, 'invalid_field', 'content_base64'],
        [{ name: 'x', content_base64: 12 }, 422, 'invalid_field', 'content_base64'],
        [{ name: '', content_base64: 'QUJD' }, 422, 'invalid_field', 'name'],
        [{ name: '.', content_base64: 'QUJD' }, 422, 'invalid_field', 'name'],
        [{ name: '..', content_base64: 'QUJD' }, 422, 'invalid_field', 'name'],
        [{ name: 'dir/file', content_base64: 'QUJD' }, 422, 'invalid_field', 'name'],
        [{ name: 'dir\\file', content_base64: 'QUJD' }, 422, 'invalid_field', 'name'],
        [{ name: 'n'.repeat(256), content_base64: 'QUJD' }, 422, 'invalid_field', 'name'],
        [{ name: 7, content_base64: 'QUJD' }, 422, 'invalid_field', 'name'],
        [{ content_base64: 'QUJD' }, 422, 'missing_field', 'name'],
        [{ name: 'x' }, 422, 'missing_field', 'content_base64'],
        [{ name: 'x', content_base64: null }, 422, 'missing_field', 'content_base64'],
        [{ name: 'x', content_base64: 'QUJD', size: 3 }, 422, 'unknown_field', 'size'],
        [{ name: 'x', content_base64: 'QUJD', content: 'ABC' }, 422, 'unknown_field', 'content'],
        [{ name: 'x', content_base64: 'QUJD', origin: 'stolen' }, 422, 'invalid_field', 'origin'],
        [{ name: 'x', content_base64: 'QUJD', media_type: 'nonsense' }, 422, 'invalid_field', 'media_type'],
        [{ name: 'x', content_base64: 'QUJD', media_type: 'text/' }, 422, 'invalid_field', 'media_type'],
        [{ name: 'x', content_base64: 'QUJD', media_type: 'a/b/c' }, 422, 'invalid_field', 'media_type'],
        [{ name: 'x', content_base64: 'QUJD', media_type: 'text/plain; x=\r\n' }, 422, 'invalid_field', 'media_type'],
      ];
      for (const [json, status, code, field] of cases) {
        const r = await srv.api('POST', `${P()}/artifacts`, { token: runtime, json });
        apiError(r, status, code, field);
      }
      // A name of exactly 255 bytes is fine (checked below, then counted).
      // Not JSON, not an object, wrong content type, empty body.
      apiError(await srv.api('POST', `${P()}/artifacts`, { token: runtime, body: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
      apiError(await srv.api('POST', `${P()}/artifacts`, { token: runtime, json: [1, 2] }), 422, 'invalid_body');
      apiError(await srv.api('POST', `${P()}/artifacts`, { token: runtime, body: '', headers: { 'content-type': 'application/json' } }), 400, 'empty_body');
      apiError(await srv.api('POST', `${P()}/artifacts`, { token: runtime, body: 'name=x', headers: { 'content-type': 'text/plain' } }), 415);
      assert.deepEqual(await allArtifacts(sid), before, 'no artifact was written');
      assert.equal(await updatedAt(), upBefore, 'the session was not touched');

      const ok = await srv.api('POST', `${P()}/artifacts`, { token: runtime, json: { name: 'é'.repeat(127) + 'x', content_base64: 'QUJD' } });
      assert.equal(ok.status, 201, '255 bytes of name');
      assert.equal((await allArtifacts(sid)).length, before.length + 1);
      assert.equal(ok.json.size, 3);
    });

    it('access: 401 without a token, 403 for a read token on POST, 404 for unknown ids', async () => {
      const before = await allArtifacts(sid);
      const body = { name: 'x', content_base64: 'QUJD' };
      apiError(await srv.api('POST', `${P()}/artifacts`, { json: body }), 401, 'unauthorized');
      apiError(await srv.api('POST', `${P()}/artifacts`, { token: viewer, json: body }), 403, 'forbidden');
      apiError(await srv.api('POST', `${P()}/artifacts`, { token: 'fd_not_a_token', json: body }), 401);
      apiError(await srv.api('GET', `${P()}/artifacts`), 401);
      apiError(await srv.api('GET', `${P()}/artifacts/${binId}`), 401);
      apiError(await srv.api('GET', `${P()}/artifacts/${binId}/download`), 401);
      // Unknown session: 404 on every route.
      const none = P('ses_doesnotexist0000000');
      apiError(await srv.api('POST', `${none}/artifacts`, { token: runtime, json: body }), 404, 'not_found');
      apiError(await srv.api('GET', `${none}/artifacts`, { token: viewer }), 404, 'not_found');
      apiError(await srv.api('GET', `${none}/artifacts/${binId}`, { token: viewer }), 404, 'not_found');
      apiError(await srv.api('GET', `${none}/artifacts/${binId}/download`, { token: viewer }), 404, 'not_found');
      // Unknown artifact, and an artifact of another session.
      apiError(await srv.api('GET', `${P()}/artifacts/art_00000000000000000000`, { token: viewer }), 404, 'not_found');
      apiError(await srv.api('GET', `${P()}/artifacts/art_00000000000000000000/download`, { token: viewer }), 404, 'not_found');
      const other = await createSession(srv, runtime, { agent: 'other', project: 'alpha' });
      apiError(await srv.api('GET', `${P(other.id)}/artifacts/${binId}`, { token: viewer }), 404, 'not_found');
      apiError(await srv.api('GET', `${P(other.id)}/artifacts/${binId}/download`, { token: viewer }), 404, 'not_found');
      // A viewer of another project does not see the session at all.
      const beta = await srv.token('viewer', { project: 'beta' });
      apiError(await srv.api('GET', `${P()}/artifacts`, { token: beta }), 404, 'not_found');
      apiError(await srv.api('GET', `${P()}/artifacts/${binId}/download`, { token: beta }), 404, 'not_found');
      // ... one of this project does.
      assert.equal((await srv.api('GET', `${P()}/artifacts/${binId}`, { token: alphaViewer })).status, 200);
      assert.deepEqual(await allArtifacts(sid), before, 'nothing was written');
    });

    it('413 for an upload larger than the body limit; nothing written', async () => {
      const before = await allArtifacts(sid);
      const content = Buffer.alloc(LIMIT, 7).toString('base64');
      const r = await srv.api('POST', `${P()}/artifacts`, { token: runtime, json: { name: 'big.bin', content_base64: content } });
      apiError(r, 413, 'body_too_large');
      assert.deepEqual(await allArtifacts(sid), before);
      // Just under the limit is accepted: the limit, not the content, refused it.
      const fits = Buffer.alloc(40000, 7);
      const ok = await srv.api('POST', `${P()}/artifacts`, { token: runtime, json: { name: 'fits.bin', content_base64: fits.toString('base64') } });
      assert.equal(ok.status, 201, ok.text);
      assert.equal(ok.json.size, 40000);
      const res = await srv.fetch(`${P()}/artifacts/${ok.json.id}/download`, { headers: { authorization: `Bearer ${viewer}` } });
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(fits));
    });

    it('an upload marks the session updated', async () => {
      const s = await createSession(srv, runtime, { agent: 'touch', project: 'alpha' });
      const t0 = (await getSession(srv, viewer, s.id)).updated_at;
      await new Promise((r) => setTimeout(r, 5));
      const r = await srv.api('POST', `${P(s.id)}/artifacts`, { token: runtime, json: { name: 't', content_base64: '' } });
      assert.equal(r.status, 201);
      const t1 = (await getSession(srv, viewer, s.id)).updated_at;
      assert.ok(t1 > t0, `${t1} > ${t0}`);
    });

    it('the page route downloads the same bytes with a cookie', async () => {
      const web = await srv.login('admin', srv.adminPassword);
      const res = await web.get(`/sessions/${sid}/artifacts/${binId}`);
      assert.equal(res.status, 200);
      assert.ok(Buffer.from(res.text, 'latin1').length > 0);
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="bytes.bin"; filename*=UTF-8''bytes.bin`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy'), /^sandbox; default-src 'none'$/);
    });
  });

  // -------------------------------------------------------------------- logs

  describe('logs', () => {
    let ls;
    const lines = [
      ['debug', 'd1'], ['info', 'i1'], ['warn', 'w1'], ['error', 'e1'],
      ['info', 'i2'], ['debug', 'd2'], ['error', 'e2'], ['warn', 'w2'],
    ];

    before(async () => {
      ls = (await createSession(srv, runtime, { agent: 'logger', project: 'alpha' })).id;
      await append(srv, runtime, ls, { events: lines.map(([severity, body], i) => ({ type: 'log', severity, body, time: `2025-01-02T03:04:0${i}.250Z` })) });
      await append(srv, runtime, ls, { type: 'log', body: 'no severity' });
    });

    it('lists every line oldest first with id, time, severity, body', async () => {
      const r = await srv.api('GET', `${P(ls)}/logs`, { token: viewer });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.next_cursor, null);
      const d = r.json.data;
      assert.equal(d.length, 9);
      assert.deepEqual(d.slice(0, 8).map((l) => [l.severity, l.body]), lines);
      assert.deepEqual(d[8].severity, 'info', 'the default severity');
      assert.equal(d[0].time, '2025-01-02T03:04:00.250Z');
      assert.equal(d[7].time, '2025-01-02T03:04:07.250Z');
      for (const l of d) assert.deepEqual(Object.keys(l).sort(), ['body', 'id', 'severity', 'time']);
      for (let i = 1; i < d.length; i++) assert.ok(d[i].id > d[i - 1].id);
    });

    it('severity is the lowest shown', async () => {
      const bodies = async (sev) => (await srv.api('GET', `${P(ls)}/logs?severity=${sev}`, { token: viewer })).json.data.map((l) => l.body);
      assert.deepEqual(await bodies('debug'), ['d1', 'i1', 'w1', 'e1', 'i2', 'd2', 'e2', 'w2', 'no severity']);
      assert.deepEqual(await bodies('info'), ['i1', 'w1', 'e1', 'i2', 'e2', 'w2', 'no severity']);
      assert.deepEqual(await bodies('warn'), ['w1', 'e1', 'e2', 'w2']);
      assert.deepEqual(await bodies('error'), ['e1', 'e2']);
    });

    it('after and limit page through; next_cursor is the id to continue after', async () => {
      const all = (await srv.api('GET', `${P(ls)}/logs`, { token: viewer })).json.data;
      const seen = [];
      let after = 0;
      for (let i = 0; i < 20; i++) {
        const r = await srv.api('GET', `${P(ls)}/logs?limit=2&after=${after}`, { token: viewer });
        assert.equal(r.status, 200);
        seen.push(...r.json.data);
        if (r.json.next_cursor === null) break;
        assert.equal(r.json.next_cursor, String(r.json.data[r.json.data.length - 1].id));
        after = r.json.next_cursor;
      }
      assert.deepEqual(seen, all);
      // Combined with severity.
      const r = await srv.api('GET', `${P(ls)}/logs?severity=warn&limit=3`, { token: viewer });
      assert.deepEqual(r.json.data.map((l) => l.body), ['w1', 'e1', 'e2']);
      const r2 = await srv.api('GET', `${P(ls)}/logs?severity=warn&limit=3&after=${r.json.next_cursor}`, { token: viewer });
      assert.deepEqual(r2.json.data.map((l) => l.body), ['w2']);
      assert.equal(r2.json.next_cursor, null);
    });

    it('bad parameters: 400; unknown session 404; no token 401', async () => {
      apiError(await srv.api('GET', `${P(ls)}/logs?severity=fatal`, { token: viewer }), 400, 'invalid_parameter', 'severity');
      apiError(await srv.api('GET', `${P(ls)}/logs?severity=WARN`, { token: viewer }), 400, 'invalid_parameter', 'severity');
      apiError(await srv.api('GET', `${P(ls)}/logs?limit=0`, { token: viewer }), 400, 'invalid_parameter', 'limit');
      apiError(await srv.api('GET', `${P(ls)}/logs?limit=1001`, { token: viewer }), 400, 'invalid_parameter', 'limit');
      apiError(await srv.api('GET', `${P(ls)}/logs?after=-1`, { token: viewer }), 400, 'invalid_parameter', 'after');
      apiError(await srv.api('GET', `${P(ls)}/logs?after=abc`, { token: viewer }), 400, 'invalid_parameter', 'after');
      apiError(await srv.api('GET', `${P('nope')}/logs`, { token: viewer }), 404, 'not_found');
      apiError(await srv.api('GET', `${P(ls)}/logs`), 401);
    });
  });

  // ------------------------------------------------------------------ report

  describe('report', () => {
    let rs;
    const report = {
      title: 'Refund <audit>',
      summary: 'All **good**.\n\n<script>alert("x")</script>\n\n[bad](javascript:alert(1)) [ok](https://example.com/a)',
      sections: [
        { title: 'Findings', content: '- one\n- two' },
        { title: 'Multi\nline title', content: '```\n<b>code</b>\n```' },
      ],
      markdown: 'Closing words.',
      data: { amount: 129.5, ok: true, items: ['a', 'b'], nested: { x: null } },
    };

    before(async () => {
      rs = (await createSession(srv, runtime, { agent: 'reporter', name: 'Weekly <report> & co', project: 'alpha' })).id;
    });

    it('no report yet: 404 no_report', async () => {
      apiError(await srv.api('GET', `${P(rs)}/report`, { token: viewer }), 404, 'no_report');
      apiError(await srv.api('GET', `${P(rs)}/report?format=md`, { token: viewer }), 404, 'no_report');
    });

    it('PUT: 200 with the report; GET (json) answers it unchanged', async () => {
      const t0 = await updatedAt(rs);
      await new Promise((r) => setTimeout(r, 5));
      const put = await srv.api('PUT', `${P(rs)}/report`, { token: runtime, json: report });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.json, report);
      const get = await srv.api('GET', `${P(rs)}/report`, { token: viewer });
      assert.equal(get.status, 200, get.text);
      assert.match(get.headers.get('content-type'), /^application\/json/);
      assert.deepEqual(get.json, report);
      const json = await srv.api('GET', `${P(rs)}/report?format=json`, { token: viewer });
      assert.deepEqual(json.json, report);
      assert.ok((await updatedAt(rs)) > t0, 'a new report is a change of the session');
    });

    it('format=md: one Markdown document, an attachment', async () => {
      const r = await srv.api('GET', `${P(rs)}/report?format=md`, { token: viewer });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('content-type'), 'text/markdown; charset=utf-8');
      assert.equal(r.headers.get('content-disposition'), `attachment; filename="${rs}-report.md"; filename*=UTF-8''${rs}-report.md`);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('content-security-policy'), "sandbox; default-src 'none'");
      const expected =
        '# Refund <audit>\n\n' +
        report.summary + '\n\n' +
        '## Findings\n\n- one\n- two\n\n' +
        '## Multi line title\n\n```\n<b>code</b>\n```\n\n' +
        'Closing words.\n\n' +
        '## Data\n\n```json\n';
      assert.ok(r.text.startsWith(expected), r.text);
      assert.ok(r.text.endsWith('\n```\n'), 'ends with the data block and one newline');
      assert.deepEqual(JSON.parse(r.text.slice(expected.length, -5)), report.data, 'the data block is the data as JSON');
    });

    it('format=html: a complete document with a CSP meta, no script, raw HTML escaped', async () => {
      const r = await srv.api('GET', `${P(rs)}/report?format=html`, { token: viewer });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(r.headers.get('content-disposition'), `attachment; filename="${rs}-report.html"; filename*=UTF-8''${rs}-report.html`);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      const csp = r.headers.get('content-security-policy');
      assert.match(csp, /^sandbox; default-src 'none'/);
      assert.doesNotMatch(csp, /script-src/);
      const h = r.text;
      assert.match(h, /^<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">/);
      assert.match(h, /<\/body>\n<\/html>\n$/);
      assert.match(h, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src https: data:">/);
      assert.doesNotMatch(h, /<script/i, 'no script element');
      assert.doesNotMatch(h, /javascript:/i, 'no javascript: link');
      assert.doesNotMatch(h, /\son[a-z]+=/i, 'no event handler attribute');
      assert.match(h, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/, 'raw HTML comes out as text');
      assert.match(h, /<a href="#">bad<\/a>/);
      assert.match(h, /<a href="https:\/\/example.com\/a">ok<\/a>/);
      assert.match(h, /<title>Refund &lt;audit&gt; — Weekly &lt;report&gt; &amp; co<\/title>/);
      assert.match(h, /<h1>Refund &lt;audit&gt;<\/h1>/);
      assert.match(h, /<strong>good<\/strong>/);
      assert.match(h, /<h2>Findings<\/h2>\n<ul>\n<li>one<\/li>\n<li>two<\/li>\n<\/ul>/);
      assert.match(h, /<h2>Multi line title<\/h2>/);
      assert.match(h, /<code>&lt;b&gt;code&lt;\/b&gt;\n<\/code>/);
      assert.match(h, /<p>Closing words.<\/p>/);
      assert.match(h, /<h2>Data<\/h2>/);
      assert.match(h, new RegExp(`Report of session <strong>Weekly &lt;report&gt; &amp; co</strong> \\(<code>${rs}</code>\\)`));
      assert.equal((h.match(/<html/g) || []).length, 1);
    });

    it('format=html: no script or javascript: gets through any Markdown form', async () => {
      const vectors = [
        '<img src=x onerror=alert(1)>',
        '<a href="javascript:alert(1)">a</a>',
        '[a](JAVASCRIPT:alert(1))',
        '[b](  javascript:alert(1) )',
        '[c](&#x6A;avascript:alert(1))',
        '<javascript:alert(1)>',
        '[d](vbscript:msgbox(1))',
        '[e](data:text/html,<script>alert(1)</script>)',
        '![f](javascript:alert(1))',
        '[g](https://ok.example/ "t\\" onmouseover=\\"alert(1)")',
        '<svg onload=alert(1)>',
        '<!-- comment --><style>body{}</style>',
      ];
      const put = await srv.api('PUT', `${P(rs)}/report`, { token: runtime, json: { title: '</title><script>alert(1)</script>', summary: vectors.join('\n\n') } });
      assert.equal(put.status, 200, put.text);
      const h = (await srv.api('GET', `${P(rs)}/report?format=html`, { token: viewer })).text;
      const main = h.slice(h.indexOf('<main>'), h.indexOf('</main>'));
      assert.doesNotMatch(h, /<script/i);
      assert.doesNotMatch(h, /<svg|<img[^>]*onerror|<style>body/i);
      // Vectors survive only as escaped text: no attribute carries them.
      assert.doesNotMatch(main, /(href|src)="[^"]*(javascript:|vbscript:|data:text)/i, main);
      for (const tag of main.match(/<[a-z][^>]*>/gi)) {
        for (const name of Object.keys(tagAttrs(tag))) assert.ok(!/^on/.test(name), `${name} in ${tag}`);
      }
      assert.match(main, /<p>&lt;img src=x onerror=alert\(1\)&gt;<\/p>/);
      assert.match(main, /<img src="#" alt="f">/);
      assert.match(h, /<title>&lt;\/title&gt;&lt;script&gt;/);
      const hrefs = [...main.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
      for (const u of hrefs) assert.ok(u === '#' || u.startsWith('https://'), u);
      assert.ok(hrefs.filter((u) => u === '#').length >= 6, hrefs.join(' '));
    });

    it('a report may be replaced; null members count as absent', async () => {
      const r2 = { summary: 'Second.', title: null, sections: null };
      const put = await srv.api('PUT', `${P(rs)}/report`, { token: runtime, json: r2 });
      assert.equal(put.status, 200, put.text);
      const md = await srv.api('GET', `${P(rs)}/report?format=md`, { token: viewer });
      assert.equal(md.text, 'Second.\n');
      const j = await srv.api('GET', `${P(rs)}/report`, { token: viewer });
      assert.deepEqual(j.json, r2);
    });

    it('refused reports: status, code and field; the stored report is unchanged', async () => {
      const good = { title: 'Kept', summary: 'Kept summary.' };
      assert.equal((await srv.api('PUT', `${P(rs)}/report`, { token: runtime, json: good })).status, 200);
      const t0 = await updatedAt(rs);
      const cases = [
        [{ title: 'x' }, 422, 'missing_field', 'summary'],
        [{ summary: '' }, 422, 'missing_field', 'summary'],
        [{ summary: 'x', extra: 1 }, 422, 'unknown_field', 'extra'],
        [{ summary: 5 }, 422, 'invalid_field', 'summary'],
        [{ summary: 'x', title: 't'.repeat(501) }, 422, 'invalid_field', 'title'],
        [{ sections: {} }, 422, 'invalid_field', 'sections'],
        [{ sections: [{ content: 'x' }] }, 422, 'missing_field', 'sections'],
        [{ sections: [{ title: 'x' }] }, 422, 'missing_field', 'sections'],
        [{ sections: [{ title: 'x', content: 'y', z: 1 }] }, 422, 'unknown_field', 'sections'],
        [{ sections: ['x'] }, 422, 'invalid_field', 'sections'],
        [{ sections: Array.from({ length: 501 }, () => ({ title: 't', content: 'c' })) }, 422, 'invalid_field', 'sections'],
        [{ summary: 'x', data: JSON.parse('['.repeat(250) + ']'.repeat(250)) }, 422, 'invalid_field', 'data'],
      ];
      for (const [json, status, code, field] of cases) {
        apiError(await srv.api('PUT', `${P(rs)}/report`, { token: runtime, json }), status, code, field);
      }
      apiError(await srv.api('PUT', `${P(rs)}/report`, { token: runtime, json: [] }), 422, 'invalid_body');
      apiError(await srv.api('PUT', `${P(rs)}/report`, { token: runtime, body: '{', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
      apiError(await srv.api('PUT', `${P(rs)}/report`, { json: good }), 401);
      apiError(await srv.api('PUT', `${P(rs)}/report`, { token: viewer, json: { summary: 'viewer' } }), 403, 'forbidden');
      apiError(await srv.api('PUT', `${P('ses_nope')}/report`, { token: runtime, json: good }), 404, 'not_found');
      apiError(await srv.api('PUT', `${P(rs)}/report`, { token: runtime, json: { summary: 's'.repeat(LIMIT) } }), 413, 'body_too_large');
      assert.deepEqual((await srv.api('GET', `${P(rs)}/report`, { token: viewer })).json, good);
      assert.equal(await updatedAt(rs), t0, 'the session was not touched');
    });

    it('U+0000 anywhere in a report is refused; an escaped backslash before u0000 is text', async () => {
      const before = (await srv.api('GET', `${P(rs)}/report`, { token: viewer })).json;
      for (const json of [{ summary: 'cut\u0000short' }, { summary: 'x', data: { k: 'a\u0000b' } }, { summary: 'x', sections: [{ title: 't\u0000', content: 'c' }] }]) {
        apiError(await srv.api('PUT', `${P(rs)}/report`, { token: runtime, json }), 422, 'invalid_body');
      }
      assert.deepEqual((await srv.api('GET', `${P(rs)}/report`, { token: viewer })).json, before);
      const lit = { summary: 'C:\\u0000 is a path' };
      const put = await srv.api('PUT', `${P(rs)}/report`, { token: runtime, json: lit });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual((await srv.api('GET', `${P(rs)}/report`, { token: viewer })).json, lit);
      assert.equal((await srv.api('GET', `${P(rs)}/report?format=md`, { token: viewer })).text, 'C:\\u0000 is a path\n');
    });

    it('the page route (cookie) downloads Markdown by default, HTML and JSON on request', async () => {
      const web = await srv.login('admin', srv.adminPassword);
      let r = await web.get(`/sessions/${rs}/report`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'text/markdown; charset=utf-8');
      assert.match(r.headers.get('content-disposition'), new RegExp(`^attachment; filename="${rs}-report.md"`));
      r = await web.get(`/sessions/${rs}/report?format=html`);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(r.text, /^<!DOCTYPE html>/);
      r = await web.get(`/sessions/${rs}/report?format=json`);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.match(r.headers.get('content-disposition'), new RegExp(`^attachment; filename="${rs}-report.json"`));
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.ok(JSON.parse(r.text).summary);
    });

    it('GET errors: bad format 400, unknown session 404, no token 401', async () => {
      apiError(await srv.api('GET', `${P(rs)}/report?format=pdf`, { token: viewer }), 400, 'invalid_parameter', 'format');
      apiError(await srv.api('GET', `${P('ses_nope')}/report`, { token: viewer }), 404, 'not_found');
      apiError(await srv.api('GET', `${P(rs)}/report?format=html`), 401);
    });
  });

  // ------------------------------------------------------------------- evals

  describe('eval runs', () => {
    let es;
    before(async () => {
      es = (await createSession(srv, runtime, { agent: 'evaluated', project: 'alpha' })).id;
    });
    const list = async (q = '') => (await srv.api('GET', `${P(es)}/evals${q}`, { token: viewer })).json;

    it('create: 201 with the run; states and the passed/failed aliases', async () => {
      const mk = (json) => srv.api('POST', `${P(es)}/evals`, { token: runtime, json });
      let r = await mk({ eval_id: 'accuracy' });
      assert.equal(r.status, 201, r.text);
      assert.equal(typeof r.json.id, 'number');
      assert.deepEqual({ ...r.json, id: 0, created_at: '' }, { id: 0, eval_id: 'accuracy', state: 'pending', passed: null, result: {}, created_at: '' });
      assert.match(r.json.created_at, RFC3339);
      const expect = [
        [{ eval_id: 'a', state: 'success', result: { score: 0.9 } }, 'success', true, { score: 0.9 }],
        [{ eval_id: 'b', state: 'error', result: 'boom' }, 'error', false, 'boom'],
        [{ eval_id: 'c', state: 'passed', result: [1, 2] }, 'success', true, [1, 2]],
        [{ eval_id: 'd', state: 'failed', result: 3 }, 'error', false, 3],
        [{ eval_id: 'e', state: 'pending', result: null }, 'pending', null, {}],
      ];
      for (const [json, state, passed, result] of expect) {
        r = await mk(json);
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.eval_id, json.eval_id);
        assert.equal(r.json.state, state, JSON.stringify(json));
        assert.equal(r.json.passed, passed);
        assert.deepEqual(r.json.result, result);
      }
      const l = await list();
      assert.equal(l.next_cursor, null);
      assert.deepEqual(l.data.map((e) => [e.eval_id, e.state, e.passed]), [
        ['accuracy', 'pending', null], ['a', 'success', true], ['b', 'error', false],
        ['c', 'success', true], ['d', 'error', false], ['e', 'pending', null],
      ]);
    });

    it('update by id: 200; absent members keep their value; aliases apply', async () => {
      const first = (await list()).data[0];
      let r = await srv.api('POST', `${P(es)}/evals`, { token: runtime, json: { id: first.id, state: 'passed', result: { score: 1 } } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { ...first, state: 'success', passed: true, result: { score: 1 } });
      r = await srv.api('POST', `${P(es)}/evals`, { token: runtime, json: { id: first.id, state: 'failed' } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { ...first, state: 'error', passed: false, result: { score: 1 } });
      r = await srv.api('POST', `${P(es)}/evals`, { token: runtime, json: { id: first.id, eval_id: 'renamed' } });
      assert.equal(r.json.eval_id, 'renamed');
      assert.equal(r.json.state, 'error');
      assert.equal((await list()).data.length, 6, 'an update adds no run');
    });

    it('after and limit page through', async () => {
      const all = (await list()).data;
      const p1 = await list('?limit=4');
      assert.deepEqual(p1.data, all.slice(0, 4));
      assert.equal(p1.next_cursor, String(all[3].id));
      const p2 = await list(`?limit=4&after=${p1.next_cursor}`);
      assert.deepEqual(p2.data, all.slice(4));
      assert.equal(p2.next_cursor, null);
    });

    it('refused runs: status, code and field; nothing written', async () => {
      const before = (await list()).data;
      const t0 = await updatedAt(es);
      const other = await createSession(srv, runtime, { agent: 'other-evals', project: 'alpha' });
      const foreign = await srv.api('POST', `${P(other.id)}/evals`, { token: runtime, json: { eval_id: 'theirs' } });
      assert.equal(foreign.status, 201);
      const cases = [
        [{}, 422, 'missing_field', 'eval_id'],
        [{ state: 'success' }, 422, 'missing_field', 'eval_id'],
        [{ eval_id: '' }, 422, 'invalid_field', 'eval_id'],
        [{ eval_id: 'x'.repeat(201) }, 422, 'invalid_field', 'eval_id'],
        [{ eval_id: 5 }, 422, 'invalid_field', 'eval_id'],
        [{ eval_id: 'x', state: 'done' }, 422, 'invalid_field', 'state'],
        [{ eval_id: 'x', score: 1 }, 422, 'unknown_field', 'score'],
        [{ id: 0, state: 'success' }, 422, 'invalid_field', 'id'],
        [{ id: 1.5, state: 'success' }, 422, 'invalid_field', 'id'],
        [{ id: '1', state: 'success' }, 422, 'invalid_field', 'id'],
        [{ id: 999999, state: 'success' }, 404, 'not_found', 'id'],
        [{ id: foreign.json.id, state: 'success' }, 404, 'not_found', 'id'],
        [{ eval_id: 'deep', result: JSON.parse('['.repeat(250) + ']'.repeat(250)) }, 422, 'invalid_field', 'result'],
        [{ eval_id: 'nul\u0000' }, 422, 'invalid_body', undefined],
        [{ eval_id: 'x', result: { k: '\u0000' } }, 422, 'invalid_body', undefined],
      ];
      for (const [json, status, code, field] of cases) {
        apiError(await srv.api('POST', `${P(es)}/evals`, { token: runtime, json }), status, code, field);
      }
      apiError(await srv.api('POST', `${P(es)}/evals`, { json: { eval_id: 'x' } }), 401);
      apiError(await srv.api('POST', `${P(es)}/evals`, { token: viewer, json: { eval_id: 'x' } }), 403, 'forbidden');
      apiError(await srv.api('POST', `${P('ses_nope')}/evals`, { token: runtime, json: { eval_id: 'x' } }), 404, 'not_found');
      apiError(await srv.api('GET', `${P('ses_nope')}/evals`, { token: viewer }), 404, 'not_found');
      apiError(await srv.api('GET', `${P(es)}/evals?limit=0`, { token: viewer }), 400, 'invalid_parameter', 'limit');
      apiError(await srv.api('GET', `${P(es)}/evals?after=x`, { token: viewer }), 400, 'invalid_parameter', 'after');
      apiError(await srv.api('POST', `${P(es)}/evals`, { token: runtime, json: { eval_id: 'big', result: 'r'.repeat(LIMIT) } }), 413, 'body_too_large');
      assert.deepEqual((await list()).data, before, 'nothing was written');
      assert.equal(await updatedAt(es), t0, 'the session was not touched');
      const theirs = await srv.api('GET', `${P(other.id)}/evals`, { token: viewer });
      assert.deepEqual(theirs.json.data.map((e) => [e.eval_id, e.state]), [['theirs', 'pending']], 'the other session kept its run');
    });
  });

  // ----------------------------------------------------------------- include

  describe('include=', () => {
    let root, child, grandchild, hidden, spanStart;

    before(async () => {
      root = (await createSession(srv, runtime, { agent: 'orchestrator', name: 'Root', project: 'alpha' })).id;
      child = (await createSession(srv, runtime, { agent: 'worker', name: 'Child', project: 'alpha', parent_session_id: root })).id;
      hidden = (await createSession(srv, runtime, { agent: 'secret-worker', name: 'Beta child', project: 'beta', parent_session_id: root })).id;
      grandchild = (await createSession(srv, runtime, { agent: 'sub', name: 'Grandchild', project: 'alpha', parent_session_id: child })).id;
      spanStart = '2025-03-04T05:06:07.000Z';
      await append(srv, runtime, root, {
        events: [
          { type: 'user_message', content: 'hello' },
          { type: 'thought', content: 'thinking' },
          { type: 'assistant_message', content: 'hi there' },
          { type: 'log', severity: 'warn', body: 'careful' },
          { type: 'log', severity: 'debug', body: 'details' },
          { type: 'span', trace_id: 't1', span_id: 's1', name: 'root-span', start: spanStart, end: '2025-03-04T05:06:08.500Z', attributes: { k: 'v' }, status: 'ok' },
          { type: 'span', trace_id: 't1', span_id: 's2', parent_span_id: 's1', name: 'child-span', start: '2025-03-04T05:06:07.250Z' },
        ],
      });
      await srv.api('POST', `/api/v1/sessions/${root}/artifacts`, { token: runtime, json: { name: 'out.txt', media_type: 'text/plain', content_base64: b64('out') } });
      await srv.api('POST', `/api/v1/sessions/${root}/evals`, { token: runtime, json: { eval_id: 'quality', state: 'passed', result: { s: 1 } } });
    });

    it('without include: the session alone', async () => {
      const s = await getSession(srv, admin, root);
      for (const k of ['events', 'children', 'trace', 'logs', 'artifacts', 'evals', 'agents']) assert.ok(!(k in s), k);
      const e = await getSession(srv, admin, root, '?include=');
      assert.deepEqual(Object.keys(e).sort(), Object.keys(s).sort());
    });

    it('events and messages', async () => {
      const s = await getSession(srv, admin, root, '?include=events');
      assert.equal(s.id, root);
      const types = s.events.map((e) => e.type);
      assert.deepEqual(types.filter((t) => ['user_message', 'thought', 'assistant_message'].includes(t)), ['user_message', 'thought', 'assistant_message']);
      const m = await getSession(srv, admin, root, '?include=messages');
      assert.deepEqual(m.events.map((e) => [e.type, e.data.content]), [['user_message', 'hello'], ['assistant_message', 'hi there']]);
      assert.deepEqual(Object.keys(m.events[0]).sort(), Object.keys(s.events[0]).sort(), 'the same event shape');
      // The events list of the events API is the same objects.
      const api = await srv.api('GET', `/api/v1/sessions/${root}/events?limit=1000`, { token: admin });
      assert.deepEqual(s.events, api.json.data);
    });

    it('trace, logs, artifacts, evals: the same objects as their own endpoints', async () => {
      const s = await getSession(srv, admin, root, '?include=trace,logs,artifacts,evals');
      assert.ok(!('events' in s));
      assert.deepEqual(s.trace, [
        {
          span_id: 's1', parent_span_id: null, trace_id: 't1', name: 'root-span',
          start: '2025-03-04T05:06:07.000Z', end: '2025-03-04T05:06:08.500Z', duration: 1500000000,
          status: 'ok', attributes: { k: 'v' }, otlp: null,
        },
        {
          span_id: 's2', parent_span_id: 's1', trace_id: 't1', name: 'child-span',
          start: '2025-03-04T05:06:07.250Z', end: null, duration: null, status: 'unset', attributes: {}, otlp: null,
        },
      ]);
      assert.deepEqual(s.logs, (await srv.api('GET', `/api/v1/sessions/${root}/logs`, { token: admin })).json.data);
      assert.deepEqual(s.logs.map((l) => [l.severity, l.body]), [['warn', 'careful'], ['debug', 'details']]);
      assert.deepEqual(s.artifacts, (await srv.api('GET', `/api/v1/sessions/${root}/artifacts`, { token: admin })).json.data);
      assert.deepEqual(s.artifacts.map((a) => [a.name, a.size, a.media_type]), [['out.txt', 3, 'text/plain']]);
      assert.deepEqual(s.evals, (await srv.api('GET', `/api/v1/sessions/${root}/evals`, { token: admin })).json.data);
      assert.deepEqual(s.evals.map((e) => [e.eval_id, e.state, e.passed, e.result]), [['quality', 'success', true, { s: 1 }]]);
    });

    it('children and agents; what a caller may not read is restricted', async () => {
      const s = await getSession(srv, admin, root, '?include=children,agents');
      const kids = Object.fromEntries(s.children.map((c) => [c.id, c]));
      assert.deepEqual(Object.keys(kids).sort(), [child, hidden].sort());
      assert.deepEqual(kids[child], { id: child, name: 'Child', agent: 'worker', status: 'pending', project: 'alpha' });
      assert.deepEqual(kids[hidden], { id: hidden, name: 'Beta child', agent: 'secret-worker', status: 'pending', project: 'beta' });
      const ag = Object.fromEntries(s.agents.map((a) => [a.id, a]));
      assert.deepEqual(Object.keys(ag).sort(), [child, hidden, grandchild].sort());
      assert.equal(ag[child].depth, 1);
      assert.equal(ag[hidden].depth, 1);
      assert.equal(ag[grandchild].depth, 2);
      assert.equal(ag[grandchild].parent_session_id, child);
      assert.deepEqual(Object.keys(ag[child]).sort(), ['agent', 'depth', 'id', 'name', 'parent_session_id', 'status', 'tokens', 'total_cost']);
      assert.equal(ag[child].tokens, 0);
      assert.equal(ag[child].total_cost, 0);
      assert.equal(s.agents[s.agents.length - 1].id, grandchild, 'nearest first');

      // A viewer of project alpha only: the beta child shows id, name, status, restricted.
      const v = await getSession(srv, alphaViewer, root, '?include=children,agents');
      const vk = Object.fromEntries(v.children.map((c) => [c.id, c]));
      assert.deepEqual(vk[child], kids[child]);
      assert.deepEqual(vk[hidden], { id: hidden, name: 'Beta child', status: 'pending', restricted: true });
      const va = Object.fromEntries(v.agents.map((a) => [a.id, a]));
      assert.deepEqual(va[hidden], { id: hidden, name: 'Beta child', status: 'pending', depth: 1, parent_session_id: root, restricted: true });
      assert.deepEqual(va[grandchild], ag[grandchild]);
    });

    it('every part at once, with spaces and empty items', async () => {
      const s = await getSession(srv, admin, root, `?include=${encodeURIComponent(' events, messages,,children , trace,logs,artifacts,evals,agents,')}`);
      for (const k of ['events', 'children', 'trace', 'logs', 'artifacts', 'evals', 'agents']) assert.ok(Array.isArray(s[k]), k);
      assert.ok(s.events.some((e) => e.type === 'thought'), 'events wins over messages');
    });

    it('an unknown part: 400 naming include', async () => {
      for (const q of ['bogus', 'trace,bogus', 'Trace', 'events;logs', 'report']) {
        const e = apiError(await srv.api('GET', `/api/v1/sessions/${root}?include=${encodeURIComponent(q)}`, { token: admin }), 400, 'invalid_parameter', 'include');
        assert.match(e.message, /unknown part/);
      }
      apiError(await srv.api('GET', `/api/v1/sessions/ses_nope?include=trace`, { token: admin }), 404, 'not_found');
      apiError(await srv.api('GET', `/api/v1/sessions/${root}?include=trace`), 401);
    });

    it('CLI: sessions get ID --include trace,logs prints the same JSON', async () => {
      const { stdout, code } = await srv.cli(['sessions', 'get', root, '--include', 'trace,logs', '--json']);
      assert.equal(code, 0);
      const s = JSON.parse(stdout);
      const api = await getSession(srv, admin, root, '?include=trace,logs');
      // duration of a running session grows between the two reads.
      delete s.duration;
      delete api.duration;
      assert.deepEqual(s, api);
      assert.equal(s.trace.length, 2);
      assert.equal(s.logs.length, 2);
      assert.ok(!('events' in s));
      // A repeated --include adds its parts.
      const twice = JSON.parse((await srv.cli(['sessions', 'get', root, '--include', 'trace', '--include', 'logs', '--json'])).stdout);
      delete twice.duration;
      assert.deepEqual(twice, s);
      // Without --include: the session alone.
      const plain = JSON.parse((await srv.cli(['sessions', 'get', root, '--json'])).stdout);
      const plainApi = await getSession(srv, admin, root);
      delete plain.duration;
      delete plainApi.duration;
      assert.deepEqual(plain, plainApi);
      // children/agents from the CLI: full access, nothing restricted.
      const all = JSON.parse((await srv.cli(['sessions', 'get', root, '--include', 'children,agents', '--json'])).stdout);
      assert.equal(all.children.length, 2);
      assert.ok(all.children.every((c) => !c.restricted && c.agent));
    });

    it('CLI: a bad --include exits with usage status 2; unknown session exits 1', async () => {
      let r = await srv.cli(['sessions', 'get', root, '--include', 'trace,bogus'], { allowFail: true });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /unknown part "bogus"/);
      assert.match(r.stderr, /usage: flightdeck sessions get/);
      r = await srv.cli(['sessions', 'get', root, '--include'], { allowFail: true });
      assert.equal(r.code, 2, r.stderr);
      r = await srv.cli(['sessions', 'get', root, '--bogus', 'x'], { allowFail: true });
      assert.equal(r.code, 2, r.stderr);
      r = await srv.cli(['sessions', 'get'], { allowFail: true });
      assert.equal(r.code, 2, r.stderr);
      r = await srv.cli(['sessions', 'get', 'ses_nope'], { allowFail: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no session ses_nope/);
    });
  });
});
