// Headless Chromium for the browser tests: Debian's chromium driven by
// playwright-core (no browser download), with the launch flags this machine
// needs, and a page that records every problem a person would not want to
// see: console errors, uncaught exceptions, CSP violations, failed requests,
// and HTTP errors from our server.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Launch Chromium and open one page against `srv`. Problems are pushed onto
 * `problems` as text; `ignore(kind, info)` may return true to drop one the
 * test provokes on purpose (kind: 'console' {type, text}, 'requestfailed'
 * {url, errorText}, 'response' {url, status}).
 * Returns {browser, context, page, shots} (shots: the screenshot folder).
 */
/**
 * Record on `problems` what a person would not want to see on page `p`:
 * console errors and CSP reports, uncaught exceptions, failed requests and
 * HTTP errors from `srv`, each line starting with `label`. `ignore(kind,
 * info)` as for openBrowser. Leaving a page aborts what it still had in
 * flight (the live long poll and refetch, a late favicon): not a problem.
 */
export function watchPage(p, srv, problems, { ignore = () => false, label = '' } = {}) {
  p.on('console', (m) => {
    if (ignore('console', { type: m.type(), text: m.text() })) return;
    if (m.type() === 'error' || /Content[- ]Security[- ]Policy/i.test(m.text())) problems.push(`${label}console ${m.type()}: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`${label}page error: ${e.message}`));
  p.on('requestfailed', (rq) => {
    const errorText = rq.failure()?.errorText;
    if (errorText === 'net::ERR_ABORTED' && (rq.resourceType() === 'fetch' || rq.url().endsWith('/favicon.svg'))) return;
    if (ignore('requestfailed', { url: rq.url(), errorText })) return;
    problems.push(`${label}request failed: ${rq.url()} ${errorText}`);
  });
  p.on('response', (rs) => {
    if (rs.status() < 400 || !rs.url().startsWith(srv.url)) return;
    if (ignore('response', { url: rs.url(), status: rs.status() })) return;
    problems.push(`${label}HTTP ${rs.status()}: ${rs.url()}`);
  });
}

/** Report a CSP violation as a console error (it is not always one). */
async function reportCsp(context) {
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

/**
 * Launch Chromium and open one page against `srv`. Problems are pushed onto
 * `problems` as text (watchPage); `ignore(kind, info)` may return true to
 * drop one the test provokes on purpose (kind: 'console' {type, text},
 * 'requestfailed' {url, errorText}, 'response' {url, status}).
 * Returns {browser, context, page, shots} (shots: the screenshot folder).
 */
export async function openBrowser(srv, problems, { ignore = () => false, viewport = { width: 1280, height: 900 } } = {}) {
  // Kept after the run for a person to look at: in the build folder (git
  // ignores it), not left in /tmp.
  const shots = process.env.FD_SCREENSHOTS || path.join(REPO, 'build', 'screenshots');
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  watchPage(page, srv, problems, { ignore });
  await reportCsp(context);
  return { browser, context, page, shots };
}

/** A second context of `browser` (another person, signed out, or no
 *  JavaScript: `opts` go to newContext) whose page records problems like the
 *  first, marked "[ctx2] ". Returns {ctx, page}. */
export async function openContext(browser, srv, problems, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts });
  await reportCsp(ctx);
  const page = await ctx.newPage();
  watchPage(page, srv, problems, { label: '[ctx2] ' });
  return { ctx, page };
}

/** Sign in on page `p` through the form; resolves once on /sessions. */
export async function signIn(p, srv, user, pw) {
  await p.goto(`${srv.url}/login`);
  await p.fill('input[name="username"]', user);
  await p.fill('input[name="password"]', pw);
  await Promise.all([p.waitForURL(/\/sessions$/), p.click('form button[type="submit"]')]);
}
