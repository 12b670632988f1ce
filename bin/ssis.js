#!/usr/bin/env node
// Entry point of the `ssis` command. TypeScript sources are loaded through tsx so that the
// checkout runs as it is, with no build step; container images run the tsc build instead.
'use strict';
require('tsx/cjs');
require('../cli/main.ts').main(process.argv.slice(2));
