//! A raw gateway: one WebSocket to the hub (or the baseline), a writer task that owns the sink
//! and batches what is queued, and a reader that answers each command at once: `ack` for all,
//! plus the snapshot for `session.snapshot` and the echoed bytes as an output frame for
//! `session.input`.

use std::collections::HashMap;

use anyhow::Context;
use chatcode_core::protocol::{
    Ack, Command, Event, SessionSnapshot, decode_data, frame, parse_command,
};
use futures::{SinkExt, StreamExt, stream::SplitSink};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_tungstenite::tungstenite::Message;

use super::target::{Socket, Target, dial};

/// Messages the writer may have queued.
const QUEUE: usize = 256;
/// Messages written per flush, at most.
const BATCH: usize = 64;

/// A connected raw gateway.
pub struct RawGateway {
    tx: mpsc::Sender<Message>,
    tasks: [JoinHandle<()>; 2],
}

impl RawGateway {
    /// Dials `target` as the benchmark's gateway.
    pub async fn connect(target: Target) -> anyhow::Result<Self> {
        let socket = dial(target.gateway_request()?)
            .await
            .with_context(|| format!("gateway dialing the {}", target.name()))?;
        let (sink, mut stream) = socket.split();
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(write(sink, rx));
        let answers = tx.clone();
        let reader = tokio::spawn(async move {
            let mut seqs = HashMap::new();
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(command) = parse_command(text.as_str()) else {
                    continue;
                };
                for answer in answer(&command, &mut seqs) {
                    if answers.send(answer).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Self {
            tx,
            tasks: [writer, reader],
        })
    }

    /// Queues `message`, waiting while the queue is full.
    pub async fn send(&self, message: Message) -> anyhow::Result<()> {
        self.tx
            .send(message)
            .await
            .context("the gateway socket has closed")
    }
}

impl Drop for RawGateway {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn write(mut sink: SplitSink<Socket, Message>, mut rx: mpsc::Receiver<Message>) {
    while let Some(first) = rx.recv().await {
        if sink.feed(first).await.is_err() {
            return;
        }
        for _ in 1..BATCH {
            match rx.try_recv() {
                Ok(next) => {
                    if sink.feed(next).await.is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}

/// What the gateway writes back for `command`; `seqs` numbers each session's echo frames.
fn answer(command: &Command, seqs: &mut HashMap<String, u64>) -> Vec<Message> {
    let ack = Event::Ack(Ack {
        request_id: command.request_id().to_owned(),
        ok: true,
        error: None,
    });
    let ack = Message::text(ack.to_json());
    match command {
        Command::SessionInput(input) => {
            let data = decode_data(&input.data).unwrap_or_default();
            let seq = seqs.entry(input.session_id.clone()).or_insert(0);
            let Ok(bytes) = frame::encode_output(&input.session_id, *seq, &data) else {
                return vec![ack];
            };
            *seq += 1;
            vec![Message::binary(bytes), ack]
        }
        Command::SessionSnapshot(request) => {
            let snapshot = Event::SessionSnapshot(SessionSnapshot {
                request_id: Some(request.request_id.clone()),
                session_id: request.session_id.clone(),
                content: String::new(),
                cols: Some(80),
                rows: Some(24),
                cursor_x: Some(0),
                cursor_y: Some(0),
                cursor_visible: Some(true),
                alternate_on: Some(false),
            });
            vec![ack, Message::text(snapshot.to_json())]
        }
        _ => vec![ack],
    }
}
