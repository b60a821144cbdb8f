# SPDX-License-Identifier: Apache-2.0
"""`httpd -t` names each configuration mistake; correct configurations load
with the module before or after mod_proxy."""

import pytest
import requests

from harness import BASE_MODULES

ORTHANC_URL = "http://127.0.0.1:8042/"   # never contacted by `httpd -t`
WITHOUT_PROXY = [m for m in BASE_MODULES if m not in ("proxy", "proxy_http")]
WITHOUT_PROXY_HTTP = [m for m in BASE_MODULES if m != "proxy_http"]


def configtest(make_apache, body, **kwargs):
    return make_apache(body, start=False, **kwargs).configtest()


def assert_rejected(result, *words):
    status, output = result
    assert status != 0, output
    for word in words:
        assert word in output, output


@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
def test_missing_mod_proxy_is_named(make_apache, last):
    """Without mod_proxy the check fails and says so, wherever the module
    is loaded."""
    assert_rejected(configtest(make_apache, f"OrthancProxy /orthanc/ "
                               f"{ORTHANC_URL}\n", modules=WITHOUT_PROXY,
                               module_under_test_last=last),
                    "mod_proxy is not loaded")


@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
def test_missing_mod_proxy_http_is_named(make_apache, last):
    """mod_proxy alone cannot speak HTTP to Orthanc: the check names
    mod_proxy_http and the mapping."""
    assert_rejected(configtest(make_apache, f"OrthancProxy /orthanc/ "
                               f"{ORTHANC_URL}\n", modules=WITHOUT_PROXY_HTTP,
                               module_under_test_last=last),
                    "mod_proxy_http is not loaded", "/orthanc/")


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1:8042/",
    "unix:/run/orthanc.sock|http://localhost/",
    "127.0.0.1:8042",
    "ajp://127.0.0.1:8009/",
], ids=["ftp", "unix-socket", "host-port", "ajp"])
def test_url_that_is_not_http_https_or_balancer_is_rejected(make_apache, url):
    """Only http://, https:// and balancer:// name an Orthanc; the message
    quotes the URL."""
    assert_rejected(configtest(make_apache, f"OrthancProxy /orthanc/ {url}\n"),
                    f"'{url}'")


def test_prefix_without_leading_slash_is_rejected(make_apache):
    """A prefix is a path: it must start with '/'."""
    assert_rejected(configtest(make_apache,
                               f"OrthancProxy orthanc/ {ORTHANC_URL}\n"),
                    "'orthanc/' must start with '/'")


@pytest.mark.parametrize("second", ["/orthanc/", "/orthanc"],
                         ids=["same", "without-slash"])
def test_same_prefix_twice_is_rejected(make_apache, second):
    """Mapping one prefix twice (with or without its trailing slash) names
    the earlier definition."""
    apache = make_apache(f"OrthancProxy /orthanc/ {ORTHANC_URL}\n"
                         f"OrthancProxy {second} http://127.0.0.1:8043/\n",
                         start=False)
    assert_rejected(apache.configtest(), "/orthanc/ is already mapped",
                    apache.config_path)


def test_same_prefix_in_location_and_server_is_rejected(make_apache):
    """The <Location> form counts as a mapping of its prefix too."""
    assert_rejected(configtest(make_apache,
                               f"OrthancProxy /pacs/ {ORTHANC_URL}\n"
                               "<Location /pacs/>\n"
                               "    OrthancProxy http://127.0.0.1:8043/\n"
                               "</Location>\n"),
                    "/pacs/ is already mapped")


@pytest.mark.parametrize("section", [
    "<LocationMatch ^/orthanc/>|</LocationMatch>",
    "<Location ~ ^/orthanc/>|</Location>",
], ids=["LocationMatch", "Location-tilde"])
def test_url_form_in_regex_location_is_rejected(make_apache, section):
    """A regular-expression location has no prefix to take: the message says
    where OrthancProxy URL belongs."""
    opening, closing = section.split("|")
    assert_rejected(configtest(make_apache, f"{opening}\n"
                               f"    OrthancProxy {ORTHANC_URL}\n"
                               f"{closing}\n"),
                    "belongs in a <Location /prefix/> section")


def test_orthanc_proxy_in_directory_is_rejected(make_apache):
    """<Directory> is about files on disk, not URL space."""
    assert_rejected(configtest(make_apache, "<Directory {docroot}>\n"
                               f"    OrthancProxy {ORTHANC_URL}\n"
                               "</Directory>\n"),
                    "OrthancProxy cannot occur within <Directory> section")


def test_bad_worker_value_is_rejected_by_mod_proxy(make_apache):
    """timeout=abc goes through mod_proxy's own parameter check."""
    assert_rejected(configtest(make_apache, f"OrthancProxy /orthanc/ "
                               f"{ORTHANC_URL} timeout=abc\n"),
                    "timeout=abc")


def test_unknown_worker_key_is_rejected_by_mod_proxy(make_apache):
    assert_rejected(configtest(make_apache, f"OrthancProxy /orthanc/ "
                               f"{ORTHANC_URL} bogus=1\n"),
                    "unknown Worker parameter bogus=1")


def test_worker_word_without_equals_is_rejected(make_apache):
    """A word that is not key=value is caught by the module itself."""
    assert_rejected(configtest(make_apache, f"OrthancProxy /orthanc/ "
                               f"{ORTHANC_URL} foo\n"),
                    "'foo' is not a worker parameter")


@pytest.mark.parametrize("last", [False, True],
                         ids=["before-mod_proxy", "after-mod_proxy"])
def test_module_works_loaded_before_or_after_mod_proxy(
        orthanc, make_apache, last):
    """The module loads and proxies whether its LoadModule line comes before
    mod_proxy's (Debian's alphabetical order) or after it."""
    apache = make_apache(f"OrthancProxy /orthanc/ {orthanc.url}/\n",
                         start=False, module_under_test_last=last)
    own = apache.config.index("LoadModule orthanc_proxy_module")
    proxy = apache.config.index("LoadModule proxy_module")
    assert (own > proxy) == last
    status, output = apache.configtest()
    assert status == 0, output
    assert "Syntax OK" in output
    apache.start()
    make_apache.started.append(apache)
    r = requests.get(apache.url + "/orthanc/system", timeout=60)
    assert r.status_code == 200
    assert r.json()["HttpPort"] == orthanc.http_port
