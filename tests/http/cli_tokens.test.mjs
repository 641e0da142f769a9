// The token commands of the CLI against a running server: a token's grants
// can be extended and revoked while it is in use, and each change takes
// effect on the next request (grants are read on every request).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';

describe('CLI token commands', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.stop(); });

  const create = (tok, project) =>
    srv.api('POST', '/api/v1/sessions', { token: tok, json: { agent: 'cli-test', project } });

  it('token grant adds a project; token revoke stops the token at once', async () => {
    const tok = await srv.token('runtime', { project: 'alpha', name: 'cli-scoped' });
    assert.equal((await create(tok, 'alpha')).status, 201);
    assert.equal((await create(tok, 'beta')).status, 403, 'beta before the grant');

    await srv.cli(['token', 'grant', 'cli-scoped', '--role', 'runtime', '--project', 'beta']);
    assert.equal((await create(tok, 'beta')).status, 201, 'beta after the grant');

    const list = JSON.parse((await srv.cli(['token', 'list', '--json'])).stdout);
    const row = list.find((t) => t.name === 'cli-scoped');
    assert.deepEqual(row.grants.map((g) => g.project).sort(), ['alpha', 'beta']);
    assert.ok(row.last_used_at > 0, 'last use recorded');
    assert.ok(!('token_hash' in row), 'the hash is never listed');

    await srv.cli(['token', 'revoke', 'cli-scoped']);
    assert.equal((await create(tok, 'alpha')).status, 401, 'revoked token');
  });

  it('refuses bad input with exit code 2 (usage) or 1 (failure)', async () => {
    const usage = await srv.cli(['token', 'grant', 'cli-scoped'], { allowFail: true });
    assert.equal(usage.code, 2);
    const missing = await srv.cli(['token', 'grant', 'no-such-token', '--role', 'viewer'], { allowFail: true });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no token no-such-token/);
    const badRole = await srv.cli(['token', 'create', '--name', 'x1', '--role', 'root'], { allowFail: true });
    assert.equal(badRole.code, 1);
    assert.match(badRole.stderr, /role must be/);
  });
});
