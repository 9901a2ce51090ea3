// The set-up most browser tests share: a fresh data directory, one staff account made with
// `cau admin create-user`, the hub started on it, and the account signed in over the API.
//
//   const s = await startHubWithAccount('meeting', SCHEDULER);   // {hub, bearer, dataDir}
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
 */
export async function startHubWithAccount(name, account, hubOptions = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `cau-${name}-test-`));
  let hub;
  try {
    await createUser({ dataDir, ...account });
    hub = await startHub({ ...hubOptions, dataDir });
    const bearer = await login(hub.origin, account.username, account.password);
    return {
      hub,
      bearer,
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
