//! The network side of the broker: the listener ([`Server`]) accepts
//! connections under a connection limit and gives each a [`Session`] and a
//! connection task pair, which frames requests for the [`crate::dispatch`]
//! pipeline and writes its responses in request order.
//!
//! The connection is generic over its byte stream, so a TLS listener hands
//! it a TLS stream where the PLAINTEXT one hands it a TCP socket.

mod connection;
mod flow;
mod listener;
mod writer;

pub use flow::ConnectionStats;
pub use listener::{bind, Server};
