// The service (issue 11): etc/systemd/flightdeck.service run the way
// systemd would run it, by hand (no systemd here): its Environment=, its
// ExecStartPre= (doctor, setup) and ExecStart= (lighttpd, which starts the
// app), as an unprivileged user when the tests run as root. Then its
// ExecReload= (a graceful restart) under load with long-polls in flight:
// not one request may fail. And `flightdeck doctor` on good and broken
// deployments.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import http from 'node:http';
import { ROOT, freePort } from '../lib/server.mjs';
import { sleep, until } from '../lib/fixtures.mjs';

const UNIT = path.join(ROOT, 'etc/systemd/flightdeck.service');
const AS_ROOT = process.getuid() === 0;
const NOBODY = 65534;
const LIGHTTPD = execFileSync('sh', ['-c', 'command -v lighttpd']).toString().trim();

/** The unit's [Service] settings: {Environment: [...], ExecStartPre: [...], ...}. */
function parseUnit(text) {
  const out = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) { section = m[1]; continue; }
    const eq = line.indexOf('=');
    const k = `${section}.${line.slice(0, eq)}`;
    (out[k] ||= []).push(line.slice(eq + 1));
  }
  return out;
}

/** argv of an Exec line with the installation paths made this checkout's. */
function argvOf(line, conf) {
  return line.replaceAll('/etc/flightdeck/flightdeck.conf', conf).replaceAll('/opt/flightdeck', ROOT)
    .replace(/^\/usr\/sbin\/lighttpd/, LIGHTTPD).split(/\s+/);
}

/** Run as the service's user would: nobody when we are root. */
function asUser(argv) {
  return AS_ROOT ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv] : argv;
}

const kids = (pid) => spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const uidOf = (pid) => Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

/** One request on a connection of its own (no keep-alive): a failure is the
 *  server's, never the race of reusing a connection the server is closing
 *  (which HTTP/1.1 clients answer by retrying). {status, body}. */
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}


