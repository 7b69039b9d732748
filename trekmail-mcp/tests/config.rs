//! Configuration: every problem reported at once, each naming its variable, never a token; and
//! the binary refuses to start on a bad configuration.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::process::Command;

use trekmail_mcp::Config;

const TOOLSETS: [&str; 3] = ["domains", "dns", "messages"];

fn parse(vars: &[(&str, &str)]) -> Result<Config, Vec<String>> {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_env(|k| env.get(k).cloned(), &TOOLSETS)
}

#[test]
fn defaults() {
    let c = parse(&[
        ("TREKMAIL_BASE_URL", "https://trekmail.net/"),
        ("TREKMAIL_API_TOKEN", "tm_live_abc"),
    ])
    .unwrap();
    assert_eq!(c.timeout.as_millis(), 30_000);
    assert_eq!(
        c.user_agent,
        format!("trekmail-mcp/{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(!c.allow_destructive && !c.allow_sending && !c.allow_migration && !c.read_only);
    assert!(c.message_token.is_none() && c.toolsets.is_none());
    assert!(
        !format!("{c:?}").contains("tm_live_abc"),
        "Debug must redact tokens"
    );
}

#[test]
fn switches_take_true_false_1_0_in_any_case() {
    for (v, want) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("False", false),
        ("0", false),
    ] {
        let c = parse(&[
            ("TREKMAIL_BASE_URL", "http://localhost:8080"),
            ("TREKMAIL_MESSAGE_TOKEN", "tm_msg_x"),
            ("TREKMAIL_ALLOW_SENDING", v),
        ])
        .unwrap();
        assert_eq!(c.allow_sending, want, "{v}");
    }
}

#[test]
fn every_problem_is_named_at_once_without_echoing_tokens() {
    let problems = parse(&[
        ("TREKMAIL_BASE_URL", "ftp://trekmail.net"),
        ("TREKMAIL_API_TOKEN", "tm_msg_SECRETVALUE1"),
        ("TREKMAIL_MESSAGE_TOKEN", "sk_SECRETVALUE2"),
        ("TREKMAIL_TIMEOUT_MS", "soon"),
        ("TREKMAIL_ALLOW_DESTRUCTIVE", "yes"),
        ("TREKMAIL_ALLOW_MIGRATION", "2"),
        ("TREKMAIL_TOOLSETS", "domains,bogus"),
        ("TREKMAIL_CA_CERT", "/nonexistent/ca.pem"),
    ])
    .unwrap_err();
    let all = problems.join("\n");
    for needle in [
        "TREKMAIL_BASE_URL",
        "TREKMAIL_API_TOKEN must start with tm_live_",
        "looks like a message token",
        "TREKMAIL_MESSAGE_TOKEN must start with tm_msg_",
        "TREKMAIL_TIMEOUT_MS",
        "TREKMAIL_ALLOW_DESTRUCTIVE must be true, false, 1 or 0",
        "TREKMAIL_ALLOW_MIGRATION",
        "TREKMAIL_TOOLSETS: unknown toolset \"bogus\"",
        "TREKMAIL_CA_CERT: cannot read \"/nonexistent/ca.pem\"",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    assert_eq!(problems.len(), 8, "{all}");
    assert!(!all.contains("SECRETVALUE"), "a token was echoed:\n{all}");
}

#[test]
fn a_base_url_and_one_token_are_required() {
    let all = parse(&[]).unwrap_err().join("\n");
    assert!(
        all.contains("TREKMAIL_BASE_URL is required") && all.contains("set at least one token"),
        "{all}"
    );
    let all = parse(&[
        ("TREKMAIL_BASE_URL", "https://x.example"),
        ("TREKMAIL_API_TOKEN", ""),
    ])
    .unwrap_err()
    .join("\n");
    assert!(all.contains("set at least one token"), "{all}");
    assert!(
        parse(&[
            ("TREKMAIL_BASE_URL", "https://x.example"),
            ("TREKMAIL_TIMEOUT_MS", "0"),
            ("TREKMAIL_API_TOKEN", "tm_live_a")
        ])
        .is_err()
    );
}

#[test]
fn the_binary_refuses_a_bad_configuration_before_serving() {
    let out = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"))
        .env_clear()
        .env("TREKMAIL_BASE_URL", "not a url")
        .env("TREKMAIL_API_TOKEN", "tm_live_")
        .env("TREKMAIL_MESSAGE_TOKEN", "hunter2-SECRET")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "stdout belongs to JSON-RPC");
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "one line per problem:\n{err}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("trekmail-mcp: configuration: TREKMAIL_")),
        "{err}"
    );
    assert!(!err.contains("hunter2-SECRET"), "{err}");
}

