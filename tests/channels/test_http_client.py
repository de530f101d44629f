import asyncio
import base64
import gc
import json
from pathlib import Path

import pytest

from duress.channels.http_client import (
    HttpAnswer,
    HttpClient,
    HttpError,
    HttpTimeout,
    HttpUnreachable,
)
from tests.channels.http_server import Answer, HttpServer, closed_port
from tests.channels.tls import make_certificates


async def test_one_connection_is_kept_alive_across_requests(
    server: HttpServer, http: HttpClient
) -> None:
    for i in range(5):
        answer = await http.request("POST", server.url("/p"), content=b"x" * i, timeout_s=2)
        assert answer.status == 200
    assert len({request.client_port for request in server.seen}) == 1
    assert [request.body for request in server.seen] == [b"x" * i for i in range(5)]


async def test_a_closed_connection_is_replaced(server: HttpServer, http: HttpClient) -> None:
    server.answer = Answer(200, b"bye", {"Connection": "close"})
    first = await http.request("GET", server.url("/a"), timeout_s=2)
    server.answer = Answer(200, b"hello")
    second = await http.request("GET", server.url("/b"), timeout_s=2)
    assert (first.body, second.body) == (b"bye", b"hello")
    assert server.seen[0].client_port != server.seen[1].client_port


async def test_parallel_requests_use_parallel_connections(
    server: HttpServer, http: HttpClient
) -> None:
    answers = await asyncio.gather(
        *(http.request("POST", server.url(f"/{i}"), content=b"", timeout_s=2) for i in range(4))
    )
    assert [a.status for a in answers] == [200] * 4
    assert sorted(request.path for request in server.seen) == ["/0", "/1", "/2", "/3"]


async def test_the_answer_carries_status_body_and_headers(
    server: HttpServer, http: HttpClient
) -> None:
    server.answer = Answer.json(201, {"sid": "SM1", "n": [1, 2]})
    answer = await http.request("POST", server.url("/m"), content=b"{}", timeout_s=2)
    assert isinstance(answer, HttpAnswer)
    assert answer.status == 201
    assert answer.body == b'{"sid": "SM1", "n": [1, 2]}'
    assert answer.headers["content-type"] == "application/json"  # any case
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"sid": "SM1", "n": [1, 2]}
    assert answer.text() == '{"sid": "SM1", "n": [1, 2]}'


async def test_text_follows_the_charset_and_json_refuses_non_json(
    server: HttpServer, http: HttpClient
) -> None:
    server.answer = Answer(
        400, "déjà".encode("latin-1"), {"Content-Type": "text/plain; charset=latin-1"}
    )
    answer = await http.request("GET", server.url(), timeout_s=2)
    assert answer.text() == "déjà"
    with pytest.raises(ValueError, match="codec"):  # UnicodeDecodeError is a ValueError
        answer.json()


async def test_error_statuses_and_redirects_are_answers(
    server: HttpServer, http: HttpClient
) -> None:
    server.answer = Answer(503, b"busy")
    assert (await http.request("GET", server.url("/x"), timeout_s=2)).status == 503
    server.answer = Answer(302, headers={"Location": server.url("/elsewhere")})
    redirect = await http.request("POST", server.url("/x"), content=b"", timeout_s=2)
    assert (redirect.status, redirect.headers["location"]) == (302, server.url("/elsewhere"))
    assert [request.path for request in server.seen] == ["/x", "/x"]


async def test_json_body(server: HttpServer, http: HttpClient) -> None:
    await http.request("POST", server.url("/j"), json={"to": "+1 555", "text": "Ü"}, timeout_s=2)
    request = server.seen[0]
    assert request.headers["content-type"] == "application/json"
    assert request.body == '{"to":"+1 555","text":"Ü"}'.encode()


async def test_form_body(server: HttpServer, http: HttpClient) -> None:
    await http.request(
        "PUT", server.url("/f"), form={"To": "+15550111", "Body": "a b&c=d"}, timeout_s=2
    )
    request = server.seen[0]
    assert request.method == "PUT"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.body == b"To=%2B15550111&Body=a+b%26c%3Dd"


async def test_params_join_the_query(server: HttpServer, http: HttpClient) -> None:
    await http.request(
        "GET", server.url("/send?api=2"), params={"to": "+15550111", "msg": "a b&c"}, timeout_s=2
    )
    query = server.seen[0].query
    assert (query["api"], query["to"], query["msg"]) == ("2", "+15550111", "a b&c")


