#!/usr/bin/env node
// Entry point of the `rl-autoscaler` command, whatever path starts it (npx's link, `npm exec`, a
// global install, `node bin/rl-autoscaler.js`): loads the TypeScript CLI through tsx and runs it.
try {
  require.resolve('tsx/cjs');
} catch {
  // A fresh clone before `npm ci`: install the locked dependencies first, as npm start and npm test do.
  let provision;
  try {
    provision = require('../scripts/provision.js');
  } catch {
    process.stderr.write(`rl-autoscaler: its npm dependencies are not installed; run \`npm ci\` in ${require('node:path').resolve(__dirname, '..')}\n`);
    process.exit(1);
  }
  provision.installNpmDependencies();
}
require('tsx/cjs');
const { main } = require('../src/cli.ts');

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
