// SPDX-License-Identifier: Apache-2.0
/*
 * Imaging demo: lists the patients and studies an Orthanc stores and shows
 * a preview of every series of the chosen study.
 *
 * Orthanc's REST API is reached on this page's own origin, under /orthanc/,
 * where Apache's mod_orthanc_proxy forwards it: plain fetch(), no CORS.
 * Errors the proxy produces itself (Orthanc down, request refused) carry a
 * JSON body {"status": N, "message": "..."}; Orthanc's own errors carry
 * {"HttpStatus": N, "Message": "..."}.  Both are shown as they are.
 *
 * Every text that comes from Orthanc is inserted with textContent.
 */
'use strict';

const API = '/orthanc';
const PARALLEL_REQUESTS = 4;

class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

/* ---------------------------------------------------------------------
 * Talking to Orthanc
 */

async function errorMessage(response) {
  const type = response.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try {
      const body = await response.json();
      const message = body.message || body.Message;
      if (message) {
        return body.Details ? `${message} (${body.Details})` : message;
      }
    } catch (ignored) {
      /* Not JSON after all: fall back to the status line. */
    }
  }
  return response.statusText || 'The request failed';
}

async function api(path) {
  let response;
  try {
    response = await fetch(API + path, {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(0, 'The web server could not be reached', path);
  }
  if (!response.ok) {
    throw new ApiError(response.status, await errorMessage(response), path);
  }
  return response.json();
}

/* Runs TASKS (functions returning promises) a few at a time. */
async function inBatches(tasks, size) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(size, tasks.length) }, worker));
  return results;
}

const seriesOfStudy = new Map();

function loadSeries(studyId) {
  if (!seriesOfStudy.has(studyId)) {
    const request = api(`/studies/${encodeURIComponent(studyId)}/series`);
    request.catch(() => seriesOfStudy.delete(studyId));
    seriesOfStudy.set(studyId, request);
  }
  return seriesOfStudy.get(studyId);
}

/* ---------------------------------------------------------------------
 * Formatting DICOM values
 */

/* "FAMILY^Given^Middle^Prefix^Suffix" -> "FAMILY, Given Middle" */
function formatName(value) {
  const parts = (value || '').split('=')[0].split('^').map((p) => p.trim());
  const family = parts[0] || '';
  const given = parts.slice(1, 3).filter(Boolean).join(' ');
  if (family && given) {
    return `${family}, ${given}`;
  }
  return family || given || 'Unnamed patient';
}

/* "YYYYMMDD" -> "YYYY-MM-DD" (ISO 8601, unambiguous in every country) */
function formatDate(value) {
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec((value || '').trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : (value || '').trim();
}

function tag(resource, name) {
  return ((resource.MainDicomTags || {})[name] || '').trim();
}

function modalitiesOf(series) {
  const set = new Set(series.map((s) => tag(s, 'Modality')).filter(Boolean));
  return Array.from(set).sort();
}

/* ---------------------------------------------------------------------
 * DOM helpers
 */

function el(name, attributes, ...children) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (key === 'className') {
      node.className = value;
    } else {
      node.setAttribute(key, value === true ? '' : value);
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child);
    }
  }
  return node;
}

function field(label, value) {
  const text = value || 'unknown';
  return el('div', null, el('dt', null, label),
    el('dd', { className: value ? null : 'unknown' }, text));
}

const $ = (id) => document.getElementById(id);

function setStatus(text) {
  $('status').textContent = text;
}

function showError(err) {
  const box = $('error');
  const status = err instanceof ApiError ? err.status : 0;
  let title = 'Something went wrong';
  if (status >= 500 || status === 0) {
    title = 'The image archive is not available';
  } else if (status === 401 || status === 403) {
    title = 'Access refused';
  } else if (status >= 400) {
    title = 'The request was refused';
  }
  $('error-title').textContent = title;
  $('error-message').textContent = err.message;
  $('error-details').textContent = err instanceof ApiError
    ? `HTTP ${status || 'error'} on GET ${API}${err.path}`
    : '';
  box.hidden = false;
  setStatus('');
}

function hideError() {
  $('error').hidden = true;
}

/* ---------------------------------------------------------------------
 * Patients and their studies
 */

let studies = new Map();      /* Orthanc study ID -> study, with .patient */
const studyModalities = new Map();  /* Orthanc study ID -> ['CT', ...] */

