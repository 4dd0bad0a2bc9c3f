#!/usr/bin/env node
// Thin entry: all logic lives in the compiled CLI module.
require('../dist/cli/index.js').main();
