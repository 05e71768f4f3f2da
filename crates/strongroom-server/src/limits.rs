//! What a slow or greedy client may hold: connections per client address, time to send a
//! request's headers (also the idle time between requests on a kept-alive connection), and
//! time between two pieces of a request body. Without these, a few hundred connections that
//! trickle a header or never send the promised body (slowloris) keep every socket and task
//! busy forever.

use crate::config::HttpConfig;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_server::accept::Accept;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower_http::timeout::TimeoutBody;

/// Open connections per client address, shared by the acceptor and the guards it hands out.
#[derive(Clone, Default)]
struct Counts(Arc<Mutex<HashMap<IpAddr, usize>>>);

impl Counts {
    /// Takes a slot for `ip`, or `None` when it already holds `max`.
    fn take(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut m = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            counts: self.clone(),
            ip,
        })
    }
}

/// One connection's place in [`Counts`], given back when the connection is dropped.
struct Slot {
    counts: Counts,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut m = self.counts.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// An acceptor (in front of TLS, when TLS is on) that refuses a connection from an address
/// that already holds `max` of them: the socket is closed at once, before any TLS or HTTP work.
#[derive(Clone)]
pub struct PerAddressLimit {
    counts: Counts,
    max: usize,
}

impl PerAddressLimit {
    pub fn new(max: usize) -> Self {
        PerAddressLimit {
            counts: Counts::default(),
            max: max.max(1),
        }
    }
}

impl<S: Send + 'static> Accept<TcpStream, S> for PerAddressLimit {
    type Stream = Counted;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Counted, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let ip = stream.peer_addr().map(|a: SocketAddr| a.ip());
        let result = match ip {
            Ok(ip) => match self.counts.take(ip, self.max) {
                Some(slot) => Ok((Counted { stream, _slot: slot }, service)),
                None => {
                    tracing::warn!(%ip, max = self.max, "connection refused: too many from this address");
                    Err(io::Error::other("too many connections from this address"))
                }
            },
            Err(e) => Err(e),
        };
        std::future::ready(result)
    }
}

/// A TCP stream that holds its address's slot until it is dropped.
pub struct Counted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Fails a request body that sends nothing for `idle`: the handler sees a body error (an
/// upload is aborted and leaves nothing behind) and the connection closes.
pub async fn body_idle_timeout(idle: Duration, req: Request, next: Next) -> Response {
    let req = req.map(|b| Body::new(TimeoutBody::new(idle, b)));
    next.run(req).await
}

/// Announces `Connection: close` on an error answered to a request that came with a body.
/// A handler that refuses a request (401, 403, 404, 413 …) does not read its body, and the
/// server then closes the connection rather than read an unknown amount; without the header
/// the client learns it only when its next request on the connection fails.
pub async fn close_after_unread_body(req: Request, next: Next) -> Response {
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let mut res = next.run(req).await;
    if has_body && (res.status().is_client_error() || res.status().is_server_error()) {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// The header-read timeout as hyper takes it.
pub fn header_timeout(cfg: &HttpConfig) -> Duration {
    Duration::from_secs(u64::from(cfg.header_timeout_secs.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_address_and_given_back() {
        let c = Counts::default();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        let s1 = c.take(a, 2).unwrap();
        let s2 = c.take(a, 2).unwrap();
        assert!(c.take(a, 2).is_none(), "a third from one address is refused");
        let other = c.take(b, 2);
        assert!(other.is_some(), "another address is not affected");
        drop(s1);
        let s3 = c.take(a, 2);
        assert!(s3.is_some(), "a closed connection frees its slot");
        drop((s2, s3, other));
        assert!(c.0.lock().unwrap().is_empty(), "no entry is left for idle addresses");
    }
}
