// SPDX-License-Identifier: Apache-2.0
// Debian's chromium, driven by playwright-core (npm, installed by
// scripts/install-js.sh; its own browser download is never used), for the
// browser tests.  Headless, as root without the sandbox, no network but
// the test's servers on 127.0.0.1, a fresh profile per run.
'use strict';

const path = require('path');

function playwright() {
  const where = process.env.OP_PLAYWRIGHT_CORE;
  if (!where) {
    throw new Error('OP_PLAYWRIGHT_CORE is not set (scripts/install-js.sh --path playwright-core)');
  }
  return require(path.resolve(where));
}

async function launch(profileDir, options = {}) {
  const { chromium } = playwright();
  return chromium.launchPersistentContext(profileDir, {
    ...options,
    executablePath: process.env.OP_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1400, height: 900 },
  });
}

// Records what went wrong in PAGE: uncaught exceptions, failed requests,
// and every HTTP answer of 400 or more (with its URL).
function watch(page) {
  const seen = { pageErrors: [], failedRequests: [], errorResponses: [] };
  page.on('pageerror', (e) => seen.pageErrors.push(String(e && e.stack || e).slice(0, 2000)));
  page.on('requestfailed', (r) => seen.failedRequests.push(
    `${r.method()} ${r.url()}: ${r.failure() && r.failure().errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) {
      seen.errorResponses.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    }
  });
  return seen;
}

module.exports = { launch, watch };
