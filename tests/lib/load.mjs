// Load and crash-safety helpers (issue 8): a load generator that speaks the
// runtime protocol the way a careful runtime must (its own session ids, an
// idempotency key on every event, the same request again after a lost
// answer), operators pausing, resuming and canceling, browsers reading pages
// and long-polling, and a check of the database afterwards.
//
//   const load = startLoad(srv, { runtime, operator, viewer, web, clients: 50 });
//   await sleep(15000);
//   const stats = await load.stop();
//   const report = checkDatabase(srv, stats);   // {problems: [...], ...}
//
// Used by tests/soak/*.test.mjs. Requests go through fetch() directly (not
// srv.api: no schema check per answer, it would cost more than the request).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { legalStep, STATUSES } from './fixtures.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (a) => a[Math.floor(Math.random() * a.length)];

/** Is status an answer that means "the server could not take this now; send
 *  it again"? Any 5xx: lighttpd answers 500 for a request whose app died
 *  under it (and 503 while it restarts the app); with its idempotency key a
 *  request is safe to send again. The app's own answers (X-Request-Id) are
 *  counted apart, so a 500 of the app still fails a test. */
const retryable = (status) => status >= 500;

/** The quantile q (0..1) of an array of numbers (sorted in place). */
export function quantile(xs, q) {
  if (!xs.length) return 0;
  xs.sort((a, b) => a - b);
  return xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
}

/**
 * Start the load. Options:
 *   runtime, operator, viewer   API tokens with those roles
 *   web        a signed-in browser client (srv.login), for page views
 *   clients    how many concurrent clients in all (default 50); split into
 *              runtimes (45 %), page viewers (20 %), API readers (15 %),
 *              long-pollers (10 %) and operators (10 %); `mix` overrides
 *   mix        {runtimes, pages, reads, polls, operators} counts
 *   prefix     session id prefix (default a random one)
 *   retryForMs how long a runtime keeps sending one request again (60 s)
 * Returns {stats, stop()}; stop() ends every client after its request in
 * flight (a runtime finishes its retries first) and resolves the stats.
 */
