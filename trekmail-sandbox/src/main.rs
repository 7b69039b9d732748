//! `trekmail-sandbox --listen 127.0.0.1:PORT`: the TrekMail API v1 emulation over HTTP.
#![forbid(unsafe_code)]

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut listen = "127.0.0.1:8025".to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--listen" => match it.next() {
                Some(v) => listen = v.clone(),
                None => return usage("--listen needs ADDRESS:PORT"),
            },
            "--help" | "-h" => {
                eprintln!(
                    "trekmail-sandbox [--listen 127.0.0.1:PORT]: an in-memory TrekMail API v1 at /api/v1 (tokens tm_live_… and tm_msg_…)"
                );
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let running = match trekmail_sandbox::Sandbox::new() {
        Ok(s) => s.start(&listen).await,
        Err(e) => Err(e),
    };
    match running {
        Ok(r) => {
            eprintln!(
                "trekmail-sandbox: TrekMail API v1 sandbox (nothing real happens) at {}/api/v1",
                r.base_url()
            );
            eprintln!(
                "trekmail-sandbox: tokens: {} (ops), {} (messages, alice@example.com)",
                trekmail_sandbox::OPS_TOKEN,
                trekmail_sandbox::MESSAGE_TOKEN
            );
            let _ = tokio::signal::ctrl_c().await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trekmail-sandbox: {e}");
            ExitCode::from(2)
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("trekmail-sandbox: {problem} (usage: trekmail-sandbox --listen 127.0.0.1:PORT)");
    ExitCode::from(2)
}
