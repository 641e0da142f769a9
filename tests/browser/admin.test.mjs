// The admin pages in a real browser (headless Chromium, the launch flags of
// sessions.test.mjs): the admin signs in, follows the Admin link, adds a
// user through the form on /admin/users, signs out; the new user signs in,
// lands on the History page with Sessions and the Work Center in the
// navigation but no Admin link, and is refused the admin pages. No console
// errors and no Content-Security-Policy violations on the way.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, signIn as signInAs } from './browser.mjs';
import { startServer } from '../lib/server.mjs';
import { createSession, sql } from '../lib/fixtures.mjs';

describe('admin pages in Chromium', () => {
  let srv, browser, context, page, shots;
  const problems = [];
  /** Answers >= 400 the test provokes on purpose (path -> status). */
  const expectedErrors = new Map();
  const user = { name: 'browser-bob', pw: 'bob-browser-password' };
  /** What this test provokes on purpose: the 403 below (console and
   * response), and the favicon load a navigation cancels. */
  const adminIgnore = (kind, info) => {
    if (kind === 'console') {
      const st = /status of (\d+)/.exec(info.text);
      return info.type === 'error' && !!st && [...expectedErrors.values()].includes(Number(st[1]));
    }
    if (kind === 'requestfailed') return info.errorText === 'net::ERR_ABORTED';
    return expectedErrors.get(new URL(info.url).pathname) === info.status;
  };

  before(async () => {
    srv = await startServer();
    const rt = await srv.token('runtime');
    await createSession(srv, rt, { project: 'alpha', agent: 'browser-agent', name: 'Visible to bob', status: 'running' });
    ({ browser, context, page, shots } = await openBrowser(srv, problems, { ignore: adminIgnore }));
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  const nav = () => page.locator('nav.mainnav');
  /** Click and wait for the POST -> 303 -> GET to land. */
  const submit = (locator) => Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);

  const signIn = (name, pw) => signInAs(page, srv, name, pw);

  it('the admin adds a user on /admin/users, reached through the Admin link', async () => {
    await signIn('admin', srv.adminPassword);
    assert.equal(await nav().locator('a', { hasText: 'Admin' }).count(), 1, 'the admin sees the Admin link');
    await Promise.all([page.waitForURL(/\/admin\/users$/), nav().locator('a', { hasText: 'Admin' }).click()]);
    const form = page.locator('form[action="/admin/users"]');
    await form.locator('input[name="username"]').fill(user.name);
    await form.locator('input[name="password"]').fill(user.pw);
    await form.locator('select[name="role"]').selectOption('viewer');
    await form.locator('input[name="project"]').fill('alpha');
    await submit(form.locator('button[type="submit"]'));
    assert.equal(new URL(page.url()).pathname, '/admin/users');
    assert.match(await page.locator('.flash .flash-message').innerText(), new RegExp(user.name));
    const row = page.locator('table.users-table tbody tr', { hasText: user.name });
    assert.equal(await row.count(), 1, 'the new user is listed');
    assert.match(await row.locator('.grants').innerText(), /viewer[\s\S]*alpha/);
    const db = sql(srv, `SELECT u.disabled, g.role, g.project FROM users u JOIN grants g ON g.user_id = u.id WHERE u.username = '${user.name}'`);
    assert.deepEqual(db, [{ disabled: 0, role: 'viewer', project: 'alpha' }]);
    await page.screenshot({ path: path.join(shots, 'admin-users.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('sign out, sign in as the new user: Sessions and Work Center, no Admin link; the admin pages refuse', async () => {
    await Promise.all([page.waitForURL(/\/login$/), page.locator('form.signout button[type="submit"]').click()]);
    assert.equal((await context.cookies()).filter((c) => c.name === 'fd_session').length, 0, 'the session cookie is gone');
    await signIn(user.name, user.pw);
    assert.equal(new URL(page.url()).pathname, '/sessions');
    assert.equal(await nav().locator('a[href="/sessions"]').count(), 1, 'Sessions');
    assert.equal(await nav().locator('a[href="/tasks"]').count(), 1, 'Work Center');
    assert.equal(await page.locator('a[href^="/admin"]').count(), 0, 'no Admin link anywhere');
    assert.match(await page.locator('.account-name').innerText(), new RegExp(user.name));
    assert.equal(await page.locator('table tbody tr', { hasText: 'Visible to bob' }).count(), 1, 'the alpha session is listed');
    // Typing the address: 403.
    expectedErrors.set('/admin/users', 403);
    const r = await page.goto(`${srv.url}/admin/users`);
    assert.equal(r.status(), 403);
    assert.equal(await page.locator('table.users-table').count(), 0, 'no user table');
    expectedErrors.clear();
    assert.deepEqual(problems, []);
  });
});
