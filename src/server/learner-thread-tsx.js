// Entry of the learner worker thread when the server runs from TypeScript source: a worker does
// not inherit its parent's loaders, so this registers tsx and then loads the thread's body.
require('tsx/cjs');
require('./learner-thread.ts');
