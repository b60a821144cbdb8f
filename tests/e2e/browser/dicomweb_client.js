// SPDX-License-Identifier: Apache-2.0
// Loads the dicomweb-client page (dicomweb_client.html) from URL and
// prints, as one JSON line, what its script found (window.dicomwebResult)
// and what went wrong in the browser (chromium.js):
//
//   node dicomweb_client.js URL STUDY_UID WORKDIR
'use strict';

const fs = require('fs');
const path = require('path');
const { launch, watch } = require('./chromium');

const [url, studyUID, workdir] = process.argv.slice(2);

(async () => {
  // The page is served over TLS with a certificate of the test's own CA,
  // which this fresh profile does not know.
  const context = await launch(fs.mkdtempSync(path.join(workdir, 'chromium-')),
                               { ignoreHTTPSErrors: true });
  let result = {};
  try {
    const page = context.pages()[0] || await context.newPage();
    const seen = watch(page);
    await page.addInitScript((uid) => { window.STUDY_UID = uid; }, studyUID);
    await page.goto(url, { waitUntil: 'load', timeout: 60000 });
    result = await page.evaluate(() => window.dicomwebResult);
    result.protocol = await page.evaluate(
      () => performance.getEntriesByType('navigation')[0].nextHopProtocol);
    Object.assign(result, seen);
  } catch (e) {
    result.error = String(e && e.stack || e);
  } finally {
    await context.close();
  }
  process.stdout.write(JSON.stringify(result) + '\n');
})();
