// Load (issue 8): many clients at once against one server, mixing page
// views (History, session tabs), API reads, runtime appends, long-polls
// (control wait, /changes) and lifecycle actions (pause, resume, cancel).
// No 5xx, no event acknowledged and lost or recorded twice, every session
// consistent at the end; prints throughput and latency percentiles.
//
// Bounded by default (make test): 50 clients for 15 s. FD_SOAK=long
// (make soak): 200 clients for 60 s. SOAK_CLIENTS and SOAK_SECONDS override.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { startLoad, checkDatabase, summarize } from '../lib/load.mjs';

const long = process.env.FD_SOAK === 'long';
const CLIENTS = Number(process.env.SOAK_CLIENTS || (long ? 200 : 50));
const SECONDS = Number(process.env.SOAK_SECONDS || (long ? 60 : 15));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('load', { timeout: SECONDS * 1000 + 240000 }, () => {
  let srv, runtime, operator, viewer;

  before(async () => {
    srv = await startServer();
    [runtime, operator, viewer] = await Promise.all([srv.token('runtime'), srv.token('operator'), srv.token('viewer')]);
  });
  after(async () => {
    await srv?.stop();
  });

  it(`${CLIENTS} clients for ${SECONDS} s: no 5xx, nothing lost or doubled, every session consistent`, async () => {
    const web = await srv.login('admin', srv.adminPassword);
    const load = startLoad(srv, { runtime, operator, viewer, web, clients: CLIENTS, prefix: 'load' });
    await sleep(SECONDS * 1000);
    const stats = await load.stop();
    const sum = summarize(stats);
    const report = checkDatabase(srv.dbPath, stats);
    console.log(`soak load: ${JSON.stringify({ clients: CLIENTS, mix: stats.mix, ...sum, byStatus: report.byStatus, integrity: report.integrity, missing: report.missing, duplicated: report.duplicated })}`);
    assert.deepEqual(stats.fiveXX.slice(0, 5), [], `no 5xx (${stats.fiveXX.length} in all)`);
    assert.equal(stats.netErrors, 0, 'no connection failed');
    assert.deepEqual(stats.unexpected.slice(0, 5), [], 'no unexpected answer');
    assert.deepEqual(stats.gaveUp, []);
    assert.deepEqual(report.problems.slice(0, 20), [], 'the database after the load');
    assert.equal(report.integrity, 'ok');
    assert.ok(report.acked > 100, `events were acknowledged (${report.acked})`);
    for (const k of ['append', 'page', 'read', 'action']) assert.ok(sum.per[k]?.n > 0, `some ${k} requests ran`);
    assert.ok((stats.byKind.control || 0) + (stats.byKind.changes || 0) > 0, 'some long-polls ran');
  });
});
