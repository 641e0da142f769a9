// Configuration and logs (issue 11): one file (etc/flightdeck.conf or
// FLIGHTDECK_CONF) with every key documented at its default, environment
// variables over it, lighttpd taking its port and folders from it; bad files
// refused with file and line. One JSON line per request with no secret in
// it; errors with the request's id; the level decides what is written.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, ROOT } from '../lib/server.mjs';
import { createSession, until } from '../lib/fixtures.mjs';

const CLI = path.resolve(ROOT, process.env.FD_CLI || 'build/san/flightdeck');

/** Run the CLI with only the given FLIGHTDECK_* settings. */
function cli(args, env = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(FLIGHTDECK_|FD_|PORT$)/.test(k)));
  return spawnSync(CLI, args, { cwd: os.tmpdir(), env: { ...clean, FD_ROOT: ROOT, ...env }, encoding: 'utf8' });
}

const tmpDirs = []; // removed when the file's tests end
after(() => { for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true }); });

function tmpFile(name, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-conf-'));
  tmpDirs.push(dir);
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

/** The JSON lines of a log file. */
function logLines(file) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return text.split('\n').filter(Boolean).map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      assert.fail(`not a JSON line: ${l}`);
    }
  });
}


describe('configuration file', () => {
  it('etc/flightdeck.conf is `flightdeck config defaults`, and the README lists every key', () => {
    const r = cli(['config', 'defaults']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(ROOT, 'etc/flightdeck.conf'), 'utf8'), r.stdout,
      'etc/flightdeck.conf is stale: bin/flightdeck config defaults > etc/flightdeck.conf');
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const keys = [...r.stdout.matchAll(/^#([a-z_]+) = (.*)$/gm)];
    assert.ok(keys.length >= 20, 'every key is in the file');
    for (const [, key, dflt] of keys) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
      assert.ok(row, `README's Configuration table has no row for ${key}`);
      const shown = dflt.replace(/^"(.*)"$/, '$1');
      if (shown) assert.ok(row.includes(`\`${shown}\``), `README's default for ${key} is not ${shown}: ${row}`);
    }
  });

  it('file over defaults, environment over file; sources shown; paths from the root', () => {
    const conf = tmpFile('f.conf', '# a comment\n\nworkers = 3   # trailing comment\nlog_level = debug\n' +
      'cors_origins = "https://a.example, https://b.example"\nmax_body = 2048\ndb = data/x.db\n');
    const r = cli(['config'], { FLIGHTDECK_CONF: conf, FLIGHTDECK_MAX_BODY: '65536' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^# file: ${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(r.stdout, /^workers = 3 {2}# file$/m);
    assert.match(r.stdout, /^log_level = debug {2}# file$/m);
    assert.match(r.stdout, /^cors_origins = "https:\/\/a.example, https:\/\/b.example" {2}# file$/m);
    assert.match(r.stdout, /^max_body = 65536 {2}# environment \(FLIGHTDECK_MAX_BODY\)$/m);
    assert.match(r.stdout, /^port = 8080 {2}# default$/m);
    // An older variable still counts (PORT), the new one wins over it.
    assert.equal(cli(['config', 'get', 'port'], { PORT: '9001' }).stdout, '9001\n');
    assert.equal(cli(['config', 'get', 'port'], { PORT: '9001', FLIGHTDECK_PORT: '9002' }).stdout, '9002\n');
    // Relative paths are taken from the root, not the working directory.
    assert.equal(cli(['config', 'get', 'db'], { FLIGHTDECK_CONF: conf }).stdout, `${ROOT}/data/x.db\n`);
    const l = cli(['config', 'lighttpd'], { FLIGHTDECK_CONF: conf, FLIGHTDECK_VAR: '/srv/fd/state' });
    assert.equal(l.stdout, `server.port = 8080\nserver.bind = "127.0.0.1"\nvar.fd_var = "/srv/fd/state"\n` +
      `var.fd_web = "${ROOT}/web"\nvar.fd_app = "${ROOT}/bin/flightdeck.fcgi"\n`);
  });

  it('refuses a bad file or variable, naming the file and line', () => {
    const cases = [
      ['workers = 3\nwrokers = 4\n', /f\.conf:2: unknown key "wrokers"/],
      ['workers = 0\n', /f\.conf:1: workers must be a whole number from 1 to 64/],
      ['workers\n', /f\.conf:1: expected key = value/],
      ['log_level = loud\n', /f\.conf:1: log_level must be one of error\|warn\|info\|debug/],
      ['bind = "127.0.0.1\n', /f\.conf:1: unterminated/],
      ['encrypt_payloads = maybe\n', /f\.conf:1: encrypt_payloads must be 1 or 0/],
    ];
    for (const [text, re] of cases) {
      const r = cli(['config'], { FLIGHTDECK_CONF: tmpFile('f.conf', text) });
      assert.equal(r.status, 1, text);
      assert.match(r.stderr, re, text);
      assert.equal(r.stdout, '', 'nothing printed from a bad configuration');
    }
    let r = cli(['config'], { FLIGHTDECK_WORKERS: '99' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /FLIGHTDECK_WORKERS: workers must be a whole number from 1 to 64/);
    r = cli(['config'], { FLIGHTDECK_CONF: '/nonexistent/flightdeck.conf' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/nonexistent\/flightdeck.conf: No such file/);
    r = cli(['config', 'get', 'nope']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no setting "nope"/);
  });

  it('lighttpd and the app take port and limits from the file alone', async () => {
    const conf = tmpFile('fd.conf', 'max_body = 4096\nlog_level = warn\n');
    const srv = await startServer({ env: { FLIGHTDECK_CONF: conf }, portFromConfig: true });
    try {
      assert.ok(!('PORT' in srv.env));
      assert.equal((await srv.fetch('/healthz')).status, 200, 'lighttpd listens on the port the file names');
      const token = await srv.token('runtime');
      const big = JSON.stringify({ agent: 'x'.repeat(5000) });
      const r = await srv.api('POST', '/api/v1/sessions', { token, body: big, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 413, 'max_body from the file');
      assert.match(r.json.error.message, /larger than 4096 bytes/);
    } finally {
      await srv.stop();
    }
  });

  it('the app refuses to start on a bad file', () => {
    const conf = tmpFile('bad.conf', 'page_cache_mb = lots\n');
    const app = path.resolve(ROOT, process.env.FD_APP || 'build/san/flightdeck.fcgi');
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(FLIGHTDECK_|FD_)/.test(k)));
    const r = spawnSync(app, [], { env: { ...clean, FD_ROOT: ROOT, FLIGHTDECK_CONF: conf }, encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /configuration: .*bad\.conf:1: page_cache_mb must be a whole number/);
  });
});

describe('request logs', () => {
  let srv, logFile, token, tokenName;
  before(async () => {
    logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fd-log-')), 'app.log');
    tmpDirs.push(path.dirname(logFile));
    srv = await startServer({ env: { FLIGHTDECK_LOG_FILE: logFile, FLIGHTDECK_LOG_LEVEL: 'debug' } });
    tokenName = `logged-${process.pid}`;
    token = await srv.token('admin', { name: tokenName });
  });
  after(async () => { await srv.stop(); });

  it('one JSON line per request: time, id, method, route, status, duration, who; never a secret', async () => {
    const s = await createSession(srv, token, { agent: 'logged' });
    const r = await srv.api('GET', `/api/v1/sessions/${s.id}`, { token, headers: { 'x-request-id': 'trace-me-1' } });
    assert.equal(r.status, 200);
    const c = await srv.login('admin', srv.adminPassword);
    assert.equal((await c.get('/sessions')).status, 200);
    // A share link: its path is a credential.
    const csrf = await c.csrf(`/sessions/${s.id}`);
    await c.post(`/sessions/${s.id}/share`, { csrf, expires: '1h', return_to: `/sessions/${s.id}` });
    const m = /\/share\/([A-Za-z0-9_.-]+)/.exec((await c.get(`/sessions/${s.id}`)).text);
    assert.ok(m, 'a share link was made');
    const shareToken = m[1];
    assert.equal((await srv.fetch(`/share/${shareToken}`)).status, 200);
    const lines = await until(() => {
      const l = logLines(logFile);
      return l.some((x) => x.request_id === 'trace-me-1') && l.some((x) => x.who === 'user:admin') ? l : null;
    });
    assert.ok(lines, 'the requests were logged');
    const one = lines.find((x) => x.request_id === 'trace-me-1');
    assert.deepEqual(Object.keys(one).sort(),
      ['addr', 'bytes', 'level', 'method', 'ms', 'msg', 'request_id', 'route', 'status', 'time', 'who'].sort());
    assert.equal(one.msg, 'request');
    assert.equal(one.level, 'info');
    assert.equal(one.method, 'GET');
    assert.equal(one.route, '/api/v1/sessions/{id}', 'the route pattern, not the path');
    assert.equal(one.status, 200);
    assert.equal(one.who, `token:${tokenName}`);
    assert.ok(one.ms >= 0 && one.ms < 10000);
    assert.equal(one.bytes, r.text.length);
    assert.match(one.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(one.time) - Date.now()) < 60000);
    // Every request id the app answered with is in the log once.
    assert.equal(lines.filter((x) => x.request_id === 'trace-me-1' && x.msg === 'request').length, 1);
    const text = fs.readFileSync(logFile, 'utf8');
    assert.ok(!text.includes(token), 'the token is never logged');
    assert.ok(!text.includes(srv.adminPassword), 'the password is never logged');
    assert.ok(!text.includes(s.id), 'paths (ids, share tokens) are not logged, routes are');
    assert.ok(!text.includes(shareToken), 'a share link is never logged');
    assert.ok(lines.some((x) => x.route === '/share/{token}' && x.who === 'share' && x.status === 200));
  });

  it('client errors at debug carry the request id; the level filters', async () => {
    const r = await srv.api('GET', '/api/v1/sessions/ses_missing', { token, headers: { 'x-request-id': 'missing-1' } });
    assert.equal(r.status, 404);
    const lines = await until(() => {
      const l = logLines(logFile).filter((x) => x.request_id === 'missing-1');
      return l.length >= 2 ? l : null;
    });
    const dbg = lines.find((x) => x.level === 'debug');
    assert.ok(dbg, 'a debug line for the 404');
    assert.match(dbg.msg, /^404 not_found: /);
    assert.equal(dbg.route, '/api/v1/sessions/{id}');
    assert.equal(lines.find((x) => x.msg === 'request').status, 404);
  });

  it('at level warn no request lines are written', async () => {
    const f = path.join(path.dirname(logFile), 'warn.log');
    const quiet = await startServer({ env: { FLIGHTDECK_LOG_FILE: f, FLIGHTDECK_LOG_LEVEL: 'warn' } });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await quiet.fetch('/healthz')).status, 200);
      assert.equal((await quiet.fetch('/nope')).status, 404);
    } finally {
      await quiet.stop();
    }
    assert.deepEqual(logLines(f).filter((x) => x.level !== 'error' && x.level !== 'warn'), []);
  });
});
