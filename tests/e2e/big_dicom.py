# SPDX-License-Identifier: Apache-2.0
"""Valid DICOM files of any size, written as a stream, and the tools to
move them through HTTP as streams while watching the processes' memory.

pydicom writes the preamble, the file meta information and every element of
a multi-frame 8-bit grayscale Secondary Capture dataset except the pixel
data; the PixelData element header (OB, explicit VR little endian, defined
length) is then appended by hand and followed by pseudo-random bytes written
chunk by chunk.  Memory use is constant whatever the size, and the SHA-256
and MD5 of the file are computed while it is written.

The pixel bytes are slices, at pseudo-random offsets, of a random pool: as
incompressible as random data for deflate (whose window is 32 KiB), but
produced at memory speed.

Usage as a script:  big_dicom.py OUTPUT SIZE_IN_BYTES [SEED]
"""

import hashlib
import http.client
import io
import json
import os
import random
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

# Multi-frame Grayscale Byte Secondary Capture Image Storage
SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7.2"
CHUNK = 1 << 20
POOL = 32 << 20
# Orthanc 1.10 reads a request body into one buffer (and holds about three
# times the file in memory while storing it); larger files were not tried.
MAX_SAFE_SIZE = (1 << 31) - 1


@dataclass
class BigDicom:
    path: str
    size: int            # bytes in the file
    pixel_bytes: int     # length of the PixelData value
    sha256: str
    md5: str
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str


