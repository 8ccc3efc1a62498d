//! Bodies generated as they are sent: a JSON answer padded with whitespace, or a 502 HTML page, to a size or forever.
//!
//! The padding is one static chunk of spaces handed out again and again, so a body of any size,
//! or one that never ends, costs the sandbox no memory beyond what the socket buffers; hyper
//! polls the stream only as fast as the client reads, and drops it when the client goes away.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use futures_util::stream::{self, Stream, StreamExt};

const CHUNK: usize = 64 * 1024;
static SPACES: [u8; CHUNK] = [b' '; CHUNK];

/// How long a generated body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Length {
    /// This many bytes in all (or the unpadded text's length, when that is longer).
    Exactly(u64),
    /// It never ends.
    Endless,
}

/// `json` (one complete JSON object or array) with whitespace before its closing byte: still
/// the same JSON once it ends, `length` bytes long.
pub(crate) fn padded_json(json: Bytes, length: Length) -> Body {
    let split = json.len().saturating_sub(1);
    let head = json.slice(..split);
    let tail = json.slice(split..);
    wrapped(head, tail, length)
}

/// A 502 Bad Gateway page as a proxy would send it, padded inside an HTML comment.
pub(crate) fn bad_gateway_page(length: Length) -> Body {
    let head = Bytes::from_static(
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><!--",
    );
    let tail = Bytes::from_static(b"--></body></html>");
    wrapped(head, tail, length)
}

fn wrapped(head: Bytes, tail: Bytes, length: Length) -> Body {
    let fixed = (head.len() + tail.len()) as u64;
    let padding = match length {
        Length::Exactly(total) => Some(total.saturating_sub(fixed)),
        Length::Endless => None,
    };
    let chunks = stream::iter([head])
        .chain(spaces(padding))
        .chain(stream::iter([tail]))
        .map(Ok::<Bytes, Infallible>);
    Body::from_stream(chunks)
}

/// `total` spaces (`None`: forever), a chunk at a time.
fn spaces(total: Option<u64>) -> impl Stream<Item = Bytes> {
    stream::unfold(total, |remaining| async move {
        match remaining {
            Some(0) => None,
            Some(left) => {
                let take = usize::try_from(left).map_or(CHUNK, |left| left.min(CHUNK));
                Some((
                    Bytes::from_static(&SPACES[..take]),
                    Some(left - take as u64),
                ))
            }
            None => Some((Bytes::from_static(&SPACES), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(body: Body) -> Bytes {
        axum::body::to_bytes(body, usize::MAX).await.unwrap()
    }

    #[tokio::test]
    async fn padded_json_is_the_same_json_at_the_asked_length() {
        let json = Bytes::from_static(br#"{"id":1,"name":"dev"}"#);
        for length in [0, 21, 22, 100, 200_000] {
            let body = collect(padded_json(json.clone(), Length::Exactly(length))).await;
            assert_eq!(body.len() as u64, length.max(21));
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(value["name"], "dev");
        }
    }

    #[tokio::test]
    async fn the_error_page_is_html_at_the_asked_length() {
        let body = collect(bad_gateway_page(Length::Exactly(300_000))).await;
        assert_eq!(body.len(), 300_000);
        assert!(body.starts_with(b"<html>") && body.ends_with(b"</html>"));
    }

    #[tokio::test]
    async fn an_endless_body_keeps_coming() {
        let mut body = padded_json(Bytes::from_static(b"{}"), Length::Endless).into_data_stream();
        let mut read = 0;
        while read < 10 * CHUNK {
            read += body.next().await.unwrap().unwrap().len();
        }
        assert!(read >= 10 * CHUNK);
    }
}
