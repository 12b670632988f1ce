#!/usr/bin/env node
// Entry point of the `ssis` command. It runs the compiled JavaScript in dist/, rebuilt by
// scripts/cli-build.js whenever a source is newer: transpiling TypeScript at every start cost
// several times a bare Node start. Where the compiler is not installed (a production install
// without devDependencies and no dist/), the sources run through tsx instead.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const argv = process.argv.slice(2);
if (existsSync(join(__dirname, '..', 'node_modules', 'typescript'))) {
  require(require('../scripts/cli-build.js').ensureCliBuilt()).main(argv);
} else {
  require('tsx/cjs');
  require('../cli/main.ts').main(argv);
}