def _header(rows, columns, frames, seed, patient_id):
    rng = random.Random(seed)
    uid = lambda: generate_uid(entropy_srcs=[str(seed), str(rng.random())])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASS
    sop_uid = uid()
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = pydicom.uid.PYDICOM_IMPLEMENTATION_UID

    ds = FileDataset(None, Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = SOP_CLASS
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.AccessionNumber = f"BIG{seed}"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.PatientName = f"Big^Streaming^{seed}"
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = uid()
    ds.SeriesInstanceUID = uid()
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.StudyDescription = "mod_orthanc_proxy streaming test"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = frames
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    return ds


def geometry(target_size, header_allowance=4096):
    """(rows, columns, frames) whose pixel data brings the file close to,
    and not above, TARGET_SIZE bytes."""
    budget = max(target_size - header_allowance, 64)
    # Big files: 512 x 512 frames; small ones: small frames, for precision.
    for side in (512, 64, 8):
        if side * side * 256 <= budget or side == 8:
            return side, side, max(budget // (side * side), 1)


def _write_to(out, target_size, seed, patient_id):
    if target_size > MAX_SAFE_SIZE:
        raise ValueError(f"{target_size} bytes: Orthanc 1.10 was only checked "
                         f"with files below {MAX_SAFE_SIZE} bytes")
    rows, columns, frames = geometry(target_size)
    pixel_bytes = rows * columns * frames
    patient_id = patient_id or f"BIG-{seed}-{target_size}"
    ds = _header(rows, columns, frames, seed, patient_id)
    sha, md5 = hashlib.sha256(), hashlib.md5()
    rng = random.Random(seed)
    pool = rng.randbytes(min(POOL, max(pixel_bytes, CHUNK)) + CHUNK)

    header = io.BytesIO()
    ds.save_as(header, write_like_original=False)
    # (7FE0,0010) OB, 2 reserved bytes, 32-bit length; the pixel data is
    # the last element of the dataset.
    head = header.getvalue() + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB",
                                           0, pixel_bytes)
    out.write(head)
    sha.update(head)
    md5.update(head)
    left = pixel_bytes
    view = memoryview(pool)
    while left:
        n = min(CHUNK, left)
        offset = rng.randrange(0, len(pool) - n + 1)
        block = view[offset:offset + n]
        out.write(block)
        sha.update(block)
        md5.update(block)
        left -= n
    return dict(size=len(head) + pixel_bytes, pixel_bytes=pixel_bytes,
                sha256=sha.hexdigest(), md5=md5.hexdigest(),
                patient_id=patient_id, study_uid=ds.StudyInstanceUID,
                series_uid=ds.SeriesInstanceUID, sop_uid=ds.SOPInstanceUID)


def write(path, target_size, seed=0, patient_id=None):
    """Writes a valid DICOM file of about TARGET_SIZE bytes to PATH."""
    with open(path, "wb") as out:
        info = _write_to(out, target_size, seed, patient_id)
    return BigDicom(path=path, **info)


def make_bytes(target_size, seed=0, patient_id=None):
    """A valid DICOM file of about TARGET_SIZE bytes, in memory (small ones),
    and its description (path None)."""
    out = io.BytesIO()
    info = _write_to(out, target_size, seed, patient_id)
    return out.getvalue(), BigDicom(path=None, **info)


def read_chunks(path, chunk=CHUNK):
    """The file at PATH, chunk by chunk."""
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                return
            yield block


def orthanc_instance_id(patient_id, study_uid, series_uid, sop_uid):
    """Orthanc's identifier of an instance: SHA-1 of the four identifiers
    joined by '|', in 5 groups of 8 hex digits."""
    digest = hashlib.sha1("|".join(
        (patient_id, study_uid, series_uid, sop_uid)).encode()).hexdigest()
    return "-".join(digest[i:i + 8] for i in range(0, 40, 8))


def orthanc_study_id(patient_id, study_uid):
    digest = hashlib.sha1(f"{patient_id}|{study_uid}".encode()).hexdigest()
    return "-".join(digest[i:i + 8] for i in range(0, 40, 8))


# ---------------------------------------------------------------------------
# Streaming HTTP client: what curl does, with a view on every step.

@dataclass
class Upload:
    status: int
    headers: dict
    body: bytes
    interim: str         # "100", "none" (waited, nothing came), "final", ""
    sent: int            # body bytes written to the socket
    send_error: str      # why sending stopped early, "" when it did not
    seconds: float

    def json(self):
        return json.loads(self.body)


def _body_blocks(source, blocksize):
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        for i in range(0, len(view), blocksize):
            yield view[i:i + blocksize]
    else:
        yield from read_chunks(source, blocksize)


def _await_interim(sock, timeout):
    """After the request head was sent with Expect: 100-continue, wait up to
    TIMEOUT seconds, as curl does, for what the server says.  An interim
    response is consumed; a final one is left on the socket for
    http.client.  Returns "100", "none" or "final"."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return "none"
        data = sock.recv(65536, socket.MSG_PEEK)
        if not data:
            return "final"       # closed: getresponse() reports it
        if len(data) >= 12 and not re.match(rb"HTTP/1\.[01] 1\d\d", data):
            return "final"
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            sock.recv(end + 4)
            return "100"
        time.sleep(0.01)


def _connection(port, timeout, tls):
    """HTTP to 127.0.0.1:PORT, or HTTPS to localhost:PORT with TLS, an
    ssl.SSLContext (the name the test certificates carry)."""
    if tls is None:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    return http.client.HTTPSConnection("localhost", port, timeout=timeout,
                                       context=tls)


def post_stream(port, path, source, *, chunked=False, expect=False,
                size=None, content_type="application/dicom", headers=None,
                blocksize=CHUNK, continue_timeout=1.0, on_progress=None,
                timeout=900, tls=None):
    """POSTs SOURCE (a file path or bytes) to 127.0.0.1:PORT PATH, streamed
    block by block, with Content-Length or chunked, with or without
    Expect: 100-continue.  ON_PROGRESS(sent) runs after every block.  TLS,
    an ssl.SSLContext, sends it over HTTPS to localhost:PORT."""
    if size is None:
        size = len(source) if isinstance(source, (bytes, bytearray)) \
            else os.path.getsize(source)
    started = time.monotonic()
    conn = _connection(port, timeout, tls)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", content_type)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        else:
            conn.putheader("Content-Length", str(size))
        if expect:
            conn.putheader("Expect", "100-continue")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        interim = _await_interim(conn.sock, continue_timeout) if expect else ""
        sent, send_error = 0, ""
        if interim != "final":
            try:
                for block in _body_blocks(source, blocksize):
                    if chunked:
                        conn.sock.sendall(b"%x\r\n" % len(block))
                        conn.sock.sendall(block)
                        conn.sock.sendall(b"\r\n")
                    else:
                        conn.sock.sendall(block)
                    sent += len(block)
                    if on_progress:
                        on_progress(sent)
                if chunked:
                    conn.sock.sendall(b"0\r\n\r\n")
            except OSError as e:          # the server answered and closed
                send_error = f"{type(e).__name__}: {e}"
        response = conn.getresponse()
        body = response.read()
        return Upload(response.status, dict(response.getheaders()), body,
                      interim, sent, send_error, time.monotonic() - started)
    finally:
        conn.close()


@dataclass
class Download:
    status: int
    headers: dict
    size: int
    sha256: str
    chunked: bool        # framing Apache chose towards the client
    seconds: float


def get_stream(port, path, sink=None, blocksize=CHUNK, timeout=900, tls=None):
    """GETs PATH from 127.0.0.1:PORT without compression and hashes the body
    as it arrives; every block also goes to SINK (a binary file) if given.
    TLS as for post_stream."""
    started = time.monotonic()
    conn = _connection(port, timeout, tls)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = conn.getresponse()
        sha, size = hashlib.sha256(), 0
        while True:
            block = response.read(blocksize)
            if not block:
                break
            sha.update(block)
            size += len(block)
            if sink is not None:
                sink.write(block)
        return Download(response.status, dict(response.getheaders()), size,
                        sha.hexdigest(), bool(response.chunked),
                        time.monotonic() - started)
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# Memory and I/O of processes, from /proc.

def proc_status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
    except OSError:
        return 0
    return int(m.group(1)) if m else 0


def tcp_bytes_received(port):
    """{connection: bytes received} for the established TCP connections to
    the local PORT (tcp_info bytes_received, from `ss`): how much has
    reached the server listening there, per connection, since each
    connection opened.  /proc/PID/io cannot tell: its rchar ignores recv()."""
    out = subprocess.run(["ss", "-Htin", "state", "established",
                          f"( sport = :{port} )"], capture_output=True,
                         text=True, check=True).stdout
    received = {}
    # One socket: "local peer\n\t ... bytes_received:N ..." (-H: no header;
    # with a state filter the state column is left out).
    for m in re.finditer(r"^\S+\s+\S+\s+(\S+)\s+(\S+)\s*\n(.*?)(?=^\S|\Z)",
                         out, re.M | re.S):
        n = re.search(r"bytes_received:(\d+)", m.group(3))
        received[(m.group(1), m.group(2))] = int(n.group(1)) if n else 0
    return received


def tcp_bytes_received_since(port, before):
    """The most bytes any connection to PORT received since BEFORE (a
    tcp_bytes_received() result): a pooled connection that carried earlier
    requests counts only what came after."""
    now = tcp_bytes_received(port)
    return max((n - before.get(conn, 0) for conn, n in now.items()), default=0)


class MemorySampler:
    """Apache's memory around a transfer: VmHWM of every Apache process
    before and after, and VmRSS summed over them, sampled in a background
    thread.  PIDS is a callable returning the PIDs to watch (parent and
    children), called again now and then to catch new children."""

    def __init__(self, pids, interval=0.05, label=""):
        self.pids = pids
        self.interval = interval
        self.label = label
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self, pids):
        return sum(proc_status_kib(pid, "VmRSS") for pid in pids)

    def _run(self):
        pids, refreshed = self.pids(), time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - refreshed > 0.5:
                pids, refreshed = self.pids(), time.monotonic()
            rss = self._rss(pids)
            self.samples += 1
            self.peak_rss = max(self.peak_rss, rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        pids = self.pids()
        self.hwm_before = {pid: proc_status_kib(pid, "VmHWM") for pid in pids}
        self.rss_before = self._rss(pids)
        self.peak_rss = self.rss_before
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        pids = self.pids()
        self.hwm_after = {pid: proc_status_kib(pid, "VmHWM") for pid in pids}
        self.rss_after = self._rss(pids)
        self.peak_rss = max(self.peak_rss, self.rss_after)
        return False

    @property
    def rss_growth_kib(self):
        """Peak of the summed VmRSS during the transfer minus its value
        before."""
        return self.peak_rss - self.rss_before

    @property
    def hwm_growth_kib(self):
        """How much the peaks of the Apache processes rose: for a process
        that was already there, VmHWM after minus before; a new process
        counts with its whole VmHWM."""
        return sum(hwm - self.hwm_before.get(pid, 0)
                   for pid, hwm in self.hwm_after.items())

    def check_bounded(self, bound_kib, peaks=True):
        """Asserts that Apache's memory grew by less than BOUND_KIB during
        the transfer (its summed VmRSS, and with PEAKS its VmHWM).  Under
        AddressSanitizer the figures are printed, not judged: its
        quarantine keeps up to 256 MB of freed memory per process."""
        print(self.summary())
        assert self.samples > 10
        if os.environ.get("OP_SANITIZER_PRELOAD"):
            return
        assert self.rss_growth_kib < bound_kib, self.summary()
        if peaks:
            assert self.hwm_growth_kib < bound_kib, self.summary()

    def summary(self):
        mib = lambda kib: f"{kib / 1024:.1f} MiB"
        return (f"{self.label}: Apache VmRSS sum before {mib(self.rss_before)}, "
                f"peak {mib(self.peak_rss)} (+{mib(self.rss_growth_kib)}, "
                f"{self.samples} samples), after {mib(self.rss_after)}; "
                f"VmHWM sum before {mib(sum(self.hwm_before.values()))}, "
                f"after {mib(sum(self.hwm_after.values()))} "
                f"(+{mib(self.hwm_growth_kib)}) over "
                f"{len(self.hwm_after)} processes")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    info = write(sys.argv[1], int(sys.argv[2]),
                 int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    print(info)
