// Entry of the learner child process when the server runs from TypeScript source: the child is a
// plain `node`, so this registers tsx and then loads the process's body.
require('tsx/cjs');
require('./learner-process.ts');
