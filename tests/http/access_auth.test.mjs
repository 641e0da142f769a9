// Sign-in, sessions and tokens (DESIGN.md section 7, README "Access",
// docs/decisions.md "Web" and "Access"):
// - the session cookie is HttpOnly, SameSite=Lax, Path=/, not Secure over
//   plain HTTP; a new random value on every sign-in (a value planted before
//   sign-in is never adopted);
// - signing out, disabling the user and changing their password end the
//   sign-in on the server (the old cookie value leads to /login);
// - expired and revoked tokens get 401; the API ignores cookies and pages
//   ignore bearer tokens;
// - next= after sign-in only to same-site paths;
// - throttling: from the fifth failure in a row, 429 with Retry-After even
//   for the right password, per user name and per address (own server);
// - passwords, tokens and cookie values never reach the database file or its
//   WAL in clear; passwords are Argon2id hashes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startServer, hiddenValue } from '../lib/server.mjs';
import { createSession, reachStatus, sql, q, sleep } from '../lib/fixtures.mjs';

/** A long random secret that cannot occur in a file by chance. */
const secret = (prefix) => `${prefix}-${crypto.randomBytes(18).toString('base64url')}`;

/** The Set-Cookie header for cookie `name` (not a deletion), parsed. */
function cookieOf(res, name) {
  const sc = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`) && !c.startsWith(`${name}=;`));
  if (!sc) return undefined;
  const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
  const a = {};
  for (const x of attrs) {
    const [k, v = true] = x.split('=');
    a[k.toLowerCase()] = v;
  }
  return { raw: sc, value: pair.slice(name.length + 1), attrs: a };
}

async function csrfOf(c) {
  const v = hiddenValue((await c.get('/sessions')).text, 'csrf');
  assert.ok(v, 'a signed-in page carries the csrf field');
  return v;
}

describe('sign-in, sessions and tokens', () => {
  let srv, admin, adminCsrf, rt, op;
  /** Every secret this file creates: none may be stored in clear. */
  const secrets = [];
  /** Failed sign-ins from 127.0.0.1 on this server: a success does not
   *  reset the address count, so stay below the throttle's five. */
  let failures = 0;

  before(async () => {
    srv = await startServer();
    secrets.push(srv.adminPassword);
    admin = await srv.login('admin', srv.adminPassword);
    adminCsrf = await csrfOf(admin);
    rt = await srv.token('runtime');
    op = await srv.token('operator');
    secrets.push(rt, op);
  });
  after(async () => {
    await srv?.stop();
  });

  /** A fresh client carrying only session cookie `value`: is it signed in? */
  async function signedIn(value) {
    const c = srv.client();
    c.jar.set('fd_session', value);
    const r = await c.get('/sessions');
    if (r.status === 303) {
      assert.match(r.location, /^\/login\?next=/);
      return false;
    }
    assert.equal(r.status, 200, `GET /sessions with a cookie: ${r.status}`);
    return true;
  }
  async function newUser(name, role = 'viewer') {
    const pw = secret('pw');
    secrets.push(pw);
    await srv.addUser(name, pw, role);
    return { name, pw, id: sql(srv, `SELECT id FROM users WHERE username = ${q(name)}`)[0].id };
  }
  async function failLogin(name, pw) {
    failures++;
    assert.ok(failures < 5, 'this file keeps below the address throttle');
    const c = await srv.login(name, pw, { expectFail: true });
    assert.equal(c.response.status, 401, `sign-in of ${name} refused`);
    assert.equal(c.jar.get('fd_session'), undefined);
  }

  it('the session cookie: HttpOnly, SameSite=Lax, Path=/, 12 h, not Secure over http; the login cookie: Strict, Path=/login', async () => {
    const c = srv.client();
    const page = await c.get('/login');
    const lc = cookieOf(page, 'fd_login');
    assert.ok(lc, 'GET /login sets the login-CSRF cookie');
    assert.equal(lc.attrs.httponly, true, lc.raw);
    assert.equal(String(lc.attrs.samesite).toLowerCase(), 'strict', lc.raw);
    assert.equal(lc.attrs.path, '/login', lc.raw);
    assert.equal(lc.attrs.secure, undefined, lc.raw);
    const r = await c.post('/login', { csrf: hiddenValue(page.text, 'csrf'), username: 'admin', password: srv.adminPassword });
    assert.equal(r.status, 303);
    const sc = cookieOf(r, 'fd_session');
    assert.ok(sc, 'sign-in sets fd_session');
    secrets.push(sc.value);
    assert.match(sc.value, /^[A-Za-z0-9]{43}$/, 'a random 43-character value');
    assert.equal(sc.attrs.httponly, true, sc.raw);
    assert.equal(String(sc.attrs.samesite).toLowerCase(), 'lax', sc.raw);
    assert.equal(sc.attrs.path, '/', sc.raw);
    assert.equal(sc.attrs.secure, undefined, `no Secure over plain HTTP: ${sc.raw}`);
    assert.equal(sc.attrs['max-age'], String(12 * 3600), sc.raw);
    assert.ok(r.headers.getSetCookie().some((s) => /^fd_login=;.*Max-Age=0/i.test(s)), 'the login cookie is dropped after sign-in');
  });

  it('every sign-in gets a new cookie value; a value planted before sign-in is never adopted', async () => {
    const planted = 'A'.repeat(43);
    const c = srv.client();
    c.jar.set('fd_session', planted);
    assert.equal(await signedIn(planted), false, 'an unknown value signs nobody in');
    const page = await c.get('/login');
    const r = await c.post('/login', { csrf: hiddenValue(page.text, 'csrf'), username: 'admin', password: srv.adminPassword });
    assert.equal(r.status, 303);
    const first = c.jar.get('fd_session');
    assert.ok(first && first !== planted, 'a new value, not the planted one');
    assert.equal(await signedIn(planted), false, 'the planted value still signs nobody in');
    assert.equal(await signedIn(first), true);
    // Signing in again from the same (signed-in) browser: yet another value.
    const page2 = await c.get('/login');
    await c.post('/login', { csrf: hiddenValue(page2.text, 'csrf'), username: 'admin', password: srv.adminPassword });
    const second = c.jar.get('fd_session');
    const third = (await srv.login('admin', srv.adminPassword)).jar.get('fd_session');
    secrets.push(first, second, third);
    assert.equal(new Set([planted, first, second, third]).size, 4, 'four different values');
    // Only hashes are stored: no row holds the value.
    assert.equal(sql(srv, `SELECT count(*) AS n FROM web_sessions WHERE CAST(id_hash AS TEXT) = ${q(second)}`)[0].n, 0);
  });

  it('signing out ends that sign-in on the server: the old cookie leads to /login, its forms to 401', async () => {
    const c = await srv.login('admin', srv.adminPassword);
    const other = await srv.login('admin', srv.adminPassword);
    const value = c.jar.get('fd_session');
    const csrf = await csrfOf(c);
    const r = await c.post('/logout', { csrf });
    assert.equal(r.status, 303);
    assert.equal(r.location, '/login');
    assert.ok(r.headers.getSetCookie().some((s) => /^fd_session=;.*Max-Age=0/i.test(s)), 'the browser is told to drop the cookie');
    // A copy of the cookie kept by an attacker (or a stale tab) is dead.
    assert.equal(await signedIn(value), false);
    const stale = srv.client();
    stale.jar.set('fd_session', value);
    const id = await reachStatus(srv, rt, op, 'running', { name: 'stale form target' });
    const p = await stale.post(`/sessions/${id}/pause`, { csrf, return_to: '/sessions' });
    assert.equal(p.status, 401, 'a form with the old cookie and its csrf');
    assert.equal(sql(srv, `SELECT status FROM sessions WHERE id = ${q(id)}`)[0].status, 'running');
    // Other sign-ins of the same user go on.
    assert.equal(await signedIn(other.jar.get('fd_session')), true);
  });

  it('disabling a user ends all their sign-ins and refuses new ones; enabling lets them back', async () => {
    const u = await newUser('auth-disable');
    const a = await srv.login(u.name, u.pw);
    const b = await srv.login(u.name, u.pw);
    const r = await admin.post(`/admin/users/${u.id}/disable`, { csrf: adminCsrf });
    assert.equal(r.status, 303);
    assert.equal(sql(srv, `SELECT disabled FROM users WHERE id = ${u.id}`)[0].disabled, 1);
    assert.equal(await signedIn(a.jar.get('fd_session')), false, 'first sign-in ended');
    assert.equal(await signedIn(b.jar.get('fd_session')), false, 'second sign-in ended');
    assert.equal(sql(srv, `SELECT count(*) AS n FROM web_sessions WHERE user_id = ${u.id}`)[0].n, 0);
    await failLogin(u.name, u.pw);
    await admin.post(`/admin/users/${u.id}/enable`, { csrf: adminCsrf });
    const again = await srv.login(u.name, u.pw);
    assert.equal(await signedIn(again.jar.get('fd_session')), true);
  });

  it('changing a password (CLI or admin form) ends the sign-ins; the old password no longer works', async () => {
    const u = await newUser('auth-passwd');
    const a = await srv.login(u.name, u.pw);
    const pw2 = secret('pw');
    secrets.push(pw2);
    await srv.cli(['user', 'passwd', u.name], { input: `${pw2}\n` });
    assert.equal(await signedIn(a.jar.get('fd_session')), false, 'CLI passwd ended the sign-in');
    await failLogin(u.name, u.pw);
    const b = await srv.login(u.name, pw2);
    const pw3 = secret('pw');
    secrets.push(pw3);
    const r = await admin.post(`/admin/users/${u.id}/password`, { csrf: adminCsrf, password: pw3 });
    assert.equal(r.status, 303);
    assert.equal(await signedIn(b.jar.get('fd_session')), false, 'the admin form ended the sign-in');
    assert.equal(await signedIn(admin.jar.get('fd_session')), true, "the admin's own sign-in goes on");
    await srv.login(u.name, pw3);
  });

  it('tokens: expired or revoked -> 401; last use is recorded', async () => {
    const name = 'auth-expiring';
    const tok = await srv.token('viewer', { name });
    const ok = await srv.api('GET', '/api/v1/sessions', { token: tok });
    assert.equal(ok.status, 200);
    assert.ok(sql(srv, `SELECT last_used_at FROM api_tokens WHERE name = ${q(name)}`)[0].last_used_at > 0, 'last use recorded');
    // Let it expire: the CLI's shortest expiry is a day, so move it to the past.
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, `UPDATE api_tokens SET expires_at = ${Date.now() - 1000} WHERE name = ${q(name)}`]);
    const expired = await srv.api('GET', '/api/v1/sessions', { token: tok });
    assert.equal(expired.status, 401, 'an expired token');
    assert.equal(expired.json.error.code, 'unauthorized');
    // --expires-days: a future expiry still works.
    const later = await srv.cli(['token', 'create', '--name', 'auth-later', '--role', 'viewer', '--expires-days', '1']);
    const laterTok = later.stdout.trim();
    assert.equal((await srv.api('GET', '/api/v1/sessions', { token: laterTok })).status, 200);
    const exp = sql(srv, "SELECT expires_at FROM api_tokens WHERE name = 'auth-later'")[0].expires_at;
    assert.ok(Math.abs(exp - (Date.now() + 86400000)) < 120000, 'expires in a day');
    // Revoked (CLI): 401 at once.
    const rtok = await srv.token('operator', { name: 'auth-revoked' });
    assert.equal((await srv.api('GET', '/api/v1/tasks', { token: rtok })).status, 200);
    await srv.cli(['token', 'revoke', 'auth-revoked']);
    const revoked = await srv.api('GET', '/api/v1/tasks', { token: rtok });
    assert.equal(revoked.status, 401, 'a revoked token');
    // Unknown and malformed.
    assert.equal((await srv.api('GET', '/api/v1/sessions', { token: 'fdt_' + 'x'.repeat(40) })).status, 401);
    assert.equal((await srv.api('GET', '/api/v1/sessions', { headers: { authorization: `Basic ${tok}` } })).status, 401);
    secrets.push(tok, laterTok, rtok);
  });

  it('the API ignores cookies; pages ignore bearer tokens', async () => {
    const cookie = `fd_session=${admin.jar.get('fd_session')}`;
    const token = await srv.token('admin');
    secrets.push(token);
    const id = await reachStatus(srv, rt, op, 'running', { name: 'cookie vs bearer' });
    // A signed-in admin's cookie on the API, without a bearer token.
    for (const [m, p] of [['GET', '/api/v1/sessions'], ['GET', `/api/v1/sessions/${id}`], ['POST', `/api/v1/sessions/${id}/pause`], ['DELETE', `/api/v1/sessions/${id}`]]) {
      const r = await srv.api(m, p, { headers: { cookie } });
      assert.equal(r.status, 401, `${m} ${p} with a page cookie: ${r.status}`);
    }
    // With a bad bearer token next to the valid cookie: still 401.
    assert.equal((await srv.api('GET', '/api/v1/sessions', { headers: { cookie, authorization: 'Bearer nope' } })).status, 401);
    // An admin token on the pages: treated as nobody.
    const auth = { authorization: `Bearer ${token}` };
    for (const p of ['/sessions', `/sessions/${id}`, '/tasks', '/admin/users']) {
      const r = await srv.fetch(p, { headers: auth });
      assert.equal(r.status, 303, `GET ${p} with a bearer token`);
      assert.match(r.headers.get('location'), /^\/login\?next=/);
    }
    const r = await srv.fetch(`/sessions/${id}/pause`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'return_to=%2Fsessions' });
    assert.equal(r.status, 401, 'a page form with a bearer token');
    assert.equal(sql(srv, `SELECT status FROM sessions WHERE id = ${q(id)}`)[0].status, 'running', 'nothing paused');
  });

  it('next= leads only to same-site paths', async () => {
    const evil = ['//evil.example', '/\\evil.example', 'https://evil.example/', 'http:evil.example', '/\t/evil.example', 'javascript:alert(1)', ' //evil.example', '/login?next=//evil.example'];
    for (const next of evil) {
      // The form does not carry it on (a control character is bad input) ...
      const f = await srv.fetch(`/login?next=${encodeURIComponent(next)}`);
      const html = await f.text();
      if (/[\x00-\x1f]/.test(next) && f.status === 400) assert.ok(true);
      else {
        assert.equal(f.status, 200, `GET /login?next=${JSON.stringify(next)}`);
        assert.equal(hiddenValue(html, 'next'), '/sessions', `the form's next for ${JSON.stringify(next)}`);
      }
      // ... and posted raw, past the form, it is not followed.
      const d = srv.client();
      const page = await d.get('/login');
      const r = await d.post('/login', { csrf: hiddenValue(page.text, 'csrf'), username: 'admin', password: srv.adminPassword, next });
      assert.equal(r.status, 303);
      assert.equal(r.location, '/sessions', `raw, next=${JSON.stringify(next)}`);
    }
    // A same-site path is kept, query included; a page that sent you to sign in is where you land.
    const c = await srv.login('admin', srv.adminPassword, { next: '/tasks?x=1' });
    assert.equal(c.response.location, '/tasks?x=1');
    const anon = await srv.fetch('/sessions?status=running');
    assert.equal(anon.status, 303);
    const loc = anon.headers.get('location');
    const next = new URL(loc, srv.url).searchParams.get('next');
    assert.equal(next, '/sessions?status=running');
    const back = await srv.login('admin', srv.adminPassword, { next });
    assert.equal(back.response.location, '/sessions?status=running');
  });

  it('passwords, tokens and cookies are never in the database or its WAL in clear; passwords are Argon2id', async () => {
    // Secrets set through the admin forms too.
    const formPw = secret('form-pw');
    const r = await admin.post('/admin/users', { csrf: adminCsrf, username: 'auth-form-user', password: formPw, role: 'viewer', project: 'alpha' });
    assert.equal(r.status, 303);
    const t = await admin.post('/admin/tokens', { csrf: adminCsrf, name: 'auth-form-token', role: 'viewer' });
    const shown = /fdt_[A-Za-z0-9]{40}/.exec(t.text)?.[0];
    secrets.push(formPw);
    if (shown) secrets.push(shown);
    else assert.equal(t.status, 500, `the token page shows the token (or its template is still missing): ${t.status}`);
    await createSession(srv, rt, { name: 'after the secrets', project: 'alpha' });

    const files = [srv.dbPath, `${srv.dbPath}-wal`].filter((f) => fs.existsSync(f));
    assert.ok(files.includes(`${srv.dbPath}-wal`), 'the WAL file exists while the app runs');
    const bytes = files.map((f) => [f, fs.readFileSync(f)]);
    assert.ok(secrets.length >= 15, `secrets checked: ${secrets.length}`);
    // The search does find what is stored in clear (so an absence means something).
    for (const stored of ['auth-form-user', 'auth-form-token', 'after the secrets']) {
      assert.ok(bytes.some(([, b]) => b.indexOf(Buffer.from(stored)) >= 0), `${stored} is found in the files`);
    }
    for (const s of secrets) {
      for (const [f, b] of bytes) {
        assert.equal(b.indexOf(Buffer.from(s, 'utf8')), -1, `a secret (${s.slice(0, 6)}...) is in ${f} in clear`);
      }
    }
    for (const u of sql(srv, 'SELECT username, password_hash FROM users')) {
      assert.match(u.password_hash, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/, `${u.username}: an Argon2id hash`);
    }
    for (const row of sql(srv, 'SELECT name, typeof(token_hash) AS t, length(token_hash) AS n FROM api_tokens')) {
      assert.deepEqual([row.t, row.n], ['blob', 32], `${row.name}: a 32-byte hash`);
    }
    for (const row of sql(srv, 'SELECT typeof(id_hash) AS t, length(id_hash) AS n FROM web_sessions')) {
      assert.deepEqual([row.t, row.n], ['blob', 32], 'a web session is stored as a 32-byte hash');
    }
    // Nor in the server's log.
    const log = srv.errorLog();
    for (const s of secrets) assert.ok(!log.includes(s), `a secret (${s.slice(0, 6)}...) is in the error log`);
  });

  it('a password hashed with older Argon2id parameters still signs in, and is stored anew with today\'s (19 MiB, 2 passes)', async () => {
    // Made by the previous release (libsodium's INTERACTIVE preset: 64 MiB).
    const old = '$argon2id$v=19$m=65536,t=2,p=1$cR6wUWsn2wZXVz6cO7TpHA$99oyy+pOdfX6jVdaedG2YYJJxuTDdxNMW9PrFe3aCdc';
    await srv.addUser('auth-rehash', 'replaced-below-pw-1', 'viewer');
    execFileSync('sqlite3', [srv.dbPath, '.timeout 5000', `UPDATE users SET password_hash = '${old}' WHERE username = 'auth-rehash'`]);
    const bad = await srv.login('auth-rehash', 'old-params-password-2', { expectFail: true });
    assert.equal(bad.response.status, 401, 'a wrong password is still refused');
    assert.equal(sql(srv, "SELECT password_hash FROM users WHERE username = 'auth-rehash'")[0].password_hash, old, 'a failed sign-in changes nothing');
    const web = await srv.login('auth-rehash', 'old-params-password-1');
    assert.equal((await web.get('/sessions')).status, 200);
    const now = sql(srv, "SELECT password_hash FROM users WHERE username = 'auth-rehash'")[0].password_hash;
    assert.match(now, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.notEqual(now, old);
    // And the new hash works.
    const again = await srv.login('auth-rehash', 'old-params-password-1');
    assert.equal((await again.get('/sessions')).status, 200);
  });
});

