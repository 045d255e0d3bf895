//! DNS Cookies (RFC 7873) on the socket path: the COOKIE option's arm of
//! `edns::read_options`, and the cookie a reply carries. What a cookie is worth and which server
//! cookie goes back is `lbdns_common::cookie::answer`, the XDP program's rule too.

use std::net::IpAddr;

use lbdns_common::cookie::{
    self, ClientAddr, CookieState, ServerCookie, CLIENT_LEN, REPLY_LEN, SERVER_LEN,
};

use crate::cookies::Cookies;

/// A well-formed COOKIE option of a query (RFC 7873 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryCookie {
    /// The client cookie, as a little-endian word of its octets.
    client: u64,
    server: Server,
}

/// The server cookie a query brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    None,
    /// Of this server's format's length (RFC 9018): checked.
    Ours(ServerCookie),
    /// 8 to 32 octets of another length: not one this server makes, so not valid (§5.2.4).
    Other,
}

/// COOKIE option data of a length RFC 7873 §5.2.2 answers with FORMERR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Reads a COOKIE option's data.
pub fn read(data: &[u8]) -> Result<QueryCookie, Malformed> {
    if cookie::is_malformed_len(data.len()) {
        return Err(Malformed);
    }
    let word = |at: usize| {
        u64::from_le_bytes(data[at..at + 8].try_into().expect("the length was checked"))
    };
    let server = match data.len() - CLIENT_LEN {
        0 => Server::None,
        SERVER_LEN => Server::Ours(ServerCookie {
            meta: word(CLIENT_LEN),
            mac: word(CLIENT_LEN + 8),
        }),
        _ => Server::Other,
    };
    Ok(QueryCookie {
        client: word(0),
        server,
    })
}

/// What the query's cookie is worth from `addr`, and the COOKIE option data of the reply:
/// the client cookie and this server's cookie for it.
pub fn answer(
    cookies: &Cookies,
    query: QueryCookie,
    addr: IpAddr,
) -> (CookieState, [u8; REPLY_LEN]) {
    // A v4 client on a dual-stack socket shows as ::ffff:a.b.c.d; the program sees it as IPv4.
    let addr = match addr.to_canonical() {
        IpAddr::V4(v4) => ClientAddr::v4(v4.octets()),
        IpAddr::V6(v6) => ClientAddr::v6(v6.octets()),
    };
    let server = match query.server {
        Server::Ours(server) => Some(server),
        Server::None | Server::Other => None,
    };
    let (mut state, made) =
        cookie::answer(cookies.secrets(), query.client, server, addr, cookies.now());
    if query.server == Server::Other {
        state = CookieState::Invalid;
    }
    let mut data = [0; REPLY_LEN];
    data[..CLIENT_LEN].copy_from_slice(&query.client.to_le_bytes());
    data[CLIENT_LEN..].copy_from_slice(&made.octets());
    (state, data)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cookies::FixedClock;

    fn hex(text: &str) -> Vec<u8> {
        data_encoding::HEXLOWER.decode(text.as_bytes()).unwrap()
    }

    fn rfc9018_secret() -> Cookies {
        let secret = hex("e5e973e5a6b2a43f48e7dc849e37bfcf").try_into().unwrap();
        Cookies::new(secret, None)
    }

    #[test]
    fn rfc7873_5_2_2_lengths_outside_8_and_16_to_40_are_malformed() {
        for len in [0, 7, 9, 15, 41] {
            assert_eq!(read(&vec![1; len]), Err(Malformed), "{len}");
        }
        for len in [8, 16, 24, 40] {
            assert!(read(&vec![1; len]).is_ok(), "{len}");
        }
    }

    #[test]
    fn rfc9018_a_1_a_client_cookie_gets_a_server_cookie() {
        let cookies = rfc9018_secret().with_clock(Arc::new(FixedClock(1_559_731_985)));
        let query = read(&hex("2464c4abcf10c957")).unwrap();
        let (state, data) = answer(&cookies, query, "198.51.100.100".parse().unwrap());
        assert_eq!(state, CookieState::ClientOnly);
        assert_eq!(
            data.to_vec(),
            hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")
        );
        // The same client as an IPv4-mapped address on a dual-stack socket.
        let (_, mapped) = answer(&cookies, query, "::ffff:198.51.100.100".parse().unwrap());
        assert_eq!(mapped, data);
    }

    #[test]
    fn rfc7873_5_2_4_a_server_cookie_of_another_format_is_invalid() {
        let cookies = rfc9018_secret().with_clock(Arc::new(FixedClock(1_559_731_985)));
        let query = read(&hex("2464c4abcf10c9570102030405060708")).unwrap();
        let (state, data) = answer(&cookies, query, "198.51.100.100".parse().unwrap());
        assert_eq!(state, CookieState::Invalid);
        assert_eq!(
            data.to_vec(),
            hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")
        );
    }
}
