//! Lists the account's domains and mailboxes.
//!
//! ```sh
//! cargo run -p trekmail-sandbox -- --listen 127.0.0.1:8025 &   # or your account:
//! TREKMAIL_BASE_URL=http://127.0.0.1:8025 TREKMAIL_API_TOKEN=tm_live_sandbox \
//!   cargo run -p trekmail-api --example list
//! ```

use trekmail_api::{CallError, ClientBuilder};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var("TREKMAIL_BASE_URL")
        .map_err(|_| "set TREKMAIL_BASE_URL (e.g. https://trekmail.net)")?;
    let token =
        std::env::var("TREKMAIL_API_TOKEN").map_err(|_| "set TREKMAIL_API_TOKEN (tm_live_...)")?;
    let client = ClientBuilder::new(base)
        .token(token)
        .user_agent("trekmail-api-example/1")
        .build()?;

    // Parameters by name; leave out what you do not need. `?` prints one line on failure.
    let domains = client.list_domains().per_page(100).send().await?;
    println!(
        "domains:\n{}",
        serde_json::to_string_pretty(&domains.into_inner())?
    );

    // The error is typed: the status, the API's code, message and request ids.
    match client.list_mailboxes().per_page(100).send().await {
        Ok(mailboxes) => println!(
            "mailboxes:\n{}",
            serde_json::to_string_pretty(&mailboxes.into_inner())?
        ),
        Err(CallError::Api(api)) => eprintln!(
            "the API refused: {api} (request id {:?})",
            api.client_request_id
        ),
        Err(other) => eprintln!("{other}"),
    }
    Ok(())
}
