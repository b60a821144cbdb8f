#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The sample DICOM files the demo loads for the OHIF Viewer.

    sample_files.py DIR            the .dcm files of DIR that have a Modality
    sample_files.py --skipped DIR  the others

OHIF 3.13's study list throws a TypeError (in getModalities) on a study
whose QIDO answer has no ModalitiesInStudy, and shows no study at all.
Four of python3-pydicom's sample files make three such studies in Orthanc
(GDCMJ2K_TextGBR, SC_jpeg_no_color_transform, SC_jpeg_no_color_transform_2
and SC_rgb_jpeg_app14_dcmd; the other files without a Modality are refused
by Orthanc anyway), so the demo leaves out every file without a Modality
and says so.
"""

import os
import sys
import warnings

import pydicom


def has_modality(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        except Exception:
            return False
    return bool(str(ds.get("Modality", "") or "").strip())


def main(args):
    skipped = args[:1] == ["--skipped"]
    if skipped:
        args = args[1:]
    if len(args) != 1:
        sys.exit(__doc__)
    directory = args[0]
    for name in sorted(os.listdir(directory)):
        if name.endswith(".dcm"):
            path = os.path.join(directory, name)
            if has_modality(path) != skipped:
                print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
