// Backup and restore (issue 11): `flightdeck db backup` while runtimes
// write, then `db restore` into the running server: everything acknowledged
// before the backup began is there, with all its events, nothing written
// after the backup is, and the server goes on. Also: restore refusals (no
// --force, the database itself, not a database, a newer schema), an older
// backup migrated on the way in, `db check` on a sound and a damaged file,
// `db vacuum`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, ROOT } from '../lib/server.mjs';
import { createSession, append, sleep } from '../lib/fixtures.mjs';

describe('db backup, restore, check, vacuum', () => {
  let srv, runtime, admin;
  const q = (db, s) => execFileSync('sqlite3', ['-cmd', '.timeout 5000', db, s], { encoding: 'utf8' }).trim();
  const run = (args, opts) => srv.cli(args, { allowFail: true, ...opts });

  before(async () => {
    srv = await startServer();
    runtime = await srv.token('runtime');
    admin = await srv.token('admin');
  });
  after(async () => { await srv?.stop(); });

  it('restores a backup taken under write load into the running server, with nothing missing', async () => {
    const acked = [];       // [id, finishedAt] of sessions whose batch was acknowledged
    let stop = false;
    const writer = async (w) => {
      for (let i = 0; !stop; i++) {
        const s = await createSession(srv, runtime, { id: `bk-${w}-${i}`, agent: 'backup-load', status: 'running' });
        await append(srv, runtime, s.id, { events: Array.from({ length: 20 }, (_, k) => ({ id: `e${k}`, type: 'thought', content: `w${w} s${i} e${k}` })) });
        acked.push([s.id, Date.now()]);
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    const file = path.join(srv.varDir, 'restore-me.db');
    await sleep(400);
    const began = Date.now();
    const b = await run(['db', 'backup', file]);
    const ended = Date.now();
    assert.equal(b.code, 0, b.stderr);
    await sleep(400);
    stop = true;
    await Promise.all(writers);
    const before = acked.filter(([, t]) => t < began).map(([id]) => id);
    const after = acked.filter(([, t]) => t > ended + 50).map(([id]) => id);
    assert.ok(before.length > 0 && after.length > 0, `${before.length} before, ${after.length} after`);

    const r = await run(['db', 'restore', file, '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Restored .*restore-me\.db into .* \(\d+ sessions, schema version \d+\)\.\n$/);
    for (const id of before) {
      const s = await srv.api('GET', `/api/v1/sessions/${id}?include=events`, { token: admin });
      assert.equal(s.status, 200, `${id} acknowledged before the backup began`);
      assert.equal(s.json.events.filter((e) => e.type === 'thought').length, 20, `${id}: all its events`);
    }
    for (const id of after) {
      const s = await srv.api('GET', `/api/v1/sessions/${id}`, { token: admin });
      assert.equal(s.status, 404, `${id} was written after the backup ended`);
    }
    // Every restored session has all of its batch or none of it (a snapshot).
    const counts = q(srv.dbPath, "SELECT DISTINCT (SELECT count(*) FROM events e WHERE e.session_id = s.id AND e.type = 'thought') FROM sessions s WHERE agent = 'backup-load'");
    for (const n of counts.split('\n').map(Number)) assert.ok(n === 0 || n === 20, `a session with ${n} events`);
    const c = await run(['db', 'check']);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /: ok \(integrity check, foreign keys, schema version \d+\)/);
    // The server goes on, on the restored content.
    const more = await append(srv, runtime, before[0], { type: 'thought', content: 'after the restore' });
    assert.equal(more.status, 'running');
    const fresh = await createSession(srv, runtime, { agent: 'after-restore' });
    assert.equal(fresh.status, 'pending');
  });

  it('refuses what it should, and nothing changes', async () => {
    const file = path.join(srv.varDir, 'refusals.db');
    assert.equal((await run(['db', 'backup', file])).code, 0);
    const sessions = q(srv.dbPath, 'SELECT count(*) FROM sessions');
    let r = await run(['db', 'restore', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /holds \d+ sessions; add --force/);
    r = await run(['db', 'restore', srv.dbPath, '--force']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the database itself/);
    const junk = path.join(srv.varDir, 'junk.db');
    fs.writeFileSync(junk, 'this is not a database, it is a text file that is long enough to look like one'.repeat(100));
    r = await run(['db', 'restore', junk, '--force']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /restore failed .*the database is unchanged/);
    const newer = path.join(srv.varDir, 'newer.db');
    fs.copyFileSync(file, newer);
    q(newer, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 1)");
    r = await run(['db', 'restore', newer, '--force']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /from a newer Flightdeck \(schema version 999\)/);
    assert.equal((await run(['db', 'restore'])).code, 2);
    assert.equal(q(srv.dbPath, 'SELECT count(*) FROM sessions'), sessions, 'nothing changed');
    assert.deepEqual(fs.readdirSync(path.dirname(srv.dbPath)).filter((n) => n.includes('.restore-')), [], 'no staging file left');
  });

  it('an older backup is migrated on the way in', async () => {
    // A database as release 5 left it: migrations 001-005, with one session.
    const old = path.join(srv.varDir, 'old.db');
    const sqlDir = path.join(ROOT, 'sql');
    const first5 = fs.readdirSync(sqlDir).filter((n) => /^00[1-5]_.*\.sql$/.test(n)).sort();
    assert.equal(first5.length, 5);
    let script = 'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);';
    first5.forEach((n, i) => { script += fs.readFileSync(path.join(sqlDir, n), 'utf8') + `;INSERT INTO schema_migrations VALUES (${i + 1}, '${n}', 1);`; });
    script += "INSERT INTO sessions (id, agent, name, status, created_at, updated_at) VALUES ('ses_old_release', 'archivist', 'From release 5', 'pending', 1, 1);";
    script += "INSERT INTO events (session_id, seq, type, time, body, created_at) VALUES ('ses_old_release', 1, 'user_message', 1, '{\"content\":\"kept through the upgrade\"}', 1);";
    execFileSync('sqlite3', [old], { input: script });
    const r = await run(['db', 'restore', old, '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(1 sessions, schema version \d+, migrated\)/);
    // The old database had no tokens: the restore took ours with the rest.
    assert.equal((await srv.api('GET', '/api/v1/sessions', { token: admin })).status, 401);
    admin = await srv.token('admin');
    runtime = await srv.token('runtime');
    const s = await srv.api('GET', '/api/v1/sessions/ses_old_release?include=events', { token: admin });
    assert.equal(s.status, 200);
    assert.equal(s.json.events[0].data.content, 'kept through the upgrade');
    const found = await srv.api('GET', '/api/v1/sessions?q=upgrade', { token: admin });
    assert.deepEqual(found.json.data.map((x) => x.id), ['ses_old_release'], 'text search indexed it');
    assert.equal((await run(['db', 'check'])).code, 0);
  });

  it('db check finds a damaged file; db vacuum gives space back', async () => {
    const file = path.join(srv.varDir, 'to-damage.db');
    // Something to damage and something to delete.
    for (let i = 0; i < 30; i++) {
      const s = await createSession(srv, runtime, { agent: 'bulk', status: 'running' });
      await append(srv, runtime, s.id, { events: Array.from({ length: 50 }, (_, k) => ({ type: 'thought', content: `${'x'.repeat(200)} ${i} ${k}` })) });
    }
    assert.equal((await run(['db', 'backup', file])).code, 0);
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, Math.floor(size / 2 / 4096) * 4096);
    fs.closeSync(fd);
    const bad = await run(['--db', file, 'db', 'check']);
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stdout + bad.stderr, /integrity_check|malformed|problems/);

    q(srv.dbPath, "PRAGMA foreign_keys=ON; DELETE FROM sessions WHERE agent = 'bulk'");
    const v = await run(['db', 'vacuum']);
    assert.equal(v.code, 0, v.stderr);
    const [, b, a] = v.stdout.match(/(\d+) bytes before, (\d+) after/).map(Number);
    assert.ok(a < b, `${a} < ${b}`);
    assert.equal((await run(['db', 'check', '--quick'])).code, 0);
    assert.equal((await srv.api('GET', '/api/v1/sessions?limit=1', { token: admin })).status, 200);
  });
});
