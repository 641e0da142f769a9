// Crash safety (issue 8): runtimes append at full speed (idempotency keys,
// the same request again after a lost answer), operators pause, resume and
// cancel, while the app is killed with SIGKILL at random moments (lighttpd
// starts it again on the same database) and, now and then, lighttpd and its
// children together (started again by the test). Afterwards every event
// answered 2xx is in the database exactly once, PRAGMA integrity_check is
// ok, and every session's status, lifecycle walk and audit are legal.
//
// Bounded by default (make test): 8 kills over about 40 s. FD_SOAK=long
// (make soak): 40 kills over about 200 s. SOAK_KILLS, SOAK_EVERY_MS and
// SOAK_CLIENTS override.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { startLoad, checkDatabase, summarize, appPids, waitHealthy, waitGone } from '../lib/load.mjs';

const long = process.env.FD_SOAK === 'long';
const KILLS = Number(process.env.SOAK_KILLS || (long ? 40 : 8));
const EVERY_MS = Number(process.env.SOAK_EVERY_MS || 5000);
const CLIENTS = Number(process.env.SOAK_CLIENTS || 24);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('crash safety: SIGKILL under load', { timeout: (KILLS * EVERY_MS * 2 + 180000) }, () => {
  let srv, runtime, operator, viewer;
  const killed = new Set();

  before(async () => {
    srv = await startServer();
    [runtime, operator, viewer] = await Promise.all([srv.token('runtime'), srv.token('operator'), srv.token('viewer')]);
  });
  after(async () => {
    await srv?.stop();
    // Belt and braces: no app this test killed (or started) outlives it.
    for (const p of killed) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    }
  });

  it(`${KILLS} kills (every ${KILLS >= 4 ? 4 : 2}th one of lighttpd with its children): nothing acknowledged is lost`, async () => {
    const web = await srv.login('admin', srv.adminPassword);
    const load = startLoad(srv, {
      runtime,
      operator,
      viewer,
      web,
      prefix: 'crash',
      mix: { runtimes: Math.round(CLIENTS * 0.7), operators: 2, pages: 2, reads: 2, polls: Math.max(1, CLIENTS - Math.round(CLIENTS * 0.7) - 6) },
    });
    let appKills = 0;
    let lighttpdKills = 0;
    const t0 = Date.now();
    try {
      for (let i = 0; i < KILLS; i++) {
        await sleep(EVERY_MS * (0.4 + Math.random() * 1.2));
        const apps = appPids(srv);
        if ((i + 1) % 4 === 0 || (KILLS < 4 && i === KILLS - 1)) {
          // lighttpd and its children, all with SIGKILL, then start it again.
          const lpid = srv.proc.pid;
          const gone = new Promise((r) => srv.proc.once('exit', r));
          process.kill(lpid, 'SIGKILL');
          for (const p of apps) {
            try {
              process.kill(p, 'SIGKILL');
              killed.add(p);
            } catch {
              /* already gone */
            }
          }
          await gone;
          assert.ok(await waitGone(apps), 'the killed app is gone');
          lighttpdKills++;
          await srv.relaunch();
        } else {
          assert.ok(apps.length > 0, 'the app runs under lighttpd');
          for (const p of apps) {
            process.kill(p, 'SIGKILL');
            killed.add(p);
          }
          appKills++;
        }
        assert.ok(await waitHealthy(srv, 30000), `healthy again after kill ${i + 1}`);
      }
    } finally {
      await sleep(1000);
      await load.stop();
    }
    const stats = load.stats;
    const sum = summarize(stats);
    assert.ok(await waitHealthy(srv), 'healthy at the end');
    const report = checkDatabase(srv.dbPath, stats);
    const figures = {
      kills: appKills + lighttpdKills,
      appKills,
      lighttpdKills,
      seconds: ((Date.now() - t0) / 1000).toFixed(1),
      sessions: report.sessions,
      byStatus: report.byStatus,
      eventsAcked: report.acked,
      missing: report.missing,
      duplicated: report.duplicated,
      integrity: report.integrity,
      requests: sum.requests,
      retries: sum.retries,
      netErrors: sum.netErrors,
      fiveXX: sum.fiveXX,
      fiveXXByStatus: stats.fiveXX.reduce((m, x) => ((m[x.status] = (m[x.status] || 0) + 1), m), {}),
      fiveXXFromApp: sum.fiveXXFromApp,
    };
    console.log(`soak crash: ${JSON.stringify(figures)}`);
    assert.deepEqual(report.problems.slice(0, 20), [], 'the database after the crashes');
    assert.equal(report.integrity, 'ok');
    assert.ok(report.acked > 100, `events were acknowledged (${report.acked})`);
    assert.deepEqual(stats.gaveUp.slice(0, 5), [], 'no request failed for a whole minute');
    assert.deepEqual(stats.unexpected.slice(0, 5), [], 'no unexpected answer');
    // A kill cuts requests in flight (lighttpd answers 500 or 503 for them,
    // without X-Request-Id); the app itself never answers 5xx.
    assert.deepEqual(stats.fiveXX.filter((x) => x.fromApp).slice(0, 5), [], 'no 5xx from the app');
  });
});
