//! Amazon SES notifications (the `Message` of a verified SNS
//! notification): bounces and complaints, in both the "notification"
//! format (`notificationType`) and the event-publishing one (`eventType`).
//!
//! Severity, per recipient, from SES's fields, never from the diagnostic:
//! - `Permanent`: subtypes `NoEmail`, `Suppressed`, `OnAccountSuppressionList`
//!   suppress; `General` follows the recipient's `status` when it is a
//!   5.x.x code ([`Severity::of`]: 5.7.x is the sender's problem, 5.2.2
//!   transient), else permanent.
//! - `Transient`: `MessageTooLarge`, `ContentRejected`, `AttachmentRejected`
//!   are the sender's problem; the rest (`MailboxFull`, `General`) transient.
//! - `Undetermined`: the recipient's `status` when parsed, else transient
//!   (counted, never suppressing at once).
//!
//! Complaints: `complaint.complainedRecipients`, unless the feedback type
//! is `not-spam`. Other types (`Delivery`, `Send`, `Open`, ...) are ignored.

use serde_json::Value;

use super::{clean, strip_angles, Payload};
use crate::bounces::classify::{EnhancedStatus, Failure, Kind, Original, Report, Severity};

/// Reads one SES notification.
pub fn parse(message: &str) -> Result<Payload, &'static str> {
    let v: Value = serde_json::from_str(message).map_err(|_| "not SES JSON")?;
    let kind = v
        .get("notificationType")
        .or_else(|| v.get("eventType"))
        .and_then(Value::as_str)
        .ok_or("no notificationType")?;
    let original = Original {
        message_id: original_message_id(&v["mail"]),
        to: Vec::new(),
    };
    match kind {
        "Bounce" => {
            let b = &v["bounce"];
            let bounce_type = b["bounceType"].as_str().unwrap_or("");
            let subtype = b["bounceSubType"].as_str().unwrap_or("");
            let failures: Vec<Failure> = b["bouncedRecipients"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    let address = r["emailAddress"].as_str()?.to_string();
                    let status = r["status"].as_str().and_then(EnhancedStatus::parse);
                    Some(Failure {
                        address,
                        severity: severity(bounce_type, subtype, status),
                        status,
                        diagnostic: clean(
                            r["diagnosticCode"]
                                .as_str()
                                .filter(|d| !d.is_empty())
                                .unwrap_or(&format!("SES {bounce_type} bounce ({subtype})")),
                        ),
                    })
                })
                .collect();
            if failures.is_empty() {
                return Err("a bounce without bouncedRecipients");
            }
            Ok(Payload::Report(Report::from_relay(
                Kind::Bounce,
                failures,
                original,
                None,
            )))
        }
        "Complaint" => {
            let c = &v["complaint"];
            let feedback = c["complaintFeedbackType"].as_str().unwrap_or("abuse");
            if feedback == "not-spam" {
                return Ok(Payload::Ignored);
            }
            let failures: Vec<Failure> = c["complainedRecipients"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some(Failure {
                        address: r["emailAddress"].as_str()?.to_string(),
                        severity: Severity::Permanent,
                        status: None,
                        diagnostic: String::new(),
                    })
                })
                .collect();
            Ok(Payload::Report(Report::from_relay(
                Kind::Complaint,
                failures,
                original,
                Some(clean(feedback)),
            )))
        }
        _ => Ok(Payload::Ignored),
    }
}

/// The severity of one bounced recipient (see the module's table).
pub fn severity(bounce_type: &str, subtype: &str, status: Option<EnhancedStatus>) -> Severity {
    match bounce_type {
        "Permanent" => match (subtype, status) {
            ("NoEmail" | "Suppressed" | "OnAccountSuppressionList", _) => Severity::Permanent,
            (_, Some(s)) if s.class == 5 => Severity::of(s),
            _ => Severity::Permanent,
        },
        "Transient" => match subtype {
            "MessageTooLarge" | "ContentRejected" | "AttachmentRejected" => Severity::Policy,
            _ => Severity::Transient,
        },
        _ => status.map_or(Severity::Transient, Severity::of),
    }
}

