"""The harness itself: a static file and Orthanc's /system side by side."""

import requests


def test_static_file_and_orthanc_side_by_side(orthanc, make_apache):
    apache = make_apache(f"OrthancProxy /orthanc/ {orthanc.url}/")
    with open(f"{apache.docroot}/index.html", "w") as f:
        f.write("<h1>app</h1>")
    assert requests.get(apache.url + "/").text == "<h1>app</h1>"
    system = requests.get(apache.url + "/orthanc/system").json()
    assert system["HttpPort"] == orthanc.http_port
