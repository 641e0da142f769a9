// Security review checks that need a running server (docs/security.md): no
// credential or secret ever reaches a log, and the credentials the server
// hands out are stored only as hashes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer, hiddenValue } from '../lib/server.mjs';
import { createSession, append } from '../lib/fixtures.mjs';

describe('no credential or secret in any log', () => {
  let srv;
  const seen = []; // every credential this test handles: none may be logged
  let csrfToken; // stored with its sign-in: useless without the cookie, which is hashed

  before(async () => {
    // The most talkative level: every request line and every 4xx with its reason.
    srv = await startServer({ env: { FLIGHTDECK_LOG_LEVEL: 'debug' } });
    seen.push(srv.adminPassword);
    const runtime = await srv.token('runtime');
    const viewer = await srv.token('viewer');
    seen.push(runtime, viewer);
    // Sign in (cookie, CSRF), fail to sign in with a wrong password that
    // looks like a secret, sign in through the throttle.
    const web = await srv.login('admin', srv.adminPassword);
    const cookie = web.jar.get('fd_session');
    const csrf = hiddenValue((await web.get('/sessions')).text, 'csrf');
    seen.push(cookie, csrf);
    csrfToken = csrf;
    const wrong = 'Wrong-Passw0rd-LOGCHECK-7731';
    seen.push(wrong);
    await srv.login('admin', wrong, { expectFail: true });
    await srv.login('nobody-here', wrong, { expectFail: true });
    // A user whose password is set on the command line's stdin and in the form.
    const pw = 'User-Passw0rd-LOGCHECK-9042';
    seen.push(pw);
    await srv.addUser('log-user', pw, 'operator');
    const form = await web.post('/admin/users/1/password', { csrf, password: 'Admin-Passw0rd-LOGCHECK-5512' });
    assert.ok([303, 200, 404, 422].includes(form.status));
    seen.push('Admin-Passw0rd-LOGCHECK-5512');
    // Bad and foreign tokens in the Authorization header.
    const forged = 'fdt_' + 'A'.repeat(40) + 'LOGCHECK';
    seen.push(forged);
    await srv.api('GET', '/api/v1/sessions', { token: forged });
    await srv.api('GET', '/api/v1/sessions', { token: `${runtime}x` });
    // Secrets in runtime payloads; refused bodies that carry them too.
    const s = await createSession(srv, runtime, { agent: 'log-check', metadata: { k: { $secret: 'S3CR3T_logmeta_q9x' } } });
    await append(srv, runtime, s.id, { type: 'tool_call', tool_call_id: 'l1', tool: 't', kind: 'client', arguments: { p: { $secret: 'S3CR3T_logargs_q9x' } } });
    await srv.api('POST', `/api/v1/sessions/${s.id}/events`, { token: runtime, json: { type: 'nope', p: { $secret: 'S3CR3T_logbad_q9x' } } });
    await srv.api('POST', `/api/v1/sessions/${s.id}/events`, { token: viewer, json: { type: 'thought', content: 'x' } });
    seen.push('S3CR3T_logmeta_q9x', 'S3CR3T_logargs_q9x', 'S3CR3T_logbad_q9x');
  });

  after(async () => {
    await srv?.stop();
  });

  it('the server log holds none of the passwords, tokens, cookies, CSRF tokens or secrets the run used', () => {
    const logs = [];
    for (const f of fs.readdirSync(srv.varDir)) {
      const p = path.join(srv.varDir, f);
      if (fs.statSync(p).isFile() && /\.(log|out)$/.test(f)) logs.push([f, fs.readFileSync(p, 'latin1')]);
    }
    assert.ok(logs.some(([f]) => f === 'lighttpd-error.log'), 'the error log exists');
    for (const [f, text] of logs) {
      for (const v of seen) {
        assert.ok(v && v.length >= 8, 'a credential of some length');
        assert.ok(!text.includes(v), `${f} holds a credential or secret: ${v.slice(0, 6)}…`);
      }
    }
  });

  it('the database holds no token, password or cookie in clear (WAL included)', () => {
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', srv.dbPath, 'PRAGMA wal_checkpoint(PASSIVE);']);
    for (const f of [srv.dbPath, `${srv.dbPath}-wal`]) {
      if (!fs.existsSync(f)) continue;
      const bytes = fs.readFileSync(f, 'latin1');
      for (const v of seen) {
        if (v.startsWith('S3CR3T_') || v === csrfToken) continue; // secrets: api_secrets.test.mjs
        assert.ok(!bytes.includes(v), `${path.basename(f)} holds ${v.slice(0, 6)}…`);
      }
    }
  });
});
