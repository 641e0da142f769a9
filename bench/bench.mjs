// `make bench`: measures Flightdeck against references taken in the same run
// and writes bench/RESULTS.md. Steps (see README, "Benchmark"):
//   1. the dataset (build/bench/gen; reused when it is there)
//   2. lighttpd + the app as `make run` serves them (bench/lighttpd.conf adds
//      the references), wrk with 32 connections: reference A (static file),
//      reference B (trivial FastCGI responder), then the app's pages and API;
//      the History page again while 200 runtimes long-poll, between two
//      measurements without the polls (before and after)
//   3. ingestion through the API in batches of 1, 100, 1000 (build/bench/
//      loadgen) against reference C (build/bench/sqlite_ref: the same rows
//      straight into SQLite)
//   4. peak RSS, cold start, database size per million events
//   5. bench/RESULTS.md
// Only 127.0.0.1 is used. Every process started here is stopped by its pid.
//
// Environment: BENCH_DIR (var/bench), BENCH_DB (BENCH_DIR/fd.db),
// BENCH_PORT (a free port), BENCH_SECONDS (5 per run), BENCH_RUNS (3),
// BENCH_SESSIONS (1000000: the dataset), BENCH_TEMPLATES (20000: of them played
// by the demo generator), BENCH_SKIP_UNCACHED=1.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { otlpLoad } from './otlp_load.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.resolve(process.env.BENCH_DIR || path.join(ROOT, 'var', 'bench'));
const DB = path.resolve(process.env.BENCH_DB || path.join(DIR, 'fd.db'));
const STATE = path.join(DIR, 'run');
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const SESSIONS = Number(process.env.BENCH_SESSIONS || 1000000);
const CONNS = 32;
const RUNTIMES = 8; /* concurrent runtimes appending events */
const BIN = {
  app: path.join(ROOT, 'bin', 'flightdeck.fcgi'),
  cli: path.join(ROOT, 'bin', 'flightdeck'),
  gen: path.join(ROOT, 'build', 'bench', 'gen'),
  ref: path.join(ROOT, 'build', 'bench', 'fcgi_ref'),
  loadgen: path.join(ROOT, 'build', 'bench', 'loadgen'),
  sqliteRef: path.join(ROOT, 'build', 'bench', 'sqlite_ref'),
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log('bench:', ...a);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  return r;
}

function cli(args, input) {
  return run(BIN.cli, ['--db', DB, ...args], { input, allowFail: true });
}

const sql = (q) => run('sqlite3', ['-readonly', DB, q]).stdout.trim();

/** Child pids of pid (its threads' children files). */
function childPids(pid) {
  const out = [];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const kids = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    }
  } catch { /* gone */ }
  return out;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(st.slice(st.lastIndexOf(')') + 2).split(' ')[0]);
  } catch {
    return false;
  }
}

async function stopPid(pid, sig = 'SIGTERM') {
  if (!alive(pid)) return;
  try { process.kill(pid, sig); } catch { return; }
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
  if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

const procStatus = (pid, key) => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};

/** The app's peak RSS since the last call (VmHWM), recorded under `phase`
 *  in `into`; then the peak is reset to the current RSS (/proc/PID/
 *  clear_refs, 5), so the next phase's peak is its own. The largest phase
 *  peak is the run's peak. Where the reset is refused, peaks only add up,
 *  and the largest is still the run's. */
function phasePeak(pid, phase, into) {
  if (!pid) return;
  into.push({ phase, hwm: procStatus(pid, 'VmHWM') });
  try { fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); } catch { /* not allowed: peaks add up */ }
}

