# SPDX-License-Identifier: Apache-2.0
"""CT series written with pydicom, for the cache tests and the viewer benchmark.

A series is N slices of ROWS x COLUMNS signed 16-bit CT images (CT Image
Storage, explicit VR little endian) of one patient, study and series.  The
pixels are a smooth phantom (a body ellipse, organs, a slice-dependent
pattern) with a little noise, so that previews compress the way real CT
does.  SEED changes the pixels, never the identifiers: an instance made
again with another seed has the same UIDs (hence the same Orthanc ID) and
different images, as when a modality sends a corrected image again.
"""

import array
import io
import random
import sys
from dataclasses import dataclass, field

import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


@dataclass
class Series:
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uids: list = field(default_factory=list)
    rows: int = 512
    columns: int = 512
    name: str = "Cache^Test"


def new_series(slices, rows=512, columns=512, label="CACHE", seed=0):
    """A Series description with fresh UIDs (derived from LABEL and SEED,
    so the same arguments give the same series)."""
    rng = random.Random(f"{label}-{seed}")

    def uid():
        return generate_uid(entropy_srcs=[label, str(seed), str(rng.random())])
    series = Series(patient_id=f"{label}-{seed}", study_uid=uid(),
                    series_uid=uid(), rows=rows, columns=columns,
                    name=f"{label.title()}^Series{seed}")
    series.sop_uids = [uid() for _ in range(slices)]
    return series


_BASES = {}


def _base(rows, columns):
    """The phantom without noise: air, a body ellipse, lungs, bone."""
    key = (rows, columns)
    if key not in _BASES:
        cy, cx = rows / 2, columns / 2
        organs = ((-0.18, 0.0, 0.12, -800), (0.18, 0.0, 0.12, -800),
                  (0.0, 0.15, 0.06, 300), (0.05, -0.1, 0.08, 60))
        values = []
        for y in range(rows):
            for x in range(columns):
                if ((x - cx) / (0.42 * columns)) ** 2 \
                        + ((y - cy) / (0.34 * rows)) ** 2 >= 1:
                    values.append(-1000)
                    continue
                value = 40
                for ox, oy, r, hu in organs:
                    if (x - cx - ox * columns) ** 2 + (y - cy - oy * rows) ** 2 \
                            < (r * columns) ** 2:
                        value = hu
                values.append(value)
        _BASES[key] = values
    return _BASES[key]


_NOISE = []


def _noise(count):
    """A pool of small Gaussian noise values, made once."""
    if len(_NOISE) < 2 * count:
        rng = random.Random(7)
        _NOISE[:] = [int(rng.gauss(0, 12)) for _ in range(2 * count)]
    return _NOISE


def _pixels(series, index, seed):
    """Slice INDEX: the phantom, noise from an offset that depends on INDEX
    and SEED, and a bright marker whose place depends on both."""
    rows, columns = series.rows, series.columns
    count = rows * columns
    base, noise = _base(rows, columns), _noise(count)
    offset = random.Random(f"{index}-{seed}").randrange(count)
    values = [b + n for b, n in zip(base, noise[offset:offset + count])]
    size = max(rows // 16, 2)
    top = (index * 7 + seed * 13) % (rows - size)
    left = (index * 11 + seed * 29) % (columns - size)
    for y in range(top, top + size):
        values[y * columns + left:y * columns + left + size] = [1500] * size
    return array.array("h", values)


def instance_bytes(series, index, seed=0):
    """Slice INDEX of SERIES as a DICOM file (bytes); SEED picks the pixels."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = series.sop_uids[index]
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = pydicom.uid.PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset(None, Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = series.sop_uids[index]
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.AccessionNumber = series.patient_id[:16]
    ds.Modality = "CT"
    ds.PatientName = series.name
    ds.PatientID = series.patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = series.study_uid
    ds.SeriesInstanceUID = series.series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = index + 1
    ds.StudyDescription = "mod_orthanc_proxy cache test"
    ds.SeriesDescription = "CT"
    ds.ImagePositionPatient = [0.0, 0.0, float(index)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceThickness = 1.0
    ds.PixelSpacing = [0.7, 0.7]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = series.rows
    ds.Columns = series.columns
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    pixels = _pixels(series, index, seed)
    if sys.byteorder != "little":
        pixels.byteswap()
    ds.PixelData = pixels.tobytes()
    out = io.BytesIO()
    ds.save_as(out, write_like_original=False)
    return out.getvalue()


def upload_series(orthanc_url, series, seed=0, session=None):
    """Stores every slice straight into Orthanc; their Orthanc IDs."""
    import requests
    http = session or requests
    ids = []
    for index in range(len(series.sop_uids)):
        r = http.post(orthanc_url + "/instances",
                      data=instance_bytes(series, index, seed), timeout=60)
        r.raise_for_status()
        ids.append(r.json()["ID"])
    return ids