export function startLoad(srv, opts) {
  const n = opts.clients ?? 50;
  const mix = opts.mix ?? {
    runtimes: Math.max(1, Math.round(n * 0.45)),
    pages: Math.round(n * 0.2),
    reads: Math.round(n * 0.15),
    polls: Math.round(n * 0.1),
    operators: 0,
  };
  if (!opts.mix) mix.operators = Math.max(1, n - mix.runtimes - mix.pages - mix.reads - mix.polls);
  const prefix = opts.prefix ?? `ld${Math.random().toString(36).slice(2, 8)}`;
  const retryForMs = opts.retryForMs ?? 60000;
  const stats = {
    prefix,
    mix,
    started: Date.now(),
    ended: 0,
    acked: new Map(), // "sid key" -> event type, for every event answered 2xx
    sessions: [], // session ids created (acknowledged)
    requests: 0,
    byKind: {},
    latency: {}, // kind -> [ms] (long-polls excluded)
    fiveXX: [], // {status, method, path, text} of every 5xx answer
    netErrors: 0,
    retries: 0,
    gaveUp: [], // requests still failing after retryForMs
    unexpected: [], // answers no client expected (4xx other than the refusals of the lifecycle)
  };
  let stopping = false;

  async function request(kind, method, path, { token, json, cookie, body, headers = {}, longPoll = false } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (cookie) h.cookie = cookie;
    let b = body;
    if (json !== undefined) {
      b = JSON.stringify(json);
      h['content-type'] = 'application/json';
    }
    const t0 = performance.now();
    stats.requests++;
    stats.byKind[kind] = (stats.byKind[kind] || 0) + 1;
    let res;
    let text;
    try {
      res = await fetch(srv.url + path, { method, headers: h, body: b, redirect: 'manual', signal: AbortSignal.timeout(60000) });
      text = await res.text();
    } catch (e) {
      stats.netErrors++;
      return { status: 0, error: e };
    }
    const ms = performance.now() - t0;
    if (!longPoll) (stats.latency[kind] ||= []).push(ms);
    if (res.status >= 500) {
      stats.fiveXX.push({ status: res.status, fromApp: res.headers.has('x-request-id'), method, path, text: text.slice(0, 300), at: Date.now() - stats.started });
    }
    let parsed;
    if ((res.headers.get('content-type') || '').startsWith('application/json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON after all */
      }
    }
    return { status: res.status, json: parsed, text, headers: res.headers };
  }

  /** The same request again until it gets an answer that is not "try again"
   *  (a lost connection, 502/503/504), for up to retryForMs. */
  async function reliable(kind, method, path, o) {
    const end = Date.now() + retryForMs;
    for (let attempt = 0; ; attempt++) {
      const r = await request(kind, method, path, o);
      if (r.status !== 0 && !retryable(r.status)) return { ...r, attempt };
      if (Date.now() > end) {
        stats.gaveUp.push({ method, path, status: r.status });
        return { ...r, attempt };
      }
      stats.retries++;
      const ra = Number(r.headers?.get('retry-after'));
      await sleep(ra > 0 ? Math.min(ra * 1000, 2000) : 50 + Math.random() * 150);
    }
  }

  const unexpected = (what, r) => stats.unexpected.push({ what, status: r.status, text: (r.text || String(r.error)).slice(0, 300) });

  // ------------------------------------------------------------ runtimes
  async function runtimeClient(idx) {
    let nsess = 0;
    while (!stopping) {
      const sid = `${prefix}-${idx}-${nsess++}`;
      const cr = await reliable('create', 'POST', '/api/v1/sessions', {
        token: opts.runtime,
        json: { id: sid, agent: `load-agent-${idx % 7}`, name: `load ${sid}`, metadata: { load: prefix } },
      });
      // 409 on a retry: the first attempt was recorded, its answer lost.
      if (!(cr.status === 201 || (cr.status === 409 && cr.attempt > 0))) {
        if (cr.status !== 0) unexpected(`create ${sid}`, cr);
        continue;
      }
      stats.sessions.push(sid);
      let k = 0;
      const key = () => `${sid}.${k++}`;
      /** Append a batch; returns the answer (acks recorded on 2xx). */
      const send = async (events) => {
        const body = events.length === 1 ? events[0] : { events };
        const r = await reliable('append', 'POST', `/api/v1/sessions/${sid}/events`, { token: opts.runtime, json: body });
        if (r.status >= 200 && r.status < 300) for (const e of events) stats.acked.set(`${sid} ${e.id}`, e.type);
        else if (r.status !== 409 && r.status !== 0) unexpected(`append ${sid}`, r);
        return r;
      };
      let r = await send([{ id: key(), type: 'user_message', content: `task ${sid}` }]);
      const steps = 2 + Math.floor(Math.random() * 5);
      let stop = r.status !== 200;
      for (let s = 0; s < steps && !stop && !stopping; s++) {
        await send([
          { id: key(), type: 'thought', content: `step ${s}: thinking about ${sid}` },
          { id: key(), type: 'usage', model: 'load-model', prompt_tokens: 10 + s, completion_tokens: 5, cost: 0.001 },
        ]);
        const tc = `tc${s}`;
        r = await send([{ id: key(), type: 'tool_call', tool_call_id: tc, tool: pick(['search', 'fetch', 'shell']), kind: 'server', arguments: { q: `${sid} ${s}` } }]);
        if (r.status === 409) {
          // Paused or canceled: wait (briefly) for a resume, as a runtime does.
          const st = r.json?.status;
          if (st === 'paused' || st === 'pausing') {
            const c = await reliable('control', 'GET', `/api/v1/sessions/${sid}/control?status=${st}&wait=2`, { token: opts.runtime, longPoll: true });
            if (c.json?.status === 'running') continue;
          }
          stop = true;
          break;
        }
        if (r.status !== 200) break;
        await sleep(Math.random() * 20);
        r = await send([{ id: key(), type: 'tool_result', tool_call_id: tc, result: { ok: true, n: s } }]);
      }
      if (!stop && !stopping) {
        const fail = Math.random() < 0.2;
        await send([fail ? { id: key(), type: 'status', status: 'failed', error: 'load: gave up', step: 'work' } : { id: key(), type: 'status', status: 'completed', response: 'done' }]);
      }
    }
  }

  // ------------------------------------------------------------ operators
  async function operatorClient() {
    while (!stopping) {
      await sleep(50 + Math.random() * 200);
      if (!stats.sessions.length) continue;
      const sid = pick(stats.sessions.slice(-60));
      const action = pick(['pause', 'pause', 'resume', 'resume', 'cancel']);
      const r = await request('action', 'POST', `/api/v1/sessions/${sid}/${action}`, { token: opts.operator });
      if (r.status !== 200 && r.status !== 409 && !(r.status === 0 || retryable(r.status))) unexpected(`${action} ${sid}`, r);
    }
  }

  // ------------------------------------------------------------ readers
  const cookie = () => (opts.web ? opts.web.jar.header('/sessions') : '');
  async function pageClient() {
    while (!stopping) {
      const sid = stats.sessions.length ? pick(stats.sessions) : null;
      const p = !sid || Math.random() < 0.35
        ? pick(['/sessions', '/sessions?status=running', '/sessions?status=paused&status=canceled', '/sessions?sort=cost&dir=desc', `/sessions?q=${prefix}`])
        : `/sessions/${sid}${pick(['', '?tab=activity', '?tab=trace', '?tab=logs', '?tab=metadata', '?tab=summary'])}`;
      const r = await request('page', 'GET', p, { cookie: cookie() });
      if (r.status !== 200 && r.status !== 0 && !retryable(r.status)) unexpected(`GET ${p}`, r);
    }
  }

  async function apiReader() {
    while (!stopping) {
      const sid = stats.sessions.length ? pick(stats.sessions) : null;
      const p = !sid || Math.random() < 0.3
        ? pick(['/api/v1/sessions?limit=50', '/api/v1/sessions?status=running&limit=20', '/healthz'])
        : pick([`/api/v1/sessions/${sid}`, `/api/v1/sessions/${sid}/events?limit=200`, `/api/v1/sessions/${sid}?include=events,trace`]);
      const r = await request('read', 'GET', p, { token: opts.viewer });
      if (r.status !== 200 && r.status !== 0 && !retryable(r.status)) unexpected(`GET ${p}`, r);
    }
  }

  async function longPoller(idx) {
    let since = '';
    while (!stopping) {
      if (idx % 2 === 0 || !stats.sessions.length) {
        const r = await request('changes', 'GET', `/changes?wait=5${since ? `&since=${encodeURIComponent(since)}` : ''}`, { cookie: cookie(), longPoll: true });
        if (r.status === 200 && r.json?.token) since = r.json.token;
        else if (r.status !== 0 && !retryable(r.status)) unexpected('GET /changes', r);
        else await sleep(200);
      } else {
        const sid = pick(stats.sessions);
        const s = await request('read', 'GET', `/api/v1/sessions/${sid}/control`, { token: opts.runtime });
        if (s.status !== 200) continue;
        const r = await request('control', 'GET', `/api/v1/sessions/${sid}/control?status=${s.json.status}&seq=${s.json.seq}&wait=5`, { token: opts.runtime, longPoll: true });
        if (r.status !== 200 && r.status !== 0 && !retryable(r.status)) unexpected('control', r);
        if (r.headers?.get('retry-after')) await sleep(1000);
      }
    }
  }

  const tasks = [];
  for (let i = 0; i < mix.runtimes; i++) tasks.push(runtimeClient(i));
  for (let i = 0; i < mix.operators; i++) tasks.push(operatorClient(i));
  for (let i = 0; i < mix.pages; i++) tasks.push(pageClient(i));
  for (let i = 0; i < mix.reads; i++) tasks.push(apiReader(i));
  for (let i = 0; i < mix.polls; i++) tasks.push(longPoller(i));

  return {
    stats,
    async stop() {
      stopping = true;
      await Promise.all(tasks);
      stats.ended = Date.now();
      return stats;
    },
  };
}

