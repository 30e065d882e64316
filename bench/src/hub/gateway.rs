//! A raw gateway: one WebSocket to the hub (or the baseline) whose reader answers each command
//! at once on the socket itself, with no queue between: `ack` for all, plus the snapshot for
//! `session.snapshot` and the echoed bytes as an output frame for `session.input`.

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use chatcode_core::protocol::{
    Ack, Command, Event, SessionSnapshot, decode_data, frame, parse_command,
};
use futures::{SinkExt, StreamExt, stream::SplitSink};
use tokio::{sync::Mutex, task::JoinHandle};
use tokio_tungstenite::tungstenite::Message;

use super::{
    GATEWAY_ID,
    target::{Socket, Target, dial},
};

/// The socket's sending half, shared by the reader's answers and [`RawGateway::send`].
type Sink = Arc<Mutex<SplitSink<Socket, Message>>>;

/// A connected raw gateway.
pub struct RawGateway {
    sink: Sink,
    reader: JoinHandle<()>,
}

impl RawGateway {
    /// Dials `target` as the benchmark's gateway.
    pub async fn connect(target: Target) -> anyhow::Result<Self> {
        Self::connect_as(target, GATEWAY_ID).await
    }

    /// Dials `target` as gateway `gateway_id`.
    pub async fn connect_as(target: Target, gateway_id: &str) -> anyhow::Result<Self> {
        let socket = dial(target.gateway_request(gateway_id)?)
            .await
            .with_context(|| format!("gateway dialing the {}", target.name()))?;
        let (sink, mut stream) = socket.split();
        let sink = Arc::new(Mutex::new(sink));
        let answers = sink.clone();
        let reader = tokio::spawn(async move {
            let mut seqs = HashMap::new();
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(command) = parse_command(text.as_str()) else {
                    continue;
                };
                let mut sink = answers.lock().await;
                for answer in answer(&command, &mut seqs) {
                    if sink.feed(answer).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        });
        Ok(Self { sink, reader })
    }

    /// Sends `message`, waiting while the socket is busy.
    pub async fn send(&self, message: Message) -> anyhow::Result<()> {
        self.sink
            .lock()
            .await
            .send(message)
            .await
            .context("the gateway socket has closed")
    }
}

impl Drop for RawGateway {
    fn drop(&mut self) {
        self.reader.abort();
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
