//! The calls that `clients/README.md` shows, against a running server:
//!
//! ```sh
//! cargo run -p taskman-client --example usage -- http://127.0.0.1:8080 [TOKEN]
//! ```

use std::error::Error;
use std::num::NonZeroU64;

use taskman_client::reqwest::{self, header};
use taskman_client::types::TaskInput;
use taskman_client::{Client, IdList, ProblemExt, TaskPatch};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let client = match args.next() {
        None => Client::new(&base),
        Some(token) => {
            let mut bearer = header::HeaderValue::from_str(&format!("Bearer {token}"))?;
            bearer.set_sensitive(true);
            let http = reqwest::Client::builder()
                .default_headers(header::HeaderMap::from_iter([(
                    header::AUTHORIZATION,
                    bearer,
                )]))
                .build()?;
            Client::new_with_client(&base, http)
        }
    };

    let task = client
        .create_task(
            None,
            &TaskInput {
                title: "Pay rent".into(),
                description: Some("by transfer".parse()?),
                expiry_dt: None,
                priority: None,
                labels: None,
            },
        )
        .await?
        .into_inner();
    println!("created {task:?}");
    let id = NonZeroU64::new(u64::try_from(task.id)?).ok_or("id 0")?;

    // JSON merge patch: `None` leaves a field alone, `Some(None)` clears it.
    let patch = TaskPatch {
        description: Some(None),
        ..TaskPatch::default()
    };
    client.patch_task(id, None, &patch).await?;

    // ETags: read from the response headers, sent back as If-Match.
    // The spec's pattern makes If-Match a checked type: parse() refuses a
    // value that is not an entity-tag list.
    let etag = client.get_task(id, None).await?.headers()["etag"]
        .to_str()?
        .parse()?;
    let renamed = TaskPatch {
        title: Some("Pay the rent".into()),
        ..TaskPatch::default()
    };
    client.patch_task(id, Some(&etag), &renamed).await?;

    // Errors: the status and the parsed problem.
    match client.patch_task(id, Some(&etag), &renamed).await {
        Ok(_) => println!("unexpected: a stale If-Match was accepted"),
        Err(err) => match err.into_problem().await {
            Ok((status, problem)) => println!("{status}: {}", problem.detail),
            Err(other) => return Err(other.into()),
        },
    }

    let deleted = client
        .delete_tasks(None, Some(&IdList::from(vec![task.id])))
        .await?;
    println!("deleted {}", deleted.deleted);
    Ok(())
}
