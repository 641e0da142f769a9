// A real Flightdeck for the HTTP and browser tests: lighttpd (lighttpd.conf)
// in front of the app on a free 127.0.0.1 port, with a fresh state directory
// and database, set up exactly as scripts/run.sh does:
//   <cli> setup                 migrate, create `admin` with a random password
//   lighttpd -D -f lighttpd.conf
// Sanitizer reports of the app (and of the CLI) go to <FD_VAR>/asan.<pid>;
// stop() fails if any exists.
//
//   const srv = await startServer({ env: { FLIGHTDECK_MAX_BODY: '65536' } });
//   const token = await srv.token('runtime');           // a new API token
//   const res = await srv.api('POST', '/api/v1/sessions', { token, json: {...} });
//   const web = await srv.login('admin', srv.adminPassword);
//   await web.get('/sessions');
//   await srv.stop();
//
// Environment: FD_APP (default build/san/flightdeck.fcgi), FD_CLI (default
// build/san/flightdeck), FD_KEEP=1 keeps the temp directory after stop().
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkResponse } from './openapi.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function abs(p) {
  return path.isAbsolute(p) ? p : path.join(ROOT, p);
}

/** Secret values the tests send ({"$secret": "S3CR3T_..._q9x"}, see
 *  tests/http/api_secrets.test.mjs). No answer of any test may carry one,
 *  except GET .../client-tool-calls, the one route that returns secrets. */
const SECRET_VALUE = /S3CR3T_[A-Za-z0-9_]*_q9x/;
export function assertNoSecret(what, p, text) {
  if (/\/client-tool-calls(\?|$)/.test(p)) return;
  const m = SECRET_VALUE.exec(text || '');
  if (m) throw new Error(`${what} ${p} answered the secret value ${m[0]} unmasked`);
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
/**
 * The whole database as SQL text (sqlite3 .dump), once it is at rest: the
 * server indexes queued search text in the background within a few hundred
 * ms of a commit (cgi/bg.h), which would otherwise show as a change between
 * two dumps around a refused request. Waits (up to 5 s) for that queue to be
 * empty first.
 */
export function dbDump(dbPath) {
  const sql = (q) => execFileSync('sqlite3', ['-readonly', '-cmd', '.timeout 5000', dbPath, q], {
    encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
  });
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 250 && sql('SELECT count(*) FROM search_pending').trim() !== '0'; i++) {
    Atomics.wait(pause, 0, 0, 20);
  }
  return sql('.dump');
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Is pid alive (and not a zombie)? */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Child pids of pid (from /proc; falls back to pgrep -P). */
function childPids(pid) {
  const out = new Set();
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      let kids = '';
      try {
        kids = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.trim().split(/\s+/)) if (k) out.add(Number(k));
    }
  } catch {
    /* gone */
  }
  if (out.size === 0) {
    try {
      const s = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
      for (const k of s.trim().split(/\s+/)) if (k) out.add(Number(k));
    } catch {
      /* pgrep exits 1 when there is none */
    }
  }
  return [...out];
}

/** The executable path of pid, or '' when it cannot be read. */
function exeOf(pid) {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
}

async function waitGone(pid, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await sleep(25);
  }
  return !alive(pid);
}

function readIf(file, max = 20000) {
  try {
    const s = fs.readFileSync(file, 'utf8');
    return s.length > max ? s.slice(-max) : s;
  } catch {
    return '';
  }
}

// ------------------------------------------------------------------ cookies

/** A minimal cookie jar for one origin: name -> {value, path}. */
export class CookieJar {
  constructor() {
    this.cookies = new Map();
  }
  /** Take the Set-Cookie headers of a response. */
  update(res) {
    const list = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
    for (const sc of list) {
      const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let cpath = '/';
      let expired = value === '';
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        if (k.toLowerCase() === 'path' && v) cpath = v;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, { value, path: cpath });
    }
  }
  get(name) {
    return this.cookies.get(name)?.value;
  }
  set(name, value, cpath = '/') {
    this.cookies.set(name, { value, path: cpath });
  }
  /** The Cookie header for a request to urlPath ('' when none apply). */
  header(urlPath) {
    const p = urlPath.split('?')[0];
    const parts = [];
    for (const [name, c] of this.cookies) {
      if (p === c.path || p.startsWith(c.path.endsWith('/') ? c.path : c.path + '/')) {
        parts.push(`${name}=${c.value}`);
      }
    }
    return parts.join('; ');
  }
}

