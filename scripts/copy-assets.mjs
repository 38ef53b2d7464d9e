// tsc compiles only TypeScript: the descriptor set and the per-environment config files are copied
// beside the compiled code so that dist/ runs on its own.
import fs from 'node:fs';
import path from 'node:path';

const ASSETS = [
  'proto/gen/descriptor-set.binpb',
  'config/development.json',
  'config/test.json',
  'config/production.json',
];

for (const asset of ASSETS) {
  const target = path.join('dist', asset);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(asset, target);
}