/** lighttpd + the app (+ reference B) on port, as scripts/run.sh starts them. */
async function startServer(port, env = {}, conf = path.join(ROOT, 'bench', 'lighttpd.conf')) {
  fs.mkdirSync(STATE, { recursive: true });
  for (const f of fs.readdirSync(STATE)) if (f.includes('.sock')) fs.rmSync(path.join(STATE, f), { force: true });
  const t0 = process.hrtime.bigint();
  const proc = spawn('lighttpd', ['-D', '-f', conf], {
    env: {
      ...process.env,
      FD_ROOT: ROOT, FD_VAR: STATE, FD_BENCH: STATE, PORT: String(port), FD_APP: BIN.app,
      FD_REF_BIN: BIN.ref, FLIGHTDECK_DB: DB, FLIGHTDECK_TEMPLATES: path.join(ROOT, 'templates'),
      // The app logs a line per request, as in production (log_level info);
      // to /dev/null, so the cost is measured without a gigabyte of log.
      FLIGHTDECK_LOG_FILE: '/dev/null',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let ready = -1;
  for (let i = 0; i < 2000; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      await r.arrayBuffer();
      if (r.status === 200) { ready = Number(process.hrtime.bigint() - t0) / 1e6; break; }
    } catch { /* not yet */ }
    await sleep(2);
  }
  if (ready < 0) throw new Error('the server did not answer /healthz');
  const kids = childPids(proc.pid);
  const appPid = kids.find((k) => {
    try { return fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('flightdeck.fcgi'); } catch { return false; }
  });
  const srv = {
    port, proc, appPid, ready,
    async stop() {
      live.delete(srv);
      const all = childPids(proc.pid);
      await stopPid(proc.pid);
      for (const k of all) await stopPid(k);
    },
  };
  live.add(srv);
  return srv;
}
const live = new Set(); /* servers to stop if the run fails */

/** Sign in as user through the login form; the Cookie header for pages. */
async function signIn(base, user, password) {
  const form = await get(`${base}/login`);
  const html = await form.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)[1];
  const loginCookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const r = await get(`${base}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ csrf, next: '/sessions', username: user, password }).toString(),
  });
  const cookies = r.headers.getSetCookie().map((c) => c.split(';')[0]).filter((c) => !c.endsWith('='));
  if (r.status !== 303 && r.status !== 302) throw new Error(`sign-in failed: ${r.status}`);
  return cookies.join('; ');
}

/** wrk against url: {rps, p50, p99 (ms), non2xx, bytes per answer}. */
function wrk(url, headers = {}, seconds = SECONDS, conns = CONNS) {
  const args = ['-t2', `-c${conns}`, `-d${seconds}s`, '--timeout', '30s', '-s', path.join(ROOT, 'bench', 'report.lua')];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const out = run('wrk', args).stdout.trim().split('\n').pop();
  const j = JSON.parse(out);
  return {
    rps: j.requests / (j.duration_us / 1e6), p50: j.p50_us / 1000, p99: j.p99_us / 1000,
    non2xx: j.non2xx + j.socket_errors, size: j.requests ? j.bytes / j.requests : 0,
  };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/** RUNS measured runs after a short warm-up: median, min, max of req/s and p99. */
/** fetch, once more when a kept-alive connection was closed under it. */
async function get(url, init) {
  try {
    return await fetch(url, init);
  } catch {
    await sleep(100);
    return fetch(url, init);
  }
}

/** GET url with exactly these headers, nothing decompressed: {status, headers, body}.
 * A connection of its own each time (agent: false): lighttpd may have closed
 * a kept-alive one while wrk ran. */
function rawGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

async function measure(name, url, headers, { conns = CONNS, runs: nruns = RUNS } = {}) {
  // The bytes as sent (compressed when the case asks for gzip).
  const check = await rawGet(url, headers);
  const body = check.body;
  if (check.status !== 200) throw new Error(`${name}: ${url} answered ${check.status}: ${body.toString().slice(0, 300)}`);
  if (headers['accept-encoding'] && check.headers['content-encoding'] !== 'gzip') throw new Error(`${name}: ${url} was not sent gzip-compressed`);
  wrk(url, headers, 1, conns);
  const runs = [];
  for (let i = 0; i < nruns; i++) runs.push(wrk(url, headers, SECONDS, conns));
  const rps = runs.map((r) => r.rps), p99 = runs.map((r) => r.p99);
  const res = {
    name, url: url.replace(/^http:\/\/[^/]+/, ''), rps: median(rps), rpsMin: Math.min(...rps), rpsMax: Math.max(...rps),
    p99: median(p99), p50: median(runs.map((r) => r.p50)), bytes: body.length,
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  };
  log(`${name}: ${res.rps.toFixed(0)} req/s (${res.rpsMin.toFixed(0)}–${res.rpsMax.toFixed(0)}), p99 ${res.p99.toFixed(2)} ms, ${res.bytes} B${res.non2xx ? `, ${res.non2xx} errors` : ''}`);
  return res;
}

function loadgenJson(args) {
  const r = run(BIN.loadgen, args);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function main() {
  fs.mkdirSync(DIR, { recursive: true });
  const started = new Date();
  const results = { pages: [], uncached: [], ingest: [], otlp: [], reference: {}, facts: {} };

  // 1. The dataset.
  log(`dataset ${DB}`);
  const tg = Date.now();
  const genArgs = ['--sessions', String(SESSIONS)];
  if (process.env.BENCH_TEMPLATES) genArgs.push('--templates', process.env.BENCH_TEMPLATES);
  run(BIN.gen, genArgs, { env: { ...process.env, FLIGHTDECK_DB: DB }, stdio: 'inherit' });
  results.facts.genSeconds = (Date.now() - tg) / 1000;
  const counts = sql("SELECT (SELECT count(*) FROM sessions)||' '||(SELECT count(*) FROM events)||' '||" +
    "(SELECT count(*) FROM spans)||' '||(SELECT count(*) FROM logs)||' '||(SELECT count(*) FROM tool_calls)").split(' ').map(Number);
  [results.facts.sessions, results.facts.events, results.facts.spans, results.facts.logs, results.facts.toolCalls] = counts;
  const big = sql("SELECT id FROM sessions WHERE next_seq > 19000 ORDER BY created_at LIMIT 1");
  const topAgent = sql('SELECT agent FROM sessions GROUP BY agent ORDER BY count(*) DESC LIMIT 1');
  log(`${counts[0]} sessions, ${counts[1]} events; big session ${big}; top agent ${topAgent}`);

  // Who measures: an admin signed in on the pages, an admin token for the
  // API, a runtime token for ingestion and long-polls.
  const password = crypto.randomBytes(18).toString('base64url');
  if (cli(['user', 'add', 'bench', '--role', 'admin'], password + '\n').status !== 0) {
    run(BIN.cli, ['--db', DB, 'user', 'passwd', 'bench'], { input: password + '\n' });
  }
  const stamp = Date.now().toString(36);
  const readToken = run(BIN.cli, ['--db', DB, 'token', 'create', '--name', `bench-read-${stamp}`, '--role', 'admin']).stdout.trim();
  const rtToken = run(BIN.cli, ['--db', DB, 'token', 'create', '--name', `bench-runtime-${stamp}`, '--role', 'runtime']).stdout.trim();

  const port = Number(process.env.BENCH_PORT || await freePort());
  const base = `http://127.0.0.1:${port}`;

  // Cold start: lighttpd + the app as `make run` starts them (lighttpd.conf,
  // no references), now, while reading the dataset above has pushed the
  // binaries and the database's first pages out of the OS page cache.
  fs.mkdirSync(STATE, { recursive: true });
  let srv = await startServer(port, {}, path.join(ROOT, 'lighttpd.conf'));
  results.facts.coldStartMs = srv.ready;
  await srv.stop();

  // The OS page cache: a long-running server has its indexes in memory; a
  // dataset just written (or a machine that dropped its cache) would
  // measure the disk instead. Read what the cases use once.
  const tw = Date.now();
  sql('SELECT count(*) FROM sessions INDEXED BY sessions_by_time WHERE sort_time > 0');
  sql('SELECT count(*) FROM sessions INDEXED BY sessions_by_agent WHERE agent > \'\'');
  sql('SELECT count(*) FROM sessions INDEXED BY sessions_by_status WHERE status > \'\'');
  sql('SELECT sum(length(name)) FROM sessions');
  sql(`SELECT count(*), sum(length(body)) FROM events WHERE session_id = '${big}'`);
  sql("SELECT count(*) FROM search_events WHERE search_events MATCH 'rollback'");
  results.facts.warmSeconds = (Date.now() - tw) / 1000;
  log(`warmed the page cache in ${results.facts.warmSeconds.toFixed(1)} s`);

  // 2a. A first start for the History page's bytes for the references
  // (reference B needs its file to start: a placeholder first).
  fs.writeFileSync(path.join(STATE, 'page.html'), 'placeholder\n');
  fs.writeFileSync(path.join(STATE, 'page.html.gz'), 'placeholder\n');
  srv = await startServer(port);
  results.facts.warmStartMs = srv.ready;
  let cookie = await signIn(base, 'bench', password);
  const tf = process.hrtime.bigint();
  const first = await get(`${base}/sessions`, { headers: { cookie } });
  const page = Buffer.from(await first.arrayBuffer());
  results.facts.firstPageMs = Number(process.hrtime.bigint() - tf) / 1e6;
  fs.writeFileSync(path.join(STATE, 'page.html'), page);
  // As browsers get it: the app's own compressed copy (from its cache).
  const gzPage = await rawGet(`${base}/sessions`, { cookie, 'accept-encoding': 'gzip' });
  if (gzPage.headers['content-encoding'] !== 'gzip') throw new Error('the History page was not sent gzip-compressed');
  fs.writeFileSync(path.join(STATE, 'page.html.gz'), gzPage.body);
  // Page 10,000 (rows 499,951-500,000 of the History list, 50 a page): the
  // cursor the API gives after row 499,950. (A smaller dataset: its last page.)
  const pageNo = Math.min(10000, Math.floor(results.facts.sessions / 50) - 1);
  results.facts.pageNo = pageNo;
  // Walked with keyset pages of 200 (the API's offset stops at 100,000),
  // then 50 at a time to the exact row.
  let cursor = null;
  for (let row = 0; row < (pageNo - 1) * 50;) {
    const step = (pageNo - 1) * 50 - row >= 200 ? 200 : 50;
    const q = `limit=${step}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await get(`${base}/api/v1/sessions?${q}`, { headers: { authorization: `Bearer ${readToken}` } });
    const j = await r.json();
    if (r.status !== 200 || !j.next_cursor) throw new Error(`walking to page ${pageNo}: ${r.status} at row ${row}`);
    cursor = j.next_cursor;
    row += step;
  }
  await srv.stop();

  // 2b. The measured server (reference B reads page.html at its start).
  srv = await startServer(port);
  results.facts.coldStartMs2 = srv.ready;
  cookie = await signIn(base, 'bench', password);
  const peaks = [];
  phasePeak(srv.appPid, 'start and sign-in', peaks);
  const H = { cookie };
  const HZ = { cookie, 'accept-encoding': 'gzip' };
  const Z = { 'accept-encoding': 'gzip' };
  const A = { authorization: `Bearer ${readToken}` };
  const now = Date.now();
  const cases = [
    ['refA', 'reference A: static file (same bytes)', '/bench/ref-static', {}],
    ['refB', 'reference B: trivial FastCGI (same bytes)', '/bench/ref-fcgi', {}],
    ['history', 'History page, first page', '/sessions', H],
    ['refA_gz', 'reference A, gzip: static file of the compressed page', '/bench/ref-static-gz', Z],
    ['refB_gz', 'reference B, gzip: trivial FastCGI, the compressed page', '/bench/ref-fcgi-gz', Z],
    ['history_gz', 'History page, first page, gzip (as browsers ask)', '/sessions', HZ],
    ['filtered', `History, status=failed + agent=${topAgent} + last 7 days`, `/sessions?status=failed&agent=${encodeURIComponent(topAgent)}&range=7d`, H],
    ['page10000', `History, page ${fmt(pageNo)} by cursor`, `/sessions?cursor=${encodeURIComponent(cursor)}`, H],
    ['search', 'History, text search "rollback"', '/sessions?q=rollback', H],
    ['detail', 'Detail page of a 20,000-event session (summary)', `/sessions/${big}`, H],
    ['activity', 'Detail page of a 20,000-event session (activity tab)', `/sessions/${big}?tab=activity`, H],
    ['api', 'GET /api/v1/sessions (50 rows)', '/api/v1/sessions?limit=50', A],
  ];
  for (const [key, name, url, headers] of cases) {
    const r = await measure(name, base + url, headers);
    r.key = key;
    if (key.startsWith('ref')) results.reference[key] = r; else results.pages.push(r);
    if (!key.startsWith('ref')) phasePeak(srv.appPid, name, peaks);
  }

  // 2c. The History page while 200 runtimes long-poll their sessions,
  // between two measurements of the same page on the same data without
  // them: before the polls start (the runtimes' sessions made, the polls
  // held back until SIGUSR1) and after they ended. The page's rate drifts
  // over a run by about as much as the goal; the mean of the two sides
  // cancels a steady drift.
  const lp = spawn(BIN.loadgen, ['longpoll', '--url', base, '--token', rtToken, '--clients', '200',
    '--hold', '600', '--seconds', '1200'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lpOut = '';
  lp.stdout.on('data', (d) => { lpOut += d; });
  for (let waited = 0; !/"ready":\d+/.test(lpOut); waited += 100) {
    if (waited > 60000 || lp.exitCode !== null) throw new Error(`loadgen longpoll did not start: ${lpOut}`);
    await sleep(100);
  }
  const beforePolls = await measure('History page, same data, before the long-polls', `${base}/sessions`, H);
  beforePolls.key = 'history_before_longpoll';
  results.pages.push(beforePolls);
  process.kill(lp.pid, 'SIGUSR1');
  await sleep(4000);
  const withPolls = await measure('History page, 200 runtimes long-polling', `${base}/sessions`, H);
  withPolls.key = 'history_longpoll';
  results.pages.push(withPolls);
  phasePeak(srv.appPid, 'History page, 200 runtimes long-polling', peaks);
  await stopPid(lp.pid);
  await new Promise((r) => (lp.exitCode !== null ? r() : lp.on('exit', r)));
  try { results.facts.longpoll = JSON.parse(lpOut.trim().split('\n').pop()); } catch { /* none */ }
  // Wait for the long-polls the server still holds to time out first.
  await sleep(26000);
  const samePage = await measure('History page, same data, long-polls ended', `${base}/sessions`, H);
  samePage.key = 'history_after_longpoll';
  results.pages.push(samePage);

  // 3. Ingestion through the API, then reference C.
  for (const batch of [1, 100, 1000]) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      runs.push(loadgenJson(['ingest', '--url', base, '--token', rtToken, '--runtimes', String(RUNTIMES),
        '--batch', String(batch), '--seconds', String(SECONDS)]));
    }
    const eps = runs.map((r) => r.events_per_s);
    const r = { batch, eps: median(eps), epsMin: Math.min(...eps), epsMax: Math.max(...eps),
      p99: median(runs.map((x) => x.p99_ms)), errors: runs.reduce((a, x) => a + x.errors, 0) };
    log(`ingest batch ${batch}: ${r.eps.toFixed(0)} events/s (${r.epsMin.toFixed(0)}–${r.epsMax.toFixed(0)})`);
    results.ingest.push(r);
    phasePeak(srv.appPid, `ingestion, batches of ${fmt(batch)}`, peaks);
  }
  // 3b. OpenTelemetry: spans through POST /v1/traces (bench/otlp_load.mjs),
  // as many exporters as runtimes above, in both encodings.
  for (const protobuf of [false, true]) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await otlpLoad({ base, token: rtToken, protobuf, conns: RUNTIMES, seconds: SECONDS }));
    const sps = runs.map((r) => r.spans_per_s);
    const r = { encoding: runs[0].encoding, sps: median(sps), spsMin: Math.min(...sps), spsMax: Math.max(...sps),
      p99: median(runs.map((x) => x.p99_ms)), errors: runs.reduce((a, x) => a + x.errors, 0),
      spansPerRequest: runs[0].spans_per_request, bytes: runs[0].bytes_per_request };
    log(`otlp ${r.encoding}: ${r.sps.toFixed(0)} spans/s (${r.spsMin.toFixed(0)}–${r.spsMax.toFixed(0)})`);
    results.otlp.push(r);
    phasePeak(srv.appPid, `OTLP/${protobuf ? 'protobuf' : 'JSON'}`, peaks);
  }
  phasePeak(srv.appPid, 'the rest', peaks);
  results.facts.rssPhases = peaks;
  results.facts.peakRss = Math.max(0, ...peaks.map((p) => p.hwm));
  results.facts.rssNow = srv.appPid ? procStatus(srv.appPid, 'VmRSS') : 0;
  await srv.stop();
  for (const batch of [1, 100, 1000]) {
    const n = batch === 1 ? 20000 : 200000;
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const r = run(BIN.sqliteRef, ['--db', DB, '--batch', String(batch), '--events', String(n), '--runtimes', String(RUNTIMES)]);
      runs.push(JSON.parse(r.stdout.trim().split('\n').pop()).events_per_s);
    }
    const ref = { eps: median(runs), epsMin: Math.min(...runs), epsMax: Math.max(...runs) };
    results.ingest.find((x) => x.batch === batch).ref = ref;
    log(`reference C batch ${batch}: ${ref.eps.toFixed(0)} rows/s`);
  }

  // 2d. The same pages with the page cache off: what rendering costs.
  if (process.env.BENCH_SKIP_UNCACHED !== '1') {
    srv = await startServer(port, { FLIGHTDECK_PAGE_CACHE_MS: '0' });
    cookie = await signIn(base, 'bench', password);
    for (const [key, name, url, headers] of cases) {
      if (key.startsWith('ref')) continue;
      const hdrs = headers === A ? A : headers === HZ ? { cookie, 'accept-encoding': 'gzip' } : { cookie };
      // Two connections (one per core): the cost of one render, not a queue.
      const r = await measure(`${name} [cache off]`, base + url, hdrs, { conns: 2, runs: 1 });
      r.key = key;
      results.uncached.push(r);
    }
    results.facts.peakRssUncached = srv.appPid ? procStatus(srv.appPid, 'VmHWM') : 0;
    await srv.stop();
  }

  // Leave the dataset as it was: the ingestion and long-poll sessions go.
  run('sqlite3', [DB, "PRAGMA foreign_keys=ON; DELETE FROM sessions WHERE project IN ('bench-ingest','bench-longpoll'); PRAGMA wal_checkpoint(TRUNCATE);"]);
  cli(['token', 'revoke', `bench-read-${stamp}`]);
  cli(['token', 'revoke', `bench-runtime-${stamp}`]);
  results.facts.dbBytes = fs.statSync(DB).size;
  // What the data takes: the file less its free pages (rows deleted since it
  // was made, such as this run's own ingestion, leave pages free, not gone).
  const [pages, free, psize] = ['page_count', 'freelist_count', 'page_size'].map((p) => Number(sql(`PRAGMA ${p}`)));
  results.facts.dataBytes = (pages - free) * psize;
  results.facts.seconds = (Date.now() - started.getTime()) / 1000;
  fs.writeFileSync(path.join(DIR, 'results.json'), JSON.stringify(results, null, 2));
  writeReport(results, started);
  log(`wrote bench/RESULTS.md (${results.facts.seconds.toFixed(0)} s)`);
}

const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ver = (cmd, args, re = /.*/) => {
  // (wrk -v prints its version and exits 1.)
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const m = re.exec(`${r.stdout || ''}${r.stderr || ''}`);
  return m ? m[0].trim() : '?';
};

function writeReport(R, started) {
  const B = R.reference.refB, A = R.reference.refA;
  const BZ = R.reference.refB_gz, AZ = R.reference.refA_gz;
  // Each case against the references that sent the same kind of bytes.
  const refsOf = (p) => (p.key === 'history_gz' && BZ ? [BZ, AZ] : [B, A]);
  const goal = { history: 0.6, history_gz: 0.6, filtered: 0.4, page10000: 0.4, api: 0.4, search: 0.1, detail: 0.3, activity: 0.3 };
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  const L = [];
  L.push('# Benchmark results', '');
  L.push(`Written by \`make bench\` (bench/bench.mjs) on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC; the whole run took ${fmt(R.facts.seconds)} s.`);
  L.push('Every ratio is to a reference measured in the same run, on the same machine, with the same tools.', '');
  L.push('## Machine and versions', '');
  L.push(`- ${os.cpus().length} cores (${cpu ? cpu[1] : '?'}), ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, Linux ${os.release()}`);
  L.push(`- ${ver('lighttpd', ['-v'], /lighttpd\/\S+/)}, SQLite ${ver('sqlite3', ['--version'], /^\S+/)}, ${ver('wrk', ['-v'], /wrk \S+/)}, ${ver('cc', ['--version'], /^.*$/m)}, Node ${process.version}`);
  L.push(`- wrk: 2 threads, ${CONNS} connections, ${RUNS} runs of ${SECONDS} s per case after a 1 s warm-up; wrk shares the 2 cores with lighttpd and the app`, '');
  L.push('## Dataset', '');
  const f = R.facts;
  L.push(`${fmt(f.sessions)} sessions over 90 days, ${fmt(f.events)} events, ${fmt(f.toolCalls)} tool calls, ${fmt(f.spans)} spans, ${fmt(f.logs)} log lines (build/bench/gen: 20,000 sessions played by the demo generator through ingest.c, 5 sessions of 20,000 events, the rest copies of the finished ones moved back in time). Database ${fmt((f.dataBytes || f.dbBytes) / 2 ** 30, 2)} GiB of data: **${fmt((f.dataBytes || f.dbBytes) / 2 ** 20 / (f.events / 1e6))} MiB per million events** (everything included: sessions, spans, logs, indexes, text search; the file is ${fmt(f.dbBytes / 2 ** 30, 2)} GiB with the pages that deleted rows left free).`, '');
  L.push('## Pages and API', '');
  L.push(`Reference A (lighttpd, static file of the History page's ${fmt(A.bytes)} bytes): **${fmt(A.rps)} req/s** (${fmt(A.rpsMin)}–${fmt(A.rpsMax)}), p99 ${fmt(A.p99, 2)} ms.  `);
  L.push(`Reference B (the same bytes from a trivial FastCGI responder under the same lighttpd, bench/fcgi_ref.c): **${fmt(B.rps)} req/s** (${fmt(B.rpsMin)}–${fmt(B.rpsMax)}), p99 ${fmt(B.p99, 2)} ms.`, '');
  if (BZ && AZ) {
    L.push(`Browsers ask for gzip, and the app sends its cached pages compressed once, when rendered (cgi/pcache.h). For that case the references send the app's own compressed bytes (${fmt(AZ.bytes)} bytes) with Content-Encoding: gzip: reference A **${fmt(AZ.rps)} req/s** (p99 ${fmt(AZ.p99, 2)} ms), reference B **${fmt(BZ.rps)} req/s** (${fmt(BZ.rpsMin)}–${fmt(BZ.rpsMax)}), p99 ${fmt(BZ.p99, 2)} ms. The gzip row below is compared with these; every other row with the uncompressed references.`, '');
  }
  L.push('| case | bytes | req/s median (min–max) | p99 ms | × ref B | × ref A | goal | |', '|---|---:|---:|---:|---:|---:|---:|---|');
  for (const p of R.pages) {
    const g = goal[p.key];
    const [rb, ra] = refsOf(p);
    const ratio = p.rps / rb.rps;
    L.push(`| ${p.name}${p.non2xx ? ` (${p.non2xx} errors)` : ''} | ${fmt(p.bytes)} | ${fmt(p.rps)} (${fmt(p.rpsMin)}–${fmt(p.rpsMax)}) | ${fmt(p.p99, 2)} | ${fmt(ratio, 2)} | ${fmt(p.rps / ra.rps, 2)} | ${g ? `≥ ${g}` : ''} | ${g ? (ratio >= g ? 'met' : '**not met**') : ''} |`);
  }
  const ha = R.pages.find((p) => p.key === 'history_after_longpoll') || R.pages.find((p) => p.key === 'history');
  const hb = R.pages.find((p) => p.key === 'history_before_longpoll');
  const hl = R.pages.find((p) => p.key === 'history_longpoll');
  if (ha && hl) {
    const without = hb ? (hb.rps + ha.rps) / 2 : ha.rps;
    const cost = 1 - hl.rps / without;
    const h0 = R.pages.find((p) => p.key === 'history');
    const hz = R.pages.find((p) => p.key === 'history_gz');
    L.push('', `- History page p99 (goal ≤ 10 ms): ${hz ? `as browsers get it (gzip) **${fmt(hz.p99, 2)} ms** (${hz.p99 <= 10 ? 'met' : '**not met**'}), reference B with the same bytes ${fmt(BZ.p99, 2)} ms; ` : ''}uncompressed ${fmt(h0.p99, 2)} ms (${h0.p99 <= 10 ? 'met' : '**not met**'}), reference B with the same ${fmt(h0.bytes)} bytes ${fmt(B.p99, 2)} ms.`);
    L.push(`- 200 idle long-polls cost the History page ${fmt(cost * 100, 1)} % of its throughput (${fmt(hl.rps)} req/s), against the same page with the runtimes' sessions on it and no polls${hb ? `, the mean of before the polls began (${fmt(hb.rps)} req/s) and after they ended (${fmt(ha.rps)})` : ', measured after the polls ended'} (goal < 10 %: ${cost < 0.1 ? 'met' : '**not met**'})${f.longpoll ? `; the runtimes made ${fmt(f.longpoll.polls)} polls, ${fmt(f.longpoll.immediate)} answered at once with Retry-After because every long-poll slot was taken` : ''}.`);
  }
  if (R.uncached.length) {
    L.push('', '### The same cases with the page cache off', '');
    L.push('`FLIGHTDECK_PAGE_CACHE_MS=0`: every request renders from the database, measured with 2 connections (one per core), so p50 is the time one render takes. This is what the first viewer after a change waits for, and what a page costs while ingestion changes the database all the time.', '');
    L.push('| case | req/s median (min–max) | p50 ms | p99 ms | × ref B |', '|---|---:|---:|---:|---:|');
    for (const p of R.uncached) L.push(`| ${p.name.replace(' [cache off]', '')} | ${fmt(p.rps)} (${fmt(p.rpsMin)}–${fmt(p.rpsMax)}) | ${fmt(p.p50, 2)} | ${fmt(p.p99, 2)} | ${fmt(p.rps / refsOf(p)[0].rps, 3)} |`);
    L.push('', 'With the cache off, the gzip row is compressed by lighttpd (mod_deflate) on every request, as every page was before the app kept compressed copies.');
  }
  L.push('', '## Ingestion', '');
  L.push(`\`POST /api/v1/sessions/{id}/events\` from ${RUNTIMES} concurrent runtimes (build/bench/loadgen, keep-alive), against reference C: the same rows inserted by build/bench/sqlite_ref straight into the same database file, in transactions of the same size, with the same schema and triggers.`, '');
  L.push('| batch | API events/s median (min–max) | request p99 ms | ref C rows/s | × ref C | goal | |', '|---:|---:|---:|---:|---:|---|---|');
  for (const r of R.ingest) {
    const ratio = r.ref ? r.eps / r.ref.eps : NaN;
    let goalText = '', ok = '';
    if (r.batch === 1000) { goalText = '≥ 0.7 × ref C'; ok = ratio >= 0.7 ? 'met' : '**not met**'; }
    if (r.batch === 1) { goalText = '≥ 5,000 events/s'; ok = r.eps >= 5000 ? 'met' : '**not met**'; }
    L.push(`| ${fmt(r.batch)} | ${fmt(r.eps)} (${fmt(r.epsMin)}–${fmt(r.epsMax)})${r.errors ? ` (${r.errors} errors)` : ''} | ${fmt(r.p99, 1)} | ${r.ref ? `${fmt(r.ref.eps)} (${fmt(r.ref.epsMin)}–${fmt(r.ref.epsMax)})` : '?'} | ${fmt(ratio, 2)} | ${goalText} | ${ok} |`);
  }
  if (R.otlp && R.otlp.length) {
    const b100 = R.ingest.find((x) => x.batch === 100);
    L.push('', '## OpenTelemetry ingestion', '');
    L.push(`\`POST /v1/traces\` from ${RUNTIMES} concurrent exporters (bench/otlp_load.mjs, keep-alive), ${R.otlp[0].spansPerRequest} spans per request: ${R.otlp[0].spansPerRequest / 4} GenAI agent traces (invoke_agent > chat, execute_tool, chat with an evaluation event, message content included), each a new session. One span here becomes about three rows besides itself (events, a tool call, usage, an eval run), so the native API's events per second in batches of 100 (same run: ${b100 ? fmt(b100.eps) : '?'}) is the nearest reference.`, '');
    L.push('| encoding | bytes per request | spans/s median (min–max) | request p99 ms |', '|---|---:|---:|---:|');
    for (const r of R.otlp)
      L.push(`| ${r.encoding === 'json' ? 'OTLP/JSON' : 'OTLP/protobuf'} | ${fmt(r.bytes)} | **${fmt(r.sps)}** (${fmt(r.spsMin)}–${fmt(r.spsMax)})${r.errors ? ` (${r.errors} errors)` : ''} | ${fmt(r.p99, 1)} |`);
  }
  L.push('', '## Memory and start-up', '');
  const mb = (b) => fmt(b / 2 ** 20, 1);
  L.push(`- Peak RSS of the app (one process, ${process.env.FLIGHTDECK_WORKERS || 16} workers) after every case above on the full dataset: **${mb(f.peakRss)} MiB** (goal ≤ 32 MiB: ${f.peakRss <= 32 * 2 ** 20 ? 'met' : '**not met**'})${f.peakRssUncached ? `; with the page cache off: ${mb(f.peakRssUncached)} MiB` : ''}.`);
  if (f.rssPhases?.length) {
    const top = f.rssPhases.reduce((a, b) => (b.hwm > a.hwm ? b : a));
    L.push(`  Reached during "${top.phase}". The peak of each phase (VmHWM, reset after each): ${f.rssPhases.map((p) => `${p.phase} ${mb(p.hwm)}`).join('; ')} (MiB).`);
  }
  L.push(`- Cold start, from starting lighttpd with \`lighttpd.conf\` (as \`make run\` does; it starts the app) to the first answer of /healthz, right after the dataset was read whole (so the binaries and the database's first pages had left the OS page cache): **${fmt(f.coldStartMs, 1)} ms** (goal ≤ 100 ms: ${f.coldStartMs <= 100 ? 'met' : '**not met**'}). With the benchmark's configuration (which also starts the two reference responders): ${fmt(f.warmStartMs, 1)} ms after the warm-up and ${fmt(f.coldStartMs2, 1)} ms on the next start. The first History page after a start took ${fmt(f.firstPageMs, 1)} ms.`);
  L.push('');
  const extra = path.join(ROOT, 'bench', 'NOTES.md');
  if (fs.existsSync(extra)) L.push(fs.readFileSync(extra, 'utf8').trim(), '');
  fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS.md'), L.join('\n'));
}

main().catch(async (e) => {
  console.error('bench:', e.stack || e.message);
  for (const srv of [...live]) await srv.stop();
  process.exit(1);
});