/** HTML attribute-decoding of the few entities templates produce. */
export function htmlDecode(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&#x2F;|&#47;/g, '/')
    .replace(/&#x3D;|&#61;/g, '=')
    .replace(/&#x60;|&#96;/g, '`')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Attributes of one HTML start tag text, lowercased names. */
export function tagAttrs(tag) {
  const attrs = {};
  const re = /([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  const inner = tag.replace(/^<\s*[A-Za-z0-9]+/, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(inner))) {
    attrs[m[1].toLowerCase()] = htmlDecode(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** The <form>s of a page: [{action, method, inputs: [{name,type,value}]}]. */
export function parseForms(html) {
  const forms = [];
  const re = /<form\b[^>]*>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html))) {
    const open = m[0].match(/^<form\b[^>]*>/i)[0];
    const a = tagAttrs(open);
    const inputs = [];
    for (const t of m[1].match(/<(input|button|textarea|select)\b[^>]*>/gi) || []) {
      const ia = tagAttrs(t);
      const tagName = t.match(/^<\s*([a-z]+)/i)[1].toLowerCase();
      if (!ia.name) continue;
      inputs.push({ tag: tagName, name: ia.name, type: (ia.type || (tagName === 'input' ? 'text' : tagName)).toLowerCase(), value: ia.value ?? '' });
    }
    forms.push({ action: a.action ?? '', method: (a.method || 'get').toLowerCase(), inputs });
  }
  return forms;
}

/** The value of the first hidden input named `name` on a page, or undefined. */
export function hiddenValue(html, name) {
  for (const f of parseForms(html)) {
    for (const i of f.inputs) if (i.name === name && i.type === 'hidden') return i.value;
  }
  for (const t of html.match(/<input\b[^>]*>/gi) || []) {
    const a = tagAttrs(t);
    if (a.name === name) return a.value;
  }
  return undefined;
}

// ------------------------------------------------------------------- server

/**
 * Start lighttpd + the app. Options:
 *   env      extra environment for the app (e.g. FLIGHTDECK_MAX_BODY)
 *   app      the FastCGI program (default $FD_APP or build/san/flightdeck.fcgi)
 *   cli      the CLI (default $FD_CLI or build/san/flightdeck)
 *   portFromConfig  write the port into env.FLIGHTDECK_CONF (a file) and
 *            give lighttpd no PORT: the configuration file alone decides
 *   timeoutMs  how long to wait for /healthz (default 30 s)
 */
export async function startServer(opts = {}) {
  const app = abs(opts.app || process.env.FD_APP || 'build/san/flightdeck.fcgi');
  const cliPath = abs(opts.cli || process.env.FD_CLI || 'build/san/flightdeck');
  for (const [what, p] of [['app', app], ['CLI', cliPath]]) {
    if (!fs.existsSync(p)) throw new Error(`the ${what} ${p} does not exist: run \`make build san\` first`);
  }
  const varDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-test-'));
  const dbPath = path.join(varDir, 'db', 'flightdeck.db');
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const asanLog = path.join(varDir, 'asan');

  const env = {
    ...process.env,
    FD_ROOT: ROOT,
    FD_VAR: varDir,
    FD_APP: app,
    // lighttpd.conf takes port and folders from `flightdeck config lighttpd`.
    FD_CLI: cliPath,
    FLIGHTDECK_DB: dbPath,
    FLIGHTDECK_TEMPLATES: path.join(ROOT, 'templates'),
    FLIGHTDECK_PRICES: path.join(ROOT, 'etc', 'prices.json'),
    FLIGHTDECK_DEMO: '0',
    ASAN_OPTIONS: `abort_on_error=1:detect_leaks=1:log_path=${asanLog}`,
    UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=1:log_path=${asanLog}`,
    ...(opts.env || {}),
  };
  delete env.PORT;
  // Only what the test gives: never a developer's own settings.
  for (const k of ['FLIGHTDECK_CONF', 'FLIGHTDECK_PORT', 'FLIGHTDECK_VAR', 'FLIGHTDECK_FCGI', 'FLIGHTDECK_ROOT']) {
    if (!(opts.env && k in opts.env)) delete env[k];
  }

  const srv = {
    portFromConfig: !!opts.portFromConfig,
    root: ROOT,
    varDir,
    dbPath,
    app,
    cliPath,
    env,
    port: 0,
    url: '',
    adminPassword: '',
    proc: null,
    stopped: false,
  };

  /** Run the CLI against the same database. Resolves {code, stdout, stderr};
   *  rejects on a non-zero exit unless {allowFail: true}. */
  srv.cli = (args, { input, allowFail = false, timeoutMs = 60000, env: extra = {} } = {}) =>
    new Promise((resolve, reject) => {
      const p = spawn(cliPath, args, { cwd: ROOT, env: { ...env, ...extra }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        const r = { code, signal, stdout, stderr };
        try {
          assertNoSecret('flightdeck', args.join(' '), stdout + stderr);
        } catch (e) {
          reject(e);
          return;
        }
        if ((code !== 0 || signal) && !allowFail) {
          const err = new Error(
            `flightdeck ${args.join(' ')} exited ${code ?? signal}\nstdout: ${stdout}\nstderr: ${stderr}` +
              sanitizerReports(varDir),
          );
          err.result = r;
          reject(err);
        } else resolve(r);
      });
      p.stdin.on('error', () => {});
      p.stdin.end(input ?? '');
    });

  /** A new API token with `role` (and optional project); the token text. */
  let tokenSeq = 0;
  srv.token = async (role, { project, name } = {}) => {
    const n = name || `test-${role}-${process.pid}-${++tokenSeq}`;
    const args = ['token', 'create', '--name', n, '--role', role];
    if (project) args.push('--project', project);
    const { stdout } = await srv.cli(args);
    const tok = stdout.trim();
    if (!tok || /\s/.test(tok)) throw new Error(`token create printed ${JSON.stringify(stdout)}`);
    return tok;
  };

  /** A new user with a password (read by the CLI from stdin). */
  srv.addUser = async (name, password, role, { project } = {}) => {
    const args = ['user', 'add', name, '--role', role];
    if (project) args.push('--project', project);
    await srv.cli(args, { input: `${password}\n` });
  };

  /** fetch() against the server; never follows redirects. */
  srv.fetch = (p, init = {}) => fetch(srv.url + p, { redirect: 'manual', ...init });

  /** A JSON API request: {status, headers, json, text}. Throws when a JSON
   *  answer does not match docs/openapi.json (lib/openapi.mjs). */
  srv.api = async (method, p, { token, json, body, headers = {} } = {}) => {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let b = body;
    if (json !== undefined) {
      b = JSON.stringify(json);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    }
    const res = await srv.fetch(p, { method, headers: h, body: b });
    const text = await res.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    // Every answer must match docs/openapi.json (route, method, status).
    checkResponse(method, p, res.status, res.headers.get('content-type'), parsed);
    assertNoSecret(method, p, text);
    return { status: res.status, headers: res.headers, json: parsed, text, res };
  };

  /** A browser-like client with a cookie jar. */
  srv.client = () => {
    const jar = new CookieJar();
    const c = {
      jar,
      lastHtml: '',
      async request(method, p, { form, headers = {}, body } = {}) {
        const h = { ...headers };
        const ck = jar.header(p);
        if (ck) h.cookie = ck;
        let b = body;
        if (form) {
          b = new URLSearchParams(form).toString();
          h['content-type'] = 'application/x-www-form-urlencoded';
        }
        const res = await srv.fetch(p, { method, headers: h, body: b });
        jar.update(res);
        const text = await res.text();
        assertNoSecret(method, p, text);
        if ((res.headers.get('content-type') || '').startsWith('text/html')) c.lastHtml = text;
        return { status: res.status, headers: res.headers, text, res, location: res.headers.get('location') };
      },
      get(p, o) {
        return c.request('GET', p, o);
      },
      post(p, form, o = {}) {
        return c.request('POST', p, { ...o, form });
      },
      /** The CSRF token of the signed-in session, as pages carry it. */
      async csrf(p = '/sessions') {
        let v = hiddenValue(c.lastHtml, 'csrf');
        if (!v) {
          const r = await c.get(p);
          v = hiddenValue(r.text, 'csrf');
        }
        if (!v) throw new Error(`no csrf field on ${p}`);
        return v;
      },
    };
    return c;
  };

  /**
   * Sign in through the login form as a browser would: GET /login (login
   * CSRF cookie + field), POST the form. Returns the client with `response`
   * (the POST's answer). Throws unless it redirected (303) with a session
   * cookie, unless {expectFail: true}.
   */
  srv.login = async (username, password, { next, expectFail = false } = {}) => {
    const c = srv.client();
    const page = await c.get(next ? `/login?next=${encodeURIComponent(next)}` : '/login');
    if (page.status !== 200) throw new Error(`GET /login answered ${page.status}`);
    const form = parseForms(page.text).find((f) => f.method === 'post' && f.inputs.some((i) => i.type === 'password'));
    if (!form) throw new Error(`no sign-in form on /login:\n${page.text.slice(0, 2000)}`);
    const fields = {};
    for (const i of form.inputs) if (i.type === 'hidden') fields[i.name] = i.value;
    const userField = form.inputs.find((i) => i.type === 'text' || i.type === 'email');
    const passField = form.inputs.find((i) => i.type === 'password');
    fields[userField ? userField.name : 'username'] = username;
    fields[passField.name] = password;
    const action = form.action || '/login';
    const res = await c.post(action, fields);
    c.response = res;
    if (!expectFail && (res.status !== 303 || !c.jar.get('fd_session'))) {
      throw new Error(`sign-in as ${username} failed: ${res.status}\n${res.text.slice(0, 1000)}`);
    }
    return c;
  };

  /** Stop lighttpd and the app, then fail on any sanitizer report.
   *  Resolves {apps: [pids], survivedTerm: [pids that needed SIGKILL]}. */
  srv.stop = async () => {
    if (srv.stopped) return;
    srv.stopped = true;
    const result = await stopProcs(srv);
    const reports = sanitizerReports(varDir);
    if (reports) {
      const errlog = readIf(path.join(varDir, 'lighttpd-error.log'));
      throw new Error(`sanitizer report(s) in ${varDir}:${reports}\n--- lighttpd-error.log ---\n${errlog}`);
    }
    if (process.env.FD_KEEP !== '1') fs.rmSync(varDir, { recursive: true, force: true });
    return result;
  };

  /** The lighttpd error log (the app's stderr lands there too). */
  srv.errorLog = () => readIf(path.join(varDir, 'lighttpd-error.log'));

  /** Start lighttpd (and so the app) again on the same port and database,
   *  after the caller killed both by pid (tests/soak: crash safety). */
  srv.relaunch = async (timeoutMs = 30000) => {
    srv.proc = null;
    // A socket left by the killed lighttpd: lighttpd 1.4.69 that finds one
    // and gets requests at once never spawns the app (scripts/run.sh too).
    for (const f of fs.readdirSync(varDir)) if (f.startsWith('flightdeck.sock')) fs.rmSync(path.join(varDir, f), { force: true });
    await launch(srv, timeoutMs);
  };

  // A server that never started leaves no temp directory behind.
  const discard = () => { if (process.env.FD_KEEP !== '1') fs.rmSync(varDir, { recursive: true, force: true }); };

  // First start: migrate and create the admin user, exactly as run.sh does.
  let setup;
  try {
    setup = await srv.cli(['setup']);
  } catch (e) {
    discard();
    throw e;
  }
  const pwFile = path.join(path.dirname(dbPath), 'initial-admin-password');
  srv.adminPassword = readIf(pwFile).trim();
  if (!srv.adminPassword) {
    const m = setup.stdout.match(/password[^:\n]*:\s*(\S+)/i);
    if (m) srv.adminPassword = m[1];
  }
  srv.setupOutput = setup.stdout;

  // lighttpd on a free port; retry on the rare race for the port.
  let lastErr;
  for (let attempt = 0; attempt < 5; attempt++) {
    srv.port = await freePort();
    srv.url = `http://127.0.0.1:${srv.port}`;
    // The port from the configuration file alone (lighttpd.conf reads it
    // through `flightdeck config lighttpd`), not from PORT.
    if (opts.portFromConfig) fs.appendFileSync(srv.env.FLIGHTDECK_CONF, `\nport = ${srv.port}\n`);
    try {
      await launch(srv, opts.timeoutMs ?? 30000);
      return srv;
    } catch (e) {
      lastErr = e;
      await stopProcs(srv);
      if (!/address already in use|bind/i.test(e.message)) break;
    }
  }
  const reports = sanitizerReports(varDir);
  discard();
  throw new Error(`${lastErr.message}${reports}`);
}

async function launch(srv, timeoutMs) {
  fs.rmSync(path.join(srv.varDir, 'lighttpd-error.log'), { force: true });
  const env = srv.portFromConfig ? { ...srv.env } : { ...srv.env, PORT: String(srv.port) };
  // lighttpd's own stdout/stderr go to a file, not a pipe: a FastCGI child
  // that outlives lighttpd would otherwise hold the pipe (and this process) open.
  const outFile = path.join(srv.varDir, 'lighttpd.out');
  const outFd = fs.openSync(outFile, 'a');
  const p = spawn('lighttpd', ['-D', '-f', path.join(ROOT, 'lighttpd.conf')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', outFd, outFd],
  });
  fs.closeSync(outFd);
  srv.proc = p;
  srv.kids = new Set();
  const out = { toString: () => readIf(outFile) };
  let exited = null;
  p.on('exit', (code, signal) => (exited = { code, signal }));
  p.on('error', (e) => (exited = { error: e }));

  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    if (exited) {
      throw new Error(
        `lighttpd exited (${JSON.stringify(exited)}) before answering:\n${out}\n${readIf(path.join(srv.varDir, 'lighttpd-error.log'))}`,
      );
    }
    for (const k of childPids(p.pid)) srv.kids.add(k);
    try {
      const res = await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(2000) });
      const text = await res.text();
      last = `${res.status} ${text}`;
      if (res.status === 200) {
        for (const k of childPids(p.pid)) srv.kids.add(k);
        return;
      }
    } catch (e) {
      last = String(e.cause?.code || e.message);
    }
    await sleep(100);
  }
  throw new Error(
    `/healthz did not answer 200 within ${timeoutMs} ms (last: ${last})\n${out}\n${readIf(path.join(srv.varDir, 'lighttpd-error.log'))}`,
  );
}

/** Kill lighttpd and the FastCGI process(es) it started, by pid. */
async function stopProcs(srv) {
  const p = srv.proc;
  if (!p) return;
  srv.proc = null;
  const kids = new Set(srv.kids || []);
  for (const k of childPids(p.pid)) kids.add(k);
  // Only our own app processes: the exe must be the app we told lighttpd to run.
  const appReal = fs.existsSync(srv.app) ? fs.realpathSync(srv.app) : srv.app;
  const ours = [...kids].filter((k) => {
    const exe = exeOf(k).replace(/ \(deleted\)$/, '');
    return exe === appReal || exe === srv.app;
  });
  if (p.exitCode === null && p.signalCode === null) {
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    let timer;
    const t = await Promise.race([gone.then(() => true), new Promise((r) => (timer = setTimeout(() => r(false), 5000)))]);
    clearTimeout(timer);
    if (!t) {
      p.kill('SIGKILL');
      await gone;
    }
  }
  // lighttpd sends its FastCGI children SIGTERM as it stops; send it again
  // (by pid) and give the app a moment to exit on its own before SIGKILL.
  const result = { apps: ours, survivedTerm: [] };
  for (const k of ours) {
    if (!alive(k)) continue;
    try {
      process.kill(k, 'SIGTERM');
    } catch {
      continue;
    }
    if (!(await waitGone(k, APP_TERM_GRACE_MS))) {
      result.survivedTerm.push(k);
      try {
        process.kill(k, 'SIGKILL');
      } catch {
        /* gone */
      }
      await waitGone(k, 2000);
    }
  }
  srv.lastStop = result;
  return result;
}

/** How long the app may take to exit on SIGTERM before it is killed. */
const APP_TERM_GRACE_MS = Number(process.env.FD_TERM_GRACE_MS || 3000);

/** Text of every sanitizer report under dir (files named asan*), or ''. */
export function sanitizerReports(dir) {
  let names = [];
  try {
    names = fs.readdirSync(dir).filter((n) => n.startsWith('asan'));
  } catch {
    return '';
  }
  let s = '';
  for (const n of names) s += `\n--- ${path.join(dir, n)} ---\n${readIf(path.join(dir, n))}`;
  return s;
}