#[test]
fn plain_http_is_flagged_unless_local() {
    let cfg = |u: &str| {
        parse(&[
            ("TREKMAIL_BASE_URL", u),
            ("TREKMAIL_API_TOKEN", "tm_live_a"),
        ])
        .unwrap()
    };
    for local in [
        "http://localhost:8080",
        "http://127.0.0.1:9/",
        "http://[::1]:8080/x",
        "https://trekmail.net",
    ] {
        assert!(!cfg(local).sends_tokens_in_the_clear(), "{local}");
    }
    for remote in [
        "http://trekmail.net",
        "http://10.0.0.5:8080",
        "http://[2001:db8::1]/",
    ] {
        assert!(cfg(remote).sends_tokens_in_the_clear(), "{remote}");
    }
}

#[test]
fn numeric_settings_show_and_apply_the_one_range_and_default() {
    // config::limits states each numeric setting once: --help (and so the generated table in
    // docs/configuration.md) shows its range and default, the parser applies them.
    use trekmail_mcp::config::{cli, limits};
    let base = [
        ("TREKMAIL_BASE_URL", "https://trekmail.net/"),
        ("TREKMAIL_API_TOKEN", "tm_live_abc"),
        ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:8080"),
    ];
    let c = parse(&base).unwrap();
    assert_eq!(
        c.timeout.as_millis(),
        u128::from(limits::TIMEOUT_MS.default)
    );
    assert_eq!(c.max_response_bytes, limits::MAX_RESPONSE_BYTES.default);
    assert_eq!(
        c.max_concurrent_calls as u64,
        limits::MAX_CONCURRENT_CALLS.default
    );
    assert_eq!(c.max_inline_bytes, limits::MAX_INLINE_BYTES.default);
    let http = c.http.as_ref().unwrap();
    assert_eq!(
        http.max_body_bytes as u64,
        limits::HTTP_MAX_BODY_BYTES.default
    );
    assert_eq!(http.max_requests as u64, limits::HTTP_MAX_REQUESTS.default);
    let command = cli::command();
    for n in limits::NUMBERS {
        let arg = command
            .get_arguments()
            .find(|a| a.get_env() == Some(std::ffi::OsStr::new(n.var)))
            .unwrap();
        let help = arg.get_help().unwrap().to_string();
        let unit = if n.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", n.unit)
        };
        let shown = format!(", {} to {}{unit} [default: {}]", n.min, n.max, n.default);
        assert!(help.ends_with(&shown), "{}: {help}", n.var);
        for bad in [n.max + 1, n.min.wrapping_sub(1)] {
            let value = bad.to_string();
            let mut vars = base.to_vec();
            vars.push((n.var, &value));
            let problems = parse(&vars).err().unwrap_or_default();
            assert!(
                problems.iter().any(|p| p.starts_with(n.var)
                    && p.contains(&format!("from {} to {}{unit}", n.min, n.max))),
                "{}={value}: {problems:?}",
                n.var
            );
        }
    }
}

#[test]
fn true_false_settings_show_and_apply_the_one_default() {
    // config::limits states each true/false setting once: --help (and so the generated table)
    // shows its default, the parser applies it.
    use trekmail_mcp::config::{self, cli, limits};
    let base = [
        ("TREKMAIL_BASE_URL", "https://trekmail.net/"),
        ("TREKMAIL_API_TOKEN", "tm_live_abc"),
    ];
    let c = parse(&base).unwrap();
    assert_eq!(c.scope_aware, limits::SCOPE_AWARE.default);
    assert_eq!(c.read_only, limits::READ_ONLY.default);
    assert_eq!(c.drafts_only, limits::DRAFTS_ONLY.default);
    let state = [("TREKMAIL_STATE_URL", "redis://127.0.0.1:6379")];
    let c = parse(&[base.as_slice(), &state].concat()).unwrap();
    assert_eq!(
        c.state.map(|s| s.required),
        Some(limits::STATE_REQUIRED.default)
    );
    let command = cli::command();
    for f in limits::FLAGS {
        let arg = command
            .get_arguments()
            .find(|a| a.get_env() == Some(std::ffi::OsStr::new(f.var)))
            .unwrap();
        let help = arg.get_help().unwrap().to_string();
        assert!(
            help.ends_with(&format!(" [default: {}]", f.default)),
            "{}: {help}",
            f.var
        );
        assert!(!help[..help.len() - 10].contains("[default"), "{help}");
        if f.var == limits::SANDBOX.var {
            // Read before the configuration (to start the sandbox): a value that is not
            // true/false starts none, and the configuration names what is then missing.
            assert!(!config::start::sandbox_requested(|_| Some("yes".into())));
            assert_eq!(
                config::start::sandbox_requested(|_| None),
                limits::SANDBOX.default
            );
            assert!(config::start::sandbox_requested(|_| Some(" TRUE ".into())));
            continue;
        }
        let mut vars = base.to_vec();
        vars.push((f.var, "yes"));
        let problems = parse(&vars).err().unwrap_or_default();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(&format!("{} must be true, false, 1 or 0", f.var))),
            "{}=yes: {problems:?}",
            f.var
        );
    }
}

