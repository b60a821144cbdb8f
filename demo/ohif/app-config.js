// SPDX-License-Identifier: Apache-2.0
/*
 * OHIF Viewer configuration for mod_orthanc_proxy's demo.
 *
 * The viewer is served by Apache from its document root and reads Orthanc's
 * DICOMweb API at /orthanc/dicom-web on the same origin, through
 * mod_orthanc_proxy: no CORS, no absolute URL, no credentials in the page.
 * The viewer's own routes live under /ohif/ (routerBasename); its files
 * are at the document root, where the OHIF build expects them.
 */
window.config = {
  name: 'mod_orthanc_proxy demo',
  routerBasename: '/ohif',
  extensions: [],
  modes: [],
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  // HTTP/2 lets the browser keep many requests in flight on one connection.
  maxNumRequests: { interaction: 100, thumbnail: 75, prefetch: 25 },
  // No investigational-use dialog in the demo.
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'orthanc',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'orthanc',
      configuration: {
        friendlyName: 'Orthanc through mod_orthanc_proxy',
        name: 'orthanc',
        qidoRoot: '/orthanc/dicom-web',
        wadoRoot: '/orthanc/dicom-web',
        wadoUriRoot: '/orthanc/wado',
        // Orthanc's DICOMweb plugin 1.7 answers includefield, but without
        // the fields OHIF asks for in its study list.
        qidoSupportsIncludeField: false,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        supportsReject: false,
        staticWado: false,
        singlepart: 'bulkdata,video',
        bulkDataURI: { enabled: true, relativeResolution: 'studies' },
        omitQuotationForMultipartRequest: true,
        dicomUploadEnabled: false,
      },
    },
  ],
};
