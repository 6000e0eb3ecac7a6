// FileStore keeps client state in a JSON file, for Node (import it from
// "@opsync/client/node"; browsers never load it).

import { mkdir, readFile, rename, writeFile, open } from "node:fs/promises";
import { dirname } from "node:path";
import type { SavedState, StateStore } from "./store.js";

interface FileForm {
  [key: string]: { deviceId?: string; userId?: string; syncPoints: Record<string, string> };
}

export class FileStore implements StateStore {
  private chain: Promise<void> = Promise.resolve();
  private states?: FileForm;

  constructor(private readonly path: string) {}

  private async read(): Promise<FileForm> {
    if (this.states) return this.states;
    try {
      this.states = JSON.parse(await readFile(this.path, "utf8")) as FileForm;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      this.states = {};
    }
    return this.states;
  }

  async load(key: string): Promise<SavedState | undefined> {
    const s = (await this.read())[key];
    if (!s) return undefined;
    const syncPoints: Record<string, bigint> = {};
    for (const [b, p] of Object.entries(s.syncPoints ?? {})) syncPoints[b] = BigInt(p);
    return { deviceId: s.deviceId, userId: s.userId, syncPoints };
  }

  // save writes a temporary file, syncs it and renames it over the old
  // one: a crash leaves the old state or the new, never half of one.
  save(key: string, state: SavedState): Promise<void> {
    const syncPoints: Record<string, string> = {};
    for (const [b, p] of Object.entries(state.syncPoints)) syncPoints[b] = p.toString();
    const entry = { deviceId: state.deviceId, userId: state.userId, syncPoints };
    const run = async () => {
      const all = await this.read();
      all[key] = entry;
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, JSON.stringify(all));
      const fh = await open(tmp, "r+");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    };
    this.chain = this.chain.then(run, run);
    return this.chain;
  }
}
