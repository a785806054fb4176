#!/usr/bin/env node
// The `k49` command. TypeScript sources run through tsx's require hook.
require('tsx/cjs');
require('./cli.ts').buildProgram().parseAsync(process.argv);