/** A summary of the stats: throughput and latency percentiles (ms). */
export function summarize(stats) {
  const secs = (stats.ended - stats.started) / 1000;
  const all = Object.values(stats.latency).flat();
  const per = {};
  for (const [k, xs] of Object.entries(stats.latency)) per[k] = { n: xs.length, p50: +quantile(xs, 0.5).toFixed(1), p99: +quantile(xs, 0.99).toFixed(1) };
  return {
    seconds: +secs.toFixed(1),
    requests: stats.requests,
    rps: +(stats.requests / secs).toFixed(1),
    p50: +quantile(all, 0.5).toFixed(1),
    p99: +quantile(all, 0.99).toFixed(1),
    per,
    sessions: stats.sessions.length,
    acked: stats.acked.size,
    fiveXX: stats.fiveXX.length,
    fiveXXFromApp: stats.fiveXX.filter((x) => x.fromApp).length,
    netErrors: stats.netErrors,
    retries: stats.retries,
    gaveUp: stats.gaveUp.length,
    unexpected: stats.unexpected.length,
  };
}

/** Rows of a query on the server's database (sqlite3 CLI; WAL: sees every
 *  committed write). */
export function dbRows(dbPath, query) {
  const out = execFileSync('sqlite3', ['-json', '-cmd', '.timeout 10000', dbPath, query], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return out.trim() ? JSON.parse(out) : [];
}

/**
 * Check the database after a run: integrity, every acknowledged event
 * present exactly once (by idempotency key), and every session of the run
 * consistent: a status of the table, a legal lifecycle walk from pending
 * that ends in it, audit rows saying the same, sequence numbers gapless,
 * executing_calls equal to the calls still running, no pausing/canceling
 * session without a call executing. Returns {problems: [strings], ...counts}.
 */
export function checkDatabase(dbPath, stats) {
  const problems = [];
  const like = `'${stats.prefix}-%'`;
  const integrity = dbRows(dbPath, 'PRAGMA integrity_check').map((r) => r.integrity_check).join('; ');
  if (integrity !== 'ok') problems.push(`integrity_check: ${integrity}`);

  const keys = new Map();
  for (const r of dbRows(dbPath, `SELECT session_id AS s, client_id AS k FROM events WHERE client_id IS NOT NULL AND session_id LIKE ${like}
                                 UNION ALL SELECT session_id, client_id FROM event_keys WHERE session_id LIKE ${like}`)) {
    const id = `${r.s} ${r.k}`;
    keys.set(id, (keys.get(id) || 0) + 1);
  }
  let missing = 0;
  let dup = 0;
  for (const [id, type] of stats.acked) {
    const c = keys.get(id) || 0;
    if (c === 0) {
      missing++;
      if (missing <= 10) problems.push(`acknowledged ${type} event ${id} is missing`);
    } else if (c > 1) {
      dup++;
      if (dup <= 10) problems.push(`acknowledged ${type} event ${id} is recorded ${c} times`);
    }
  }
  for (const [id, c] of keys) if (c > 1 && !stats.acked.has(id)) problems.push(`event ${id} is recorded ${c} times`);
  if (missing > 10) problems.push(`... ${missing} acknowledged events missing in all`);

  const sessions = dbRows(dbPath, `SELECT s.id, s.status, s.next_seq, s.executing_calls,
      (SELECT count(*) FROM tool_calls t WHERE t.session_id = s.id AND t.state = 'running') AS running,
      (SELECT count(*) FROM events e WHERE e.session_id = s.id) AS n,
      (SELECT coalesce(max(seq), 0) FROM events e WHERE e.session_id = s.id) AS maxseq,
      (SELECT coalesce(min(seq), 1) FROM events e WHERE e.session_id = s.id) AS minseq
    FROM sessions s WHERE s.id LIKE ${like}`);
  const have = new Set(sessions.map((s) => s.id));
  for (const sid of stats.sessions) if (!have.has(sid)) problems.push(`acknowledged session ${sid} is missing`);
  const steps = new Map();
  for (const r of dbRows(dbPath, `SELECT session_id AS s, seq, json_extract(body, '$.action') AS action, json_extract(body, '$.from') AS f,
                                        json_extract(body, '$.to') AS t, json_extract(body, '$.actor') AS actor
                                 FROM events WHERE type = 'lifecycle' AND session_id LIKE ${like} ORDER BY session_id, seq`)) {
    if (!steps.has(r.s)) steps.set(r.s, []);
    steps.get(r.s).push(r);
  }
  const audit = new Map();
  for (const r of dbRows(dbPath, `SELECT session_id AS s, action, from_status AS f, to_status AS t, actor FROM audit
                                 WHERE session_id LIKE ${like} AND action NOT IN ('create', 'delete') ORDER BY id`)) {
    if (!audit.has(r.s)) audit.set(r.s, []);
    audit.get(r.s).push(r);
  }
  const byStatus = {};
  for (const s of sessions) {
    byStatus[s.status] = (byStatus[s.status] || 0) + 1;
    const bad = (m) => problems.length < 200 && problems.push(`${s.id}: ${m}`);
    if (!STATUSES.includes(s.status)) bad(`status ${s.status} is not in the table`);
    if (s.n !== s.maxseq || s.minseq !== 1 || s.next_seq !== s.maxseq + 1) bad(`sequence numbers: ${s.n} events, seq ${s.minseq}..${s.maxseq}, next_seq ${s.next_seq}`);
    if (s.executing_calls !== s.running) bad(`executing_calls ${s.executing_calls} but ${s.running} calls running`);
    if ((s.status === 'pausing' || s.status === 'canceling') && s.running === 0) bad(`${s.status} with no call executing`);
    const walk = steps.get(s.id) || [];
    let cur = 'pending';
    const path = walk.map((w) => `${w.f} -${w.action}-> ${w.t}`).join(', ');
    for (const w of walk) {
      if (w.f !== cur) bad(`a step starts at ${w.f}, not at ${cur}: ${path}`);
      if (!legalStep(w.action, w.f, w.t)) bad(`illegal step ${w.f} -${w.action}-> ${w.t}: ${path}`);
      cur = w.t;
    }
    if (cur !== s.status) bad(`the walk ends in ${cur}, the session is ${s.status}: ${path}`);
    const au = (audit.get(s.id) || []).map((a) => `${a.action} ${a.f} ${a.t} ${a.actor}`).join('; ');
    const ev = walk.map((w) => `${w.action} ${w.f} ${w.t} ${w.actor}`).join('; ');
    if (au !== ev) bad(`audit (${au}) differs from the lifecycle events (${ev})`);
  }
  return { problems, integrity, sessions: sessions.length, byStatus, acked: stats.acked.size, keysInDb: keys.size, missing, duplicated: dup };
}

// ------------------------------------------------------------ processes

/** Child pids of pid, from /proc. */
export function childPids(pid) {
  const out = [];
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const k of fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) if (k) out.push(Number(k));
      } catch {
        /* gone */
      }
    }
  } catch {
    /* gone */
  }
  return out;
}

/** The pids of the app processes lighttpd (srv.proc) runs now: its children
 *  whose executable is srv.app. */
export function appPids(srv) {
  if (!srv.proc) return [];
  const real = fs.realpathSync(srv.app);
  return childPids(srv.proc.pid).filter((k) => {
    try {
      return fs.readlinkSync(`/proc/${k}/exe`).replace(/ \(deleted\)$/, '') === real;
    } catch {
      return false;
    }
  });
}

/** Wait until /healthz answers 200 (after a restart); false on timeout. */
export async function waitHealthy(srv, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const r = await fetch(srv.url + '/healthz', { signal: AbortSignal.timeout(2000) });
      await r.text();
      if (r.status === 200) return true;
    } catch {
      /* not yet */
    }
    await sleep(50);
  }
  return false;
}

/** Is pid gone (or a zombie nobody reaped yet)? */
export function gone(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** Wait until every pid is gone: lighttpd started again while a killed app
 *  still holds the socket takes it for a running backend and spawns none. */
export async function waitGone(pids, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end && !pids.every(gone)) await sleep(10);
  return pids.every(gone);
}
