// The set-up most browser tests share: a fresh data directory, one staff account made with
// `cau admin create-user`, the hub started on it, and the account signed in over the API.
//
//   const s = await startHubWithAccount('meeting', SCHEDULER);   // {hub, bearer, bearers, dataDir}
//   const s = await startHubWithAccount('archive', SCHEDULER, {}, [ARCHIVIST]);   // s.bearers['luu-tru']
//   ...
//   await s.stop();   // stops the hub, removes the data directory (kept with CAU_KEEP_DATA=1)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { login } from './api.mjs';
import { createUser, startHub } from './hub.mjs';

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
    return {
      hub,
      bearer,
      bearers,
      dataDir,
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
