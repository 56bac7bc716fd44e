"""Staff sign-in over real HTTP: accounts made with `exchange users add`, `exchange serve` on a demo township."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import EXCHANGE, clean_env, free_port, running

PASSWORD = "s3cret-pass"
WRONG = "用户名或密码错误，或账号已停用。"
MANUAL = {"living_arrangement": "与子女同住", "verified_in_person": True, "phone": "13800000000",
          "bank_account": "6217000000000000000"}


def exchange(cwd: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([*EXCHANGE, *args], cwd=cwd, env=clean_env(), input=stdin, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def add_user(town: Path, username: str, role: str, *grids: str) -> None:
    grid_args = [arg for grid in grids for arg in ("--grid", grid)]
    exchange(town.parent, "users", "add", username, "--role", role, *grid_args, "--name", f"测试{username}",
             "--password-stdin", "--data-dir", str(town), stdin=PASSWORD + "\n")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[str]]]:
    """A demo township served by `exchange serve`, with accounts for one grid, one village and the county."""
    tmp_path = tmp_path_factory.mktemp("signin")
    town = tmp_path / "town"
    exchange(tmp_path, "demo", "--residents", "2000", "--seed", "11", "--data-dir", str(town), "--no-serve")
    port = free_port()
    with running(["serve", "--port", str(port), "--data-dir", str(town)], tmp_path, port) as base:
        listing = httpx.get(f"{base}/api/forms", params={"limit": 1000}).json()
        grids = sorted({f["grid_code"] for f in listing["items"] if f["grid_code"]})
        assert len({g[:12] for g in grids}) >= 2, grids  # two villages at least
        add_user(town, "grid7", "grid_worker", grids[0])
        add_user(town, "village2", "village_reviewer", grids[-1][:12])
        add_user(town, "county", "county_operator")
        add_user(town, "gone", "grid_worker", grids[0])
        exchange(tmp_path, "users", "disable", "gone", "--data-dir", str(town))
        yield base, town, grids


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD, base: str = "") -> httpx.Response:
    token = csrf_of(client.get(f"{base}/signin"))
    return client.post(f"{base}/signin", data={"csrf_token": token, "username": username, "password": password})


@pytest.fixture
def client(served: tuple[str, Path, list[str]]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0]) as client:
        yield client


def signed_in_as(client: httpx.Client) -> Any:
    response = client.get("/api/session")
    return response.json()["username"] if response.status_code == 200 else None


@pytest.mark.slow
def test_sign_in_page_is_chinese_with_a_csrf_field_and_a_safe_cookie(client: httpx.Client) -> None:
    """GET /signin is a zh-CN form with a hidden CSRF token; the session cookie is HttpOnly and SameSite=Lax."""
    page = client.get("/signin")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text
    assert "登录" in page.text
    assert len(csrf_of(page)) >= 32
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("exchange_session=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags


@pytest.mark.slow
def test_a_staff_member_signs_in_and_out(client: httpx.Client) -> None:
    """The right password starts a session and redirects to the app; signing out (with the token) ends it."""
    response = sign_in(client, "grid7")
    assert (response.status_code, response.headers["location"]) == (303, "/")
    session = client.get("/api/session").json()
    assert (session["username"], session["role"], session["display_name"]) == ("grid7", "grid_worker", "测试grid7")
    assert "password_hash" not in session
    token = csrf_of(client.get("/signin"))
    assert token == session["csrf_token"]
    assert client.post("/signout", data={}).status_code == 403
    assert signed_in_as(client) == "grid7"
    response = client.post("/signout", data={"csrf_token": token})
    assert (response.status_code, response.headers["location"]) == (303, "/signin")
    assert signed_in_as(client) is None


@pytest.mark.slow
@pytest.mark.parametrize(("username", "password"), [("grid7", "wrong-pass"), ("nobody", PASSWORD),
                                                    ("gone", PASSWORD)])
def test_wrong_password_unknown_and_disabled_users_get_the_same_answer(client: httpx.Client, username: str,
                                                                      password: str) -> None:
    """A wrong password, an unknown user and a disabled account: the same 401 page, and no session."""
    response = sign_in(client, username, password)
    assert response.status_code == 401
    assert WRONG in response.text
    assert signed_in_as(client) is None


@pytest.mark.slow
@pytest.mark.parametrize("token", [None, "", "forged-token-0123456789abcdef0123456789"])
def test_a_sign_in_without_the_session_csrf_token_is_forbidden(client: httpx.Client, token: str | None) -> None:
    """A missing, empty or foreign CSRF token gets the 403 page and no session, even with the right password."""
    client.get("/signin")
    data = {"username": "grid7", "password": PASSWORD} | ({"csrf_token": token} if token is not None else {})
    response = client.post("/signin", data=data)
    assert response.status_code == 403
    assert "请求被拒绝" in response.text
    assert signed_in_as(client) is None


@pytest.mark.slow
def test_a_token_from_another_session_is_forbidden(served: tuple[str, Path, list[str]]) -> None:
    """A page's token posted without that page's cookie (a cross-site form) is refused."""
    with httpx.Client(base_url=served[0]) as victim, httpx.Client(base_url=served[0]) as attacker:
        token = csrf_of(victim.get("/signin"))
        attacker.get("/signin")
        response = attacker.post("/signin", data={"csrf_token": token, "username": "grid7", "password": PASSWORD})
        assert response.status_code == 403


@pytest.mark.slow
def test_forms_are_limited_to_the_grids_of_the_signed_in_account(client: httpx.Client,
                                                                 served: tuple[str, Path, list[str]]) -> None:
    """A grid worker lists only their grid's forms, a village reviewer their village's, a county operator all."""
    _, _, grids = served
    everything = client.get("/api/forms", params={"limit": 1000}).json()
    by_grid: dict[str, int] = {}
    for form in everything["items"]:
        by_grid[form["grid_code"]] = by_grid.get(form["grid_code"], 0) + 1

    sign_in(client, "grid7")
    mine = client.get("/api/forms", params={"limit": 1000}).json()
    assert mine["total"] == by_grid[grids[0]] < everything["total"]
    assert {f["grid_code"] for f in mine["items"]} == {grids[0]}
    other = client.get("/api/forms", params={"grid": grids[-1]}).json()
    assert other["total"] == 0

    sign_in(client, "village2")
    village = client.get("/api/forms", params={"limit": 1000}).json()
    assert village["total"] == sum(n for g, n in by_grid.items() if g and g.startswith(grids[-1][:12]))
    assert {f["grid_code"][:12] for f in village["items"]} == {grids[-1][:12]}

    sign_in(client, "county")
    assert client.get("/api/forms", params={"limit": 1000}).json()["total"] == everything["total"]


@pytest.mark.slow
def test_a_signed_in_correction_records_the_account_not_the_body(client: httpx.Client) -> None:
    """With a session the signed-in account acts (the body's actor is ignored) and needs the X-CSRF-Token
    header; the form history records the username."""
    sign_in(client, "grid7")
    token = client.get("/api/session").json()["csrf_token"]
    form = client.get("/api/forms", params={"status": "pending_review", "process": "elderly-allowance-review",
                                            "limit": 1}).json()["items"][0]
    body = {"revision": form["revision"], "actor": "someone-else", "manual": MANUAL,
            "corrections": [{"field": "registered_address", "value": "富民县永定街道大营村上村组5号",
                             "reason": "入户核实：已搬到上村组"}]}
    url = f"/api/forms/{form['id']}/correct"
    refused = client.post(url, json=body)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    response = client.post(url, json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.text
    assert response.json()["form"]["reviewed_by"] == "grid7"
    history = client.get(f"/api/forms/{form['id']}/history").json()
    assert [(e["action"], e["actor"]) for e in history["items"]][-1] == ("corrected", "grid7")


@pytest.mark.slow
def test_api_clients_without_a_session_still_name_the_actor(client: httpx.Client) -> None:
    """Without a session the body's actor acts; a body naming none is a 422 naming `actor`."""
    form = client.get("/api/forms", params={"status": "pending_review", "process": "elderly-allowance-review",
                                            "limit": 1}).json()["items"][0]
    url = f"/api/forms/{form['id']}/reject"
    missing = client.post(url, json={"revision": form["revision"], "reason": "已迁出本村"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "actor"
    done = client.post(url, json={"revision": form["revision"], "reason": "已迁出本村", "actor": "api-client"})
    assert done.status_code == 200, done.text
    assert done.json()["form"]["reviewed_by"] == "api-client"


@pytest.mark.slow
def test_disabling_an_account_ends_its_session(client: httpx.Client, served: tuple[str, Path, list[str]]) -> None:
    """`exchange users disable` takes effect on the next request of an open session."""
    _, town, grids = served
    add_user(town, "leaving", "grid_worker", grids[0])
    sign_in(client, "leaving")
    assert signed_in_as(client) == "leaving"
    exchange(town.parent, "users", "disable", "leaving", "--data-dir", str(town))
    assert signed_in_as(client) is None


@pytest.mark.slow
def test_the_session_key_is_kept_in_the_data_folder_across_restarts(tmp_path: Path) -> None:
    """Without EXCHANGE_SECRET_KEY the key is generated once (owner-only file), so a restart keeps sessions."""
    data = tmp_path / "data"
    add_user(data, "wang", "grid_worker", "53012400100101")
    with httpx.Client() as client:  # cookies ignore the port, so the second server gets the first one's cookie
        for round_ in range(2):
            port = free_port()
            with running(["serve", "--port", str(port), "--data-dir", str(data)], tmp_path, port) as base:
                if round_ == 0:
                    assert sign_in(client, "wang", base=base).status_code == 303
                assert client.get(f"{base}/api/session").json()["username"] == "wang"
    key_file = data / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0
