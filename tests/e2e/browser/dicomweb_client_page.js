// SPDX-License-Identifier: Apache-2.0
// Runs in the page: dicomweb-client (npm) against Orthanc's DICOMweb API
// at /orthanc/dicom-web on the page's own origin, through the module.
// STOW-RS stores /stow.dcm, then QIDO-RS finds it, WADO-RS reads its
// metadata and a frame; every URL the answers carry (RetrieveURL,
// BulkDataURI) is collected and fetched.  The outcome is left in
// window.dicomwebResult (and in #result) for the browser test to read.
'use strict';

// Orthanc's DICOMweb plugin 1.7 answers frames requested with
// dicomweb-client's default Accept (multipart/related; type="*/*") with
// 400: the page asks for explicit media types.
const FRAME_MEDIA_TYPES = [{ mediaType: 'application/octet-stream' }];

function tagValue(dataset, tag) {
  const element = dataset && dataset[tag];
  return element && element.Value && element.Value[0];
}

// Every RetrieveURL (0008,1190) and BulkDataURI in a DICOM JSON answer.
function collectUrls(node, found) {
  if (Array.isArray(node)) {
    node.forEach((item) => collectUrls(item, found));
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '00081190' && value && Array.isArray(value.Value)) {
        value.Value.forEach((url) => found.push({ kind: 'RetrieveURL', url }));
      } else if (key === 'BulkDataURI') {
        found.push({ kind: 'BulkDataURI', url: value });
      } else {
        collectUrls(value, found);
      }
    }
  }
  return found;
}

function asJson(answer) {
  if (typeof answer === 'string') return JSON.parse(answer);
  if (answer instanceof ArrayBuffer) return JSON.parse(new TextDecoder().decode(answer));
  return answer;
}

async function run() {
  const base = `${window.location.origin}/orthanc/dicom-web`;
  const client = new DICOMwebClient.api.DICOMwebClient({ url: base });
  const result = { base, steps: [], urls: [], fetched: [] };
  const step = (name, detail) => result.steps.push({ name, ...detail });

  const dataset = await (await fetch('/stow.dcm')).arrayBuffer();
  const stored = asJson(await client.storeInstances({ datasets: [dataset] }));
  const count = (tag) => ((stored[tag] && stored[tag].Value) || []).length;
  // ReferencedSOPSequence, FailedSOPSequence
  step('STOW-RS', { stored: count('00081199'), failed: count('00081198') });
  collectUrls(stored, result.urls);

  const studyUID = window.STUDY_UID;
  const studies = await client.searchForStudies({ queryParams: { StudyInstanceUID: studyUID } });
  step('QIDO-RS studies', { count: studies.length });
  collectUrls(studies, result.urls);
  const series = await client.searchForSeries({ studyInstanceUID: studyUID });
  step('QIDO-RS series', { count: series.length });
  collectUrls(series, result.urls);
  const seriesUID = tagValue(series[0], '0020000E');
  const instances = await client.searchForInstances({
    studyInstanceUID: studyUID, seriesInstanceUID: seriesUID });
  step('QIDO-RS instances', { count: instances.length });
  collectUrls(instances, result.urls);
  const sopUID = tagValue(instances[0], '00080018');

  const metadata = await client.retrieveInstanceMetadata({
    studyInstanceUID: studyUID, seriesInstanceUID: seriesUID, sopInstanceUID: sopUID });
  step('WADO-RS metadata', { count: metadata.length, rows: tagValue(metadata[0], '00280010') });
  collectUrls(metadata, result.urls);
  const seriesMetadata = await client.retrieveSeriesMetadata({
    studyInstanceUID: studyUID, seriesInstanceUID: seriesUID });
  step('WADO-RS series metadata', { count: seriesMetadata.length });
  collectUrls(seriesMetadata, result.urls);

  const frames = await client.retrieveInstanceFrames({
    studyInstanceUID: studyUID, seriesInstanceUID: seriesUID, sopInstanceUID: sopUID,
    frameNumbers: [1], mediaTypes: FRAME_MEDIA_TYPES });
  step('WADO-RS frames', { count: frames.length, bytes: frames[0].byteLength });

  for (const { kind, url } of result.urls) {
    const accept = kind === 'BulkDataURI'
      ? 'multipart/related; type="application/octet-stream"'
      : 'multipart/related; type="application/dicom"';
    const answer = await fetch(url, { headers: { Accept: accept } });
    const body = await answer.arrayBuffer();
    result.fetched.push({ kind, url, status: answer.status, bytes: body.byteLength });
  }
  return result;
}

window.dicomwebResult = run().catch((e) => ({ error: String(e && (e.stack || e.message) || e),
                                             status: e && e.status }));
window.dicomwebResult.then((r) => {
  document.getElementById('result').textContent = JSON.stringify(r, null, 1);
});