describe('sign-in throttling (own server)', () => {
  let srv;
  const A = { name: 'throttle-a', pw: 'throttle-a-password' };
  const B = { name: 'throttle-b', pw: 'throttle-b-password' };

  before(async () => {
    srv = await startServer();
    await srv.addUser(A.name, A.pw, 'viewer');
    await srv.addUser(B.name, B.pw, 'viewer');
  });
  after(async () => {
    await srv?.stop();
  });

  /** One sign-in attempt through the form, with extra headers on the POST. */
  async function attempt(user, pw, headers = {}) {
    const c = srv.client();
    const page = await c.get('/login');
    const r = await c.post('/login', { csrf: hiddenValue(page.text, 'csrf'), username: user, password: pw }, { headers });
    return { status: r.status, retry: r.headers.get('retry-after'), cookie: c.jar.get('fd_session'), text: r.text, at: Date.now() };
  }

  it('from the fifth failure: 429 with Retry-After, even for the right password, per user and per address; the wait doubles', async (t) => {
    const sessions = () => sql(srv, 'SELECT count(*) AS n FROM web_sessions')[0].n;
    const n0 = sessions();
    let last;
    for (let i = 1; i <= 5; i++) {
      last = await attempt(A.name, `wrong-${i}`);
      assert.equal(last.status, 401, `failure ${i} is an ordinary refusal`);
    }
    // The fifth failure locks for 1 s: the right password is not even checked.
    const right = await attempt(A.name, A.pw);
    if (right.at - last.at < 900) {
      assert.equal(right.status, 429, 'the right password right after the fifth failure');
      assert.equal(right.retry, '1', 'Retry-After: the first lock is 1 s');
      assert.equal(right.cookie, undefined);
    } else t.diagnostic(`too slow to see the 1 s lock (${right.at - last.at} ms)`);

    // After the wait, one more failure locks for twice as long (2 s): the
    // user, the address (another user), whatever headers claim.
    await sleep(1100);
    const sixth = await attempt(A.name, 'wrong-6');
    assert.equal(sixth.status, 401, 'the sixth failure is checked after the wait');
    const locked = await attempt(A.name, A.pw);
    const other = await attempt(B.name, B.pw);
    const spoofed = await attempt(B.name, B.pw, { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.9', forwarded: 'for=203.0.113.9' });
    assert.ok(spoofed.at - sixth.at < 1900, `the attempts came within the 2 s lock (${spoofed.at - sixth.at} ms)`);
    for (const [what, r] of [['the right password', locked], ['another user from the same address', other], ['a forwarded-for header', spoofed]]) {
      assert.equal(r.status, 429, `${what}: ${r.status}`);
      assert.match(r.retry || '', /^[12]$/, `${what}: Retry-After in seconds, at most the 2 s lock`);
      assert.equal(r.cookie, undefined, `${what}: not signed in`);
      assert.match(r.text, /type="password"/, `${what}: the form again`);
    }
    if (locked.at - sixth.at < 900) assert.equal(locked.retry, '2', 'the second lock is 2 s');
    assert.equal(sessions(), n0, 'no sign-in while locked');

    await sleep(2100);
    const ok = await attempt(A.name, A.pw);
    assert.equal(ok.status, 303, 'the right password works once the lock is over');
    assert.ok(ok.cookie);
    const okB = await attempt(B.name, B.pw);
    assert.equal(okB.status, 303, 'and for the other user of the address');
    // The failures are in the audit, with the address.
    const rows = sql(srv, `SELECT detail FROM audit WHERE action = 'login_failed' AND actor = ${q(`user:${A.name}`)}`);
    assert.equal(rows.length, 6);
    assert.ok(rows.every((r) => r.detail === 'from 127.0.0.1'), JSON.stringify(rows));
  });
});
