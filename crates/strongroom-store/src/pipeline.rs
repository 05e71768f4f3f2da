//! Moves CPU-heavy byte transformations (encryption, decryption) to a blocking thread, with
//! small bounded queues on both sides: the async side keeps reading, hashing and writing while
//! the blocking thread transforms, so a transfer uses two cores and memory stays bounded.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

/// Pieces queued on each side of the blocking thread.
const QUEUE: usize = 2;

/// A transformation of a byte stream, fed piece by piece.
pub(crate) trait Stage: Send + 'static {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()>;
    fn finish(self, out: &mut Vec<u8>) -> std::io::Result<()>;
}

impl Stage for strongroom_crypto::StreamEncryptor {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        strongroom_crypto::StreamEncryptor::update(self, input, out).map_err(std::io::Error::other)
    }
    fn finish(self, out: &mut Vec<u8>) -> std::io::Result<()> {
        strongroom_crypto::StreamEncryptor::finish(self, out)
            .map(|_| ())
            .map_err(std::io::Error::other)
    }
}

fn integrity(e: strongroom_crypto::Error) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

impl Stage for strongroom_crypto::StreamDecryptor {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        strongroom_crypto::StreamDecryptor::update(self, input, out).map_err(integrity)
    }
    fn finish(mut self, out: &mut Vec<u8>) -> std::io::Result<()> {
        strongroom_crypto::StreamDecryptor::finish(&mut self, out).map_err(integrity)
    }
}

/// The sending half: feed input pieces with [`Feeder::send`], drop it to end the input.
pub(crate) struct Feeder(mpsc::Sender<Bytes>);

impl Feeder {
    /// False when the stage has stopped (it failed; its output stream carries the error).
    pub(crate) async fn send(&self, piece: Bytes) -> bool {
        self.0.send(piece).await.is_ok()
    }
}

/// Starts `stage` on a blocking thread; returns the input side and the output stream.
pub(crate) fn start<S: Stage>(mut stage: S) -> (Feeder, BoxStream<'static, std::io::Result<Bytes>>) {
    let (in_tx, mut in_rx) = mpsc::channel::<Bytes>(QUEUE);
    let (out_tx, out_rx) = mpsc::channel::<std::io::Result<Bytes>>(QUEUE);
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        while let Some(piece) = in_rx.blocking_recv() {
            // Room for the whole result at once: growing a fresh buffer by doubling would copy
            // every byte several times.
            out.reserve(piece.len() + 256 * 1024);
            if let Err(e) = stage.update(&piece, &mut out) {
                let _ = out_tx.blocking_send(Err(e));
                return;
            }
            if !out.is_empty() && out_tx.blocking_send(Ok(Bytes::from(std::mem::take(&mut out)))).is_err() {
                return; // the reader went away
            }
        }
        let item = stage.finish(&mut out).map(|()| Bytes::from(out));
        let _ = out_tx.blocking_send(item);
    });
    let output = futures::stream::unfold(out_rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
        .filter(|item| std::future::ready(!matches!(item, Ok(b) if b.is_empty())))
        .boxed();
    (Feeder(in_tx), output)
}

/// Runs `stage` over a whole stream of stored bytes (for downloads).
pub(crate) fn transform<S: Stage>(
    mut input: impl Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static,
    stage: S,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    let (feeder, output) = start(stage);
    let (err_tx, err_rx) = tokio::sync::oneshot::channel::<std::io::Error>();
    tokio::spawn(async move {
        while let Some(item) = input.next().await {
            match item {
                Ok(piece) => {
                    if !feeder.send(piece).await {
                        return;
                    }
                }
                Err(e) => {
                    let _ = err_tx.send(e);
                    return; // dropping the feeder without finishing: see below
                }
            }
        }
    });
    // A read error of the input is reported in place of the stage's (then truncation) error.
    let mut err_rx = Some(err_rx);
    output
        .map(move |item| match item {
            Err(e) => match err_rx.take().and_then(|mut rx| rx.try_recv().ok()) {
                Some(read_err) => Err(read_err),
                None => Err(e),
            },
            ok => ok,
        })
        .boxed()
}