/// The original's `Message-ID`: `mail.commonHeaders.messageId`, else the
/// `Message-ID` of `mail.headers` (when "include original headers" is on).
fn original_message_id(mail: &Value) -> Option<String> {
    let common = mail["commonHeaders"]["messageId"].as_str();
    let header = || {
        mail["headers"].as_array()?.iter().find_map(|h| {
            h["name"]
                .as_str()
                .filter(|n| n.eq_ignore_ascii_case("message-id"))?;
            h["value"].as_str()
        })
    };
    common
        .or_else(header)
        .map(|id| strip_angles(id).to_string())
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SES notification inside a fixture's SNS envelope.
    fn fixture(name: &str) -> String {
        super::super::fixture(name)["Message"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn status(s: &str) -> Option<EnhancedStatus> {
        EnhancedStatus::parse(s)
    }

    #[test]
    fn a_permanent_bounce_names_its_recipient_and_original() {
        let Payload::Report(r) = parse(&fixture("ses-bounce-permanent.json")).unwrap() else {
            panic!("ignored");
        };
        assert_eq!(r.kind, Kind::Bounce);
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].address, "jane@example.com");
        assert_eq!(r.failures[0].severity, Severity::Permanent);
        assert_eq!(r.failures[0].status, status("5.1.1"));
        assert_eq!(r.failures[0].diagnostic, "smtp; 550 5.1.1 user unknown");
        assert!(r.original.message_id.is_some());
    }

    #[test]
    fn a_mailbox_full_bounce_is_transient() {
        let Payload::Report(r) = parse(&fixture("ses-bounce-transient.json")).unwrap() else {
            panic!("ignored");
        };
        assert_eq!(r.failures[0].severity, Severity::Transient);
        assert_eq!(r.failures[0].status, status("5.2.2"));
        assert_eq!(
            r.original.message_id.as_deref(),
            Some("custom-message-ID@news.example.org")
        );
    }

    #[test]
    fn a_complaint_names_the_reader() {
        let Payload::Report(r) = parse(&fixture("ses-complaint.json")).unwrap() else {
            panic!("ignored");
        };
        assert_eq!(r.kind, Kind::Complaint);
        assert_eq!(r.failures[0].address, "richard@example.com");
        assert_eq!(r.feedback_type.as_deref(), Some("abuse"));
    }

    #[test]
    fn deliveries_and_not_spam_are_ignored() {
        assert_eq!(
            parse(r#"{"notificationType":"Delivery","mail":{},"delivery":{}}"#),
            Ok(Payload::Ignored)
        );
        assert_eq!(
            parse(r#"{"eventType":"Open","mail":{}}"#),
            Ok(Payload::Ignored)
        );
        assert_eq!(
            parse(
                r#"{"notificationType":"Complaint","mail":{},"complaint":{"complaintFeedbackType":"not-spam","complainedRecipients":[{"emailAddress":"a@example.com"}]}}"#
            ),
            Ok(Payload::Ignored)
        );
        assert!(parse("[]").is_err());
    }

    #[test]
    fn severity_from_type_subtype_and_status() {
        assert_eq!(
            severity("Permanent", "General", status("5.1.1")),
            Severity::Permanent
        );
        assert_eq!(
            severity("Permanent", "General", status("5.7.1")),
            Severity::Policy
        );
        assert_eq!(severity("Permanent", "General", None), Severity::Permanent);
        assert_eq!(
            severity("Permanent", "NoEmail", status("5.7.1")),
            Severity::Permanent
        );
        assert_eq!(
            severity("Permanent", "Suppressed", None),
            Severity::Permanent
        );
        assert_eq!(
            severity("Transient", "MailboxFull", status("5.2.2")),
            Severity::Transient
        );
        assert_eq!(
            severity("Transient", "General", status("4.4.7")),
            Severity::Transient
        );
        assert_eq!(
            severity("Transient", "ContentRejected", None),
            Severity::Policy
        );
        assert_eq!(
            severity("Transient", "MessageTooLarge", status("5.3.4")),
            Severity::Policy
        );
        assert_eq!(
            severity("Undetermined", "Undetermined", None),
            Severity::Transient
        );
        assert_eq!(
            severity("Undetermined", "Undetermined", status("5.1.1")),
            Severity::Permanent
        );
    }
}
