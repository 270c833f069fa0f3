//! Rotating tokens without a restart: `API_TOKENS_FILE` is read again when
//! its content changes (looked at every second, which also sees a secret
//! mounted by a container runtime swapping a symlink) and on SIGHUP.
//!
//! A file that cannot be read or parsed is logged and the tokens in force
//! stay: a typo in a rotation must not lock everyone out. A rotation with
//! no refused request lists the old and the new token together for a while,
//! then drops the old one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;

use super::tokens::{API_TOKEN_NAME, Scopes, TokenSet, Tokens};

/// How often the file is looked at.
const POLL: Duration = Duration::from_secs(1);

/// The tokens of the file's `text`, plus `API_TOKEN`'s if it is set.
pub fn token_set(text: &str, api_token: Option<&SecretString>) -> anyhow::Result<TokenSet> {
    let mut set = TokenSet::parse(text)?;
    if let Some(token) = api_token {
        set.add(API_TOKEN_NAME, Scopes::ALL, token.expose_secret())
            .map_err(|reason| anyhow::anyhow!("API_TOKEN: {reason}"))?;
    }
    Ok(set)
}

/// Follows `file` until `stop` turns true; `loaded` is the content the
/// tokens in force were read from (read again here, a change made before
/// this task first ran would go unseen).
pub async fn watch_token_file(
    tokens: Arc<Tokens>,
    file: PathBuf,
    loaded: Option<Vec<u8>>,
    api_token: Option<SecretString>,
    mut stop: watch::Receiver<bool>,
) {
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signals) => Some(signals),
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGHUP; API_TOKENS_FILE is still looked at every second");
            None
        }
    };
    let mut last = loaded;
    let mut interval = tokio::time::interval(POLL);
    loop {
        let asked = tokio::select! {
            _ = interval.tick() => false,
            Some(()) = async { match hangups.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
            _ = stop.changed() => return,
        };
        let content = match tokio::fs::read(&file).await {
            Ok(content) => content,
            Err(err) => {
                if asked || last.is_some() {
                    tracing::error!(file = %file.display(), error = %err, "cannot read API_TOKENS_FILE; the tokens in force stay");
                }
                last = None;
                continue;
            }
        };
        if !asked && last.as_ref() == Some(&content) {
            continue;
        }
        last = Some(content.clone());
        let loaded = String::from_utf8(content)
            .map_err(|_| anyhow::anyhow!("the file is not UTF-8"))
            .and_then(|text| token_set(&text, api_token.as_ref()));
        match loaded {
            Ok(set) => {
                let count = set.len();
                // In force before it is said to be.
                tokens.replace(set);
                tracing::info!(file = %file.display(), tokens = count, "API tokens reloaded");
            }
            Err(err) => tracing::error!(
                file = %file.display(),
                error = %err,
                "API_TOKENS_FILE is not valid; the tokens in force stay"
            ),
        }
    }
}
