"""The workspace store, for real against SQLite and the file system: round trip, sharing, expiry, caps, ids,
isolation, the off switch, configuration and concurrent writers."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from rfm_app.workspace import (
    ID_BYTES,
    MB,
    ClvSettings,
    StoreConfig,
    StoredFile,
    WorkspaceError,
    WorkspaceFullError,
    WorkspaceState,
    WorkspaceStore,
    is_workspace_id,
    open_store,
)
from rfm_core import DEFAULT_RULES, CleaningPolicy, ConfigError, MetricScoring, ScoringSettings, SegmentRule
from rfm_core.audience import Audience, Condition
from rfm_core.formatting import Currency
from rfm_core.segment import RuleSet
from rfm_core.settings import AnalysisSettings, ReadOptions

DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, days: float) -> None:
        self.now += days * DAY


def _store(folder: Path, clock: Clock | None = None, **kwargs: object) -> WorkspaceStore:
    store = open_store(StoreConfig(folder=folder, **kwargs), clock or Clock())  # type: ignore[arg-type]
    assert store is not None
    return store


def _blobs(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "blobs").iterdir())


SETTINGS = AnalysisSettings(read=ReadOptions(sheet="Year 2010-2011"),
                            mapping=(("customer_id", "Customer ID"), ("invoice_date", "InvoiceDate")),
                            cleaning=CleaningPolicy(returns="net", countries=("France", "EIRE"),
                                                    start=dt.date(2011, 1, 1), dayfirst=True),
                            scoring=ScoringSettings(recency=MetricScoring(4, "rank"),
                                                    frequency=MetricScoring(3, "thresholds", (1.0, 4.0))),
                            as_of=dt.date(2011, 12, 10))
RULES = RuleSet((SegmentRule("Best", (4, 5), (4, 5), (4, 5), "Top.", "Reward."),
                 SegmentRule("Ünïcode \"q\"", (1, 3), (1, 5), (1, 5), "", "")), fallback="Rest")
AUDIENCE = Audience("Lapsed repeat buyers", ((Condition("frequency", "gte", 2), Condition("recency_days", "gt", 90)),))


def test_round_trip_through_a_new_store_instance(tmp_path: Path) -> None:
    store = _store(tmp_path / "ws")
    ws = store.create()
    data = b"InvoiceNo,CustomerID\n1,A\n" * 100
    sha = store.save_file(ws, "shop.csv", data)
    state = WorkspaceState(SETTINGS, RULES, ClvSettings("D", 6, 0.05), Currency("EUR", "after"))
    store.save_state(ws, state)
    store.save_audience_object(ws, AUDIENCE)
    assert store.load_audience_objects(ws) == {"Lapsed repeat buyers": AUDIENCE}
    store.save_audience(ws, "raw text", "kept as is")

    again = _store(tmp_path / "ws")  # as after a server restart
    stored = again.load_file(ws)
    assert stored is not None and (stored.name, stored.data) == ("shop.csv", data)
    assert stored.sha256 == sha == __import__("hashlib").sha256(data).hexdigest()
    assert again.load_state(ws) == state
    with pytest.raises(ConfigError, match="saved audience 'raw text' cannot be read"):
        again.load_audience_objects(ws)
    assert again.load_audiences(ws)["raw text"] == "kept as is"
    assert again.load_audiences(ws)["Lapsed repeat buyers"] == AUDIENCE.to_toml()
    # The analysis settings are the CLI's settings TOML, readable as a file of its own.
    assert again.load_settings(ws)["settings.toml"].startswith("# RFM analysis settings")
    assert again.load_settings(ws)["rules.toml"] == RULES.to_toml()
    again.delete_audience(ws, "raw text")
    again.delete_setting(ws, "clv.json")
    assert list(again.load_audiences(ws)) == ["Lapsed repeat buyers"]
    assert again.load_state(ws).clv is None
    assert WorkspaceStore(StoreConfig(folder=tmp_path / "ws")).load_state(again.create()) == WorkspaceState()


def test_a_file_is_stored_once_and_deleted_when_unreferenced(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    store = _store(folder)
    a, b = store.create(), store.create()
    data = b"x" * 5000
    sha = store.save_file(a, "one.csv", data)
    store.save_file(b, "same bytes, other name.csv", data)
    assert _blobs(folder) == [sha]
    assert store.usage(a) == store.usage(b) == 5000
    assert store.forget(a) is True
    assert _blobs(folder) == [sha] and store.load_file(a) is None
    loaded = store.load_file(b)
    assert loaded is not None and loaded.name == "same bytes, other name.csv"
    assert store.forget(b) is True and _blobs(folder) == []
    assert store.forget(b) is False and not store.exists(b)
    # Replacing a workspace's file deletes the old bytes at once.
    c = store.create()
    first = store.save_file(c, "v1.csv", b"1" * 10)
    second = store.save_file(c, "v2.csv", b"2" * 10)
    assert _blobs(folder) == [second] and first != second


def test_expiry_after_days_without_use_purges_bytes(tmp_path: Path) -> None:
    clock = Clock()
    folder = tmp_path / "ws"
    store = _store(folder, clock, expiry_days=30)
    ws = store.create()
    sha = store.save_file(ws, "f.csv", b"abc")
    clock.advance(29)
    assert store.load_file(ws) is not None  # opening it moves the expiry on
    clock.advance(29)
    assert store.exists(ws) and _blobs(folder) == [sha]
    clock.advance(30.01)
    assert store.load_file(ws) is None and not store.exists(ws)
    assert _blobs(folder) == []  # purged on access
    with pytest.raises(WorkspaceError, match="expired or was forgotten"):
        store.save_setting(ws, "x", "1")


def test_periodic_sweep_purges_every_expired_workspace(tmp_path: Path) -> None:
    clock = Clock()
    folder = tmp_path / "ws"
    store = _store(folder, clock, expiry_days=2, sweep_every_seconds=3600)  # opening the store sweeps once
    old = [store.create() for _ in range(2)]
    for i, ws in enumerate(old):
        store.save_file(ws, "f.csv", bytes([i]) * 10)
    clock.advance(1)
    fresh = store.create()
    store.save_file(fresh, "g.csv", b"g")
    clock.advance(1.5)  # the old ones unused for 2.5 days, the fresh one for 1.5
    assert store.maybe_sweep() == 2
    assert len(_blobs(folder)) == 1 and store.exists(fresh)

    # Throttled: at most one sweep an hour, however many calls.
    quick = _store(folder, clock, expiry_days=0.01, sweep_every_seconds=3600)  # 14.4 minutes
    quick.sweep()
    quick.create()
    clock.advance(0.02)  # 28.8 minutes: expired, but the last sweep was less than an hour ago

    def rows() -> int:
        db = sqlite3.connect(folder / "workspaces.sqlite3")
        n = int(db.execute("SELECT COUNT(*) FROM workspace").fetchone()[0])
        db.close()
        return n

    assert quick.maybe_sweep() == 0 and rows() == 2
    clock.advance(1 / 24)
    assert quick.maybe_sweep() == 2 and rows() == 0  # both: "fresh" is older than 14.4 minutes too
    # Leftovers of an interrupted write are removed too.
    (folder / "blobs" / ("f" * 64)).write_bytes(b"orphan")
    quick.sweep()
    assert _blobs(folder) == []


def test_caps_per_workspace_and_in_total(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    store = _store(folder, max_workspace_bytes=1000, max_total_bytes=1500)
    a = store.create()
    store.save_file(a, "small.csv", b"a" * 900)
    with pytest.raises(WorkspaceFullError) as full:
        store.save_setting(a, "settings.toml", "x" * 200)
    assert str(full.value).startswith("The setting settings.toml would make this workspace 1,100 bytes, above the "
                                      "1,000 bytes a workspace can keep, so it is not saved and will not survive a "
                                      "reload.")
    assert store.load_settings(a) == {}  # nothing was written
    with pytest.raises(WorkspaceFullError, match="a workspace can keep"):
        store.save_file(a, "big.csv", b"b" * 1001)
    loaded = store.load_file(a)
    assert loaded is not None and loaded.name == "small.csv" and len(_blobs(folder)) == 1
    b = store.create()
    store.save_file(b, "same.csv", b"a" * 900)  # the same bytes: stored once, so the total is still 900
    store.save_setting(b, "rules.toml", "r" * 100)
    with pytest.raises(WorkspaceFullError, match=r"space for workspaces \(1,500 bytes\) is full, so the file "
                                                 r"other\.csv \(600 bytes\) is not saved"):
        store.save_file(b, "other.csv", b"c" * 600)  # 900 (kept: a uses it) + 100 + 600 > 1500
    store.forget(a)
    store.save_file(b, "other.csv", b"c" * 600)  # now the 900 bytes are b's alone and are freed by the swap
    assert store.usage(b) == 700


def test_ids_are_unguessable_and_not_stored(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    store = _store(folder)
    ids = [store.create() for _ in range(100)]
    assert len(set(ids)) == 100 and ID_BYTES * 8 >= 128
    assert all(is_workspace_id(i) and len(i) == 32 for i in ids)
    store.save_setting(ids[0], "a", "1")
    raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
    assert not any(i.encode() in raw for i in ids)  # only SHA-256 of ids are kept
    public = {m for m in dir(WorkspaceStore) if not m.startswith("_")}
    assert public == {"create", "exists", "forget", "usage", "save_file", "load_file", "save_setting",
                      "delete_setting", "load_settings", "save_audience", "delete_audience", "load_audiences",
                      "save_state", "load_state", "save_audience_object", "load_audience_objects", "sweep",
                      "maybe_sweep", "close", "drop_file"}  # nothing lists workspaces


def test_no_reads_across_workspaces_or_without_the_id(tmp_path: Path) -> None:
    store = _store(tmp_path / "ws")
    a, b = store.create(), store.create()
    store.save_file(a, "a.csv", b"secret")
    store.save_setting(a, "settings.toml", "x = 1")
    store.save_audience(a, "mine", "y")
    assert store.load_file(b) is None and store.load_settings(b) == {} and store.load_audiences(b) == {}
    unknown = "A" * 32
    for bad in (unknown, "", "../../etc/passwd", a[:-1], a + "x", "' OR 1=1 --" + "x" * 21):
        assert store.load_file(bad) is None and store.load_settings(bad) == {} and not store.exists(bad)
        assert store.usage(bad) == 0 and store.forget(bad) is False
        with pytest.raises(WorkspaceError):
            store.save_setting(bad, "settings.toml", "z")
    loaded = store.load_file(a)
    assert loaded is not None and loaded.data == b"secret"


def test_store_off_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    config = StoreConfig.from_settings({"RFM_WORKSPACE": "off", "RFM_WORKSPACE_DIR": str(folder)})
    assert config.enabled is False and config.folder == folder
    assert open_store(config) is None
    with pytest.raises(WorkspaceError, match="turned off"):
        WorkspaceStore(config)
    assert not folder.exists()
    assert not StoreConfig.from_settings({}, {"enabled": False}).enabled


def test_configuration_from_environment_and_secrets(tmp_path: Path) -> None:
    env = {"RFM_WORKSPACE_DIR": str(tmp_path / "env"), "RFM_WORKSPACE_DAYS": "7", "RFM_WORKSPACE_MAX_MB": "10"}
    secrets = {"dir": str(tmp_path / "secret"), "days": 90, "total_mb": 100, "enabled": True}
    config = StoreConfig.from_settings(env, secrets)
    assert config.folder == tmp_path / "env" and config.expiry_days == 7  # the environment wins
    assert config.max_workspace_bytes == 10 * MB and config.max_total_bytes == 100 * MB
    only_secrets = StoreConfig.from_settings({}, secrets)
    assert only_secrets.folder == tmp_path / "secret" and only_secrets.expiry_days == 90
    assert only_secrets.max_workspace_bytes == only_secrets.max_total_bytes == 100 * MB  # lowered with the total
    defaults = StoreConfig.from_settings({})
    assert defaults.enabled and defaults.expiry_days == 30 and defaults.folder.name == "workspaces"
    assert "rfm-segments" in str(defaults.folder)
    for bad_env, message in (({"RFM_WORKSPACE": "maybe"}, "on or off"), ({"RFM_WORKSPACE_DAYS": "0"}, "above 0"),
                             ({"RFM_WORKSPACE_MAX_MB": "lots"}, "needs a number")):
        with pytest.raises(ConfigError, match=message):
            StoreConfig.from_settings(bad_env)
    with pytest.raises(ConfigError, match="Unknown keys in the \\[workspace\\] secrets: folder"):
        StoreConfig.from_settings({}, {"folder": "x"})


def test_permissions_are_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    store = _store(folder)
    sha = store.save_file(store.create(), "f.csv", b"data")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "workspaces.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "blobs" / sha).stat().st_mode) == 0o600


def test_damaged_bytes_are_reported_not_served(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    store = _store(folder)
    ws = store.create()
    sha = store.save_file(ws, "f.csv", b"original")
    (folder / "blobs" / sha).write_bytes(b"tampered")
    with pytest.raises(WorkspaceError, match="damaged or missing"):
        store.load_file(ws)
    assert store.load_file(ws) is None and _blobs(folder) == []


def _hammer(folder: str, worker: int, rounds: int) -> None:
    store = WorkspaceStore(StoreConfig(folder=Path(folder)))
    for r in range(rounds):
        ws = store.create()
        store.save_file(ws, "shared.csv", b"shared content" * 100)  # every worker shares this one
        store.save_file(ws, "own.csv", f"{worker}-{r}".encode() * 50)
        store.save_setting(ws, "settings.toml", f"w = {worker}")
        if r % 2:
            store.forget(ws)


def _consistent(folder: Path) -> tuple[int, int]:
    db = sqlite3.connect(folder / "workspaces.sqlite3")
    rows = {r[0] for r in db.execute("SELECT sha FROM blob")}
    referenced = {r[0] for r in db.execute("SELECT file_sha FROM workspace WHERE file_sha IS NOT NULL")}
    workspaces = db.execute("SELECT COUNT(*) FROM workspace").fetchone()[0]
    db.close()
    assert rows == referenced == set(_blobs(folder))  # no orphan bytes, no row without bytes
    return workspaces, len(rows)


def test_threads_share_one_store(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    _store(folder)
    threads = [threading.Thread(target=_hammer, args=(str(folder), w, 6)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    workspaces, blobs = _consistent(folder)
    assert workspaces == 6 * 3 and blobs == 6 * 3  # the shared file was replaced by each workspace's own


@pytest.mark.slow
def test_processes_share_one_store(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    _store(folder)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(folder), w, 4)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    workspaces, blobs = _consistent(folder)
    assert workspaces == 3 * 2 and blobs == 3 * 2


def test_default_rules_round_trip(tmp_path: Path) -> None:
    store = _store(tmp_path / "ws")
    ws = store.create()
    store.save_state(ws, WorkspaceState(rules=DEFAULT_RULES))
    assert store.load_state(ws).rules == DEFAULT_RULES
    store.save_setting(ws, "clv.json", "{not json")
    with pytest.raises(ConfigError, match="cannot be read"):
        store.load_state(ws)


def _on_disk(folder: Path) -> bytes:
    """Every byte the store has on disk: the database, its log and shared-memory files, and the stored files."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.mark.parametrize("how", ["forget", "expiry"])