function studyLink(study) {
  const date = formatDate(tag(study, 'StudyDate'));
  const description = tag(study, 'StudyDescription');
  const modalities = el('span', { className: 'modalities', 'data-study': study.ID }, '…');
  const link = el('a', {
    className: 'study-link',
    href: `#study=${encodeURIComponent(study.ID)}`,
    'data-study': study.ID,
  },
  el('span', { className: 'study-date' }, date || 'No date'),
  el('span', { className: 'study-description' }, description || 'No description'),
  modalities);
  return el('li', null, link);
}

function patientItem(patient, patientStudies) {
  const name = formatName(tag(patient, 'PatientName'));
  const headingId = `patient-${patient.ID}`;
  return el('li', { className: 'patient' },
    el('article', { 'aria-labelledby': headingId },
      el('h3', { id: headingId, className: 'patient-name' }, name),
      el('dl', { className: 'patient-meta' },
        field('Patient ID', tag(patient, 'PatientID')),
        field('Birth date', formatDate(tag(patient, 'PatientBirthDate'))),
        field('Sex', tag(patient, 'PatientSex'))),
      patientStudies.length
        ? el('ul', { className: 'studies', 'aria-label': `Studies of ${name}` },
          ...patientStudies.map(studyLink))
        : el('p', { className: 'hint' }, 'No studies')));
}

function byDateDescending(a, b) {
  return tag(b, 'StudyDate').localeCompare(tag(a, 'StudyDate'))
    || tag(a, 'StudyDescription').localeCompare(tag(b, 'StudyDescription'));
}

async function fillModalities(studyList) {
  await inBatches(studyList.map((study) => async () => {
    const series = await loadSeries(study.ID);
    const modalities = modalitiesOf(series);
    studyModalities.set(study.ID, modalities);
    const selector = `.modalities[data-study="${CSS.escape(study.ID)}"]`;
    for (const node of document.querySelectorAll(selector)) {
      if (modalities.length) {
        node.replaceChildren(el('span', { className: 'visually-hidden' }, 'Modalities: '),
          modalities.join(', '));
      } else {
        node.replaceChildren(el('span', { 'aria-hidden': 'true' }, '—'),
          el('span', { className: 'visually-hidden' }, 'No modality recorded'));
      }
    }
  }), PARALLEL_REQUESTS);
}

async function loadPatients() {
  hideError();
  setStatus('Loading patients…');
  const [patients, studyList] = await Promise.all([
    api('/patients?expand'),
    api('/studies?expand'),
  ]);

  studies = new Map();
  const byPatient = new Map();
  for (const study of studyList) {
    studies.set(study.ID, study);
    if (!byPatient.has(study.ParentPatient)) {
      byPatient.set(study.ParentPatient, []);
    }
    byPatient.get(study.ParentPatient).push(study);
  }
  patients.sort((a, b) => formatName(tag(a, 'PatientName'))
    .localeCompare(formatName(tag(b, 'PatientName')))
    || tag(a, 'PatientID').localeCompare(tag(b, 'PatientID')));

  const list = $('patients');
  list.replaceChildren(...patients.map((patient) => {
    const own = (byPatient.get(patient.ID) || []).sort(byDateDescending);
    for (const study of own) {
      study.patient = patient;
    }
    return patientItem(patient, own);
  }));
  $('patient-count').textContent = `(${patients.length})`;

  if (patients.length === 0) {
    setStatus('Orthanc stores no patients yet. Upload DICOM files with the '
      + 'Orthanc Explorer or POST them to /orthanc/instances.');
    showStudy(null);
    return;
  }
  setStatus(`${patients.length} patient${patients.length === 1 ? '' : 's'}, `
    + `${studyList.length} stud${studyList.length === 1 ? 'y' : 'ies'}.`);

  /* The study shown first is the one the address names or else, once the
   * modalities are known, the first one listed that holds images. */
  const wanted = selectedStudyId();
  const modalitiesLoaded = fillModalities(Array.from(studies.values()));
  if (wanted) {
    await Promise.all([showStudy(wanted), modalitiesLoaded]);
    return;
  }
  $('study-summary').textContent = 'Loading studies…';
  await modalitiesLoaded;
  if (!selectedStudyId()) {
    await showStudy(firstStudyWithImages());
  }
}

/* Structured reports, plans, waveforms ... have nothing to preview. */
const NON_IMAGE_MODALITIES = new Set(['AU', 'DOC', 'ECG', 'HD', 'KO', 'PR',
  'REG', 'RTPLAN', 'RTRECORD', 'RTSTRUCT', 'SR']);

