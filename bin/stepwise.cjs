#!/usr/bin/env node
// Entry point for `npx stepwise`: runs the TypeScript CLI through tsx, so there is no build step.
require('tsx/cjs');
require('./stepwise.ts');