def test_forgotten_or_expired_workspace_leaves_no_bytes_on_disk(tmp_path: Path, how: str) -> None:
    clock = Clock()
    folder = tmp_path / "ws"
    store = _store(folder, clock, expiry_days=2)
    keep = store.create()
    store.save_setting(keep, "other.json", '"still here"')
    ws = store.create()
    marker = "Zq7-unmistakable-customer-file"
    store.save_file(ws, f"{marker}.csv", f"customer,{marker}-bytes\n".encode() * 200)
    store.save_setting(ws, "settings.toml", f'# {marker}-settings\n')
    store.save_audience(ws, f"{marker}-audience", f"name = '{marker}'")
    assert marker.encode() in _on_disk(folder)  # the check below can fail: the marker is there before
    if how == "forget":
        assert store.forget(ws) is True
    else:
        clock.advance(1.5)
        assert store.exists(keep)  # opened: its expiry moves on, the other's does not
        clock.advance(1.0)
        assert store.exists(ws) is False  # opening an expired workspace purges it
    assert marker.encode() not in _on_disk(folder)
    # The other workspace is untouched (and reading it does not bring anything back).
    assert store.load_settings(keep) == {"other.json": '"still here"'}


def test_clv_settings_round_trip_with_model_and_holdout(tmp_path: Path) -> None:
    store = _store(tmp_path / "ws")
    ws = store.create()
    clv = ClvSettings("M", 24, 0.15, "pareto_nbd", "2011-06-30")
    store.save_state(ws, WorkspaceState(clv=clv))
    assert store.load_state(ws).clv == clv
    # A document saved before the model and holdout were kept still reads, with their defaults.
    store.save_setting(ws, "clv.json", '{"unit": "D", "horizon_months": 6, "annual_discount_rate": 0.05}')
    assert store.load_state(ws).clv == ClvSettings("D", 6, 0.05, "auto", None)


