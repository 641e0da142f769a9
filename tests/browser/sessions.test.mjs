// A person in a real browser: headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; no browser is downloaded) signs in through the
// form, sees the History page with demo data, opens a session and reads its
// header, its summary and (on the Activity tab) its activity. No console
// errors and no CSP violations on the way.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openBrowser } from './browser.mjs';
import { startServer } from '../lib/server.mjs';
import { createSession, append } from '../lib/fixtures.mjs';

describe('History page and session detail in Chromium', () => {
  let srv, browser, context, page, shots;
  const problems = []; // console errors, page errors, CSP violations, failed requests
  let ours; // a session we made, with known activity

  before(async () => {
    srv = await startServer();
    const demo = await srv.cli(['demo', '--sessions', '40']);
    assert.match(demo.stdout, /40/, demo.stdout);
    const runtime = await srv.token('runtime');
    ours = await createSession(srv, runtime, { agent: 'browser-bot', name: 'Browser test session' });
    await append(srv, runtime, ours.id, {
      events: [
        { type: 'user_message', content: 'Please check **order 9001**.' },
        { type: 'thought', content: 'I should call the order service.' },
        { type: 'tool_call', tool_call_id: 'b1', tool: 'get_order', arguments: { id: 9001 } },
        { type: 'tool_result', tool_call_id: 'b1', result: { status: 'shipped' } },
        { type: 'status', status: 'completed', response: 'Order 9001 has shipped.' },
      ],
    });
    // One directory, reused by every run (FD_SCREENSHOTS overrides).
    ({ browser, context, page, shots } = await openBrowser(srv, problems));
    for (const f of ['sessions.png', 'session.png']) fs.rmSync(path.join(shots, f), { force: true });
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('an unsigned visit to /sessions lands on the sign-in form', async () => {
    const res = await page.goto(`${srv.url}/sessions`);
    assert.equal(res.status(), 200);
    assert.match(new URL(page.url()).pathname, /^\/login$/);
    assert.equal(new URL(page.url()).searchParams.get('next'), '/sessions');
    assert.ok(await page.locator('form input[name="password"]').isVisible());
    assert.deepEqual(problems, []);
  });

  it('signs in as admin through the form and lands on /sessions with rows', async () => {
    await page.fill('input[name="username"]', 'admin');
    await page.fill('input[name="password"]', srv.adminPassword);
    await Promise.all([page.waitForURL(/\/sessions$/), page.click('form button[type="submit"]')]);
    assert.equal(new URL(page.url()).pathname, '/sessions');
    const cookies = await context.cookies();
    const sess = cookies.find((c) => c.name === 'fd_session');
    assert.ok(sess, 'session cookie');
    assert.equal(sess.httpOnly, true);
    assert.equal(sess.sameSite, 'Lax');
    // document.cookie cannot see an HttpOnly cookie.
    assert.ok(!(await page.evaluate(() => document.cookie)).includes('fd_session'));

    const rows = page.locator('table tbody tr');
    const n = await rows.count();
    assert.ok(n >= 40, `at least 40 rows (demo data + ours), got ${n}`);
    await page.screenshot({ path: path.join(shots, 'sessions.png'), fullPage: true });
    // The newest session (ours) is the first row.
    assert.match(await rows.first().innerText(), /Browser test session/);
    assert.ok(await page.locator('h1').first().isVisible());
    assert.deepEqual(problems, []);
  });

  it('the page is styled by /static/app.css (loaded under the CSP)', async () => {
    const sheets = await page.evaluate(() => [...document.styleSheets].map((s) => s.href));
    assert.ok(sheets.some((h) => h && h.endsWith('/static/app.css')), `stylesheets: ${sheets}`);
    const ruleCount = await page.evaluate(() => {
      const s = [...document.styleSheets].find((x) => x.href && x.href.endsWith('/static/app.css'));
      return s ? s.cssRules.length : 0;
    });
    assert.ok(ruleCount > 0, 'app.css has rules');
  });

  it('clicking a session opens its detail: header, summary, then the activity on its tab', async () => {
    const link = page.locator('table tbody tr').first().locator(`a[href="/sessions/${ours.id}"]`).first();
    await Promise.all([page.waitForURL(new RegExp(`/sessions/${ours.id}$`)), link.click()]);
    assert.equal(new URL(page.url()).pathname, `/sessions/${ours.id}`);
    const h1 = page.locator('h1').first();
    assert.match(await h1.innerText(), /Browser test session/);
    assert.equal(await page.locator('#session-status .badge').innerText(), 'Completed');
    // A finished session opens on its summary: the final answer.
    assert.equal(await page.locator('#session-tabs a.tab-summary').getAttribute('aria-current'), 'page');
    assert.match(await page.locator('#summary .final-response').innerText(), /Order 9001 has shipped\./);
    assert.equal(await page.locator('#activity').count(), 0, 'the activity is on its own tab');

    // The Activity tab.
    await Promise.all([page.waitForURL((u) => u.searchParams.get('tab') === 'activity'), page.locator('#session-tabs a.tab-activity').click()]);
    assert.equal(new URL(page.url()).pathname, `/sessions/${ours.id}`);
    assert.equal(await page.locator('#session-tabs a.tab-activity').getAttribute('aria-current'), 'page');
    // Activity entries, in order: the user's message (Markdown rendered), the thought, the tool call, the answer.
    const feed = page.locator('#activity');
    assert.ok(await feed.isVisible(), 'activity section');
    const text = await feed.innerText();
    const iUser = text.indexOf('Please check order 9001');
    const iThought = text.indexOf('I should call the order service.');
    const iTool = text.indexOf('get_order');
    const iAnswer = text.indexOf('Order 9001 has shipped.');
    assert.ok(iUser >= 0, `user message in the feed:\n${text}`);
    assert.ok(iThought > iUser, 'thought after the message');
    assert.ok(iTool > iThought, 'tool call after the thought');
    assert.ok(iAnswer > iTool, 'answer after the tool call');
    assert.equal(await feed.locator('strong', { hasText: 'order 9001' }).count(), 1, 'Markdown bold rendered');
    const entries = await feed.locator('li').count();
    assert.ok(entries >= 4, `activity entries: ${entries}`);
    await page.screenshot({ path: path.join(shots, 'session.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('a demo session opens too, with its activity', async () => {
    await page.goto(`${srv.url}/sessions`);
    const rows = page.locator('table tbody tr');
    const second = rows.nth(1).locator('a[href^="/sessions/"]').first();
    const href = await second.getAttribute('href');
    await Promise.all([page.waitForURL((u) => u.pathname === href), second.click()]);
    assert.ok(await page.locator('h1').first().isVisible());
    assert.ok(await page.locator('#session-tabs').isVisible(), 'the tab bar');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('tab') === 'activity'), page.locator('#session-tabs a.tab-activity').click()]);
    assert.ok(await page.locator('#activity').isVisible());
    assert.equal(await page.locator('#session-tabs a.tab-activity').getAttribute('aria-current'), 'page');
    assert.deepEqual(problems, []);
  });

  it('screenshots were written', (t) => {
    for (const f of ['sessions.png', 'session.png']) {
      const st = fs.statSync(path.join(shots, f));
      assert.ok(st.size > 1000, `${f} is a real image`);
    }
    t.diagnostic(`screenshots in ${shots}`);
  });
});