async def test_explicit_content_type_wins(server: HttpServer, http: HttpClient) -> None:
    await http.request(
        "POST",
        server.url(),
        json=[1],
        headers={"content-type": "application/vnd.x+json"},
        timeout_s=2,
    )
    assert server.seen[0].headers.getall("content-type") == ["application/vnd.x+json"]


async def test_basic_auth_replaces_an_authorization_header(
    server: HttpServer, http: HttpClient
) -> None:
    await http.request(
        "POST",
        server.url(),
        content=b"",
        headers={"Authorization": "Bearer old", "X-Other": "1"},
        basic_auth=("AC1", "sécret"),
        timeout_s=2,
    )
    headers = server.seen[0].headers
    assert headers.getall("authorization") == [
        "Basic " + base64.b64encode("AC1:sécret".encode()).decode()
    ]
    assert headers["x-other"] == "1"


async def test_one_body_at_most(http: HttpClient) -> None:
    with pytest.raises(ValueError, match="at most one of content, json and form"):
        await http.request("POST", "http://127.0.0.1:1/", content=b"", json={}, timeout_s=1)


async def test_a_hanging_server_is_a_timeout_naming_the_url(
    server: HttpServer, http: HttpClient
) -> None:
    server.answer = Answer(hang=True)
    url = server.url("/slow")
    with pytest.raises(HttpTimeout) as err:
        await http.request("POST", url, content=b"x", timeout_s=0.2)
    assert str(err.value) == f"POST {url}: no answer within 0.2 s"
    assert (err.value.url, err.value.timeout_s) == (url, 0.2)
    assert isinstance(err.value, HttpError)
    assert server.arrived.is_set()


async def test_a_closed_port_is_unreachable_naming_the_url_and_cause(http: HttpClient) -> None:
    url = f"http://127.0.0.1:{closed_port()}/wctp"
    with pytest.raises(HttpUnreachable) as err:
        await http.request("POST", url, content=b"x", timeout_s=2)
    assert err.value.cause.startswith("ClientConnectorError: ")
    assert str(err.value).startswith(f"POST {url}: ClientConnectorError: ")
    assert isinstance(err.value, HttpError)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http://", "not a url"])
async def test_a_url_we_cannot_use_is_unreachable(http: HttpClient, url: str) -> None:
    with pytest.raises(HttpUnreachable) as err:
        await http.request("GET", url, timeout_s=1)
    assert str(err.value).startswith(f"GET {url}: ")


async def test_an_unresolvable_host_is_unreachable(http: HttpClient) -> None:
    with pytest.raises(HttpUnreachable) as err:
        await http.request("GET", "http://no-such-host.invalid/", timeout_s=5)
    assert err.value.cause.startswith("ClientConnector")  # DNS errors are connector errors
    assert "no-such-host.invalid" in err.value.cause


async def test_tls_is_verified(tmp_path: Path) -> None:
    certificates = make_certificates(tmp_path)
    server = await HttpServer().start(ssl_context=certificates.server_context())
    try:
        async with HttpClient() as client:
            with pytest.raises(HttpUnreachable, match="certificate verify failed"):
                await client.request("GET", f"https://127.0.0.1:{server.port}/", timeout_s=5)
    finally:
        await server.stop()
    assert server.seen == []


async def test_proxies_come_from_the_environment(
    server: HttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{server.port}")
    monkeypatch.setenv("NO_PROXY", "bypassed.invalid")
    async with HttpClient() as client:
        await client.request("POST", "http://gateway.invalid/wctp", content=b"x", timeout_s=2)
        with pytest.raises(HttpUnreachable):
            await client.request("GET", "http://bypassed.invalid/", timeout_s=5)
    request = server.seen[0]
    assert (request.path, request.headers["host"], request.body) == (
        "/wctp",
        "gateway.invalid",
        b"x",
    )
    assert (
        request.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()
    )
    assert len(server.seen) == 1


async def test_after_aclose_a_new_pool_is_opened(server: HttpServer) -> None:
    client = HttpClient()
    await client.aclose()  # nothing opened yet
    await client.request("GET", server.url("/1"), timeout_s=2)
    await client.aclose()
    await client.request("GET", server.url("/2"), timeout_s=2)
    await client.aclose()
    assert server.seen[0].client_port != server.seen[1].client_port
    del client
    gc.collect()  # an unclosed pool would warn here (ResourceWarning: an error in this suite)


def test_answers_are_plain_values() -> None:
    answer = HttpAnswer(200, b'{"a": 1}', {"Content-Type": "application/json"})
    assert answer.json() == {"a": 1}
    assert json.loads(answer.text()) == {"a": 1}
    with pytest.raises(AttributeError):
        answer.status = 500  # type: ignore[misc]
