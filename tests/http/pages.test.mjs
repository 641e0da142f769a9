// The browser side over plain HTTP: sign-in and sign-out, cookies, CSRF,
// the History page and the session detail page, escaping, security headers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, parseForms, hiddenValue } from '../lib/server.mjs';
import { createSession, append, sessionLinks, sleep } from '../lib/fixtures.mjs';

const XSS = '<script>alert(1)</script>';
const XSS_ESCAPED = /&lt;script&gt;alert\(1\)&lt;\/script&gt;/;

function assertPageHeaders(r, what) {
  const csp = r.headers.get('content-security-policy');
  assert.ok(csp, `${what}: Content-Security-Policy`);
  assert.match(csp, /default-src 'self'/, `${what}: CSP default-src`);
  assert.doesNotMatch(csp, /unsafe-inline/, `${what}: CSP allows inline code`);
  assert.doesNotMatch(csp, /unsafe-eval/, `${what}: CSP allows eval`);
  assert.match(csp, /frame-ancestors 'none'/, `${what}: framing`);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.match(r.headers.get('content-type') || '', /^text\/html; charset=utf-8/i, `${what}: content type`);
}

/** The Set-Cookie header for cookie `name`, or undefined. */
function setCookie(r, name) {
  return r.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
}

describe('pages', () => {
  let srv, runtime, older, newer, xss;

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    older = await createSession(srv, runtime, { agent: 'page-bot', name: 'Older session', status: 'running' });
    await append(srv, runtime, older.id, { type: 'user_message', content: 'first' });
    await sleep(20);
    xss = await createSession(srv, runtime, { agent: 'xss-bot', name: XSS, status: 'running' });
    await append(srv, runtime, xss.id, {
      events: [
        { type: 'user_message', content: `hello ${XSS} <img src=x onerror=alert(2)>` },
        { type: 'thought', content: `<b>bold?</b> ${XSS}` },
        { type: 'tool_call', tool_call_id: 'x1', tool: 'x<tool>', arguments: { q: XSS } },
        { type: 'tool_result', tool_call_id: 'x1', result: { html: XSS } },
        { type: 'error', message: `failed: ${XSS}`, step: '<step>' },
      ],
    });
    await sleep(20);
    newer = await createSession(srv, runtime, {
      agent: 'page-bot',
      name: 'Newest session',
      prompt: 'Answer the customer politely.',
      metadata: { ticket: 'T-77' },
    });
    await append(srv, runtime, newer.id, {
      events: [
        { type: 'user_message', content: 'Where is my parcel?' },
        { type: 'thought', content: 'Check the tracking service.' },
        { type: 'tool_call', tool_call_id: 'c1', tool: 'track_parcel', arguments: { parcel: 'P-1' } },
        { type: 'tool_result', tool_call_id: 'c1', result: { where: 'depot' } },
        { type: 'usage', model: 'model-z', prompt_tokens: 1000, completion_tokens: 234, cost: 0.02 },
        { type: 'error', message: 'tracking API flaky', step: 'track' },
        { type: 'status', status: 'completed', response: 'Your parcel is at the depot.' },
      ],
    });
  });
  after(async () => {
    await srv?.stop();
  });

  it('/sessions without a cookie: 303 to /login?next=%2Fsessions', async () => {
    const r = await srv.fetch('/sessions');
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/login?next=%2Fsessions');
    const d = await srv.fetch(`/sessions/${newer.id}?tab=activity`);
    assert.equal(d.status, 303);
    assert.equal(d.headers.get('location'), `/login?next=${encodeURIComponent(`/sessions/${newer.id}?tab=activity`)}`);
  });

  it('a made-up session cookie is not a sign-in', async () => {
    const r = await srv.fetch('/sessions', { headers: { cookie: 'fd_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    assert.equal(r.status, 303);
    assert.match(r.headers.get('location'), /^\/login/);
  });

  it('GET /login: the form with a login CSRF field and cookie', async () => {
    const c = srv.client();
    const r = await c.get('/login?next=%2Fsessions');
    assert.equal(r.status, 200);
    assertPageHeaders(r, '/login');
    const form = parseForms(r.text).find((f) => f.method === 'post');
    assert.ok(form, 'a POST form');
    assert.equal(form.action, '/login');
    const names = form.inputs.map((i) => i.name);
    for (const n of ['csrf', 'username', 'password']) assert.ok(names.includes(n), `field ${n}`);
    assert.equal(form.inputs.find((i) => i.name === 'password').type, 'password');
    assert.equal(hiddenValue(r.text, 'next'), '/sessions');
    const ck = setCookie(r, 'fd_login');
    assert.ok(ck, 'login CSRF cookie');
    assert.match(ck, /HttpOnly/i);
    assert.match(ck, /SameSite=(Strict|Lax)/i);
    assert.equal(c.jar.get('fd_login'), hiddenValue(r.text, 'csrf'), 'cookie and field carry the same token');
  });

  it('a wrong password shows an error and sets no session cookie', async () => {
    const c = await srv.login('admin', 'definitely-not-the-password', { expectFail: true });
    const r = c.response;
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    assert.match(r.text, /Wrong username or password/);
    assert.equal(setCookie(r, 'fd_session'), undefined);
    assert.equal(c.jar.get('fd_session'), undefined);
    assertPageHeaders(r, 'failed sign-in');
    // The form comes back with the username kept, the password not.
    const form = parseForms(r.text).find((f) => f.method === 'post');
    assert.equal(form.inputs.find((i) => i.name === 'username').value, 'admin');
    assert.equal(form.inputs.find((i) => i.name === 'password').value, '');
    const u = await srv.login('nobody', 'whatever-password', { expectFail: true });
    assert.equal(setCookie(u.response, 'fd_session'), undefined);
    assert.match(u.response.text, /Wrong username or password/, 'same answer for an unknown user');
  });

  it('a sign-in without the login CSRF token is refused', async () => {
    const c = srv.client();
    const r = await c.post('/login', { username: 'admin', password: srv.adminPassword, next: '/sessions' });
    assert.equal(r.status, 403);
    assert.equal(setCookie(r, 'fd_session'), undefined);
  });

  it('sign-in: 303 to next, session cookie HttpOnly and SameSite=Lax', async () => {
    const c = await srv.login('admin', srv.adminPassword, { next: `/sessions/${newer.id}` });
    const r = c.response;
    assert.equal(r.status, 303);
    assert.equal(r.location, `/sessions/${newer.id}`);
    const ck = setCookie(r, 'fd_session');
    assert.ok(ck, 'fd_session cookie set');
    assert.match(ck, /;\s*HttpOnly/i);
    assert.match(ck, /;\s*SameSite=Lax/i);
    assert.match(ck, /;\s*Path=\//i);
    assert.ok(c.jar.get('fd_session').length >= 32, 'a long random session id');
    const page = await c.get(r.location);
    assert.equal(page.status, 200);
  });

  it('sign-in without next lands on /sessions; next never leaves the site', async () => {
    for (const [next, want] of [
      [undefined, '/sessions'],
      ['//evil.example/x', '/sessions'],
      ['https://evil.example/', '/sessions'],
      ['/\\evil.example', '/sessions'],
      ['/sessions?status=completed', '/sessions?status=completed'],
    ]) {
      const c = await srv.login('admin', srv.adminPassword, next ? { next } : {});
      assert.equal(c.response.location, want, `next=${next}`);
    }
  });

  it('each sign-in gets a new session id', async () => {
    const a = await srv.login('admin', srv.adminPassword);
    const b = await srv.login('admin', srv.adminPassword);
    assert.notEqual(a.jar.get('fd_session'), b.jar.get('fd_session'));
  });

  it('/sessions lists the newest session first, with security headers', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    const r = await c.get('/sessions');
    assert.equal(r.status, 200);
    assertPageHeaders(r, '/sessions');
    const ids = sessionLinks(r.text);
    assert.deepEqual(ids.slice(0, 3), [newer.id, xss.id, older.id], 'newest first');
    assert.match(r.text, /Newest session/);
    assert.match(r.text, /Older session/);
    assert.match(r.text, /page-bot/);
    // The row of the completed session shows its status.
    const row = r.text.slice(r.text.indexOf(`/sessions/${newer.id}`) - 2000, r.text.indexOf(`/sessions/${newer.id}`) + 3000);
    assert.match(row, /Completed/);
    assert.match(r.text, /3 sessions on this page/);
  });

  it('/sessions filters by status and agent from the URL', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    let r = await c.get('/sessions?status=completed');
    assert.equal(r.status, 200);
    assert.deepEqual(sessionLinks(r.text), [newer.id]);
    r = await c.get('/sessions?agent=xss-bot');
    assert.deepEqual(sessionLinks(r.text), [xss.id]);
    r = await c.get('/sessions?status=bogus');
    assert.equal(r.status, 400);
    assert.match(r.headers.get('content-type'), /^text\/html/);
  });

  it('/sessions/{id} shows the header and the activity', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    const summary = await c.get(`/sessions/${newer.id}`);
    assert.equal(summary.status, 200);
    assertPageHeaders(summary, 'detail');
    const r = await c.get(`/sessions/${newer.id}?tab=activity`);
    assert.equal(r.status, 200);
    assertPageHeaders(r, 'detail');
    // The header, the prompt and the inputs (summary); the activity (activity
    // tab), which also has the header.
    for (const text of ['Newest session', 'Completed', 'Answer the customer politely.', 'Your parcel is at the depot.']) {
      assert.ok(summary.text.includes(text), `summary tab shows ${JSON.stringify(text)}`);
    }
    const meta = await c.get(`/sessions/${newer.id}?tab=metadata`);
    assert.ok(meta.text.includes('T-77'), 'the metadata tab shows the metadata');
    for (const text of [
      'Newest session',
      'Completed',
      'Where is my parcel?',
      'Check the tracking service.',
      'track_parcel',
      'tracking API flaky',
      'Your parcel is at the depot.',
      'model-z',
    ]) {
      assert.ok(r.text.includes(text), `detail page shows ${JSON.stringify(text)}`);
    }
    // Activity in order: the user message comes before the tool call, which comes before the answer.
    const iUser = r.text.indexOf('Where is my parcel?');
    const iTool = r.text.indexOf('track_parcel');
    const iErr = r.text.indexOf('tracking API flaky');
    assert.ok(iUser < iTool && iTool < iErr, 'chronological activity');
  });

  it('an unknown session page: 404 HTML', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    const r = await c.get('/sessions/ses_nope0000000000000000');
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assertPageHeaders(r, '404 page');
  });

  it('a session named <script> is escaped on /sessions and on its page', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    const list = await c.get('/sessions');
    assert.ok(!list.text.includes(XSS), 'raw <script> on /sessions');
    assert.match(list.text, XSS_ESCAPED);
    for (const tab of ['summary', 'activity', 'trace', 'logs', 'artifacts', 'evals', 'metadata']) {
    const d = await c.get(`/sessions/${xss.id}?tab=${tab}`);
    assert.equal(d.status, 200);
    assert.ok(!d.text.includes(XSS), 'raw <script> on the detail page');
    assert.ok(!d.text.includes('<img src=x onerror'), 'raw <img onerror> on the detail page');
    assert.ok(!d.text.includes('<b>bold?</b>'), 'raw HTML from a thought');
    assert.ok(!d.text.includes('x<tool>'), 'raw tool name');
    assert.ok(!d.text.includes('<step>'), 'raw error step');
    assert.match(d.text, XSS_ESCAPED);
    // The only <script> elements are the page's own external ones.
    for (const m of d.text.matchAll(/<script\b[^>]*>/gi)) assert.match(m[0], /\bsrc="\/static\//, m[0]);
    assert.doesNotMatch(d.text, /<[a-z][^>]*\son[a-z]+\s*=/i, 'no inline event handlers');
    }
  });

  it('POST /logout without the CSRF token: 403, still signed in', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    let r = await c.post('/logout', {});
    assert.equal(r.status, 403);
    r = await c.post('/logout', { csrf: 'wrong-token' });
    assert.equal(r.status, 403);
    r = await c.get('/sessions');
    assert.equal(r.status, 200, 'the sign-in survives');
  });

  it('POST /logout with the CSRF token ends the session server-side', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    const page = await c.get('/sessions');
    assert.equal(page.status, 200);
    const form = parseForms(page.text).find((f) => f.action === '/logout');
    assert.ok(form, 'a sign-out form on the page');
    assert.equal(form.method, 'post');
    const csrf = form.inputs.find((i) => i.name === 'csrf').value;
    assert.ok(csrf.length >= 16);
    const oldCookie = c.jar.get('fd_session');

    const r = await c.post('/logout', { csrf });
    assert.equal(r.status, 303);
    assert.match(r.location, /^\/login/);
    const cleared = setCookie(r, 'fd_session');
    assert.ok(cleared && /Max-Age=0/i.test(cleared), 'the cookie is cleared');

    // Replaying the old cookie by hand: the server no longer knows it.
    const replay = await srv.fetch('/sessions', { headers: { cookie: `fd_session=${oldCookie}` } });
    assert.equal(replay.status, 303);
    assert.match(replay.headers.get('location'), /^\/login/);
    const replayPost = await srv.fetch('/logout', {
      method: 'POST',
      headers: { cookie: `fd_session=${oldCookie}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf=${encodeURIComponent(csrf)}`,
    });
    assert.equal(replayPost.status, 401);
  });

  it('signing out shows a notice on the sign-in page', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    await c.get('/sessions');
    const csrf = await c.csrf();
    const r = await c.post('/logout', { csrf });
    assert.equal(r.status, 303);
    const login = await c.get(r.location);
    assert.equal(login.status, 200);
    assert.match(login.text, /signed out/i);
  });

  it('a viewer user can sign in and read the pages', async () => {
    await srv.addUser('vera', 'vera-password-1', 'viewer');
    const c = await srv.login('vera', 'vera-password-1');
    const r = await c.get('/sessions');
    assert.equal(r.status, 200);
    assert.ok(sessionLinks(r.text).includes(newer.id));
    assert.match(r.text, /vera/);
  });

  it('a user with a grant for another project sees none of these sessions', async () => {
    await srv.addUser('pat', 'pat-password-1', 'operator', { project: 'elsewhere' });
    const c = await srv.login('pat', 'pat-password-1');
    const r = await c.get('/sessions');
    assert.equal(r.status, 200);
    assert.deepEqual(sessionLinks(r.text), []);
    const d = await c.get(`/sessions/${newer.id}`);
    assert.equal(d.status, 404, 'a session outside every readable project does not exist for them');
    assert.ok(!d.text.includes('Where is my parcel?'));
  });
});
