//! Who may be mailed: address identity, the audience store, and what comes
//! back from readers (unsubscribes, bounces, complaints).

pub mod address;
pub mod store;

pub use address::AddressKey;
