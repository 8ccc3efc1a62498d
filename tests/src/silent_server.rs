//! A server on 127.0.0.1 that reads requests and never answers them: a listing that never ends,
//! so that only a run that stops promptly can end the test.

use std::net::SocketAddr;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::RUN_TIMEOUT;

/// Accepts connections, reads each request's head, counts it, and holds the connection open
/// without a response until the client gives up or the server is dropped.
#[derive(Debug)]
pub struct SilentServer {
    addr: SocketAddr,
    requests: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl SilentServer {
    /// Starts the server on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("the bound address");
        let (count, requests) = watch::channel(0u64);
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let count = count.clone();
                connections.spawn(hold(stream, count));
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until `count` requests have arrived (failing the test after [`RUN_TIMEOUT`]).
    pub async fn wait_for_requests(&self, count: u64) {
        let mut requests = self.requests.clone();
        tokio::time::timeout(RUN_TIMEOUT, requests.wait_for(|seen| *seen >= count))
            .await
            .expect("the requests arrive in time")
            .expect("the server is running");
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads requests from one connection, counting each whole head, and never writes.
async fn hold(mut stream: TcpStream, count: watch::Sender<u64>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(read) = stream.read(&mut buf).await {
        if read == 0 {
            return;
        }
        head.extend_from_slice(&buf[..read]);
        while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.drain(..end + 4);
            count.send_modify(|seen| *seen += 1);
        }
    }
}