def test_drop_file_deletes_bytes_no_other_workspace_uses(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    store = _store(folder)
    a, b = store.create(), store.create()
    shared = store.save_file(a, "shared.csv", b"s" * 100)
    store.save_file(b, "shared.csv", b"s" * 100)
    own = store.create()
    store.save_file(own, "own.csv", b"o" * 100)
    store.drop_file(a)
    assert store.load_file(a) is None and _blobs(folder) == sorted([shared, store.load_file(own).sha256])  # type: ignore[union-attr]
    store.drop_file(own)
    assert _blobs(folder) == [shared] and store.usage(own) == 0
    assert store.exists(own)  # the workspace (its settings) stays: only the file goes


def test_a_given_sha256_is_used_and_a_wrong_one_is_caught_on_read(tmp_path: Path) -> None:
    import hashlib

    store = _store(tmp_path / "ws")
    ws = store.create()
    data = b"invoice,customer\n1,A\n"
    right = hashlib.sha256(data).hexdigest()
    assert store.save_file(ws, "f.csv", data, right) == right
    assert store.load_file(ws) == StoredFile("f.csv", right, data)
    other = store.create()
    store.save_file(other, "g.csv", b"other bytes", "0" * 64)  # a caller's mistake
    with pytest.raises(WorkspaceError, match="damaged or missing"):
        store.load_file(other)
    assert store.load_file(other) is None  # dropped, never served