function firstStudyWithImages() {
  const links = Array.from(document.querySelectorAll('.study-link'));
  const withImages = links.find((link) => (studyModalities.get(link.dataset.study) || [])
    .some((modality) => !NON_IMAGE_MODALITIES.has(modality)));
  const chosen = withImages || links[0];
  return chosen ? chosen.dataset.study : null;
}

/* ---------------------------------------------------------------------
 * The chosen study: its series, one preview each
 */

function selectedStudyId() {
  const m = /^#study=(.+)$/.exec(window.location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

function markSelected(studyId) {
  for (const link of document.querySelectorAll('.study-link')) {
    if (link.dataset.study === studyId) {
      link.setAttribute('aria-current', 'true');
    } else {
      link.removeAttribute('aria-current');
    }
  }
}

function previewFigure(series) {
  const instances = series.Instances || [];
  const modality = tag(series, 'Modality') || 'Unknown modality';
  const number = tag(series, 'SeriesNumber');
  const description = tag(series, 'SeriesDescription');
  const label = [`Series ${number || '?'}`, modality, description]
    .filter(Boolean).join(' · ');
  const count = `${instances.length} instance${instances.length === 1 ? '' : 's'}`;

  if (instances.length === 0) {
    return el('li', { className: 'series-card' },
      el('figure', null,
        el('div', { className: 'no-preview' }, 'No instances'),
        el('figcaption', null, el('strong', null, label), el('span', null, count))));
  }

  /* The middle instance usually shows the most anatomy. */
  const instance = instances[Math.floor(instances.length / 2)];
  const base = `${API}/instances/${encodeURIComponent(instance)}`;
  const img = el('img', {
    src: `${base}/preview`,
    alt: `Preview of ${label}`,
    width: 256,
    height: 256,
    decoding: 'async',
  });
  const frame = el('a', { className: 'preview', href: `${base}/preview`,
    title: 'Open the full-size preview' }, img);
  img.addEventListener('error', () => {
    frame.replaceWith(el('div', { className: 'no-preview' },
      'No preview: Orthanc cannot render this instance (no pixel data, or '
      + 'a compression it does not decode).'));
  });

  return el('li', { className: 'series-card' },
    el('figure', null, frame,
      el('figcaption', null,
        el('strong', null, label),
        el('span', null, count),
        el('a', { href: `${base}/file`, download: `${instance}.dcm` },
          'Download DICOM'))));
}

let shownStudy = null;

async function showStudy(studyId) {
  const heading = $('study-heading');
  const summary = $('study-summary');
  const list = $('series');
  const study = studyId ? studies.get(studyId) : null;
  shownStudy = studyId;
  markSelected(studyId);

  if (!study) {
    heading.textContent = 'Study';
    summary.textContent = studyId ? 'This study no longer exists in Orthanc.'
      : 'Choose a study to see its series.';
    list.replaceChildren();
    return;
  }

  const date = formatDate(tag(study, 'StudyDate'));
  const description = tag(study, 'StudyDescription');
  heading.textContent = [description || 'Study', date].filter(Boolean).join(' – ');
  const patient = study.patient;
  summary.textContent = patient
    ? `${formatName(tag(patient, 'PatientName'))} · Patient ID ${tag(patient, 'PatientID') || 'unknown'}`
    : '';
  list.replaceChildren(el('li', { className: 'hint' }, 'Loading series…'));

  const series = await loadSeries(studyId);
  if (shownStudy !== studyId) {
    return; /* another study was chosen meanwhile */
  }
  series.sort((a, b) => (parseInt(tag(a, 'SeriesNumber'), 10) || 0)
    - (parseInt(tag(b, 'SeriesNumber'), 10) || 0));
  list.replaceChildren(...series.map(previewFigure));
}

/* ---------------------------------------------------------------------
 * Start
 */

function run(promise) {
  promise.catch((err) => {
    console.error(err);
    showError(err);
  });
}

window.addEventListener('hashchange', () => {
  const studyId = selectedStudyId();
  if (studyId) {
    run(showStudy(studyId).then(() => $('study-heading').focus()));
  }
});

document.addEventListener('DOMContentLoaded', () => {
  $('study-heading').setAttribute('tabindex', '-1');
  $('retry').addEventListener('click', () => run(loadPatients()));
  run(loadPatients());
});
