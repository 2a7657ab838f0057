//! Nothing missed while down: GitHub never redelivers a failed delivery by
//! itself, so at start and then periodically the App lists its recent
//! deliveries and asks again for each one that never reached the store.
//! The deliveries table makes a second arrival harmless.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use crate::app::auth::Installations;
use crate::app::store::Store;

/// How many recent deliveries are looked at.
const LOOK_BACK: usize = 500;

/// Asks for redelivery of each recent delivery that no attempt brought to
/// us. Answers how many were asked for.
pub async fn catch_up(installations: &Installations, store: &Store) -> Result<usize> {
    let client = installations.app_client()?;
    let attempts = client.hook_deliveries(LOOK_BACK).await?;
    // Attempts share their delivery's guid; the newest attempt comes first.
    let mut newest: BTreeMap<&str, u64> = BTreeMap::new();
    let mut answered: BTreeSet<&str> = BTreeSet::new();
    for attempt in &attempts {
        newest.entry(attempt.guid.as_str()).or_insert(attempt.id);
        if (200..300).contains(&attempt.status_code) {
            answered.insert(attempt.guid.as_str());
        }
    }
    let mut asked = 0;
    for (guid, id) in newest {
        // Answered 2xx means recorded (intake answers only after the commit),
        // possibly by an earlier deployment: leave it.
        if answered.contains(guid) || store.has_delivery(guid).await? {
            continue;
        }
        match client.redeliver(id).await {
            Ok(()) => asked += 1,
            Err(error) => tracing::warn!("asking GitHub to redeliver {guid}: {error}"),
        }
    }
    Ok(asked)
}
