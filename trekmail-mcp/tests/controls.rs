//! The operator's controls: tool filters (allow-list, deny-list, `all`, read-only, hidden
//! disabled tools), the disabled-tool description, the generated instructions, the confirmation
//! argument's wording, the question the human is asked, and the command line (flags over
//! variables, --help, --version, --list-tools, start-up warnings).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use support::{Harness, Opts, is_error, text};
use trekmail_mcp::call::human;
use trekmail_mcp::config::{self, cli};
use trekmail_mcp::{Catalog, TrekmailServer};

fn opts(extra: &[(&'static str, &str)]) -> Opts {
    Opts {
        extra: extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        ..Opts::default()
    }
}

fn server(o: &Opts) -> Result<TrekmailServer, String> {
    let config = support::config("https://trekmail.example", o).map_err(|p| p.join("\n"))?;
    TrekmailServer::new(&config, Catalog::embedded().unwrap())
}

fn names(o: &Opts) -> Vec<String> {
    server(o)
        .unwrap()
        .tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect()
}

fn description(s: &TrekmailServer, tool: &str) -> String {
    s.tools()
        .iter()
        .find(|t| t.name == tool)
        .and_then(|t| t.description.clone())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn tools_alone_lists_only_those_and_with_toolsets_adds_to_them() {
    assert_eq!(
        names(&opts(&[("TREKMAIL_TOOLS", "get_domain, list_messages")])),
        ["get_domain", "list_messages"]
    );
    let both = names(&opts(&[
        ("TREKMAIL_TOOLS", "get_domain"),
        ("TREKMAIL_TOOLSETS", "aliases"),
    ]));
    assert_eq!(
        both,
        [
            "get_domain",
            "list_aliases",
            "create_alias",
            "update_alias",
            "delete_alias"
        ]
    );
    // `all` selects every toolset, whatever else is named.
    assert_eq!(
        names(&opts(&[
            ("TREKMAIL_TOOLSETS", "dns,all"),
            ("TREKMAIL_TOOLS", "get_domain")
        ]))
        .len(),
        272
    );
}

#[test]
fn exclusions_and_read_only_always_win() {
    let n = names(&opts(&[
        ("TREKMAIL_TOOLS", "get_domain,delete_domain,list_domains"),
        ("TREKMAIL_EXCLUDE_TOOLS", "list_domains"),
        ("TREKMAIL_READ_ONLY", "true"),
    ]));
    assert_eq!(n, ["get_domain"]);
    let all = names(&opts(&[(
        "TREKMAIL_EXCLUDE_TOOLS",
        "send_message,delete_domain",
    )]));
    assert_eq!(all.len(), 270);
    assert!(
        !all.iter()
            .any(|t| t == "send_message" || t == "delete_domain")
    );
}

#[tokio::test]
async fn a_filtered_out_tool_is_a_json_rpc_error_saying_why_and_nothing_is_sent() {
    let h = Harness::start(opts(&[("TREKMAIL_EXCLUDE_TOOLS", "get_domain")])).await;
    let e = h
        .try_call("get_domain", json!({"domain_id": 1}))
        .await
        .unwrap_err();
    assert!(e.message.contains("TREKMAIL_EXCLUDE_TOOLS"), "{e:?}");
    assert!(h.requests().await.is_empty());
}

#[test]
fn unknown_tool_names_stop_the_server_naming_them() {
    let e = server(&opts(&[
        ("TREKMAIL_TOOLS", "get_domain,get_domian"),
        ("TREKMAIL_EXCLUDE_TOOLS", "nope,send_message"),
    ]))
    .err()
    .unwrap();
    assert!(
        e.contains("TREKMAIL_TOOLS: unknown tool name get_domian")
            && e.contains("TREKMAIL_EXCLUDE_TOOLS: unknown tool name nope"),
        "{e}"
    );
    assert!(!e.contains("send_message"), "{e}");
}

#[test]
fn hide_disabled_hides_tools_whose_switch_is_off_and_keeps_argument_gated_ones() {
    let shown = names(&opts(&[("TREKMAIL_HIDE_DISABLED", "true")]));
    let catalog = Catalog::embedded().unwrap();
    let gated: Vec<&str> = catalog
        .tools()
        .iter()
        .filter(|d| d.entry.gate.is_some())
        .map(|d| d.entry.name.as_str())
        .collect();
    assert!(!gated.is_empty());
    assert_eq!(shown.len(), 272 - gated.len());
    assert!(shown.iter().all(|n| !gated.contains(&n.as_str())));
    // Only some values of bulk_action's `action` need a switch: it stays.
    assert!(shown.iter().any(|n| n == "bulk_action"));
    // With the switch on, its tools are back.
    let on = names(&Opts {
        extra: vec![
            ("TREKMAIL_HIDE_DISABLED", "true".into()),
            (
                "TREKMAIL_UPLOAD_DIR",
                std::env::temp_dir().display().to_string(),
            ),
        ],
        ..Opts::all_gates()
    });
    assert_eq!(on.len(), 272);
}

#[test]
fn a_disabled_tool_says_so_in_its_description_and_an_enabled_one_does_not() {
    let off = server(&Opts::default()).unwrap();
    let d = description(&off, "delete_domain");
    // The gate is data: the note names the switch, once.
    assert!(
        d.ends_with(" Disabled: TREKMAIL_ALLOW_DESTRUCTIVE is off.")
            && d.matches("TREKMAIL_ALLOW_").count() == 1,
        "{d}"
    );
    let s = description(&off, "send_message");
    assert!(
        s.ends_with(" Disabled: TREKMAIL_ALLOW_SENDING is off."),
        "{s}"
    );
    assert!(!description(&off, "get_domain").contains("Disabled"));
    // A conditional gate is the description's own text, and the tool stays usable.
    let b = description(&off, "bulk_action");
    assert!(
        b.contains("TREKMAIL_ALLOW_DESTRUCTIVE") && !b.contains("Disabled"),
        "{b}"
    );
    let on = server(&Opts::all_gates()).unwrap();
    let d = description(&on, "delete_domain");
    assert!(
        !d.contains("Disabled") && !d.contains("TREKMAIL_ALLOW_"),
        "{d}"
    );
    // get_tool (rmcp's lookup) agrees with the listing.
    use rmcp::ServerHandler as _;
    let t = off.get_tool("delete_domain").unwrap();
    assert_eq!(
        t.description.as_deref(),
        Some(description(&off, "delete_domain").as_str())
    );
}

#[test]
fn confirmation_arguments_say_they_need_the_users_approval_of_this_call() {
    let s = server(&Opts::all_gates()).unwrap();
    // Said once, in the instructions, for every confirmation argument listed.
    assert!(
        s.instructions()
            .contains("only after the user approved that specific call"),
        "{}",
        s.instructions()
    );
    let mut seen = 0;
    for d in s.listed() {
        if let Some(c) = &d.entry.confirm {
            // The validated schema keeps the text; the listing does not repeat it per tool.
            let full = d.input_schema["properties"][c]["description"]
                .as_str()
                .unwrap();
            assert!(
                full.contains("only after the user approved this specific call"),
                "{}: {full}",
                d.entry.name
            );
            let listed = serde_json::to_value(&d.tool).unwrap();
            assert_eq!(
                listed["inputSchema"]["properties"][c],
                json!({"type": "boolean"}),
                "{}",
                d.entry.name
            );
            seen += 1;
        }
    }
    assert!(seen >= 10, "{seen}");
    // Without a listed confirmation argument the instructions leave it out.
    let none = server(&Opts {
        extra: vec![("TREKMAIL_TOOLSETS", "dns".into())],
        ..Opts::all_gates()
    })
    .unwrap();
    assert!(!none.instructions().contains("confirmation argument"));
}

#[test]
fn instructions_say_only_what_applies() {
    let ops_only = server(&Opts {
        message: false,
        destructive: true,
        ..Opts::default()
    })
    .unwrap();
    let i = ops_only.instructions();
    assert!(i.contains("ops) token is set"), "{i}");
    assert!(
        !i.contains("message token") && !i.contains("before_uid"),
        "{i}"
    );
    assert!(i.contains("dns_recheck returns a check_id"), "{i}");
    assert!(
        i.contains("Enabled by the operator: TREKMAIL_ALLOW_DESTRUCTIVE"),
        "{i}"
    );
    // create_message_token needs the sending switch for one scope: an ops tool names it too.
    assert!(
        i.contains("Disabled by the operator: TREKMAIL_ALLOW_SENDING (sending email), TREKMAIL_ALLOW_MIGRATION"),
        "{i}"
    );
    assert!(
        !i.contains("attachments") && i.contains("verify_job_download"),
        "{i}"
    );
    // A narrow selection drops the guidance for tools it does not list.
    let dns = server(&opts(&[("TREKMAIL_TOOLSETS", "dns")])).unwrap();
    let i = dns.instructions();
    assert!(
        i.contains("toolsets: dns") && i.contains("dns_recheck"),
        "{i}"
    );
    assert!(!i.contains("delete_intent") && !i.contains("Paging"), "{i}");
    assert!(!i.contains("TREKMAIL_ALLOW"), "no dns tool is gated: {i}");
    let never = server(&opts(&[("TREKMAIL_HUMAN_CONFIRM", "never")])).unwrap();
    assert!(!never.instructions().contains("approve them in the client"));
    insta::assert_snapshot!(
        "instructions_default",
        server(&Opts::default()).unwrap().instructions()
    );
    insta::assert_snapshot!("instructions_ops_only_destructive", ops_only.instructions());
}

#[test]
fn the_question_shows_tool_target_and_arguments_as_json_with_secrets_hidden() {
    let catalog = Catalog::embedded().unwrap();
    let args = |v: Value| v.as_object().unwrap().clone();
    let q = human::question(
        catalog.get("delete_domain").unwrap(),
        &args(json!({"domain_id": 7, "confirm_delete": true, "idempotency_key": "k1"})),
    );
    assert!(q.contains("(delete_domain): DELETE /domains/7."), "{q}");
    assert!(!q.contains("confirm_delete") && !q.contains("k1"), "{q}");
    // An argument cannot fake a line of the question.
    let q = human::question(
        catalog.get("send_message").unwrap(),
        &args(
            json!({"to": ["a@example.com"], "subject": "hi\nApprove this call? yes", "body_text": "x".repeat(5000), "confirm_send": true}),
        ),
    );
    assert!(q.contains("to: [\"a@example.com\"]"), "{q}");
    assert_eq!(q.matches("\nApprove this call?").count(), 1, "{q}");
    assert!(q.len() < 1500, "long values are cut: {}", q.len());
    let q = human::question(
        catalog.get("bulk_create_mailboxes").unwrap(),
        &args(
            json!({"domain_id": 1, "items": [{"local_part": "a", "password": "Hunter2Hunter2x"}]}),
        ),
    );
    assert!(!q.contains("Hunter2") && q.contains("(hidden)"), "{q}");
}

/// A TLS API on loopback whose certificate is signed by the test CA of trekmail-api's TLS tests;
/// it answers every request with a small JSON body.
async fn tls_api() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../trekmail-api/tests/tls");
    let certs = vec![CertificateDer::from_pem_file(dir.join("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = br#"{"id":7,"name":"example.com"}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_tls_failure_names_trekmail_ca_cert_and_the_ca_cert_fixes_it() {
    let port = tls_api().await;
    let base = format!("https://localhost:{port}");
    let (policy, _) = support::recording_policy();
    // A real handshake against a certificate of a private CA: refused, and the text says how
    // to trust that CA.
    let server = Harness::server_for(&base, &Opts::default(), policy.clone());
    let r = server
        .call("get_domain", json!({"domain_id": 7}).as_object().cloned())
        .await
        .unwrap();
    assert!(is_error(&r), "{}", text(&r));
    assert!(text(&r).contains("TREKMAIL_CA_CERT"), "{}", text(&r));
    // With that CA trusted, the same call succeeds.
    let ca =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../trekmail-api/tests/tls/ca.pem");
    let opts = Opts {
        extra: vec![("TREKMAIL_CA_CERT", ca.to_string_lossy().into_owned())],
        ..Opts::default()
    };
    let server = Harness::server_for(&base, &opts, policy);
    let r = server
        .call("get_domain", json!({"domain_id": 7}).as_object().cloned())
        .await
        .unwrap();
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(
        r.structured_content,
        Some(json!({"id": 7, "name": "example.com"}))
    );
}

#[tokio::test]
async fn human_confirm_never_and_auto_without_a_client_that_asks_send_and_always_refuses() {
    for (mode, sent) in [("never", true), ("auto", true), ("always", false)] {
        let h = Harness::start(Opts {
            extra: vec![("TREKMAIL_HUMAN_CONFIRM", mode.into())],
            ..Opts::all_gates()
        })
        .await;
        h.answer_json(200, json!({"data": {}})).await;
        let r = h
            .call(
                "delete_domain",
                json!({"domain_id": 7, "confirm_delete": true}),
            )
            .await;
        assert_eq!(h.requests().await.len(), usize::from(sent), "{mode}");
        assert_eq!(is_error(&r), !sent, "{mode}: {}", text(&r));
        if !sent {
            assert!(
                text(&r).contains("TREKMAIL_HUMAN_CONFIRM=always"),
                "{}",
                text(&r)
            );
        }
    }
    let all = support::config(
        "https://x.example",
        &opts(&[("TREKMAIL_HUMAN_CONFIRM", "sometimes")]),
    )
    .err()
    .unwrap()
    .join("\n");
    assert!(
        all.contains("TREKMAIL_HUMAN_CONFIRM must be auto, always or never"),
        "{all}"
    );
}

#[test]
fn every_variable_has_a_flag_except_the_tokens_and_unknown_ones_are_found() {
    let flagged: BTreeSet<String> = cli::flags().into_iter().map(|(_, v)| v).collect();
    let mut with_env_only = flagged.clone();
    with_env_only.extend(cli::ENV_ONLY.map(String::from));
    let known: BTreeSet<String> = config::VARIABLES.iter().map(|v| v.to_string()).collect();
    assert_eq!(with_env_only, known);
    assert!(cli::ENV_ONLY.iter().all(|t| !flagged.contains(*t)));
    assert_eq!(
        config::unknown_variables(["TREKMAIL_ALLOW_DESTRUCTIV", "TREKMAIL_LOG", "HOME"]),
        ["TREKMAIL_ALLOW_DESTRUCTIV"]
    );
}

// The binary.

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"));
    c.env_clear().args(args).stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_every_flag_and_variable_with_defaults_on_stdout() {
    let o = run(&["--help"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let help = out(&o);
    for (flag, var) in cli::flags() {
        assert!(
            help.contains(&flag) && help.contains(&var),
            "{flag} {var}:\n{help}"
        );
    }
    for t in cli::ENV_ONLY {
        assert!(help.contains(t), "{t}");
    }
    for d in [
        "[default: 30000]",
        "[default: 50331648]",
        "[default: 8]",
        "[default: auto]",
        "[default: info]",
    ] {
        assert!(help.contains(d), "{d}:\n{help}");
    }
    // The documented defaults are the configuration's.
    let c = support::config("https://x.example", &Opts::default()).unwrap();
    assert_eq!(c.timeout.as_millis(), 30_000);
    assert_eq!(c.max_response_bytes, 50_331_648);
    assert_eq!(c.max_concurrent_calls, 8);
    let o = run(&["--version"], &[]);
    assert_eq!(
        out(&o).trim(),
        format!("trekmail-mcp {}", env!("CARGO_PKG_VERSION"))
    );
    let o = run(&["--api-token=tm_live_x"], &[]);
    assert_eq!(o.status.code(), Some(2), "tokens have no flag");
    assert!(o.stdout.is_empty());
}

fn listed(o: &Output) -> Vec<(String, String)> {
    out(o)
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split("  ").filter(|c| !c.is_empty()).collect();
            (
                cols[0].trim().to_owned(),
                cols[cols.len() - 1].trim().to_owned(),
            )
        })
        .collect()
}

#[test]
fn list_tools_prints_what_this_configuration_serves_without_a_base_url() {
    let o = run(
        &["--list-tools", "--toolsets=domains"],
        &[("TREKMAIL_API_TOKEN", "tm_live_x")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert!(text.starts_with("TOOL"), "{text}");
    let rows = listed(&o);
    assert_eq!(rows.len(), 20, "{text}");
    assert!(
        rows.contains(&("get_domain".into(), "yes".into())),
        "{text}"
    );
    assert!(
        rows.contains(&(
            "delete_domain".into(),
            "no: TREKMAIL_ALLOW_DESTRUCTIVE is off".into()
        )),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("delete_domain") && l.contains("destructive"))
    );
}

#[test]
fn a_flag_wins_over_its_variable() {
    let env = [
        ("TREKMAIL_API_TOKEN", "tm_live_x"),
        ("TREKMAIL_TOOLSETS", "dns"),
        ("TREKMAIL_READ_ONLY", "true"),
        ("TREKMAIL_ALLOW_DESTRUCTIVE", "false"),
    ];
    let o = run(&["--list-tools"], &env);
    let rows = listed(&o);
    assert_eq!(rows.len(), 2, "{}", out(&o));
    let o = run(
        &[
            "--list-tools",
            "--toolsets=aliases",
            "--read-only=false",
            "--allow-destructive",
        ],
        &env,
    );
    let rows = listed(&o);
    assert_eq!(rows.len(), 4, "{}", out(&o));
    assert!(
        rows.contains(&("delete_alias".into(), "yes".into())),
        "{}",
        out(&o)
    );
    // A bad flag value is reported like its variable.
    let o = run(&["--list-tools", "--timeout-ms=0"], &env);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("TREKMAIL_TIMEOUT_MS"), "{}", err(&o));
}

#[test]
fn start_up_warnings_name_what_is_missing() {
    let o = run(
        &["--list-tools"],
        &[
            ("TREKMAIL_API_TOKEN", "tm_live_x"),
            ("TREKMAIL_TOOLSETS", "dns,messages"),
            ("TREKMAIL_ALOW_SENDING", "true"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains("TREKMAIL_ALOW_SENDING is not a variable trekmail-mcp reads"),
        "{e}"
    );
    assert!(
        e.contains("messages needs TREKMAIL_MESSAGE_TOKEN, which is not set"),
        "{e}"
    );
    assert!(!e.contains("lists no tool"), "{e}");
    let o = run(
        &[
            "--list-tools",
            "--tools=get_domain",
            "--exclude-tools=get_domain",
        ],
        &[("TREKMAIL_API_TOKEN", "tm_live_x")],
    );
    assert!(
        err(&o).contains("this configuration lists no tool"),
        "{}",
        err(&o)
    );
    let o = run(
        &["--list-tools", "--tools=get_domian", "--exclude-tools=nope"],
        &[("TREKMAIL_API_TOKEN", "tm_live_x")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let e = err(&o);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "trekmail-mcp: configuration: TREKMAIL_TOOLS: unknown tool name get_domian (see --list-tools)",
            "trekmail-mcp: configuration: TREKMAIL_EXCLUDE_TOOLS: unknown tool name nope (see --list-tools)"
        ],
        "one line per problem"
    );
}

#[test]
fn workflow_guidance_appears_only_with_its_tools() {
    // Each newer workflow's guidance (instructions.toml) is told only when its tools are listed.
    let workflows = [
        (
            "drive",
            ["Drive uploads:", "share link (drive_share_create)"].as_slice(),
        ),
        ("white_label", &["White Label members:"]),
        ("mail_admin", &["Shared mailboxes"]),
        ("delivery", &["Delivery: test_domain_smtp"]),
        ("account", &["Payments take two calls"]),
    ];
    for (toolset, _) in workflows {
        let s = server(&opts(&[("TREKMAIL_TOOLSETS", toolset)])).unwrap();
        let i = s.instructions();
        for (other, others) in workflows {
            for s in others {
                assert_eq!(i.contains(s), other == toolset, "{toolset}: {s:?} in {i}");
            }
        }
    }
}
