//! Lists the account's domains and mailboxes.
//!
//! ```sh
//! TREKMAIL_BASE_URL=https://trekmail.net TREKMAIL_API_TOKEN=tm_live_... \
//!   cargo run -p trekmail-api --example list
//! ```

use std::num::NonZeroU64;

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

    let per_page = NonZeroU64::new(100);
    // Positional arguments: page, per_page, search, status (query parameters in alphabetical order).
    let domains = client
        .list_domains(None, per_page, None, None)
        .await
        .map_err(CallError::from)?;
    println!(
        "domains:\n{}",
        serde_json::to_string_pretty(&domains.into_inner())?
    );

    // domain_id, page, per_page, search.
    match client.list_mailboxes(None, None, per_page, None).await {
        Ok(mailboxes) => println!(
            "mailboxes:\n{}",
            serde_json::to_string_pretty(&mailboxes.into_inner())?
        ),
        // One error type with the status, the API's code, message and request ids.
        Err(e) => match CallError::from(e) {
            CallError::Api(api) => eprintln!(
                "the API refused: {api} (request id {:?})",
                api.client_request_id
            ),
            other => eprintln!("{other}"),
        },
    }
    Ok(())
}
