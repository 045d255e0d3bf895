//! Signed requests on the socket path (RFC 8945): a query with a TSIG from a known key is
//! answered as usual and the reply signed; a bad one gets the §5.2 error. Unsigned queries,
//! nearly all of them, go straight to `authority::respond` after one cheap look.
//!
//! The XDP program never sees these: it passes any query whose additional section holds
//! anything but one OPT record, so every signed query reaches this path.

use crate::authority::{respond, respond_reserving, Catalog, Client};
use crate::tsig::{self, ResponseSigner};

/// Answers `query`, verifying and signing when it carries a TSIG.
pub fn answer(catalog: &Catalog, query: &[u8], client: Client) -> Option<Vec<u8>> {
    if !tsig::is_signed(query) {
        return respond(catalog, query, client);
    }
    let now = tsig::now();
    match tsig::verify_request(query, &catalog.transfers().keys, now) {
        Ok(Some(signed)) => {
            let mut signer = ResponseSigner::new(&signed);
            let mut reply =
                respond_reserving(catalog, signed.message(), client, signer.overhead())?;
            signer.sign(&mut reply, now);
            Some(reply)
        }
        Ok(None) => respond(catalog, query, client),
        Err(error) => {
            tracing::debug!(%error, "query with a bad TSIG");
            tsig::error_reply(query, &error)
        }
    }
}
