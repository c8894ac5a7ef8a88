/// A sender or recipient: address plus optional display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub email: String,
}

/// One email, provider-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMessage {
    pub from: Mailbox,
    pub to: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Extra headers such as `List-Unsubscribe`. Names must be RFC 5322 field
    /// names and values must not contain CR or LF.
    pub headers: Vec<(String, String)>,
    /// Stable per (cart, cycle, step): providers that deduplicate get it, and it
    /// names the Message-ID and the outbox file.
    pub idempotency_key: String,
    /// Short labels for providers that support them.
    pub tags: Vec<String>,
}

/// What a provider answered on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    pub provider_message_id: Option<String>,
}
