//! The provider's commit point: "sent" is written to the database just before the
//! provider makes delivery irrevocable, so a crash afterwards cannot cause a resend.

use chrono::Utc;

use cartback_email::CommitPoint;
use cartback_store::Store;
use cartback_store::sends::mark_sent;

pub(crate) struct RecordSent {
    pub store: Store,
    pub send_id: String,
    pub worker_id: String,
    pub provider: &'static str,
}

impl CommitPoint for RecordSent {
    fn commit(&self) -> Result<(), String> {
        let mut conn = self.store.conn().map_err(|e| e.to_string())?;
        match mark_sent(
            &mut conn,
            &self.send_id,
            &self.worker_id,
            self.provider,
            Utc::now(),
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err("the send is no longer held by this worker".to_owned()),
            Err(error) => Err(error.to_string()),
        }
    }
}
