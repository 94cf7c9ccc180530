// Shared by the Node host's tests: the vectors, their facts, temporary directories.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const vectors = JSON.parse(readFileSync(join(ROOT, 'tests/vectors/vectors.json'), 'utf8'));
export const seconds = (rfc3339) => Date.parse(rfc3339) / 1000;

/** The vectors' machine, as the host's `facts` import gives it. */
export const vectorFacts = {
  machineId: vectors.facts.machine_id ?? undefined,
  productUuid: vectors.facts.product_uuid ?? undefined,
  boardSerial: vectors.facts.board_serial ?? undefined,
  diskSerial: vectors.facts.disk_serial ?? undefined,
  cpu: vectors.facts.cpu ?? undefined,
  macs: vectors.facts.macs ?? [],
  cpuId: vectors.facts.cpu_id ?? undefined,
  custom: vectors.facts.custom ?? [],
};

export function tempDir(name) {
  return mkdtempSync(join(tmpdir(), `keyward-node-${name}-`));
}
