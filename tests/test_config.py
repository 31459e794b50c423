"""The config loader: YAML + !ENV into frozen dataclasses, every error named by its path."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from actors.discovery import SeriesConfig
from messages.errors import ConfigError
from polymm.config import (
    DEFAULT_PATH,
    REPO_ROOT,
    Config,
    Secret,
    config_to_dict,
    dump_config,
    load_config,
    parse_override,
)
from polymm.config_schema import FeedConfig, PriceFeedConfig
from trading.params import QuoteParams

LIVE = REPO_ROOT / "conf" / "live.yaml"
KEY = "0x" + "ab" * 32
LIVE_ENV = {"POLYMM_PRIVATE_KEY": KEY}


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def errors_of(tmp_path: Path, text: str, **kw: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), **kw)  # type: ignore[arg-type]
    return info.value.errors


def test_default_yaml_loads() -> None:
    cfg = load_config()
    assert cfg == load_config(DEFAULT_PATH, env={})
    assert cfg.mode == "paper" and cfg.sim.enabled and cfg.sim.window_seconds == 120
    assert cfg.venue.clob_url == "sim" and cfg.venue.private_key is None
    assert cfg.discovery.series == (SeriesConfig(asset="btc", interval="120s", windows=2),)
    assert cfg.user_feed.raw_log_sample == 1 and cfg.market_feed.raw_log_sample == 0
    assert isinstance(cfg.price_feed, PriceFeedConfig) and cfg.price_feed.ping_interval_s == 5
    assert isinstance(cfg.quoter, QuoteParams)
    assert cfg.runtime.switch_interval_s == 0.0005


def test_live_yaml_loads_with_secrets_from_the_environment() -> None:
    env = {**LIVE_ENV, "POLYMM_API_KEY": "key-1", "POLYMM_API_SECRET": "c2VjcmV0",
           "POLYMM_API_PASSPHRASE": "phrase-1"}
    cfg = load_config(LIVE, env=env)
    v = cfg.venue
    assert cfg.mode == "live" and not cfg.sim.enabled
    assert v.clob_url == "https://clob.polymarket.com"
    assert v.private_key is not None and v.private_key.reveal() == KEY
    assert v.api_secret is not None and v.api_secret.reveal() == "c2VjcmV0"
    text = f"{cfg!r} {v} {dump_config(cfg)}"
    for secret in (KEY, "c2VjcmV0", "phrase-1", "key-1"):
        assert secret not in text
    assert "********" in dump_config(cfg)


def test_live_yaml_without_api_credentials_derives_them() -> None:
    v = load_config(LIVE, env=LIVE_ENV).venue
    assert (v.api_key, v.api_secret, v.api_passphrase) == (None, None, None)


def test_live_yaml_without_private_key_names_key_and_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(LIVE, env={})
    assert info.value.errors == [
        "venue.private_key: required in live mode: environment variable POLYMM_PRIVATE_KEY "
        "is not set (from !ENV POLYMM_PRIVATE_KEY)"]


def test_minimal_file_gets_all_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "mode: paper\nquoter:\n"))
    assert cfg == Config(mode="paper")
    assert cfg.user_feed == FeedConfig(raw_log_sample=1)


def test_partial_section_keeps_the_section_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "mode: paper\nuser_feed: {ping_interval_s: 3}\n"))
    assert cfg.user_feed == FeedConfig(ping_interval_s=3.0, raw_log_sample=1)


def test_mode_is_required_and_checked(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "instance: x\n") == ["mode: required"]
    assert errors_of(tmp_path, "mode: papr\n") == [
        "mode: expected one of paper, dry_run, live, got 'papr' (did you mean 'paper'?)"]


def test_unknown_keys_suggest_the_right_one(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, """\
        mode: paper
        quoter: {half_spred_pips: 10}
        riks: {}
        statsd: {zzz: 1}
        """)
    assert errs == [
        "quoter.half_spred_pips: unknown key (did you mean 'half_spread_pips'?)",
        "riks: unknown key (did you mean 'risk'?)",
        "statsd.zzz: unknown key",
    ]


def test_every_error_is_collected_with_its_path(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, """\
        mode: paper
        quoter:
          half_spread_pips: 0
          ref_weights: {twap: 1.5}
        order_manager: {batch_size: 16, post_only: yes-please}
        sim: {seed: true, assets: btc}
        venue: {chain_id: 137.5}
        runtime: {cpu_affinity: [0, -1]}
        discovery:
          series:
            - {interval: 15m}
            - {asset: BTC, interval: 1h}
        """)
    assert errs == [
        "quoter.half_spread_pips: expected >= 1, got 0",
        "quoter.ref_weights.twap: expected <= 1, got 1.5",
        "order_manager.batch_size: expected <= 15, got 16",
        "order_manager.post_only: expected true or false, got a string 'yes-please'",
        "sim.seed: expected an integer, got a boolean True",
        "sim.assets: expected a list, got a string",
        "venue.chain_id: expected an integer, got a number 137.5",
        "runtime.cpu_affinity[1]: expected >= 0, got -1",
        "discovery.series[0].asset: required",
        "discovery.series[1].asset: 'BTC' does not match [a-z0-9]{1,16}",
        "discovery.series[1].interval: '1h' does not match 5m|15m|4h|[1-9][0-9]{0,5}s|sim",
    ]


def test_int_is_a_float_but_bool_is_not_an_int(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "mode: paper\nvenue: {http_timeout_s: 3}\n"))
    assert cfg.venue.http_timeout_s == 3.0 and isinstance(cfg.venue.http_timeout_s, float)
    assert errors_of(tmp_path, "mode: paper\nstatsd: {port: false}\n") == [
        "statsd.port: expected an integer, got a boolean False"]


def test_unquoted_address_says_quote_it(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, "mode: paper\nvenue: {funder: 0x" + "1" * 40 + "}\n")
    assert len(errs) == 1 and errs[0].startswith("venue.funder: expected a string, got an "
                                                  "integer: quote it")
    cfg = load_config(write(tmp_path, "mode: paper\nvenue: {funder: '0x" + "1" * 40 + "'}\n"))
    assert cfg.venue.funder == "0x" + "1" * 40
    assert errors_of(tmp_path, "mode: paper\nvenue: {funder: '0x12'}\n") == [
        "venue.funder: expected a quoted 0x address of 40 hex digits, got '0x12'"]


def test_secret_literal_is_refused_without_echoing_it(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, f"mode: paper\nvenue: {{private_key: '{KEY}'}}\n")
    assert errs == ["venue.private_key: a secret cannot be written in the config file: "
                    "use !ENV VARIABLE_NAME"]
    assert KEY not in " ".join(errs)


def test_env_values_for_plain_fields(tmp_path: Path) -> None:
    text = """\
        mode: paper
        statsd: {port: !ENV STATSD_PORT, host: !ENV STATSD_HOST}
        logging: {file: !ENV POLYMM_LOG_FILE}
        """
    cfg = load_config(write(tmp_path, text), env={"STATSD_PORT": "9125", "STATSD_HOST": "h"})
    assert (cfg.statsd.port, cfg.statsd.host, cfg.logging.file) == (9125, "h", None)
    assert errors_of(tmp_path, text, env={"STATSD_PORT": "x"}) == [
        "statsd.port: expected an integer, got a string 'x'",
        "statsd.host: environment variable STATSD_HOST is not set (from !ENV STATSD_HOST)"]


def test_empty_secret_variable_counts_as_unset(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "mode: paper\nvenue: {private_key: !ENV K}\n"),
                      env={"K": ""})
    assert cfg.venue.private_key is None


def test_overrides_apply_before_validation(tmp_path: Path) -> None:
    cfg = load_config(overrides={"sim.seed": 7, "discovery.series.0.windows": 3,
                                 "quoter.bands.size_shares": 4})
    assert (cfg.sim.seed, cfg.discovery.series[0].windows, cfg.quoter.bands.size_shares) == \
        (7, 3, 4)
    with pytest.raises(ConfigError) as info:
        load_config(overrides={"sim.seed": "x", "discovery.series.5.windows": 1,
                               "mode.x": 1})
    assert info.value.errors == [
        "discovery.series.5: override: no list element '5'",
        "mode.x: override: mode is not a section",
        "sim.seed: expected an integer, got a string 'x'"]


@pytest.mark.parametrize(("text", "expected"), [
    ("sim.seed=7", ("sim.seed", 7)),
    ("venue.funder='0xab'", ("venue.funder", "0xab")),
    ("logging.file=null", ("logging.file", None)),
    ("sim.assets=[btc, eth]", ("sim.assets", ["btc", "eth"])),
    ("quoter.taper=false", ("quoter.taper", False)),
])
def test_parse_override(text: str, expected: tuple[str, object]) -> None:
    assert parse_override(text) == expected


def test_parse_override_needs_key_and_value() -> None:
    with pytest.raises(ConfigError):
        parse_override("sim.seed")


def test_cross_checks_for_live(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, """\
        mode: live
        venue: {clob_url: 'https://clob.polymarket.com'}
        sim: {enabled: true}
        """)
    assert errs[0] == ("venue.private_key: required in live mode "
                       "(private_key: !ENV POLYMM_PRIVATE_KEY)")
    assert "venue.gamma_url: 'sim' (the simulated venue) is not allowed in live mode" in errs
    assert "venue.clob_url: 'sim' (the simulated venue) is not allowed in live mode" not in errs
    assert "sim.enabled: must be false in live mode" in errs


def test_cross_checks_for_paper(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, """\
        mode: paper
        sim: {enabled: true, window_seconds: 120}
        venue: {api_key: !ENV K}
        discovery:
          series: [{asset: btc, interval: 15m}, {asset: eth, interval: 900s}]
          slugs: [{slug: a, alias: x}, {slug: b, alias: x}]
        user_feed: {reconnect_min_s: 40}
        """, env={"K": "abc"})
    assert errs == [
        "venue.api_key/api_secret/api_passphrase: give all three or none (none = derive them "
        "with L1 auth at start)",
        "discovery.series[0].interval: '15m' (900 s) does not match sim.window_seconds 120: "
        "the simulated venue lists only windows of that length",
        "discovery.series[1].interval: '900s' (900 s) does not match sim.window_seconds 120: "
        "the simulated venue lists only windows of that length",
        "discovery.series[1].interval: write '900s' as '15m'",
        "user_feed.reconnect_min_s: 40.0 is above reconnect_max_s 30.0",
        "discovery.slugs: alias 'x' used twice",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("mode: paper\nquoter: {half_spread_pips: [1\n", ":3:1: YAML error:"),
    ("mode: paper\n  bad: indent\n", ":2:6: YAML error:"),
    ("mode: paper\nvenue: {private_key: !ENV {a: 1}}\n", ":2:"),
    ("mode: paper\nvenue: {private_key: !ENV 'not a name'}\n", "not a variable name"),
    ("- mode\n- paper\n", "expected a mapping of sections at the top level, got a list"),
])
def test_bad_yaml_is_one_message_with_file_and_line(tmp_path: Path, text: str,
                                                    expected: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    (line,) = info.value.errors
    assert line.startswith(str(p)) and expected in line


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"mode: p\xe4per\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad)


def test_dump_reloads_to_the_same_config(tmp_path: Path) -> None:
    cfg = load_config()
    p = tmp_path / "dumped.yaml"
    p.write_text(dump_config(cfg))
    assert load_config(p) == cfg


def test_config_to_dict_masks_secrets() -> None:
    cfg = load_config(LIVE, env=LIVE_ENV)
    d = config_to_dict(cfg)
    assert d["venue"]["private_key"] == "********" and d["venue"]["api_key"] is None
    assert d["discovery"]["series"] == [{"asset": "btc", "interval": "15m", "windows": 2}]


def test_secret_never_prints() -> None:
    s = Secret("hunter2")
    assert str(s) == "********" and f"{s}" == "********" and f"{s:>20}" == "********"
    assert "hunter2" not in repr(s) and "hunter2" not in repr([s])
    assert s == Secret("hunter2") and s != Secret("other") and s.reveal() == "hunter2"
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_interval_sim_follows_the_simulated_venue(tmp_path: Path) -> None:
    cfg = load_config(overrides={"sim.window_seconds": 900})
    assert cfg.discovery.series[0].interval == "15m"
    cfg = load_config(overrides={"sim.window_seconds": 60})
    assert cfg.discovery.series[0].interval == "60s"
    assert errors_of(tmp_path, """\
        mode: paper
        discovery: {series: [{asset: btc, interval: sim}]}
        """) == ["discovery.series[0].interval: 'sim' (the simulated venue's window length) "
                 "needs sim.enabled in paper mode"]


def test_each_actor_section_has_one_definition() -> None:
    """An actor's config section is its construction data: the schema uses the actor's class,
    so there is one set of defaults."""
    import polymm.config_schema as schema
    from actors.discovery import DiscoveryConfig
    from actors.event_log import EventLogConfig
    from actors.price_feed import PriceFeedConfig
    from actors.ws_support import FeedConfig

    assert (schema.DiscoveryConfig, schema.EventLogConfig, schema.PriceFeedConfig,
            schema.FeedConfig) == (DiscoveryConfig, EventLogConfig, PriceFeedConfig, FeedConfig)
