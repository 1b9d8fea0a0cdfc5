#!/usr/bin/env node
// Entry point of the `rl-autoscaler` command, whatever path starts it (npx's link, `npm exec`, a
// global install, `node bin/rl-autoscaler.js`): loads the TypeScript CLI through tsx and runs it.
require('tsx/cjs');
const { main } = require('../src/cli.ts');

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
