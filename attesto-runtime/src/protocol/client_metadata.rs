//! RFC 7591 §2 client metadata, read into a [`Client`](crate::Client): one parser for dynamic
//! registration and for client ID metadata documents.
