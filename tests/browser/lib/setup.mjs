// The set-up most browser tests share: a fresh data directory, one staff account made with
// `cau admin create-user`, the hub started on it, and the account signed in over the API.
//
//   const s = await startHubWithAccount('meeting', SCHEDULER);   // {hub, bearer, bearers, dataDir}
//   const s = await startHubWithAccount('archive', SCHEDULER, {}, [ARCHIVIST]);   // s.bearers['luu-tru']
//   s.sql('UPDATE recordings SET keep_until = 0 WHERE session_id = 1');   // behind the hub's back
//   ...
//   await s.stop();   // stops the hub, removes the data directory (kept with CAU_KEEP_DATA=1)

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { login } from './api.mjs';
import { DB_FILE, createUser, startHub } from './hub.mjs';

/**
 * Runs one SQL statement on the database `dbFile` with the sqlite3 command-line tool (Debian's
 * `sqlite3`), while the hub has it open (WAL: a short wait if the hub is writing). Answers
 * what sqlite3 printed. For tests that change what only time would change (a retention that
 * has run out).
 */
export function runSql(dbFile, statement) {
  try {
    return execFileSync('sqlite3', ['-batch', '-bail', '-cmd', '.timeout 5000', dbFile, statement], { encoding: 'utf8', timeout: 20_000 });
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('the sqlite3 command is missing: apt-get install sqlite3');
    throw new Error(`sqlite3 ${dbFile} ${JSON.stringify(statement)}: ${e.stderr || e.message}`);
  }
}

/**
 * @param {string} name a word for the data directory's name
 * @param {{username: string, name: string, roles: string[], password: string}} account
 * @param {object} [hubOptions] passed to startHub (not dataDir)
 * @param {Array<{username: string, name: string, roles: string[], password: string}>} [moreAccounts]
 *   other staff accounts, made and signed in too: `bearers[username]`
 */
export async function startHubWithAccount(name, account, hubOptions = {}, moreAccounts = []) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `cau-${name}-test-`));
  let hub;
  try {
    for (const a of [account, ...moreAccounts]) await createUser({ dataDir, ...a });
    hub = await startHub({ ...hubOptions, dataDir });
    const bearer = await login(hub.origin, account.username, account.password);
    const bearers = { [account.username]: bearer };
    for (const a of moreAccounts) bearers[a.username] = await login(hub.origin, a.username, a.password);
    const dbFile = path.join(dataDir, DB_FILE);
    return {
      hub,
      bearer,
      bearers,
      dataDir,
      /** The hub's SQLite database file. */
      dbFile,
      /** One SQL statement on the hub's database (runSql). */
      sql: (statement) => runSql(dbFile, statement),
      async stop() {
        await hub.stop();
        if (!process.env.CAU_KEEP_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await hub?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}
