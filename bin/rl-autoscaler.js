#!/usr/bin/env node
// Entry point of the `rl-autoscaler` command: runs the TypeScript CLI through tsx.
require('tsx/cjs');
require('../src/cli.ts');