describe('the systemd unit, run by hand', () => {
  let unit, state, conf, env, port, url, lighttpd, token;
  const run = (line, extra = {}) => {
    const [cmd, ...args] = asUser(argvOf(line, conf));
    return spawnSync(cmd, args, { cwd: ROOT, env: { ...env, ...extra }, encoding: 'utf8', timeout: 60000 });
  };

  before(async () => {
    unit = parseUnit(fs.readFileSync(UNIT, 'utf8'));
    state = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-service-'));
    if (AS_ROOT) fs.chownSync(state, NOBODY, NOBODY);
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    conf = path.join(state, 'flightdeck.conf');
    // The example settings file, pointed at this test's state folder.
    const example = fs.readFileSync(path.join(ROOT, 'etc/systemd/flightdeck.conf'), 'utf8')
      .replaceAll('/var/lib/flightdeck', state).replace(/^port = .*$/m, `port = ${port}`);
    fs.writeFileSync(conf, example);
    env = { PATH: process.env.PATH, LANG: 'C.UTF-8' };
    for (const e of unit['Service.Environment']) {
      const [k, v] = e.split('=');
      env[k] = v.replaceAll('/opt/flightdeck', ROOT).replaceAll('/etc/flightdeck/flightdeck.conf', conf);
    }
  });
  after(async () => {
    for (const p of [lighttpd?.pid, ...(lighttpd ? kids(lighttpd.pid) : [])]) if (p && alive(p)) process.kill(p, 'SIGKILL');
    fs.rmSync(state, { recursive: true, force: true });
  });

  it('declares an unprivileged user, reload by SIGUSR1, a hardened sandbox', () => {
    assert.equal(unit['Service.User'][0], 'flightdeck');
    assert.deepEqual(unit['Service.ExecReload'], ['/bin/kill -USR1 $MAINPID']);
    assert.equal(unit['Service.KillMode'][0], 'control-group');
    for (const k of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp'])
      assert.ok(unit[`Service.${k}`], `${k} is set`);
    assert.deepEqual(unit['Service.ReadWritePaths'], ['/var/lib/flightdeck']);
    const verify = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (verify.status === 0) {
      const copy = path.join(state, 'flightdeck.service');
      fs.writeFileSync(copy, fs.readFileSync(UNIT, 'utf8').replaceAll('/opt/flightdeck', ROOT).replace('/usr/sbin/lighttpd', LIGHTTPD));
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      assert.equal(r.status, 0, `systemd-analyze verify: ${r.stderr}`);
    }
  });

  it('starts as the unit does: doctor, setup, lighttpd + the app as an unprivileged user', async () => {
    const pre = unit['Service.ExecStartPre'];
    assert.match(pre[0], /flightdeck doctor$/);
    let r = run(pre[0]);
    assert.equal(r.status, 0, `doctor:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^0 failed/m);
    r = run(pre[1]);
    assert.equal(r.status, 0, `setup: ${r.stderr}`);
    assert.match(r.stdout, /Created user "admin"/);
    assert.doesNotMatch(r.stdout, /demo sessions/, 'no demo data in production');
    r = run(`/opt/flightdeck/bin/flightdeck token create --name ops --role admin`);
    assert.equal(r.status, 0, r.stderr);
    token = r.stdout.trim();

    const [cmd, ...args] = asUser(argvOf(unit['Service.ExecStart'][0], conf));
    const out = fs.openSync(path.join(state, 'lighttpd.out'), 'a');
    lighttpd = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const up = await until(async () => {
      try { return (await fetch(`${url}/healthz`)).status === 200; } catch { return false; }
    }, 15000);
    assert.ok(up, `the service answers on ${url}:\n${fs.readFileSync(path.join(state, 'lighttpd.out'), 'utf8')}`);
    const app = kids(lighttpd.pid);
    assert.equal(app.length, 1, 'lighttpd started one app process');
    if (AS_ROOT) {
      assert.equal(uidOf(lighttpd.pid), NOBODY, 'lighttpd runs unprivileged');
      assert.equal(uidOf(app[0]), NOBODY, 'the app runs unprivileged');
    }
    const db = fs.statSync(path.join(state, 'flightdeck.db'));
    if (AS_ROOT) assert.equal(db.uid, NOBODY, 'the database belongs to the service user');
  });

  it('reloads gracefully under load: no request dropped, long-polls answered, a new app', async () => {
    assert.ok(lighttpd, 'the service runs');
    const auth = { authorization: `Bearer ${token}` };
    const before = kids(lighttpd.pid);
    const s = await (await fetch(`${url}/api/v1/sessions`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ agent: 'reloaded' }),
    })).json();
    await fetch(`${url}/api/v1/sessions/${s.id}/events`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ type: 'thought', content: 'running' }] }),
    });
    let ok = 0;
    const failures = [];
    let stop = false;
    const loop = async (i) => {
      let n = 0;
      while (!stop) {
        try {
          const write = (n++ + i) % 3 === 0;
          const r = write
            ? await request(`${url}/api/v1/sessions/${s.id}/events`, {
              method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
              body: JSON.stringify({ events: [{ type: 'thought', content: `during reload ${i}.${n}` }] }),
            })
            : await request(`${url}/api/v1/sessions?limit=5`, { headers: auth });
          if (r.status === 200) ok++;
          else failures.push(r.status);
        } catch (e) {
          failures.push(String(e.code || e.message));
        }
      }
    };
    // Long-polls in flight across the reload: each must get its answer.
    const poll = () => request(`${url}/api/v1/sessions/${s.id}/control?status=running&wait=2`, { headers: auth })
      .catch((e) => ({ status: String(e.code || e.message) }));
    const loops = [0, 1, 2, 3].map(loop);
    await sleep(300);
    const polls = [poll(), poll()];
    await sleep(200);
    const reload = argvOf(unit['Service.ExecReload'][0].replace('$MAINPID', String(lighttpd.pid)), conf);
    execFileSync(reload[0], reload.slice(1));
    const after = await until(() => {
      const k = kids(lighttpd.pid);
      return k.length === 1 && !before.includes(k[0]) ? k : null;
    }, 15000);
    await sleep(1000);
    stop = true;
    await Promise.all(loops);
    const answered = await Promise.all(polls);
    assert.deepEqual(failures, [], `requests failed during the reload (${ok} succeeded)`);
    assert.ok(ok > 50, `requests were answered (${ok})`);
    for (const p of answered) assert.equal(p.status, 200, `a long-poll in flight: ${JSON.stringify(p)}`);
    assert.ok(after, 'lighttpd started a new app');
    assert.ok(alive(lighttpd.pid), 'lighttpd itself stays (same main pid for systemd)');
    assert.ok(await until(() => before.every((p) => !alive(p)), 10000), 'the old app has exited');
    const r = await fetch(`${url}/api/v1/sessions/${s.id}/events?limit=1000`, { headers: auth });
    const got = (await r.json()).data.filter((e) => e.type === 'thought').length;
    assert.ok(got > 1, 'the appends during the reload are all there');
  });

  it('stops as systemd stops it: SIGTERM to every process, all gone in time', async () => {
    const procs = [lighttpd.pid, ...kids(lighttpd.pid)];
    for (const p of procs) process.kill(p, 'SIGTERM');
    assert.ok(await until(() => procs.every((p) => !alive(p)), 10000), 'lighttpd and the app exited');
    lighttpd = null;
  });
});

describe('flightdeck doctor', () => {
  let dir;
  const CLI = path.join(ROOT, 'bin/flightdeck');
  const doctor = (extra = {}) => spawnSync(CLI, ['doctor'], {
    cwd: os.tmpdir(), encoding: 'utf8',
    env: { PATH: process.env.PATH, FD_ROOT: ROOT, FLIGHTDECK_VAR: dir, FLIGHTDECK_DB: path.join(dir, 'fd.db'), FLIGHTDECK_DEMO: '0', ...extra },
  });
  const line = (out, name) => out.split('\n').find((l) => l.slice(6, 22).trim() === name) || '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-doctor-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a healthy deployment passes; a missing database is a warning', () => {
    let r = doctor();
    assert.equal(r.status, 0, r.stdout);
    assert.match(line(r.stdout, 'database'), /^warn .*does not exist yet/);
    assert.match(line(r.stdout, 'lighttpd'), /^ok /);
    assert.ok(!fs.existsSync(path.join(dir, 'fd.db')), 'doctor creates nothing');
    execFileSync(CLI, ['setup'], { env: { PATH: process.env.PATH, FD_ROOT: ROOT, FLIGHTDECK_DB: path.join(dir, 'fd.db'), FLIGHTDECK_DEMO: '0' } });
    fs.chmodSync(path.join(dir, 'fd.db'), 0o600);
    r = doctor();
    assert.equal(r.status, 0, r.stdout);
    assert.match(line(r.stdout, 'database'), /^ok .*schema \d+, 0 sessions, quick_check ok/);
    assert.match(line(r.stdout, 'first password'), /^warn .*initial-admin-password is still there/);
    assert.match(r.stdout, /^0 failed, \d+ warnings?$/m);
  });

  it('finds what is broken: permissions, key file, damaged database, lighttpd config', () => {
    const db = path.join(dir, 'fd.db');
    fs.chmodSync(db, 0o644);
    let r = doctor();
    assert.match(line(r.stdout, 'database'), /^warn .*readable by every user/);
    fs.chmodSync(db, 0o600);
    // Encryption on with a database and no key file: sealed values would be lost.
    r = doctor({ FLIGHTDECK_ENCRYPT_PAYLOADS: '1' });
    assert.equal(r.status, 1);
    assert.match(line(r.stdout, 'payload key'), /^FAIL .*missing/);
    const key = path.join(dir, 'fd.db.key');
    // The CLI makes the key file (0600) when encryption is on and there is none.
    execFileSync(CLI, ['retention', 'list'], { env: { PATH: process.env.PATH, FD_ROOT: ROOT, FLIGHTDECK_DB: db, FLIGHTDECK_ENCRYPT_PAYLOADS: '1' } });
    r = doctor({ FLIGHTDECK_ENCRYPT_PAYLOADS: '1' });
    assert.match(line(r.stdout, 'payload key'), /^ok .*mode 0600, 1 key$/);
    fs.chmodSync(key, 0o644);
    r = doctor({ FLIGHTDECK_ENCRYPT_PAYLOADS: '1' });
    assert.equal(r.status, 1);
    assert.match(line(r.stdout, 'payload key'), /^FAIL .*mode 0644: it must be 0600/);
    fs.chmodSync(key, 0o600);
    const good = fs.readFileSync(key);
    fs.writeFileSync(key, 'not a key\n');
    r = doctor({ FLIGHTDECK_ENCRYPT_PAYLOADS: '1' });
    assert.equal(r.status, 1);
    assert.match(line(r.stdout, 'payload key'), /^FAIL .*fd\.db\.key: /);
    fs.writeFileSync(key, good);
    r = doctor();
    assert.match(line(r.stdout, 'payload key'), /^ok .*encryption off; .*values sealed earlier stay readable/);
    fs.rmSync(key);
    // Listening beyond loopback is a warning; an address lighttpd cannot
    // use fails its own config test, and doctor says what lighttpd said.
    r = doctor({ FLIGHTDECK_BIND: '0.0.0.0' });
    assert.match(line(r.stdout, 'address'), /^warn .*TLS/);
    r = doctor({ FLIGHTDECK_BIND: '256.1.1.1' });
    assert.equal(r.status, 1);
    assert.match(line(r.stdout, 'lighttpd'), /^FAIL .*lighttpd -tt .* fails: .*256\.1\.1\.1/);
    // A state folder that does not exist.
    r = doctor({ FLIGHTDECK_VAR: path.join(dir, 'nope') });
    assert.equal(r.status, 1);
    assert.match(line(r.stdout, 'state folder'), /^FAIL .*No such file/);
    // A damaged database.
    const bad = path.join(dir, 'bad.db');
    fs.copyFileSync(db, bad);
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096);
    fs.closeSync(fd);
    r = doctor({ FLIGHTDECK_DB: bad });
    assert.equal(r.status, 1, r.stdout);
    assert.match(line(r.stdout, 'database'), /^FAIL /);
    // A configuration lighttpd cannot load: a FastCGI program that is not there.
    r = doctor({ FLIGHTDECK_FCGI: path.join(dir, 'no-such-app') });
    assert.equal(r.status, 1);
    assert.match(line(r.stdout, 'files'), /^FAIL .*no-such-app/);
  });
});