/// The help of the flag bound to `var`, as `--help` prints it.
fn help_of(var: &str) -> String {
    let command = trekmail_mcp::config::cli::command();
    let arg = command
        .get_arguments()
        .find(|a| a.get_env() == Some(std::ffi::OsStr::new(var)))
        .unwrap_or_else(|| panic!("no flag for {var}"));
    arg.get_help().unwrap().to_string()
}

#[test]
fn word_and_list_settings_show_the_default_the_parser_applies() {
    // config::limits states each default once: --help (and so the generated table) shows it,
    // and the parser (or, for the allow-lists, the HTTP server: see tests/http.rs) applies it.
    use trekmail_mcp::call::human::HumanConfirm;
    use trekmail_mcp::config::{limits, logging};
    use trekmail_mcp::serve::http_server::settings::TokenMode;
    for t in limits::TEXTS {
        let help = help_of(t.var);
        assert!(
            help.ends_with(&format!(" [default: {}]", t.default)),
            "{}: {help}",
            t.var
        );
        assert_eq!(help.matches("[default").count(), 1, "{help}");
    }
    for l in limits::LISTS {
        let help = help_of(l.var);
        assert!(
            help.ends_with(&format!(" [default: {}]", l.default.join(","))),
            "{}: {help}",
            l.var
        );
    }
    let base = [
        ("TREKMAIL_BASE_URL", "https://trekmail.net/"),
        ("TREKMAIL_API_TOKEN", "tm_live_abc"),
        ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:0"),
    ];
    let unset = parse(&base).unwrap();
    let mut vars = base.to_vec();
    for t in [
        limits::HUMAN_CONFIRM,
        limits::USER_AGENT,
        limits::HTTP_TOKENS,
    ] {
        vars.push((t.var, t.default));
    }
    let set = parse(&vars).unwrap();
    assert_eq!(unset.human_confirm, set.human_confirm);
    assert_eq!(unset.human_confirm, HumanConfirm::Auto);
    assert_eq!(unset.user_agent, set.user_agent);
    assert_eq!(
        unset.user_agent,
        format!("trekmail-mcp/{}", env!("CARGO_PKG_VERSION"))
    );
    let tokens = |c: &Config| c.http.as_ref().unwrap().tokens;
    assert_eq!(tokens(&unset), tokens(&set));
    assert_eq!(tokens(&unset), TokenMode::Operator);
    // Unset, every toolset; the word the default names selects every one too.
    assert_eq!(unset.toolsets, None);
    let all = parse(
        &[
            base.as_slice(),
            &[(limits::TOOLSETS.var, limits::TOOLSETS.default)],
        ]
        .concat(),
    )
    .unwrap();
    assert_eq!(all.toolsets, Some(TOOLSETS.map(String::from).to_vec()));
    assert_eq!(
        logging::filter(None),
        logging::filter(Some(limits::LOG.default))
    );
    assert_eq!(
        logging::filter(None),
        tracing::level_filters::LevelFilter::INFO
    );
    assert_eq!(
        logging::filter(Some("nonsense")),
        tracing::level_filters::LevelFilter::INFO
    );
}

#[test]
fn no_default_is_written_by_hand_in_a_flag_help() {
    // Defaults are appended from config::limits; a hand-written one would be a second statement
    // that can drift. The state key file's default is a behaviour (a random key), not a value.
    use clap::CommandFactory as _;
    for a in trekmail_mcp::config::cli::Cli::command().get_arguments() {
        let Some(var) = a.get_env() else { continue };
        let help = a.get_help().map(ToString::to_string).unwrap_or_default();
        if var == "TREKMAIL_STATE_KEY_FILE" {
            continue;
        }
        assert!(!help.contains("[default"), "{var:?}: {help}");
    }
}

#[test]
fn each_gate_is_opened_by_the_variable_its_catalogue_entry_names() {
    // The catalogue names each gate's variable (what the agent is told to ask for); the
    // configuration reads the switch by that name, with a flag, closed by default.
    use trekmail_mcp::catalog::map::GateName;
    use trekmail_mcp::config::{cli, limits};
    for g in [
        GateName::Destructive,
        GateName::Sending,
        GateName::Migration,
        GateName::Payments,
    ] {
        let f = limits::FLAGS.iter().find(|f| f.var == g.env_var());
        assert!(f.is_some_and(|f| !f.default), "{g:?}");
        let base = [
            ("TREKMAIL_BASE_URL", "https://trekmail.net/"),
            ("TREKMAIL_API_TOKEN", "tm_live_abc"),
            (g.env_var(), "true"),
        ];
        let c = parse(&base).unwrap();
        let open = match g {
            GateName::Destructive => c.allow_destructive,
            GateName::Sending => c.allow_sending,
            GateName::Migration => c.allow_migration,
            _ => c.allow_payments,
        };
        assert!(open, "{g:?}");
    }
    let flags = cli::flags();
    for g in [GateName::UploadDir, GateName::Payments] {
        assert!(flags.iter().any(|(_, v)| v == g.env_var()), "{g:?}");
    }
}
