//! What comes back after a send: delivery status notifications, feedback-loop
//! complaints, auto-replies and unsubscribe requests, read from the bounce
//! mailbox, and the policy that turns them into audience-store events.
//!
//! - [`classify`]: raw message → [`classify::Report`] (pure, never fails).

pub mod classify;
